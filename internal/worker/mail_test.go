package worker_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/mail"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/secret"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/mailtest"
	"github.com/muster-app/muster/internal/testsupport/storetest"
	"github.com/muster-app/muster/internal/web"
	"github.com/muster-app/muster/internal/worker"
)

var seq atomic.Int64

type fakeClock struct{ now atomic.Int64 }

func (c *fakeClock) Now() time.Time          { return time.UnixMicro(c.now.Load()).UTC() }
func (c *fakeClock) Advance(d time.Duration) { c.now.Add(d.Microseconds()) }

func newClock() *fakeClock {
	c := &fakeClock{}
	c.now.Store(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC).UnixMicro())
	return c
}

// queueOrg creates an org through the service, which queues the Owner's
// set-up email, and returns the Owner's address.
func queueOrg(t *testing.T, svc *service.Service) string {
	t.Helper()
	email := fmt.Sprintf("owner%d@example.com", seq.Add(1))
	ctx := muster.NewContext(context.Background(), muster.Principal{Origin: "test"})
	if _, err := svc.CreateOrg(ctx, service.NewOrg{Name: "Acme", LicenseTotal: 10, OwnerEmail: email,
		OwnerFirstName: "Olive", OwnerLastName: "Owner"}); err != nil {
		t.Fatal(err)
	}
	return email
}

func newSender(t testing.TB, db *sqlstore.DB, srv *mailtest.Server, c *fakeClock) *worker.MailSender {
	t.Helper()
	transport, err := mail.NewSMTP(srv.URL(), "muster@example.com")
	if err != nil {
		t.Fatal(err)
	}
	return &worker.MailSender{Store: db, Transport: transport, Now: c.Now, Log: slog.New(slog.DiscardHandler)}
}

func TestSenderDeliversInvitation(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		c := newClock()
		svc := service.New(db, service.Config{BaseURL: "https://muster.example.com", Links: web.NewLinks("https://muster.example.com"), Now: c.Now, PasswordParams: secret.TestParams})
		srv := mailtest.Start(t)
		owner := queueOrg(t, svc)

		if n, err := newSender(t, db, srv, c).SendDue(context.Background()); err != nil || n != 1 {
			t.Fatalf("SendDue = %d, %v; want 1 message", n, err)
		}
		msg := srv.WaitFor(t, 1, 5*time.Second)[0]
		if len(msg.To) != 1 || msg.To[0] != owner {
			t.Fatalf("To = %v; want %s", msg.To, owner)
		}
		if !strings.Contains(msg.Subject, "Acme") || !strings.Contains(msg.HTML, "Acme") {
			t.Errorf("subject %q / HTML do not name the org", msg.Subject)
		}
		link := msg.Link("/invitations/")
		if link == "" {
			t.Fatalf("no invitation link in the text part:\n%s", msg.Text)
		}
		token := link[strings.LastIndex(link, "/")+1:]
		if _, err := svc.AcceptInvitation(context.Background(), token, "a long enough secret", service.Client{IP: "192.0.2.1", Origin: "web " + "192.0.2.1"}); err != nil {
			t.Fatalf("following the emailed link: %v", err)
		}
		// Sent messages are not claimed again.
		if n, err := newSender(t, db, srv, c).SendDue(context.Background()); err != nil || n != 0 {
			t.Fatalf("SendDue after delivery = %d, %v; want 0 messages claimed", n, err)
		}
	})
}

func TestSenderRetriesUntilServerIsBack(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		c := newClock()
		svc := service.New(db, service.Config{BaseURL: "https://muster.example.com", Links: web.NewLinks("https://muster.example.com"), Now: c.Now, PasswordParams: secret.TestParams})
		srv := mailtest.Start(t)
		sender := newSender(t, db, srv, c)
		ctx := context.Background()
		srv.Stop()
		queueOrg(t, svc)

		if n, err := sender.SendDue(ctx); err != nil || n != 1 {
			t.Fatalf("SendDue with the server down = %d, %v; want 1 attempt", n, err)
		}
		if n, err := sender.SendDue(ctx); err != nil || n != 0 {
			t.Fatalf("SendDue right after a failure = %d, %v; want 0 (the message waits for its backoff)", n, err)
		}
		srv.Restart(t)
		c.Advance(31 * time.Second)
		if n, err := sender.SendDue(ctx); err != nil || n != 1 {
			t.Fatalf("SendDue after the backoff = %d, %v; want 1", n, err)
		}
		srv.WaitFor(t, 1, 5*time.Second)
		if got := len(srv.Messages()); got != 1 {
			t.Fatalf("%d messages arrived; want exactly 1", got)
		}
	})
}

