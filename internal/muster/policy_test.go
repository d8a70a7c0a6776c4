package muster_test

import (
	"strings"
	"testing"

	"github.com/muster-app/muster/internal/muster"
)

// The policy of SPEC §2 and §3 as tables: who (an actor of each role, or
// the operator of the command line, who acts with the Owner's powers and
// is no user) does what to whom (a user of each role, or the actor
// themself). Every outcome is written out from the SPEC, not asked of the
// code under test.

const (
	allowed   = ""
	forbidden = muster.EFORBIDDEN
	conflict  = muster.ECONFLICT
	// na marks a case that cannot arise: the Owner acting on another Owner
	// (there is one), the operator acting on themself (they are no user),
	// a signed-in actor resending or withdrawing their own invitation
	// (they are Active) or giving a role to themself.
	na = "n/a"
)

// actorKind is who acts.
type actorKind struct {
	name string
	role muster.Role
	id   int64 // 0 for the operator
}

var (
	owner    = actorKind{"Owner", muster.RoleOwner, 1}
	admin    = actorKind{"Admin", muster.RoleAdmin, 2}
	manager  = actorKind{"Manager", muster.RoleManager, 3}
	basic    = actorKind{"Basic User", muster.RoleBasic, 4}
	operator = actorKind{"operator", muster.RoleOwner, 0}
	// scimToken is an identity provider's SCIM token (SCIM-1): it manages
	// users up to Admin, never the Owner, and is no user.
	scimToken = actorKind{"SCIM token", muster.RoleProvisioner, 0}
)

// outcomes are the expected error codes of one actor's action on a user who
// is, in order: the Owner, an Admin, a Manager, a Basic User, the actor
// themself.
type outcomes [5]string

var targetRoles = [4]muster.Role{muster.RoleOwner, muster.RoleAdmin, muster.RoleManager, muster.RoleBasic}

// policyAction is an action as the service asks the policy about it.
type policyAction struct {
	name string
	// status is the target's status when the action applies (SPEC §3).
	status muster.Status
	check  func(a actorKind, target *muster.User) error
	// selfWhy, if set, is what a refusal of this action on oneself says
	// (ROLE-2), whatever else would refuse it too.
	selfWhy string
}

var (
	give = policyAction{"invite as or give the role", muster.StatusActive, func(a actorKind, target *muster.User) error {
		return muster.CheckGrantRole(a.role, target.Role)
	}, ""}
	resend = policyAction{"resend the invitation", muster.StatusPending, func(a actorKind, target *muster.User) error {
		return muster.CheckUserAction(muster.ActionInviteResent, a.role, a.id, target)
	}, ""}
	withdraw = policyAction{"withdraw the invitation", muster.StatusPending, func(a actorKind, target *muster.User) error {
		return muster.CheckUserAction(muster.ActionInviteWithdrawn, a.role, a.id, target)
	}, ""}
	edit = policyAction{"edit name and teams", muster.StatusActive, func(a actorKind, target *muster.User) error {
		return muster.CheckEditUser(a.role, a.id, target, false)
	}, ""}
	changeRole = policyAction{"change the role", muster.StatusActive, func(a actorKind, target *muster.User) error {
		return muster.CheckEditUser(a.role, a.id, target, true)
	}, "your own role"}
	deactivate = policyAction{"deactivate", muster.StatusActive, func(a actorKind, target *muster.User) error {
		return muster.CheckUserAction(muster.ActionUserDeactivated, a.role, a.id, target)
	}, "yourself"}
	resetTwoStep = policyAction{"reset two-step verification", muster.StatusActive, func(a actorKind, target *muster.User) error {
		return muster.CheckResetTwoStep(a.role, a.id, target)
	}, "your own two-step verification"}
)

