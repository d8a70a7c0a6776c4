package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store"
	"github.com/muster-app/muster/internal/testsupport/storetest"
	"github.com/muster-app/muster/internal/web"
)

// keyedInvites is how many invitations the test sends, each with its own
// Idempotency-Key.
const keyedInvites = 200

// TestIdempotencySurvivesSIGKILL: an API client sends 200 invitations, each
// with an Idempotency-Key, and the server is killed with SIGKILL while they
// are in flight. Against a restarted server the client retries every one
// with its key: each answers within seconds, either the outcome committed
// before the kill (replayed) or a change made now, and the org ends with
// exactly one user per key (API-3).
func TestIdempotencySurvivesSIGKILL(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			dbURL := filepath.Join(t.TempDir(), "muster.db")
			if dialect == "postgres" {
				dbURL = storetest.PostgresSchema(t)
			}
			testIdempotencySurvivesSIGKILL(t, dbURL)
		})
	}
}

func testIdempotencySurvivesSIGKILL(t *testing.T, dbURL string) {
	ctx := context.Background()
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := service.New(db, service.Config{BaseURL: "http://muster.test", Links: web.NewLinks("http://muster.test")})
	owner, team := org(t, db, svc)
	if _, err := svc.SetLicenseTotal(owner, keyedInvites+10, 0); err != nil {
		t.Fatal(err)
	}
	token, err := svc.CreateAPIToken(owner, "e2e idempotency", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	api := &keyedClient{t: t, token: token.Secret, team: team.ID, client: &http.Client{Timeout: 5 * time.Second}}

	// Sent by 16 at a time; the server is killed once 20 have answered.
	firstURL := dbURL
	if store.IsPostgres(dbURL) {
		// Its backends are known by name: a COMMIT it sent before dying
		// still commits, once PostgreSQL reads it.
		firstURL += "&application_name=" + killedServer
	}
	first := serve(t, "--db", firstURL)
	var answered atomic.Int64
	killed := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	keys := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range keys {
				if _, err := api.invite(first.URL, i); err == nil && answered.Add(1) == 20 {
					once.Do(func() { first.kill(); close(killed) })
				}
			}
		})
	}
	for i := range keyedInvites {
		select {
		case keys <- i:
		case <-killed:
		}
	}
	close(keys)
	wg.Wait()
	once.Do(func() { first.kill(); close(killed) })
	if store.IsPostgres(dbURL) {
		waitForBackendsToEnd(t, dbURL)
	}
	committed := seatsUsed(t, db, team.OrgID) - 1 // the Owner holds one
	t.Logf("killed the server after %d answers; %d invitations committed", answered.Load(), committed)
	if committed >= keyedInvites {
		t.Fatalf("every invitation committed before the kill; the test proves nothing (send more?)")
	}

	second := serve(t, "--db", dbURL)
	var replayed int
	for i := range keyedInvites {
		start := time.Now()
		res, err := api.invite(second.URL, i)
		if err != nil {
			t.Fatalf("retry of key %d: %v", i, err)
		}
		if took := time.Since(start); took > 3*time.Second {
			t.Errorf("retry of key %d took %v; want at most a few seconds", i, took)
		}
		if res.Header.Get("Idempotent-Replayed") == "true" {
			replayed++
		}
	}
	if got := seatsUsed(t, db, team.OrgID); got != keyedInvites+1 {
		t.Fatalf("%d users after the retries; want the Owner and one per key, %d", got, keyedInvites+1)
	}
	if replayed == 0 || replayed > committed {
		t.Fatalf("%d retries replayed an outcome; want those committed before the kill (%d, at least one)", replayed, committed)
	}
}

// keyedClient invites users through the API, the i-th with key "invite-i".
type keyedClient struct {
	t      *testing.T
	token  string
	team   int64
	client *http.Client
}

// invite sends the i-th invitation and returns its 201 answer.
func (c *keyedClient) invite(base string, i int) (*http.Response, error) {
	body, err := json.Marshal(map[string]any{"first_name": "Key", "last_name": fmt.Sprint(i),
		"email": fmt.Sprintf("key%d@example.com", i), "role": "basic", "primary_team_id": c.team})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequest("POST", base+"/api/v1/users", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", fmt.Sprintf("invite-%d", i))
	res, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	var u struct{ Email string }
	if err := json.NewDecoder(res.Body).Decode(&u); err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusCreated || u.Email != fmt.Sprintf("key%d@example.com", i) {
		return nil, fmt.Errorf("invitation %d: %d %+v", i, res.StatusCode, u)
	}
	return res, nil
}

// seatsUsed counts the org's Pending and Active users.
// killedServer is the application_name of the server the test kills.
const killedServer = "e2e-killed-server"

// waitForBackendsToEnd waits until PostgreSQL has ended every backend of the
// killed server: each first runs what it had already received.
func waitForBackendsToEnd(t *testing.T, dbURL string) {
	t.Helper()
	raw := storetest.OpenSQL(t, dbURL)
	deadline := time.Now().Add(time.Minute)
	for {
		var n int
		err := raw.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, killedServer).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d backends of the killed server still there after a minute", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func seatsUsed(t *testing.T, db muster.Store, orgID int64) int {
	t.Helper()
	var org *muster.Org
	err := db.View(context.Background(), func(tx muster.Tx) error {
		var err error
		org, err = tx.FindOrg(context.Background(), orgID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return org.SeatsUsed
}
