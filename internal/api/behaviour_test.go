package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/testsupport"
)

type userBody struct {
	ID      int64  `json:"id"`
	Status  string `json:"status"`
	Role    string `json:"role"`
	Version int64  `json:"version"`
}

func (e *env) invite(token, role string) *response {
	e.t.Helper()
	return e.do("POST", "/api/v1/users", token, map[string]any{"first_name": "New", "last_name": "Person",
		"email": email("new"), "role": role, "primary_team_id": e.org.defaultTeam})
}

// TestPermissionsThroughTheAPI runs SPEC §2 through the API with the tokens
// an Owner and an Admin can hold.
func TestPermissionsThroughTheAPI(t *testing.T) {
	runStores(t, func(t *testing.T, e *env) {
		o := e.org
		for _, c := range []struct {
			name, token, role string
			want              int
		}{
			{"owner invites admin", o.ownerToken, "admin", 201},
			{"owner invites manager", o.ownerToken, "manager", 201},
			{"admin invites manager", o.adminToken, "manager", 201},
			{"admin invites basic", o.adminToken, "basic", 201},
			{"admin invites admin", o.adminToken, "admin", 403},
			{"owner invites owner", o.ownerToken, "owner", 403},
		} {
			if res := e.invite(c.token, c.role); res.status != c.want {
				t.Errorf("%s: %d %s; want %d", c.name, res.status, res.body, c.want)
			}
		}
		// Admin acting on the Owner and on another Admin: refused.
		if res := e.do("POST", fmt.Sprintf("/api/v1/users/%d/deactivate", o.owner.ID), o.adminToken, nil); res.status != 403 {
			t.Errorf("admin deactivates owner: %d; want 403", res.status)
		}
		if res := e.do("PATCH", fmt.Sprintf("/api/v1/users/%d", o.admin.ID), o.adminToken, map[string]any{"role": "basic"}); res.status != 403 {
			t.Errorf("admin changes own role: %d; want 403", res.status)
		}
		if res := e.do("PUT", "/api/v1/license", o.adminToken, map[string]any{"total": 30}); res.status != 403 {
			t.Errorf("admin sets license total: %d; want 403", res.status)
		}
		if res := e.do("PUT", "/api/v1/license", o.ownerToken, map[string]any{"total": 30}); res.status != 200 {
			t.Errorf("owner sets license total: %d %s; want 200", res.status, res.body)
		}
		if res := e.do("PUT", "/api/v1/license", o.ownerToken, map[string]any{"total": 1}); res.status != 409 || res.problemCode(t) != "conflict" {
			t.Errorf("license total below used: %d %s; want 409 conflict", res.status, res.body)
		}
		// Manager's and Basic User's have no tokens; a demoted Admin's dies.
		if res := e.do("PATCH", fmt.Sprintf("/api/v1/users/%d", o.admin.ID), o.ownerToken, map[string]any{"role": "manager"}); res.status != 200 {
			t.Fatalf("demote admin: %d %s", res.status, res.body)
		}
		if res := e.do("GET", "/api/v1/users", o.adminToken, nil); res.status != 401 {
			t.Errorf("demoted admin's token: %d; want 401", res.status)
		}
		if res := e.do("GET", "/api/v1/users", "", nil); res.status != 401 || res.header.Get("WWW-Authenticate") == "" {
			t.Errorf("no token: %d; want 401 with WWW-Authenticate", res.status)
		}
	})
}

func TestSeatLimitAndDeactivatedCreator(t *testing.T) {
	runStores(t, func(t *testing.T, e *env) {
		o := e.org
		if res := e.do("PUT", "/api/v1/license", o.ownerToken, map[string]any{"total": 4}); res.status != 200 {
			t.Fatalf("set total: %d %s", res.status, res.body)
		}
		if res := e.invite(o.adminToken, "basic"); res.status != 201 {
			t.Fatalf("invite into the last seat: %d %s", res.status, res.body)
		}
		res := e.invite(o.adminToken, "basic")
		if res.status != 409 || res.problemCode(t) != muster.ESEATS ||
			!strings.Contains(string(res.body), "No licenses remaining: 4 of 4 in use.") {
			t.Fatalf("invite past the total: %d %s; want 409 seat_limit with the numbers", res.status, res.body)
		}
		if res := e.do("POST", fmt.Sprintf("/api/v1/users/%d/deactivate", o.admin.ID), o.ownerToken, nil); res.status != 200 {
			t.Fatalf("deactivate admin: %d %s", res.status, res.body)
		}
		if res := e.do("GET", "/api/v1/me", o.adminToken, nil); res.status != 401 {
			t.Fatalf("deactivated creator's token: %d; want 401 on its very next call", res.status)
		}
	})
}

