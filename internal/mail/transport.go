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

// Transport delivers messages.
type Transport interface {
	// Via names the route for the outbox's record ("smtp", "mailbox").
	Via() string
	// Send tries each message once and returns each one's outcome, in
	// order: a batch goes over one connection where the route has them.
	Send(ctx context.Context, msgs []*muster.OutboxMessage) []error
}

// Mailbox is the transport when no SMTP server is set: messages stay in the
// database, where the Owner reads them in the console.
type Mailbox struct{}

// Via implements Transport.
func (Mailbox) Via() string { return muster.DeliveredToMailbox }

// Send implements Transport; the outbox row is the mailbox.
func (Mailbox) Send(_ context.Context, msgs []*muster.OutboxMessage) []error {
	return make([]error, len(msgs))
}

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

// Send implements Transport. The messages share one connection: a dial,
// greeting and TLS handshake per message cost more than the message (an
// import's 100,000 invitations drained at half the speed that way).
func (s *SMTP) Send(ctx context.Context, msgs []*muster.OutboxMessage) []error {
	errs := make([]error, len(msgs))
	built := make([]*gomail.Msg, 0, len(msgs))
	index := make([]int, 0, len(msgs)) // msgs' index of each of built
	for i, m := range msgs {
		msg, err := s.message(m)
		if err != nil {
			errs[i] = err
			continue
		}
		built, index = append(built, msg), append(index, i)
	}
	if len(built) == 0 {
		return errs
	}
	err := s.sendAll(ctx, built)
	for j, msg := range built {
		switch {
		case msg.HasSendError():
			errs[index[j]] = msg.SendError()
		case err != nil:
			// Nothing was sent: the connection failed before the first
			// message, so no message carries its own error.
			errs[index[j]] = err
		}
	}
	return errs
}

// message is m as go-mail builds it.
func (s *SMTP) message(m *muster.OutboxMessage) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(s.from); err != nil {
		return nil, err
	}
	if err := msg.To(m.To); err != nil {
		return nil, err
	}
	msg.Subject(m.Subject)
	// The Message-ID was fixed when the email was queued, so a message sent
	// twice after a crash can be recognised by the receiver.
	msg.SetMessageIDWithValue(strings.Trim(m.MessageID, "<>"))
	msg.SetDateWithValue(m.CreatedAt)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	return msg, nil
}

// sendAll sends msgs over one connection. It returns an error only when
// no message was tried; a message refused or cut off carries its own.
func (s *SMTP) sendAll(ctx context.Context, msgs []*gomail.Msg) error {
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
	conn, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return err
	}
	// The messages were accepted or refused one by one before QUIT: a
	// failing QUIT changes no outcome, and reporting it would send
	// accepted messages again.
	defer client.CloseWithSMTPClient(conn)
	err = client.SendWithSMTPClient(conn, msgs...)
	for _, msg := range msgs {
		if msg.HasSendError() {
			return nil
		}
	}
	return err
}
