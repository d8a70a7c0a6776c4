package web_test

// A fuzz target of the second step of sign-in: whatever is posted as the
// code (and whatever cookie claims a pending sign-in), the console answers
// without a 5xx and signs nobody in.

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

func FuzzSecondStep(f *testing.F) {
	c := newFuzzConsole(f, true)
	en, err := c.svc.StartTOTP(c.owner, "", service.Client{IP: "192.0.2.1", Origin: "test"})
	if err != nil {
		f.Fatal(err)
	}
	code, _ := totp.GenerateCode(en.Secret, time.Now())
	done, err := c.svc.ConfirmTOTP(c.owner, "", code, service.Client{IP: "192.0.2.1", Origin: "test"})
	if err != nil {
		f.Fatal(err)
	}
	rec := c.post("/signin", url.Values{"email": {"owner@example.com"}, "password": {ownerPassword}}.Encode())
	var pending string
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == "muster_signin" {
			pending = ck.Value
		}
	}
	if pending == "" {
		f.Fatalf("the password step set no pending sign-in: %d %v", rec.Code, rec.Result().Cookies())
	}
	for _, body := range []string{"code=000000", "code=123+456", "code=" + url.QueryEscape(done.RecoveryCodes.Codes[0][:5]),
		"code=%00%ff", "code=" + strings.Repeat("9", 5000), "code=1&code=2", "remember=on&code=abcd-efgh-ijkm-npqr",
		"next=%2F%2Fevil.example&code=1", ""} {
		f.Add(body, pending)
		f.Add(body, "")
		f.Add(body, pending+"x")
	}
	f.Fuzz(func(t *testing.T, body, cookie string) {
		req, _ := http.NewRequest("POST", baseURL+"/signin/two-step", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if cookie != "" && !strings.ContainsAny(cookie, "\x00;\r\n") {
			req.AddCookie(&http.Cookie{Name: "muster_signin", Value: cookie})
		}
		rec := httptest.NewRecorder()
		c.h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("POST /signin/two-step %q: %d\n%s", body, rec.Code, rec.Body)
		}
		for _, ck := range rec.Result().Cookies() {
			if ck.Name == "muster_session" && ck.Value != "" {
				t.Fatalf("POST /signin/two-step %q signed in", body)
			}
		}
	})
}

// FuzzSignInSecurityForm posts the Owner's sign-in security form: no 5xx,
// and a policy saved holds a scope and a grace period within their limits.
func FuzzSignInSecurityForm(f *testing.F) {
	c := newFuzzConsole(f, true)
	formSeeds(f, url.Values{"two_step": {"admins"}, "grace_days": {"7"}, "remember_browser": {"on"}})
	for _, body := range []string{"two_step=everyone&grace_days=0", "two_step=off&grace_days=90", "two_step=everyone&grace_days=91",
		"two_step=everyone&grace_days=-1", "two_step=everyone&grace_days=+7", "two_step=everyone&grace_days=9999999999999999999",
		"two_step=EVERYONE&grace_days=7", "two_step=everyone&two_step=off&grace_days=7", "grace_days=%E0%A5%AD"} {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		if c.postChecked(t, "/settings/organization/sign-in-security", body) >= 400 {
			return
		}
		p, err := c.svc.TwoStepPolicy(c.owner)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := muster.ParseTwoStepScope(string(p.Scope)); !ok || p.GraceDays < 0 || p.GraceDays > muster.MaxTwoStepGraceDays {
			t.Fatalf("POST %q saved %+v", body, p)
		}
	})
}