func TestIdempotencyKey(t *testing.T) {
	runStores(t, func(t *testing.T, e *env) {
		o := e.org
		body := map[string]any{"first_name": "Ida", "last_name": "Empotent", "email": email("ida"), "role": "basic",
			"primary_team_id": o.defaultTeam}
		var wg sync.WaitGroup
		results := make([]*response, 2)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = e.do("POST", "/api/v1/users", o.ownerToken, body, "Idempotency-Key", "key-1")
			}()
		}
		wg.Wait()
		var a, b userBody
		results[0].decode(t, &a)
		results[1].decode(t, &b)
		if results[0].status != 201 || results[1].status != 201 || a.ID != b.ID {
			t.Fatalf("two concurrent POSTs with one key: %d %s / %d %s; want the same 201", results[0].status,
				results[0].body, results[1].status, results[1].body)
		}
		var page struct{ Data []userBody }
		e.do("GET", "/api/v1/users?q=ida", o.ownerToken, nil).want(t, 200).decode(t, &page)
		if len(page.Data) != 1 {
			t.Fatalf("%d users named Ida; want exactly 1", len(page.Data))
		}
		again := e.do("POST", "/api/v1/users", o.ownerToken, body, "Idempotency-Key", "key-1")
		if again.status != 201 || again.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("repeat: %d %v; want the first response replayed", again.status, again.header)
		}
		body["first_name"] = "Other"
		if res := e.do("POST", "/api/v1/users", o.ownerToken, body, "Idempotency-Key", "key-1"); res.status != 422 {
			t.Fatalf("same key, other body: %d; want 422", res.status)
		}
	})
}

