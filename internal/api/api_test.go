package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/muster-app/muster/internal/api"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/secret"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport"
	"github.com/muster-app/muster/internal/testsupport/storetest"
	"github.com/muster-app/muster/internal/web"
	"github.com/muster-app/muster/internal/webhook"
)

var seq atomic.Int64

func email(name string) string { return fmt.Sprintf("%s.%d@example.com", name, seq.Add(1)) }

// env is a running API over a real store, with one org's users and tokens.
type env struct {
	t      *testing.T
	db     *sqlstore.DB
	svc    *service.Service
	srv    *httptest.Server
	router routers.Router
	org    org
}

type org struct {
	owner, admin, manager  *muster.User
	ownerToken, adminToken string
	defaultTeam            int64
}

var document = func() *openapi3.T {
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		panic(err)
	}
	return doc
}()

func newEnv(t *testing.T, db *sqlstore.DB, edit ...func(*service.Config)) *env {
	t.Helper()
	cfg := service.Config{BaseURL: "https://muster.example.com", Links: web.NewLinks("https://muster.example.com"), PasswordParams: secret.TestParams}
	cfg.SecretBox, cfg.WebhooksAllowPrivate = testsupport.SecretBox(t), true // webhook endpoints on the tests' loopback receivers
	cfg.Webhooks = webhook.NewClient(webhook.Options{AllowPrivate: true})
	for _, f := range edit {
		f(&cfg)
	}
	svc := service.New(db, cfg)
	srv := httptest.NewServer(api.New(svc, slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	doc := *document
	doc.Servers = openapi3.Servers{{URL: srv.URL}}
	router, err := gorillamux.NewRouter(&doc)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, svc: svc, srv: srv, router: router}
	e.org = e.newOrg()
	return e
}

// newOrg creates an org with an Active Owner, Admin and Manager and API
// tokens for the Owner and the Admin.
func (e *env) newOrg() org {
	e.t.Helper()
	ctx := muster.NewContext(context.Background(), muster.Principal{Origin: "test"})
	setup, err := e.svc.CreateOrg(ctx, service.NewOrg{Name: "Acme", LicenseTotal: 20, OwnerEmail: email("owner"),
		OwnerFirstName: "Olive", OwnerLastName: "Owner"})
	if err != nil {
		e.t.Fatal(err)
	}
	var o org
	o.owner = e.accept(setup.SetupURL)
	as := func(u *muster.User) context.Context {
		return muster.NewContext(context.Background(), muster.Principal{UserID: u.ID, OrgID: u.OrgID, Origin: "test"})
	}
	listed, err := e.svc.Teams(as(o.owner), service.TeamListQuery{})
	if err != nil {
		e.t.Fatal(err)
	}
	teams := listed.Teams
	o.defaultTeam = teams[0].ID
	invite := func(first string, role muster.Role) *muster.User {
		res, err := e.svc.Invite(as(o.owner), service.InviteInput{FirstName: first, LastName: "Test", Email: email(first),
			Role: role, PrimaryTeamID: o.defaultTeam})
		if err != nil {
			e.t.Fatal(err)
		}
		return e.accept(res.Link)
	}
	o.admin = invite("ada", muster.RoleAdmin)
	o.manager = invite("max", muster.RoleManager)
	for _, p := range []struct {
		u   *muster.User
		tok *string
	}{{o.owner, &o.ownerToken}, {o.admin, &o.adminToken}} {
		tok, err := e.svc.CreateAPIToken(as(p.u), "test", time.Time{})
		if err != nil {
			e.t.Fatal(err)
		}
		*p.tok = tok.Secret
	}
	return o
}

func (e *env) accept(link string) *muster.User {
	e.t.Helper()
	in, err := e.svc.AcceptInvitation(context.Background(), link[strings.LastIndex(link, "/")+1:],
		"a long enough secret", service.Client{IP: "192.0.2.1", Origin: "web " + "192.0.2.1"})
	if err != nil {
		e.t.Fatal(err)
	}
	return in.User
}

// response is an API answer, already checked against the OpenAPI document.
type response struct {
	method, path string // the request's
	status       int
	header       http.Header
	body         []byte
}

// want fails the test unless the answer has status; it returns r.
func (r *response) want(t *testing.T, status int) *response {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s %s: %d %s; want %d", r.method, r.path, r.status, r.body, status)
	}
	return r
}

func (r *response) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.body, err)
	}
}

func (r *response) problemCode(t *testing.T) string {
	t.Helper()
	var p struct{ Code string }
	r.decode(t, &p)
	return p.Code
}

// do sends a request with token and validates the response against the
// OpenAPI document.
func (e *env) do(method, path, token string, body any, header ...string) *response {
	e.t.Helper()
	pairs := []string{"Content-Type", "", "Authorization", ""}
	if body != nil {
		pairs[1] = "application/json"
	}
	if token != "" {
		pairs[3] = "Bearer " + token
	}
	res, b := testsupport.Do(e.t, method, e.srv.URL+path, body, append(pairs, header...)...)
	e.validate(res.Request, res, b)
	return &response{method: method, path: path, status: res.StatusCode, header: res.Header, body: b}
}

// validate checks a response against the document: its route exists and
// its body matches the schema for its status.
func (e *env) validate(req *http.Request, res *http.Response, body []byte) {
	e.t.Helper()
	route, params, err := e.router.FindRoute(req)
	if err != nil {
		e.t.Fatalf("%s %s is not in the OpenAPI document: %v", req.Method, req.URL.Path, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}},
		Status: res.StatusCode, Header: res.Header, Body: io.NopCloser(bytes.NewReader(body)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		e.t.Fatalf("%s %s → %d does not match the OpenAPI document: %v\n%s", req.Method, req.URL.Path, res.StatusCode, err, body)
	}
	e.checkErrorFields(route.Operation, req, body)
}

// checkErrorFields fails the test if a problem names in errors[].field
// something that is not a property of the operation's request body, which
// is what a client would look for (the service names fields once, as the
// API's JSON does).
func (e *env) checkErrorFields(op *openapi3.Operation, req *http.Request, body []byte) {
	e.t.Helper()
	var p struct{ Errors []struct{ Field string } }
	if json.Unmarshal(body, &p) != nil || len(p.Errors) == 0 {
		return
	}
	var props openapi3.Schemas
	if op.RequestBody != nil {
		if mt := op.RequestBody.Value.Content.Get("application/json"); mt != nil {
			props = mt.Schema.Value.Properties
		}
	}
	for _, f := range p.Errors {
		if _, ok := props[f.Field]; !ok {
			e.t.Errorf("%s %s: errors[].field %q is not a property of the request body (%v)", req.Method,
				req.URL.Path, f.Field, slices.Sorted(maps.Keys(props)))
		}
	}
}

func runStores(t *testing.T, fn func(t *testing.T, e *env)) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) { fn(t, newEnv(t, db)) })
}

func TestDocumentIsValid(t *testing.T) {
	if err := document.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestEveryRouteIsDocumented compares the server's routes with the document
// both ways.
func TestEveryRouteIsDocumented(t *testing.T) {
	documented := map[string]bool{}
	for path, item := range document.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	served := map[string]bool{}
	for _, r := range api.New(nil, nil).Routes() {
		served[r] = true
		if !documented[r] {
			t.Errorf("route %s is served but not in openapi.json", r)
		}
	}
	for r := range documented {
		if !served[r] {
			t.Errorf("route %s is in openapi.json but not served", r)
		}
	}
}
