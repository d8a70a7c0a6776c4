package service

import (
	"context"
	"slices"

	"github.com/muster-app/muster/internal/muster"
)

// BulkAction is an action on many users at once, from the Users tab.
type BulkAction string

// The bulk actions. Each is the single-user action of the same name, made
// for each user in a call and a transaction of its own.
const (
	BulkResend       BulkAction = "resend"
	BulkWithdraw     BulkAction = "withdraw"
	BulkDeactivate   BulkAction = "deactivate"
	BulkInviteAgain  BulkAction = "invite_again"
	BulkAddSecondary BulkAction = "add_secondary_team"
	BulkSetPrimary   BulkAction = "set_primary_team"
)

// BulkActions lists the bulk actions.
var BulkActions = []BulkAction{BulkResend, BulkWithdraw, BulkDeactivate, BulkInviteAgain, BulkAddSecondary, BulkSetPrimary}

// MaxBulkUsers bounds the users one bulk action changes.
const MaxBulkUsers = 1000

// BulkInput says which action to take on which users: those of UserIDs, or
// with All every user that Query's filters select (its cursor, order and
// page size aside). TeamID is the team of the team actions.
type BulkInput struct {
	Action  BulkAction
	UserIDs []int64
	All     bool
	Query   UserQuery
	TeamID  int64
}

// BulkPlan is a bulk action and what it does, or did, to each user.
type BulkPlan struct {
	Action BulkAction
	// Team is the team of a team action.
	Team *muster.Team
	// Org is the organization as it was planned: its free seats say how
	// many can be invited again.
	Org   *muster.Org
	Items []*BulkItem
}

// BulkItem is one user of a bulk action. Skip says why the action is not
// for them (their status, or the actor's powers), decided before anything
// is done; after ApplyBulk, Err is the refusal of their own call and Done
// reports that it changed them.
type BulkItem struct {
	User *muster.User
	Skip error
	Err  error
	Done bool
}

// Todo counts the items the action is for.
func (p *BulkPlan) Todo() int {
	n := 0
	for _, it := range p.Items {
		if it.Skip == nil {
			n++
		}
	}
	return n
}

// PlanBulk says what a bulk action would do to each user it selects, for
// an Owner or Admin, and changes nothing: the confirmation page.
func (s *Service) PlanBulk(ctx context.Context, in BulkInput) (*BulkPlan, error) {
	return readAs(ctx, s, loadAdmin, func(tx *txn, a *actor) (*BulkPlan, error) {
		return planBulk(ctx, tx, a, in)
	})
}

