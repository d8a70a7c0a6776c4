package web_test

import (
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

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

// TestBrowserPasskeys registers a passkey from Chromium's virtual security
// key, through the page's script and the real ceremony, then removes it,
// which, as the last factor, takes the password and the key's signature.
func TestBrowserPasskeys(t *testing.T) {
	b := browsertest.Chromium(t)
	s := newSiteAt(t, storetest.OpenSQLite(t), localhost)
	base := localhost(s.srv.URL)
	_, ownerCtx := s.org()
	key := b.AddSecurityKey()

	b.SignIn(base, s.ownerEmail, ownerPassword)
	b.Click("passkeys", byButton("Passkeys"))
	b.Sees("no passkey yet", "You have no passkey yet.")
	b.SeesNot("with JavaScript", "Passkeys need JavaScript")
	b.Type("name it", "Name", "Desk key")
	b.Click("added", byButton("Add passkey"))
	b.Sees("after adding", "Passkey “Desk key” added.", "Desk key", "Never")

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
	b.Type("name another", "Name", "Same key")
	b.Do("add it again", chromedp.Click(byButton("Add passkey")))
	b.Do("wait for the refusal", chromedp.WaitVisible(chromedp.CSS("[data-passkey-error]")))
	b.Sees("refused", "This passkey is already registered with Muster.")

	// Removing the last factor asks for the password and a passkey.
	b.Click("remove it", byButton("Remove Desk key"))
	b.Sees("the proof", "This is your last passkey", "Your password")
	b.Type("the password", "Your password", ownerPassword)
	b.Click("removed", byButton("Confirm with a passkey and remove"))
	b.Sees("after removing", "Passkey “Desk key” removed.", "You have no passkey yet.")
	if keys, err := s.svc.Passkeys(ownerCtx); err != nil || len(keys) != 0 {
		t.Fatalf("stored passkeys after the removal: %+v, %v", keys, err)
	}
}

// TestBrowserPasskeyWrongOrigin: a server whose base URL is another origin
// than the page's refuses the passkey the browser made for the page's, with
// words that say so, and stores nothing.
func TestBrowserPasskeyWrongOrigin(t *testing.T) {
	b := browsertest.Chromium(t)
	// The same host, another port: the browser accepts the relying party
	// ID (localhost), but the answer's origin is not the server's.
	elsewhere := func(srvURL string) string { return "http://localhost:1" }
	s := newSiteAt(t, storetest.OpenSQLite(t), elsewhere)
	page := localhost(s.srv.URL)
	_, ownerCtx := s.org()
	key := b.AddSecurityKey()

	b.SignIn(page, s.ownerEmail, ownerPassword)
	b.Open("passkeys", page+"/account/security/passkeys")
	b.Type("name it", "Name", "Desk key")
	b.Click("refused", byButton("Add passkey"))
	b.Sees("the refusal", "The passkey answered for "+page+", not for http://localhost:1")
	b.SeesNot("nothing added", "added.")
	if keys, err := s.svc.Passkeys(ownerCtx); err != nil || len(keys) != 0 {
		t.Fatalf("stored passkeys: %+v, %v; want none", keys, err)
	}
	if n := len(key.Credentials()); n != 1 {
		t.Fatalf("the security key holds %d credentials; want the one the browser made", n)
	}
}

// TestBrowserPasskeysWithoutJavaScript: the page says that passkeys need
// JavaScript, a form sent without it adds nothing, and the rest of the
// console works.
func TestBrowserPasskeysWithoutJavaScript(t *testing.T) {
	b := browsertest.Chromium(t)
	b.DisableJavaScript()
	s := newSiteAt(t, storetest.OpenSQLite(t), localhost)
	base := localhost(s.srv.URL)
	_, ownerCtx := s.org()

	b.SignIn(base, s.ownerEmail, ownerPassword)
	b.Click("passkeys", byButton("Passkeys"))
	b.Sees("the notice", "Passkeys need JavaScript, which is off or blocked in this browser.",
		"everything else in Muster, your password included, works without it")
	b.Type("name it", "Name", "Desk key")
	b.Click("sent without the script", byButton("Add passkey"))
	b.Sees("refused", "No passkey was asked")
	if keys, err := s.svc.Passkeys(ownerCtx); err != nil || len(keys) != 0 {
		t.Fatalf("stored passkeys: %+v, %v; want none", keys, err)
	}
	b.Click("back", byButton("Back to your profile"))
	if body := b.Text(); !strings.Contains(body, "Olive Owner") {
		t.Fatalf("the profile: %s", body)
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
			look("passkeys, none", "/account/security/passkeys")
			b.Type("name it", "Name", "YubiKey 5C NFC on the blue keyring")
			b.Click("passkey added", byButton("Add passkey"))
			b.Type("name another", "Name", "Again")
			b.Do("refused by the browser", chromedp.Click(byButton("Add passkey")),
				chromedp.WaitVisible(chromedp.CSS("[data-passkey-error]")))
			b.Screenshot("passkeys, refused by the browser")
			b.Click("rename", byButton("Rename YubiKey 5C NFC on the blue keyring"))
			b.Click("remove", byButton("Cancel"))
			b.Click("remove the last", byButton("Remove YubiKey 5C NFC on the blue keyring"))
			b.Type("a wrong password", "Your password", "not the password")
			b.Click("remove refused", byButton("Confirm with a passkey and remove"))
		})
	}
}
