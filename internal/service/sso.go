package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"slices"
	"strconv"
	"strings"

	"github.com/muster-app/muster/internal/mail"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/sso"
)

// Single sign-on over OpenID Connect (AUTH-6): an organization's
// connection, its switches (SSO sign-in on, just-in-time provisioning,
// Require SSO) and the Owner's recovery codes. Domains are in
// sso_domains.go, sign-in through the provider in sso_signin.go.

// Paths of Muster's endpoints that identity providers are told about.
const (
	SSOCallbackPath = "/sso/callback"
	SSOLogoutPath   = "/sso/backchannel-logout"
)

// SSORedirectURI is the redirect URI to register at the identity provider.
func (s *Service) SSORedirectURI() string { return s.cfg.BaseURL + SSOCallbackPath }

// SSOLogoutURI is the back-channel logout URI to register there.
func (s *Service) SSOLogoutURI() string { return s.cfg.BaseURL + SSOLogoutPath }

// SSOSettings is what Settings → Single sign-on shows an Owner or Admin.
type SSOSettings struct {
	Org *muster.Org
	// Connection is nil until one is saved. Its sealed secret is never
	// opened for the page: HasSecret says one is set.
	Connection *muster.SSOConnection
	HasSecret  bool
	Domains    []*muster.SSODomain
	// RedirectURI and LogoutURI are what to register at the provider.
	RedirectURI string
	LogoutURI   string
	// Owner says that the actor is the Owner, who alone requires SSO.
	Owner bool
	// TestedByYou says that the actor's test sign-in succeeded with the
	// current settings.
	TestedByYou bool
	// RecoveryCodesLeft counts the Owner's unused recovery codes.
	RecoveryCodesLeft int
	// CanSeal says that the server has a key to seal a client secret with.
	CanSeal bool
}

// SSOSettings returns the organization's single sign-on settings.
func (s *Service) SSOSettings(ctx context.Context) (*SSOSettings, error) {
	return readAs(ctx, s, loadAdmin, func(tx *txn, a *actor) (*SSOSettings, error) {
		out := &SSOSettings{RedirectURI: s.SSORedirectURI(), LogoutURI: s.SSOLogoutURI(),
			Owner: a.role == muster.RoleOwner, CanSeal: s.cfg.SecretBox != nil}
		var err error
		if out.Org, err = tx.FindOrg(ctx, a.orgID); err != nil {
			return nil, err
		}
		if out.Connection, err = findConnection(ctx, tx, a.orgID); err != nil {
			return nil, err
		}
		if c := out.Connection; c != nil {
			out.HasSecret = len(c.SealedSecret) > 0
			out.TestedByYou = a.user != nil && c.TestedFor(a.user.ID)
			c.SealedSecret = nil
		}
		if out.Owner && a.user != nil {
			if out.RecoveryCodesLeft, err = tx.CountRecoveryCodes(ctx, a.user.ID); err != nil {
				return nil, err
			}
		}
		out.Domains, err = tx.FindSSODomains(ctx, a.orgID)
		return out, err
	})
}

// findConnection is the org's connection, nil when it has none; read
// without a lock.
func findConnection(ctx context.Context, tx muster.Tx, orgID int64) (*muster.SSOConnection, error) {
	return noneIfNotFound(tx.FindSSOConnection(ctx, orgID))
}

// lockConnection is findConnection for a transaction that changes it.
func lockConnection(ctx context.Context, tx muster.Tx, orgID int64) (*muster.SSOConnection, error) {
	return noneIfNotFound(tx.LockSSOConnection(ctx, orgID))
}

func noneIfNotFound(c *muster.SSOConnection, err error) (*muster.SSOConnection, error) {
	if muster.ErrorCode(err) == muster.ENOTFOUND {
		return nil, nil
	}
	return c, err
}

// SSOConnectionInput is the connection form: the client secret is
// write-only, and left empty it stays as it is.
type SSOConnectionInput struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	Scopes       string
}

var errSSORequiredChange = muster.Errorf(muster.ECONFLICT, "Single sign-on is required, so the connection "+
	"cannot change: a mistake would lock everyone out. The Owner turns Require SSO off first.")

var errNoConnection = muster.Errorf(muster.ECONFLICT, "Save the identity provider's settings first.")

