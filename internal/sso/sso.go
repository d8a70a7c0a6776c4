// Package sso is Muster's OpenID Connect relying party (AUTH-6): discovery,
// the authorization code flow with PKCE (S256), state and nonce, ID token
// verification through go-oidc (issuer, audience, expiry, signature against
// the provider's JWKS, fetched again when a token names a key it has not
// seen, so keys rotate), UserInfo when the ID token has no email, and
// back-channel logout tokens. It also parses what arrives from outside — a
// callback's query, a logout token — and looks up domain verification
// records. It makes no decision about people: who signs in as whom is the
// service's.
package sso

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

// Reasons say why a sign-in through the provider was refused; the audit
// log records them.
const (
	ReasonProvider   = "provider_unreachable" // discovery or the provider's keys could not be read
	ReasonIdPError   = "idp_error"            // the provider answered the redirect with an error
	ReasonExchange   = "code_exchange"        // the token endpoint refused the code
	ReasonMalformed  = "malformed"            // a token or callback that is not what the protocol says
	ReasonIssuer     = "wrong_issuer"
	ReasonAudience   = "wrong_audience"
	ReasonExpired    = "expired"
	ReasonSignature  = "bad_signature"
	ReasonUnknownKey = "unknown_key"
	ReasonNonce      = "wrong_nonce"
	ReasonUserInfo   = "userinfo"
)

// Error is a refusal of the protocol, with its Reason.
type Error struct {
	Reason string
	// Detail says more, for the log and the test sign-in page; it may quote
	// the provider.
	Detail string
	Err    error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return "sso: " + e.Reason + ": " + e.Detail + ": " + e.Err.Error()
	}
	return "sso: " + e.Reason + ": " + e.Detail
}

func (e *Error) Unwrap() error { return e.Err }

func fail(reason, detail string, err error) *Error {
	return &Error{Reason: reason, Detail: detail, Err: err}
}

// ErrorReason is err's Reason, or "" when err is not an *Error.
func ErrorReason(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// Connection is what the relying party needs of an organization's
// connection.
type Connection struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	// Scopes are asked for besides openid, email and profile.
	Scopes      []string
	RedirectURI string
}

// Client talks to identity providers. One Client serves every
// organization; it keeps each issuer's discovery document and keys.
type Client struct {
	http *http.Client
	now  func() time.Time

	mu        sync.Mutex
	providers map[string]*cachedProvider

	// logoutKeys are the keys that verify logout tokens, per JWKS URL:
	// those tokens come from anyone, so they fetch keys at most once per
	// logoutKeysRefresh (see logoutKeySet).
	logoutMu   sync.Mutex
	logoutKeys map[string]*logoutKeys
}

// logoutKeysRefresh is how often at most a logout token makes Muster read
// a provider's keys again.
const logoutKeysRefresh = 30 * time.Second

// logoutKeys are one provider's keys as last read for logout tokens; mu
// makes the tokens that arrive while they are read wait for them, and not
// those of other providers.
type logoutKeys struct {
	mu  sync.Mutex
	set *jose.JSONWebKeySet
	at  time.Time
}

// discoveryTTL is how long a provider's discovery document is used before
// it is read again. Its keys are read again whenever a token names an
// unknown key.
const discoveryTTL = time.Hour

type cachedProvider struct {
	p       *oidc.Provider
	jwksURL string
	at      time.Time
}

// Options configure a Client.
type Options struct {
	// Transport carries the requests; nil is http.DefaultTransport.
	Transport http.RoundTripper
	// Now is the time tokens are checked at; nil is time.Now.
	Now func() time.Time
}

// maxResponse bounds what Muster reads of any answer of a provider.
const maxResponse = 1 << 20

// requestTimeout bounds each request to a provider.
const requestTimeout = 10 * time.Second

