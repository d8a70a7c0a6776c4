package mail

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/muster-app/muster/internal/muster"
)

// Transport delivers one message.
type Transport interface {
	// Via names the route for the outbox's record ("smtp", "mailbox").
	Via() string
	Send(ctx context.Context, m *muster.OutboxMessage) error
}

// Mailbox is the transport when no SMTP server is set: messages stay in the
// database, where the Owner reads them in the console.
type Mailbox struct{}

// Via implements Transport.
func (Mailbox) Via() string { return muster.DeliveredToMailbox }

// Send implements Transport; the outbox row is the mailbox.
func (Mailbox) Send(context.Context, *muster.OutboxMessage) error { return nil }

// SMTP delivers through an SMTP server, with STARTTLS when the server offers
// it (smtp://) or TLS from the start (smtps://).
type SMTP struct {
	host     string
	port     int
	implicit bool
	user     string
	password string
	from     string
}

// NewSMTP parses smtp://user:pass@host:port (or smtps://) and the From
// address.
func NewSMTP(rawURL, from string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
		return nil, fmt.Errorf("mail: the SMTP URL must look like smtp://user:password@host:587")
	}
	if from == "" {
		return nil, errors.New("mail: a From address is needed to send through SMTP (--mail-from)")
	}
	s := &SMTP{host: u.Hostname(), implicit: u.Scheme == "smtps", from: from, port: 587}
	if s.implicit {
		s.port = 465
	}
	if p := u.Port(); p != "" {
		if s.port, err = strconv.Atoi(p); err != nil {
			return nil, fmt.Errorf("mail: bad SMTP port %q", p)
		}
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.password, _ = u.User.Password()
	}
	return s, nil
}

// Via implements Transport.
func (s *SMTP) Via() string { return muster.DeliveredBySMTP }

// Send implements Transport.
func (s *SMTP) Send(ctx context.Context, m *muster.OutboxMessage) error {
	msg := gomail.NewMsg()
	if err := msg.From(s.from); err != nil {
		return err
	}
	if err := msg.To(m.To); err != nil {
		return err
	}
	msg.Subject(m.Subject)
	// The Message-ID was fixed when the email was queued, so a message sent
	// twice after a crash can be recognised by the receiver.
	msg.SetMessageIDWithValue(strings.Trim(m.MessageID, "<>"))
	msg.SetDateWithValue(m.CreatedAt)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)

	opts := []gomail.Option{gomail.WithPort(s.port), gomail.WithTimeout(30 * time.Second)}
	if s.implicit {
		opts = append(opts, gomail.WithSSL())
	} else {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if s.user != "" {
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(s.user), gomail.WithPassword(s.password))
	}
	client, err := gomail.NewClient(s.host, opts...)
	if err != nil {
		return err
	}
	return client.DialAndSendWithContext(ctx, msg)
}
