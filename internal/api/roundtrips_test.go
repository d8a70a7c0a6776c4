package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestReadRoundTrips: on PostgreSQL each read of the list (a page by its
// cursor, a search) and of one user sends two statements, the token's
// check and the read, its users' teams and two-step verification
// included (as muster_store_round_trips_total counts them).
func TestReadRoundTrips(t *testing.T) {
	// SQLite runs in the process: it has no round trips to count.
	e := newEnv(t, storetest.OpenPostgres(t))
	var first struct {
		NextCursor *string `json:"next_cursor"`
	}
	e.do("GET", "/api/v1/users?limit=1", e.org.adminToken, nil).want(t, http.StatusOK).decode(t, &first)
	if first.NextCursor == nil {
		t.Fatal("the first page of one user has no next cursor; want one, the org having three users")
	}
	for _, path := range []string{
		"/api/v1/users?limit=1&cursor=" + url.QueryEscape(*first.NextCursor),
		"/api/v1/users?q=ada",
		fmt.Sprint("/api/v1/users/", e.org.manager.ID),
	} {
		before := e.db.RoundTrips()
		e.do("GET", path, e.org.adminToken, nil).want(t, http.StatusOK)
		if n := e.db.RoundTrips() - before; n != 2 {
			t.Errorf("GET %s sent %d statements; want 2, the token's check and the read", path, n)
		}
	}
}

// TestDeactivationRoundTrips: a deactivation on PostgreSQL sends the
// token's check, BEGIN, the actor, the person (locked), their row changed
// with its status and teams as they were, their links, resets, sessions
// and tokens ended in one statement, their Send As grants, the audit
// event, the org's webhook endpoints, the seat, their team's count and
// COMMIT.
func TestDeactivationRoundTrips(t *testing.T) {
	e := newEnv(t, storetest.OpenPostgres(t))
	// The token's first use notes when it was used, in a transaction of its
	// own.
	e.do("GET", "/api/v1/users?limit=1", e.org.ownerToken, nil).want(t, http.StatusOK)
	before := e.db.RoundTrips()
	e.do("POST", fmt.Sprint("/api/v1/users/", e.org.manager.ID, "/deactivate"), e.org.ownerToken, nil).want(t, http.StatusOK)
	if n := e.db.RoundTrips() - before; n != 12 {
		t.Errorf("a deactivation sent %d statements; want 12", n)
	}
}
