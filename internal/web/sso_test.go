package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/idptest"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// ssoSite is a site whose org Acme (Owner olive@acme.test) has verified
// acme.test and is connected to an identity provider.
type ssoSite struct {
	*site
	owner    *muster.User
	ownerCtx context.Context
}

// newSSOSite sets up Acme on db and connects it to the provider at issuer
// with the client.
func newSSOSite(t *testing.T, db *sqlstore.DB, issuer, clientID, clientSecret string) *ssoSite {
	t.Helper()
	s := newAcme(t, db)
	s.connect(issuer, clientID, clientSecret)
	return s
}

// newSSOReady is newSSOSite connected to a provider the test controls,
// with the Owner's test sign-in passed and SSO sign-in on.
func newSSOReady(t *testing.T, db *sqlstore.DB) (*ssoSite, *idptest.Provider) {
	t.Helper()
	idp := idptest.Start(t, idptest.User{})
	s := newSSOSite(t, db, idp.URL, idp.ClientID, idp.ClientSecret)
	s.passTest(idp)
	return s, idp
}

// newAcme sets up Acme on db, with olive@acme.test as its Owner.
func newAcme(t *testing.T, db *sqlstore.DB) *ssoSite {
	t.Helper()
	s := &ssoSite{site: newSiteOn(t, db)}
	s.ownerEmail = "olive@acme.test"
	s.owner, _ = s.createOrg("Acme", "Olive", "Owner", s.ownerEmail, ownerPassword)
	s.ownerCtx = muster.NewContext(context.Background(), muster.Principal{UserID: s.owner.ID, OrgID: s.owner.OrgID,
		Origin: "test"})
	return s
}

// connect saves the provider's settings and verifies acme.test.
func (s *ssoSite) connect(issuer, clientID, clientSecret string) {
	s.t.Helper()
	if _, err := s.svc.SaveSSOConnection(s.ownerCtx, service.SSOConnectionInput{Issuer: issuer, ClientID: clientID,
		ClientSecret: clientSecret}); err != nil {
		s.t.Fatal(err)
	}
	d, err := s.svc.AddSSODomain(s.ownerCtx, "acme.test")
	if err != nil {
		s.t.Fatal(err)
	}
	s.dns.SetTXT("acme.test", d.TXTRecord())
	if _, err := s.svc.VerifySSODomain(s.ownerCtx, d.ID); err != nil {
		s.t.Fatal(err)
	}
}

// passTest runs the Owner's test sign-in against idp, signing in there as
// the Owner, and turns SSO sign-in on.
func (s *ssoSite) passTest(idp *idptest.Provider) {
	s.t.Helper()
	idp.SignInAs(idptest.User{Subject: "sub-olive", Email: s.ownerEmail, EmailVerified: true})
	start, err := s.svc.StartSSOTest(s.ownerCtx)
	if err != nil {
		s.t.Fatal(err)
	}
	out, err := s.svc.FinishSSO(context.Background(), idptest.Follow(s.t, start.URL).Query(), start.BrowserSecret,
		service.Client{IP: "192.0.2.1"})
	if err != nil || !out.Test.Succeeded {
		s.t.Fatalf("the Owner's test sign-in: %+v, %v", out, err)
	}
	if err := s.svc.SetSSOEnabled(s.ownerCtx, true); err != nil {
		s.t.Fatal(err)
	}
}

// refreshURL finds the page's meta refresh.
var refreshURL = regexp.MustCompile(`<meta http-equiv="refresh" content="0; url=([^"]+)">`)

// toProvider is where the page p sends the browser: its meta refresh.
func toProvider(t *testing.T, p page) string {
	t.Helper()
	m := refreshURL.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("%s %s: no page leading to the provider:\n%s", p.Request.Method, p.Request.URL.Path, p.body)
	}
	return html.UnescapeString(m[1])
}

