package api_test

import (
	"fmt"
	"testing"
)

// TestOwnershipTransfer: the Owner's token, with the Owner's password,
// makes the Active Admin the Owner; the former Owner's token then acts as
// an Admin from its next request, and the new Owner's as the Owner (OWN-1,
// ROLE-3). A wrong password, or a Manager as heir, changes nothing.
func TestOwnershipTransfer(t *testing.T) {
	runStores(t, func(t *testing.T, e *env) {
		o := e.org
		e.do("POST", "/api/v1/ownership-transfers", o.ownerToken,
			map[string]any{"user_id": o.admin.ID, "password": "not the password"}).want(t, 403)
		if code := e.do("POST", "/api/v1/ownership-transfers", o.ownerToken,
			map[string]any{"user_id": o.manager.ID, "password": "a long enough secret"}).want(t, 409).problemCode(t); code != "conflict" {
			t.Fatalf("transfer to a Manager: code %q; want conflict", code)
		}
		e.do("POST", "/api/v1/ownership-transfers", o.adminToken,
			map[string]any{"user_id": o.admin.ID, "password": "a long enough secret"}).want(t, 403)
		e.do("PUT", "/api/v1/license", o.adminToken, map[string]any{"total": 30}).want(t, 403)

		var moved struct {
			O struct {
				ID   int64  `json:"id"`
				Role string `json:"role"`
			} `json:"owner"`
			P struct {
				ID   int64  `json:"id"`
				Role string `json:"role"`
			} `json:"previous_owner"`
		}
		e.do("POST", "/api/v1/ownership-transfers", o.ownerToken,
			map[string]any{"user_id": o.admin.ID, "password": "a long enough secret"}).want(t, 200).decode(t, &moved)
		if moved.O.ID != o.admin.ID || moved.O.Role != "owner" || moved.P.ID != o.owner.ID || moved.P.Role != "admin" {
			t.Fatalf("transfer answered %+v; want Ada the owner and Olive an admin", moved)
		}
		// The very next requests see the new roles.
		e.do("PUT", "/api/v1/license", o.ownerToken, map[string]any{"total": 30}).want(t, 403)
		e.do("PUT", "/api/v1/license", o.adminToken, map[string]any{"total": 30}).want(t, 200)
		var me struct{ Role string }
		e.do("GET", "/api/v1/me", o.ownerToken, nil).want(t, 200).decode(t, &me)
		if me.Role != "admin" {
			t.Fatalf("the former Owner is %q; want admin", me.Role)
		}
		var events struct{ Data []struct{ Action string } }
		e.do("GET", fmt.Sprintf("/api/v1/audit-events?target_id=%d", o.admin.ID), o.adminToken, nil).want(t, 200).decode(t, &events)
		if len(events.Data) == 0 || events.Data[0].Action != "org.ownership_transferred" {
			t.Fatalf("audit for Ada: %+v; want the transfer first", events.Data)
		}
	})
}

// TestTeamETagIgnoresMembers: a team's ETag is its version, which a rename
// changes and an invitation into the team does not, so that a rename sent
// with If-Match is not refused because someone joined (API-3).
func TestTeamETagIgnoresMembers(t *testing.T) {
	runStores(t, func(t *testing.T, e *env) {
		o := e.org
		var team struct {
			ID           int64
			PrimaryCount int `json:"primary_count"`
		}
		created := e.do("POST", "/api/v1/teams", o.ownerToken, map[string]any{"name": "Support"}).want(t, 201)
		created.decode(t, &team)
		etag := created.header.Get("ETag")
		e.do("POST", "/api/v1/users", o.ownerToken, map[string]any{"first_name": "Joe", "last_name": "Join",
			"email": email("joe"), "role": "basic", "primary_team_id": team.ID}).want(t, 201)
		read := e.do("GET", fmt.Sprintf("/api/v1/teams/%d", team.ID), o.ownerToken, nil).want(t, 200)
		read.decode(t, &team)
		if team.PrimaryCount != 1 || read.header.Get("ETag") != etag {
			t.Fatalf("after an invitation: %d primary members, ETag %s; want 1 and the ETag as it was (%s)",
				team.PrimaryCount, read.header.Get("ETag"), etag)
		}
		renamed := e.do("PATCH", fmt.Sprintf("/api/v1/teams/%d", team.ID), o.ownerToken, map[string]any{"name": "Help Desk"},
			"If-Match", etag).want(t, 200)
		if renamed.header.Get("ETag") == etag {
			t.Fatalf("the rename kept ETag %s; want a new one", etag)
		}
	})
}
