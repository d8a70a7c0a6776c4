package service

import (
	"cmp"
	"context"
	"slices"

	"github.com/muster-app/muster/internal/muster"
)

// UserDetail is everything about one person that the user page shows:
// the user, the org's teams (which name theirs and those of their history), who invited them, their
// live sessions, the Send As addresses granted to them, the API tokens they
// created and the recent audit events about them or by them.
type UserDetail struct {
	User      *muster.User
	Org       *muster.Org
	Teams     []muster.TeamName
	InvitedBy *muster.User // nil when an operator or the first-run page invited them
	Sessions  []*muster.Session
	SendAs    []*muster.SendAsPermission
	APITokens []*muster.APIToken
	// Events are the newest events about the user or by them, newest
	// first; History those about them that changed their status, oldest
	// first.
	Events  []*muster.AuditEvent
	History []*muster.AuditEvent
	// People are the users the events name, by id.
	People map[int64]*muster.User
	// Factors are the user's second factors that are on (AUTH-7).
	Factors []*muster.Factor
}

// userDetailEvents is how many recent events the user page shows.
const userDetailEvents = 20

// statusActions are the audit actions that change a user's status.
var statusActions = []string{muster.ActionUserInvited, muster.ActionUserReinvited, muster.ActionUserActivated,
	muster.ActionInviteWithdrawn, muster.ActionUserDeactivated}

// FindUserDetail returns the user page of a user of the org, for Owners and
// Admins. Its statements need no one moment (Store.Read): every part stands
// on its own, and a change made as the page is read shows at its next load.
func (s *Service) FindUserDetail(ctx context.Context, userID int64) (*UserDetail, error) {
	return readAs(ctx, s, loadAdmin, func(tx *txn, a *actor) (*UserDetail, error) {
		u, err := loadTarget(ctx, tx, a, userID)
		if err != nil {
			return nil, err
		}
		d := &UserDetail{User: u}
		if d.Org, err = tx.FindOrg(ctx, a.orgID); err != nil {
			return nil, err
		}
		if d.Teams, err = tx.FindTeamNames(ctx, a.orgID); err != nil {
			return nil, err
		}
		if u.InvitedByID != 0 {
			if d.InvitedBy, err = tx.PeekUser(ctx, a.orgID, u.InvitedByID); err != nil && muster.ErrorCode(err) != muster.ENOTFOUND {
				return nil, err
			}
		}
		if d.Sessions, err = tx.FindUserSessions(ctx, u.ID); err != nil {
			return nil, err
		}
		factors, err := tx.FindUserFactors(ctx, u.ID)
		if err != nil {
			return nil, err
		}
		d.Factors = enabledFactors(factors)
		if d.Org.EmailAtScale {
			if d.SendAs, err = tx.FindUserSendAs(ctx, u.ID); err != nil {
				return nil, err
			}
		}
		tokens, err := tx.FindAPITokens(ctx, a.orgID)
		if err != nil {
			return nil, err
		}
		for _, t := range tokens {
			if t.UserID == u.ID {
				d.APITokens = append(d.APITokens, t)
			}
		}
		about, err := tx.FindAuditEvents(ctx, muster.AuditFilter{OrgID: a.orgID, TargetType: muster.TargetUser,
			TargetID: u.ID, Limit: userDetailEvents})
		if err != nil {
			return nil, err
		}
		by, err := tx.FindAuditEvents(ctx, muster.AuditFilter{OrgID: a.orgID, ActorID: u.ID, Limit: userDetailEvents})
		if err != nil {
			return nil, err
		}
		d.Events = mergeEvents(about, by, userDetailEvents)
		for _, e := range slices.Backward(about) {
			if slices.Contains(statusActions, e.Action) {
				d.History = append(d.History, e)
			}
		}
		d.People, err = eventPeople(ctx, tx, a.orgID, d.Events)
		return d, err
	})
}

// mergeEvents merges two lists of events, each newest first, into one of
// at most n without repeats.
func mergeEvents(a, b []*muster.AuditEvent, n int) []*muster.AuditEvent {
	all := append(slices.Clone(a), b...)
	slices.SortFunc(all, func(x, y *muster.AuditEvent) int { return cmp.Compare(y.ID, x.ID) })
	all = slices.CompactFunc(all, func(x, y *muster.AuditEvent) bool { return x.ID == y.ID })
	return all[:min(len(all), n)]
}

// SignOutEverywhere ends every session of a user of the org ("Sign out
// everywhere"): their browsers are signed out at their next request. Owners
// and Admins do it to the users they manage, and anyone to themself. API
// tokens stay: they are revoked one by one on Settings → API tokens.
func (s *Service) SignOutEverywhere(ctx context.Context, userID int64) (*muster.User, error) {
	var out *muster.User
	err := change(ctx, s, &out, func(tx *txn) error {
		a, err := loadActor(ctx, tx)
		if err != nil {
			return err
		}
		var u *muster.User
		if a.user != nil && userID == a.user.ID {
			u = a.user
		} else if a, u, err = loadActionTarget(ctx, tx, userID, muster.ActionSessionsEnded); err != nil {
			return err
		}
		if err := tx.DeleteUserSessions(ctx, u.ID, 0); err != nil {
			return err
		}
		out = u
		return tx.audit(ctx, a, muster.ActionSessionsEnded, muster.TargetUser, u.ID, u.Email, nil, nil)
	})
	return out, err
}

// InviteLink is a Pending user's new invitation link, to pass on by hand.
type InviteLink struct {
	User *muster.User
	Link string
}

// CopyInviteLink makes a new invitation link for a Pending user and returns
// it, for an Owner or Admin to pass on themself (when no email server is
// set, or the email went astray): no email is sent, every older link stops
// working, and the audit log records who took it.
func (s *Service) CopyInviteLink(ctx context.Context, userID int64) (*InviteLink, error) {
	var out InviteLink
	err := s.update(ctx, func(tx *txn) error {
		a, u, err := loadActionTarget(ctx, tx, userID, muster.ActionInviteLinkCopied)
		if err != nil {
			return err
		}
		org, err := tx.FindOrg(ctx, a.orgID)
		if err != nil {
			return err
		}
		if out.Link, _, err = s.newInvitationLink(ctx, tx, org, u); err != nil {
			return err
		}
		out.User = u
		return tx.audit(ctx, a, muster.ActionInviteLinkCopied, muster.TargetUser, u.ID, u.Email, nil, nil)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}
