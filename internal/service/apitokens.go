package service

import (
	"context"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/secret"
)

// apiTokenTouchEvery bounds how often a token's last-used time is written.
const apiTokenTouchEvery = time.Minute

// NewAPIToken is a token just created; Secret is shown once and never again.
type NewAPIToken struct {
	Token  *muster.APIToken
	Secret string
}

// CreateAPIToken creates an API token for the signed-in Owner or Admin. It
// acts as its creator and dies when the creator is deactivated or is no
// longer an Owner or Admin (API-1). expiresAt may be zero for no expiry.
func (s *Service) CreateAPIToken(ctx context.Context, name string, expiresAt time.Time) (*NewAPIToken, error) {
	return s.createAPIToken(ctx, name, expiresAt, func(tx *txn, a *actor) (*muster.User, error) {
		if a.scim != nil {
			return nil, muster.Errorf(muster.EFORBIDDEN, "API tokens belong to a user; a SCIM token can't create one.")
		}
		if a.user == nil {
			return nil, muster.Errorf(muster.EFORBIDDEN, "API tokens belong to a user; an operator can't create one.")
		}
		// Read again, locked: loadAdmin reads the creator without a lock,
		// and a deactivation that committed since, before the token is
		// written, would not have found the token to revoke (DEA-1).
		u, err := tx.FindUser(ctx, a.orgID, a.user.ID)
		if err != nil {
			return nil, err
		}
		if u.Status != muster.StatusActive {
			return nil, errSessionEnded
		}
		return u, muster.CheckAdminister(u.Role)
	})
}

// CreateAPITokenFor creates an API token that acts as the org's Active
// Owner or Admin with email: for an operator at the command line, who has
// no token of their own.
func (s *Service) CreateAPITokenFor(ctx context.Context, email, name string, expiresAt time.Time) (*NewAPIToken, error) {
	return s.createAPIToken(ctx, name, expiresAt, func(tx *txn, a *actor) (*muster.User, error) {
		if !a.operator() {
			return nil, muster.Errorf(muster.EFORBIDDEN, "Only an operator can create an API token for someone else.")
		}
		u, err := tx.FindUserByEmail(ctx, a.orgID, email)
		if muster.ErrorCode(err) == muster.ENOTFOUND || (err == nil && u.Status != muster.StatusActive) {
			return nil, muster.FieldErrorf(muster.ENOTFOUND, muster.FieldEmail,
				"The organization has no Active user with the email %q.", email)
		} else if err != nil {
			return nil, err
		}
		if !muster.CanAdminister(u.Role) {
			return nil, muster.FieldErrorf(muster.EFORBIDDEN, muster.FieldEmail,
				"%s is a %s; API tokens act as an Owner or Admin.", u.Email, u.Role.Label())
		}
		return u, nil
	})
}

