package webhook_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/muster-app/muster/internal/testsupport/dnstest"
	"github.com/muster-app/muster/internal/webhook"
)

// TestSignatureVerifiedByStandardLibrary: Muster's few lines of signing
// agree with the Standard Webhooks library, for each of the two keys that
// sign during a rotation, and not for a third.
func TestSignatureVerifiedByStandardLibrary(t *testing.T) {
	newKey, newShown := webhook.NewSecret()
	oldKey, oldShown := webhook.NewSecret()
	_, otherShown := webhook.NewSecret()
	if !strings.HasPrefix(newShown, "whsec_") || len(newKey) < 24 || len(newKey) > 64 {
		t.Fatalf("secret %q of %d bytes; want whsec_ and 24 to 64 bytes", newShown, len(newKey))
	}
	body := []byte(`{"type":"user.invited","timestamp":"2026-11-23T09:00:00Z","data":{}}`)
	ts := time.Now()
	header := http.Header{}
	header.Set("webhook-id", "msg_1")
	header.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	header.Set("webhook-signature", webhook.Sign([][]byte{newKey, oldKey}, "msg_1", ts, body))
	if n := strings.Count(header.Get("webhook-signature"), "v1,"); n != 2 {
		t.Fatalf("signature header %q; want two v1 signatures", header.Get("webhook-signature"))
	}
	for name, secret := range map[string]string{"new": newShown, "old": oldShown} {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(body, header); err != nil {
			t.Errorf("the %s secret: %v", name, err)
		}
	}
	wh, _ := standardwebhooks.NewWebhook(otherShown)
	if err := wh.Verify(body, header); err == nil {
		t.Error("a third secret verifies the signature")
	}
	header.Set("webhook-id", "msg_2")
	if err := wh.Verify(body, header); err == nil {
		t.Error("the signature verifies for another webhook-id")
	}
}

func TestBlocked(t *testing.T) {
	for addr, blocked := range map[string]bool{
		"127.0.0.1": true, "127.8.8.8": true, "::1": true, "10.1.2.3": true, "172.16.0.1": true,
		"192.168.1.1": true, "169.254.169.254": true, "fe80::1": true, "fc00::1": true, "fd00:ec2::254": true,
		"0.0.0.0": true, "::": true, "100.100.100.200": true, "224.0.0.1": true, "255.255.255.255": true,
		"::ffff:127.0.0.1": true, "::ffff:10.0.0.1": true, "198.18.0.1": true,
		"93.184.215.14": false, "2606:4700:4700::1111": false, "8.8.8.8": false,
		// IPv4 inside IPv6, through NAT64 (RFC 6052) and 6to4 (RFC 3056):
		// what it reaches decides.
		"64:ff9b::a00:1": true, "64:ff9b::7f00:1": true, "64:ff9b::a9fe:a9fe": true, "64:ff9b::c0a8:1": true,
		"2002:a00:1::1": true, "2002:7f00:1::": true, "64:ff9b::808:808": false, "2002:808:808::1": false,
		// IPv4-compatible addresses (RFC 4291 deprecated them), which some
		// stacks still route to the IPv4 address.
		"::127.0.0.1": true, "::10.0.0.1": true, "::8.8.8.8": true,
	} {
		if got := webhook.Blocked(netip.MustParseAddr(addr)) != ""; got != blocked {
			t.Errorf("Blocked(%s) = %v; want %v", addr, got, blocked)
		}
	}
}

