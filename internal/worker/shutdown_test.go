package worker_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
	"github.com/muster-app/muster/internal/worker"
)

// TestWebhookShutdownLetsAttemptUnderWayFinish: a server told to stop
// while an attempt is under way waits for it (Run's contract: "then waits
// for the attempts under way"), rather than cutting the request off and
// recording the shutdown as the endpoint's failure (an attempt used up,
// the endpoint marked failing, the next attempt pushed down the schedule).
func TestWebhookShutdownLetsAttemptUnderWayFinish(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		h := newHookEnv(t, db)
		ctx, stop := context.WithCancel(context.Background())
		defer stop()
		arrived := make(chan struct{}, 1)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			arrived <- struct{}{}
			// The server is told to stop while this request is under way;
			// the endpoint takes 300 ms to answer (well within the 15 s an
			// attempt may take).
			stop()
			select {
			case <-time.After(300 * time.Millisecond):
			case <-r.Context().Done():
				return // Muster hung up
			}
			w.WriteHeader(http.StatusOK)
		}))
		defer srv.Close()
		e, _ := h.endpoint(srv.URL+"/hooks", muster.EventUserInvited)
		h.invite("Ann", muster.RoleBasic)

		done := make(chan struct{})
		go func() { h.sender.Run(ctx); close(done) }()
		<-arrived
		<-done

		d := h.log(e.ID)[0]
		if d.State != muster.DeliverySucceeded {
			t.Errorf("after a shutdown during its attempt the delivery is %s (attempts %d, last error %q); "+
				"want the attempt under way finished: succeeded", d.State, d.Attempts, d.LastError)
		}
		if fs := h.endpointNow(e.ID).FailingSince; !fs.IsZero() {
			t.Errorf("the endpoint is failing since %v because the server stopped", fs)
		}
	})
}

// TestWebhookShutdownGivesBackUnsentClaims: a delivery the sender claimed
// but had not started (waiting for its endpoint's slot) when the server was
// told to stop is given back: no attempt is counted for it, and the server
// started again sends it at once, not once its claim has run out two
// minutes later.
func TestWebhookShutdownGivesBackUnsentClaims(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		h := newHookEnv(t, db)
		ctx, stop := context.WithCancel(context.Background())
		defer stop()
		arrived := make(chan struct{}, 4)
		var requests atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			arrived <- struct{}{}
			if requests.Add(1) == 1 {
				stop() // the server is told to stop during the first request
				select {
				case <-time.After(300 * time.Millisecond):
				case <-r.Context().Done():
					return
				}
			}
			w.WriteHeader(http.StatusOK)
		}))
		defer srv.Close()
		e, _ := h.endpoint(srv.URL+"/hooks", muster.EventUserInvited)
		h.invite("Ann", muster.RoleBasic)
		h.invite("Bob", muster.RoleBasic) // another subject: sent beside Ann's, but one request at a time

		sender := &worker.WebhookSender{Service: h.svc, Log: slog.New(slog.DiscardHandler), PerEndpoint: 1}
		done := make(chan struct{})
		go func() { sender.Run(ctx); close(done) }()
		<-arrived
		<-done
		if n := requests.Load(); n != 1 {
			t.Fatalf("%d requests before the stop; want 1", n)
		}
		for _, d := range h.log(e.ID) {
			if d.State == muster.DeliveryPending && d.Attempts != 0 {
				t.Errorf("delivery %d, never sent, counts %d attempts after the stop; want 0", d.ID, d.Attempts)
			}
		}

		// The server starts again at once.
		n, err := h.sender.DeliverDue(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 || requests.Load() != 2 {
			t.Errorf("the restarted sender claimed %d deliveries and the endpoint has had %d requests; "+
				"want the unsent delivery sent at once", n, requests.Load())
		}
	})
}

// TestWebhookDeletedEndpointGetsNoHeldDeliveries: deliveries a sender
// holds while waiting for the endpoint's turn are not sent once the
// endpoint has been deleted (its pending deliveries failed with it).
func TestWebhookDeletedEndpointGetsNoHeldDeliveries(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		h := newHookEnv(t, db)
		arrived := make(chan struct{}, 4)
		deleted := make(chan struct{})
		var requests atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if requests.Add(1) == 1 {
				arrived <- struct{}{}
				<-deleted
			}
			w.WriteHeader(http.StatusOK)
		}))
		defer srv.Close()
		e, _ := h.endpoint(srv.URL+"/hooks", muster.EventUserInvited)
		h.invite("Ann", muster.RoleBasic)
		h.invite("Bob", muster.RoleBasic)

		sender := &worker.WebhookSender{Service: h.svc, Log: slog.New(slog.DiscardHandler), PerEndpoint: 1}
		done := make(chan error)
		go func() {
			_, err := sender.DeliverDue(context.Background())
			done <- err
		}()
		<-arrived
		if _, err := h.svc.DeleteWebhook(h.ownerCtx(), e.ID, 0); err != nil {
			t.Fatal(err)
		}
		close(deleted)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if n := requests.Load(); n != 1 {
			t.Errorf("the endpoint got %d requests; want 1: none after it was deleted", n)
		}
	})
}
