package mail

import (
	"strings"
	"unicode/utf8"
)

// Invitations composes the invitation emails of people invited together:
// into one org, by one inviter, with links that expire at once (an
// import's batch). The templates run once, with markers where each
// person's first name, email and link go; each email is then that text
// with the person's values in place of the markers. A person whose values
// the HTML template would escape gets the templates run for them alone
// (ComposeInvitation): every email is the one ComposeInvitation writes.
type Invitations struct {
	common     Invitation
	subject    string
	text, html []string // the rendered templates cut at the markers, markers included
}

// The markers stand for each person's values in the rendered templates:
// plain letters, which no template context escapes or changes.
const (
	markFirstName = "zzMusterFirstName7Q"
	markEmail     = "zzMusterEmail7Q"
	markLink      = "zzMusterLink7Q"
)

// NewInvitations renders the invitation that common's fields (all but
// FirstName, Email and Link) describe.
func NewInvitations(common Invitation) (*Invitations, error) {
	common.FirstName, common.Email, common.Link = markFirstName, markEmail, markLink
	msg, err := ComposeInvitation(common)
	if err != nil {
		return nil, err
	}
	return &Invitations{common: common, subject: msg.Subject, text: cutAtMarks(msg.Text), html: cutAtMarks(msg.HTML)}, nil
}

// Compose returns the invitation email of one person.
func (c *Invitations) Compose(firstName, email, link string) (*Message, error) {
	if !plainText(firstName) || !plainText(email) || !plainLink(link) {
		inv := c.common
		inv.FirstName, inv.Email, inv.Link = firstName, email, link
		return ComposeInvitation(inv)
	}
	values := map[string]string{markFirstName: firstName, markEmail: email, markLink: link}
	return &Message{Subject: c.subject, Text: fill(c.text, values), HTML: fill(c.html, values)}, nil
}

// cutAtMarks cuts s before and after each marker.
func cutAtMarks(s string) []string {
	var parts []string
	for s != "" {
		i, mark := len(s), ""
		for _, m := range []string{markFirstName, markEmail, markLink} {
			if j := strings.Index(s, m); j >= 0 && j < i {
				i, mark = j, m
			}
		}
		if i > 0 {
			parts = append(parts, s[:i])
		}
		if mark == "" {
			break
		}
		parts = append(parts, mark)
		s = s[i+len(mark):]
	}
	return parts
}

// fill joins parts, each marker replaced by its value.
func fill(parts []string, values map[string]string) string {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	var b strings.Builder
	b.Grow(n + 256)
	for _, p := range parts {
		if v, ok := values[p]; ok {
			b.WriteString(v)
		} else {
			b.WriteString(p)
		}
	}
	return b.String()
}

// plainText reports whether html/template writes s, in text, as it is:
// valid UTF-8 without the characters it escapes or controls.
func plainText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || strings.ContainsRune("\"&'+<>", r) {
			return false
		}
	}
	return true
}

// plainLink reports whether html/template writes the link, in an href and
// in text, as it is: an http or https address of letters, digits and the
// characters that neither its URL normalizer nor its attribute escaper
// changes.
func plainLink(s string) bool {
	if !strings.HasPrefix(s, "https://") && !strings.HasPrefix(s, "http://") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~:/?#=@", c) >= 0) {
			return false
		}
	}
	return true
}
