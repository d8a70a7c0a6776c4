package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
	"github.com/muster-app/muster/internal/worker"
)

type webhookBody struct {
	ID                  int64    `json:"id"`
	URL                 string   `json:"url"`
	Description         string   `json:"description"`
	EventTypes          []string `json:"event_types"`
	Enabled             bool     `json:"enabled"`
	Secret              *string  `json:"secret"`
	PreviousSecretUntil *string  `json:"previous_secret_until"`
}

type deliveryBody struct {
	ID        int64  `json:"id"`
	WebhookID string `json:"webhook_id"`
	EventType string `json:"event_type"`
	State     string `json:"state"`
}

// TestWebhooksThroughTheAPI: every webhook route, each answer checked
// against the OpenAPI document: create (the secret shown once, not in a
// replay), read, change with If-Match, test, the delivery log, redelivery,
// rotation, deletion (EVT-1).
func TestWebhooksThroughTheAPI(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		e := newEnv(t, db)
		var hits atomic.Int64
		receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			hits.Add(1)
			w.Write([]byte("thanks"))
		}))
		defer receiver.Close()
		tok := e.org.adminToken

		body := map[string]any{"url": receiver.URL, "description": "HR sync", "event_types": []string{"user.invited"}}
		var created, replay webhookBody
		first := e.do("POST", "/api/v1/webhooks", tok, body, "Idempotency-Key", "hook-1").want(t, 201)
		first.decode(t, &created)
		if created.Secret == nil || !strings.HasPrefix(*created.Secret, "whsec_") || !created.Enabled {
			t.Fatalf("created %+v; want an enabled endpoint with its secret", created)
		}
		again := e.do("POST", "/api/v1/webhooks", tok, body, "Idempotency-Key", "hook-1").want(t, 201)
		again.decode(t, &replay)
		if replay.ID != created.ID || replay.Secret != nil || again.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("replay %+v; want the same endpoint without its secret", replay)
		}
		path := "/api/v1/webhooks/" + strconv.FormatInt(created.ID, 10)

		if code := e.do("POST", "/api/v1/webhooks", tok, map[string]any{"url": receiver.URL, "event_types": []string{"user.sneezed"}}).
			want(t, 422).problemCode(t); code != "invalid" {
			t.Fatalf("an unknown event type: %s", code)
		}
		var list struct{ Data []webhookBody }
		e.do("GET", "/api/v1/webhooks", tok, nil).want(t, 200).decode(t, &list)
		if len(list.Data) != 1 || list.Data[0].Description != "HR sync" {
			t.Fatalf("list %+v", list)
		}
		etag := e.do("GET", path, tok, nil).want(t, 200).header.Get("ETag")
		var changed webhookBody
		e.do("PATCH", path, tok, map[string]any{"event_types": []string{}}, "If-Match", etag).want(t, 200).decode(t, &changed)
		if len(changed.EventTypes) != 0 {
			t.Fatalf("after asking for every type: %v", changed.EventTypes)
		}
		e.do("PATCH", path, tok, map[string]any{"description": "stale"}, "If-Match", etag).want(t, 412)

		var attempt struct {
			Status    *int    `json:"status"`
			LatencyMS float64 `json:"latency_ms"`
		}
		e.do("POST", path+"/test", tok, nil).want(t, 200).decode(t, &attempt)
		if attempt.Status == nil || *attempt.Status != 200 || hits.Load() != 1 {
			t.Fatalf("test event: %+v, %d requests", attempt, hits.Load())
		}

		e.do("POST", "/api/v1/teams", tok, map[string]any{"name": "Sales"}).want(t, 201)
		sender := &worker.WebhookSender{Service: e.svc, Log: slog.New(slog.DiscardHandler)}
		for {
			n, err := sender.DeliverDue(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				break
			}
		}
		var log struct {
			Data       []deliveryBody
			NextCursor *string `json:"next_cursor"`
		}
		e.do("GET", path+"/deliveries?limit=2", tok, nil).want(t, 200).decode(t, &log)
		if len(log.Data) != 2 || log.NextCursor == nil || log.Data[0].State != "succeeded" {
			t.Fatalf("log %+v; want a page of 2 of the 3 (the test, team.created and its audit event), delivered", log)
		}
		e.do("GET", path+"/deliveries?state=failed", tok, nil).want(t, 200)
		e.do("GET", path+"/deliveries?state=lost", tok, nil).want(t, 422)
		var detail struct {
			Delivery deliveryBody
			Event    struct{ Type string }
			Attempts []struct{ Status *int }
		}
		dpath := path + "/deliveries/" + strconv.FormatInt(log.Data[0].ID, 10)
		e.do("GET", dpath, tok, nil).want(t, 200).decode(t, &detail)
		if detail.Event.Type != detail.Delivery.EventType || len(detail.Attempts) != 1 {
			t.Fatalf("detail %+v", detail)
		}
		var redelivered deliveryBody
		e.do("POST", dpath+"/redeliver", tok, nil).want(t, 202).decode(t, &redelivered)
		if redelivered.State != "pending" || redelivered.WebhookID != log.Data[0].WebhookID {
			t.Fatalf("redelivered %+v", redelivered)
		}
		e.do("POST", dpath+"/redeliver", tok, nil).want(t, 409)
		e.do("POST", path+"/redeliver-failed", tok, map[string]any{"since": time.Now().Add(-time.Hour).Format(time.RFC3339)}).want(t, 202)
		e.do("POST", path+"/redeliver-failed", tok, map[string]any{}).want(t, 422)

		var rotated webhookBody
		e.do("POST", path+"/rotate-secret", tok, map[string]any{"overlap_hours": 2}).want(t, 200).decode(t, &rotated)
		if rotated.Secret == nil || *rotated.Secret == *created.Secret || rotated.PreviousSecretUntil == nil {
			t.Fatalf("rotated %+v; want a new secret and the old one's end", rotated)
		}
		e.do("POST", path+"/rotate-secret", tok, map[string]any{"overlap_hours": 1000}).want(t, 422)
		e.do("POST", path+"/rotate-secret", tok, nil).want(t, 200)

		var disabled webhookBody
		e.do("PATCH", path, tok, map[string]any{"enabled": false}).want(t, 200).decode(t, &disabled)
		if disabled.Enabled {
			t.Fatal("still enabled")
		}
		e.do("POST", path+"/redeliver-failed", tok, map[string]any{"since": time.Now().Format(time.RFC3339)}).want(t, 409)
		e.do("DELETE", path, tok, nil).want(t, 204)
		e.do("GET", path, tok, nil).want(t, 404)
		e.do("GET", "/api/v1/webhooks/999999", e.org.ownerToken, nil).want(t, 404)
	})
}

