package web_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/secret"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/testsupport/storetest"
	"github.com/muster-app/muster/internal/web"
)

func TestInvitationEmailToSignedIn(t *testing.T) {
	s := newSite(t)
	_, owner := s.org()
	email := "bella@example.com"
	s.invite(owner, "Bella", "Basic", email, muster.RoleBasic)
	msg := s.deliver(email)
	if !strings.Contains(msg.Text, "Olive Owner has invited you to join Acme") ||
		!strings.Contains(msg.Text, "Your email address is your username: "+email) || !strings.Contains(msg.HTML, "Getting started") {
		t.Fatalf("invitation email:\n%s", msg.Text)
	}
	b := s.browser()
	link := msg.Link("/invitations/")
	p := b.get(link)
	want(t, p, 200, "Join Acme", email, muster.PasswordRules)
	refused := b.post(link, url.Values{"password": {"short"}})
	want(t, refused, 422, "Use at least 10 characters.", email)
	if got := refused.Header.Get("Cache-Control"); got != "no-store" {
		t.Fatalf("the refused form, which holds the link, is cached: Cache-Control %q", got)
	}
	want(t, b.post(link, url.Values{"password": {email}}), 422, "can&#39;t be your email")
	b.acceptInvitation(link, "bella's long password")
	want(t, b.get("/"), 200, "Bella Basic", "Basic User", "Default Team", "My sender addresses")
	// The link is single-use.
	want(t, s.browser().get(link), http.StatusGone, "already been used")
}

