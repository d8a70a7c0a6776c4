package api_test

// Bad bytes on every endpoint (issue 16), on both stores: the test walks the
// OpenAPI document's paths and operations and, for each parameter and each
// string property of each request body, sends NUL, invalid UTF-8 and, in a
// name, a bidirectional override or a zero-width space, in a request that is
// valid otherwise. Each is a 4xx problem, never a 500 (PostgreSQL's 22021),
// and writes nothing; the same request with good values is then taken, so
// that the refusal is the bad bytes'.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

// badValue is a bad value for a parameter or property.
type badValue struct {
	name string
	// raw is the value; json is how a JSON body carries it (raw bytes
	// inside the quotes, since json.Marshal would repair them).
	raw, json string
}

var (
	textAttacks = []badValue{
		{"NUL", "\x00", `\u0000`}, {"NUL inside", "ab\x00cd", `ab\u0000cd`},
		{"invalid UTF-8", "Bad\xff\xfeName", "Bad\xff\xfeName"}, {"cut UTF-8", "x\xc3", "x\xc3"},
		{"escape", "x\x1b[2J", `x\u001b[2J`},
	}
	nameAttacks = []badValue{{"bidi override", "Evil\u202eeman", `Evil\u202eeman`},
		{"zero-width space", "Default\u200bTeam", `Default\u200bTeam`}}
)

// operation is an endpoint made ready for a request that succeeds: the
// values of its path and query parameters and its body.
type operation struct {
	path  map[string]string
	query url.Values
	body  map[string]any
	// csv, if set, is the body, sent as text/csv (an import's file).
	csv string
	// undo, if set, puts things back after the request with good values.
	undo func()
}

// fixtures are what the operations act on; fresh ones for the operations
// that use them up.
type fixtures struct {
	t      *testing.T
	e      *env
	ctx    context.Context
	seq    int
	report int64 // a finished user-list report
}

func (f *fixtures) unique(prefix string) string { f.seq++; return fmt.Sprintf("%s%d", prefix, f.seq) }

func (f *fixtures) invite(first string) *muster.User {
	f.t.Helper()
	res, err := f.e.svc.Invite(f.ctx, service.InviteInput{FirstName: first, LastName: "Target",
		Email: email(strings.ToLower(first)), Role: muster.RoleBasic, PrimaryTeamID: f.e.org.defaultTeam})
	if err != nil {
		f.t.Fatal(err)
	}
	return res.User
}

func (f *fixtures) team() int64 {
	f.t.Helper()
	team, err := f.e.svc.CreateTeam(f.ctx, f.unique("Team "))
	if err != nil {
		f.t.Fatal(err)
	}
	return team.ID
}

func (f *fixtures) sendAs() int64 {
	f.t.Helper()
	p, err := f.e.svc.CreateSendAs(f.ctx, service.SendAsInput{FromName: "News", FromEmail: f.unique("news") + "@example.com"})
	if err != nil {
		f.t.Fatal(err)
	}
	return p.ID
}

func id(n int64) map[string]string { return map[string]string{"id": fmt.Sprint(n)} }

