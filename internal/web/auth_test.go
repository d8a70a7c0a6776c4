package web_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/mail"
	"github.com/muster-app/muster/internal/mail/mailtest"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/secret"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/store/storetest"
	"github.com/muster-app/muster/internal/web"
	"github.com/muster-app/muster/internal/worker"
)

// site is a web server with real SMTP delivery and a settable clock.
type site struct {
	t          *testing.T
	ownerEmail string
	db         *sqlstore.DB
	svc        *service.Service
	srv        *httptest.Server
	smtp       *mailtest.Server
	sender     *worker.MailSender
	now        atomic.Int64
}

func newSite(t *testing.T) *site {
	t.Helper()
	s := &site{t: t, db: storetest.OpenSQLite(t), smtp: mailtest.Start(t)}
	s.now.Store(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC).UnixMicro())
	clock := func() time.Time { return time.UnixMicro(s.now.Load()) }
	s.srv = httptest.NewUnstartedServer(nil)
	s.srv.Start()
	t.Cleanup(s.srv.Close)
	s.svc = service.New(s.db, service.Config{BaseURL: s.srv.URL, Links: web.NewLinks(s.srv.URL), Now: clock, PasswordParams: secret.TestParams})
	h, err := web.New(web.Config{Service: s.svc, DB: s.db, Log: slog.New(slog.DiscardHandler), BaseURL: s.srv.URL,
		Region: "us", Regions: []web.RegionLink{{Code: "eu", URL: "https://eu.muster.example"}}})
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

// org creates an org with its Owner signed up through the emailed link.
func (s *site) org() (owner *muster.User, ownerCtx context.Context) {
	s.t.Helper()
	email := fmt.Sprintf("owner%d@example.com", time.Now().UnixNano())
	s.ownerEmail = email
	res, err := s.svc.CreateOrg(muster.NewContext(context.Background(), muster.Principal{Origin: "test"}),
		service.NewOrg{Name: "Acme", LicenseTotal: 10, OwnerEmail: email, OwnerFirstName: "Olive", OwnerLastName: "Owner"})
	if err != nil {
		s.t.Fatal(err)
	}
	b := s.browser()
	b.acceptInvitation(s.deliver(email).Link("/invitations/"), "owner's long password")
	return res.Owner, muster.NewContext(context.Background(), muster.Principal{UserID: res.Owner.ID, OrgID: res.Org.ID, Origin: "test"})
}

// browser is a person with cookies.
type browser struct {
	s      *site
	client *http.Client
}

func (s *site) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{s: s, client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status   int
	location string
	body     string
}

