package e2e_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store"
	"github.com/muster-app/muster/internal/testsupport"
	"github.com/muster-app/muster/internal/testsupport/storetest"
	"github.com/muster-app/muster/internal/web"
)

// TestWebhookSurvivesSIGKILL: an invitation is committed through the API;
// its webhook's first attempt gets 503 with Retry-After, and the server is
// killed with SIGKILL before the retry. Another invitation is committed
// while no server runs. Once a server is back, both events arrive, each
// verified by the Standard Webhooks library, the first with the webhook-id
// of its failed attempt (EVT-1).
func TestWebhookSurvivesSIGKILL(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			dbURL := filepath.Join(t.TempDir(), "muster.db")
			var args []string
			if dialect == "postgres" {
				// Instances on PostgreSQL share a key the operator gives;
				// on SQLite the first start makes one beside the database.
				dbURL = storetest.PostgresSchema(t)
				key := make([]byte, 32)
				rand.Read(key)
				args = append(args, "--secret-key", base64.StdEncoding.EncodeToString(key))
			}
			testWebhookSurvivesSIGKILL(t, dbURL, append(args, "--db", dbURL, "--webhooks-allow-private"))
		})
	}
}

// hookRequest is one request the test's receiver got.
type hookRequest struct {
	header http.Header
	body   []byte
	typ    string
}

func testWebhookSurvivesSIGKILL(t *testing.T, dbURL string, args []string) {
	ctx := context.Background()
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := service.New(db, service.Config{BaseURL: "http://muster.test", Links: web.NewLinks("http://muster.test")})
	owner, team := org(t, db, svc)
	token, err := svc.CreateAPIToken(owner, "e2e webhooks", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []hookRequest
	arrived := make(chan struct{}, 100)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev struct{ Type string }
		json.Unmarshal(body, &ev)
		mu.Lock()
		first := len(got) == 0
		got = append(got, hookRequest{header: r.Header.Clone(), body: body, typ: ev.Type})
		mu.Unlock()
		if first {
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		arrived <- struct{}{}
	}))
	defer receiver.Close()
	wait := func(n int, what string) []hookRequest {
		t.Helper()
		deadline := time.After(time.Minute)
		for {
			mu.Lock()
			have := append([]hookRequest(nil), got...)
			mu.Unlock()
			if len(have) >= n {
				return have
			}
			select {
			case <-arrived:
			case <-deadline:
				t.Fatalf("%s: %d requests arrived within a minute; want %d", what, len(have), n)
			}
		}
	}

	first := serve(t, args...)
	api := &hookClient{t: t, token: token.Secret}
	var endpoint struct {
		ID     int64
		Secret string
	}
	api.do("POST", first.URL+"/api/v1/webhooks", map[string]any{"url": receiver.URL,
		"event_types": []string{muster.EventUserInvited}}, http.StatusCreated, &endpoint)
	api.do("POST", first.URL+"/api/v1/users", map[string]any{"first_name": "Ann", "last_name": "Tester",
		"email": "ann@example.com", "role": "basic", "primary_team_id": team.ID}, http.StatusCreated, nil)
	refused := wait(1, "the first attempt")[0]
	// The kill comes once the failed attempt is recorded: the retry is due
	// in 3 seconds, and this server will not be there to make it.
	deliveries := fmt.Sprintf("%s/api/v1/webhooks/%d/deliveries", first.URL, endpoint.ID)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		var log struct {
			Data []struct {
				State      string
				Attempts   int
				LastStatus *int `json:"last_status"`
			}
		}
		api.do("GET", deliveries, nil, http.StatusOK, &log)
		if len(log.Data) == 1 && log.Data[0].LastStatus != nil && *log.Data[0].LastStatus == 503 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the failed attempt was not recorded within a minute: %+v", log)
		}
	}
	first.kill()

	// Committed with no server running: the outbox keeps it.
	if _, err := svc.Invite(owner, service.InviteInput{FirstName: "Bob", LastName: "Tester", Email: "bob@example.com",
		Role: muster.RoleBasic, PrimaryTeamID: team.ID}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(got) != 1 {
		t.Fatalf("%d requests before the restart; want the refused one", len(got))
	}
	mu.Unlock()

	second := serve(t, args...)
	all := wait(3, "after the restart")
	second.stop()
	wh, err := standardwebhooks.NewWebhook(endpoint.Secret)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]int{}
	for _, r := range all {
		if err := wh.Verify(r.body, r.header); err != nil {
			t.Errorf("%s: the Standard Webhooks library refuses it: %v", r.typ, err)
		}
		if r.typ != muster.EventUserInvited {
			t.Errorf("got %s; want user.invited", r.typ)
		}
		byID[r.header.Get("webhook-id")]++
	}
	if id := refused.header.Get("webhook-id"); byID[id] != 2 || len(byID) != 2 || len(all) != 3 {
		t.Fatalf("requests by webhook-id %v; want the refused event again (%s) and the one committed while down, once each", byID, id)
	}
}

// hookClient calls the API with a token.
type hookClient struct {
	t     *testing.T
	token string
}

func (c *hookClient) do(method, u string, body any, want int, out any) {
	c.t.Helper()
	header := []string{"Authorization", "Bearer " + c.token}
	if body != nil {
		header = append(header, "Content-Type", "application/json")
	}
	res, b := testsupport.Do(c.t, method, u, body, header...)
	if res.StatusCode != want {
		c.t.Fatalf("%s %s: %d %s; want %d", method, u, res.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %v", method, u, err)
		}
	}
}
