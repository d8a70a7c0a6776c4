package web_test

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/web"
)

func TestClientIP(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:f::/48")}
	for _, tc := range []struct {
		name, remote string
		xff          []string
		trusted      []netip.Prefix
		want         string
	}{
		{"NoProxyConfigured", "192.0.2.1:5000", []string{"203.0.113.9"}, nil, "192.0.2.1"},
		{"UntrustedPeerSpoofs", "192.0.2.1:5000", []string{"203.0.113.9"}, proxies, "192.0.2.1"},
		{"TrustedPeer", "10.1.1.1:5000", []string{"203.0.113.9"}, proxies, "203.0.113.9"},
		{"RightmostUntrusted", "10.1.1.1:5000", []string{"198.51.100.66, 203.0.113.9, 10.2.2.2"}, proxies, "203.0.113.9"},
		{"SeveralHeaders", "10.1.1.1:5000", []string{"198.51.100.66", "203.0.113.9"}, proxies, "203.0.113.9"},
		{"HopWithPort", "10.1.1.1:5000", []string{"203.0.113.9:4711"}, proxies, "203.0.113.9"},
		{"IPv6", "[2001:db8:f::2]:443", []string{"[2001:db8:1::7]:1234"}, proxies, "2001:db8:1::7"},
		{"MappedIPv4", "[::ffff:10.1.1.1]:5000", []string{"::ffff:203.0.113.9"}, proxies, "203.0.113.9"},
		{"NoHeader", "10.1.1.1:5000", nil, proxies, "10.1.1.1"},
		{"AllTrusted", "10.1.1.1:5000", []string{"10.3.3.3, 10.2.2.2"}, proxies, "10.3.3.3"},
		{"GarbageStopsTheChain", "10.1.1.1:5000", []string{"203.0.113.9, <script>, 10.2.2.2"}, proxies, "10.2.2.2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := web.ClientIP(tc.trusted, r); got != tc.want {
				t.Fatalf("client address %q; want %q", got, tc.want)
			}
		})
	}
}

// The sign-in limits count the client address that a trusted proxy names,
// and answer 429 with Retry-After; a client cannot pick its address when
// no proxy is trusted.
func TestSignInLimitsBehindAProxy(t *testing.T) {
	via := func(ip string) http.Header { return http.Header{"X-Forwarded-For": {ip}} }
	signIn := func(b *client, email, password, ip string) page {
		return b.do("POST", "/signin", url.Values{"email": {email}, "password": {password}}, via(ip))
	}

	s := newSite(t, func(c *web.Config) { c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")} })
	owner, _ := s.org()
	attacker := s.browser()
	for range 3 {
		want(t, signIn(attacker, owner.Email, "wrong password!", "203.0.113.5"), http.StatusUnauthorized)
	}
	p := signIn(attacker, owner.Email, "wrong password!", "203.0.113.5")
	want(t, p, http.StatusTooManyRequests, "Too many sign-in attempts. Try again in 1 second")
	if ra := p.Header.Get("Retry-After"); ra != "1" {
		t.Fatalf("Retry-After %q; want 1", ra)
	}
	// The Owner, at another address behind the same proxy, signs in; the
	// session records the address.
	b := s.browser()
	wantRedirect(t, signIn(b, owner.Email, ownerPassword, "198.51.100.7"), "/")
	want(t, b.get("/account/sessions"), http.StatusOK, "198.51.100.7")

	// No proxy trusted: X-Forwarded-For is the client's to invent, so it
	// is ignored.
	s = newSite(t)
	owner, _ = s.org()
	attacker = s.browser()
	for _, ip := range []string{"203.0.113.1", "203.0.113.2", "203.0.113.3"} {
		want(t, signIn(attacker, owner.Email, "wrong password!", ip), http.StatusUnauthorized)
	}
	want(t, signIn(attacker, owner.Email, ownerPassword, "203.0.113.4"), http.StatusTooManyRequests)
	s.advance(time.Second)
	wantRedirect(t, signIn(attacker, owner.Email, ownerPassword, "203.0.113.4"), "/")
}
