package web_test

import (
	"net/url"
	"os"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/testsupport/browsertest"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// localhost is the server's URL with the host name localhost: WebAuthn
// needs a host name for its relying party ID (an IP address is refused),
// and a browser trusts http://localhost as it trusts https.
func localhost(srvURL string) string {
	u, err := url.Parse(srvURL)
	if err != nil {
		panic(err)
	}
	return "http://localhost:" + u.Port()
}

// addPasskey adds the tab's security key as the passkey named name from
// the Security page, the first factor: it returns the recovery codes the
// page shows once.
func addPasskey(t *testing.T, b *browsertest.Tab, base, name string) []string {
	t.Helper()
	b.Open("security", base+"/account/security")
	b.SeesNot("with JavaScript", "Passkeys need JavaScript")
	b.Type("name it", "Passkey name", name)
	b.Click("added", byButton("Add a passkey"))
	b.Sees("the first factor's recovery codes", "Your recovery codes", "Save these codes now")
	codes := browsertest.Eval[[]string](b, `[...document.querySelectorAll("ul.codes code")].map(c => c.textContent)`)
	if len(codes) != 10 {
		t.Fatalf("the page shows %d recovery codes; want 10", len(codes))
	}
	b.Click("saved", byButton("I have saved them"))
	b.Sees("after adding", "Passkey “"+name+"” added.", "Passkey or security key", name, "On")
	return codes
}

// TestBrowserPasskeys adds a passkey from Chromium's virtual security key
// on the Security page, through the page's script and the real ceremony;
// signs in with the password and then the passkey; and turns it off, the
// last factor, with the password and the key's signature.
func TestBrowserPasskeys(t *testing.T) {
	b := browsertest.Chromium(t)
	s := newSiteAt(t, storetest.OpenSQLite(t), localhost)
	base := localhost(s.srv.URL)
	owner, ownerCtx := s.org()
	key := b.AddSecurityKey()

	b.SignIn(base, s.ownerEmail, ownerPassword)
	addPasskey(t, b, base, "Desk key")
	creds := key.Credentials()
	if len(creds) != 1 || creds[0].RpID != "localhost" {
		t.Fatalf("the security key holds %+v; want one credential for localhost", creds)
	}
	keys, err := s.svc.Passkeys(ownerCtx)
	if err != nil || len(keys) != 1 || keys[0].Name != "Desk key" || string(keys[0].CredentialID) != string(creds[0].CredentialID) {
		t.Fatalf("stored passkeys: %+v, %v; want Desk key with the key's credential", keys, err)
	}

	// The same key again: the browser's authenticator refuses (it is
	// excluded), and the page says why.
	b.Type("name another", "Passkey name", "Same key")
	b.Do("add it again", chromedp.Click(byButton("Add a passkey")),
		chromedp.WaitVisible(chromedp.CSS("[data-passkey-error]")))
	b.Sees("refused", "This passkey is already registered with Muster.")

	// Rename it.
	b.Click("rename", byButton("Rename"))
	b.Retype("the new name", "Name", "Blue key")
	b.Click("renamed", byButton("Rename"))
	b.Sees("renamed", "The passkey is now called “Blue key”.", "Blue key")

	// Sign out; the password alone no longer signs in.
	b.Do("open the menu", chromedp.Click(byButton("Olive Owner")))
	b.Click("signed out", byButton("Sign out"))
	b.SignIn(base, s.ownerEmail, ownerPassword)
	b.Sees("the second step", "Two-step verification", "Or use a passkey")
	b.SeesNot("with JavaScript", "Passkeys need JavaScript")
	b.Click("signed in", byButton("Use a passkey"))
	b.Sees("signed in", "Olive Owner", "Acme")
	keys, err = s.svc.Passkeys(ownerCtx)
	if err != nil || len(keys) != 1 || keys[0].LastUsedAt.IsZero() {
		t.Fatalf("stored passkeys after the sign-in: %+v, %v; want it used", keys, err)
	}

	// Turning off the last factor asks for the password and a current
	// factor: the passkey.
	b.Open("security", base+"/account/security")
	b.Click("turn off", byButton("Turn off: Passkey or security key Blue key"))
	b.Sees("the proof", "It is your only factor", "Or confirm with a passkey")
	b.Type("the password", "Your password", ownerPassword)
	b.Click("turned off", byButton("Confirm with a passkey and turn off"))
	b.Sees("after turning it off", "The factor is off.", "Off")
	if keys, err := s.svc.Passkeys(ownerCtx); err != nil || len(keys) != 0 {
		t.Fatalf("stored passkeys after the removal: %+v, %v", keys, err)
	}
	_ = owner
}

// TestBrowserPasskeyWrongOrigin: a server whose base URL is another origin
// than the page's refuses what the browser's passkey signed for the page's
// origin, with words that say so, and changes nothing: a registration, and
// a second step whose passkey was added at the right address.
func TestBrowserPasskeyWrongOrigin(t *testing.T) {
	b := browsertest.Chromium(t)
	// The same host, another port: the browser accepts the relying party
	// ID (localhost), but the answer's origin is not the server's.
	elsewhere := func(string) string { return "http://localhost:1" }
	db := storetest.OpenSQLite(t)
	wrong := newSiteAt(t, db, elsewhere)
	page := localhost(wrong.srv.URL)
	_, ownerCtx := wrong.org()
	key := b.AddSecurityKey()

	b.SignIn(page, wrong.ownerEmail, ownerPassword)
	b.Open("security", page+"/account/security")
	b.Type("name it", "Passkey name", "Desk key")
	b.Click("refused", byButton("Add a passkey"))
	b.Sees("the refusal", "The passkey answered for "+page+", not for http://localhost:1")
	b.SeesNot("nothing added", "added.")
	if keys, err := wrong.svc.Passkeys(ownerCtx); err != nil || len(keys) != 0 {
		t.Fatalf("stored passkeys: %+v, %v; want none", keys, err)
	}

	// The same database served at its right address: the passkey is
	// added there, then the wrong server refuses it as a second step.
	right := newSiteAt(t, db, localhost)
	at := localhost(right.srv.URL)
	b.Open("profile at the right address", at+"/")
	addPasskey(t, b, at, "Desk key")
	// A discoverable credential for the same person replaces the one the
	// key made for the refused registration.
	if n := len(key.Credentials()); n != 1 {
		t.Fatalf("the security key holds %d credentials; want one", n)
	}
	b.Do("open the menu", chromedp.Click(byButton("Olive Owner")))
	b.Click("signed out", byButton("Sign out"))
	b.SignIn(page, wrong.ownerEmail, ownerPassword)
	b.Click("the passkey's answer", byButton("Use a passkey"))
	b.Sees("refused", "The passkey answered for "+page+", not for http://localhost:1", "Two-step verification")
	b.Open("still signed out", page+"/account/security")
	b.Sees("signed out", "Sign in")
}

// TestBrowserPasskeysWithoutJavaScript: the Security page and the second
// step say that passkeys need JavaScript, a passkey form sent without it
// changes nothing, and a recovery code still completes the sign-in.
func TestBrowserPasskeysWithoutJavaScript(t *testing.T) {
	b := browsertest.Chromium(t)
	s := newSiteAt(t, storetest.OpenSQLite(t), localhost)
	base := localhost(s.srv.URL)
	_, ownerCtx := s.org()
	b.AddSecurityKey()
	b.SignIn(base, s.ownerEmail, ownerPassword)
	codes := addPasskey(t, b, base, "Desk key")

	off := b.Other("without JavaScript")
	off.DisableJavaScript()
	off.SignIn(base, s.ownerEmail, ownerPassword)
	off.Sees("the second step", "Two-step verification", "Passkeys need JavaScript, which is off or blocked in this browser.")
	off.Click("sent without the script", byButton("Use a passkey"))
	off.Sees("refused", "No passkey was asked", "Two-step verification")
	off.Type("a recovery code", "Code", codes[0])
	off.Click("signed in", byButton("Verify"))
	off.Sees("signed in", "You signed in with a recovery code.")

	off.Open("security", base+"/account/security")
	off.Sees("the notice", "Passkeys need JavaScript, which is off or blocked in this browser.")
	off.Type("name it", "Passkey name", "Laptop")
	off.Click("sent without the script", byButton("Add a passkey"))
	off.Sees("refused", "No passkey was asked")
	if keys, err := s.svc.Passkeys(ownerCtx); err != nil || len(keys) != 1 {
		t.Fatalf("stored passkeys: %+v, %v; want Desk key alone", keys, err)
	}
}

// TestBrowserPasskeyEnrolment: where the organization requires two-step
// verification, a sign-in without a factor may set up a passkey, which
// completes it.
func TestBrowserPasskeyEnrolment(t *testing.T) {
	b := browsertest.Chromium(t)
	s := newSiteAt(t, storetest.OpenSQLite(t), localhost)
	base := localhost(s.srv.URL)
	_, ownerCtx := s.org()
	if _, err := s.svc.SetTwoStepPolicy(ownerCtx, service.TwoStepPolicyInput{Scope: muster.TwoStepEveryone}); err != nil {
		t.Fatal(err)
	}
	b.AddSecurityKey()
	b.SignIn(base, s.ownerEmail, ownerPassword)
	b.Sees("enrolment", "your organization requires two-step verification", "Or add a passkey")
	b.Type("name it", "Passkey name", "Desk key")
	b.Click("recovery codes", byButton("Add a passkey"))
	b.Sees("the first factor's recovery codes", "Your recovery codes")
	b.Click("signed in", byButton("I have saved them"))
	b.Sees("signed in", "Olive Owner", "Acme")
	if keys, err := s.svc.Passkeys(ownerCtx); err != nil || len(keys) != 1 || keys[0].Name != "Desk key" {
		t.Fatalf("stored passkeys: %+v, %v", keys, err)
	}
}

// TestBrowserPasskeyScreenshots takes the passkey pages at 1366×900 and at
// 390×844 (a phone), for a person to look at, under MUSTER_SCREENSHOTS=dir;
// at the phone's size no page may scroll sideways.
func TestBrowserPasskeyScreenshots(t *testing.T) {
	if os.Getenv("MUSTER_SCREENSHOTS") == "" {
		t.Skip("set MUSTER_SCREENSHOTS=dir to take the screenshots")
	}
	for _, size := range []struct {
		name string
		w, h int64
	}{{"desktop", 1366, 900}, {"phone", 390, 844}} {
		t.Run(size.name, func(t *testing.T) {
			b := browsertest.Chromium(t)
			b.Viewport(size.w, size.h, size.w < 500)
			s := newSiteAt(t, storetest.OpenSQLite(t), localhost)
			base := localhost(s.srv.URL)
			s.org()
			b.AddSecurityKey()
			b.SignIn(base, s.ownerEmail, ownerPassword)
			look := func(name, path string) {
				t.Helper()
				b.Open(name, base+path)
				if w := browsertest.Eval[int](b, `document.documentElement.scrollWidth`) - int(size.w); w > 0 {
					t.Errorf("%s scrolls sideways by %d px", path, w)
				}
			}
			look("security, no factor", "/account/security")
			b.Type("name it", "Passkey name", "YubiKey 5C NFC on the blue keyring")
			b.Click("recovery codes", byButton("Add a passkey"))
			b.Click("passkey added", byButton("I have saved them"))
			b.Type("name another", "Passkey name", "Again")
			b.Do("refused by the browser", chromedp.Click(byButton("Add a passkey")),
				chromedp.WaitVisible(chromedp.CSS("[data-passkey-error]")))
			b.Screenshot("security, refused by the browser")
			b.Click("rename", byButton("Rename"))
			b.Click("back", byButton("Cancel"))
			b.Click("turn off the last", byButton("Turn off: Passkey or security key YubiKey 5C NFC on the blue keyring"))
			b.Type("a wrong password", "Your password", "not the password")
			b.Click("turn off refused", byButton("Confirm with a passkey and turn off"))
			b.Do("open the menu", chromedp.Click(byButton("Olive Owner")))
			b.Click("signed out", byButton("Sign out"))
			b.SignIn(base, s.ownerEmail, ownerPassword)
			b.Screenshot("second step with a passkey")
		})
	}
}
