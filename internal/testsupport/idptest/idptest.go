// Package idptest runs OpenID Providers inside tests: Provider, whose
// answers the test controls (claims, keys, errors), signing with go-jose;
// and Zitadel, the zitadel/oidc example provider with its real login form.
//
// It is a normal package so that internal/web, internal/service and
// internal/e2e share it; only tests import it.
package idptest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Provider is an OpenID Provider whose answers the test chooses. Its
// authorization endpoint signs in at once, as the person User says (or
// answers with Next.Error); its token endpoint checks the client, the code,
// the redirect URI and the PKCE verifier (S256) like a real one, and
// returns an ID token shaped by Next.
type Provider struct {
	// URL is the issuer: the server's address.
	URL          string
	ClientID     string
	ClientSecret string

	t   testing.TB
	srv *httptest.Server

	mu        sync.Mutex
	user      User
	next      Next
	signing   *key
	published []*key
	codes     map[string]grant
	tokens    map[string]User
	// Requests counts the requests each endpoint served.
	requests map[string]int
}

// User is the person the provider signs in.
type User struct {
	Subject       string
	Email         string
	EmailVerified any // true, false, "true" or nil (left out)
	GivenName     string
	FamilyName    string
	// SID is the provider's session id, put in the ID token when set.
	SID string
	// EmailOnlyInUserInfo leaves email and email_verified out of the ID
	// token, as Zitadel's example provider does: the relying party reads
	// them from UserInfo.
	EmailOnlyInUserInfo bool
}

// Next shapes the next sign-in's answers; each sign-in takes it and resets
// it.
type Next struct {
	// Error makes the authorization endpoint answer with this error code.
	Error string
	// Claims changes the ID token's claims before they are signed.
	Claims func(claims map[string]any)
	// UnpublishedKey signs the ID token with a key that the JWKS does not
	// hold, under a key id of its own.
	UnpublishedKey bool
	// WrongSignature signs it with another key under the published key id.
	WrongSignature bool
}

type key struct {
	id   string
	priv *rsa.PrivateKey
}

type grant struct {
	user          User
	next          Next
	clientID      string
	redirectURI   string
	nonce         string
	challenge     string
	challengeMeth string
}

// Start runs a provider until the test ends, for the client clientID with
// secret, signing in as user.
func Start(t testing.TB, user User) *Provider {
	t.Helper()
	p := &Provider{t: t, ClientID: "muster-test", ClientSecret: "client secret " + randomString(), user: user,
		codes: map[string]grant{}, tokens: map[string]User{}, requests: map[string]int{}}
	p.signing = newKey(t)
	p.published = []*key{p.signing}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.count("discovery", p.discovery))
	mux.HandleFunc("GET /jwks", p.count("jwks", p.jwks))
	mux.HandleFunc("GET /authorize", p.count("authorize", p.authorize))
	mux.HandleFunc("POST /token", p.count("token", p.token))
	mux.HandleFunc("GET /userinfo", p.count("userinfo", p.userinfo))
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	p.URL = p.srv.URL
	return p
}

func newKey(t testing.TB) *key {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return &key{id: "key-" + randomString()[:8], priv: priv}
}

func randomString() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (p *Provider) count(name string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.requests[name]++
		p.mu.Unlock()
		h(w, r)
	}
}

// Requests reports how many requests the endpoint (discovery, jwks,
// authorize, token, userinfo) has served.
func (p *Provider) Requests(endpoint string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.requests[endpoint]
}

// SignInAs makes the provider sign in u from now on.
func (p *Provider) SignInAs(u User) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.user = u
}

// SetNext shapes the next sign-in.
func (p *Provider) SetNext(n Next) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.next = n
}

// RotateKey signs with a new key from now on, published beside the old
// one, as providers rotate keys.
func (p *Provider) RotateKey() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.signing = newKey(p.t)
	p.published = append(p.published, p.signing)
}

// KeyID is the id of the key the provider signs with.
func (p *Provider) KeyID() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.signing.id
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.URL,
		"authorization_endpoint":                p.URL + "/authorize",
		"token_endpoint":                        p.URL + "/token",
		"userinfo_endpoint":                     p.URL + "/userinfo",
		"jwks_uri":                              p.URL + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"backchannel_logout_supported":          true,
		"backchannel_logout_session_supported":  true,
	})
}

func (p *Provider) jwks(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	var set jose.JSONWebKeySet
	for _, k := range p.published {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.priv.PublicKey, KeyID: k.id, Algorithm: "RS256", Use: "sig"})
	}
	p.mu.Unlock()
	writeJSON(w, http.StatusOK, set)
}

