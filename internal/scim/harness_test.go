package scim_test

// The SCIM tests' harness: an org on a real store, served by the real web
// server with SCIM and the API mounted, on a real HTTP listener, and a
// client that speaks SCIM with the org's token as an identity provider
// would.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/api"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/scim"
	"github.com/muster-app/muster/internal/secret"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport"
	"github.com/muster-app/muster/internal/web"
)

// ownerPassword is the password every test org's Owner signs in with.
const ownerPassword = "owner's long password"

// org is an organization with an Active Owner and a SCIM token, served on
// a real HTTP server.
type org struct {
	t        *testing.T
	db       *sqlstore.DB
	svc      *service.Service
	srv      *httptest.Server
	log      *testsupport.Buffer
	org      *muster.Org
	owner    *muster.User
	ownerCtx context.Context
	// token is the org's SCIM token, which idp sends.
	token   string
	tokenID int64
	idp     *client
}

var seq atomic.Int64

// email returns an email no other test uses, so that tests sharing a
// PostgreSQL database never collide.
func email(name string) string {
	return fmt.Sprintf("%s.%d.%d@example.com", strings.ToLower(name), time.Now().UnixNano()%1e6, seq.Add(1))
}

// serve starts a server for svc: the console with SCIM and the API.
func serve(t *testing.T, svc *service.Service, db *sqlstore.DB, log io.Writer) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	base := "http://" + srv.Listener.Addr().String()
	logger := slog.New(slog.NewJSONHandler(log, nil))
	h, err := web.New(web.Config{Service: svc, DB: db, Log: logger, BaseURL: base, Mailbox: true,
		API: api.New(svc, logger), SCIM: scim.New(svc, logger, base)})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

func newService(db *sqlstore.DB) *service.Service {
	const base = "https://muster.example.com"
	return service.New(db, service.Config{BaseURL: base, Links: web.NewLinks(base), PasswordParams: secret.TestParams})
}

// newOrg creates an org of licenses seats, whose Owner has set their
// password, with a SCIM token, on db.
func newOrg(t *testing.T, db *sqlstore.DB, licenses int) *org {
	t.Helper()
	o := &org{t: t, db: db, svc: newService(db), log: &testsupport.Buffer{}}
	o.srv = serve(t, o.svc, db, o.log)
	o.create(licenses)
	return o
}

// create creates the org, its Owner and its SCIM token through o.svc.
func (o *org) create(licenses int) {
	t := o.t
	t.Helper()
	ctx := muster.NewContext(context.Background(), muster.Principal{Origin: "test"})
	res, err := o.svc.CreateOrg(ctx, service.NewOrg{Name: "Acme", LicenseTotal: licenses, OwnerEmail: email("olive"),
		OwnerFirstName: "Olive", OwnerLastName: "Owner"})
	if err != nil {
		t.Fatal(err)
	}
	o.org = res.Org
	in, err := o.svc.AcceptInvitation(context.Background(), res.SetupURL[strings.LastIndex(res.SetupURL, "/")+1:],
		ownerPassword, service.Client{IP: "192.0.2.1", Origin: "test"})
	if err != nil {
		t.Fatal(err)
	}
	o.owner = in.User
	o.ownerCtx = muster.NewContext(context.Background(), muster.Principal{UserID: o.owner.ID, OrgID: o.org.ID, Origin: "test"})
	tok, err := o.svc.CreateSCIMToken(o.ownerCtx, "Okta")
	if err != nil {
		t.Fatal(err)
	}
	o.token, o.tokenID = tok.Secret, tok.Token.ID
	o.idp = &client{t: t, base: o.srv.URL + "/scim/v2", token: o.token}
}

// defaultTeam is the org's Default Team.
func (o *org) defaultTeam() *muster.Team {
	o.t.Helper()
	listed, err := o.svc.Teams(o.ownerCtx, service.TeamListQuery{})
	if err != nil {
		o.t.Fatal(err)
	}
	teams := listed.Teams
	return teams[0]
}