// ssoSignIn types email on the sign-in page, follows the page to the
// provider, which signs in at once, and returns the callback's answer.
func (c *client) ssoSignIn(email string) page {
	c.t.Helper()
	p := c.post("/signin", url.Values{"email": {email}})
	want(c.t, p, http.StatusOK, "Continue to Acme")
	return c.get(idptest.Follow(c.t, toProvider(c.t, p)).String())
}

// signedIn reports whether c's session opens the profile.
func (c *client) signedIn() bool {
	c.t.Helper()
	return c.get("/").StatusCode == http.StatusOK
}

// identities counts the identities linked in the org.
func (s *ssoSite) identities(issuer string, subjects ...string) int {
	s.t.Helper()
	n := 0
	err := s.db.View(context.Background(), func(tx muster.Tx) error {
		for _, sub := range subjects {
			if _, err := tx.FindSSOIdentity(context.Background(), s.owner.OrgID, issuer, sub); err == nil {
				n++
			} else if muster.ErrorCode(err) != muster.ENOTFOUND {
				return err
			}
		}
		return nil
	})
	if err != nil {
		s.t.Fatal(err)
	}
	return n
}

func (s *ssoSite) refusals() []*muster.AuditEvent {
	s.t.Helper()
	page, err := s.svc.FindAuditEvents(s.ownerCtx, service.AuditQuery{Action: muster.ActionSSOSignInRefused, Limit: 100})
	if err != nil {
		s.t.Fatal(err)
	}
	return page.Events
}

// TestSSOSignInPage: the email step sends acme.test's people to the
// provider and everyone else to the password field, with the same answer
// for known and unknown emails; the provider's answer signs a Pending user
// in, Active, and returns to next.
func TestSSOSignInPage(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		s, idp := newSSOReady(t, db)
		bella := s.invite(s.ownerCtx, "Bella", "Basic", "bella@acme.test", muster.RoleBasic)
		s.invite(s.ownerCtx, "Gil", "Gmail", "gil@elsewhere.test", muster.RoleBasic)

		b := s.browser()
		// The email step of a person of another domain: the password
		// field, the same page whether the email has an account or not.
		known := b.post("/signin", url.Values{"email": {"gil@elsewhere.test"}, "next": {"/account/sessions"}})
		unknown := b.post("/signin", url.Values{"email": {"nobody@elsewhere.test"}, "next": {"/account/sessions"}})
		want(t, known, http.StatusOK, `type="password"`, `value="/account/sessions"`)
		if strings.ReplaceAll(known.body, "gil@elsewhere.test", "X") != strings.ReplaceAll(unknown.body, "nobody@elsewhere.test", "X") {
			t.Fatal("the email step answers a known and an unknown email differently")
		}
		// acme.test's: the provider, the same for an unknown email.
		want(t, b.post("/signin", url.Values{"email": {"nobody@acme.test"}}), http.StatusOK, "Continue to Acme")

		idp.SignInAs(idptest.User{Subject: "sub-bella", Email: "bella@acme.test", EmailVerified: true})
		p := b.post("/signin", url.Values{"email": {"bella@acme.test"}, "next": {"/account/sessions"}})
		want(t, p, http.StatusOK, "Continue to Acme", "Sign in with a password instead")
		if p.Header.Get("Content-Security-Policy") != "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'" {
			t.Fatalf("the page to the provider has CSP %q", p.Header.Get("Content-Security-Policy"))
		}
		wantRedirect(t, b.get(idptest.Follow(t, toProvider(t, p)).String()), "/account/sessions")
		if !b.signedIn() {
			t.Fatal("not signed in after the provider's answer")
		}
		if u, err := s.svc.FindUser(s.ownerCtx, bella.ID); err != nil || u.Status != muster.StatusActive {
			t.Fatalf("Bella after SSO: %+v, %v; want Active", u, err)
		}
	})
}

