package worker

import (
	"context"
	"log/slog"
	"math"
	"time"

	"github.com/muster-app/muster/internal/mail"
	"github.com/muster-app/muster/internal/muster"
)

// MailSender delivers the outbox: it claims due messages, sends them, and
// retries failures with exponential backoff for up to MaxAge before marking
// them failed, where the Owner sees them (INV-6). Any number of senders may
// run against one database; a message is claimed by one at a time.
type MailSender struct {
	Store     muster.Store
	Transport mail.Transport
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
	// Gather is how long the sender waits, once woken, for more messages
	// to claim with the first: under a stream of invitations each claim
	// and each record of outcomes is a transaction (three round trips on
	// PostgreSQL), which a claim of one message would pay per email.
	Gather time.Duration
	Now    func() time.Time

	wake wakeup
}

func (s *MailSender) defaults() {
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
	if s.Gather == 0 {
		s.Gather = 50 * time.Millisecond
	}
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.Log == nil {
		s.Log = slog.Default()
	}
}

// Wake asks the sender to look at the outbox now.
func (s *MailSender) Wake() { s.wake.wake() }

// Run delivers until ctx ends.
func (s *MailSender) Run(ctx context.Context) {
	s.defaults()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-s.wake.c():
			// Let the commits behind this one queue their emails too.
			timer.Reset(s.Gather)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		}
		for {
			n, err := s.SendDue(ctx)
			if err != nil && ctx.Err() == nil {
				s.Log.Error("outbox: claiming messages failed", "err", err)
			}
			// A batch that was not full left nothing due behind it.
			if n < claimBatch || err != nil {
				break
			}
		}
		timer.Reset(s.Poll)
	}
}

// claimBatch is how many messages a sender claims at once.
const claimBatch = 20

// SendDue claims one batch of due messages and tries each once. It returns
// how many it claimed.
func (s *MailSender) SendDue(ctx context.Context) (int, error) {
	s.defaults()
	var batch []*muster.OutboxMessage
	err := s.Store.Update(ctx, func(tx muster.Tx) error {
		now := s.Now().UTC()
		var err error
		batch, err = tx.LeaseOutboxMessages(ctx, now, now.Add(s.Lease), claimBatch)
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

func (s *MailSender) send(ctx context.Context, m *muster.OutboxMessage) delivery {
	sendCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return delivery{m: m, err: s.Transport.Send(sendCtx, m)}
}

// record writes the outcomes of deliveries in one transaction.
func (s *MailSender) record(ctx context.Context, deliveries []delivery) {
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
func (s *MailSender) backoff(attempts int) time.Duration {
	d := float64(s.FirstRetry) * math.Pow(2, float64(max(attempts-1, 0)))
	return time.Duration(min(d, float64(time.Hour)))
}
