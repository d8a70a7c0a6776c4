package muster

import (
	"context"
	"time"
)

// Passkey is a passkey or security key (a WebAuthn credential) that a
// person registered as a second step of their password sign-in. Muster
// keeps the credential's public key, never a secret: a copy of the
// database lets no one sign in with it.
type Passkey struct {
	ID     int64
	OrgID  int64
	UserID int64
	// Name is the person's own name for it ("YubiKey on my keyring"),
	// unique among their passkeys.
	Name string
	// RPID is the relying party ID (the base URL's host) it was registered
	// for: it signs for that host only.
	RPID string
	// CredentialID is the authenticator's id of the credential, unique
	// across Muster.
	CredentialID []byte
	// PublicKey is the credential's COSE public key.
	PublicKey []byte
	// SignCount is the authenticator's signature counter at its last use;
	// one that goes backwards suggests a copied key.
	SignCount uint32
	// Transports are how the browser reaches the authenticator ("usb",
	// "nfc", "internal", "hybrid"…), as it reported them.
	Transports []string
	// AAGUID names the authenticator's model (all zero when it does not
	// say).
	AAGUID []byte
	// Flags are the authenticator data flags WebAuthn keeps with a
	// credential (user present and verified, backup eligible and state),
	// as go-webauthn's CredentialFlags byte.
	Flags byte
	// AttestationFormat is the format of the registration's attestation
	// ("none", "packed"…).
	AttestationFormat string
	CreatedAt         time.Time
	LastUsedAt        time.Time
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
	// Purpose is PasskeyRegister, PasskeySignIn or PasskeyConfirm.
	Purpose string
	// BoundID is what the ceremony belongs to: the console session that
	// began a registration or a confirmation, the half-signed-in sign-in
	// of a second step. A finish from elsewhere is refused.
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
	// PasskeyConfirm proves, in a signed-in session, that the person holds
	// a passkey now: turning the last factor off asks for it.
	PasskeyConfirm = "confirm"
)

// Audit actions of passkeys; their target is the person.
const (
	ActionPasskeyAdded   = "passkey.added"
	ActionPasskeyRenamed = "passkey.renamed"
	ActionPasskeyRemoved = "passkey.removed"
	// ActionPasskeyRefused: a passkey's signature was refused in a second
	// step or a confirmation (wrong origin, a counter that went
	// backwards…).
	ActionPasskeyRefused = "passkey.refused"
)

// PasskeyTx reads and writes passkeys and their ceremonies.
type PasskeyTx interface {
	// PasskeyUserHandle returns the user's WebAuthn user handle, storing
	// handle as it when the user has none yet.
	PasskeyUserHandle(ctx context.Context, orgID, userID int64, handle []byte, now time.Time) ([]byte, error)
	// CreatePasskey stores a new passkey; a credential ID stored already,
	// or a name the user gave another passkey, is ECONFLICT.
	CreatePasskey(ctx context.Context, p *Passkey) error
	// PasskeyRegistered reports whether a passkey with the credential ID
	// is stored, anyone's.
	PasskeyRegistered(ctx context.Context, credentialID []byte) (bool, error)
	// FindPasskeys lists the user's passkeys, oldest first.
	FindPasskeys(ctx context.Context, userID int64) ([]*Passkey, error)
	// CountPasskeys counts the user's passkeys.
	CountPasskeys(ctx context.Context, userID int64) (int, error)
	// FindPasskey finds the user's passkey; in a write transaction it
	// locks it until the commit.
	FindPasskey(ctx context.Context, userID, id int64) (*Passkey, error)
	// RenamePasskey renames the user's passkey; a name the user gave
	// another passkey is ECONFLICT.
	RenamePasskey(ctx context.Context, userID, id int64, name string) error
	// UsePasskey records a use: the new signature counter and flags, and
	// the time.
	UsePasskey(ctx context.Context, id int64, signCount uint32, flags byte, now time.Time) error
	// DeletePasskey removes the user's passkey and reports whether there
	// was one.
	DeletePasskey(ctx context.Context, userID, id int64) (bool, error)
	// DeleteUserPasskeys removes every passkey of the user and returns
	// how many.
	DeleteUserPasskeys(ctx context.Context, userID int64) (int, error)

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