// TestIfMatch: each update the API offers with an ETag, after another
// request changed the resource, refuses the ETag read before with 412
// "stale" and changes nothing; the current ETag is taken (API-3).
func TestIfMatch(t *testing.T) {
	runStores(t, func(t *testing.T, e *env) {
		o := e.org
		ownerCtx := muster.NewContext(context.Background(), muster.Principal{UserID: o.owner.ID, OrgID: o.owner.OrgID, Origin: "test"})
		if _, err := e.svc.SetEmailAtScale(ownerCtx, true); err != nil {
			t.Fatal(err)
		}
		var team, perm struct{ ID int64 }
		e.do("POST", "/api/v1/teams", o.ownerToken, map[string]any{"name": "Support"}).want(t, 201).decode(t, &team)
		e.do("POST", "/api/v1/send-as", o.ownerToken, map[string]any{"from_name": "News", "from_email": "news@acme.example",
			"user_ids": []int64{o.manager.ID}}).want(t, 201).decode(t, &perm)
		sendAs := func(fromName any) any {
			return map[string]any{"from_name": fromName, "from_email": "news@acme.example", "user_ids": []int64{o.manager.ID}}
		}
		for _, c := range []struct {
			name, method, path string
			// body is the update's body setting field to a value.
			body  func(v any) any
			field string
			// The values set by another request, by the stale update and by
			// the update with the current ETag.
			other, stale, current any
		}{
			{"user", "PATCH", fmt.Sprintf("/api/v1/users/%d", o.manager.ID), func(v any) any { return map[string]any{"first_name": v} },
				"first_name", "Maxine", "Maxwell", "Max"},
			{"team", "PATCH", fmt.Sprintf("/api/v1/teams/%d", team.ID), func(v any) any { return map[string]any{"name": v} },
				"name", "Support Desk", "Helpdesk", "Customer Care"},
			{"send as", "PUT", fmt.Sprintf("/api/v1/send-as/%d", perm.ID), sendAs,
				"from_name", "Acme News", "Acme Updates", "Acme Letters"},
			{"license total", "PUT", "/api/v1/license", func(v any) any { return map[string]any{"total": v} },
				"total", 30, 40, 50},
		} {
			t.Run(c.name, func(t *testing.T) {
				// field reads the resource and returns the field and the ETag.
				field := func() (string, string) {
					t.Helper()
					res := e.do("GET", c.path, o.ownerToken, nil).want(t, 200)
					var got map[string]any
					res.decode(t, &got)
					if res.header.Get("ETag") == "" {
						t.Fatalf("GET %s: no ETag", c.path)
					}
					return fmt.Sprint(got[c.field]), res.header.Get("ETag")
				}
				_, read := field()
				e.do(c.method, c.path, o.ownerToken, c.body(c.other)).want(t, 200)

				res := e.do(c.method, c.path, o.ownerToken, c.body(c.stale), "If-Match", read).want(t, 412)
				if code := res.problemCode(t); code != muster.ESTALE {
					t.Fatalf("update with the ETag read before the change: problem code %q; want %q", code, muster.ESTALE)
				}
				got, current := field()
				if got != fmt.Sprint(c.other) {
					t.Fatalf("%s = %s after the stale update; want %v, as the other request left it", c.field, got, c.other)
				}
				if current == read {
					t.Fatalf("the ETag %s did not change when the %s did", read, c.field)
				}

				e.do(c.method, c.path, o.ownerToken, c.body(c.current), "If-Match", current).want(t, 200)
				if got, _ := field(); got != fmt.Sprint(c.current) {
					t.Fatalf("%s = %s after the update with the current ETag; want %v", c.field, got, c.current)
				}
			})
		}

		// A DELETE with an ETag read before a change deletes nothing;
		// with the current one, it deletes.
		var hook struct{ ID int64 }
		e.do("POST", "/api/v1/webhooks", o.ownerToken, map[string]any{"url": "https://hooks.example.com/muster"}).
			want(t, 201).decode(t, &hook)
		for _, c := range []struct {
			name, path string
			change     any
		}{
			{"team", fmt.Sprintf("/api/v1/teams/%d", team.ID), map[string]any{"name": "Support Again"}},
			{"send as", fmt.Sprintf("/api/v1/send-as/%d", perm.ID), sendAs("Acme Again")},
			{"webhook", fmt.Sprintf("/api/v1/webhooks/%d", hook.ID), map[string]any{"description": "Changed"}},
		} {
			t.Run("delete "+c.name, func(t *testing.T) {
				read := e.do("GET", c.path, o.ownerToken, nil).want(t, 200).header.Get("ETag")
				method := "PATCH"
				if c.name == "send as" {
					method = "PUT"
				}
				e.do(method, c.path, o.ownerToken, c.change).want(t, 200)
				res := e.do("DELETE", c.path, o.ownerToken, nil, "If-Match", read).want(t, 412)
				if code := res.problemCode(t); code != muster.ESTALE {
					t.Fatalf("DELETE with a stale ETag: problem code %q; want %q", code, muster.ESTALE)
				}
				current := e.do("GET", c.path, o.ownerToken, nil).want(t, 200).header.Get("ETag")
				e.do("DELETE", c.path, o.ownerToken, nil, "If-Match", current).want(t, 204)
				e.do("GET", c.path, o.ownerToken, nil).want(t, 404)
			})
		}
	})
}