// user reads a user as the Owner sees them in the console.
func (o *org) user(id string) *muster.User {
	o.t.Helper()
	var n int64
	fmt.Sscan(id, &n)
	u, err := o.svc.FindUser(o.ownerCtx, n)
	if err != nil {
		o.t.Fatalf("the console does not find user %s: %v", id, err)
	}
	return u
}

// seats returns the org's used seats.
func (o *org) seats() int {
	o.t.Helper()
	org, err := o.svc.LicenseUsage(o.ownerCtx)
	if err != nil {
		o.t.Fatal(err)
	}
	return org.SeatsUsed
}

// client is an identity provider's HTTP client for SCIM.
type client struct {
	t     *testing.T
	base  string // the SCIM base URL
	token string
}

// response is a SCIM answer read in full.
type response struct {
	t      *testing.T
	req    string
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

// do sends a request with body (a JSON value or a string sent as it is)
// and the token, and reads the answer; header adds to the request's.
func (c *client) do(method, path string, body any, header ...string) *response {
	c.t.Helper()
	pairs := []string{"Authorization", "", "Content-Type", ""}
	if c.token != "" {
		pairs[1] = "Bearer " + c.token
	}
	if body != nil {
		pairs[3] = scim.ContentType
	}
	res, raw := testsupport.Do(c.t, method, c.base+path, body, append(pairs, header...)...)
	r := &response{t: c.t, req: method + " " + path, status: res.StatusCode, header: res.Header, raw: raw}
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			c.t.Fatalf("%s: %d answered with a body that is not a JSON object: %v\n%s", r.req, r.status, err, raw)
		}
		if ct := res.Header.Get("Content-Type"); ct != scim.ContentType {
			c.t.Fatalf("%s: Content-Type %q; want %q", r.req, ct, scim.ContentType)
		}
	}
	return r
}

func (c *client) get(path string) *response { return c.do("GET", path, nil) }

// in returns the client for the (sub)test t, which its failures end.
func (c *client) in(t *testing.T) *client {
	cc := *c
	cc.t = t
	return &cc
}

// want checks the status and returns r.
func (r *response) want(status int) *response {
	r.t.Helper()
	if r.status != status {
		r.t.Fatalf("%s: status %d; want %d\n%s", r.req, r.status, status, r.raw)
	}
	return r
}

// wantError checks that r is a SCIM error with status and scimType ("" for
// none) whose detail says each of the texts.
func (r *response) wantError(status int, scimType string, texts ...string) *response {
	r.t.Helper()
	r.want(status)
	if s := r.str("status"); s != fmt.Sprint(status) {
		r.t.Fatalf("%s: error status %q; want the string %q\n%s", r.req, s, fmt.Sprint(status), r.raw)
	}
	if _, isString := r.body["status"].(string); !isString {
		r.t.Fatalf("%s: the error's status is not a string\n%s", r.req, r.raw)
	}
	if !r.hasSchema(scim.MessageError) {
		r.t.Fatalf("%s: the error lacks the Error schema\n%s", r.req, r.raw)
	}
	if got := r.str("scimType"); got != scimType {
		r.t.Fatalf("%s: scimType %q; want %q\n%s", r.req, got, scimType, r.raw)
	}
	for _, s := range texts {
		if !strings.Contains(r.str("detail"), s) {
			r.t.Fatalf("%s: detail %q lacks %q", r.req, r.str("detail"), s)
		}
	}
	return r
}

func (r *response) hasSchema(schema string) bool {
	list, _ := r.body["schemas"].([]any)
	for _, s := range list {
		if s == schema {
			return true
		}
	}
	return false
}

// get returns the value at a path of keys and list indexes
// ("name.givenName", "Resources.0.id").
func (r *response) get(path string) any {
	return lookup(r.body, path)
}

