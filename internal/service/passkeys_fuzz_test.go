package service

// FuzzPasskeyAnswer fuzzes what a browser sends back from a passkey
// ceremony (navigator.credentials.create's and get's answers, as JSON):
// any bytes are refused with an *muster.Error that says what to do, never a
// panic, and an answer that passes is one the software authenticator made
// for this challenge.

import (
	"encoding/json"
	"testing"

	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/testsupport/webauthntest"
)

func FuzzPasskeyAnswer(f *testing.F) {
	rp := newRelyingParty("https://muster.example.com")
	s := &Service{rp: rp}
	u := &muster.User{ID: 1, OrgID: 1, Email: "ada@example.com", FirstName: "Ada", LastName: "Lovelace"}
	pu := passkeyUser{u: u, handle: make([]byte, 32)}
	creation, regData, err := rp.wa.BeginRegistration(pu)
	if err != nil {
		f.Fatal(err)
	}
	opts, err := json.Marshal(creation.Response)
	if err != nil {
		f.Fatal(err)
	}
	auth := webauthntest.New(f)
	registered := auth.Create(opts, rp.origin)
	cred, err := s.verifyRegistration(pu, *regData, registered)
	if err != nil {
		f.Fatal(err)
	}
	pu.keys = []*muster.Passkey{{ID: 1, Name: "Key", CredentialID: cred.ID,
		PasskeyData: muster.PasskeyData{PublicKey: cred.PublicKey, Flags: cred.Flags.MsgpByte()}}}
	assertion, loginData, err := rp.wa.BeginLogin(pu)
	if err != nil {
		f.Fatal(err)
	}
	if opts, err = json.Marshal(assertion.Response); err != nil {
		f.Fatal(err)
	}
	signed := auth.Get(opts, rp.origin)

	f.Add(registered)
	f.Add(signed)
	f.Add(auth.Get(opts, "https://evil.example"))
	for _, s := range []string{"", "{}", "null", `{"id":"","rawId":"","type":"public-key","response":{}}`,
		`{"id":"AA","rawId":"AA","type":"public-key","response":{"clientDataJSON":"e30","attestationObject":"oA"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, answer []byte) {
		check := func(what string, err error) {
			if err != nil && muster.ErrorCode(err) == muster.EINTERNAL {
				t.Fatalf("%s: a fault, not a refusal: %v", what, err)
			}
			if err != nil && muster.ErrorMessage(err) == "" {
				t.Fatalf("%s: a refusal without words: %v", what, err)
			}
		}
		fresh := func(d *webauthn.SessionData) webauthn.SessionData { return *d }
		_, err := s.verifyRegistration(passkeyUser{u: u, handle: pu.handle}, fresh(regData), answer)
		check("registration", err)
		_, c, err := s.verifyAssertion(pu, fresh(loginData), answer)
		check("assertion", err)
		if err == nil && c == nil {
			t.Fatal("an accepted assertion without its credential")
		}
	})
}