// SaveSSOConnection saves the organization's connection (Owner only: who
// controls the identity provider can sign in as anyone of the verified
// domains, the Owner included).
// A changed issuer, client, secret or scopes makes a new version of the
// settings, which needs its own test sign-in before SSO can be required.
func (s *Service) SaveSSOConnection(ctx context.Context, in SSOConnectionInput) (*muster.SSOConnection, error) {
	in.Issuer, in.ClientID = strings.TrimSpace(in.Issuer), strings.TrimSpace(in.ClientID)
	in.ClientSecret = strings.TrimSpace(in.ClientSecret)
	var v muster.Validation
	muster.CheckIssuer(&v, in.Issuer)
	muster.CheckClientID(&v, in.ClientID)
	if in.ClientSecret != "" {
		muster.CheckClientSecret(&v, in.ClientSecret)
	}
	scopes := muster.ParseScopes(&v, in.Scopes)
	var out *muster.SSOConnection
	err := s.update(ctx, func(tx *txn) error {
		a, err := loadOwner(ctx, tx, "change the identity provider's settings")
		if err != nil {
			return err
		}
		c, err := lockConnection(ctx, tx, a.orgID)
		if err != nil {
			return err
		}
		if c == nil && in.ClientSecret == "" {
			muster.CheckClientSecret(&v, "")
		} else if c != nil && in.ClientSecret == "" && c.Issuer != in.Issuer && in.Issuer != "" {
			// The saved secret is the old provider's: kept, it would be sent
			// to the new issuer's token endpoint, and so shown to whoever
			// runs it.
			v.Add(muster.FieldClientSecret, "Enter the client secret again: the issuer changed, and the saved "+
				"secret is only ever sent to the issuer it was entered for.")
		}
		if err := v.Err(); err != nil {
			return err
		}
		if c != nil && c.Required {
			return errSSORequiredChange
		}
		if s.cfg.SecretBox == nil {
			return muster.Errorf(muster.ECONFLICT, "This server has no key to encrypt the client secret with: "+
				"its operator starts it with --secret-key (see docs/sso.md).")
		}
		var before map[string]any
		if c == nil {
			c = &muster.SSOConnection{OrgID: a.orgID, CreatedAt: tx.now}
		} else {
			before = connectionSnapshot(c, false)
		}
		changed := c.Issuer != in.Issuer || c.ClientID != in.ClientID || !slices.Equal(c.Scopes, scopes) ||
			in.ClientSecret != ""
		if !changed {
			out = c
			return nil
		}
		c.Issuer, c.ClientID, c.Scopes, c.UpdatedAt = in.Issuer, in.ClientID, scopes, tx.now
		if in.ClientSecret != "" {
			c.SealedSecret = s.cfg.SecretBox.Seal([]byte(in.ClientSecret), secretAD(a.orgID))
		}
		c.Version++
		if err := tx.SaveSSOConnection(ctx, c); err != nil {
			return err
		}
		out = c
		return tx.audit(ctx, a, muster.ActionSSOConnectionSaved, muster.TargetSSOConnection, a.orgID, c.Issuer,
			before, connectionSnapshot(c, in.ClientSecret != ""))
	})
	if out != nil {
		out.SealedSecret = nil
	}
	return out, err
}

// secretAD binds a sealed client secret to its organization, so that it
// cannot be copied to another's row and opened there.
func secretAD(orgID int64) []byte {
	return []byte("sso client secret of org " + strconv.FormatInt(orgID, 10))
}

// connectionSnapshot is what the audit log records of a connection: never
// the secret, only whether this change set a new one.
func connectionSnapshot(c *muster.SSOConnection, newSecret bool) map[string]any {
	m := map[string]any{"issuer": c.Issuer, "client_id": c.ClientID, "scopes": strings.Join(c.Scopes, " "),
		"version": c.Version}
	if newSecret {
		m["client_secret"] = "replaced"
	}
	return m
}

// connection opens the org's connection for the relying party.
func (s *Service) connection(c *muster.SSOConnection) (sso.Connection, error) {
	if s.cfg.SecretBox == nil {
		return sso.Connection{}, muster.Errorf(muster.ECONFLICT, "This server has no key to read the client secret "+
			"with: its operator starts it with --secret-key (see docs/sso.md).")
	}
	secret, err := s.cfg.SecretBox.Open(c.SealedSecret, secretAD(c.OrgID))
	if err != nil {
		return sso.Connection{}, muster.Errorf(muster.ECONFLICT, "The client secret cannot be read with this server's "+
			"key (was the key changed?). Enter the secret again on Settings → Single sign-on.")
	}
	return sso.Connection{Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: string(secret), Scopes: c.Scopes,
		RedirectURI: s.SSORedirectURI()}, nil
}