func TestBadBodies(t *testing.T) {
	runStores(t, func(t *testing.T, e *env) {
		o := e.org
		for name, c := range map[string]struct {
			body string
			want string
		}{
			"unknown field": {`{"name":"A","colour":"red"}`, `Unknown field "colour"`},
			"wrong type":    {`{"name":42}`, `"name" must be a string`},
			"not json":      {`{name:`, "not valid JSON"},
			"empty":         {``, "empty"},
			"two objects":   {`{"name":"A"}{"name":"B"}`, "nothing after it"},
			"too large":     {`{"name":"` + strings.Repeat("x", 2<<20) + `"}`, "larger than 1 MiB"},
		} {
			res := e.do("POST", "/api/v1/teams", o.ownerToken, c.body)
			var p struct{ Detail string }
			res.decode(t, &p)
			if res.status != 400 || !strings.Contains(p.Detail, c.want) {
				t.Errorf("%s: %d %s; want 400 saying %q", name, res.status, res.body, c.want)
			}
		}
		res := e.do("POST", "/api/v1/users", o.ownerToken, map[string]any{"first_name": "", "last_name": "X",
			"email": "bad", "role": "basic", "primary_team_id": o.defaultTeam})
		var p struct {
			Code   string
			Errors []struct{ Field, Message string }
		}
		res.decode(t, &p)
		if res.status != 422 || p.Code != "invalid" || len(p.Errors) != 2 {
			t.Fatalf("invalid invite: %d %s; want 422 with errors for first_name and email", res.status, res.body)
		}
		// More teams than a statement names: refused beside the field, on
		// an invitation and on an edit, not a 500.
		many := make([]int64, 16385)
		for i := range many {
			many[i] = int64(1<<40 + i)
		}
		for _, res := range []*response{
			e.do("POST", "/api/v1/users", o.ownerToken, map[string]any{"first_name": "Mo", "last_name": "Teams",
				"email": email("many"), "role": "basic", "primary_team_id": o.defaultTeam, "secondary_team_ids": many}),
			e.do("PATCH", fmt.Sprint("/api/v1/users/", o.manager.ID), o.ownerToken, map[string]any{"secondary_team_ids": many}),
		} {
			res.decode(t, &p)
			if res.status != 422 || len(p.Errors) != 1 || p.Errors[0].Field != "secondary_team_ids" {
				t.Fatalf("%d secondary teams of no team: %d %s; want 422 naming secondary_team_ids", len(many), res.status, res.body)
			}
		}
		// Not in the document, so not through e.do, which checks against it.
		unknown, err := http.Get(e.srv.URL + "/api/v1/nothing")
		if err != nil {
			t.Fatal(err)
		}
		unknown.Body.Close()
		if unknown.StatusCode != http.StatusNotFound || unknown.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("unknown route: %d %s; want a 404 problem", unknown.StatusCode, unknown.Header.Get("Content-Type"))
		}
		// A route's path with a method it does not take: 405, with the
		// methods it takes (HEAD wherever GET is, as the mux answers it).
		for _, c := range []struct{ method, path, allow string }{
			{"DELETE", "/api/v1/users", "GET, HEAD, POST"},
			{"PUT", fmt.Sprint("/api/v1/users/", o.manager.ID), "GET, HEAD, PATCH"},
			{"GET", "/api/v1/reports", "POST"},
		} {
			res, b := testsupport.Do(t, c.method, e.srv.URL+c.path, "", "Authorization", "Bearer "+o.ownerToken)
			wrong := &response{status: res.StatusCode, header: res.Header, body: b}
			if wrong.status != http.StatusMethodNotAllowed || wrong.header.Get("Allow") != c.allow ||
				wrong.problemCode(t) != "method_not_allowed" {
				t.Fatalf("%s %s: %d Allow %q %s; want 405, Allow: %s", c.method, c.path, wrong.status,
					wrong.header.Get("Allow"), wrong.body, c.allow)
			}
		}
	})
}

// TestBadQueryParameters: a query parameter of the wrong form is refused
// with a 400 that names it and says the form it takes, on each reader of
// them (whole numbers, times, true/false).
func TestBadQueryParameters(t *testing.T) {
	runStores(t, func(t *testing.T, e *env) {
		for _, c := range []struct {
			method, path, want string
		}{
			{"GET", "/api/v1/users?limit=-1", "The query parameter limit must be a whole number."},
			{"GET", "/api/v1/users?q=ol&team_id=x", "The query parameter team_id must be a whole number."},
			{"GET", "/api/v1/audit-events?since=yesterday", "The query parameter since must be a time like"},
			{"GET", "/api/v1/imports/1?rows=maybe", "The query parameter rows must be true or false."},
			{"POST", "/api/v1/imports?dry_run=maybe", "The query parameter dry_run must be true or false."},
		} {
			res := e.do(c.method, c.path, e.org.ownerToken, nil)
			var p struct{ Detail string }
			res.decode(t, &p)
			if res.status != http.StatusBadRequest || !strings.HasPrefix(p.Detail, c.want) {
				t.Errorf("%s %s: %d %s; want 400 saying %q", c.method, c.path, res.status, res.body, c.want)
			}
		}
	})
}