func (b *browser) do(method, target string, form url.Values) page {
	b.s.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = b.s.srv.URL + target
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		b.s.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.client.Do(req)
	if err != nil {
		b.s.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return page{status: res.StatusCode, location: res.Header.Get("Location"), body: string(raw)}
}

func (b *browser) get(target string) page { return b.do("GET", target, nil) }

func (b *browser) post(target string, form url.Values) page { return b.do("POST", target, form) }

func (b *browser) acceptInvitation(link, password string) page {
	b.s.t.Helper()
	if link == "" {
		b.s.t.Fatal("no invitation link")
	}
	if p := b.get(link); p.status != 200 || !strings.Contains(p.body, "Join Acme") {
		b.s.t.Fatalf("accept page: %d\n%s", p.status, p.body)
	}
	p := b.post(link, url.Values{"password": {password}})
	if p.status != http.StatusSeeOther || p.location != "/" {
		b.s.t.Fatalf("accepting: %d %s\n%s", p.status, p.location, p.body)
	}
	return p
}

func (b *browser) signIn(email, password string) page {
	return b.post("/signin", url.Values{"email": {email}, "password": {password}})
}

func want(t *testing.T, p page, status int, text ...string) {
	t.Helper()
	if p.status != status {
		t.Fatalf("status %d (Location %q); want %d\n%s", p.status, p.location, status, p.body)
	}
	for _, s := range text {
		if !strings.Contains(p.body, s) {
			t.Fatalf("page lacks %q:\n%s", s, p.body)
		}
	}
}

func TestInvitationEmailToSignedIn(t *testing.T) {
	s := newSite(t)
	_, owner := s.org()
	teams, _ := s.svc.Teams(owner)
	email := "bella@example.com"
	if _, err := s.svc.Invite(owner, service.InviteInput{FirstName: "Bella", LastName: "Basic", Email: email,
		Role: muster.RoleBasic, PrimaryTeamID: teams[0].ID}); err != nil {
		t.Fatal(err)
	}
	msg := s.deliver(email)
	if !strings.Contains(msg.Text, "Olive Owner has invited you to join Acme") ||
		!strings.Contains(msg.Text, "Your email address is your username: "+email) || !strings.Contains(msg.HTML, "Getting started") {
		t.Fatalf("invitation email:\n%s", msg.Text)
	}
	b := s.browser()
	link := msg.Link("/invitations/")
	p := b.get(link)
	want(t, p, 200, "Join Acme", email, muster.PasswordRules)
	want(t, b.post(link, url.Values{"password": {"short"}}), 422, "Use at least 10 characters.", email)
	want(t, b.post(link, url.Values{"password": {email}}), 422, "can&#39;t be your email")
	b.acceptInvitation(link, "bella's long password")
	want(t, b.get("/"), 200, "Bella Basic", "Basic User", "Default Team", "My sender addresses")
	// The link is single-use.
	want(t, s.browser().get(link), http.StatusGone, "already been used")
}

func TestDeadLinksEachSayWhy(t *testing.T) {
	s := newSite(t)
	_, owner := s.org()
	teams, _ := s.svc.Teams(owner)
	invite := func(name string) (*muster.User, string) {
		t.Helper()
		res, err := s.svc.Invite(owner, service.InviteInput{FirstName: name, LastName: "X", Email: name + "@example.com",
			Role: muster.RoleBasic, PrimaryTeamID: teams[0].ID})
		if err != nil {
			t.Fatal(err)
		}
		return res.User, s.deliver(name + "@example.com").Link("/invitations/")
	}
	b := s.browser()

	resent, oldLink := invite("resent")
	if _, err := s.svc.ResendInvite(owner, resent.ID); err != nil {
		t.Fatal(err)
	}
	want(t, b.get(oldLink), http.StatusGone, "A newer invitation was sent", "most recent email")

	withdrawn, withdrawnLink := invite("withdrawn")
	if _, err := s.svc.Withdraw(owner, withdrawn.ID); err != nil {
		t.Fatal(err)
	}
	want(t, b.get(withdrawnLink), http.StatusGone, "This invitation was withdrawn")

	_, usedLink := invite("used")
	s.browser().acceptInvitation(usedLink, "a long enough secret")
	want(t, b.get(usedLink), http.StatusGone, "already been used", "Sign in")

	deactivated, deactivatedLink := invite("deactivated")
	s.browser().acceptInvitation(deactivatedLink, "a long enough secret")
	if _, err := s.svc.Deactivate(owner, deactivated.ID); err != nil {
		t.Fatal(err)
	}
	want(t, b.get(deactivatedLink), http.StatusGone)

	_, expiredLink := invite("expired")
	s.advance(7*24*time.Hour + time.Minute)
	want(t, b.get(expiredLink), http.StatusGone, "This invitation has expired", "Ask an administrator")
	want(t, b.post(expiredLink, url.Values{"password": {"a long enough secret"}}), http.StatusGone, "has expired")

	want(t, b.get("/invitations/not-a-real-token"), http.StatusNotFound, "This link is not valid")
}

func TestSignInSessionsAndDeactivation(t *testing.T) {
	s := newSite(t)
	owner, ownerCtx := s.org()
	b := s.browser()
	// Not signed in: the sign-in page, which comes back afterwards.
	p := b.get("/account/sessions")
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/signin?next=%2Faccount%2Fsessions") {
		t.Fatalf("signed-out visit: %d %s", p.status, p.location)
	}
	p = b.post("/signin", url.Values{"email": {owner.Email}, "password": {"owner's long password"}, "next": {"/account/sessions"}})
	if p.status != http.StatusSeeOther || p.location != "/account/sessions" {
		t.Fatalf("sign-in: %d %s\n%s", p.status, p.location, p.body)
	}
	want(t, b.get("/account/sessions"), 200, "This browser", "End session")

	// A second browser of a user who is then deactivated.
	teams, _ := s.svc.Teams(ownerCtx)
	res, err := s.svc.Invite(ownerCtx, service.InviteInput{FirstName: "Dee", LastName: "Parting", Email: "dee@example.com",
		Role: muster.RoleManager, PrimaryTeamID: teams[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	dee := s.browser()
	dee.acceptInvitation(s.deliver("dee@example.com").Link("/invitations/"), "dee's long password")
	want(t, dee.get("/"), 200, "Dee Parting", "Manager")
	if _, err := s.svc.Deactivate(ownerCtx, res.User.ID); err != nil {
		t.Fatal(err)
	}
	p = dee.get("/")
	if p.status != http.StatusSeeOther || p.location != "/signin?notice=session-ended" {
		t.Fatalf("deactivated user's next request: %d %s; want the sign-in page", p.status, p.location)
	}
	want(t, dee.signIn("dee@example.com", "dee's long password"), 401, "don&#39;t match an active account")

	// Sign out ends the session in the database, not only the cookie.
	want(t, b.post("/signout", nil), http.StatusSeeOther)
	p = b.get("/")
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/signin") {
		t.Fatalf("after sign-out: %d %s", p.status, p.location)
	}
}

func TestSignInDoesNotTellWhichEmailsExist(t *testing.T) {
	s := newSite(t)
	owner, _ := s.org()
	b := s.browser()
	known := b.signIn(owner.Email, "wrong password!")
	unknown := b.signIn("nobody@example.com", "wrong password!")
	want(t, known, 401)
	want(t, unknown, 401)
	strip := func(body, email string) string { return strings.ReplaceAll(body, email, "EMAIL") }
	if strip(known.body, owner.Email) != strip(unknown.body, "nobody@example.com") {
		t.Fatalf("the pages differ:\n%s\n---\n%s", known.body, unknown.body)
	}
	for range 4 { // 5 failures in all
		b.signIn(owner.Email, "wrong password!")
	}
	want(t, b.signIn(owner.Email, "owner's long password"), http.StatusTooManyRequests, "Too many sign-in attempts")

	// Password reset answers the same for every email.
	r1 := b.post("/password-reset", url.Values{"email": {"nobody@example.com"}})
	r2 := b.post("/password-reset", url.Values{"email": {owner.Email}})
	if r1.status != 200 || r1.body != r2.body {
		t.Fatalf("reset answers differ or fail: %d / %d", r1.status, r2.status)
	}
}

func TestPasswordResetThroughEmail(t *testing.T) {
	s := newSite(t)
	owner, _ := s.org()
	old := s.browser()
	want(t, old.signIn(owner.Email, "owner's long password"), http.StatusSeeOther)
	b := s.browser()
	want(t, b.post("/password-reset", url.Values{"email": {owner.Email}}), 200, "Check your email")
	link := s.deliver(owner.Email).Link("/password-reset/")
	want(t, b.get(link), 200, "Choose a new password")
	p := b.post(link, url.Values{"password": {"a brand new password"}})
	if p.status != http.StatusSeeOther || p.location != "/" {
		t.Fatalf("reset: %d %s\n%s", p.status, p.location, p.body)
	}
	want(t, b.get("/"), 200, "Olive Owner")
	if p := old.get("/"); p.status != http.StatusSeeOther {
		t.Fatalf("the session from before the reset still works: %d", p.status)
	}
	want(t, s.browser().get(link), http.StatusGone)
}

func TestChangePasswordEndsOtherSessions(t *testing.T) {
	s := newSite(t)
	owner, _ := s.org()
	a, other := s.browser(), s.browser()
	want(t, a.signIn(owner.Email, "owner's long password"), http.StatusSeeOther)
	want(t, other.signIn(owner.Email, "owner's long password"), http.StatusSeeOther)
	want(t, a.post("/account/password", url.Values{"current_password": {"wrong"}, "password": {"a brand new password"}}),
		422, "That is not your current password.")
	p := a.post("/account/password", url.Values{"current_password": {"owner's long password"}, "password": {"a brand new password"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("change: %d\n%s", p.status, p.body)
	}
	want(t, a.get("/account/sessions?notice=password-changed"), 200, "Your password has been changed")
	if p := other.get("/"); p.status != http.StatusSeeOther {
		t.Fatalf("the other session survived a password change: %d", p.status)
	}
}

func TestRegionSelector(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	want(t, b.get("/signin"), 200, `<label for="region">Region</label>`, "United States", "Europe")
	p := b.get("/signin/region?region=eu")
	if p.status != http.StatusSeeOther || p.location != "https://eu.muster.example/signin" {
		t.Fatalf("choosing Europe: %d %s", p.status, p.location)
	}
	if p := b.get("/signin/region?region=mars"); p.location != "/signin" {
		t.Fatalf("an unknown region: %s", p.location)
	}
}

func TestSessionCookieFlags(t *testing.T) {
	s := newSite(t)
	owner, _ := s.org()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.PostForm(s.srv.URL+"/signin", url.Values{"email": {owner.Email}, "password": {"owner's long password"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var c *http.Cookie
	for _, k := range res.Cookies() {
		if k.Name == "muster_session" {
			c = k
		}
	}
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Value == "" {
		t.Fatalf("session cookie = %+v; want HttpOnly, SameSite=Lax", c)
	}
}

func TestMailboxIsTheOwnersToRead(t *testing.T) {
	s := newSite(t)
	owner, ownerCtx := s.org()
	teams, _ := s.svc.Teams(ownerCtx)
	_, err := s.svc.Invite(ownerCtx, service.InviteInput{FirstName: "Ada", LastName: "Admin", Email: "ada@example.com",
		Role: muster.RoleAdmin, PrimaryTeamID: teams[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	b := s.browser()
	want(t, b.signIn(owner.Email, "owner's long password"), http.StatusSeeOther)
	p := b.get("/settings/mailbox")
	want(t, p, 200, "ada@example.com", "Olive Owner invited you to join Acme on Muster", "Queued")
	link := p.body[strings.Index(p.body, `href="/settings/mailbox/`)+6:]
	link = link[:strings.Index(link, `"`)]
	want(t, b.get(link), 200, "Your email address is your username: ada@example.com", "/invitations/")

	ada := s.browser()
	ada.acceptInvitation(s.deliver("ada@example.com").Link("/invitations/"), "ada's long password")
	want(t, ada.get("/settings/mailbox"), http.StatusForbidden, "Only the Owner")
	want(t, ada.get(link), http.StatusForbidden)
}

// TestEmailedReportLink follows the user-list email's link as the Owner, a
// Basic User, an Admin of another org, and after expiry (AUD-2).
func TestEmailedReportLink(t *testing.T) {
	s := newSite(t)
	owner, ownerCtx := s.org()
	teams, _ := s.svc.Teams(ownerCtx)
	if _, err := s.svc.Invite(ownerCtx, service.InviteInput{FirstName: "Bea", LastName: "Basic", Email: "bea@example.com",
		Role: muster.RoleBasic, PrimaryTeamID: teams[0].ID}); err != nil {
		t.Fatal(err)
	}
	bea := s.browser()
	bea.acceptInvitation(s.deliver("bea@example.com").Link("/invitations/"), "bea's long password")
	if _, err := s.svc.RequestUserList(ownerCtx); err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.RunNextReport(context.Background()); err != nil {
		t.Fatal(err)
	}
	link := s.deliver(owner.Email).Link("/reports/")
	if link == "" {
		t.Fatal("the report email has no link")
	}

	signedOut := s.browser()
	if p := signedOut.get(link); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/signin?next=") {
		t.Fatalf("signed out: %d %s; want the sign-in page", p.status, p.location)
	}
	b := s.browser()
	want(t, b.signIn(owner.Email, "owner's long password"), http.StatusSeeOther)
	p := b.get(link)
	want(t, p, 200, "\uFEFFFirst Name,Last Name,Email,Role,Status", "Bea,Basic,bea@example.com,Basic User,Active")

	want(t, bea.get(link), http.StatusNotFound)
	other := newSiteOn(t, s) // another org on the same database
	want(t, other.get(link), http.StatusNotFound)

	s.advance(7*24*time.Hour + time.Minute)
	want(t, b.get(link), http.StatusGone, "This user list has expired")
}

// newSiteOn signs in the Owner of a second org of s and returns their
// browser.
func newSiteOn(t *testing.T, s *site) *browser {
	t.Helper()
	email := fmt.Sprintf("other%d@example.com", time.Now().UnixNano())
	if _, err := s.svc.CreateOrg(muster.NewContext(context.Background(), muster.Principal{Origin: "test"}),
		service.NewOrg{Name: "Other", LicenseTotal: 5, OwnerEmail: email, OwnerFirstName: "Oscar", OwnerLastName: "Other"}); err != nil {
		t.Fatal(err)
	}
	b := s.browser()
	link := s.deliver(email).Link("/invitations/")
	b.get(link)
	if p := b.post(link, url.Values{"password": {"oscar's long password"}}); p.status != http.StatusSeeOther {
		t.Fatalf("other owner's accept: %d", p.status)
	}
	return b
}

func TestAPITokensPage(t *testing.T) {
	s := newSite(t)
	owner, ownerCtx := s.org()
	b := s.browser()
	want(t, b.signIn(owner.Email, "owner's long password"), http.StatusSeeOther)
	want(t, b.get("/settings/api-tokens"), 200, "No API tokens yet", `<label for="name">Token name</label>`)
	want(t, b.post("/settings/api-tokens", url.Values{"name": {" "}, "expires": {"30"}}), 422, "Token name is required.")
	p := b.post("/settings/api-tokens", url.Values{"name": {"HR sync"}, "expires": {"30"}})
	want(t, p, 200, "Copy your new token now", "HR sync", "Olive Owner")
	secret := p.body[strings.Index(p.body, `value="mst_`)+7:]
	secret = secret[:strings.Index(secret, `"`)]
	if _, err := s.svc.AuthenticateAPIToken(context.Background(), secret); err != nil {
		t.Fatalf("the token shown does not work: %v", err)
	}
	if strings.Contains(b.get("/settings/api-tokens").body, secret) {
		t.Fatal("the token is shown again")
	}
	tokens, _ := s.svc.APITokens(ownerCtx)
	want(t, b.post(fmt.Sprintf("/settings/api-tokens/%d/revoke", tokens[0].ID), nil), http.StatusSeeOther)
	if _, err := s.svc.AuthenticateAPIToken(context.Background(), secret); err == nil {
		t.Fatal("a revoked token still works")
	}

	teams, _ := s.svc.Teams(ownerCtx)
	if _, err := s.svc.Invite(ownerCtx, service.InviteInput{FirstName: "Max", LastName: "Manager", Email: "max@example.com",
		Role: muster.RoleManager, PrimaryTeamID: teams[0].ID}); err != nil {
		t.Fatal(err)
	}
	max := s.browser()
	max.acceptInvitation(s.deliver("max@example.com").Link("/invitations/"), "max's long password")
	want(t, max.get("/settings/api-tokens"), http.StatusForbidden, "Only Owners and Admins")
	want(t, max.post("/settings/api-tokens", url.Values{"name": {"mine"}}), http.StatusForbidden)
}

func TestSecureCookieOverHTTPS(t *testing.T) {
	db := storetest.OpenSQLite(t)
	svc := service.New(db, service.Config{BaseURL: "https://muster.example.com", Links: web.NewLinks("https://muster.example.com"), PasswordParams: secret.TestParams})
	res, err := svc.CreateOrg(muster.NewContext(context.Background(), muster.Principal{Origin: "test"}),
		service.NewOrg{Name: "Acme", LicenseTotal: 5, OwnerEmail: "o@example.com", OwnerFirstName: "O", OwnerLastName: "O"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := web.New(web.Config{Service: svc, DB: db, Log: slog.New(slog.DiscardHandler), BaseURL: "https://muster.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	link := res.SetupURL[strings.Index(res.SetupURL, "/invitations/"):]
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("POST", link, strings.NewReader("password=a+long+enough+secret"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	h.ServeHTTP(rec, req)
	cookies := rec.Result().Cookies()
	if rec.Code != http.StatusSeeOther || len(cookies) != 1 || !cookies[0].Secure || !cookies[0].HttpOnly {
		t.Fatalf("accept over https: %d %+v; want a Secure, HttpOnly session cookie", rec.Code, cookies)
	}
}

func TestPprofOnlyWhenAsked(t *testing.T) {
	db := storetest.OpenSQLite(t)
	svc := service.New(db, service.Config{BaseURL: "http://muster.test", Links: web.NewLinks("http://muster.test"), PasswordParams: secret.TestParams})
	for _, on := range []bool{false, true} {
		h, err := web.New(web.Config{Service: svc, DB: db, Log: slog.New(slog.DiscardHandler), Pprof: on})
		if err != nil {
			t.Fatal(err)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/debug/pprof/", nil))
		if want := map[bool]int{false: http.StatusNotFound, true: http.StatusOK}[on]; rec.Code != want {
			t.Errorf("pprof %v: /debug/pprof/ answered %d; want %d", on, rec.Code, want)
		}
	}
}