// NewClient returns a relying party.
func NewClient(o Options) *Client {
	t := o.Transport
	if t == nil {
		t = http.DefaultTransport
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Client{
		http:       &http.Client{Transport: limitedTransport{t}, Timeout: requestTimeout},
		now:        o.Now,
		providers:  map[string]*cachedProvider{},
		logoutKeys: map[string]*logoutKeys{},
	}
}

// limitedTransport cuts every answer off after maxResponse bytes.
type limitedTransport struct{ next http.RoundTripper }

func (l limitedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := l.next.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	res.Body = struct {
		io.Reader
		io.Closer
	}{io.LimitReader(res.Body, maxResponse), res.Body}
	return res, nil
}

// ctx carries the Client's HTTP client for go-oidc and oauth2.
func (c *Client) ctx(ctx context.Context) context.Context { return oidc.ClientContext(ctx, c.http) }

// provider returns the issuer's provider, discovering it when it is not
// known or was discovered over discoveryTTL ago.
func (c *Client) provider(ctx context.Context, issuer string) (*cachedProvider, error) {
	c.mu.Lock()
	cp := c.providers[issuer]
	c.mu.Unlock()
	if cp != nil && c.now().Sub(cp.at) < discoveryTTL {
		return cp, nil
	}
	// Discovery outlives the request that asked for it: the provider's key
	// set keeps its context for the keys it fetches later.
	p, err := oidc.NewProvider(c.ctx(context.WithoutCancel(ctx)), issuer)
	if err != nil {
		return nil, fail(ReasonProvider, "reading the provider's discovery document at "+
			strings.TrimSuffix(issuer, "/")+"/.well-known/openid-configuration failed", err)
	}
	var meta struct {
		JWKSURL string `json:"jwks_uri"`
	}
	if err := p.Claims(&meta); err != nil || meta.JWKSURL == "" {
		return nil, fail(ReasonProvider, "the provider's discovery document names no jwks_uri", err)
	}
	cp = &cachedProvider{p: p, jwksURL: meta.JWKSURL, at: c.now()}
	c.mu.Lock()
	c.providers[issuer] = cp
	c.mu.Unlock()
	return cp, nil
}

func (conn Connection) oauth2(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: conn.ClientID, ClientSecret: conn.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: conn.RedirectURI, Scopes: append([]string{oidc.ScopeOpenID, "email", "profile"}, conn.Scopes...)}
}

// Login is what a sign-in through the provider needs until its callback:
// the browser keeps BrowserSecret (in a cookie), the database the hash of
// State, the Nonce and the hash of BrowserSecret. The PKCE verifier is
// derived from BrowserSecret, so nothing stored alone finishes the login.
type Login struct {
	BrowserSecret string
	State         string
	Nonce         string
}

// NewLogin makes a login's random values: 256 bits each.
func NewLogin() Login {
	return Login{BrowserSecret: random(), State: random(), Nonce: random()}
}

func random() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Hash is the stored form of a login's state or browser secret.
func Hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// PKCEVerifier derives the PKCE code verifier (RFC 7636: 43 characters of
// base64url) from the browser's secret.
func PKCEVerifier(browserSecret string) string {
	m := hmac.New(sha256.New, []byte(browserSecret))
	m.Write([]byte("muster sso pkce verifier v1"))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// AuthCodeURL returns where to send the browser: the provider's
// authorization endpoint with the login's state, nonce and PKCE challenge
// (S256).
func (c *Client) AuthCodeURL(ctx context.Context, conn Connection, l Login) (string, error) {
	cp, err := c.provider(ctx, conn.Issuer)
	if err != nil {
		return "", err
	}
	to := conn.oauth2(cp.p).AuthCodeURL(l.State, oidc.Nonce(l.Nonce),
		oauth2.S256ChallengeOption(PKCEVerifier(l.BrowserSecret)))
	// The browser is sent there by a page: only a web address will do.
	if u, err := url.Parse(to); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fail(ReasonProvider, "the provider's authorization_endpoint is not an http(s) URL", err)
	}
	return to, nil
}

// Claims are what Muster uses of a verified sign-in.
type Claims struct {
	Issuer  string
	Subject string
	Email   string
	// EmailVerified is the provider's email_verified claim, or Entra ID's
	// xms_edov (the email's domain is verified by the tenant).
	EmailVerified bool
	GivenName     string
	FamilyName    string
	Name          string
	// SID is the provider's session id, for back-channel logout.
	SID string
	// FromUserInfo says that the email came from the UserInfo endpoint.
	FromUserInfo bool
	// All are the ID token's claims, with UserInfo's added, for the test
	// sign-in page.
	All map[string]any
}

// boolClaim reads a boolean claim that some providers send as a string.
type boolClaim bool

func (b *boolClaim) UnmarshalJSON(data []byte) error {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case bool:
		*b = boolClaim(v)
	case string:
		*b = boolClaim(strings.EqualFold(v, "true"))
	}
	return nil
}

type profileClaims struct {
	Subject       string    `json:"sub"`
	Email         string    `json:"email"`
	EmailVerified boolClaim `json:"email_verified"`
	EDOV          boolClaim `json:"xms_edov"`
	GivenName     string    `json:"given_name"`
	FamilyName    string    `json:"family_name"`
	Name          string    `json:"name"`
	SID           string    `json:"sid"`
}

