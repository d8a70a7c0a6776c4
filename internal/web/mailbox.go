package web

import (
	"net/http"
	"regexp"
	"strconv"

	"github.com/muster-app/muster/internal/muster"
)

// mailboxPage lists the org's email for the Owner: the local mailbox when no
// SMTP server is set, and any message that could not be sent (INV-6).
type mailboxPage struct {
	Page
	Mailbox  bool
	Messages []mailRow
	Next     string
	// KeptDays is how long a message stays once sent
	// (service.MailKeptFor).
	KeptDays int
}

type mailRow struct {
	URL     string
	To      string
	Subject string
	Status  string
	Failed  bool
	Time    string
}

// mailStatus says where a message is, in words.
func mailStatus(m *muster.OutboxMessage) string {
	switch {
	case !m.FailedAt.IsZero():
		return "Not delivered: " + m.LastError
	case m.DeliveredVia == muster.DeliveredToMailbox:
		return "In the mailbox"
	case !m.SentAt.IsZero():
		return "Sent"
	case m.Attempts > 0:
		return "Retrying: " + m.LastError
	}
	return "Queued"
}

func (s *Server) handleMailbox(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	before, _ := strconv.ParseInt(r.Form.Get("before"), 10, 64)
	page, err := s.svc.Mailbox(r.Context(), before, 50)
	if s.refused(w, r, err) {
		return
	}
	p := mailboxPage{Page: s.page(w, r, "Mailbox"), Mailbox: s.mailbox, KeptDays: int(s.svc.MailKeptFor().Hours() / 24)}
	p.Section = "mailbox"
	for _, m := range page.Messages {
		p.Messages = append(p.Messages, mailRow{URL: "/settings/mailbox/" + strconv.FormatInt(m.ID, 10), To: m.To,
			Subject: m.Subject, Status: mailStatus(m), Failed: !m.FailedAt.IsZero(), Time: humanTime(m.CreatedAt)})
	}
	if page.NextBeforeID != 0 {
		p.Next = "/settings/mailbox?before=" + strconv.FormatInt(page.NextBeforeID, 10)
	}
	s.render(w, r, http.StatusOK, "mailbox", p)
}

// mailPage shows one message, its links clickable.
type mailPage struct {
	Page
	Message *muster.OutboxMessage
	Body    []textPart
	Status  string
	Time    string
}

// textPart is a run of a plain-text email: text, or a link.
type textPart struct{ Text, Link string }

// linkPattern finds the web links in a plain-text email.
var linkPattern = regexp.MustCompile(`https?://[^\s<>"]+[^\s<>".,;:!?)\]]`)

// linkify splits text into runs, the http and https links among them
// marked, so that the mailbox shows them as links (an invitation's, to pass
// on).
func linkify(text string) []textPart {
	var parts []textPart
	last := 0
	for _, m := range linkPattern.FindAllStringIndex(text, -1) {
		if m[0] > last {
			parts = append(parts, textPart{Text: text[last:m[0]]})
		}
		parts = append(parts, textPart{Text: text[m[0]:m[1]], Link: text[m[0]:m[1]]})
		last = m[1]
	}
	if last < len(text) {
		parts = append(parts, textPart{Text: text[last:]})
	}
	return parts
}

func (s *Server) handleMailboxMessage(w http.ResponseWriter, r *http.Request) {
	m, ok := pathTarget(s, w, r, s.svc.MailboxMessage)
	if !ok {
		return
	}
	p := mailPage{Page: s.page(w, r, m.Subject), Message: m, Body: linkify(m.Text), Status: mailStatus(m),
		Time: humanTime(m.CreatedAt)}
	p.Section = "mailbox"
	s.render(w, r, http.StatusOK, "mail", p)
}
