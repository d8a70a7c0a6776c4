package muster

import (
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Length limits on names (TEAM-2 and the invitation form).
const (
	MaxNameLength  = 100
	MaxEmailLength = 254
	// MaxUserAgentLength is how many bytes of a User-Agent a session keeps.
	MaxUserAgentLength = 300
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

// CleanName trims a name and folds runs of white space into one space. The
// line and paragraph separators (U+2028, U+2029) are left for CheckName to
// refuse: folded, a name pasted with one would pass for another.
func CleanName(s string) string {
	if isClean(s) {
		return s // most names: no copy (an import cleans 300,000 cells)
	}
	return strings.Join(strings.FieldsFunc(s, foldedSpace), " ")
}

// isClean reports whether CleanName would leave s as it is: no white space
// at either end, and none between words but single spaces.
func isClean(s string) bool {
	afterSpace := true
	for _, r := range s {
		if !foldedSpace(r) {
			afterSpace = false
		} else if r != ' ' || afterSpace {
			return false
		} else {
			afterSpace = true
		}
	}
	return !afterSpace || s == ""
}

func foldedSpace(r rune) bool { return unicode.IsSpace(r) && r != '\u2028' && r != '\u2029' }

// CheckName validates a person's or team's name that CleanName has cleaned;
// label is how the form calls the field ("First name", "Team name"). Beyond
// TextProblem, a name refuses the characters that make one name look like
// another (InvisibleInName).
func CheckName(v *Validation, field, label, name string) {
	switch n := utf8.RuneCountInString(name); {
	case n == 0:
		v.Add(field, label+" is required.")
	case n > MaxNameLength:
		v.Add(field, label+" must be at most 100 characters.")
	default:
		if problem := NameProblem(name); problem != "" {
			v.Add(field, label+" "+problem+".")
		}
	}
}

// CheckEmail validates an email address typed into a form: one plain
// address such as name@example.com, no display name, a dot in the domain.
func CheckEmail(v *Validation, field, email string) {
	email = strings.TrimSpace(email)
	if problem := TextProblem(email); problem != "" {
		v.Add(field, "Email "+problem+".")
		return
	}
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
	if len(email) > MaxEmailLength || strings.ContainsAny(email, " \t\r\n<>\"(),;:[]\\") || NameProblem(email) != "" {
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

// TextProblem says what is wrong with s as text from outside Muster, in
// words that follow the input's name ("is not valid UTF-8 text"), or ""
// when nothing is. Every text input of every interface (form and query
// values, JSON strings, headers Muster keeps, cursors) is checked with it
// once, where it comes in: text is valid UTF-8 and holds no control
// character, neither NUL (which PostgreSQL cannot store) nor any other C0 or
// C1 control, tab and newline included, since no input of Muster's is more
// than one line.
func TextProblem(s string) string {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			return "is not valid UTF-8 text"
		case unicode.IsControl(r):
			return "must not contain control characters"
		}
		i += size
	}
	return ""
}

// NameProblem is TextProblem for a name (of a person, a team, an
// organization, a sender or an API token) and an email, which also refuses
// the characters InvisibleInName lists and Unicode's noncharacters (such
// as U+FFFF and U+10FFFF, which no text exchanged holds, and which the
// store's prefix search uses as its upper bound: a name holding U+10FFFF
// would not be found by its beginning).
func NameProblem(s string) string {
	if problem := TextProblem(s); problem != "" {
		return problem
	}
	if i := strings.IndexFunc(s, InvisibleInName); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		return fmt.Sprintf("must not contain invisible or text-direction characters (it holds U+%04X)", r)
	}
	if i := strings.IndexFunc(s, Noncharacter); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		return fmt.Sprintf("must not contain Unicode noncharacters (it holds U+%04X)", r)
	}
	return ""
}

// Noncharacter reports Unicode's noncharacters: U+FDD0–U+FDEF and the last
// two code points of every plane (U+FFFE, U+FFFF … U+10FFFE, U+10FFFF).
func Noncharacter(r rune) bool {
	return (r >= 0xFDD0 && r <= 0xFDEF) || (r >= 0 && r <= unicode.MaxRune && r&0xFFFE == 0xFFFE)
}

// InvisibleInName reports the characters a name refuses although they are
// valid text: they show nothing, or turn the text around them, so that
// "Default\u200bTeam" would sit beside "Default Team" in a list looking the
// same, and a bidirectional override can make a name read backwards. They
// are the bidirectional controls (U+061C, U+200E, U+200F, U+202A–U+202E,
// U+2066–U+2069), zero-width and invisible characters (U+00AD, U+180E,
// U+200B–U+200D, U+2060–U+2065, U+206A–U+206F, U+FEFF) and the line and
// paragraph separators (U+2028, U+2029).
func InvisibleInName(r rune) bool {
	switch {
	case r == 0x00AD, r == 0x061C, r == 0x180E, r == 0xFEFF:
		return true
	case r >= 0x200B && r <= 0x200F, r >= 0x2028 && r <= 0x202E, r >= 0x2060 && r <= 0x206F:
		return true
	}
	return false
}

// RecordedText returns a header Muster only records and shows, such as a
// User-Agent, fit to store: each run of invalid bytes and each control or
// invisible character (TextProblem, InvisibleInName) becomes U+FFFD, and the
// result is cut to at most maxBytes bytes without splitting a character.
func RecordedText(s string, maxBytes int) string {
	clean := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || InvisibleInName(r) {
			return utf8.RuneError
		}
		return r
	}, strings.ToValidUTF8(s, string(utf8.RuneError)))
	return TruncateText(clean, maxBytes)
}

// TruncateText cuts s to at most n bytes, never inside a character: a
// character that would be cut goes whole.
func TruncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