// operations returns each documented operation ("METHOD /path") ready to
// succeed. A new operation must be added here: the test fails for one it
// does not know.
func (f *fixtures) operations() map[string]func() operation {
	o := f.e.org
	invite := func() map[string]any {
		return map[string]any{"first_name": "Ivy", "last_name": "Invitee", "email": email("ivy"), "role": "basic",
			"primary_team_id": o.defaultTeam, "secondary_team_ids": []int64{}}
	}
	sendAs := func() map[string]any {
		return map[string]any{"from_name": "Support", "from_email": f.unique("support") + "@example.com",
			"reply_to_name": "Help", "reply_to_email": "help@example.com", "user_ids": []int64{o.admin.ID}, "select_all": false}
	}
	ops := map[string]func() operation{
		"GET /api/v1/me": func() operation { return operation{} },
		"GET /api/v1/users": func() operation {
			page, err := f.e.svc.FindUsers(f.ctx, service.UserQuery{Limit: 1})
			if err != nil {
				f.t.Fatal(err)
			}
			return operation{query: url.Values{"q": {"o"}, "status": {"active"}, "role": {"owner"},
				"team_id": {fmt.Sprint(o.defaultTeam)}, "cursor": {page.NextCursor}, "limit": {"10"}}}
		},
		"POST /api/v1/users":                   func() operation { return operation{body: invite()} },
		"GET /api/v1/users/{id}":               func() operation { return operation{path: id(o.manager.ID)} },
		"PATCH /api/v1/users/{id}":             func() operation { return f.patch(f.invite("Pat").ID) },
		"POST /api/v1/users/{id}/resend":       func() operation { return operation{path: id(f.invite("Rex").ID)} },
		"POST /api/v1/users/{id}/withdraw":     func() operation { return operation{path: id(f.invite("Wes").ID)} },
		"POST /api/v1/users/{id}/deactivate":   func() operation { return operation{path: id(f.active("Dee").ID)} },
		"GET /api/v1/users/{id}/invite-again":  func() operation { return operation{path: id(f.deactivated().ID)} },
		"POST /api/v1/users/{id}/invite-again": func() operation { return f.patch(f.deactivated().ID) },
		"GET /api/v1/teams": func() operation {
			page, err := f.e.svc.Teams(f.ctx, service.TeamListQuery{Limit: 1})
			if err != nil {
				f.t.Fatal(err)
			}
			return operation{query: url.Values{"q": {"e"}, "cursor": {page.NextCursor}, "limit": {"10"}}}
		},
		"POST /api/v1/teams":     func() operation { return operation{body: map[string]any{"name": f.unique("Team ")}} },
		"GET /api/v1/teams/{id}": func() operation { return operation{path: id(o.defaultTeam)} },
		"PATCH /api/v1/teams/{id}": func() operation {
			return operation{path: id(f.team()), body: map[string]any{"name": f.unique("Team ")}}
		},
		"DELETE /api/v1/teams/{id}":         func() operation { return operation{path: id(f.team())} },
		"GET /api/v1/license":               func() operation { return operation{} },
		"PUT /api/v1/license":               func() operation { return operation{body: map[string]any{"total": 10_000}} },
		"GET /api/v1/send-as":               func() operation { return operation{} },
		"POST /api/v1/send-as":              func() operation { return operation{body: sendAs()} },
		"GET /api/v1/send-as/{id}":          func() operation { return operation{path: id(f.sendAs())} },
		"PUT /api/v1/send-as/{id}":          func() operation { return operation{path: id(f.sendAs()), body: sendAs()} },
		"DELETE /api/v1/send-as/{id}":       func() operation { return operation{path: id(f.sendAs())} },
		"POST /api/v1/reports":              func() operation { return operation{} },
		"GET /api/v1/reports/{id}":          func() operation { return operation{path: id(f.report)} },
		"GET /api/v1/reports/{id}/download": func() operation { return operation{path: id(f.report)} },
		"GET /api/v1/openapi.json":          func() operation { return operation{} },
		"POST /api/v1/ownership-transfers": func() operation {
			admin := f.activeAs("Ann", muster.RoleAdmin)
			return operation{body: map[string]any{"user_id": admin.ID, "password": "a long enough secret"}, undo: func() {
				// The Owner's token acts for the Owner in the next operations.
				ctx := muster.NewContext(context.Background(), muster.Principal{UserID: admin.ID, OrgID: admin.OrgID, Origin: "test"})
				if _, err := f.e.svc.TransferOwnership(ctx, o.owner.ID, "a long enough secret"); err != nil {
					f.t.Fatal(err)
				}
			}}
		},
		"GET /api/v1/audit-events": func() operation {
			return operation{query: url.Values{"actor_id": {fmt.Sprint(o.owner.ID)}, "target_type": {"user"},
				"target_id": {fmt.Sprint(o.admin.ID)}, "action": {"user.invited"}, "since": {"2020-01-01T00:00:00Z"},
				"until": {"2100-01-01T00:00:00Z"}, "cursor": {"999999999"}, "limit": {"10"}}}
		},
	}
	maps.Copy(ops, f.webhookOperations())
	maps.Copy(ops, f.importOperations())
	return ops
}

func (f *fixtures) patch(userID int64) operation {
	return operation{path: id(userID), body: map[string]any{"first_name": "Pat", "last_name": "Patched", "role": "basic",
		"primary_team_id": f.e.org.defaultTeam, "secondary_team_ids": []int64{}}}
}

// active is a Basic user who accepted their invitation.
func (f *fixtures) active(first string) *muster.User { return f.activeAs(first, muster.RoleBasic) }

func (f *fixtures) activeAs(first string, role muster.Role) *muster.User {
	f.t.Helper()
	res, err := f.e.svc.Invite(f.ctx, service.InviteInput{FirstName: first, LastName: "Target",
		Email: email(strings.ToLower(first)), Role: role, PrimaryTeamID: f.e.org.defaultTeam})
	if err != nil {
		f.t.Fatal(err)
	}
	return f.e.accept(res.Link)
}

func (f *fixtures) deactivated() *muster.User {
	f.t.Helper()
	u := f.active("Gus")
	if _, err := f.e.svc.Deactivate(f.ctx, u.ID); err != nil {
		f.t.Fatal(err)
	}
	return u
}