// webhookOperations are the webhook routes' requests for the bad-bytes
// walk (TestBadBytesOnEveryEndpoint), each ready to succeed.
func (f *fixtures) webhookOperations() map[string]func() operation {
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	f.t.Cleanup(receiver.Close)
	// endpoint makes an endpoint and sends it a test event: a finished
	// delivery, which can be redelivered once.
	endpoint := func() (int64, int64) {
		f.t.Helper()
		created, err := f.e.svc.CreateWebhook(f.ctx, service.WebhookInput{URL: receiver.URL, EventTypes: []string{"team.created"}})
		if err != nil {
			f.t.Fatal(err)
		}
		if _, err := f.e.svc.SendTestWebhook(f.ctx, created.Endpoint.ID); err != nil {
			f.t.Fatal(err)
		}
		log, err := f.e.svc.FindWebhookLog(f.ctx, created.Endpoint.ID, service.WebhookDeliveryQuery{})
		if err != nil {
			f.t.Fatal(err)
		}
		return created.Endpoint.ID, log.Deliveries[0].ID
	}
	body := func() map[string]any {
		return map[string]any{"url": receiver.URL + "/" + f.unique("hooks"), "description": "HR sync",
			"event_types": []string{"user.invited"}}
	}
	withDelivery := func() map[string]string {
		e, d := endpoint()
		return map[string]string{"id": fmt.Sprint(e), "delivery_id": fmt.Sprint(d)}
	}
	one := func() map[string]string { e, _ := endpoint(); return id(e) }
	return map[string]func() operation{
		"GET /api/v1/webhooks":         func() operation { return operation{} },
		"POST /api/v1/webhooks":        func() operation { return operation{body: body()} },
		"GET /api/v1/webhooks/{id}":    func() operation { return operation{path: one()} },
		"DELETE /api/v1/webhooks/{id}": func() operation { return operation{path: one()} },
		"PATCH /api/v1/webhooks/{id}": func() operation {
			b := body()
			b["enabled"] = true
			return operation{path: one(), body: b}
		},
		"POST /api/v1/webhooks/{id}/rotate-secret": func() operation {
			return operation{path: one(), body: map[string]any{"overlap_hours": 1}}
		},
		"POST /api/v1/webhooks/{id}/test": func() operation { return operation{path: one()} },
		"GET /api/v1/webhooks/{id}/deliveries": func() operation {
			return operation{path: one(), query: url.Values{"state": {"succeeded"}, "cursor": {"999999999"}, "limit": {"10"}}}
		},
		"GET /api/v1/webhooks/{id}/deliveries/{delivery_id}":            func() operation { return operation{path: withDelivery()} },
		"POST /api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver": func() operation { return operation{path: withDelivery()} },
		"POST /api/v1/webhooks/{id}/redeliver-failed": func() operation {
			return operation{path: one(), body: map[string]any{"since": "2020-01-01T00:00:00Z"}}
		},
	}
}