// TestSSORefusalPages: each answer of the provider that must not sign
// anyone in gets a page saying why and an audit event with the reason, and
// links nothing: a wrong nonce, a wrong audience, an expired token, a bad
// signature, an unknown key id, email_verified false, another subject with
// the email of a linked user, a callback in another browser than the one
// that began (state), and the provider's own error.
func TestSSORefusalPages(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		s, idp := newSSOReady(t, db)
		s.invite(s.ownerCtx, "Bella", "Basic", "bella@acme.test", muster.RoleBasic)
		// The Owner links sub-olive by signing in once.
		if p := s.browser().ssoSignIn(s.ownerEmail); p.StatusCode != http.StatusSeeOther {
			t.Fatalf("the Owner's SSO sign-in: %d\n%s", p.StatusCode, p.body)
		}
		subjects := []string{"sub-olive", "sub-bella", "sub-mallory"}
		linked := s.identities(idp.URL, subjects...)

		olive := idptest.User{Subject: "sub-olive", Email: s.ownerEmail, EmailVerified: true}
		bella := idptest.User{Subject: "sub-bella", Email: "bella@acme.test", EmailVerified: true}
		cases := []struct {
			name   string
			user   idptest.User
			next   idptest.Next
			status int
			reason string
			text   string
		}{
			{"WrongNonce", olive, idptest.Next{Claims: func(c map[string]any) { c["nonce"] = "another sign-in's" }},
				http.StatusUnauthorized, "wrong_nonce", "could not verify"},
			{"WrongAudience", olive, idptest.Next{Claims: func(c map[string]any) { c["aud"] = "another-client" }},
				http.StatusUnauthorized, "wrong_audience", "could not verify"},
			{"Expired", olive, idptest.Next{Claims: func(c map[string]any) {
				c["iat"], c["exp"] = time.Now().Add(-time.Hour).Unix(), time.Now().Add(-30*time.Minute).Unix()
			}}, http.StatusUnauthorized, "expired", "could not verify"},
			{"BadSignature", olive, idptest.Next{WrongSignature: true}, http.StatusUnauthorized, "bad_signature",
				"could not verify"},
			{"UnknownKeyID", olive, idptest.Next{UnpublishedKey: true}, http.StatusUnauthorized, "unknown_key",
				"could not verify"},
			{"EmailNotVerified", idptest.User{Subject: "sub-bella", Email: "bella@acme.test", EmailVerified: false},
				idptest.Next{}, http.StatusForbidden, "email_not_verified", "does not confirm"},
			{"OtherSubjectWithALinkedEmail", idptest.User{Subject: "sub-mallory", Email: s.ownerEmail, EmailVerified: true},
				idptest.Next{}, http.StatusForbidden, "linked_to_another_identity", "linked to another identity"},
			{"ProviderError", bella, idptest.Next{Error: "access_denied"}, http.StatusUnauthorized, "idp_error",
				"access_denied"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := len(s.refusals())
				idp.SignInAs(tc.user)
				idp.SetNext(tc.next)
				b := s.browser()
				p := b.ssoSignIn(tc.user.Email)
				want(t, p, tc.status, "Single sign-on did not sign you in", tc.text, `href="/signin"`)
				s.checkRefused(t, b, before, tc.reason, linked, subjects)
			})
		}

		t.Run("StateMismatch", func(t *testing.T) {
			before := len(s.refusals())
			idp.SignInAs(olive)
			victim, attacker := s.browser(), s.browser()
			// The attacker begins a sign-in and makes the victim's browser
			// land on its callback (login CSRF).
			p := attacker.post("/signin", url.Values{"email": {s.ownerEmail}})
			callback := idptest.Follow(t, toProvider(t, p))
			want(t, victim.get(callback.String()), http.StatusUnauthorized, "Single sign-on did not sign you in",
				"started in another browser")
			s.checkRefused(t, victim, before, "state_mismatch", linked, subjects)
			// A made-up state is refused too; it names no organization, so
			// it reaches the log, not an audit log.
			q := callback.Query()
			q.Set("state", "made-up")
			want(t, victim.get("/sso/callback?"+q.Encode()), http.StatusUnauthorized, "not one Muster started")
		})
	})
}