// request is one request of the walk: the operation with at most one
// value replaced.
type request struct {
	method, pattern string
	op              operation
	header          http.Header
	rawBody         []byte // the body, when not op.body
}

// send serves the request in process (so that a header may hold NUL,
// which Go's client refuses to send) and checks the answer against the
// document.
func (e *env) send(token string, rq request) *response {
	e.t.Helper()
	target := rq.pattern
	for name, v := range rq.op.path {
		target = strings.ReplaceAll(target, "{"+name+"}", v)
	}
	if len(rq.op.query) > 0 {
		target += "?" + rq.op.query.Encode()
	}
	body := rq.rawBody
	if body == nil && rq.op.body != nil {
		var err error
		if body, err = json.Marshal(rq.op.body); err != nil {
			e.t.Fatal(err)
		}
	}
	req, err := http.NewRequest(rq.method, e.srv.URL+target, bytes.NewReader(body))
	if err != nil {
		e.t.Fatalf("%s %s: %v", rq.method, target, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if body == nil && rq.op.csv != "" {
		req, err = http.NewRequest(rq.method, e.srv.URL+target, strings.NewReader(rq.op.csv))
		if err != nil {
			e.t.Fatal(err)
		}
		req.Header.Set("Content-Type", "text/csv")
	}
	req.Header.Set("Authorization", "Bearer "+token)
	for k, v := range rq.header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	e.srv.Config.Handler.ServeHTTP(rec, req)
	res := rec.Result()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, _, err := e.router.FindRoute(req); err == nil {
		e.validate(req, res, b)
	}
	return &response{method: rq.method, path: target, status: res.StatusCode, header: res.Header, body: b}
}

// withJSON returns body as JSON with the property prop holding v.json, raw.
func withJSON(t *testing.T, body map[string]any, prop string, v badValue) []byte {
	t.Helper()
	const marker = "\u2603marker\u2603"
	b := map[string]any{}
	for k, x := range body {
		b[k] = x
	}
	b[prop] = marker
	j, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Replace(j, []byte(marker), []byte(v.json), 1)
}

func TestBadBytesOnEveryEndpoint(t *testing.T) {
	runStores(t, func(t *testing.T, e *env) {
		o := e.org
		ctx := muster.NewContext(context.Background(), muster.Principal{UserID: o.owner.ID, OrgID: o.owner.OrgID, Origin: "test"})
		if _, err := e.svc.SetEmailAtScale(ctx, true); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.SetLicenseTotal(ctx, 10_000, 0); err != nil {
			t.Fatal(err)
		}
		f := &fixtures{t: t, e: e, ctx: ctx}
		rep, err := e.svc.RequestUserList(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if ran, err := e.svc.RunNextReport(context.Background()); err != nil || !ran {
			t.Fatalf("RunNextReport = %v, %v", ran, err)
		}
		f.report = rep.ID
		ops := f.operations()
		newest := func() int64 {
			t.Helper()
			page, err := e.svc.FindAuditEvents(ctx, service.AuditQuery{Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			return page.Events[0].ID
		}
		// refused sends rq and requires a problem with a 4xx status (want,
		// if given) and no change.
		refused := func(what string, rq request, want ...int) *response {
			t.Helper()
			before := newest()
			res := e.send(o.ownerToken, rq)
			if res.status < 400 || res.status > 499 || (len(want) > 0 && !slices.Contains(want, res.status)) {
				t.Errorf("%s %s with %s: %d %s; want a refusal %v", rq.method, rq.pattern, what, res.status, res.body, want)
			} else if ct := res.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("%s %s with %s: Content-Type %q; want a problem", rq.method, rq.pattern, what, ct)
			}
			if after := newest(); after != before {
				t.Errorf("%s %s with %s wrote audit event %d", rq.method, rq.pattern, what, after)
			}
			return res
		}

		paths := document.Paths.Map()
		for _, pattern := range slices.Sorted(func(yield func(string) bool) {
			for p := range paths {
				if !yield(p) {
					return
				}
			}
		}) {
			item := paths[pattern]
			for _, method := range slices.Sorted(func(yield func(string) bool) {
				for m := range item.Operations() {
					if !yield(m) {
						return
					}
				}
			}) {
				key := method + " " + pattern
				ready, ok := ops[key]
				if !ok {
					t.Errorf("%s is documented but this test has no request for it: add one to operations", key)
					continue
				}
				op := item.Operations()[method]
				params := append(slices.Clone(item.Parameters), op.Parameters...)
				for _, pr := range params {
					p := pr.Value
					for _, v := range textAttacks {
						rq := request{method: method, pattern: pattern, op: ready()}
						what := fmt.Sprintf("%s in the %s parameter %s", v.name, p.In, p.Name)
						switch p.In {
						case openapi3.ParameterInPath:
							rq.op.path[p.Name] = url.PathEscape(v.raw)
							refused(what, rq, http.StatusNotFound)
						case openapi3.ParameterInQuery:
							rq.op.query.Set(p.Name, v.raw)
							res := refused(what, rq, http.StatusBadRequest)
							if !strings.Contains(string(res.body), p.Name) {
								t.Errorf("%s %s with %s: %s does not name the parameter", method, pattern, what, res.body)
							}
						case openapi3.ParameterInHeader:
							rq.header = http.Header{p.Name: {v.raw}}
							refused(what, rq)
						default:
							t.Errorf("%s: parameter %s in %s: the test does not know where to put it", key, p.Name, p.In)
						}
					}
				}
				if op.RequestBody != nil && op.RequestBody.Value.Content.Get("application/json") != nil {
					schema := op.RequestBody.Value.Content.Get("application/json").Schema.Value
					for _, prop := range slices.Sorted(func(yield func(string) bool) {
						for p := range schema.Properties {
							if !yield(p) {
								return
							}
						}
					}) {
						if !schema.Properties[prop].Value.Type.Is(openapi3.TypeString) {
							continue
						}
						attacks := textAttacks
						if strings.HasSuffix(prop, "name") {
							attacks = append(slices.Clone(attacks), nameAttacks...)
						}
						for _, v := range attacks {
							rq := request{method: method, pattern: pattern, op: ready()}
							rq.rawBody = withJSON(t, rq.op.body, prop, v)
							what := fmt.Sprintf("%s in the property %s", v.name, prop)
							res := refused(what, rq, http.StatusUnprocessableEntity)
							var p struct {
								Errors []struct{ Field string }
							}
							if err := json.Unmarshal(res.body, &p); err != nil || len(p.Errors) == 0 || p.Errors[0].Field != prop {
								t.Errorf("%s %s with %s: %s; want errors[].field %q", method, pattern, what, res.body, prop)
							}
						}
					}
				}
				// The same request with good values is taken.
				if pattern == "/api/v1/openapi.json" {
					continue
				}
				good := ready()
				if res := e.send(o.ownerToken, request{method: method, pattern: pattern, op: good}); res.status >= 300 {
					t.Errorf("%s with good values: %d %s; want it taken", key, res.status, res.body)
				}
				if good.undo != nil {
					good.undo()
				}
			}
		}

		// The requests, as sent.
		for _, target := range []string{"/api/v1/users?q=%00", "/api/v1/users?q=ab%00cd", "/api/v1/audit-events?action=%00"} {
			if res := e.do("GET", target, o.ownerToken, nil); res.status != http.StatusBadRequest {
				t.Errorf("GET %s: %d %s; want 400", target, res.status, res.body)
			}
		}
		for _, target := range []string{"/api/v1/users?cursor=MToA_w", "/api/v1/users?cursor=MTr_",
			"/api/v1/teams?cursor=eyJrIjoiYVx1MDAwMGIifQ"} { // {"k":"a\u0000b"}
			if res := e.do("GET", target, o.ownerToken, nil); res.status != http.StatusUnprocessableEntity {
				t.Errorf("GET %s: %d %s; want 422", target, res.status, res.body)
			}
		}
	})
}

// importFile is a file of one new person.
func (f *fixtures) importFile() string {
	return "Email,First Name,Last Name\n" + email(f.unique("imp")) + ",Imp,Orter\n"
}

// imported is a dry run of the Owner's.
func (f *fixtures) imported() int64 {
	f.t.Helper()
	p, err := f.e.svc.PlanImport(f.ctx, service.ImportInput{File: strings.NewReader(f.importFile())})
	if err != nil {
		f.t.Fatal(err)
	}
	return p.ID
}

func (f *fixtures) importOperations() map[string]func() operation {
	return map[string]func() operation{
		"POST /api/v1/imports": func() operation {
			return operation{query: url.Values{"dry_run": {"true"}, "create_teams": {"false"}, "file_name": {"people.csv"}},
				csv: f.importFile()}
		},
		"GET /api/v1/imports/template.csv":    func() operation { return operation{} },
		"GET /api/v1/imports/{id}":            func() operation { return operation{path: id(f.imported()), query: url.Values{"rows": {"true"}}} },
		"POST /api/v1/imports/{id}/commit":    func() operation { return operation{path: id(f.imported())} },
		"GET /api/v1/imports/{id}/errors.csv": func() operation { return operation{path: id(f.imported())} },
		"GET /api/v1/imports/{id}/failures":   func() operation { return operation{path: id(f.imported())} },
	}
}
