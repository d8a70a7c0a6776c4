package web_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/testsupport/browsertest"
	"github.com/muster-app/muster/internal/worker"
)

// hookReceiver records the requests an endpoint gets.
type hookReceiver struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*http.Request
	body [][]byte
}

func newHookReceiver(t *testing.T) *hookReceiver {
	rc := &hookReceiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.reqs, rc.body = append(rc.reqs, r), append(rc.body, b)
		rc.mu.Unlock()
		w.Write([]byte("received"))
	}))
	t.Cleanup(rc.Close)
	return rc
}

// deliverHooks sends the webhook deliveries due now.
func (s *site) deliverHooks() {
	s.t.Helper()
	sender := &worker.WebhookSender{Service: s.svc, Log: slog.New(slog.DiscardHandler)}
	for {
		n, err := sender.DeliverDue(context.Background())
		if err != nil {
			s.t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

var secretValue = regexp.MustCompile(`value="(whsec_[^"]+)"`)

// TestWebhooksConsole: Settings → Webhooks, form by form: add an endpoint
// (its secret shown once, and the one the receiver verifies with), send a
// test event and see its status and time, read the delivery log and an
// attempt, redeliver, edit, rotate, disable, enable, redeliver failed ones,
// delete. Managers are refused (EVT-1, CON-6).
func TestWebhooksConsole(t *testing.T) {
	s := newSite(t)
	owner, ownerCtx := s.org()
	b := s.browser()
	want(t, b.signIn(owner.Email, ownerPassword), http.StatusSeeOther)
	rc := newHookReceiver(t)

	want(t, b.get("/settings/webhooks"), 200, "No endpoints yet", `<label for="url">Endpoint URL</label>`, "Webhooks")
	want(t, b.post("/settings/webhooks", url.Values{"url": {rc.URL}, "scope": {"some"}}), 422, "Tick the event types")
	want(t, b.post("/settings/webhooks", url.Values{"url": {"ftp://hooks.example.com"}, "scope": {"all"}}), 422,
		`id="url-error"`, "Enter a URL like")
	p := b.post("/settings/webhooks", url.Values{"url": {rc.URL + "/hooks"}, "description": {"HR sync"}, "scope": {"some"},
		"event_types": {"user.invited", "user.deactivated"}})
	want(t, p, 200, "Copy the signing secret now", "Go to the endpoint")
	m := secretValue.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no secret on the page:\n%s", p.body)
	}
	shown := html.UnescapeString(m[1])
	list := b.get("/settings/webhooks")
	want(t, list, 200, rc.URL+"/hooks", "HR sync", "user.invited, user.deactivated", "Enabled")
	if strings.Contains(list.body, shown) {
		t.Fatal("the secret is shown again")
	}
	endpoints, err := s.svc.Webhooks(ownerCtx)
	if err != nil || len(endpoints) != 1 {
		t.Fatalf("endpoints %v, %v", endpoints, err)
	}
	base := fmt.Sprintf("/settings/webhooks/%d", endpoints[0].ID)
	endpointPage := b.get(base)
	want(t, endpointPage, 200, "Send test event", "Rotate secret", "Delivery log", "No deliveries yet")
	for _, inline := range []string{"<script", " style="} {
		if strings.Contains(endpointPage.body, inline) {
			t.Fatalf("the page has inline %q (the CSP forbids it)", inline)
		}
	}

	want(t, b.follow(b.post(base+"/test", nil)), 200, "Test event delivered: the endpoint answered 200 OK in", "webhook.test")

	s.invite(ownerCtx, "Ann", "Tester", "ann@example.com", muster.RoleBasic)
	s.deliverHooks()
	want(t, b.get(base), 200, "user.invited", "Succeeded")
	rc.mu.Lock()
	last, lastBody := rc.reqs[len(rc.reqs)-1], rc.body[len(rc.body)-1]
	rc.mu.Unlock()
	wh, err := standardwebhooks.NewWebhook(shown)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.VerifyIgnoringTimestamp(lastBody, last.Header); err != nil {
		t.Fatalf("the secret the console showed does not verify the delivery: %v", err)
	}

	log, err := s.svc.FindWebhookLog(ownerCtx, endpoints[0].ID, service.WebhookDeliveryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	d := log.Deliveries[0]
	detail := b.get(fmt.Sprintf("%s/deliveries/%d", base, d.ID))
	want(t, detail, 200, d.MsgID, "200 OK", "received", "&#34;type&#34;: &#34;user.invited&#34;")
	want(t, b.follow(b.post(fmt.Sprintf("%s/deliveries/%d/redeliver", base, d.ID), nil)), 200, "again")
	s.deliverHooks()

	edit := b.get(base + "/edit")
	want(t, edit, 200, `value="`+rc.URL+`/hooks"`, "Save")
	want(t, b.follow(b.post(base+"/edit", url.Values{"url": {rc.URL + "/hooks"}, "description": {"HR"}, "scope": {"all"}})),
		200, "Saved the endpoint.", "All event types")
	want(t, b.post(base+"/edit", url.Values{"url": {""}, "scope": {"all"}}), 422, "The URL is required.")

	rotated := b.post(base+"/rotate", url.Values{"overlap": {"24"}})
	want(t, rotated, 200, "Copy the signing secret now", "the previous secret signs too")
	if m := secretValue.FindStringSubmatch(rotated.body); m == nil || m[1] == shown {
		t.Fatal("no new secret after rotating")
	}

	want(t, b.follow(b.post(base+"/enabled", url.Values{"enabled": {"false"}})), 200, "Disabled the endpoint", "Disabled", "An Owner or Admin disabled it", ">Enable<")
	want(t, b.post(base+"/redeliver-failed", url.Values{"since": {"2026-01-01T00:00"}}), http.StatusConflict, "Enable it first")
	want(t, b.follow(b.post(base+"/enabled", url.Values{"enabled": {"true"}})), 200, "Enabled the endpoint")
	// Disabling failed the audit events queued since the edit: they go again.
	want(t, b.follow(b.post(base+"/redeliver-failed", url.Values{"since": {"2026-01-01T00:00"}})), 200,
		"failed deliveries again, with their webhook-ids")

	s.invite(ownerCtx, "Max", "Manager", "max@example.com", muster.RoleManager)
	max := s.join("max@example.com", "max's long password")
	for _, c := range []struct{ method, path string }{{"GET", "/settings/webhooks"}, {"POST", "/settings/webhooks"},
		{"GET", base}, {"POST", base + "/test"}, {"POST", base + "/enabled"}, {"GET", base + "/edit"}, {"POST", base + "/delete"}} {
		var p page
		if c.method == "GET" {
			p = max.get(c.path)
		} else {
			p = max.post(c.path, url.Values{"url": {rc.URL}, "scope": {"all"}, "enabled": {"false"}})
		}
		if p.StatusCode != http.StatusForbidden {
			t.Errorf("a Manager: %s %s: %d; want 403", c.method, c.path, p.StatusCode)
		}
	}

	want(t, b.get(base+"/delete"), 200, "Delete the endpoint")
	wantRedirect(t, b.post(base+"/delete", nil), "/settings/webhooks")
	want(t, b.get(base), http.StatusNotFound)
}

// TestBrowserWebhooksWithoutJavaScript: with JavaScript off, an Owner adds
// an endpoint for some event types, copies its secret and sends a test
// event, whose status the page shows (CON-6).
func TestBrowserWebhooksWithoutJavaScript(t *testing.T) {
	b := browsertest.Chromium(t)
	b.DisableJavaScript()
	s := newSite(t)
	owner, _ := s.org()
	rc := newHookReceiver(t)
	b.SignIn(s.srv.URL, owner.Email, ownerPassword)
	b.Open("webhooks", s.srv.URL+"/settings/webhooks")
	b.Sees("the list", "No endpoints yet")
	b.Type("the endpoint", "Endpoint URL", rc.URL+"/hooks", "Description", "HR sync")
	b.Do("some types", chromedp.Click(chromedp.Search(`//label[normalize-space(.)="Only these:"]/input`)), chromedp.Click(browsertest.ByCheckbox("user.invited")))
	b.Click("added", byButton("Add endpoint"))
	b.Sees("the secret", "Copy the signing secret now")
	if v := b.Value("Signing secret"); !strings.HasPrefix(v, "whsec_") {
		t.Fatalf("signing secret %q", v)
	}
	b.Click("the endpoint", chromedp.Search(`//a[normalize-space(.)="Go to the endpoint"]`))
	b.Click("tested", byButton("Send test event"))
	b.Sees("the test's answer", "Test event delivered: the endpoint answered 200 OK in", "webhook.test")
}