// counter is an HTTP server that counts the requests it gets.
func counter(t *testing.T, status int, header http.Header) (*httptest.Server, *atomic.Int64) {
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		for k, v := range header {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		w.Write([]byte("ok from the receiver"))
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func send(c *webhook.Client, url string) webhook.Result {
	key, _ := webhook.NewSecret()
	return c.Send(context.Background(), webhook.Message{URL: url, ID: "msg_test", Timestamp: time.Now(),
		Body: []byte(`{}`), Keys: [][]byte{key}})
}

func wantBlocked(t *testing.T, res webhook.Result, what string) {
	t.Helper()
	var blocked *webhook.BlockedError
	if !errors.As(res.Err, &blocked) || res.Status != 0 {
		t.Errorf("%s: status %d, error %v; want the connection refused by the guard", what, res.Status, res.Err)
	}
}

// TestClientRefusesPrivateAddresses: URLs with literal loopback, private,
// link-local and metadata addresses are refused when connecting, a server
// really listening there included; with AllowPrivate the same server is
// reached.
func TestClientRefusesPrivateAddresses(t *testing.T) {
	srv, hits := counter(t, http.StatusOK, nil)
	strict := webhook.NewClient(webhook.Options{Timeout: 2 * time.Second})
	port := srv.URL[strings.LastIndex(srv.URL, ":"):]
	for _, url := range []string{srv.URL, "http://[::1]" + port, "http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/",
		"http://[::ffff:127.0.0.1]" + port, "http://0.0.0.0" + port, "https://192.168.0.10/"} {
		wantBlocked(t, send(strict, url), url)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the loopback server got %d requests", n)
	}
	if res := send(webhook.NewClient(webhook.Options{AllowPrivate: true}), srv.URL); res.Status != 200 || res.Body != "ok from the receiver" {
		t.Fatalf("with AllowPrivate: %+v; want 200 and the body", res)
	}
}

// TestClientChecksResolvedAddresses: a public-looking name that resolves
// to 127.0.0.1 (a rebinding attack's second answer, say) is refused when
// connecting, where the address is known; the same name and resolver
// reach the server when private addresses are allowed, so the refusal is
// the guard's, not a failed lookup.
func TestClientChecksResolvedAddresses(t *testing.T) {
	srv, hits := counter(t, http.StatusOK, nil)
	resolver := dnstest.Start(t, map[string]string{"hooks.example.test.": "127.0.0.1"})
	url := "http://hooks.example.test" + srv.URL[strings.LastIndex(srv.URL, ":"):] + "/muster"
	wantBlocked(t, send(webhook.NewClient(webhook.Options{Resolver: resolver, Timeout: 2 * time.Second}), url), url)
	if n := hits.Load(); n != 0 {
		t.Fatalf("the server behind the name got %d requests", n)
	}
	if res := send(webhook.NewClient(webhook.Options{Resolver: resolver, AllowPrivate: true}), url); res.Status != 200 {
		t.Fatalf("with AllowPrivate: %+v; want the name resolved through the test's DNS and 200", res)
	}
}

// TestClientFollowsNoRedirect: an endpoint that redirects (to a private
// address, say) gets its 302 back as the answer, a failure; where it
// points is never requested.
func TestClientFollowsNoRedirect(t *testing.T) {
	private, hits := counter(t, http.StatusOK, nil)
	redirector, _ := counter(t, http.StatusFound, http.Header{"Location": {private.URL + "/internal"}})
	res := send(webhook.NewClient(webhook.Options{AllowPrivate: true}), redirector.URL)
	if res.Status != http.StatusFound || res.Err != nil {
		t.Fatalf("result %+v; want the 302 itself", res)
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the redirect was followed: its target got %d requests", n)
	}
}

// TestRetryAfter: a 429 or 503 says how long to wait, in seconds or as a
// date; other statuses' Retry-After is ignored.
func TestRetryAfter(t *testing.T) {
	c := webhook.NewClient(webhook.Options{AllowPrivate: true})
	for _, tc := range []struct {
		status int
		value  string
		want   time.Duration
	}{
		{429, "120", 2 * time.Minute},
		{503, "7", 7 * time.Second},
		{503, time.Now().Add(time.Hour).UTC().Format(http.TimeFormat), time.Hour},
		{503, "999999999", webhook.MaxRetryAfter},
		{500, "120", 0},
		{429, "soon", 0},
	} {
		srv, _ := counter(t, tc.status, http.Header{"Retry-After": {tc.value}})
		got := send(c, srv.URL).RetryAfter
		if d := got - tc.want; d < -2*time.Second || d > 2*time.Second {
			t.Errorf("%d with Retry-After %q: wait %v; want %v", tc.status, tc.value, got, tc.want)
		}
	}
}