// TestTeamListPages: GET /api/v1/teams comes in pages by next_cursor
// (API-3), the Default Team first and then by name, with q finding part of
// a name; a cursor Muster did not make is a 422 problem.
func TestTeamListPages(t *testing.T) {
	runStores(t, func(t *testing.T, e *env) {
		for _, name := range []string{"Support", "billing", "Sales Ops"} {
			e.do("POST", "/api/v1/teams", e.org.ownerToken, map[string]any{"name": name}).want(t, 201)
		}
		var listed []string
		var pages []int
		for target := "/api/v1/teams?limit=2"; target != "" && len(pages) < 5; {
			var page struct {
				Data []struct {
					Name string
				}
				NextCursor *string `json:"next_cursor"`
			}
			e.do("GET", target, e.org.ownerToken, nil).want(t, 200).decode(t, &page)
			pages = append(pages, len(page.Data))
			for _, team := range page.Data {
				listed = append(listed, team.Name)
			}
			target = ""
			if page.NextCursor != nil {
				target = "/api/v1/teams?limit=2&cursor=" + url.QueryEscape(*page.NextCursor)
			}
		}
		if want := []string{"Default Team", "billing", "Sales Ops", "Support"}; !slices.Equal(listed, want) ||
			!slices.Equal(pages, []int{2, 2}) {
			t.Fatalf("pages of 2 list %q in pages of %v; want %q in two pages", listed, pages, want)
		}
		var found struct{ Data []struct{ Name string } }
		e.do("GET", "/api/v1/teams?q=S+O", e.org.ownerToken, nil).want(t, 200).decode(t, &found)
		if len(found.Data) != 1 || found.Data[0].Name != "Sales Ops" {
			t.Fatalf("q=S O finds %+v; want Sales Ops alone", found.Data)
		}
		res := e.do("GET", "/api/v1/teams?cursor=bm90IGEgY3Vyc29y", e.org.ownerToken, nil).want(t, 422)
		var p struct{ Code, Detail string }
		res.decode(t, &p)
		if p.Code != "invalid" || !strings.Contains(p.Detail, "cursor") {
			t.Fatalf("a cursor Muster did not make: %s; want an invalid problem about the cursor", res.body)
		}
	})
}

// TestTenantIsolation walks every route of the OpenAPI document with a
// valid token of org A and the ids of org B's resources, and requires 404
// and no change in org B. A route added to the document is covered without
// touching this test.
func TestTenantIsolation(t *testing.T) {
	runStores(t, func(t *testing.T, e *env) {
		a, b := e.org, e.newOrg()
		bCtx := muster.NewContext(context.Background(), muster.Principal{UserID: b.owner.ID, OrgID: b.owner.OrgID, Origin: "test"})
		if _, err := e.svc.SetEmailAtScale(bCtx, true); err != nil {
			t.Fatal(err)
		}
		aCtx := muster.NewContext(context.Background(), muster.Principal{UserID: a.owner.ID, OrgID: a.owner.OrgID, Origin: "test"})
		if _, err := e.svc.SetEmailAtScale(aCtx, true); err != nil {
			t.Fatal(err)
		}
		// Org B has one resource of every kind, all with distinct ids; the
		// sweep tries each of B's ids in every {id} slot.
		team, err := e.svc.CreateTeam(bCtx, "B team")
		if err != nil {
			t.Fatal(err)
		}
		perm := e.do("POST", "/api/v1/send-as", b.ownerToken, map[string]any{"from_name": "B", "from_email": "b@b.example",
			"user_ids": []int64{b.manager.ID}})
		var permID struct{ ID int64 }
		perm.want(t, 201).decode(t, &permID)
		rep, err := e.svc.RequestUserList(bCtx)
		if err != nil {
			t.Fatal(err)
		}
		if ran, err := e.svc.RunNextReport(context.Background()); err != nil || !ran {
			t.Fatalf("RunNextReport = %v, %v; want org B's report run", ran, err)
		}
		hook, err := e.svc.CreateWebhook(bCtx, service.WebhookInput{URL: "https://hooks.b.example/muster"})
		if err != nil {
			t.Fatal(err)
		}
		// Its own creation's audit event is its first delivery.
		hookLog, err := e.svc.FindWebhookLog(bCtx, hook.Endpoint.ID, service.WebhookDeliveryQuery{})
		if err != nil || len(hookLog.Deliveries) == 0 {
			t.Fatalf("org B's webhook has no delivery: %v", err)
		}
		imp, err := e.svc.PlanImport(bCtx, service.ImportInput{File: strings.NewReader("Email,First Name,Last Name\nb.imp@b.example,B,Imp\n")})
		if err != nil {
			t.Fatal(err)
		}
		// B's ids per kind of resource, named by the path's first segment.
		ids := map[string][]int64{
			"users":    {b.owner.ID, b.admin.ID, b.manager.ID},
			"teams":    {team.ID, b.defaultTeam},
			"send-as":  {permID.ID},
			"reports":  {rep.ID},
			"webhooks": {hook.Endpoint.ID},
			"imports":  {imp.ID},
		}

		before := snapshot(t, e, b)
		routes := 0
		for path, item := range document.Paths.Map() {
			if !strings.Contains(path, "{id}") {
				continue
			}
			kind := strings.Split(strings.TrimPrefix(path, "/api/v1/"), "/")[0]
			if len(ids[kind]) == 0 {
				t.Errorf("the sweep has no org B ids for %s: add a resource of that kind", path)
			}
			for method := range item.Operations() {
				routes++
				for _, id := range ids[kind] {
					p := strings.ReplaceAll(path, "{id}", fmt.Sprint(id))
					p = strings.ReplaceAll(p, "{delivery_id}", fmt.Sprint(hookLog.Deliveries[0].ID))
					res := e.do(method, p, a.ownerToken, sweepBody(method, path, a))
					if res.status != 404 {
						t.Errorf("%s %s with org B's id %d: %d %s; want 404", method, path, id, res.status, res.body)
					}
				}
			}
		}
		if routes < 15 {
			t.Fatalf("swept only %d routes", routes)
		}
		if after := snapshot(t, e, b); after != before {
			t.Fatalf("org B changed:\nbefore %s\nafter  %s", before, after)
		}
	})
}