func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || q.Get("client_id") != p.ClientID || redirect.Host == "" {
		http.Error(w, "unknown client or redirect_uri", http.StatusBadRequest)
		return
	}
	back := redirect.Query()
	back.Set("state", q.Get("state"))
	p.mu.Lock()
	next, user := p.next, p.user
	p.next = Next{}
	p.mu.Unlock()
	switch {
	case next.Error != "":
		back.Set("error", next.Error)
		back.Set("error_description", "The user or the provider refused the request.")
	case q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" ||
		!strings.Contains(" "+q.Get("scope")+" ", " openid "):
		back.Set("error", "invalid_request")
		back.Set("error_description", "code flow with PKCE S256 and the openid scope only")
	default:
		code := randomString()
		p.mu.Lock()
		p.codes[code] = grant{user: user, next: next, clientID: q.Get("client_id"), redirectURI: q.Get("redirect_uri"),
			nonce: q.Get("nonce"), challenge: q.Get("code_challenge"), challengeMeth: q.Get("code_challenge_method")}
		p.mu.Unlock()
		back.Set("code", code)
	}
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func tokenError(w http.ResponseWriter, code string) {
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": code})
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		tokenError(w, "invalid_request")
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != p.ClientID || secret != p.ClientSecret {
		tokenError(w, "invalid_client")
		return
	}
	p.mu.Lock()
	g, found := p.codes[r.PostForm.Get("code")]
	delete(p.codes, r.PostForm.Get("code"))
	p.mu.Unlock()
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	switch {
	case r.PostForm.Get("grant_type") != "authorization_code" || !found || g.redirectURI != r.PostForm.Get("redirect_uri"):
		tokenError(w, "invalid_grant")
		return
	case base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
		tokenError(w, "invalid_grant") // PKCE: the verifier is not the challenge's
		return
	}
	claims := p.idClaims(g.user, p.ClientID, g.nonce)
	if g.next.Claims != nil {
		g.next.Claims(claims)
	}
	access := randomString()
	p.mu.Lock()
	p.tokens[access] = g.user
	p.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": access, "token_type": "Bearer", "expires_in": 300,
		"id_token": p.sign(claims, g.next)})
}

// idClaims are an ID token's claims for u.
func (p *Provider) idClaims(u User, audience, nonce string) map[string]any {
	now := time.Now()
	c := map[string]any{"iss": p.URL, "sub": u.Subject, "aud": audience, "iat": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(), "nonce": nonce}
	if u.GivenName != "" {
		c["given_name"], c["family_name"], c["name"] = u.GivenName, u.FamilyName, u.GivenName+" "+u.FamilyName
	}
	if u.SID != "" {
		c["sid"] = u.SID
	}
	if !u.EmailOnlyInUserInfo {
		u.emailClaims(c)
	}
	return c
}

func (u User) emailClaims(c map[string]any) {
	if u.Email != "" {
		c["email"] = u.Email
	}
	if u.EmailVerified != nil {
		c["email_verified"] = u.EmailVerified
	}
}

func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	p.mu.Lock()
	u, found := p.tokens[token]
	p.mu.Unlock()
	if !ok || !found {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, "invalid token", http.StatusUnauthorized)
		return
	}
	c := map[string]any{"sub": u.Subject}
	if u.GivenName != "" {
		c["given_name"], c["family_name"] = u.GivenName, u.FamilyName
	}
	u.emailClaims(c)
	writeJSON(w, http.StatusOK, c)
}

// sign signs claims with the provider's key, or as next says.
func (p *Provider) sign(claims map[string]any, next Next) string {
	p.mu.Lock()
	k := p.signing
	p.mu.Unlock()
	switch {
	case next.UnpublishedKey:
		k = newKey(p.t)
	case next.WrongSignature:
		k = &key{id: k.id, priv: newKey(p.t).priv}
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k.priv},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", k.id))
	if err != nil {
		p.t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		p.t.Fatal(err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		p.t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		p.t.Fatal(err)
	}
	return out
}

// LogoutToken signs a back-channel logout token (OpenID Connect
// Back-Channel Logout 1.0) for the subject and/or the provider session sid;
// change, if set, changes its claims first.
func (p *Provider) LogoutToken(sub, sid string, change func(claims map[string]any)) string {
	now := time.Now()
	c := map[string]any{"iss": p.URL, "aud": p.ClientID, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
		"jti": randomString(), "events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}}}
	if sub != "" {
		c["sub"] = sub
	}
	if sid != "" {
		c["sid"] = sid
	}
	if change != nil {
		change(c)
	}
	return p.sign(c, Next{})
}

// Follow sends a browser, one that signs in at once, to a provider's
// authorization URL (a Provider's) and returns the callback URL the
// provider sends it back to, with its code and state or error.
func Follow(t testing.TB, authURL string) *url.URL {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := c.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	back, err := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusFound || err != nil || back.Host == "" {
		t.Fatalf("the provider answered %s with %d, Location %q; want a redirect back", authURL, res.StatusCode,
			res.Header.Get("Location"))
	}
	return back
}
