package muster

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Length limits on names (TEAM-2 and the invitation form).
const (
	MaxNameLength  = 100
	MaxEmailLength = 254
)

// NormalizeEmail is the form in which emails are compared: trimmed and lower
// case, so that login names are case-insensitive.
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// SearchKey is the form in which names are compared and sorted.
func SearchKey(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// SearchPrefixLength is how many letters of a search key the store's
// search indexes hold apart: a search at least this long reads only the
// users whose keys begin with its first SearchPrefixLength letters, in name
// order.
const SearchPrefixLength = 3

// SearchPrefix returns the first SearchPrefixLength letters (runes) of a
// search key, and whether it has that many.
func SearchPrefix(key string) (string, bool) {
	n := 0
	for i := range key {
		if n == SearchPrefixLength {
			return key[:i], true
		}
		n++
	}
	return key, n == SearchPrefixLength
}

// CleanName trims a name and folds runs of white space into one space.
func CleanName(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// CheckName validates a person's or team's name that CleanName has cleaned;
// label is how the form calls the field ("First name", "Team name").
func CheckName(v *Validation, field, label, name string) {
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		v.Add(field, label+" is required.")
	case n > MaxNameLength:
		v.Add(field, label+" must be at most 100 characters.")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		v.Add(field, label+" must not contain control characters.")
	}
}

// CheckEmail validates an email address typed into a form: one plain
// address such as name@example.com, no display name, a dot in the domain.
func CheckEmail(v *Validation, field, email string) {
	email = strings.TrimSpace(email)
	if email == "" {
		v.Add(field, "Email is required.")
		return
	}
	if !ValidEmail(email) {
		v.Add(field, "Enter an email address like name@example.com.")
	}
}

// ValidEmail reports whether email is one plain address.
func ValidEmail(email string) bool {
	if len(email) > MaxEmailLength || strings.ContainsAny(email, " \t\r\n<>\"(),;:[]\\") {
		return false
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || addr.Name != "" {
		return false
	}
	at := strings.LastIndexByte(email, '@')
	local, domain := email[:at], email[at+1:]
	if local == "" || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") ||
		strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") {
		return false
	}
	return true
}