// createAPIToken creates a token that acts as the user creator picks.
func (s *Service) createAPIToken(ctx context.Context, name string, expiresAt time.Time,
	creator func(*txn, *actor) (*muster.User, error)) (*NewAPIToken, error) {
	name = muster.CleanName(name)
	var out NewAPIToken
	err := s.update(ctx, func(tx *txn) error {
		a, err := loadAdmin(ctx, tx)
		if err != nil {
			return err
		}
		var v muster.Validation
		muster.CheckName(&v, muster.FieldName, "Token name", name)
		if !expiresAt.IsZero() && !expiresAt.After(tx.now) {
			v.Add(muster.FieldExpiresAt, "The expiry date must be in the future.")
		}
		if err := v.Err(); err != nil {
			return err
		}
		u, err := creator(tx, a)
		if err != nil {
			return err
		}
		token, hash := secret.NewToken()
		t := &muster.APIToken{OrgID: a.orgID, UserID: u.ID, Name: name, TokenHash: hash, CreatedAt: tx.now,
			ExpiresAt: expiresAt.UTC().Truncate(time.Microsecond), CreatorName: u.Name()}
		if err := tx.CreateAPIToken(ctx, t); err != nil {
			return err
		}
		out = NewAPIToken{Token: t, Secret: muster.APITokenPrefix + token}
		return tx.audit(ctx, a, muster.ActionAPITokenCreated, muster.TargetAPIToken, t.ID, t.Name, nil,
			map[string]any{"name": t.Name, "expires_at": formatTime(t.ExpiresAt), "acts_as": u.Email})
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// APITokens lists the org's live API tokens for Owners and Admins.
func (s *Service) APITokens(ctx context.Context) ([]*muster.APIToken, error) {
	return readAs(ctx, s, loadAdmin, func(tx *txn, a *actor) ([]*muster.APIToken, error) {
		return tx.FindAPITokens(ctx, a.orgID)
	})
}

// RevokeAPIToken ends an API token of the org. Admins revoke their own
// tokens; the Owner revokes any.
func (s *Service) RevokeAPIToken(ctx context.Context, id int64) error {
	return s.update(ctx, func(tx *txn) error {
		a, err := loadAdmin(ctx, tx)
		if err != nil {
			return err
		}
		t, err := findAPIToken(ctx, tx, a.orgID, id)
		if err != nil {
			return err
		}
		if a.role != muster.RoleOwner && t.UserID != a.id() {
			return muster.Errorf(muster.EFORBIDDEN, "Only the Owner can revoke another person's API token.")
		}
		now := tx.now
		if _, err := tx.RevokeAPIToken(ctx, a.orgID, id, now); err != nil {
			return err
		}
		return tx.audit(ctx, a, muster.ActionAPITokenRevoked, muster.TargetAPIToken, t.ID, t.Name, nil, nil)
	})
}

var errTokenInvalid = &muster.Error{Code: muster.EUNAUTHORIZED, Message: "The API token is missing, revoked, expired, or its creator can no longer use the API."}

// AuthenticateAPIToken finds a live API token; it acts as its creator
// (UserID) in its org. Its creator must be Active and still an Owner or
// Admin, as they are at this moment: a deactivated or demoted creator's
// token fails on its very next call.
func (s *Service) AuthenticateAPIToken(ctx context.Context, token string) (*muster.APIToken, error) {
	if len(token) <= len(muster.APITokenPrefix) || token[:len(muster.APITokenPrefix)] != muster.APITokenPrefix {
		return nil, errTokenInvalid
	}
	now := s.now()
	var t *muster.APIToken
	err := s.store.Read(ctx, func(tx muster.Tx) error {
		var err error
		t, err = tx.FindAPITokenByHash(ctx, secret.HashToken(token[len(muster.APITokenPrefix):]))
		if muster.ErrorCode(err) == muster.ENOTFOUND {
			return errTokenInvalid
		} else if err != nil {
			return err
		}
		if !t.RevokedAt.IsZero() || (!t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt)) {
			return errTokenInvalid
		}
		if t.Creator.Status != muster.StatusActive || !muster.CanAdminister(t.Creator.Role) {
			return errTokenInvalid
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if now.Sub(t.LastUsedAt) >= apiTokenTouchEvery {
		if err := s.update(ctx, func(tx *txn) error { return tx.TouchAPIToken(ctx, t.ID, now) }); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// FindAPIToken returns one live API token of the org, for Owners and
// Admins.
func (s *Service) FindAPIToken(ctx context.Context, id int64) (*muster.APIToken, error) {
	return readAs(ctx, s, loadAdmin, func(tx *txn, a *actor) (*muster.APIToken, error) {
		return findAPIToken(ctx, tx, a.orgID, id)
	})
}

// findAPIToken finds a live token of the org.
func findAPIToken(ctx context.Context, tx muster.Tx, orgID, id int64) (*muster.APIToken, error) {
	tokens, err := tx.FindAPITokens(ctx, orgID)
	if err != nil {
		return nil, err
	}
	for _, t := range tokens {
		if t.ID == id {
			return t, nil
		}
	}
	return nil, muster.Errorf(muster.ENOTFOUND, "API token not found.")
}