func lookup(v any, path string) any {
	for path != "" {
		switch x := v.(type) {
		case map[string]any:
			// The longest key the path starts with: a schema's URN holds
			// dots ("…:2.0:User.primaryTeam").
			key := ""
			for k := range x {
				if (path == k || strings.HasPrefix(path, k+".")) && len(k) > len(key) {
					key = k
				}
			}
			if key == "" {
				return nil
			}
			v, path = x[key], strings.TrimPrefix(strings.TrimPrefix(path, key), ".")
		case []any:
			head, rest, _ := strings.Cut(path, ".")
			var i int
			if _, err := fmt.Sscan(head, &i); err != nil || i >= len(x) {
				return nil
			}
			v, path = x[i], rest
		default:
			return nil
		}
	}
	return v
}

// str returns the string at path ("" if there is none).
func (r *response) str(path string) string {
	s, _ := r.get(path).(string)
	return s
}

// num returns the number at path, checking it is a JSON number.
func (r *response) num(path string) int {
	r.t.Helper()
	f, ok := r.get(path).(float64)
	if !ok {
		r.t.Fatalf("%s: %s is %#v, not a number\n%s", r.req, path, r.get(path), r.raw)
	}
	return int(f)
}

// resources returns a ListResponse's Resources, checking it is a list.
func (r *response) resources() []any {
	r.t.Helper()
	list, ok := r.body["Resources"].([]any)
	if !ok {
		r.t.Fatalf("%s: Resources is %#v, not a list\n%s", r.req, r.body["Resources"], r.raw)
	}
	return list
}

// wantEqual checks that the value at path is want.
func (r *response) wantEqual(path string, want any) *response {
	r.t.Helper()
	got := r.get(path)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		r.t.Fatalf("%s: %s = %#v; want %#v\n%s", r.req, path, got, want, r.raw)
	}
	return r
}

// newUser is the body of a POST /Users as Okta sends it.
func newUser(userName, given, family string) map[string]any {
	return map[string]any{
		"schemas":  []string{scim.SchemaUser},
		"userName": userName,
		"name":     map[string]any{"givenName": given, "familyName": family},
		"emails":   []any{map[string]any{"primary": true, "value": userName, "type": "work"}},
		"active":   true,
		"groups":   []any{},
	}
}

// patch is a PatchOp body of ops.
func patch(ops ...map[string]any) map[string]any {
	return map[string]any{"schemas": []string{scim.MessagePatch}, "Operations": ops}
}

// op is one PATCH operation; value is left out when nil and path when "".
func op(name, path string, value any) map[string]any {
	o := map[string]any{"op": name}
	if path != "" {
		o["path"] = path
	}
	if value != nil {
		o["value"] = value
	}
	return o
}

// auditTrail lists the org's audit events of action, newest first.
func (o *org) auditTrail(action string) []*muster.AuditEvent {
	o.t.Helper()
	page, err := o.svc.FindAuditEvents(o.ownerCtx, service.AuditQuery{Action: action, Limit: 200})
	if err != nil {
		o.t.Fatal(err)
	}
	return page.Events
}

func serviceClient() service.Client {
	return service.Client{IP: "192.0.2.9", UserAgent: "test", Origin: "web 192.0.2.9"}
}

var timeZero time.Time

// scimCtx is a context in which the org's SCIM token acts, as the SCIM
// server makes it once the token is authenticated.
func (o *org) scimCtx() context.Context {
	return muster.NewContext(context.Background(), muster.Principal{OrgID: o.org.ID, SCIMTokenID: o.tokenID,
		Origin: muster.SCIMOrigin(o.tokenID)})
}

// doRaw sends a request with the token and returns the status alone, for
// answers that are not SCIM's.
func (c *client) doRaw(method, path string) int {
	c.t.Helper()
	res, _ := testsupport.Do(c.t, method, c.base+path, nil, "Authorization", "Bearer "+c.token)
	return res.StatusCode
}

// id is how SCIM writes an id.
func id(n int64) string { return strconv.FormatInt(n, 10) }
