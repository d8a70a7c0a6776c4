package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestReadRoundTrips: on PostgreSQL a read of one user sends two
// statements, the token's check and the read, also when the user is as the
// client has it (If-None-Match); a read of the list (a page by its cursor, a
// search) two, the token's check with the list's version, then the page,
// and one when the page is as the client has it. Their teams and two-step
// verification are read with the users (muster_store_round_trips_total
// counts the round trips).
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
	for _, c := range []struct {
		path             string
		trips, sameTrips int
	}{
		{"/api/v1/users?limit=1&cursor=" + url.QueryEscape(*first.NextCursor), 2, 1},
		{"/api/v1/users?q=ada", 2, 1},
		{fmt.Sprint("/api/v1/users/", e.org.manager.ID), 2, 2},
	} {
		before := e.db.RoundTrips()
		res := e.do("GET", c.path, e.org.adminToken, nil).want(t, http.StatusOK)
		if n := e.db.RoundTrips() - before; n != int64(c.trips) {
			t.Errorf("GET %s sent %d statements; want %d", c.path, n, c.trips)
		}
		before = e.db.RoundTrips()
		e.do("GET", c.path, e.org.adminToken, nil, "If-None-Match", res.header.Get("ETag")).want(t, http.StatusNotModified)
		if n := e.db.RoundTrips() - before; n != int64(c.sameTrips) {
			t.Errorf("GET %s as the client has it sent %d statements; want %d", c.path, n, c.sameTrips)
		}
	}
}

// TestWriteRoundTrips: on PostgreSQL every write sends the token's check,
// BEGIN with the actor (with the person changed, locked, in one statement),
// its own statements, the audit event with the org's webhook endpoints,
// and COMMIT, alone or with the last write. An invitation's own: the org
// with the team share-locked and the org's webhook endpoints, the email
// looked up, the user with their memberships, and last the seat taken; its
// link (with the user's expiry), its email, the team's count and, the org
// having no endpoints, its audit event go with the seat. A deactivation's:
// the person's row with its status and teams as they were; their links,
// resets, sessions, tokens and Send As grants ended in one statement; last,
// the seat freed with their team's count, and the COMMIT with it. A role
// change's: the person's teams share-locked (they must still exist), the
// person's row.
func TestWriteRoundTrips(t *testing.T) {
	e := newEnv(t, storetest.OpenPostgres(t))
	// The token's first use notes when it was used, in a transaction of its
	// own.
	e.do("GET", "/api/v1/users?limit=1", e.org.ownerToken, nil).want(t, http.StatusOK)
	for _, c := range []struct {
		name, method, path string
		body               any
		trips              int
	}{
		{"invitation", "POST", "/api/v1/users", map[string]any{"first_name": "Nia", "last_name": "New",
			"email": "nia@example.com", "role": "basic", "primary_team_id": e.org.defaultTeam}, 7},
		{"role change", "PATCH", fmt.Sprint("/api/v1/users/", e.org.admin.ID), map[string]any{"role": "manager"}, 6},
		{"deactivation", "POST", fmt.Sprint("/api/v1/users/", e.org.manager.ID, "/deactivate"), nil, 6},
	} {
		before := e.db.RoundTrips()
		res := e.do(c.method, c.path, e.org.ownerToken, c.body)
		if res.status >= 300 {
			t.Fatalf("%s: %s %s: %d", c.name, c.method, c.path, res.status)
		}
		if n := e.db.RoundTrips() - before; n != int64(c.trips) {
			t.Errorf("%s took %d round trips; want %d", c.name, n, c.trips)
		}
	}
}
