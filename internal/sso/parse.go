package sso

import (
	"encoding/json"
	"net/url"
	"strings"
	"unicode/utf8"

	jose "github.com/go-jose/go-jose/v4"
)

// Callback is what the provider sent the browser back with (RFC 6749
// 4.1.2): a code and the state, or an error.
type Callback struct {
	State string
	Code  string
	// Error and ErrorDescription are the provider's refusal, if it refused.
	Error            string
	ErrorDescription string
	// Issuer is RFC 9207's iss parameter, which providers that support it
	// send; when set it must be the connection's issuer.
	Issuer string
}

// Limits on a callback's parameters: far above what providers send (a
// state is Muster's own 43 characters; codes run to a few hundred).
const (
	maxState       = 200
	maxCode        = 4096
	maxError       = 200
	maxDescription = 1000
	maxIssuerParam = 500
)

// ParseCallback reads a callback's query. Each parameter may appear once
// and must be printable text within its limit; a callback carries an error,
// or a state and a code. The state is returned whenever it could be read,
// so that a refusal can be told to the sign-in it belongs to.
func ParseCallback(q url.Values) (Callback, error) {
	var cb Callback
	fields := []struct {
		name string
		max  int
		dst  *string
	}{
		{"state", maxState, &cb.State},
		{"code", maxCode, &cb.Code},
		{"error", maxError, &cb.Error},
		{"error_description", maxDescription, &cb.ErrorDescription},
		{"iss", maxIssuerParam, &cb.Issuer},
	}
	var problem string
	for _, f := range fields {
		vs := q[f.name]
		switch {
		case len(vs) == 0:
			continue
		case len(vs) > 1:
			problem = "the parameter " + f.name + " appears more than once"
		case len(vs[0]) > f.max:
			problem = "the parameter " + f.name + " is too long"
		case !printable(vs[0]):
			problem = "the parameter " + f.name + " holds characters that are not printable text"
		default:
			*f.dst = vs[0]
			continue
		}
		*f.dst = ""
	}
	if problem != "" {
		return cb, fail(ReasonMalformed, problem, nil)
	}
	switch {
	case cb.Error != "":
		return cb, nil
	case cb.State == "":
		return cb, fail(ReasonMalformed, "the callback has no state", nil)
	case cb.Code == "":
		return cb, fail(ReasonMalformed, "the callback has no code", nil)
	}
	return cb, nil
}

// printable reports whether s is valid UTF-8 without control characters.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r >= 0x7f && r < 0xa0 {
			return false
		}
	}
	return true
}

// maxLogoutToken bounds a logout token read from a request.
const maxLogoutToken = 16 << 10

// PeekLogoutToken reads the issuer and audience of a logout token without
// verifying it, to find the connection whose keys verify it. Nothing it
// returns may be trusted before VerifyLogout.
func PeekLogoutToken(raw string) (issuer string, audience []string, err error) {
	if raw == "" || len(raw) > maxLogoutToken || strings.Count(raw, ".") != 2 {
		return "", nil, fail(ReasonMalformed, "the logout token is not a signed JWT", nil)
	}
	jws, err := jose.ParseSigned(raw, allAlgorithms)
	if err != nil || len(jws.Signatures) != 1 {
		return "", nil, fail(ReasonMalformed, "the logout token is not a signed JWT", err)
	}
	var claims struct {
		Issuer   string          `json:"iss"`
		Audience json.RawMessage `json:"aud"`
	}
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &claims); err != nil {
		return "", nil, fail(ReasonMalformed, "the logout token's claims are not a JSON object", err)
	}
	var one string
	if json.Unmarshal(claims.Audience, &one) == nil {
		audience = []string{one}
	} else if json.Unmarshal(claims.Audience, &audience) != nil {
		return "", nil, fail(ReasonMalformed, "the logout token's aud is neither a string nor a list of strings", nil)
	}
	if claims.Issuer == "" || len(audience) == 0 || !printable(claims.Issuer) {
		return "", nil, fail(ReasonMalformed, "the logout token names no issuer or audience", nil)
	}
	for _, a := range audience {
		if a == "" || !printable(a) {
			return "", nil, fail(ReasonMalformed, "the logout token's aud holds characters that are not printable text", nil)
		}
	}
	return claims.Issuer, audience, nil
}