// loadConnection resolves the actor with load and the org's connection,
// locked, which must exist.
func loadConnection(ctx context.Context, tx muster.Tx, load func(context.Context, muster.Tx) (*actor, error)) (*actor, *muster.SSOConnection, error) {
	a, err := load(ctx, tx)
	if err != nil {
		return nil, nil, err
	}
	c, err := lockConnection(ctx, tx, a.orgID)
	if err != nil {
		return nil, nil, err
	}
	if c == nil {
		return nil, nil, errNoConnection
	}
	return a, c, nil
}

// ownerTo is loadOwner for a loader of loadConnection: what is what only
// the Owner may do.
func ownerTo(what string) func(context.Context, muster.Tx) (*actor, error) {
	return func(ctx context.Context, tx muster.Tx) (*actor, error) { return loadOwner(ctx, tx, what) }
}

// SetSSOEnabled turns SSO sign-in on or off (Owner only): on, people
// of the verified domains go to the identity provider when they sign in.
// Turning it on needs the actor's successful test sign-in with the current
// settings; off, while SSO is required, is refused.
func (s *Service) SetSSOEnabled(ctx context.Context, on bool) error {
	return s.update(ctx, func(tx *txn) error {
		a, c, err := loadConnection(ctx, tx, ownerTo("turn single sign-on on or off"))
		if err != nil || c.Enabled == on {
			return err
		}
		switch {
		case on && (a.user == nil || !c.TestedFor(a.user.ID)):
			return muster.Errorf(muster.ECONFLICT, "Run a test sign-in with these settings first: SSO sign-in "+
				"turns on once yours has succeeded.")
		case !on && c.Required:
			return muster.Errorf(muster.ECONFLICT, "Single sign-on is required: the Owner turns Require SSO off first.")
		}
		c.Enabled, c.UpdatedAt = on, tx.now
		if err := tx.SaveSSOConnection(ctx, c); err != nil {
			return err
		}
		action := muster.ActionSSODisabled
		if on {
			action = muster.ActionSSOEnabled
		}
		return tx.audit(ctx, a, action, muster.TargetSSOConnection, a.orgID, c.Issuer, nil, nil)
	})
}

// SetSSOJIT turns just-in-time provisioning on or off (Owner only).
func (s *Service) SetSSOJIT(ctx context.Context, on bool) error {
	return s.update(ctx, func(tx *txn) error {
		a, c, err := loadConnection(ctx, tx, ownerTo("change just-in-time provisioning"))
		if err != nil || c.JIT == on {
			return err
		}
		c.JIT, c.UpdatedAt = on, tx.now
		if err := tx.SaveSSOConnection(ctx, c); err != nil {
			return err
		}
		return tx.audit(ctx, a, muster.ActionSSOJITChanged, muster.TargetSSOConnection, a.orgID, c.Issuer,
			map[string]any{"jit": !on}, map[string]any{"jit": on})
	})
}

// RecoveryCodes are the Owner's new recovery codes, shown once.
type RecoveryCodes struct {
	Codes []string
}

// RequireSSO makes single sign-on required, or not (Owner only). Required:
// password sign-in and reset are refused for the organization's users,
// password sessions end on their next request (API tokens keep working),
// and the Owner gets RecoveryCodeCount recovery codes, returned once. It
// needs SSO sign-in on and the Owner's own successful test sign-in with the
// current settings, and a password for the recovery codes to go with. Not
// required: the recovery codes are deleted.
func (s *Service) RequireSSO(ctx context.Context, on bool) (*RecoveryCodes, error) {
	var out *RecoveryCodes
	err := s.update(ctx, func(tx *txn) error {
		out = nil // codes of a run that rolled back do not exist
		a, c, err := loadConnection(ctx, tx, ownerTo("require single sign-on"))
		if err != nil || c.Required == on {
			return err
		}
		if on {
			switch {
			case a.user == nil:
				return muster.Errorf(muster.EFORBIDDEN, "Only the Owner, signed in, can require single sign-on: "+
					"their own test sign-in comes first.")
			case !c.Enabled:
				return muster.Errorf(muster.ECONFLICT, "Turn SSO sign-in on first.")
			case !c.TestedFor(a.user.ID):
				return muster.Errorf(muster.ECONFLICT, "Run a test sign-in with these settings first: single "+
					"sign-on can be required once your own has succeeded.")
			case a.user.PasswordHash == "":
				return muster.Errorf(muster.ECONFLICT, "You have no password: recovery codes work with your password, "+
					"so single sign-on cannot be required until you have one.")
			}
			codes, err := s.newRecoveryCodes(ctx, tx, a)
			if err != nil {
				return err
			}
			out = codes
			if _, err := tx.DeleteOrgSessions(ctx, a.orgID, muster.SessionPassword); err != nil {
				return err
			}
		} else {
			owner, err := findOwner(ctx, tx, a.orgID)
			if err != nil {
				return err
			}
			if err := tx.ReplaceRecoveryCodes(ctx, a.orgID, owner.ID, nil, tx.now); err != nil {
				return err
			}
		}
		c.Required, c.UpdatedAt = on, tx.now
		if err := tx.SaveSSOConnection(ctx, c); err != nil {
			return err
		}
		action := muster.ActionSSONotRequired
		if on {
			action = muster.ActionSSORequired
		}
		return tx.audit(ctx, a, action, muster.TargetSSOConnection, a.orgID, c.Issuer, nil, nil)
	})
	return out, err
}

