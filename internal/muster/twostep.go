package muster

import (
	"context"
	"strings"
	"time"
)

// Two-step verification for password sign-in (AUTH-7): a person's factors,
// their recovery codes, the half-signed-in state between the password and
// the second step, and the organization's policy.

// FactorKind is a kind of second factor. Each kind verifies its own way;
// the sign-in's second step lists the person's factors of every kind.
type FactorKind string

const (
	// FactorTOTP is an authenticator app (RFC 6238): 6 digits every 30 s
	// from a secret shared at enrolment.
	FactorTOTP FactorKind = "totp"
	// FactorPasskey is a passkey or security key (WebAuthn).
	FactorPasskey FactorKind = "passkey"
)

// Label is the kind as the console names it.
func (k FactorKind) Label() string {
	switch k {
	case FactorTOTP:
		return "Authenticator app"
	case FactorPasskey:
		return "Passkey or security key"
	}
	return string(k)
}

// Factor is one second factor of a person.
type Factor struct {
	ID     int64
	OrgID  int64
	UserID int64
	Kind   FactorKind
	// Name tells a person's factors apart ("Phone", "YubiKey"); at most
	// MaxFactorNameLength characters.
	Name string
	// Secret is a TOTP factor's shared secret, sealed with the server key
	// (secret.Box); nil for other kinds.
	Secret []byte
	// CredentialID and Data are a passkey's credential ID and the rest of
	// its credential as its verifier keeps it; nil for other kinds.
	CredentialID []byte
	Data         []byte
	// LastStep is the last TOTP time step accepted: a code of that step or
	// an earlier one is refused (replay).
	LastStep  int64
	CreatedAt time.Time
	// EnabledAt is zero while an enrolment waits for its first code.
	EnabledAt  time.Time
	LastUsedAt time.Time
}

// Enabled reports whether the factor counts for sign-in.
func (f *Factor) Enabled() bool { return !f.EnabledAt.IsZero() }

// MaxFactorNameLength bounds a factor's name.
const MaxFactorNameLength = 100

// TwoStepRecoveryCodeCount is how many recovery codes a person gets at a
// time.
const TwoStepRecoveryCodeCount = 10

// SignInChallenge is a sign-in between its password and its second step
// (or, under the organization's policy, its enrolment): no session exists
// yet. The browser holds the token whose hash is kept.
type SignInChallenge struct {
	ID        int64
	OrgID     int64
	UserID    int64
	TokenHash []byte
	// Data is the state a factor kind keeps between showing the second
	// step and checking it (a WebAuthn assertion's challenge).
	Data      []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time
}

// TwoStepScope is whom an organization requires two-step verification of.
type TwoStepScope string

const (
	TwoStepOff      TwoStepScope = "off"
	TwoStepEveryone TwoStepScope = "everyone"
	// TwoStepAdmins: the Owner and the Admins.
	TwoStepAdmins TwoStepScope = "admins"
)

// ParseTwoStepScope returns the scope named s.
func ParseTwoStepScope(s string) (TwoStepScope, bool) {
	switch TwoStepScope(s) {
	case TwoStepOff, TwoStepEveryone, TwoStepAdmins:
		return TwoStepScope(s), true
	}
	return "", false
}

// Grace periods of a two-step policy, in days.
const (
	DefaultTwoStepGraceDays = 7
	MaxTwoStepGraceDays     = 90
)

// TwoStepPolicy is an organization's rule for password sign-in.
type TwoStepPolicy struct {
	OrgID int64
	Scope TwoStepScope
	// GraceDays is how long a person without a factor may still sign in
	// without one (each sign-in leading to enrolment first), from when the
	// policy began to apply to them.
	GraceDays int
	// RememberBrowser lets a person skip the second step for
	// RememberBrowserFor in a browser where they passed it.
	RememberBrowser bool
	// RequiredSince is when the scope last changed from off.
	RequiredSince time.Time
	UpdatedAt     time.Time
}

// RememberBrowserFor is how long a remembered browser skips the second
// step.
const RememberBrowserFor = 30 * 24 * time.Hour

// Applies reports whether the policy requires two-step verification of a
// person with role.
func (p *TwoStepPolicy) Applies(role Role) bool {
	switch {
	case p == nil:
		return false
	case p.Scope == TwoStepEveryone:
		return true
	case p.Scope == TwoStepAdmins:
		return role == RoleOwner || role == RoleAdmin
	}
	return false
}

// GraceEnds is when a person activated at activated, whom the policy
// requires two-step verification of, must have a factor to sign in.
func (p *TwoStepPolicy) GraceEnds(activated time.Time) time.Time {
	from := p.RequiredSince
	if activated.After(from) {
		from = activated
	}
	return from.Add(time.Duration(p.GraceDays) * 24 * time.Hour)
}

