package worker_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/dnstest"
	"github.com/muster-app/muster/internal/testsupport/storetest"
	"github.com/muster-app/muster/internal/webhook"
	"github.com/muster-app/muster/internal/worker"
)

// openShared opens two stores on one database of the dialect, as two
// instances of Muster would.
func openShared(t *testing.T, dialect string) (*sqlstore.DB, *sqlstore.DB) {
	t.Helper()
	if dialect == "postgres" {
		url := storetest.PostgresSchema(t)
		return storetest.OpenPostgresAt(t, url), storetest.OpenPostgresAt(t, url)
	}
	path := filepath.Join(t.TempDir(), "muster.db")
	return storetest.OpenSQLiteAt(t, path), storetest.OpenSQLiteAt(t, path)
}

// TestWebhookSendersShareTheWork: senders of two instances on one database
// deliver every event exactly once between them, and never send one event
// twice at the same time.
func TestWebhookSendersShareTheWork(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			db1, db2 := openShared(t, dialect)
			h := newHookEnv(t, db1)
			var (
				mu       sync.Mutex
				inFlight = map[string]bool{}
				seen     = map[string]int{}
			)
			done := make(chan struct{})
			const want = 200
			rc := newReceiver(t, func(_ int, r *request, _ http.ResponseWriter) int {
				mu.Lock()
				if inFlight[r.ID] {
					t.Errorf("%s arrived while an attempt of it was under way", r.ID)
				}
				inFlight[r.ID] = true
				seen[r.ID]++
				if len(seen) == want && seen[r.ID] == 1 {
					close(done)
				}
				mu.Unlock()
				time.Sleep(2 * time.Millisecond) // the receiver's work, widening any overlap
				mu.Lock()
				delete(inFlight, r.ID)
				mu.Unlock()
				return http.StatusOK
			})
			h.endpoint(rc.URL(), muster.EventUserInvited, muster.EventAuditEvent)
			if _, err := h.svc.SetLicenseTotal(h.ownerCtx(), 1000, 0); err != nil {
				t.Fatal(err)
			}
			// The second instance's service, with the same server key.
			second := service.New(db2, h.cfg)
			ctx, stop := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for _, svc := range []*service.Service{h.svc, second} {
				s := &worker.WebhookSender{Service: svc, Log: slog.New(slog.DiscardHandler), Poll: 10 * time.Millisecond, PerEndpoint: 4}
				wg.Go(func() { s.Run(ctx) })
			}
			// 100 invitations: an invitation and its audit event each.
			for i := range want / 2 {
				h.invite("User"+strconv.Itoa(i), muster.RoleBasic)
			}
			select {
			case <-done:
			case <-time.After(time.Minute):
				t.Errorf("%d of %d events arrived within a minute", len(seen), want)
			}
			stop()
			wg.Wait()
			// An attempt a stopped sender gave up on may still be in the
			// handler: close waits for it.
			rc.srv.Close()
			mu.Lock()
			defer mu.Unlock()
			for id, n := range seen {
				if n != 1 {
					t.Errorf("%s arrived %d times; want once", id, n)
				}
			}
		})
	}
}

// TestWebhookGuardRefusesThroughDelivery: an endpoint named by a host
// that resolves to 127.0.0.1 passes the check when it is saved (names are
// not resolved then) and is refused when the sender connects: the attempt
// fails with the guard's reason, and nothing arrives.
func TestWebhookGuardRefusesThroughDelivery(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		resolver := dnstest.Start(t, map[string]string{"hooks.example.test.": "127.0.0.1"})
		h := newHookEnv(t, db, func(cfg *service.Config) {
			// http:// is allowed to reach the test receiver; private
			// addresses are not.
			cfg.Webhooks = webhook.NewClient(webhook.Options{Resolver: resolver})
		})
		rc := newReceiver(t, nil)
		url := strings.Replace(rc.URL(), "127.0.0.1", "hooks.example.test", 1)
		e, _ := h.endpoint(url, muster.EventUserInvited)
		h.invite("Ann", muster.RoleBasic)
		h.deliver()
		if n := len(rc.requests()); n != 0 {
			t.Fatalf("the receiver behind the name got %d requests", n)
		}
		log := h.log(e.ID)
		detail, err := h.svc.FindWebhookDelivery(h.ownerCtx(), e.ID, log[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if a := detail.Attempts[0]; a.StatusCode != 0 || !strings.Contains(a.Error, "refused to connect to 127.0.0.1, a loopback address") {
			t.Fatalf("attempt %+v; want the guard's refusal", a)
		}
	})
}