// RegenerateRecoveryCodes replaces the Owner's recovery codes with new ones,
// returned once; the old ones stop working.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context) (*RecoveryCodes, error) {
	var out *RecoveryCodes
	err := s.update(ctx, func(tx *txn) error {
		a, c, err := loadConnection(ctx, tx, ownerTo("make recovery codes"))
		if err != nil {
			return err
		}
		if !c.Required || a.user == nil {
			return muster.Errorf(muster.ECONFLICT, "Recovery codes are for when single sign-on is required.")
		}
		out, err = s.newRecoveryCodes(ctx, tx, a)
		return err
	})
	return out, err
}

// newRecoveryCodes replaces the Owner a's recovery codes.
func (s *Service) newRecoveryCodes(ctx context.Context, tx *txn, a *actor) (*RecoveryCodes, error) {
	out := &RecoveryCodes{}
	hashes := make([][]byte, muster.RecoveryCodeCount)
	for i := range hashes {
		code := newRecoveryCode()
		out.Codes = append(out.Codes, code)
		hashes[i] = hashRecoveryCode(code)
	}
	if err := tx.ReplaceRecoveryCodes(ctx, a.orgID, a.user.ID, hashes, tx.now); err != nil {
		return nil, err
	}
	return out, tx.audit(ctx, a, muster.ActionSSORecoveryCodesMade, muster.TargetUser, a.user.ID, a.user.Email, nil,
		map[string]any{"codes": muster.RecoveryCodeCount})
}

var recoveryEncoding = base32.NewEncoding("abcdefghijkmnpqrstuvwxyz23456789").WithPadding(base32.NoPadding)

// newRecoveryCode returns a code of 80 random bits, as four groups of four
// letters and digits without the ones that look alike (l, o, 0, 1): a
// SHA-256 hash of it cannot be searched back.
func newRecoveryCode() string {
	b := make([]byte, 10)
	rand.Read(b)
	s := recoveryEncoding.EncodeToString(b)
	return s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16]
}

// hashRecoveryCode hashes a code as typed: case, spaces and hyphens do not
// count.
func hashRecoveryCode(code string) []byte {
	code = strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ':
			return -1
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return r
	}, code)
	h := sha256.Sum256([]byte("muster recovery code " + code))
	return h[:]
}

// mailRecoveryCodeUsed tells the Owner u and the org's Active Admins that
// u signed in with a recovery code, left codes remaining.
func (s *Service) mailRecoveryCodeUsed(ctx context.Context, tx *txn, u *muster.User, left int, c Client) error {
	org, err := tx.FindOrg(ctx, u.OrgID)
	if err != nil {
		return err
	}
	to := []*muster.User{u}
	for after := (*muster.UserCursor)(nil); ; {
		admins, err := tx.FindUsers(ctx, muster.UserFilter{OrgID: u.OrgID, Role: muster.RoleAdmin,
			Status: muster.StatusActive, After: after, Limit: 500})
		if err != nil {
			return err
		}
		to = append(to, admins...)
		if len(admins) < 500 {
			break
		}
		last := admins[len(admins)-1]
		after = &muster.UserCursor{SortKey: muster.SearchKey(last.FirstName + " " + last.LastName), ID: last.ID}
	}
	for _, rcpt := range to {
		msg, err := mail.ComposeRecoveryCodeUsed(mail.RecoveryCodeUsed{OrgName: org.Name, FirstName: rcpt.FirstName,
			OwnerName: u.Name(), At: tx.now, IP: c.IP, Left: left})
		if err != nil {
			return err
		}
		if err := s.queueMail(ctx, tx, org.ID, rcpt.Email, msg); err != nil {
			return err
		}
	}
	return nil
}
