package worker

import (
	"context"
	"log/slog"
	"math"
	"sync"
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
	// Connections is how many connections to the SMTP server a deep
	// outbox is drained over at once.
	Connections int
	Now         func() time.Time

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
	if s.Connections == 0 {
		s.Connections = 4
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
		// A full batch may have thousands behind it (an import's): they
		// go over several connections at once, each sender claiming batches
		// until one is not full, which left nothing due behind it.
		if s.sendDue(ctx) {
			var wg sync.WaitGroup
			for range s.Connections {
				wg.Go(func() {
					for s.sendDue(ctx) {
					}
				})
			}
			wg.Wait()
		}
		timer.Reset(s.Poll)
	}
}

// sendDue sends one batch and says whether it was full.
func (s *MailSender) sendDue(ctx context.Context) (full bool) {
	n, err := s.SendDue(ctx)
	if err != nil && ctx.Err() == nil {
		s.Log.Error("outbox: claiming messages failed", "err", err)
	}
	return n == claimBatch && err == nil
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
	// The batch is sent and recorded well within its lease: once the lease
	// ends another sender may claim the messages and send them again.
	sendCtx, cancel := context.WithTimeout(ctx, s.Lease/2)
	errs := s.Transport.Send(sendCtx, batch)
	cancel()
	s.record(ctx, batch, errs)
	return len(batch), nil
}

// record writes the outcomes of one batch in one transaction, the sent
// messages in one statement.
func (s *MailSender) record(ctx context.Context, batch []*muster.OutboxMessage, errs []error) {
	if len(batch) == 0 {
		return
	}
	// Record the outcome even if ctx is ending, so a sent message is not
	// sent again.
	recordCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	now := s.Now().UTC()
	var sent []int64
	err := s.Store.Update(recordCtx, func(tx muster.Tx) error {
		sent = sent[:0]
		for i, m := range batch {
			var err error
			switch {
			case errs[i] == nil:
				sent = append(sent, m.ID)
			case now.Sub(m.CreatedAt) >= s.MaxAge:
				err = tx.MarkOutboxFailed(recordCtx, m.ID, now, errs[i].Error())
			default:
				err = tx.MarkOutboxRetry(recordCtx, m.ID, now.Add(s.backoff(m.Attempts)), errs[i].Error())
			}
			if err != nil {
				return err
			}
		}
		return tx.MarkOutboxSent(recordCtx, sent, s.Transport.Via(), now)
	})
	for i, m := range batch {
		switch {
		case err != nil:
			s.Log.Error("outbox: recording delivery failed", "message_id", m.MessageID, "err", err)
		case errs[i] != nil:
			s.Log.Warn("outbox: delivery failed, will retry", "message_id", m.MessageID, "attempts", m.Attempts, "err", errs[i])
		default:
			s.Log.Info("outbox: delivered", "message_id", m.MessageID, "via", s.Transport.Via())
		}
	}
}

// backoff is the wait after the attempts-th failure.
func (s *MailSender) backoff(attempts int) time.Duration {
	d := float64(s.FirstRetry) * math.Pow(2, float64(max(attempts-1, 0)))
	return time.Duration(min(d, float64(time.Hour)))
}
