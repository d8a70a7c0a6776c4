// Package webauthntest is a software authenticator for tests of Muster's
// passkeys without a browser: it answers the options the service sends to
// navigator.credentials.create and get as a browser with a security key
// would, for any origin the test names. The browser tests use Chromium's
// own virtual authenticator instead.
package webauthntest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// Authenticator holds one credential, made by Create.
type Authenticator struct {
	t   testing.TB
	key *ecdsa.PrivateKey
	// ID is the credential's id, once created.
	ID []byte
	// UserHandle is the user handle Create was given.
	UserHandle []byte
	// SignCount is the signature counter: Create's answer carries it, and
	// Get increments it before it answers. A test sets it back to play a
	// copied key.
	SignCount uint32
}

// New returns an authenticator with a fresh P-256 key.
func New(t testing.TB) *Authenticator {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 32)
	rand.Read(id)
	return &Authenticator{t: t, key: key, ID: id}
}

var b64 = base64.RawURLEncoding

// creationOptions is what Create reads of navigator.credentials.create's
// publicKey options.
type creationOptions struct {
	RP        struct{ ID string } `json:"rp"`
	User      struct{ ID string } `json:"user"`
	Challenge string              `json:"challenge"`
}

// Create answers creation options (JSON) as a browser at origin would,
// with attestation "none", and returns the answer as JSON.
func (a *Authenticator) Create(options []byte, origin string) []byte {
	a.t.Helper()
	var o creationOptions
	if err := json.Unmarshal(options, &o); err != nil {
		a.t.Fatalf("webauthntest: creation options: %v", err)
	}
	handle, err := b64.DecodeString(o.User.ID)
	if err != nil {
		a.t.Fatalf("webauthntest: user id: %v", err)
	}
	a.UserHandle = handle
	clientData := a.clientData("webauthn.create", o.Challenge, origin)
	x, y := a.key.PublicKey.X.FillBytes(make([]byte, 32)), a.key.PublicKey.Y.FillBytes(make([]byte, 32))
	cose, err := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: x, -3: y})
	if err != nil {
		a.t.Fatal(err)
	}
	auth := a.authData(o.RP.ID, 0x01|0x04|0x40, a.SignCount)
	auth = append(auth, make([]byte, 16)...) // AAGUID: not told
	auth = binary.BigEndian.AppendUint16(auth, uint16(len(a.ID)))
	auth = append(auth, a.ID...)
	auth = append(auth, cose...)
	att, err := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": auth})
	if err != nil {
		a.t.Fatal(err)
	}
	return a.answer(map[string]any{"clientDataJSON": b64.EncodeToString(clientData),
		"attestationObject": b64.EncodeToString(att), "transports": []string{"usb"}})
}

// requestOptions is what Get reads of navigator.credentials.get's
// publicKey options.
type requestOptions struct {
	RPID      string `json:"rpId"`
	Challenge string `json:"challenge"`
}

// Get answers request options (JSON) as a browser at origin would, signing
// with the credential, and returns the answer as JSON.
func (a *Authenticator) Get(options []byte, origin string) []byte {
	a.t.Helper()
	var o requestOptions
	if err := json.Unmarshal(options, &o); err != nil {
		a.t.Fatalf("webauthntest: request options: %v", err)
	}
	a.SignCount++
	clientData := a.clientData("webauthn.get", o.Challenge, origin)
	auth := a.authData(o.RPID, 0x01|0x04, a.SignCount)
	digest := sha256.Sum256(clientData)
	signed := sha256.Sum256(append(append([]byte{}, auth...), digest[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, a.key, signed[:])
	if err != nil {
		a.t.Fatal(err)
	}
	return a.answer(map[string]any{"clientDataJSON": b64.EncodeToString(clientData),
		"authenticatorData": b64.EncodeToString(auth), "signature": b64.EncodeToString(sig),
		"userHandle": b64.EncodeToString(a.UserHandle)})
}

func (a *Authenticator) clientData(typ, challenge, origin string) []byte {
	data, err := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": origin, "crossOrigin": false})
	if err != nil {
		a.t.Fatal(err)
	}
	return data
}

// authData is the authenticator data's start: the RP ID's hash, the flags
// and the signature counter.
func (a *Authenticator) authData(rpID string, flags byte, count uint32) []byte {
	h := sha256.Sum256([]byte(rpID))
	out := append(h[:], flags)
	return binary.BigEndian.AppendUint32(out, count)
}

func (a *Authenticator) answer(response map[string]any) []byte {
	out, err := json.Marshal(map[string]any{"id": b64.EncodeToString(a.ID), "rawId": b64.EncodeToString(a.ID),
		"type": "public-key", "response": response, "clientExtensionResults": map[string]any{}})
	if err != nil {
		a.t.Fatal(err)
	}
	return out
}