// TwoStepTx reads and writes two-step verification (AUTH-7).
type TwoStepTx interface {
	// CreateFactor inserts the factor; a second TOTP factor of a person,
	// or a credential ID stored already, is ECONFLICT.
	CreateFactor(ctx context.Context, f *Factor) error
	// FindFactor finds the user's factor.
	FindFactor(ctx context.Context, userID, id int64) (*Factor, error)
	// FindUserFactors lists the user's factors, enabled or not, oldest
	// first.
	FindUserFactors(ctx context.Context, userID int64) ([]*Factor, error)
	// EnableFactor marks the user's factor enabled at now, its TOTP step
	// last used step, and reports whether it was waiting for it.
	EnableFactor(ctx context.Context, userID, id int64, step int64, now time.Time) (bool, error)
	// UseFactorStep records that the factor's TOTP code of step was used at
	// now, unless a code of that step or a later one was, and reports
	// whether it did: of two uses of one code, only one succeeds.
	UseFactorStep(ctx context.Context, id int64, step int64, now time.Time) (bool, error)
	// UpdateFactorData writes a factor's Data and last use (a passkey's
	// signature counter).
	UpdateFactorData(ctx context.Context, id int64, data []byte, now time.Time) error
	// DeleteFactor removes the user's factor and reports whether it was
	// there.
	DeleteFactor(ctx context.Context, userID, id int64) (bool, error)
	// DeleteUserFactors removes every factor of the user, their recovery
	// codes and their remembered browsers, and returns how many enabled
	// factors there were.
	DeleteUserFactors(ctx context.Context, userID int64) (int, error)

	// ReplaceTwoStepRecoveryCodes deletes the user's recovery codes and
	// stores the hashes as new ones.
	ReplaceTwoStepRecoveryCodes(ctx context.Context, orgID, userID int64, hashes [][]byte, now time.Time) error
	// UseTwoStepRecoveryCode marks the user's unused code with hash used
	// and reports whether there was one.
	UseTwoStepRecoveryCode(ctx context.Context, userID int64, hash []byte, now time.Time) (bool, error)
	// CountTwoStepRecoveryCodes counts the user's unused codes.
	CountTwoStepRecoveryCodes(ctx context.Context, userID int64) (int, error)

	CreateSignInChallenge(ctx context.Context, c *SignInChallenge) error
	FindSignInChallenge(ctx context.Context, tokenHash []byte) (*SignInChallenge, error)
	// SetSignInChallengeData writes the challenge's Data.
	SetSignInChallengeData(ctx context.Context, id int64, data []byte) error
	// UseSignInChallenge marks the challenge used unless it was, and
	// reports whether this call did: a challenge completes one sign-in.
	UseSignInChallenge(ctx context.Context, id int64, now time.Time) (bool, error)
	// DeleteExpiredSignInChallenges deletes up to limit challenges that
	// expired before now, and remembered browsers too.
	DeleteExpiredSignInChallenges(ctx context.Context, now time.Time, limit int) (int, error)

	// FindTwoStepPolicy finds the org's policy: ENOTFOUND when it never
	// had one.
	FindTwoStepPolicy(ctx context.Context, orgID int64) (*TwoStepPolicy, error)
	// SaveTwoStepPolicy inserts the policy or writes its every field.
	SaveTwoStepPolicy(ctx context.Context, p *TwoStepPolicy) error

	// RememberBrowser stores the hash of a browser's token that skips the
	// user's second step until expires.
	RememberBrowser(ctx context.Context, orgID, userID int64, tokenHash []byte, now, expires time.Time) error
	// BrowserRemembered reports whether the token's hash is the user's
	// and live at now.
	BrowserRemembered(ctx context.Context, userID int64, tokenHash []byte, now time.Time) (bool, error)
	// ForgetBrowsers ends every remembered browser of the user.
	ForgetBrowsers(ctx context.Context, userID int64) error
}

// TOTPCode is a code as typed into the second step: the digits alone,
// spaces and hyphens aside. It reports false for anything but 6 digits.
func TOTPCode(typed string) (string, bool) {
	code := strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' || r == '\u00a0' {
			return -1
		}
		return r
	}, strings.TrimSpace(typed))
	if len(code) != 6 {
		return "", false
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return "", false
		}
	}
	return code, true
}

// MaxSecondStepCodeLength bounds what the code field takes: a recovery
// code with its hyphens and some spaces.
const MaxSecondStepCodeLength = 40

// Audit actions of two-step verification.
const (
	ActionTwoStepFactorAdded       = "two_step.factor_added"
	ActionTwoStepFactorRemoved     = "two_step.factor_removed"
	ActionTwoStepFailed            = "two_step.failed"
	ActionTwoStepRecoveryCodesMade = "two_step.recovery_codes_generated"
	ActionTwoStepRecoveryCodeUsed  = "two_step.recovery_code_used"
	ActionTwoStepReset             = "two_step.reset"
	ActionTwoStepPolicyChanged     = "two_step.policy_changed"
)

// Field names of two-step verification.
const (
	// FieldCode is the input of a second step's or an enrolment's code.
	FieldCode = "code"
	// FieldTwoStepScope and FieldGraceDays are the organization's policy.
	FieldTwoStepScope = "two_step"
	FieldGraceDays    = "grace_days"
)
