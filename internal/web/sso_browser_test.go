package web_test

import (
	"regexp"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/testsupport/browsertest"
	"github.com/muster-app/muster/internal/testsupport/idptest"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// The single sign-on browser tests run against the zitadel/oidc example
// OpenID Provider: a real provider, with a real login form, whose ID tokens
// carry no email (Muster reads it from UserInfo).

var (
	zitadelOlive = idptest.ZitadelUser{ID: "u-olive", Username: "olive", Password: "olive at the provider",
		Email: "olive@acme.test", GivenName: "Olive", FamilyName: "Owner"}
	zitadelBella = idptest.ZitadelUser{ID: "u-bella", Username: "bella", Password: "bella at the provider",
		Email: "bella@acme.test", GivenName: "Bella", FamilyName: "Basic"}
)

// zitadelSite is Acme connected to a Zitadel example provider that knows
// users.
func zitadelSite(t *testing.T, users ...idptest.ZitadelUser) (*ssoSite, *idptest.Zitadel) {
	t.Helper()
	s := newAcme(t, storetest.OpenSQLite(t))
	z := idptest.StartZitadel(t, s.srv.URL+"/sso/callback", users...)
	s.connect(z.URL, z.ClientID, z.ClientSecret)
	return s, z
}

// toProviderBy clicks the button that leads to the provider. Not Click: the
// page it loads sends the browser on at once (a meta refresh), and a
// screenshot of it would wait for a page that is already gone; the
// provider's form is waited for instead.
func toProviderBy(b *browsertest.Tab, button string) {
	b.T.Helper()
	b.Do("on to the provider", chromedp.Click(byButton(button)))
}

// atProvider signs in on the provider's login form.
func atProvider(b *browsertest.Tab, u idptest.ZitadelUser, after string) {
	b.T.Helper()
	b.Type("the provider's login form", "Username:", u.Username, "Password:", u.Password)
	b.Click(after, byButton("Login"))
}

// ownerTurnsSSOOn: the Owner signs in with the password, runs the test
// sign-in from Settings through the provider, and turns SSO sign-in on.
func ownerTurnsSSOOn(b *browsertest.Tab, s *ssoSite) {
	b.T.Helper()
	b.SignIn(s.srv.URL, s.ownerEmail, ownerPassword)
	b.Open("single sign-on settings", s.srv.URL+"/settings/sso")
	b.Sees("before the test", "has not succeeded yet")
	toProviderBy(b, "Run a test sign-in")
	atProvider(b, zitadelOlive, "the test's result")
	b.Sees("the test's result", "Test sign-in succeeded", "Olive Owner <olive@acme.test> (Active)", "Claims received",
		"email_verified")
	b.Click("back to the settings", byButton("Back to single sign-on"))
	b.Click("SSO sign-in on", byButton("Turn SSO sign-in on"))
	b.Sees("SSO sign-in on", "SSO sign-in is on")
}

// TestBrowserSSOSignIn: the email first, Continue, the provider's login
// form, and back in Muster signed in — without JavaScript — as the Pending
// user invited with that email, now Active.
func TestBrowserSSOSignIn(t *testing.T) {
	b := browsertest.Chromium(t)
	s, _ := zitadelSite(t, zitadelOlive, zitadelBella)
	bella := s.invite(s.ownerCtx, "Bella", "Basic", zitadelBella.Email, muster.RoleBasic)
	ownerTurnsSSOOn(b, s)

	bb := b.Other("bella")
	bb.DisableJavaScript()
	bb.Open("sign-in", s.srv.URL+"/signin")
	bb.Type("the email", "Email", zitadelBella.Email)
	toProviderBy(bb, "Continue")
	atProvider(bb, zitadelBella, "back in Muster")
	bb.Sees("Bella's profile", "Bella Basic", "Basic User")
	if u, err := s.svc.FindUser(s.ownerCtx, bella.ID); err != nil || u.Status != muster.StatusActive {
		t.Fatalf("Bella after signing in through the provider: %+v, %v; want Active", u, err)
	}
	b.Open("the users", s.srv.URL+"/settings/roles-access")
	if row := b.Row(zitadelBella.Email); !regexp.MustCompile(`Active`).MatchString(row) {
		t.Fatalf("Bella's row on the Users tab: %q; want Active", row)
	}
}

// TestBrowserSSORequired: requiring SSO ends a password session at its
// next request; the Owner's recovery codes are shown once, and one signs
// the Owner in once and not twice; SSO sign-in keeps working.
func TestBrowserSSORequired(t *testing.T) {
	b := browsertest.Chromium(t)
	s, _ := zitadelSite(t, zitadelOlive)
	s.invite(s.ownerCtx, "Basil", "Basic", "basil@elsewhere.test", muster.RoleBasic)
	s.join("basil@elsewhere.test", "basil's long password")
	basil := b.Other("basil")
	basil.SignIn(s.srv.URL, "basil@elsewhere.test", "basil's long password")
	basil.Sees("Basil's profile", "Basil Basic")

	ownerTurnsSSOOn(b, s)
	b.Click("required", byButton("Require SSO"))
	b.Sees("the codes", "Save your recovery codes now")
	codes := regexp.MustCompile(`[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}`).FindAllString(b.Text(), -1)
	if len(codes) != muster.RecoveryCodeCount {
		t.Fatalf("%d recovery codes on the page; want %d", len(codes), muster.RecoveryCodeCount)
	}

	basil.Open("Basil's next request", s.srv.URL+"/")
	basil.Sees("Basil's password session ended", "Your session has ended")

	for i, want := range []string{"Olive Owner", "match an Owner"} {
		o := b.Other("owner with a recovery code")
		o.Open("recovery sign-in", s.srv.URL+"/signin/recovery")
		o.Type("email, password and code", "Email", s.ownerEmail, "Password", ownerPassword, "Recovery code", codes[0])
		o.Click("signed in or refused", byButton("Sign in"))
		o.Sees([]string{"the first use", "the second use"}[i], want)
	}

	o := b.Other("owner through the provider")
	o.Open("sign-in", s.srv.URL+"/signin")
	o.Type("the email", "Email", s.ownerEmail)
	toProviderBy(o, "Continue")
	atProvider(o, zitadelOlive, "back in Muster")
	o.Sees("the Owner's profile", "Olive Owner")
}