// TestWebhookSlowEndpointDoesNotHoldBackOthers: events go to a fast and a
// slow endpoint; the fast one gets all of them while the slow one is still
// well behind. With MUSTER_WEBHOOK_BENCH=1 it sends 10,000 and reports
// throughput and lag (docs/benchmarks.md, "Webhooks").
func TestWebhookSlowEndpointDoesNotHoldBackOthers(t *testing.T) {
	events, slowLatency := 100, 200*time.Millisecond
	bench := os.Getenv("MUSTER_WEBHOOK_BENCH") != ""
	if bench {
		events, slowLatency = 10_000, 100*time.Millisecond
	}
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		h := newHookEnv(t, db, func(cfg *service.Config) { cfg.Now = nil }) // the real clock: lag is measured
		h.sender.PerEndpoint = 8
		type arrival struct {
			at, made time.Time
		}
		var mu sync.Mutex
		got := map[string][]arrival{}
		done := map[string]chan struct{}{"fast": make(chan struct{}), "slow": make(chan struct{})}
		record := func(name string, r *request) {
			mu.Lock()
			defer mu.Unlock()
			got[name] = append(got[name], arrival{at: time.Now(), made: r.Event.Timestamp})
			if len(got[name]) == events {
				close(done[name])
			}
		}
		fast := newReceiver(t, func(_ int, r *request, _ http.ResponseWriter) int { record("fast", r); return 200 })
		slow := newReceiver(t, func(_ int, r *request, _ http.ResponseWriter) int {
			time.Sleep(slowLatency) // a slow receiver
			if !bench {
				// And, in the test, one that answers nothing until the fast
				// one has every event: a sender held back by it would never
				// get there, whatever the machine's speed.
				select {
				case <-done["fast"]:
				case <-time.After(5 * time.Minute):
				}
			}
			record("slow", r)
			return 200
		})
		h.endpoint(fast.URL(), muster.EventUserInvited)
		h.endpoint(slow.URL(), muster.EventUserInvited)
		if _, err := h.svc.SetLicenseTotal(h.ownerCtx(), events+10, 0); err != nil {
			t.Fatal(err)
		}
		ctx, stop := context.WithCancel(context.Background())
		defer stop()
		running := make(chan struct{})
		go func() { h.sender.Run(ctx); close(running) }()
		defer func() { stop(); <-running }()

		start := time.Now()
		// A bulk import: invitations from 8 goroutines at once.
		var wg sync.WaitGroup
		next := make(chan int)
		for range 8 {
			wg.Go(func() {
				for i := range next {
					if _, err := h.svc.Invite(h.ownerCtx(), service.InviteInput{FirstName: "User", LastName: strconv.Itoa(i),
						Email: fmt.Sprintf("bulk%d.%d@example.com", i, seq.Add(1)), Role: muster.RoleBasic,
						PrimaryTeamID: h.team.ID}); err != nil {
						t.Error(err)
					}
				}
			})
		}
		for i := range events {
			next <- i
		}
		close(next)
		wg.Wait()
		imported := time.Since(start)
		select {
		case <-done["fast"]:
		case <-time.After(5 * time.Minute):
			t.Fatalf("the fast endpoint got %d of %d events in 5 minutes", len(got["fast"]), events)
		}
		fastTime := time.Since(start)
		mu.Lock()
		slowThen := len(got["slow"])
		mu.Unlock()
		t.Logf("%d invitations in %v (%.0f/s); the fast endpoint had all %d events after %v (%.0f/s), the slow one (%v a request) %d",
			events, imported.Round(time.Millisecond), float64(events)/imported.Seconds(), events,
			fastTime.Round(time.Millisecond), float64(events)/fastTime.Seconds(), slowLatency, slowThen)
		// Held back by the slow one, the fast one would finish with it.
		if slowThen > events*9/10 {
			t.Errorf("the slow endpoint had %d of %d events when the fast one had all; want it well behind "+
				"(the fast one held back, or the slow one not slow)", slowThen, events)
		}
		report := func(name string) {
			mu.Lock()
			defer mu.Unlock()
			as := got[name]
			lags := make([]time.Duration, len(as))
			for i, a := range as {
				lags[i] = a.at.Sub(a.made)
			}
			slices.Sort(lags)
			last := as[len(as)-1].at.Sub(start)
			t.Logf("%s: %d events, last after %v (%.0f/s); lag p50 %v, p99 %v, max %v", name, len(as),
				last.Round(time.Millisecond), float64(len(as))/last.Seconds(), lags[len(lags)/2].Round(time.Millisecond),
				lags[len(lags)*99/100].Round(time.Millisecond), lags[len(lags)-1].Round(time.Millisecond))
		}
		report("fast")
		if bench {
			select {
			case <-done["slow"]:
			case <-time.After(10 * time.Minute):
				t.Errorf("the slow endpoint got %d of %d events in 10 minutes", len(got["slow"]), events)
			}
			report("slow")
		}
	})
}