func TestDeadLinksEachSayWhy(t *testing.T) {
	s := newSite(t)
	_, owner := s.org()
	invite := func(name string) (*muster.User, string) {
		t.Helper()
		u := s.invite(owner, name, "X", name+"@example.com", muster.RoleBasic)
		return u, s.deliver(name + "@example.com").Link("/invitations/")
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
	if p.StatusCode != http.StatusSeeOther || !strings.HasPrefix(p.location, "/signin?next=%2Faccount%2Fsessions") {
		t.Fatalf("signed-out visit: %d %s", p.StatusCode, p.location)
	}
	p = b.post("/signin", url.Values{"email": {owner.Email}, "password": {ownerPassword}, "next": {"/account/sessions"}})
	wantRedirect(t, p, "/account/sessions")
	want(t, b.get("/account/sessions"), 200, "This browser", "End session")

	// A second browser of a user who is then deactivated.
	deeUser := s.invite(ownerCtx, "Dee", "Parting", "dee@example.com", muster.RoleManager)
	dee := s.join("dee@example.com", "dee's long password")
	want(t, dee.get("/"), 200, "Dee Parting", "Manager")
	if _, err := s.svc.Deactivate(ownerCtx, deeUser.ID); err != nil {
		t.Fatal(err)
	}
	wantRedirect(t, dee.get("/"), "/signin?notice=session-ended")
	want(t, dee.signIn("dee@example.com", "dee's long password"), 401, "don&#39;t match an active account")

	// Sign out ends the session in the database, not only the cookie.
	want(t, b.post("/signout", nil), http.StatusSeeOther)
	p = b.get("/")
	if p.StatusCode != http.StatusSeeOther || !strings.HasPrefix(p.location, "/signin") {
		t.Fatalf("after sign-out: %d %s", p.StatusCode, p.location)
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
	for range 2 { // 3 failures in all from this address
		want(t, b.signIn(owner.Email, "wrong password!"), 401)
	}
	// The 4th comes too soon: 429, saying when to come back.
	p := b.signIn(owner.Email, ownerPassword)
	want(t, p, http.StatusTooManyRequests, "Too many sign-in attempts")
	if ra := p.Header.Get("Retry-After"); ra != "1" {
		t.Fatalf("Retry-After %q; want 1 (second)", ra)
	}
	s.advance(time.Second)
	wantRedirect(t, b.signIn(owner.Email, ownerPassword), "/")

	// Password reset answers the same for every email.
	r1 := b.post("/password-reset", url.Values{"email": {"nobody@example.com"}})
	r2 := b.post("/password-reset", url.Values{"email": {owner.Email}})
	if r1.StatusCode != 200 || r1.body != r2.body {
		t.Fatalf("reset answers differ or fail: %d / %d", r1.StatusCode, r2.StatusCode)
	}
}

func TestPasswordResetThroughEmail(t *testing.T) {
	s := newSite(t)
	owner, _ := s.org()
	old := s.browser()
	want(t, old.signIn(owner.Email, ownerPassword), http.StatusSeeOther)
	b := s.browser()
	want(t, b.post("/password-reset", url.Values{"email": {owner.Email}}), 200, "Check your email")
	link := s.deliver(owner.Email).Link("/password-reset/")
	want(t, b.get(link), 200, "Choose a new password")
	wantRedirect(t, b.post(link, url.Values{"password": {"a brand new password"}}), "/")
	want(t, b.get("/"), 200, "Olive Owner")
	if p := old.get("/"); p.StatusCode != http.StatusSeeOther {
		t.Fatalf("the session from before the reset still works: %d", p.StatusCode)
	}
	want(t, s.browser().get(link), http.StatusGone)
}

func TestChangePasswordEndsOtherSessions(t *testing.T) {
	s := newSite(t)
	owner, _ := s.org()
	a, other := s.browser(), s.browser()
	want(t, a.signIn(owner.Email, ownerPassword), http.StatusSeeOther)
	want(t, other.signIn(owner.Email, ownerPassword), http.StatusSeeOther)
	want(t, a.post("/account/password", url.Values{"current_password": {"wrong"}, "password": {"a brand new password"}}),
		422, "That is not your current password.")
	p := a.post("/account/password", url.Values{"current_password": {ownerPassword}, "password": {"a brand new password"}})
	want(t, p, http.StatusSeeOther)
	want(t, a.follow(p), 200, "Your password has been changed")
	if p := other.get("/"); p.StatusCode != http.StatusSeeOther {
		t.Fatalf("the other session survived a password change: %d", p.StatusCode)
	}
}

func TestRegionSelector(t *testing.T) {
	s := newSite(t)
	b := s.browser()
	want(t, b.get("/signin"), 200, `<label for="region">Region</label>`, "United States", "Europe")
	wantRedirect(t, b.get("/signin/region?region=eu"), "https://eu.muster.example/signin")
	wantRedirect(t, b.get("/signin/region?region=mars"), "/signin")
}

func TestSessionCookieFlags(t *testing.T) {
	s := newSite(t)
	owner, _ := s.org()
	p := s.browser().signIn(owner.Email, ownerPassword)
	want(t, p, http.StatusSeeOther)
	var c *http.Cookie
	for _, k := range p.Cookies() {
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
	s.invite(ownerCtx, "Ada", "Admin", "ada@example.com", muster.RoleAdmin)
	b := s.browser()
	want(t, b.signIn(owner.Email, ownerPassword), http.StatusSeeOther)
	p := b.get("/settings/mailbox")
	want(t, p, 200, "ada@example.com", "Olive Owner invited you to join Acme on Muster", "Queued")
	link := p.body[strings.Index(p.body, `href="/settings/mailbox/`)+6:]
	link = link[:strings.Index(link, `"`)]
	want(t, b.get(link), 200, "Your email address is your username: ada@example.com", "/invitations/")

	ada := s.join("ada@example.com", "ada's long password")
	want(t, ada.get("/settings/mailbox"), http.StatusForbidden, "Only the Owner")
	want(t, ada.get(link), http.StatusForbidden)
}

// TestEmailedReportLink follows the user-list email's link as the Owner, a
// Basic User, an Admin of another org, and after expiry (AUD-2).
func TestEmailedReportLink(t *testing.T) {
	s := newSite(t)
	owner, ownerCtx := s.org()
	s.invite(ownerCtx, "Bea", "Basic", "bea@example.com", muster.RoleBasic)
	bea := s.join("bea@example.com", "bea's long password")
	if _, err := s.svc.RequestUserList(ownerCtx); err != nil {
		t.Fatal(err)
	}
	if ran, err := s.svc.RunNextReport(context.Background()); err != nil || !ran {
		t.Fatalf("RunNextReport = %v, %v; want the requested report run", ran, err)
	}
	link := s.deliver(owner.Email).Link("/reports/")
	if link == "" {
		t.Fatal("the report email has no link")
	}

	signedOut := s.browser()
	if p := signedOut.get(link); p.StatusCode != http.StatusSeeOther || !strings.HasPrefix(p.location, "/signin?next=") {
		t.Fatalf("signed out: %d %s; want the sign-in page", p.StatusCode, p.location)
	}
	b := s.browser()
	want(t, b.signIn(owner.Email, ownerPassword), http.StatusSeeOther)
	p := b.get(link)
	want(t, p, 200, "\uFEFFFirst Name,Last Name,Email,Role,Status", "Bea,Basic,bea@example.com,Basic User,Active")

	want(t, bea.get(link), http.StatusNotFound)
	// The Owner of another org on the same database.
	_, other := s.createOrg("Other", "Oscar", "Other", "oscar@example.com", "oscar's long password")
	want(t, other.get(link), http.StatusNotFound)

	s.advance(7*24*time.Hour + time.Minute)
	want(t, b.get(link), http.StatusGone, "This user list has expired")
}

func TestAPITokensPage(t *testing.T) {
	s := newSite(t)
	owner, ownerCtx := s.org()
	b := s.browser()
	want(t, b.signIn(owner.Email, ownerPassword), http.StatusSeeOther)
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
	tokens, err := s.svc.APITokens(ownerCtx)
	if err != nil || len(tokens) != 1 {
		t.Fatalf("API tokens = %v, %v; want the one created", tokens, err)
	}
	want(t, b.post(fmt.Sprintf("/settings/api-tokens/%d/revoke", tokens[0].ID), nil), http.StatusSeeOther)
	if _, err := s.svc.AuthenticateAPIToken(context.Background(), secret); err == nil {
		t.Fatal("a revoked token still works")
	}

	s.invite(ownerCtx, "Max", "Manager", "max@example.com", muster.RoleManager)
	max := s.join("max@example.com", "max's long password")
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

// TestStrictTransportSecurity: over https every response tells the browser
// to use nothing but https for the host from then on; over http, where the
// header would be ignored and could only strand a test setup, none does.
func TestStrictTransportSecurity(t *testing.T) {
	db := storetest.OpenSQLite(t)
	for base, want := range map[string]string{"https://muster.example.com": "max-age=31536000", "http://127.0.0.1:8080": ""} {
		svc := service.New(db, service.Config{BaseURL: base, Links: web.NewLinks(base), PasswordParams: secret.TestParams})
		h, err := web.New(web.Config{Service: svc, DB: db, Log: slog.New(slog.DiscardHandler), BaseURL: base})
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range []string{"/", "/setup", "/signin", "/healthz", "/static/muster.css", "/nope"} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
			if got := rec.Header().Get("Strict-Transport-Security"); got != want {
				t.Errorf("base URL %s: GET %s: Strict-Transport-Security %q; want %q", base, path, got, want)
			}
		}
	}
}

// TestProfilesOnlyOnTheDebugHandler: the server people reach never serves
// Go's profiles; the debug handler (--debug-addr) serves them, but never the
// command line, which may hold the database password.
func TestProfilesOnlyOnTheDebugHandler(t *testing.T) {
	db := storetest.OpenSQLite(t)
	svc := service.New(db, service.Config{BaseURL: "http://muster.test", Links: web.NewLinks("http://muster.test"), PasswordParams: secret.TestParams})
	h, err := web.New(web.Config{Service: svc, DB: db, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for handler, paths := range map[string]map[string]int{
		"main":  {"/debug/pprof/": 404, "/debug/pprof/cmdline": 404, "/debug/pprof/heap": 404, "/debug/pprof/symbol": 404},
		"debug": {"/debug/pprof/": 200, "/debug/pprof/cmdline": 404, "/debug/pprof/heap": 200, "/debug/pprof/symbol": 200},
	} {
		for path, want := range paths {
			rec := httptest.NewRecorder()
			map[string]http.Handler{"main": h, "debug": web.Debug()}[handler].ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
			if rec.Code != want {
				t.Errorf("%s handler: GET %s = %d; want %d", handler, path, rec.Code, want)
			}
			if strings.Contains(rec.Body.String(), strings.Join(os.Args, "\x00")) {
				t.Errorf("%s handler: GET %s shows the command line", handler, path)
			}
		}
	}
}

// TestMailboxModeHidesResetLinks: without an SMTP server, the Owner's
// Mailbox shows that an Admin asked for a password reset but never the
// link, with which the Owner could take over the Admin's account; the reset
// pages tell the Admin to ask the Owner to configure SMTP. Invitation links
// stay visible: in mailbox mode the Owner hands them on.
func TestMailboxModeHidesResetLinks(t *testing.T) {
	db := storetest.OpenSQLite(t)
	srv := httptest.NewUnstartedServer(nil)
	svc := service.New(db, service.Config{BaseURL: "http://muster.test", Links: web.NewLinks("http://muster.test"), PasswordParams: secret.TestParams})
	h, err := web.New(web.Config{Service: svc, DB: db, Log: slog.New(slog.DiscardHandler), Mailbox: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = h
	srv.Start()
	t.Cleanup(srv.Close)
	ctx := context.Background()
	res, err := svc.CreateOrg(muster.NewContext(ctx, muster.Principal{Origin: "test"}),
		service.NewOrg{Name: "Acme", LicenseTotal: 5, OwnerEmail: "olive@example.com", OwnerFirstName: "Olive", OwnerLastName: "Owner"})
	if err != nil {
		t.Fatal(err)
	}
	accept := func(link string) *muster.User {
		in, err := svc.AcceptInvitation(ctx, link[strings.LastIndex(link, "/")+1:], ownerPassword, service.Client{IP: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		return in.User
	}
	owner := accept(res.SetupURL)
	ownerCtx := muster.NewContext(ctx, muster.Principal{UserID: owner.ID, OrgID: owner.OrgID, Origin: "test"})
	listed, err := svc.Teams(ownerCtx, service.TeamListQuery{})
	if err != nil {
		t.Fatal(err)
	}
	teams := listed.Teams
	invited, err := svc.Invite(ownerCtx, service.InviteInput{FirstName: "Ada", LastName: "Admin", Email: "ada@example.com",
		Role: muster.RoleAdmin, PrimaryTeamID: teams[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	accept(invited.Link)

	ada := newClient(t, srv.URL, nil)
	want(t, ada.get("/password-reset"), 200, "Ask your Owner to configure SMTP")
	want(t, ada.post("/password-reset", url.Values{"email": {"ada@example.com"}}), 200, "Ask your Owner to configure SMTP")

	olive := newClient(t, srv.URL, mustJar(t))
	want(t, olive.signIn(owner.Email, ownerPassword), http.StatusSeeOther)
	mailbox := olive.get("/settings/mailbox")
	want(t, mailbox, 200, "ada@example.com", "Reset your Muster password")
	var sawReset, sawInvitation bool
	for _, m := range regexp.MustCompile(`href="(/settings/mailbox/\d+)"`).FindAllStringSubmatch(mailbox.body, -1) {
		p := olive.get(m[1])
		want(t, p, 200)
		if strings.Contains(p.body, "/password-reset/") {
			t.Fatalf("the Owner reads a reset link at %s:\n%s", m[1], p.body)
		}
		sawReset = sawReset || strings.Contains(p.body, "ada@example.com asked for a password reset")
		sawInvitation = sawInvitation || strings.Contains(p.body, "/invitations/")
	}
	if !sawReset || !sawInvitation {
		t.Fatalf("the mailbox shows the reset request: %v, an invitation link: %v; want both", sawReset, sawInvitation)
	}
}

func mustJar(t *testing.T) http.CookieJar {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return jar
}