// checkRefused checks that b is not signed in, that one more refusal was
// audited, with reason, and that no identity was linked.
func (s *ssoSite) checkRefused(t *testing.T, b *client, before int, reason string, linked int, subjects []string) {
	t.Helper()
	if b.signedIn() {
		t.Fatal("signed in after a refusal")
	}
	ev := s.refusals()
	if len(ev) != before+1 || ev[0].After["reason"] != reason || ev[0].Origin == "" {
		t.Fatalf("audit events: %d then %d; the newest %+v; want one more, for %s", before, len(ev), ev[0], reason)
	}
	if n := s.identities(s.idpIssuer(t), subjects...); n != linked {
		t.Fatalf("%d identities after the refusal; want %d", n, linked)
	}
}

// idpIssuer is the issuer of the org's connection.
func (s *ssoSite) idpIssuer(t *testing.T) string {
	t.Helper()
	st, err := s.svc.SSOSettings(s.ownerCtx)
	if err != nil {
		t.Fatal(err)
	}
	return st.Connection.Issuer
}

// TestSSOSettingsPages: the Owner connects, verifies a domain, runs a test
// sign-in and requires SSO through the console; the client secret is never
// shown again; the recovery codes are shown once and each signs in once.
func TestSSOSettingsPages(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		idp := idptest.Start(t, idptest.User{})
		s := &ssoSite{site: newSiteOn(t, db)}
		s.ownerEmail = "olive@acme.test"
		var b *client
		s.owner, b = s.createOrg("Acme", "Olive", "Owner", s.ownerEmail, ownerPassword)
		s.ownerCtx = muster.NewContext(context.Background(), muster.Principal{UserID: s.owner.ID, OrgID: s.owner.OrgID})

		want(t, b.get("/settings/sso"), http.StatusOK, s.srv.URL+"/sso/callback", s.srv.URL+"/sso/backchannel-logout")
		p := b.post("/settings/sso", url.Values{"issuer": {"ftp://idp"}, "client_id": {idp.ClientID}, "client_secret": {""}})
		want(t, p, http.StatusUnprocessableEntity, "Issuer URL must be", "Client secret is required")
		wantRedirect(t, b.post("/settings/sso", url.Values{"issuer": {idp.URL}, "client_id": {idp.ClientID},
			"client_secret": {idp.ClientSecret}, "scopes": {""}}), "/settings/sso")
		p = b.get("/settings/sso")
		want(t, p, http.StatusOK, idp.URL, "Leave empty to keep it", "has not succeeded yet")
		if strings.Contains(p.body, idp.ClientSecret) {
			t.Fatal("the settings page shows the client secret")
		}
		// Saved again without a secret: it stays.
		wantRedirect(t, b.post("/settings/sso", url.Values{"issuer": {idp.URL}, "client_id": {idp.ClientID},
			"client_secret": {""}, "scopes": {"groups"}}), "/settings/sso")

		// Domains.
		wantRedirect(t, b.post("/settings/domains", url.Values{"domain": {"Acme.test"}}), "/settings/domains")
		p = b.get("/settings/domains")
		record := regexp.MustCompile(`muster-verification=[A-Za-z0-9_-]+`).FindString(p.body)
		want(t, p, http.StatusOK, "acme.test", "Not verified")
		verify := regexp.MustCompile(`/settings/domains/\d+/verify`).FindString(p.body)
		want(t, b.post(verify, nil), http.StatusConflict, "has no TXT record")
		s.dns.SetTXT("acme.test", record)
		wantRedirect(t, b.post(verify, nil), "/settings/domains")
		want(t, b.get("/settings/domains"), http.StatusOK, "Verified")

		// SSO sign-in cannot turn on before a test; the test runs through the provider.
		want(t, b.post("/settings/sso/enabled", url.Values{"on": {"on"}}), http.StatusConflict, "Run a test sign-in")
		idp.SignInAs(idptest.User{Subject: "sub-olive", Email: s.ownerEmail, EmailVerified: true, GivenName: "Olive"})
		p = b.post("/settings/sso/test", nil)
		want(t, p, http.StatusOK, "A test sign-in")
		p = b.get(idptest.Follow(t, toProvider(t, p)).String())
		want(t, p, http.StatusOK, "Test sign-in succeeded", "Olive Owner &lt;olive@acme.test&gt;", "given_name",
			"sub-olive", "Claims received")
		want(t, b.get("/settings/sso"), http.StatusOK, "Your test sign-in with these settings succeeded")
		wantRedirect(t, b.post("/settings/sso/enabled", url.Values{"on": {"on"}}), "/settings/sso")
		wantRedirect(t, b.post("/settings/sso/jit", url.Values{"jit": {"on"}}), "/settings/sso")

		// An Admin sees the settings and changes none of them: whoever
		// controls the provider can sign in as the Owner.
		s.invite(s.ownerCtx, "Ada", "Admin", "ada@acme.test", muster.RoleAdmin)
		ada := s.join("ada@acme.test", "ada's long password")
		p = ada.get("/settings/sso")
		want(t, p, http.StatusOK, "Only the Owner changes these settings", idp.URL, idp.ClientID, "On: people of your verified domains",
			"On: a person of a verified domain")
		for _, form := range []string{`action="/settings/sso"`, `action="/settings/sso/enabled"`, `action="/settings/sso/jit"`} {
			if strings.Contains(p.body, form) {
				t.Fatalf("an Admin is offered %s", form)
			}
		}
		want(t, ada.post("/settings/sso/jit", url.Values{}), http.StatusForbidden, "Only the Owner can change just-in-time provisioning")

		// Require SSO: the codes, once; the Owner's own password session ends.
		p = b.post("/settings/sso/require", url.Values{"on": {"on"}})
		codes := regexp.MustCompile(`<code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code>`).FindAllStringSubmatch(p.body, -1)
		want(t, p, http.StatusOK, "Save your recovery codes now")
		if len(codes) != muster.RecoveryCodeCount {
			t.Fatalf("%d recovery codes shown; want %d", len(codes), muster.RecoveryCodeCount)
		}
		if b.signedIn() {
			t.Fatal("the Owner's password session outlived Require SSO")
		}
		code := codes[3][1]
		// A password alone is not enough now.
		r := s.browser()
		want(t, r.signIn(s.ownerEmail, ownerPassword), http.StatusOK, "Continue to Acme",
			"signs in with single sign-on, not with a password")
		// The recovery code, once.
		want(t, r.get("/signin/recovery"), http.StatusOK, "Recovery code")
		wantRedirect(t, r.post("/signin/recovery", url.Values{"email": {s.ownerEmail}, "password": {ownerPassword},
			"recovery_code": {code}}), "/")
		if !r.signedIn() {
			t.Fatal("not signed in with a recovery code")
		}
		want(t, r.get("/settings/sso"), http.StatusOK, "You have 9 unused recovery codes")
		want(t, s.browser().post("/signin/recovery", url.Values{"email": {s.ownerEmail}, "password": {ownerPassword},
			"recovery_code": {code}}), http.StatusUnauthorized, "match an Owner")
		// The Owner and the Admins are told.
		if m := s.deliver(s.ownerEmail); !strings.Contains(m.Subject, "recovery code") {
			t.Fatalf("the Owner's newest email: %q", m.Subject)
		}
	})
}