// ApplyBulk makes a bulk action: each user it is for gets the action
// through the same service call as one user does (ResendInvite, Withdraw,
// Deactivate, InviteAgain, or UpdateUser's rules for teams), each in its
// own transaction with its own audit event, so that one refusal (the last
// license seat taken, a user changed meanwhile) stops that user only. A
// team action edits its users in batches (applyTeamAction) under the same
// rules, and stops only the refused user too. The plan it returns says what
// happened to each.
func (s *Service) ApplyBulk(ctx context.Context, in BulkInput) (*BulkPlan, error) {
	plan, err := s.PlanBulk(ctx, in)
	if err != nil {
		return nil, err
	}
	// Each user's call is a change of its own: an idempotency key of the
	// request would make every call after the first replay the first.
	ctx = WithIdempotency(ctx, nil)
	if plan.Action == BulkAddSecondary || plan.Action == BulkSetPrimary {
		if err := s.applyTeamAction(ctx, plan); err != nil {
			return nil, err
		}
		return plan, nil
	}
	for _, it := range plan.Items {
		if it.Skip != nil {
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		id := it.User.ID
		var u *muster.User
		switch plan.Action {
		case BulkResend:
			var res *Invited
			if res, it.Err = s.ResendInvite(ctx, id); it.Err == nil {
				u = res.User
			}
		case BulkWithdraw:
			u, it.Err = s.Withdraw(ctx, id)
		case BulkDeactivate:
			u, it.Err = s.Deactivate(ctx, id)
		case BulkInviteAgain:
			var res *Invited
			if res, it.Err = s.InviteAgain(ctx, id, UserUpdate{}); it.Err == nil {
				u = res.User
			}
		}
		if err := it.settle(u); err != nil {
			return nil, err
		}
	}
	return plan, nil
}

// settle records the outcome of the item's call, which returned u: done, or
// refused (it.Err). An internal error stops the bulk action.
func (it *BulkItem) settle(u *muster.User) error {
	if muster.ErrorCode(it.Err) == muster.EINTERNAL {
		return it.Err
	}
	if it.Err == nil {
		it.User, it.Done = u, true
	}
	return nil
}

// teamBatch is how many users a team action edits in one transaction.
const teamBatch = 250

// applyTeamAction makes the plan's team action, teamBatch users a
// transaction: the batch's users are locked and edited together
// (editUsers), each under UpdateUser's rules with its own audit event. A
// batch that a refusal stops (a user changed since the plan) is made
// again one user at a time, so that the refusal stops that user only.
func (s *Service) applyTeamAction(ctx context.Context, plan *BulkPlan) error {
	var todo []*BulkItem
	for _, it := range plan.Items {
		if it.Skip == nil {
			todo = append(todo, it)
		}
	}
	change := teamChange(plan.Action, plan.Team)
	for batch := range slices.Chunk(todo, teamBatch) {
		if err := ctx.Err(); err != nil {
			return err
		}
		ids := make([]int64, len(batch))
		for i, it := range batch {
			ids[i] = it.User.ID
		}
		var edited []*muster.User
		err := s.update(ctx, func(tx *txn) error {
			a, err := loadAdmin(ctx, tx)
			if err != nil {
				return err
			}
			users, err := tx.LockUsers(ctx, a.orgID, ids)
			if err != nil {
				return err
			}
			if len(users) != len(ids) {
				return errUserNotFound
			}
			edits := make([]userEdit, len(users))
			for i, u := range users {
				if err := checkNotWithdrawn(u); err != nil {
					return err
				}
				upd, err := change(u)
				if err != nil {
					return err
				}
				edits[i] = userEdit{u, upd}
			}
			edited = users
			return s.editUsers(ctx, tx, a, edits, func(_ *muster.User, err error) error { return err })
		})
		if muster.ErrorCode(err) == muster.EINTERNAL {
			return err
		}
		if err == nil {
			byID := make(map[int64]*muster.User, len(edited))
			for _, u := range edited {
				byID[u.ID] = u
			}
			for _, it := range batch {
				it.User, it.Done = byID[it.User.ID], true
			}
			continue
		}
		for _, it := range batch {
			var u *muster.User
			u, it.Err = s.editUserBy(ctx, it.User.ID, change)
			if err := it.settle(u); err != nil {
				return err
			}
		}
	}
	return nil
}

// teamChange is the edit of a team action: the team added as a secondary
// team, or made the primary team (and so no longer a secondary one).
func teamChange(action BulkAction, team *muster.Team) func(u *muster.User) (UserUpdate, error) {
	return func(u *muster.User) (UserUpdate, error) {
		if err := teamActionSkip(action, team, u); err != nil {
			return UserUpdate{}, err
		}
		secondaries := slices.DeleteFunc(slices.Clone(u.SecondaryTeamIDs), func(id int64) bool { return id == team.ID })
		if action == BulkAddSecondary {
			secondaries = append(secondaries, team.ID)
			return UserUpdate{SecondaryTeamIDs: &secondaries}, nil
		}
		return UserUpdate{PrimaryTeamID: &team.ID, SecondaryTeamIDs: &secondaries}, nil
	}
}

// teamActionSkip refuses a team action that would change nothing.
func teamActionSkip(action BulkAction, team *muster.Team, u *muster.User) error {
	switch {
	case u.PrimaryTeamID == team.ID && action == BulkSetPrimary:
		return muster.Errorf(muster.ECONFLICT, "%s is already their primary team.", team.Name)
	case u.PrimaryTeamID == team.ID:
		return muster.Errorf(muster.ECONFLICT, "%s is their primary team.", team.Name)
	case action == BulkAddSecondary && slices.Contains(u.SecondaryTeamIDs, team.ID):
		return muster.Errorf(muster.ECONFLICT, "%s is already one of their secondary teams.", team.Name)
	}
	return nil
}

// planBulk reads the users in selects and decides, with the same policy
// functions as each single action, which the action is for.
func planBulk(ctx context.Context, tx *txn, a *actor, in BulkInput) (*BulkPlan, error) {
	if !slices.Contains(BulkActions, in.Action) {
		return nil, muster.FieldErrorf(muster.EINVALID, "action", "Choose what to do with the selected users.")
	}
	plan := &BulkPlan{Action: in.Action}
	var err error
	if plan.Org, err = tx.FindOrg(ctx, a.orgID); err != nil {
		return nil, err
	}
	if in.Action == BulkAddSecondary || in.Action == BulkSetPrimary {
		if in.TeamID == 0 {
			return nil, muster.FieldErrorf(muster.EINVALID, "team_id", "Choose a team.")
		}
		if plan.Team, err = tx.FindTeam(ctx, a.orgID, in.TeamID); muster.ErrorCode(err) == muster.ENOTFOUND {
			return nil, muster.FieldErrorf(muster.EINVALID, "team_id", "The chosen team does not exist. It may have been removed.")
		} else if err != nil {
			return nil, err
		}
	}
	var users []*muster.User
	if in.All {
		filter, _, err := in.Query.filter(a.orgID)
		if err != nil {
			return nil, err
		}
		filter.Limit = MaxBulkUsers + 1
		if users, err = tx.FindUsers(ctx, filter); err != nil {
			return nil, err
		}
		if len(users) > MaxBulkUsers {
			return nil, muster.Errorf(muster.EINVALID, "More than %d users match. Narrow the search or the filters: "+
				"a bulk action changes at most %[1]d users at a time.", MaxBulkUsers)
		}
	} else {
		ids := slices.Compact(slices.Sorted(slices.Values(in.UserIDs)))
		if len(ids) > MaxBulkUsers {
			return nil, muster.Errorf(muster.EINVALID, "Select at most %d users at a time.", MaxBulkUsers)
		}
		if users, err = tx.FindUsersByID(ctx, a.orgID, ids); err != nil {
			return nil, err
		}
		// Withdrawn invitations left the list.
		users = slices.DeleteFunc(users, func(u *muster.User) bool { return u.Status == muster.StatusWithdrawn })
	}
	if len(users) == 0 {
		return nil, muster.FieldErrorf(muster.EINVALID, muster.FieldUserIDs, "Select at least one user.")
	}
	for _, u := range users {
		plan.Items = append(plan.Items, &BulkItem{User: u, Skip: bulkSkip(a, plan, u)})
	}
	return plan, nil
}

// bulkSkip says why the plan's action is not for u, or nil when it is.
func bulkSkip(a *actor, plan *BulkPlan, u *muster.User) error {
	switch plan.Action {
	case BulkResend:
		return muster.CheckUserAction(muster.ActionInviteResent, a.role, a.id(), u)
	case BulkWithdraw:
		return muster.CheckUserAction(muster.ActionInviteWithdrawn, a.role, a.id(), u)
	case BulkDeactivate:
		return muster.CheckUserAction(muster.ActionUserDeactivated, a.role, a.id(), u)
	case BulkInviteAgain:
		if err := muster.CheckTransition(muster.ActionUserReinvited, u.Status); err != nil {
			return err
		}
		return muster.CheckGrantRole(a.role, u.Role)
	default:
		if err := muster.CheckEditUser(a.role, a.id(), u, false); err != nil {
			return err
		}
		return teamActionSkip(plan.Action, plan.Team, u)
	}
}
