package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/web"
)

func validSetup() url.Values {
	return url.Values{"org": {"Acme Corp"}, "licenses": {"25"}, "first_name": {"Olive"},
		"last_name": {"Owner"}, "email": {"Olive@Example.com"}}
}

func TestHealthz(t *testing.T) {
	e := newEnv(t)
	r := e.get("/healthz")
	want(t, r, http.StatusOK)
	if r.body != "ok" {
		t.Fatalf("body = %q; want ok", r.body)
	}
	if r := e.do("POST", "/healthz", url.Values{}, nil); r.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST /healthz = %d; want 405", r.StatusCode)
	}
}

func TestReadyz(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		r := newEnv(t).get("/readyz")
		want(t, r, http.StatusOK)
	})
	t.Run("ErrDatabaseClosed", func(t *testing.T) {
		e := newEnv(t)
		if err := e.db.Close(); err != nil {
			t.Fatal(err)
		}
		want(t, e.get("/readyz"), http.StatusServiceUnavailable)
	})
	t.Run("ErrSlowDatabase", func(t *testing.T) {
		p := &slowPinger{}
		e := newEnvWith(t, p)
		want(t, e.get("/readyz"), http.StatusServiceUnavailable)
		if p.timeout <= 0 || p.timeout > web.ReadyTimeout {
			t.Fatalf("ping deadline in %v; want at most %v", p.timeout, web.ReadyTimeout)
		}
	})
}

// slowPinger reports how long it was given and answers as if the database
// had not answered in time.
type slowPinger struct{ timeout time.Duration }

func (p *slowPinger) Ping(ctx context.Context) error {
	d, ok := ctx.Deadline()
	if !ok {
		return errors.New("no deadline")
	}
	p.timeout = time.Until(d)
	return context.DeadlineExceeded
}

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	e.get("/healthz")
	e.get("/healthz")
	e.get("/no-such-page")
	r := e.get("/metrics")
	want(t, r, http.StatusOK)
	for _, want := range []string{
		`muster_http_requests_total{route="GET /healthz",status="200"} 2`,
		`muster_http_requests_total{route="unmatched",status="404"} 1`,
		`muster_http_request_duration_seconds_bucket{route="GET /healthz",status="200",le="+Inf"} 2`,
		"go_goroutines ",
		"process_cpu_seconds_total ",
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	for _, r := range []page{
		e.get("/"), e.get("/setup"), e.get("/healthz"), e.get("/static/muster.css"), e.get("/nope"),
		e.do("POST", "/setup", validSetup(), http.Header{"Sec-Fetch-Site": {"cross-site"}}),
	} {
		for k, want := range map[string]string{
			"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
				"form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
			"X-Content-Type-Options": "nosniff",
			"Referrer-Policy":        "same-origin",
			"X-Frame-Options":        "DENY",
		} {
			if got := r.Header.Get(k); got != want {
				t.Errorf("%s %s: %s = %q; want %q", r.Request.Method, r.Request.URL.Path, k, got, want)
			}
		}
	}
}

func TestStatic(t *testing.T) {
	r := newEnv(t).get("/static/muster.css")
	want(t, r, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/css") {
		t.Fatalf("Content-Type = %q; want text/css", ct)
	}
}

var labelFor = regexp.MustCompile(`<label for="([a-z_]+)">([^<]+)</label>`)