// TestPolicyRoleActionTarget is SPEC §2 row by row. A role change asks two
// rows: "change the role" for the user's current role and "invite as or
// give the role" for the new one; "promote to or demote from Admin" is the
// Owner's alone through them. ROLE-2: nobody changes their own role or
// deactivates themself; Owners and Admins edit their own name and teams. Nobody
// changes the Owner but by a transfer (OWN-1), which is not in this table;
// the operator may only resend a Pending Owner's set-up link (INV-4). A SCIM
// token gives and manages roles up to Admin, as the Owner does, but never
// acts on the Owner.
//
// Each row is an actor; its columns, as in outcomes, are the target: the
// Owner, an Admin, a Manager, a Basic User, the actor themself.
func TestPolicyRoleActionTarget(t *testing.T) {
	table := []struct {
		action policyAction
		rows   map[actorKind]outcomes
	}{
		{give, map[actorKind]outcomes{
			owner:     {forbidden, allowed, allowed, allowed, na},
			admin:     {forbidden, forbidden, allowed, allowed, na},
			manager:   {forbidden, forbidden, forbidden, forbidden, na},
			basic:     {forbidden, forbidden, forbidden, forbidden, na},
			operator:  {forbidden, allowed, allowed, allowed, na},
			scimToken: {forbidden, allowed, allowed, allowed, na},
		}},
		{resend, map[actorKind]outcomes{
			owner:     {na, allowed, allowed, allowed, na},
			admin:     {forbidden, forbidden, allowed, allowed, na},
			manager:   {forbidden, forbidden, forbidden, forbidden, na},
			basic:     {forbidden, forbidden, forbidden, forbidden, na},
			operator:  {allowed, allowed, allowed, allowed, na},
			scimToken: {forbidden, allowed, allowed, allowed, na},
		}},
		{withdraw, map[actorKind]outcomes{
			owner:     {na, allowed, allowed, allowed, na},
			admin:     {forbidden, forbidden, allowed, allowed, na},
			manager:   {forbidden, forbidden, forbidden, forbidden, na},
			basic:     {forbidden, forbidden, forbidden, forbidden, na},
			operator:  {forbidden, allowed, allowed, allowed, na},
			scimToken: {forbidden, allowed, allowed, allowed, na},
		}},
		{edit, map[actorKind]outcomes{
			owner:     {na, allowed, allowed, allowed, allowed},
			admin:     {forbidden, forbidden, allowed, allowed, allowed}, // an Admin edits their own name and teams
			manager:   {forbidden, forbidden, forbidden, forbidden, forbidden},
			basic:     {forbidden, forbidden, forbidden, forbidden, forbidden},
			operator:  {forbidden, allowed, allowed, allowed, na},
			scimToken: {forbidden, allowed, allowed, allowed, na},
		}},
		{changeRole, map[actorKind]outcomes{
			owner:     {na, allowed, allowed, allowed, forbidden},
			admin:     {forbidden, forbidden, allowed, allowed, forbidden},
			manager:   {forbidden, forbidden, forbidden, forbidden, forbidden},
			basic:     {forbidden, forbidden, forbidden, forbidden, forbidden},
			operator:  {forbidden, allowed, allowed, allowed, na},
			scimToken: {forbidden, allowed, allowed, allowed, na},
		}},
		{deactivate, map[actorKind]outcomes{
			owner:     {na, allowed, allowed, allowed, forbidden},
			admin:     {forbidden, forbidden, allowed, allowed, forbidden},
			manager:   {forbidden, forbidden, forbidden, forbidden, forbidden},
			basic:     {forbidden, forbidden, forbidden, forbidden, forbidden},
			operator:  {forbidden, allowed, allowed, allowed, na},
			scimToken: {forbidden, allowed, allowed, allowed, na},
		}},
		// AUTH-7: a lost phone. Never one's own, never the Owner's (the
		// Owner has recovery codes); not through SCIM.
		{resetTwoStep, map[actorKind]outcomes{
			owner:     {na, allowed, allowed, allowed, forbidden},
			admin:     {forbidden, forbidden, allowed, allowed, forbidden},
			manager:   {forbidden, forbidden, forbidden, forbidden, forbidden},
			basic:     {forbidden, forbidden, forbidden, forbidden, forbidden},
			operator:  {forbidden, allowed, allowed, allowed, na},
			scimToken: {forbidden, forbidden, forbidden, forbidden, na},
		}},
	}
	for _, c := range table {
		for _, actor := range []actorKind{owner, admin, manager, basic, operator, scimToken} {
			row, ok := c.rows[actor]
			if !ok {
				t.Fatalf("%s: no row for the %s", c.action.name, actor.name)
			}
			for i, want := range row {
				if want == na {
					continue
				}
				target := &muster.User{ID: 100, Status: c.action.status}
				var whom string
				if i < len(targetRoles) {
					target.Role, whom = targetRoles[i], "a user who is "+targetRoles[i].Label()
				} else {
					target.ID, target.Role, whom = actor.id, actor.role, "themself"
				}
				what, err := "the "+actor.name+": "+c.action.name+", on "+whom, c.action.check(actor, target)
				wantPolicy(t, what, err, want)
				if whom == "themself" && c.action.selfWhy != "" && !strings.Contains(muster.ErrorMessage(err), c.action.selfWhy) {
					t.Errorf("%s: refused with %q; want it to say it is about %s", what, muster.ErrorMessage(err), c.action.selfWhy)
				}
			}
		}
	}
}

