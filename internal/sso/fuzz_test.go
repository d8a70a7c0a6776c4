package sso_test

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/muster-app/muster/internal/sso"
)

// printable is the parsers' promise about what they return: valid UTF-8
// without control characters.
func printable(s string) bool {
	return utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0
}

// FuzzParseCallback: whatever the query, the callback parser returns
// either a refusal or a callback with an error, or with a state and a code,
// each printable and within its limit, as the query gave them.
func FuzzParseCallback(f *testing.F) {
	for _, q := range []string{"state=s&code=c", "error=access_denied&error_description=No&state=s", "state=s",
		"code=c", "", "state=a&state=b&code=c", "state=%00&code=c", "state=%ff&code=c", "code=" + strings.Repeat("c", 5000) + "&state=s",
		"state=s&code=c&iss=https%3A%2F%2Fidp.example", "%zz", "state=s;code=c", "state=s&code=c&error=x"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return // the request's own parser refuses it first
		}
		cb, err := sso.ParseCallback(q)
		for _, v := range []string{cb.State, cb.Code, cb.Error, cb.ErrorDescription, cb.Issuer} {
			if !printable(v) || len(v) > 4096 {
				t.Fatalf("ParseCallback(%q) returned %q", raw, v)
			}
		}
		if err != nil {
			if sso.ErrorReason(err) != sso.ReasonMalformed {
				t.Fatalf("ParseCallback(%q): %v; want a malformed refusal", raw, err)
			}
			return
		}
		if cb.Error == "" && (cb.State == "" || cb.Code == "") {
			t.Fatalf("ParseCallback(%q) = %+v: taken without an error, a state or a code", raw, cb)
		}
		if cb.State != q.Get("state") || cb.Code != q.Get("code") || len(q["state"]) > 1 || len(q["code"]) > 1 {
			t.Fatalf("ParseCallback(%q) = %+v, not the query's one state and code", raw, cb)
		}
	})
}

// FuzzPeekLogoutToken: whatever arrives as a logout token, reading its
// issuer and audience unverified never fails but with a refusal, and what
// it returns is printable, an issuer and at least one audience.
func FuzzPeekLogoutToken(f *testing.F) {
	enc := base64.RawURLEncoding.EncodeToString
	header := enc([]byte(`{"alg":"RS256","kid":"k"}`))
	for _, payload := range []string{`{"iss":"https://idp.example","aud":"muster"}`, `{"iss":"https://idp.example","aud":["a","b"]}`,
		`{"iss":"x","aud":null}`, `{"iss":"x","aud":[1]}`, `{"iss":"x","aud":[""]}`, `[]`, `{"iss":"\u0000","aud":"a"}`, `{}`} {
		f.Add(header + "." + enc([]byte(payload)) + "." + enc([]byte("signature")))
	}
	f.Add("not.a.jwt")
	f.Add("")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add(strings.Repeat("a.", 3))
	f.Fuzz(func(t *testing.T, raw string) {
		iss, aud, err := sso.PeekLogoutToken(raw)
		if err != nil {
			if sso.ErrorReason(err) != sso.ReasonMalformed || iss != "" || aud != nil {
				t.Fatalf("PeekLogoutToken(%q) = %q, %q, %v", raw, iss, aud, err)
			}
			return
		}
		if iss == "" || !printable(iss) || len(aud) == 0 {
			t.Fatalf("PeekLogoutToken(%q) = %q, %q", raw, iss, aud)
		}
		for _, a := range aud {
			if a == "" || !printable(a) {
				t.Fatalf("PeekLogoutToken(%q) audience %q", raw, a)
			}
		}
	})
}