func TestSenderGivesUpAfterMaxAgeAndKeepsTheMessage(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		c := newClock()
		svc := service.New(db, service.Config{BaseURL: "https://muster.example.com", Links: web.NewLinks("https://muster.example.com"), Now: c.Now, PasswordParams: secret.TestParams})
		srv := mailtest.Start(t)
		srv.SetFailing(true)
		sender := newSender(t, db, srv, c)
		queueOrg(t, svc)
		for i := 0; i < 200; i++ {
			if _, err := sender.SendDue(context.Background()); err != nil {
				t.Fatal(err)
			}
			c.Advance(time.Hour)
		}
		msgs := storetest.Outbox(t, db, 1)
		if len(msgs) != 1 {
			t.Fatalf("outbox = %v; want the one message kept", msgs)
		}
		m := msgs[0]
		if m.FailedAt.IsZero() || !m.SentAt.IsZero() || !strings.Contains(m.LastError, "try again later") {
			t.Fatalf("message after 200 h of failures: failed %v, sent %v, error %q; want failed with the server's answer",
				m.FailedAt, m.SentAt, m.LastError)
		}
		if m.Attempts < 5 || m.Attempts > 80 {
			t.Errorf("attempts = %d; want exponential backoff (a handful to a few dozen over 3 days)", m.Attempts)
		}
	})
}

func TestConcurrentSendersSendEachMessageOnce(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		c := newClock()
		svc := service.New(db, service.Config{BaseURL: "https://muster.example.com", Links: web.NewLinks("https://muster.example.com"), Now: c.Now, PasswordParams: secret.TestParams})
		srv := mailtest.Start(t)
		const orgs = 30
		for range orgs {
			queueOrg(t, svc)
		}
		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sender := newSender(t, db, srv, c)
				for {
					n, err := sender.SendDue(context.Background())
					if err != nil {
						t.Error(err)
						return
					}
					if n == 0 {
						return
					}
				}
			}()
		}
		wg.Wait()
		msgs := srv.WaitFor(t, orgs, 10*time.Second)
		seen := map[string]bool{}
		for _, m := range msgs {
			if seen[m.MessageID] {
				t.Fatalf("message %s arrived twice", m.MessageID)
			}
			seen[m.MessageID] = true
		}
		if len(msgs) != orgs {
			t.Fatalf("%d messages arrived; want %d", len(msgs), orgs)
		}
	})
}

// queueMessages puts n messages to p0@… p(n-1)@example.com in the outbox,
// in the import's lane, and returns their Message-IDs.
func queueMessages(t *testing.T, db *sqlstore.DB, c *fakeClock, orgID int64, n int) []string {
	t.Helper()
	ids := make([]string, n)
	err := db.Update(context.Background(), func(tx muster.Tx) error {
		for i := range n {
			ids[i] = fmt.Sprintf("<m%d.%d@example.com>", seq.Add(1), i)
			err := tx.CreateOutboxMessage(context.Background(), &muster.OutboxMessage{OrgID: orgID, MessageID: ids[i],
				To: fmt.Sprintf("p%d@example.com", i), Subject: "Hello", Text: "Hello", HTML: "<p>Hello</p>",
				CreatedAt: c.Now(), Bulk: true})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

// A batch shares one connection, and a recipient the relay refuses fails
// alone: the others of the batch are delivered and recorded as sent.
func TestSenderRefusedRecipientFailsAlone(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		c := newClock()
		svc := service.New(db, service.Config{BaseURL: "https://muster.example.com", Links: web.NewLinks("https://muster.example.com"), Now: c.Now, PasswordParams: secret.TestParams})
		srv := mailtest.Start(t)
		queueOrg(t, svc)
		queueMessages(t, db, c, 1, 5)
		srv.RefuseRecipient("p2@example.com")

		if n, err := newSender(t, db, srv, c).SendDue(context.Background()); err != nil || n != 6 {
			t.Fatalf("SendDue = %d, %v; want 6 messages tried", n, err)
		}
		if got := len(srv.Messages()); got != 5 {
			t.Fatalf("%d messages arrived; want 5 (all but the refused one)", got)
		}
		for _, m := range storetest.Outbox(t, db, 1) {
			refused := m.To == "p2@example.com"
			if sent := !m.SentAt.IsZero(); sent == refused {
				t.Errorf("message to %s: sent %v; want sent only if not refused", m.To, m.SentAt)
			}
			if refused && !strings.Contains(m.LastError, "no such mailbox") {
				t.Errorf("refused message's last error %q; want the relay's answer", m.LastError)
			}
		}
	})
}

// A deep outbox (an import's invitations) is drained over several
// connections at once, each message delivered once.
func TestSenderDrainsDeepOutboxOnce(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		c := newClock()
		svc := service.New(db, service.Config{BaseURL: "https://muster.example.com", Links: web.NewLinks("https://muster.example.com"), Now: c.Now, PasswordParams: secret.TestParams})
		srv := mailtest.Start(t)
		queueOrg(t, svc)
		const n = 500
		queueMessages(t, db, c, 1, n)

		ctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			newSender(t, db, srv, c).Run(ctx)
		}()
		msgs := srv.WaitFor(t, n+1, time.Minute)
		stop()
		<-done
		seen := map[string]bool{}
		for _, m := range msgs {
			if seen[m.MessageID] {
				t.Fatalf("message %s arrived twice", m.MessageID)
			}
			seen[m.MessageID] = true
		}
		if len(msgs) != n+1 {
			t.Fatalf("%d messages arrived; want %d", len(msgs), n+1)
		}
		for _, m := range storetest.Outbox(t, db, 1) {
			if m.SentAt.IsZero() {
				t.Fatalf("message to %s is not recorded as sent", m.To)
			}
		}
	})
}