// sweepBody is a body that would be valid for the route in the attacker's
// own org, so that only the tenant check can refuse it.
func sweepBody(method, path string, a org) any {
	switch {
	case method == "GET" || method == "DELETE":
		return nil
	case strings.HasPrefix(path, "/api/v1/users/{id}") && method == "PATCH":
		return map[string]any{"first_name": "Hacked"}
	case strings.HasPrefix(path, "/api/v1/users/{id}/invite-again"):
		return map[string]any{"role": "basic"}
	case strings.HasPrefix(path, "/api/v1/teams"):
		return map[string]any{"name": "Hacked"}
	case strings.HasPrefix(path, "/api/v1/send-as"):
		return map[string]any{"from_name": "Hacked", "from_email": "hacked@a.example", "user_ids": []int64{}}
	case strings.HasSuffix(path, "/redeliver-failed"):
		return map[string]any{"since": "2020-01-01T00:00:00Z"}
	case path == "/api/v1/webhooks/{id}":
		return map[string]any{"description": "Hacked"}
	}
	return nil
}

// snapshot renders org B's users, teams, license, permissions and audit
// trail as one string.
func snapshot(t *testing.T, e *env, b org) string {
	t.Helper()
	var s strings.Builder
	for _, path := range []string{"/api/v1/users?limit=200", "/api/v1/teams", "/api/v1/license", "/api/v1/send-as",
		"/api/v1/audit-events?limit=200", "/api/v1/webhooks"} {
		res := e.do("GET", path, b.ownerToken, nil)
		if res.status != 200 {
			t.Fatalf("snapshot %s: %d %s", path, res.status, res.body)
		}
		s.Write(res.body)
	}
	return s.String()
}

