package web_test

// The web tests' harness: env, a server on a fresh store with its log kept
// and its mail left in the mailbox; site, a server whose mail goes to a
// real SMTP server, with a settable clock and helpers that set up an org;
// client, one person's HTTP client for either; and the checks of the pages
// they get.

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/mail"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/secret"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/sso"
	"github.com/muster-app/muster/internal/store/sqlite"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport"
	"github.com/muster-app/muster/internal/testsupport/benchseed"
	"github.com/muster-app/muster/internal/testsupport/dnstest"
	"github.com/muster-app/muster/internal/testsupport/mailtest"
	"github.com/muster-app/muster/internal/testsupport/storetest"
	"github.com/muster-app/muster/internal/web"
	"github.com/muster-app/muster/internal/webhook"
	"github.com/muster-app/muster/internal/worker"
)

// baseURL is env's base URL, which its emails and set-up links start with.
const baseURL = "https://muster.example.com"

// env is a web server on a fresh SQLite store, with no SMTP server (mail
// stays in the mailbox), its log kept, and a client without cookies.
type env struct {
	*client
	db  *sqlstore.DB
	log *testsupport.Buffer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvWith(t, nil)
}

// newEnvWith builds the server; pinger, if set, replaces the store for
// /readyz.
func newEnvWith(t *testing.T, pinger web.Pinger) *env {
	t.Helper()
	db := storetest.OpenSQLite(t)
	e := &env{db: db, log: &testsupport.Buffer{}}
	if pinger == nil {
		pinger = db
	}
	s, err := web.New(web.Config{
		Service: service.New(db, service.Config{BaseURL: baseURL, Links: web.NewLinks(baseURL)}),
		DB:      pinger,
		Log:     slog.New(slog.NewJSONHandler(e.log, nil)),
		Mailbox: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	e.client = newClient(t, srv.URL, nil)
	return e
}

func (e *env) orgCount() int {
	e.t.Helper()
	var n int
	err := e.db.View(context.Background(), func(tx muster.Tx) error {
		var err error
		n, err = tx.CountOrgs(context.Background())
		return err
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// site is a web server with real SMTP delivery and a settable clock.
type site struct {
	t *testing.T
	// ownerEmail is the email of the Owner org made, who signs in with
	// ownerPassword.
	ownerEmail string
	db         *sqlstore.DB
	svc        *service.Service
	srv        *httptest.Server
	smtp       *mailtest.Server
	sender     *worker.MailSender
	now        atomic.Int64
	// dns answers the service's TXT lookups (domain verification).
	dns *dnstest.Zone
}

const ownerPassword = "owner's long password"

// newSite starts the site; each of opts may change the web server's
// configuration first.
func newSite(t *testing.T, opts ...func(*web.Config)) *site {
	t.Helper()
	return newSiteOn(t, storetest.OpenSQLite(t), opts...)
}

// newSiteMailbox is newSite whose console says that no SMTP server is set
// up (mail is still delivered to the test's SMTP server, so that tests can
// follow its links).
func newSiteMailbox(t *testing.T) *site {
	t.Helper()
	return newSite(t, func(c *web.Config) { c.Mailbox = true })
}

// newSiteOn is newSite on db, for tests that run on both stores.
func newSiteOn(t *testing.T, db *sqlstore.DB, opts ...func(*web.Config)) *site {
	t.Helper()
	return newSiteAt(t, db, func(srvURL string) string { return srvURL }, opts...)
}

// newSiteAt is newSiteOn whose base URL is baseURL of the server's own
// (http://127.0.0.1:port): passkeys need a host name, such as localhost.
// Emailed links still lead to the server's own URL.
func newSiteAt(t *testing.T, db *sqlstore.DB, baseURL func(srvURL string) string, opts ...func(*web.Config)) *site {
	t.Helper()
	s := &site{t: t, db: db, smtp: mailtest.Start(t), dns: dnstest.StartTXT(t)}
	s.now.Store(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC).UnixMicro())
	clock := func() time.Time { return time.UnixMicro(s.now.Load()) }
	s.srv = httptest.NewUnstartedServer(nil)
	s.srv.Start()
	t.Cleanup(s.srv.Close)
	base := baseURL(s.srv.URL)
	s.svc = service.New(s.db, service.Config{BaseURL: base, Links: web.NewLinks(s.srv.URL), Now: clock, PasswordParams: secret.TestParams,
		SecretBox: testsupport.SecretBox(t), WebhooksAllowPrivate: true, Webhooks: webhook.NewClient(webhook.Options{AllowPrivate: true}),
		Resolver: sso.NewResolver(s.dns.Addr)})
	cfg := web.Config{Service: s.svc, DB: s.db, Log: slog.New(slog.DiscardHandler), BaseURL: base,
		Region: "us", Regions: []web.RegionLink{{Code: "eu", URL: "https://eu.muster.example"}}}
	for _, o := range opts {
		o(&cfg)
	}
	h, err := web.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.srv.Config.Handler = h
	transport, err := mail.NewSMTP(s.smtp.URL(), "muster@example.com")
	if err != nil {
		t.Fatal(err)
	}
	s.sender = &worker.MailSender{Store: s.db, Transport: transport, Now: clock, Log: slog.New(slog.DiscardHandler)}
	return s
}

func (s *site) advance(d time.Duration) { s.now.Add(d.Microseconds()) }

// deliver sends what the outbox holds and returns the newest email to rcpt.
func (s *site) deliver(rcpt string) *mailtest.Message {
	s.t.Helper()
	for {
		n, err := s.sender.SendDue(context.Background())
		if err != nil {
			s.t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	m := s.smtp.LastTo(rcpt)
	if m == nil {
		s.t.Fatalf("no email to %s", rcpt)
	}
	return m
}

// org creates the org Acme whose Owner, Olive Owner, sets ownerPassword
// through the emailed set-up link.
func (s *site) org() (owner *muster.User, ownerCtx context.Context) {
	s.t.Helper()
	s.ownerEmail = fmt.Sprintf("owner%d@example.com", time.Now().UnixNano())
	owner, _ = s.createOrg("Acme", "Olive", "Owner", s.ownerEmail, ownerPassword)
	return owner, muster.NewContext(context.Background(), muster.Principal{UserID: owner.ID, OrgID: owner.OrgID, Origin: "test"})
}

// sendAsOrg is org with Email at Scale on, so that Send As Permissions is
// a tab of Roles & Access.
func (s *site) sendAsOrg() (owner *muster.User, ownerCtx context.Context) {
	s.t.Helper()
	owner, ownerCtx = s.org()
	if _, err := s.svc.SetEmailAtScale(ownerCtx, true); err != nil {
		s.t.Fatal(err)
	}
	return owner, ownerCtx
}

// createOrg creates an org through the service; its Owner follows the
// emailed set-up link and sets password. It returns the Owner and the
// browser they are signed in with.
func (s *site) createOrg(name, first, last, email, password string) (*muster.User, *client) {
	s.t.Helper()
	res, err := s.svc.CreateOrg(muster.NewContext(context.Background(), muster.Principal{Origin: "test"}),
		service.NewOrg{Name: name, LicenseTotal: 10, OwnerEmail: email, OwnerFirstName: first, OwnerLastName: last})
	if err != nil {
		s.t.Fatal(err)
	}
	return res.Owner, s.join(email, password)
}

// defaultTeam returns the Default Team of the org ctx acts in.
func (s *site) defaultTeam(ctx context.Context) *muster.Team {
	s.t.Helper()
	listed, err := s.svc.Teams(ctx, service.TeamListQuery{})
	if err != nil {
		s.t.Fatal(err)
	}
	teams := listed.Teams
	return teams[0]
}

// invite invites a user into the Default Team as ctx's user.
func (s *site) invite(ctx context.Context, first, last, email string, role muster.Role) *muster.User {
	s.t.Helper()
	res, err := s.svc.Invite(ctx, service.InviteInput{FirstName: first, LastName: last, Email: email, Role: role,
		PrimaryTeamID: s.defaultTeam(ctx).ID})
	if err != nil {
		s.t.Fatalf("invite %s: %v", email, err)
	}
	return res.User
}

// join follows the newest invitation emailed to email, sets password and
// returns the browser the new user is signed in with.
func (s *site) join(email, password string) *client {
	s.t.Helper()
	b := s.browser()
	b.acceptInvitation(s.deliver(email).Link("/invitations/"), password)
	return b
}

// browser is a person with cookies.
func (s *site) browser() *client {
	s.t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		s.t.Fatal(err)
	}
	return newClient(s.t, s.srv.URL, jar)
}

// client is one person's HTTP client for a test server. It never follows
// redirects, so that each answer can be checked; with a cookie jar it keeps
// a session.
type client struct {
	t    *testing.T
	base string // the server's URL, which targets starting with "/" are below
	hc   *http.Client
}

func newClient(t *testing.T, base string, jar http.CookieJar) *client {
	return &client{t: t, base: base, hc: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// page is an answer read in full: the response (status, headers, the
// request it answers), its body and where it redirects to.
type page struct {
	*http.Response
	body     string
	location string
}

// do sends a request, with form as its body if set and header added to
// the request's, and reads the answer.
func (c *client) do(method, target string, form url.Values, header http.Header) page {
	c.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = c.base + target
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatalf("%s %s: reading the body: %v", method, target, err)
	}
	return page{Response: res, body: string(b), location: res.Header.Get("Location")}
}

func (c *client) get(target string) page { return c.do("GET", target, nil, nil) }

func (c *client) post(target string, form url.Values) page { return c.do("POST", target, form, nil) }

// follow loads the page p redirects to.
func (c *client) follow(p page) page {
	c.t.Helper()
	want(c.t, p, http.StatusSeeOther)
	return c.get(p.location)
}

func (c *client) acceptInvitation(link, password string) {
	c.t.Helper()
	if link == "" {
		c.t.Fatal("no invitation link")
	}
	want(c.t, c.get(link), http.StatusOK, "Join ")
	p := c.post(link, url.Values{"password": {password}})
	want(c.t, p, http.StatusSeeOther)
	if p.location != "/welcome" && p.location != "/settings/roles-access" {
		c.t.Fatalf("after accepting: Location %q; want the welcome page or Roles & Access", p.location)
	}
}

func (c *client) signIn(email, password string) page {
	return c.post("/signin", url.Values{"email": {email}, "password": {password}})
}

// want checks p's status and that its body shows each of text.
func want(t *testing.T, p page, status int, text ...string) {
	t.Helper()
	if p.StatusCode != status {
		t.Fatalf("%s %s: status %d (Location %q); want %d\n%s", p.Request.Method, p.Request.URL.Path, p.StatusCode,
			p.location, status, p.body)
	}
	for _, s := range text {
		if !strings.Contains(p.body, s) {
			t.Fatalf("%s %s: page lacks %q:\n%s", p.Request.Method, p.Request.URL.Path, s, p.body)
		}
	}
}

// wantRedirect checks that p sends the browser on to the path to.
func wantRedirect(t *testing.T, p page, to string) {
	t.Helper()
	want(t, p, http.StatusSeeOther)
	if p.location != to {
		t.Fatalf("%s %s: Location %q; want %q", p.Request.Method, p.Request.URL.Path, p.location, to)
	}
}

// seededSQLite opens a copy of benchseed's SQLite file of an org of n users
// (its Owner benchseed.OwnerEmail), closed when t ends.
func seededSQLite(t *testing.T, n int) *sqlstore.DB {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "muster.db")
	if err := benchseed.SQLite(ctx, path, n); err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