func TestFirstRun(t *testing.T) {
	e := newEnv(t)

	wantRedirect(t, e.get("/"), "/setup")

	form := e.get("/setup")
	want(t, form, http.StatusOK)
	labels := map[string]string{}
	for _, m := range labelFor.FindAllStringSubmatch(form.body, -1) {
		labels[m[1]] = m[2]
	}
	for id, label := range map[string]string{"org": "Organization name", "first_name": "First Name",
		"last_name": "Last Name", "email": "Email", "licenses": "License total"} {
		if labels[id] != label {
			t.Errorf("label for %s = %q; want %q", id, labels[id], label)
		}
		if !strings.Contains(form.body, `<input id="`+id+`" name="`+id+`"`) {
			t.Errorf("no input with id and name %s", id)
		}
	}
	inlineScript := strings.Count(form.body, "<script") != strings.Count(form.body, `<script src="/static/`)
	if inlineScript || strings.Contains(form.body, "<style") || strings.Contains(form.body, "style=") {
		t.Error("the page has inline script or style, which the CSP blocks")
	}

	t.Run("ErrInvalid", func(t *testing.T) {
		in := validSetup()
		in.Set("org", "  ")
		in.Set("licenses", "0")
		in.Set("email", "not-an-email")
		r := e.do("POST", "/setup", in, nil)
		want(t, r, http.StatusUnprocessableEntity)
		for _, want := range []string{
			`<p class="field-error" id="org-error">Organization name is required.</p>`,
			`<p class="field-error" id="licenses-error">The license total must be a whole number from 1 to 10000000.</p>`,
			`<p class="field-error" id="email-error">Enter an email address like name@example.com.</p>`,
			`value="not-an-email"`, `value="Olive"`, `value="Owner"`, `value="0"`,
			`aria-invalid="true"`, `aria-describedby="email-error email-hint"`,
			`<div class="error-summary" role="alert" tabindex="-1" autofocus`, `<p>Please correct the 3 problems marked below.</p>`,
			`<a href="#org">Organization name: Organization name is required.</a>`,
		} {
			if !strings.Contains(r.body, want) {
				t.Errorf("page lacks %s", want)
			}
		}
		if n := e.orgCount(); n != 0 {
			t.Fatalf("%d orgs after a refused form; want 0", n)
		}
	})

	t.Run("ErrCrossOrigin", func(t *testing.T) {
		r := e.do("POST", "/setup", validSetup(), http.Header{"Sec-Fetch-Site": {"cross-site"}})
		want(t, r, http.StatusForbidden)
		if n := e.orgCount(); n != 0 {
			t.Fatalf("%d orgs after a cross-origin post; want 0", n)
		}
		r = e.do("POST", "/setup", validSetup(), http.Header{"Origin": {"https://evil.example"}})
		want(t, r, http.StatusForbidden)
	})

	t.Run("OK", func(t *testing.T) {
		r := e.do("POST", "/setup", validSetup(), http.Header{"Sec-Fetch-Site": {"same-origin"}})
		want(t, r, http.StatusOK)
		if !strings.Contains(r.body, "Open this link to set your password") {
			t.Fatalf("page lacks the set-up instruction:\n%s", r.body)
		}
		link := regexp.MustCompile(`<a href="(` + regexp.QuoteMeta(web.NewLinks(baseURL).Invitation("")) + `[^"]+)">`).FindStringSubmatch(r.body)
		if link == nil {
			t.Fatalf("page has no set-up link under %s:\n%s", web.NewLinks(baseURL).Invitation(""), r.body)
		}
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control = %q; want no-store", r.Header.Get("Cache-Control"))
		}
		if !strings.Contains(r.body, "olive@example.com") {
			t.Error("page does not name the Owner's email")
		}
		if strings.Contains(e.log.String(), strings.TrimPrefix(link[1], web.NewLinks(baseURL).Invitation(""))) {
			t.Error("the log holds the set-up token")
		}
		if n := e.orgCount(); n != 1 {
			t.Fatalf("%d orgs; want 1", n)
		}
	})

	t.Run("ErrAlreadySetUp", func(t *testing.T) {
		in := validSetup()
		in.Set("email", "mallory@example.com")
		r := e.do("POST", "/setup", in, nil)
		want(t, r, http.StatusConflict)
		if !strings.Contains(r.body, "Muster is already set up. Sign in instead.") {
			t.Fatalf("page lacks the service's message:\n%s", r.body)
		}
		if n := e.orgCount(); n != 1 {
			t.Fatalf("%d orgs after a second first run; want 1", n)
		}
	})

	t.Run("AfterSetup", func(t *testing.T) {
		wantRedirect(t, e.get("/setup"), "/")
		// Set up, and nobody signed in: the sign-in page.
		wantRedirect(t, e.get("/"), "/signin")
	})
}

func TestRequestLog(t *testing.T) {
	e := newEnv(t)
	token := "a9Zx0bQ7yC4kP2mN8rT5vW1sD6fH3jL0"
	e.get("/invitations/" + token + "?token=query-secret&password=hunter2")
	log := e.log.String()
	for _, secret := range []string{token, "query-secret", "hunter2"} {
		if strings.Contains(log, secret) {
			t.Errorf("log holds %q:\n%s", secret, log)
		}
	}
	for _, want := range []string{`"msg":"request"`, `"path":"/invitations/REDACTED"`, `"status":404`, `"method":"GET"`} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %s:\n%s", want, log)
		}
	}
}