// TestAdminRowsThroughTheAPI runs the §2 rows an Admin shares with the
// Owner, with each one's token: managing Managers and Basic Users, teams,
// the license counter, the user list, Send As and one's own profile.
func TestAdminRowsThroughTheAPI(t *testing.T) {
	runStores(t, func(t *testing.T, e *env) {
		o := e.org
		ownerCtx := muster.NewContext(context.Background(), muster.Principal{UserID: o.owner.ID, OrgID: o.owner.OrgID, Origin: "test"})
		if _, err := e.svc.SetEmailAtScale(ownerCtx, true); err != nil {
			t.Fatal(err)
		}
		for name, token := range map[string]string{"owner": o.ownerToken, "admin": o.adminToken} {
			t.Run(name, func(t *testing.T) {
				var pending, active userBody
				e.invite(token, "basic").want(t, 201).decode(t, &pending)
				e.invite(token, "manager").want(t, 201).decode(t, &active)
				for _, c := range []struct {
					method, path string
					body         any
					want         int
				}{
					{"POST", fmt.Sprintf("/api/v1/users/%d/resend", pending.ID), nil, 200},
					{"PATCH", fmt.Sprintf("/api/v1/users/%d", pending.ID), map[string]any{"role": "manager"}, 200},
					{"POST", fmt.Sprintf("/api/v1/users/%d/withdraw", pending.ID), nil, 204},
					{"POST", fmt.Sprintf("/api/v1/users/%d/deactivate", active.ID), nil, 409}, // still Pending
					{"POST", "/api/v1/teams", map[string]any{"name": "Team of " + name}, 201},
					{"PATCH", fmt.Sprintf("/api/v1/teams/%d", o.defaultTeam), map[string]any{"name": "Renamed"}, 403},
					{"DELETE", fmt.Sprintf("/api/v1/teams/%d", o.defaultTeam), nil, 403},
					{"GET", "/api/v1/license", nil, 200},
					{"POST", "/api/v1/reports", nil, 202},
					{"POST", "/api/v1/send-as", map[string]any{"from_name": "News", "from_email": name + "@news.example",
						"user_ids": []int64{o.manager.ID}}, 201},
					{"GET", "/api/v1/send-as", nil, 200},
					{"GET", "/api/v1/audit-events?limit=5", nil, 200},
					{"GET", "/api/v1/me", nil, 200},
				} {
					if res := e.do(c.method, c.path, token, c.body); res.status != c.want {
						t.Errorf("%s %s: %d %s; want %d", c.method, c.path, res.status, res.body, c.want)
					}
				}
			})
		}
	})
}

// TestSendAsListCounts: the list of Send As permissions says how many users
// hold each, not who, so that a permission granted to every Active user
// does not put their ids in the list once per permission; the permission
// itself still names them.
func TestSendAsListCounts(t *testing.T) {
	runStores(t, func(t *testing.T, e *env) {
		o := e.org
		ownerCtx := muster.NewContext(context.Background(), muster.Principal{UserID: o.owner.ID, OrgID: o.owner.OrgID, Origin: "test"})
		if _, err := e.svc.SetEmailAtScale(ownerCtx, true); err != nil {
			t.Fatal(err)
		}
		holders := []int64{o.admin.ID, o.manager.ID}
		var perm struct{ ID int64 }
		e.do("POST", "/api/v1/send-as", o.ownerToken, map[string]any{"from_name": "News", "from_email": "news@acme.example",
			"user_ids": holders}).want(t, 201).decode(t, &perm)
		e.do("POST", "/api/v1/send-as", o.ownerToken, map[string]any{"from_name": "Nobody", "from_email": "nobody@acme.example"}).want(t, 201)

		var list struct{ Data []map[string]any }
		e.do("GET", "/api/v1/send-as", o.ownerToken, nil).want(t, 200).decode(t, &list)
		counts := map[string]any{}
		for _, p := range list.Data {
			if ids, ok := p["user_ids"]; ok {
				t.Errorf("%v in the list carries user_ids %v", p["from_email"], ids)
			}
			counts[fmt.Sprint(p["from_email"])] = p["user_count"]
		}
		if want := map[string]any{"news@acme.example": float64(2), "nobody@acme.example": float64(0)}; !reflect.DeepEqual(counts, want) {
			t.Errorf("user_count by permission = %v; want %v", counts, want)
		}
		var one struct {
			UserIDs []int64 `json:"user_ids"`
		}
		e.do("GET", fmt.Sprintf("/api/v1/send-as/%d", perm.ID), o.ownerToken, nil).want(t, 200).decode(t, &one)
		if !reflect.DeepEqual(one.UserIDs, holders) {
			t.Errorf("the permission's user_ids = %v; want %v", one.UserIDs, holders)
		}
	})
}
