package web_test

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"strings"
	"testing"
	"time"

	qr "github.com/piglig/go-qr"
	"github.com/pquerna/otp/totp"

	"github.com/muster-app/muster/internal/testsupport/browsertest"
)

// TestBrowserTwoStep sets up an authenticator app on the Security page
// (reading its QR code back as the phone would), then signs in with the
// password and a code computed from the secret the page showed, with
// JavaScript on and off.
func TestBrowserTwoStep(t *testing.T) {
	withAndWithoutJS(t, func(t *testing.T, b *browsertest.Tab, js bool) {
		s := newSite(t)
		s.org()
		b.SignIn(s.srv.URL, s.ownerEmail, ownerPassword)
		b.Open("security", s.srv.URL+"/account/security")
		b.Sees("two-step off", "Two-step verification", "Off")
		b.Click("set up", byButton("Set up an authenticator app"))
		b.Sees("the QR code page", "Scan this QR code")

		key := strings.ReplaceAll(browsertest.Eval[string](b, `document.querySelector(".secret-value").textContent`), " ", "")
		src := browsertest.Eval[string](b, `document.querySelector("img.qr").getAttribute("src")`)
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(src, "data:image/png;base64,"))
		if err != nil {
			t.Fatalf("QR image %.40q: %v", src, err)
		}
		img, err := png.Decode(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		text, err := qr.Decode(img)
		if err != nil || !strings.HasPrefix(text, "otpauth://totp/Muster:") || !strings.Contains(text, "secret="+key) {
			t.Fatalf("the QR code reads %q, %v; want the otpauth URL of the key %s beside it", text, err, key)
		}

		b.Type("a wrong code", "Code from the app", "000000")
		b.Click("refused", byButton("Turn on"))
		b.Sees("refused", "That code is not right")
		code, err := totp.GenerateCode(key, s.now0())
		if err != nil {
			t.Fatal(err)
		}
		b.Type("the code", "Code from the app", code)
		b.Click("turned on", byButton("Turn on"))
		b.Sees("recovery codes", "Save these codes now")
		b.Click("saved", byButton("I have saved them"))
		b.Sees("on", "On", "Authenticator app", "10 of 10 unused")

		// Another browser: the password, then the second step.
		other := b.Other("other browser")
		if !js {
			other.DisableJavaScript()
		}
		other.SignIn(s.srv.URL, s.ownerEmail, ownerPassword)
		other.Sees("the second step", "Two-step verification", "Enter the code your authenticator app shows")
		other.Open("no session yet", s.srv.URL+"/account/security")
		other.Sees("signed out", "Sign in")
		other.SignIn(s.srv.URL, s.ownerEmail, ownerPassword)
		s.advance(30 * time.Second)
		other.Type("the code", "Code", code)
		other.Click("replay refused", byButton("Verify"))
		other.Sees("replay refused", "That code is not right, or has been used already")
		next, err := totp.GenerateCode(key, s.now0())
		if err != nil {
			t.Fatal(err)
		}
		other.Type("the next code", "Code", next)
		other.Click("signed in", byButton("Verify"))
		other.Sees("signed in", "Olive Owner")
		other.Open("security", s.srv.URL+"/account/security")
		other.Sees("on", "On")
	})
}
