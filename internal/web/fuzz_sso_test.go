package web_test

// Fuzz targets of single sign-on's edges in the console: the provider's
// callback (its query and the browser's cookie), the back-channel logout
// endpoint (its body) and the connection form. Each runs against the
// console on SQLite, whose organization is connected to a provider in the
// process, and requires that nothing answers 5xx and that nothing the
// fuzzer sends signs anyone in or ends a session.

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/testsupport/idptest"
)

// newFuzzSSOConsole is the fuzz console whose organization is connected to
// a provider that signs in as the Owner.
func newFuzzSSOConsole(f *testing.F) (*fuzzConsole, *idptest.Provider) { return newFuzzSSOConsoleT(f) }

func newFuzzSSOConsoleT(f testing.TB) (*fuzzConsole, *idptest.Provider) {
	c := newFuzzConsole(f, true)
	idp := idptest.Start(f, idptest.User{Subject: "sub-owner", Email: "owner@example.com", EmailVerified: true})
	if _, err := c.svc.SaveSSOConnection(c.owner, service.SSOConnectionInput{Issuer: idp.URL, ClientID: idp.ClientID,
		ClientSecret: idp.ClientSecret}); err != nil {
		f.Fatal(err)
	}
	return c, idp
}

// live reports whether the Owner's session still opens the profile.
func (c *fuzzConsole) live() bool {
	req := httptest.NewRequest("GET", baseURL+"/", nil)
	for _, ck := range c.cookies {
		req.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	return rec.Code == http.StatusOK
}

func FuzzSSOCallback(f *testing.F) {
	c, _ := newFuzzSSOConsole(f)
	start, err := c.svc.StartSSOTest(c.owner)
	if err != nil {
		f.Fatal(err)
	}
	// A real sign-in's state, once with its browser's cookie: the fuzzer
	// starts from a callback that goes as far as the code's exchange.
	u, _ := url.Parse(start.URL)
	state := u.Query().Get("state")
	for _, q := range []string{"state=" + state + "&code=abc", "state=" + state + "&error=access_denied&error_description=No",
		"state=x&code=y", "code=y", "state=x", "", "state=%00&code=y", "state=a&state=b&code=c", "error=%ff",
		"state=x&code=y&iss=https%3A%2F%2Fevil.example", "state=" + strings.Repeat("s", 300) + "&code=y"} {
		f.Add(q, start.BrowserSecret)
		f.Add(q, "")
	}
	f.Fuzz(func(t *testing.T, query, cookie string) {
		req := httptest.NewRequest("GET", baseURL+"/sso/callback", nil)
		req.URL.RawQuery = query
		if cookie != "" {
			// As a browser sends it, whatever its bytes.
			req.Header.Set("Cookie", "muster_sso="+cookie)
		}
		rec := httptest.NewRecorder()
		c.h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("GET /sso/callback?%s: %d\n%s", query, rec.Code, rec.Body)
		}
		for _, ck := range rec.Result().Cookies() {
			if ck.Name == "muster_session" && ck.Value != "" {
				t.Fatalf("GET /sso/callback?%s signed someone in", query)
			}
		}
	})
}

func FuzzBackChannelLogout(f *testing.F) {
	c, idp := newFuzzSSOConsole(f)
	valid := idp.LogoutToken("sub-nobody", "", nil)
	parts := strings.Split(valid, ".")
	for _, body := range []string{"logout_token=" + valid, "logout_token=" + parts[0] + "." + parts[1] + ".AAAA",
		"logout_token=not.a.jwt", "logout_token=", "", "logout_token=a&logout_token=b", "logout_token=%ff",
		"logout_token=" + parts[0] + ".e30." + parts[2], "logout_token=eyJhbGciOiJub25lIn0.e30."} {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("POST", baseURL+"/sso/backchannel-logout", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		c.h.ServeHTTP(rec, req)
		switch {
		case rec.Code >= 500:
			t.Fatalf("POST %q: %d\n%s", body, rec.Code, rec.Body)
		case rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest:
			t.Fatalf("POST %q: %d; want 200 or 400", body, rec.Code)
		case rec.Header().Get("Cache-Control") != "no-store":
			t.Fatalf("POST %q: Cache-Control %q", body, rec.Header().Get("Cache-Control"))
		}
		// Nobody is linked to the provider: no token ends the Owner's session.
		if !c.live() {
			t.Fatalf("POST %q ended the Owner's session", body)
		}
	})
}

func FuzzSSOForm(f *testing.F) {
	c := newFuzzConsole(f, true)
	formSeeds(f, url.Values{"issuer": {"https://idp.example.com"}, "client_id": {"muster"}, "client_secret": {"s3cret"},
		"scopes": {"groups offline_access"}})
	f.Add("issuer=http%3A%2F%2F127.0.0.1%3A1&client_id=x&client_secret=y&scopes=openid,email")
	f.Add("issuer=javascript%3Aalert(1)&client_id=x&client_secret=y")
	f.Fuzz(func(t *testing.T, body string) {
		c.postChecked(t, "/settings/sso", body)
	})
}