// TestPolicyLifecycle is the "from" column of SPEC §3: each action on a
// user in each status.
func TestPolicyLifecycle(t *testing.T) {
	// Columns: Pending, Active, Deactivated, Withdrawn.
	table := map[string][4]string{
		muster.ActionInviteResent:    {allowed, conflict, conflict, conflict},
		muster.ActionInviteWithdrawn: {allowed, conflict, conflict, conflict},
		muster.ActionUserActivated:   {allowed, conflict, conflict, conflict},
		muster.ActionUserUpdated:     {allowed, allowed, conflict, conflict},
		muster.ActionUserDeactivated: {conflict, allowed, conflict, conflict},
		muster.ActionUserReinvited:   {conflict, conflict, allowed, allowed},
	}
	statuses := [4]muster.Status{muster.StatusPending, muster.StatusActive, muster.StatusDeactivated, muster.StatusWithdrawn}
	for action, row := range table {
		for i, want := range row {
			wantPolicy(t, action+" from "+string(statuses[i]), muster.CheckTransition(action, statuses[i]), want)
		}
	}
}

// TestPolicyAsksWhoBeforeWhen: an actor who may act on the user is told
// when the user's status does not allow the action; one who may not is
// told only that, whatever the status (ROLE-1: a refusal says why).
func TestPolicyAsksWhoBeforeWhen(t *testing.T) {
	for _, c := range []struct {
		name   string
		actor  actorKind
		action policyAction
		target muster.User
		want   string
	}{
		{"the Owner deactivates a Pending Basic User", owner, deactivate,
			muster.User{ID: 100, Role: muster.RoleBasic, Status: muster.StatusPending}, conflict},
		{"an Admin resends to an Active Manager", admin, resend,
			muster.User{ID: 100, Role: muster.RoleManager, Status: muster.StatusActive}, conflict},
		{"an Admin withdraws a Deactivated Basic User", admin, withdraw,
			muster.User{ID: 100, Role: muster.RoleBasic, Status: muster.StatusDeactivated}, conflict},
		{"the Owner edits a Deactivated Admin", owner, edit,
			muster.User{ID: 100, Role: muster.RoleAdmin, Status: muster.StatusDeactivated}, conflict},
		{"an Admin deactivates a Pending Admin", admin, deactivate,
			muster.User{ID: 100, Role: muster.RoleAdmin, Status: muster.StatusPending}, forbidden},
		{"a Manager withdraws an Active Basic User", manager, withdraw,
			muster.User{ID: 100, Role: muster.RoleBasic, Status: muster.StatusActive}, forbidden},
		{"an Admin resends to the Active Owner", admin, resend,
			muster.User{ID: 100, Role: muster.RoleOwner, Status: muster.StatusActive}, forbidden},
		{"the operator withdraws the Active Owner", operator, withdraw,
			muster.User{ID: 100, Role: muster.RoleOwner, Status: muster.StatusActive}, forbidden},
		{"the operator resends to the Active Owner", operator, resend,
			muster.User{ID: 100, Role: muster.RoleOwner, Status: muster.StatusActive}, conflict},
	} {
		wantPolicy(t, c.name, c.action.check(c.actor, &c.target), c.want)
	}
}

// wantPolicy checks a decision's code, and that a refusal says why.
func wantPolicy(t *testing.T, what string, err error, want string) {
	t.Helper()
	if got := muster.ErrorCode(err); got != want {
		t.Errorf("%s: %s (%v); want %s", what, orAllowed(got), err, orAllowed(want))
		return
	}
	if err != nil && muster.ErrorMessage(err) == "" {
		t.Errorf("%s: refused as %s without saying why", what, want)
	}
}

func orAllowed(code string) string {
	if code == allowed {
		return "allowed"
	}
	return code
}
