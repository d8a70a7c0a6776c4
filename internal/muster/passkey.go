package muster

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Passkey is a passkey or security key (a WebAuthn credential) that a
// person registered as a second step of their password sign-in: a two-step
// Factor of kind FactorPasskey, seen with what WebAuthn keeps of it. Muster
// keeps the credential's public key, never a secret: a copy of the
// database lets no one sign in with it.
type Passkey struct {
	// ID is the factor's.
	ID     int64
	OrgID  int64
	UserID int64
	// Name is the person's own name for it ("YubiKey on my keyring"),
	// unique among their passkeys.
	Name string
	// CredentialID is the authenticator's id of the credential, unique
	// across Muster.
	CredentialID []byte
	PasskeyData
	CreatedAt  time.Time
	LastUsedAt time.Time
}

// PasskeyData is what a passkey factor keeps as its Data (JSON).
type PasskeyData struct {
	// RPID is the relying party ID (the base URL's host) it was registered
	// for: it signs for that host only.
	RPID string `json:"rp_id"`
	// PublicKey is the credential's COSE public key.
	PublicKey []byte `json:"public_key"`
	// SignCount is the authenticator's signature counter at its last use;
	// one that goes backwards suggests a copied key.
	SignCount uint32 `json:"sign_count"`
	// Transports are how the browser reaches the authenticator ("usb",
	// "nfc", "internal", "hybrid"…), as it reported them.
	Transports []string `json:"transports,omitempty"`
	// AAGUID names the authenticator's model (empty or all zero when it
	// does not say).
	AAGUID []byte `json:"aaguid,omitempty"`
	// Flags are the authenticator data flags WebAuthn keeps with a
	// credential (user present and verified, backup eligible and state),
	// as go-webauthn's CredentialFlags byte.
	Flags byte `json:"flags"`
	// AttestationFormat is the format of the registration's attestation
	// ("none", "packed"…).
	AttestationFormat string `json:"attestation_format,omitempty"`
}

// PasskeyOf reads the passkey factor f.
func PasskeyOf(f *Factor) (*Passkey, error) {
	if f.Kind != FactorPasskey {
		return nil, Errorf(ENOTFOUND, "Passkey not found.")
	}
	p := &Passkey{ID: f.ID, OrgID: f.OrgID, UserID: f.UserID, Name: f.Name, CredentialID: f.CredentialID,
		CreatedAt: f.CreatedAt, LastUsedAt: f.LastUsedAt}
	if err := json.Unmarshal(f.Data, &p.PasskeyData); err != nil {
		return nil, fmt.Errorf("muster: passkey %d: %w", f.ID, err)
	}
	return p, nil
}

// EncodeData is the passkey's PasskeyData as a factor keeps it.
func (p *Passkey) EncodeData() []byte {
	b, err := json.Marshal(p.PasskeyData)
	if err != nil {
		panic(err) // plain values: never fails
	}
	return b
}

// Passkey limits.
const (
	// MaxPasskeys is how many passkeys one person may register.
	MaxPasskeys = 20
	// MaxPasskeyCeremonies is how many unfinished, unexpired WebAuthn
	// ceremonies one person may have at once.
	MaxPasskeyCeremonies = 10
	// PasskeyCeremonyTTL is how long a begun ceremony (its challenge) may
	// be finished: the browser's own timeout for the prompt.
	PasskeyCeremonyTTL = 5 * time.Minute
)

// PasskeyCeremony is a begun WebAuthn ceremony: its challenge, kept in the
// database so that it may be finished on any instance, once, before it
// expires. The browser that began it holds the token behind TokenHash.
type PasskeyCeremony struct {
	ID        int64
	OrgID     int64
	UserID    int64
	TokenHash []byte
	// Purpose is PasskeyRegister, PasskeyEnrol, PasskeySignIn or
	// PasskeyConfirm.
	Purpose string
	// BoundID is what the ceremony belongs to: the console session that
	// began a registration or a confirmation, the pending sign-in
	// (SignInChallenge) of an enrolment or a second step. A finish from
	// elsewhere is refused.
	BoundID int64
	// Name is the name a registration gives the new passkey.
	Name string
	// Data is go-webauthn's SessionData as JSON: the challenge and what the
	// ceremony allows.
	Data      []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
}

// Purposes of a PasskeyCeremony.
const (
	// PasskeyRegister adds a passkey.
	PasskeyRegister = "register"
	// PasskeySignIn is the second step of a password sign-in.
	PasskeySignIn = "signin"
	// PasskeyEnrol adds the first passkey of a person inside their pending
	// sign-in, where the organization requires two-step verification.
	PasskeyEnrol = "enrol"
	// PasskeyConfirm proves, in a signed-in session, that the person holds
	// a passkey now: turning the last factor off asks for a current one.
	PasskeyConfirm = "confirm"
)

// ActionPasskeyRenamed: a person renamed a passkey; its target is the
// person. Turning one on and off is ActionTwoStepFactorAdded and Removed,
// of kind FactorPasskey.
const ActionPasskeyRenamed = "passkey.renamed"

// PasskeyTx reads and writes what WebAuthn needs beside the passkey
// factors (TwoStepTx): user handles, begun ceremonies.
type PasskeyTx interface {
	// PasskeyUserHandle returns the user's WebAuthn user handle, storing
	// handle as it when the user has none yet.
	PasskeyUserHandle(ctx context.Context, orgID, userID int64, handle []byte, now time.Time) ([]byte, error)
	// FactorCredentialRegistered reports whether a factor with the
	// credential ID is stored, anyone's.
	FactorCredentialRegistered(ctx context.Context, credentialID []byte) (bool, error)
	// RenameFactor renames the user's factor.
	RenameFactor(ctx context.Context, userID, id int64, name string) error

	CreatePasskeyCeremony(ctx context.Context, c *PasskeyCeremony) error
	FindPasskeyCeremony(ctx context.Context, tokenHash []byte) (*PasskeyCeremony, error)
	// UsePasskeyCeremony marks the ceremony used unless it was, and
	// reports whether this call did: a challenge is answered once.
	UsePasskeyCeremony(ctx context.Context, id int64, now time.Time) (bool, error)
	// CountLivePasskeyCeremonies counts the user's ceremonies that are
	// neither used nor expired at now.
	CountLivePasskeyCeremonies(ctx context.Context, userID int64, now time.Time) (int, error)
	// DeleteExpiredPasskeyCeremonies deletes ceremonies that expired
	// before now.
	DeleteExpiredPasskeyCeremonies(ctx context.Context, now time.Time) (int, error)
}