// TestBackChannelLogoutEndpoint: POST /sso/backchannel-logout with a
// provider-signed logout token ends the person's sessions (200, never
// cached); a bad token is 400 with an OAuth-style error.
func TestBackChannelLogoutEndpoint(t *testing.T) {
	s, idp := newSSOReady(t, storetest.OpenSQLite(t))
	b := s.browser()
	idp.SignInAs(idptest.User{Subject: "sub-olive", Email: s.ownerEmail, EmailVerified: true, SID: "s-1"})
	wantRedirect(t, b.ssoSignIn(s.ownerEmail), "/")
	provider := newClient(t, s.srv.URL, nil)

	p := provider.post("/sso/backchannel-logout", url.Values{"logout_token": {"not a token"}})
	want(t, p, http.StatusBadRequest, `"error":"invalid_request"`)
	if !b.signedIn() {
		t.Fatal("a refused logout token ended the session")
	}
	p = provider.post("/sso/backchannel-logout", url.Values{"logout_token": {idp.LogoutToken("", "s-1", nil)}})
	if p.StatusCode != http.StatusOK || p.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("logout: %d, Cache-Control %q\n%s", p.StatusCode, p.Header.Get("Cache-Control"), p.body)
	}
	if b.signedIn() {
		t.Fatal("the session outlived the back-channel logout")
	}
}

