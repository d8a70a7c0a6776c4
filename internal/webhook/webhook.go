// Package webhook sends Muster's webhooks as the Standard Webhooks
// specification (standardwebhooks.com) has them: signing secrets, the
// webhook-id, webhook-timestamp and webhook-signature headers, and an HTTP
// client that connects only to public addresses (an SSRF guard checked at
// connect time) and follows no redirects. What to send, when and what an
// answer means are the service's.
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"
)

// SecretPrefix starts a signing secret as it is shown.
const SecretPrefix = "whsec_"

// SecretSize is the number of random bytes in a new signing secret; the
// specification allows 24 to 64.
const SecretSize = 32

// NewSecret returns a new signing secret: the key, and the key as shown
// once to whoever made the endpoint, "whsec_" and its base64.
func NewSecret() (key []byte, shown string) {
	key = make([]byte, SecretSize)
	rand.Read(key)
	return key, ShowSecret(key)
}

// ShowSecret is key as Standard Webhooks libraries take it.
func ShowSecret(key []byte) string { return SecretPrefix + base64.StdEncoding.EncodeToString(key) }

// Sign is the webhook-signature header of a message: "v1," and the base64
// HMAC-SHA256 of "id.timestamp.body" under each key, separated by spaces.
// During a rotation both the new and the old key sign.
func Sign(keys [][]byte, id string, timestamp time.Time, body []byte) string {
	signed := []byte(id + "." + strconv.FormatInt(timestamp.Unix(), 10) + ".")
	signed = append(signed, body...)
	sigs := make([]string, len(keys))
	for i, key := range keys {
		mac := hmac.New(sha256.New, key)
		mac.Write(signed)
		sigs[i] = "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	}
	return strings.Join(sigs, " ")
}

// Message is one attempt to deliver an event.
type Message struct {
	URL string
	// ID is the event's webhook-id, the same on every attempt.
	ID        string
	Timestamp time.Time
	Body      []byte
	// Keys sign the message, the current one first.
	Keys [][]byte
}

// Result is what an attempt got.
type Result struct {
	// Status is the response's status code; 0 when none came.
	Status int
	// Latency runs from the request's start to the response's headers.
	Latency time.Duration
	// Body is the first bytes of the response body, as valid UTF-8.
	Body string
	// RetryAfter is the wait a 429 or 503 asked for in Retry-After; 0 when
	// it asked for none.
	RetryAfter time.Duration
	// Err says why no response came, or why it was cut short.
	Err error
}

// Timeout bounds one attempt, from connecting to the response's headers.
const Timeout = 15 * time.Second

// ResponseExcerpt is how much of a response body the delivery log keeps.
const ResponseExcerpt = 1024

// Options configure a Client.
type Options struct {
	// AllowPrivate lets requests connect to loopback, private and
	// link-local addresses: for local development only.
	AllowPrivate bool
	// Resolver resolves endpoint host names; nil is the system's.
	Resolver *net.Resolver
	// Timeout bounds an attempt; zero is Timeout.
	Timeout time.Duration
	// UserAgent is sent with every request.
	UserAgent string
}

// Client sends webhook requests.
type Client struct {
	http      *http.Client
	userAgent string
}

// NewClient returns a client that connects only to addresses Blocked
// allows (unless o.AllowPrivate), checked on the address each connection
// is actually made to, after name resolution, so that a name that resolves
// to a private address (DNS rebinding included) is refused. It follows no
// redirect and uses no proxy.
func NewClient(o Options) *Client {
	if o.Timeout == 0 {
		o.Timeout = Timeout
	}
	if o.UserAgent == "" {
		o.UserAgent = "Muster-Webhooks/1"
	}
	dialer := &net.Dialer{Timeout: o.Timeout, Resolver: o.Resolver, KeepAlive: 30 * time.Second}
	if !o.AllowPrivate {
		dialer.Control = guard
	}
	transport := &http.Transport{
		Proxy:                 nil, // a proxy would be the address checked, not the endpoint's
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: o.Timeout,
	}
	return &Client{userAgent: o.UserAgent, http: &http.Client{
		Transport: transport,
		Timeout:   o.Timeout,
		// A redirect is an answer like any other that is not 2xx: a
		// failure, never followed (it could lead anywhere).
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// BlockedError refuses a connection to an address that is not public.
type BlockedError struct {
	Addr   netip.Addr
	Reason string
}

func (e *BlockedError) Error() string {
	return fmt.Sprintf("refused to connect to %s, %s: webhook endpoints must be on public addresses", e.Addr, e.Reason)
}

// guard is the dialer's Control: it runs for each address a connection is
// made to, after resolution.
func guard(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("webhook: unexpected address %q", address)
	}
	if reason := Blocked(addr); reason != "" {
		return &BlockedError{Addr: addr.Unmap(), Reason: reason}
	}
	return nil
}

// blockedRanges are the ranges that are neither loopback, private nor
// link-local by netip's methods but still no place for a webhook: shared
// and reserved space, and the cloud metadata services' addresses outside
// link-local.
var blockedRanges = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), `a "this network" address`},
	{netip.MustParsePrefix("100.64.0.0/10"), "a shared (carrier-grade NAT) address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "a protocol assignment address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},
	{netip.MustParsePrefix("::/96"), "an IPv4-compatible address (deprecated, and some systems reach the IPv4 address)"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a local-use translation address"},
	{netip.MustParsePrefix("2001:db8::/32"), "a documentation address"},
	{netip.MustParsePrefix("fd00:ec2::254/128"), "a cloud metadata address"},
}

// Prefixes of IPv6 addresses that carry an IPv4 address, which a NAT64
// gateway (RFC 6052's well-known prefix, its last 32 bits) or a 6to4 relay
// (RFC 3056, bits 16 to 48) forwards to.
var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour   = netip.MustParsePrefix("2002::/16")
)