// Exchange finishes a sign-in: it redeems the code with the PKCE verifier,
// verifies the ID token (signature, issuer, audience, expiry) and its
// nonce, and reads UserInfo when the ID token has no email.
func (c *Client) Exchange(ctx context.Context, conn Connection, code, browserSecret, nonce string) (*Claims, error) {
	cp, err := c.provider(ctx, conn.Issuer)
	if err != nil {
		return nil, err
	}
	hctx := c.ctx(ctx)
	cfg := conn.oauth2(cp.p)
	tok, err := cfg.Exchange(hctx, code, oauth2.VerifierOption(PKCEVerifier(browserSecret)))
	if err != nil {
		detail := "the provider's token endpoint refused the code"
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode != "" {
			detail += " (" + re.ErrorCode + ")"
			err = nil
		}
		return nil, fail(ReasonExchange, detail, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, fail(ReasonMalformed, "the token endpoint returned no id_token", nil)
	}
	idt, err := c.verify(ctx, cp, conn, raw)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		return nil, fail(ReasonNonce, "the ID token's nonce is not the one this sign-in sent", nil)
	}
	var pc profileClaims
	all := map[string]any{}
	if err := idt.Claims(&pc); err != nil {
		return nil, fail(ReasonMalformed, "the ID token's claims could not be read", err)
	}
	if err := idt.Claims(&all); err != nil {
		return nil, fail(ReasonMalformed, "the ID token's claims could not be read", err)
	}
	out := &Claims{Issuer: idt.Issuer, Subject: idt.Subject, All: all}
	if pc.Email == "" {
		ui, err := cp.p.UserInfo(hctx, cfg.TokenSource(hctx, tok))
		if err != nil {
			return nil, fail(ReasonUserInfo, "the ID token has no email and the UserInfo endpoint did not answer", err)
		}
		var uc profileClaims
		uall := map[string]any{}
		if err := ui.Claims(&uc); err != nil || ui.Claims(&uall) != nil {
			return nil, fail(ReasonUserInfo, "UserInfo's claims could not be read", err)
		}
		// OpenID Connect Core 5.3.2: UserInfo's sub must be the ID token's.
		if uc.Subject != idt.Subject {
			return nil, fail(ReasonUserInfo, "UserInfo is about another subject than the ID token", nil)
		}
		for k, v := range uall {
			if _, ok := all[k]; !ok {
				all[k] = v
			}
		}
		sid := pc.SID
		pc = uc
		pc.SID = sid
		out.FromUserInfo = true
	}
	out.Email, out.EmailVerified = pc.Email, bool(pc.EmailVerified) || bool(pc.EDOV)
	out.GivenName, out.FamilyName, out.Name, out.SID = pc.GivenName, pc.FamilyName, pc.Name, pc.SID
	return out, nil
}

// verify verifies an ID token with go-oidc's verifier, which decides. A
// refusal is then named: a second pass, without the claim checks, tells a
// bad signature or unknown key from a wrong issuer, audience or expiry.
func (c *Client) verify(ctx context.Context, cp *cachedProvider, conn Connection, raw string) (*oidc.IDToken, error) {
	v := cp.p.Verifier(&oidc.Config{ClientID: conn.ClientID, Now: c.now})
	t, err := v.Verify(ctx, raw)
	if err == nil {
		return t, nil
	}
	return nil, c.explain(ctx, cp, conn, raw, err)
}

// explain names why go-oidc refused a token (err).
func (c *Client) explain(ctx context.Context, cp *cachedProvider, conn Connection, raw string, err error) error {
	var expired *oidc.TokenExpiredError
	if errors.As(err, &expired) {
		return fail(ReasonExpired, "the token expired at "+expired.Expiry.UTC().Format(time.RFC3339), err)
	}
	lax := cp.p.Verifier(&oidc.Config{SkipClientIDCheck: true, SkipExpiryCheck: true, SkipIssuerCheck: true})
	t, laxErr := lax.Verify(ctx, raw)
	switch {
	case laxErr != nil:
		return c.explainSignature(ctx, cp, raw, err)
	case t.Issuer != conn.Issuer:
		return fail(ReasonIssuer, fmt.Sprintf("the token was issued by %q, not %q", t.Issuer, conn.Issuer), err)
	case !slices.Contains(t.Audience, conn.ClientID):
		return fail(ReasonAudience, fmt.Sprintf("the token is for %q, not this client (%q)", t.Audience, conn.ClientID), err)
	}
	return fail(ReasonMalformed, "the token was refused", err)
}