// TestSSOInvitations: an organization with SSO sign-in on says so in its
// invitations, and the accept page offers single sign-on, which links the
// identity to the invited user, whatever email the provider has for them;
// once SSO is required, the page offers nothing else, and a password
// through the link or a reset link is refused with a page saying why.
func TestSSOInvitations(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		s, idp := newSSOReady(t, db)
		gil := s.invite(s.ownerCtx, "Gil", "Guest", "gil@elsewhere.test", muster.RoleBasic)
		m := s.deliver(gil.Email)
		if !strings.Contains(m.Text, "Acme signs in with single sign-on") {
			t.Fatalf("the invitation does not say to join through SSO:\n%s", m.Text)
		}
		link := m.Link("/invitations/")
		b := s.browser()
		want(t, b.get(link), http.StatusOK, "Continue with single sign-on", "Or choose a password")
		// The provider knows Gil by another, unverified email: the
		// invitation link is what says who Gil is.
		idp.SignInAs(idptest.User{Subject: "sub-gil", Email: "gil.guest@provider.test", EmailVerified: false})
		p := b.post(link+"/sso", nil)
		wantRedirect(t, b.get(idptest.Follow(t, toProvider(t, p)).String()), "/")
		if u, err := s.svc.FindUser(s.ownerCtx, gil.ID); err != nil || u.Status != muster.StatusActive {
			t.Fatalf("Gil after joining through SSO: %+v, %v", u, err)
		}
		if s.identities(idp.URL, "sub-gil") != 1 {
			t.Fatal("Gil's identity is not linked")
		}
		want(t, b.get(link), http.StatusGone, "already been used")

		if _, err := s.svc.RequireSSO(s.ownerCtx, true); err != nil {
			t.Fatal(err)
		}
		hal := s.invite(s.ownerCtx, "Hal", "Hire", "hal@elsewhere.test", muster.RoleBasic)
		link = s.deliver(hal.Email).Link("/invitations/")
		p = s.browser().get(link)
		want(t, p, http.StatusOK, "Continue with single sign-on", "you need no Muster password")
		if strings.Contains(p.body, `type="password"`) {
			t.Fatal("the accept page of an organization that requires SSO asks for a password")
		}
		want(t, s.browser().post(link, url.Values{"password": {"hal's long password"}}), http.StatusForbidden,
			"passwords cannot be set or reset")

		// A reset link asked for before SSO was required.
		if _, err := s.svc.RequireSSO(s.ownerCtx, false); err != nil {
			t.Fatal(err)
		}
		want(t, s.browser().post("/password-reset", url.Values{"email": {s.ownerEmail}}), http.StatusOK)
		reset := s.deliver(s.ownerEmail).Link("/password-reset/")
		s.passTest(idp)
		if _, err := s.svc.RequireSSO(s.ownerCtx, true); err != nil {
			t.Fatal(err)
		}
		want(t, s.browser().get(reset), http.StatusForbidden, "Sign in with single sign-on")
		want(t, s.browser().post(reset, url.Values{"password": {"a brand new password"}}), http.StatusForbidden,
			"passwords cannot be set or reset")
	})
}
