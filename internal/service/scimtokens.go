package service

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/secret"
)

// scimTokenTouchEvery bounds how often a SCIM token's last-used time is
// written.
const scimTokenTouchEvery = time.Minute

var errSCIMTokenInvalid = &muster.Error{Code: muster.EUNAUTHORIZED,
	Message: "The SCIM token is missing, revoked, or not a SCIM token. Create one in Settings → Provisioning (SCIM)."}

// scimTokenLabel is how the audit log names a SCIM token as an actor.
func scimTokenLabel(t *muster.SCIMToken) string {
	return fmt.Sprintf("SCIM token %q (#%d)", t.Name, t.ID)
}

// NewSCIMToken is a SCIM token just created; Secret is shown once and
// never again.
type NewSCIMToken struct {
	Token  *muster.SCIMToken
	Secret string
}

// CreateSCIMToken creates a SCIM token for the org's identity provider, for
// the Owner and operators (SCIM-1). It acts as muster.RoleProvisioner until
// it is revoked, whoever created it: it invites and manages Admins, which
// only the Owner does (SPEC §2), so an Admin may not make one. Owners and
// Admins revoke them.
func (s *Service) CreateSCIMToken(ctx context.Context, name string) (*NewSCIMToken, error) {
	name = muster.CleanName(name)
	var out NewSCIMToken
	err := s.update(ctx, func(tx *txn) error {
		a, err := loadOwner(ctx, tx, "create SCIM tokens: a SCIM token can invite and manage Admins")
		if err != nil {
			return err
		}
		var v muster.Validation
		muster.CheckName(&v, muster.FieldName, "Token name", name)
		if err := v.Err(); err != nil {
			return err
		}
		token, hash := secret.NewToken()
		t := &muster.SCIMToken{OrgID: a.orgID, Name: name, TokenHash: hash, CreatedByID: a.id(), CreatedBy: a.label(),
			CreatedAt: tx.now}
		if err := tx.CreateSCIMToken(ctx, t); err != nil {
			return err
		}
		out = NewSCIMToken{Token: t, Secret: muster.SCIMTokenPrefix + token}
		return tx.audit(ctx, a, muster.ActionSCIMTokenCreated, muster.TargetSCIMToken, t.ID, t.Name, nil,
			map[string]any{"name": t.Name})
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// loadTokenAdmin resolves an Owner, Admin or operator who manages SCIM
// tokens: a SCIM token does not make or end SCIM tokens.
func loadTokenAdmin(ctx context.Context, tx muster.Tx) (*actor, error) {
	a, err := loadAdmin(ctx, tx)
	if err != nil {
		return nil, err
	}
	if a.scim != nil {
		return nil, muster.Errorf(muster.EFORBIDDEN, "SCIM tokens are created and revoked by the organization's Owner and Admins.")
	}
	return a, nil
}

// RevokeSCIMToken ends a SCIM token of the org: its identity provider is
// refused from its next request on.
func (s *Service) RevokeSCIMToken(ctx context.Context, id int64) error {
	return s.update(ctx, func(tx *txn) error {
		a, err := loadTokenAdmin(ctx, tx)
		if err != nil {
			return err
		}
		t, err := tx.FindSCIMToken(ctx, a.orgID, id)
		if err == nil && !t.RevokedAt.IsZero() {
			err = muster.Errorf(muster.ENOTFOUND, "SCIM token not found.")
		}
		if err != nil {
			return err
		}
		if _, err := tx.RevokeSCIMToken(ctx, a.orgID, id, tx.now); err != nil {
			return err
		}
		return tx.audit(ctx, a, muster.ActionSCIMTokenRevoked, muster.TargetSCIMToken, t.ID, t.Name, nil, nil)
	})
}

// Provisioning is what Settings → Provisioning (SCIM) shows: the org's
// live SCIM tokens and the most recent changes made through SCIM.
type Provisioning struct {
	Tokens []*muster.SCIMToken
	// CanCreate says that the actor may create SCIM tokens (the Owner).
	CanCreate bool
	Activity  []*muster.AuditEvent
	// Teams and People name the teams and users of the activity.
	Teams  []muster.TeamName
	People map[int64]*muster.User
}

// ProvisioningActivity is how many recent SCIM changes the Provisioning
// page lists.
const ProvisioningActivity = 50

// FindProvisioning returns the Provisioning page, for Owners and Admins.
func (s *Service) FindProvisioning(ctx context.Context) (*Provisioning, error) {
	return readAs(ctx, s, loadTokenAdmin, func(tx *txn, a *actor) (*Provisioning, error) {
		p := Provisioning{CanCreate: a.role == muster.RoleOwner}
		var err error
		if p.Tokens, err = tx.FindSCIMTokens(ctx, a.orgID); err != nil {
			return nil, err
		}
		p.Activity, err = tx.FindAuditEvents(ctx, muster.AuditFilter{OrgID: a.orgID,
			OriginPrefix: muster.SCIMOriginPrefix, Limit: ProvisioningActivity})
		if err != nil {
			return nil, err
		}
		if p.People, err = eventPeople(ctx, tx, a.orgID, p.Activity); err != nil {
			return nil, err
		}
		p.Teams, err = tx.FindTeamNames(ctx, a.orgID)
		return &p, err
	})
}

// AuthenticateSCIMToken finds a live SCIM token; the requests it makes act
// as muster.RoleProvisioner in its org. An API token is refused, as a
// SCIM token is by the API.
func (s *Service) AuthenticateSCIMToken(ctx context.Context, token string) (*muster.SCIMToken, error) {
	rest, ok := strings.CutPrefix(token, muster.SCIMTokenPrefix)
	if !ok || rest == "" {
		return nil, errSCIMTokenInvalid
	}
	now := s.now()
	var t *muster.SCIMToken
	err := s.store.Read(ctx, func(tx muster.Tx) error {
		var err error
		t, err = tx.FindSCIMTokenByHash(ctx, secret.HashToken(rest))
		if muster.ErrorCode(err) == muster.ENOTFOUND || (err == nil && !t.RevokedAt.IsZero()) {
			return errSCIMTokenInvalid
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	if now.Sub(t.LastUsedAt) >= scimTokenTouchEvery {
		if err := s.update(ctx, func(tx *txn) error { return tx.TouchSCIMToken(ctx, t.ID, now) }); err != nil {
			return nil, err
		}
	}
	return t, nil
}