// explainSignature tells a token signed with a key the provider does not
// publish from one whose signature is wrong.
func (c *Client) explainSignature(ctx context.Context, cp *cachedProvider, raw string, err error) error {
	jws, perr := jose.ParseSigned(raw, allAlgorithms)
	if perr != nil || len(jws.Signatures) != 1 {
		return fail(ReasonMalformed, "the token is not a signed JWT", err)
	}
	kid := jws.Signatures[0].Header.KeyID
	keys, kerr := c.keys(ctx, cp.jwksURL)
	if kerr != nil {
		return fail(ReasonProvider, "the provider's keys could not be read", kerr)
	}
	if kid != "" && len(keys.Key(kid)) == 0 {
		return fail(ReasonUnknownKey, fmt.Sprintf("the token is signed with key %q, which the provider does not publish", kid), err)
	}
	return fail(ReasonSignature, "the token's signature does not verify with the provider's keys", err)
}

var allAlgorithms = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.ES256, jose.ES384,
	jose.ES512, jose.PS256, jose.PS384, jose.PS512, jose.EdDSA}

// keys reads the provider's published keys.
func (c *Client) keys(ctx context.Context, jwksURL string) (*jose.JSONWebKeySet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, jwksURL, nil)
	if err != nil {
		return nil, err
	}
	res, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", jwksURL, res.Status)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(res.Body).Decode(&set); err != nil {
		return nil, err
	}
	return &set, nil
}

// Logout is a verified back-channel logout token: whose sessions end.
type Logout struct {
	Subject string
	SID     string
	TokenID string
}

// VerifyLogout verifies a back-channel logout token (OpenID Connect
// Back-Channel Logout 1.0) with go-oidc: its signature with the provider's
// keys, issuer, audience, expiry, the logout event and no nonce.
func (c *Client) VerifyLogout(ctx context.Context, conn Connection, raw string) (*Logout, error) {
	cp, err := c.provider(ctx, conn.Issuer)
	if err != nil {
		return nil, err
	}
	// Not the provider's remote key set, which reads the keys again for
	// every token whose key it does not know: anyone may post a logout
	// token, so each would cost the provider requests.
	keys, signed, err := c.logoutKeySet(ctx, cp.jwksURL, raw)
	if err != nil {
		return nil, fail(ReasonProvider, "the provider's keys could not be read", err)
	}
	v := oidc.NewVerifier(conn.Issuer, keys, &oidc.Config{ClientID: conn.ClientID, Now: c.now,
		SupportedSigningAlgs: signingAlgorithms})
	lt, err := v.VerifyLogout(ctx, raw)
	if err != nil {
		var expired *oidc.TokenExpiredError
		switch {
		case errors.As(err, &expired):
			return nil, fail(ReasonExpired, "the token expired at "+expired.Expiry.UTC().Format(time.RFC3339), err)
		case !signed:
			return nil, fail(ReasonSignature, "the token's signature does not verify with the provider's keys", err)
		}
		return nil, fail(ReasonMalformed, "the logout token was refused", err)
	}
	return &Logout{Subject: lt.Subject, SID: lt.SessionID, TokenID: lt.TokenID}, nil
}

// signingAlgorithms are allAlgorithms as go-oidc names them.
var signingAlgorithms = func() []string {
	var algs []string
	for _, a := range allAlgorithms {
		algs = append(algs, string(a))
	}
	return algs
}()

// logoutKeySet returns the provider's signing keys for a logout token, and
// whether one of them verifies its signature: the keys read last, read
// again only when none verifies it and they were read over
// logoutKeysRefresh ago (a provider that rotated its keys).
func (c *Client) logoutKeySet(ctx context.Context, jwksURL, raw string) (*oidc.StaticKeySet, bool, error) {
	c.logoutMu.Lock()
	lk := c.logoutKeys[jwksURL]
	if lk == nil {
		lk = &logoutKeys{}
		c.logoutKeys[jwksURL] = lk
	}
	c.logoutMu.Unlock()

	lk.mu.Lock()
	defer lk.mu.Unlock()
	signed := lk.set != nil && verifiesWith(lk.set, raw)
	if lk.set == nil || (!signed && c.now().Sub(lk.at) >= logoutKeysRefresh) {
		set, err := c.keys(ctx, jwksURL)
		if err != nil {
			return nil, false, err
		}
		lk.set, lk.at = set, c.now()
		signed = verifiesWith(set, raw)
	}
	out := &oidc.StaticKeySet{}
	for _, k := range lk.set.Keys {
		if k.Use == "" || k.Use == "sig" {
			out.PublicKeys = append(out.PublicKeys, k.Key)
		}
	}
	return out, signed, nil
}

// verifiesWith reports whether one of set's keys verifies the signed token.
func verifiesWith(set *jose.JSONWebKeySet, raw string) bool {
	jws, err := jose.ParseSigned(raw, allAlgorithms)
	if err != nil {
		return false
	}
	for _, k := range set.Keys {
		if _, err := jws.Verify(k.Key); err == nil {
			return true
		}
	}
	return false
}
