package mail

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
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

// Sender delivers the outbox: it claims due messages, sends them, and
// retries failures with exponential backoff for up to MaxAge before marking
// them failed, where the Owner sees them (INV-6). Any number of senders may
// run against one database; a message is claimed by one at a time.
type Sender struct {
	Store     muster.Store
	Transport Transport
	Log       *slog.Logger
	// Poll is how often the outbox is checked when nobody calls Wake.
	Poll time.Duration
	// Lease is how long a claimed message is kept from other senders; a
	// sender that dies releases its claims when the lease ends.
	Lease time.Duration
	// MaxAge is how long a message is retried.
	MaxAge time.Duration
	// FirstRetry is the first backoff; each failure doubles it, up to an hour.
	FirstRetry time.Duration
	Now        func() time.Time

	wake chan struct{}
}

func (s *Sender) defaults() {
	if s.Poll == 0 {
		s.Poll = 2 * time.Second
	}
	if s.Lease == 0 {
		s.Lease = 2 * time.Minute
	}
	if s.MaxAge == 0 {
		s.MaxAge = 72 * time.Hour
	}
	if s.FirstRetry == 0 {
		s.FirstRetry = 30 * time.Second
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Log == nil {
		s.Log = slog.Default()
	}
	if s.wake == nil {
		s.wake = make(chan struct{}, 1)
	}
}

// Wake asks the sender to look at the outbox now.
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends.
func (s *Sender) Run(ctx context.Context) {
	s.defaults()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-s.wake:
		}
		for {
			n, err := s.SendDue(ctx)
			if err != nil && ctx.Err() == nil {
				s.Log.Error("outbox: claiming messages failed", "err", err)
			}
			if n == 0 || err != nil {
				break
			}
		}
		timer.Reset(s.Poll)
	}
}

// SendDue claims one batch of due messages and tries each once. It returns
// how many it claimed.
func (s *Sender) SendDue(ctx context.Context) (int, error) {
	s.defaults()
	var batch []*muster.OutboxMessage
	err := s.Store.Update(ctx, func(tx muster.Tx) error {
		now := s.Now().UTC()
		var err error
		batch, err = tx.LeaseOutboxMessages(ctx, now, now.Add(s.Lease), 20)
		return err
	})
	if err != nil {
		return 0, err
	}
	// Outcomes are recorded together, each write transaction costing a
	// commit, but at most recordWithin after a send, so that a sender that
	// dies leaves few sent messages unrecorded (they would be sent again).
	var sent []delivery
	var first time.Time
	for _, m := range batch {
		if len(sent) == 0 {
			first = time.Now()
		}
		sent = append(sent, s.send(ctx, m))
		if time.Since(first) >= recordWithin {
			s.record(ctx, sent)
			sent = sent[:0]
		}
	}
	s.record(ctx, sent)
	return len(batch), nil
}

// recordWithin bounds how long a sent message's outcome waits to be
// recorded with others'.
const recordWithin = 100 * time.Millisecond

// delivery is the outcome of one attempt to send a message.
type delivery struct {
	m   *muster.OutboxMessage
	err error
}

func (s *Sender) send(ctx context.Context, m *muster.OutboxMessage) delivery {
	sendCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return delivery{m: m, err: s.Transport.Send(sendCtx, m)}
}

// record writes the outcomes of deliveries in one transaction.
func (s *Sender) record(ctx context.Context, deliveries []delivery) {
	if len(deliveries) == 0 {
		return
	}
	// Record the outcome even if ctx is ending, so a sent message is not
	// sent again.
	recordCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	now := s.Now().UTC()
	err := s.Store.Update(recordCtx, func(tx muster.Tx) error {
		for _, d := range deliveries {
			var err error
			switch {
			case d.err == nil:
				err = tx.MarkOutboxSent(recordCtx, d.m.ID, s.Transport.Via(), now)
			case now.Sub(d.m.CreatedAt) >= s.MaxAge:
				err = tx.MarkOutboxFailed(recordCtx, d.m.ID, now, d.err.Error())
			default:
				err = tx.MarkOutboxRetry(recordCtx, d.m.ID, now.Add(s.backoff(d.m.Attempts)), d.err.Error())
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	for _, d := range deliveries {
		switch {
		case err != nil:
			s.Log.Error("outbox: recording delivery failed", "message_id", d.m.MessageID, "err", err)
		case d.err != nil:
			s.Log.Warn("outbox: delivery failed, will retry", "message_id", d.m.MessageID, "attempts", d.m.Attempts, "err", d.err)
		default:
			s.Log.Info("outbox: delivered", "message_id", d.m.MessageID, "via", s.Transport.Via())
		}
	}
}

// backoff is the wait after the attempts-th failure.
func (s *Sender) backoff(attempts int) time.Duration {
	d := float64(s.FirstRetry) * math.Pow(2, float64(max(attempts-1, 0)))
	return time.Duration(min(d, float64(time.Hour)))
}