// embeddedIPv4 is the IPv4 address that addr carries, if it is of one of
// those prefixes.
func embeddedIPv4(addr netip.Addr) (netip.Addr, bool) {
	b := addr.As16()
	switch {
	case !addr.Is6():
		return netip.Addr{}, false
	case nat64Prefix.Contains(addr):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFour.Contains(addr):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// Blocked says why webhook requests may not go to addr ("a loopback
// address"…), or "" when they may.
func Blocked(addr netip.Addr) string {
	addr = addr.Unmap()
	if v4, ok := embeddedIPv4(addr); ok {
		if reason := Blocked(v4); reason != "" {
			return reason + " (inside an IPv6 address that reaches it)"
		}
	}
	switch {
	case !addr.IsValid():
		return "an invalid address"
	case addr.IsLoopback():
		return "a loopback address"
	case addr.IsPrivate():
		return "a private address"
	case addr.IsLinkLocalUnicast():
		return "a link-local address (where cloud metadata services answer)"
	case addr.IsUnspecified():
		return "an unspecified address"
	case addr.IsMulticast(), addr.IsLinkLocalMulticast(), addr.IsInterfaceLocalMulticast():
		return "a multicast address"
	case addr == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "the broadcast address"
	}
	for _, r := range blockedRanges {
		if r.prefix.Contains(addr) {
			return r.reason
		}
	}
	return ""
}

// Send makes one attempt to deliver m.
func (c *Client) Send(ctx context.Context, m Message) Result {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.URL, strings.NewReader(string(m.Body)))
	if err != nil {
		return Result{Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("webhook-id", m.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(m.Timestamp.Unix(), 10))
	req.Header.Set("webhook-signature", Sign(m.Keys, m.ID, m.Timestamp, m.Body))
	start := time.Now()
	res, err := c.http.Do(req)
	latency := time.Since(start)
	if err != nil {
		return Result{Latency: latency, Err: unwrapURLError(err)}
	}
	defer res.Body.Close()
	head, err := io.ReadAll(io.LimitReader(res.Body, ResponseExcerpt))
	// The rest is read (a little of it) so that the connection can be
	// used again.
	io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	out := Result{Status: res.StatusCode, Latency: latency, Body: validUTF8(head), Err: err}
	if res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusServiceUnavailable {
		out.RetryAfter = parseRetryAfter(res.Header.Get("Retry-After"), time.Now())
	}
	return out
}

// unwrapURLError drops the "Post \"url\":" that net/http puts before an
// error, which the delivery log shows beside the URL anyway.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}

// validUTF8 drops a character that the excerpt's end cut in two and
// replaces invalid bytes.
func validUTF8(b []byte) string {
	for i := 1; i <= 3 && i <= len(b); i++ {
		if utf8.RuneStart(b[len(b)-i]) {
			if !utf8.FullRune(b[len(b)-i:]) {
				b = b[:len(b)-i]
			}
			break
		}
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// MaxRetryAfter bounds the wait a Retry-After can ask for.
const MaxRetryAfter = 24 * time.Hour

// parseRetryAfter reads Retry-After as seconds or an HTTP date; 0 for none.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	var d time.Duration
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		d = time.Duration(min(max(n, 0), int64(MaxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), MaxRetryAfter)
}
