package muster

import (
	"strings"
	"unicode/utf8"
)

// The policy functions below decide SPEC §2 and §3 from plain values. The
// service layer calls them inside the transaction that writes, with the
// actor's role as it is now in the database.

// CheckAdminister refuses roles that may not open Settings → Roles & Access.
func CheckAdminister(actor Role) error {
	if !CanAdminister(actor) {
		return Errorf(EFORBIDDEN, "Only Owners and Admins can manage users and teams.")
	}
	return nil
}

// CheckGrantRole refuses giving target to a user.
func CheckGrantRole(actor, target Role) error {
	switch {
	case CanGrantRole(actor, target):
		return nil
	case target == RoleOwner:
		return &Error{Code: EFORBIDDEN, Message: "Nobody can be made Owner this way: the Owner transfers ownership to an Admin.",
			Fields: []FieldError{{Field: FieldRole, Message: "Choose Admin, Manager or Basic User."}}}
	default:
		return FieldErrorf(EFORBIDDEN, FieldRole, "Only the Owner can give the %s role.", target.Label())
	}
}

// CheckManageUser refuses acting on a user whose role is target: resend,
// withdraw, edit or deactivate.
func CheckManageUser(actor, target Role) error {
	switch {
	case CanManageUser(actor, target):
		return nil
	case target == RoleOwner:
		return Errorf(EFORBIDDEN, "The Owner can't be changed by anyone else. Ownership moves only by transfer.")
	default:
		return Errorf(EFORBIDDEN, "Only the Owner can change a user with the %s role.", target.Label())
	}
}

// CheckTransition refuses an action on a user in a status the lifecycle does
// not allow it from (SPEC §3).
func CheckTransition(action string, from Status) error {
	allowed := map[string][]Status{
		ActionInviteResent:     {StatusPending},
		ActionInviteWithdrawn:  {StatusPending},
		ActionUserActivated:    {StatusPending},
		ActionUserUpdated:      {StatusPending, StatusActive},
		ActionUserDeactivated:  {StatusActive},
		ActionUserReinvited:    {StatusDeactivated, StatusWithdrawn},
		ActionInviteLinkCopied: {StatusPending},
		ActionSessionsEnded:    {StatusActive},
	}
	for _, s := range allowed[action] {
		if s == from {
			return nil
		}
	}
	var msg string
	switch action {
	case ActionInviteResent:
		msg = "Only pending invitations can be resent; this user is %s."
	case ActionInviteWithdrawn:
		msg = "Only pending invitations can be withdrawn; this user is %s."
	case ActionUserActivated:
		msg = "This invitation can no longer be accepted: the user is %s."
	case ActionUserUpdated:
		msg = "Only pending and active users can be edited; this user is %s. Invite them again instead."
	case ActionUserDeactivated:
		msg = "Only active users can be deactivated; this user is %s."
	case ActionUserReinvited:
		msg = "Only deactivated users can be invited again; this user is %s."
	case ActionInviteLinkCopied:
		msg = "Only pending users have an invitation link; this user is %s."
	case ActionSessionsEnded:
		msg = "Only active users are signed in; this user is %s."
	default:
		msg = "This can't be done while the user is %s."
	}
	return Errorf(ECONFLICT, msg, strings.ToLower(from.Label()))
}

// Password rules (INV-5), shown on the page that asks for one.
const (
	MinPasswordLength = 10
	MaxPasswordLength = 128
)

// PasswordRules describes the rules in words.
const PasswordRules = "At least 10 characters and at most 128, not your email address, and not a common password."

// commonPasswords are refused outright: the passwords most often tried first.
var commonPasswords = map[string]bool{
	"1234567890": true, "12345678910": true, "123456789a": true, "0123456789": true, "1qaz2wsx3edc": true,
	"password123": true, "password1234": true, "password12": true, "passwordpassword": true, "qwertyuiop": true,
	"qwerty12345": true, "qwerty123456": true, "1q2w3e4r5t": true, "iloveyou12": true, "letmein123": true,
	"welcome123": true, "welcome1234": true, "administrator": true, "changeme123": true, "football123": true,
	"baseball123": true, "starwars123": true, "sunshine123": true, "princess123": true, "superman123": true,
	"abcdefghij": true, "abc1234567": true, "aaaaaaaaaa": true, "trustno1234": true, "monkey12345": true,
	"dragon12345": true, "master12345": true, "zaq12wsxcde": true, "asdfghjkl1": true, "asdfghjkl;": true,
	"1111111111": true, "0000000000": true, "9876543210": true, "q1w2e3r4t5": true, "passw0rd123": true,
}

// CheckPassword validates a new password for the user with email.
func CheckPassword(v *Validation, field, password, email string) {
	n := utf8.RuneCountInString(password)
	switch {
	case n < MinPasswordLength:
		v.Add(field, "Use at least 10 characters.")
	case n > MaxPasswordLength:
		v.Add(field, "Use at most 128 characters.")
	case strings.EqualFold(strings.TrimSpace(password), strings.TrimSpace(email)):
		v.Add(field, "Your password can't be your email address.")
	case commonPasswords[strings.ToLower(password)]:
		v.Add(field, "This password is too common. Choose another.")
	}
}

// CheckEditUser refuses an edit of target by an actor with role actorRole
// and ID actorID; roleChange says whether the edit changes target's role.
// Owners and Admins edit their own name and teams, but nobody edits their
// own role or the Owner's (which changes only by a transfer); otherwise each
// role edits only the roles below its ceiling, and only Pending and Active
// users.
func CheckEditUser(actorRole Role, actorID int64, target *User, roleChange bool) error {
	self := target.ID == actorID
	switch {
	case self && roleChange:
		return Errorf(EFORBIDDEN, "You can't change your own role.")
	case target.Role == RoleOwner && roleChange:
		return Errorf(EFORBIDDEN, "The Owner's role changes only by transferring ownership.")
	case self && CanAdminister(actorRole):
		// Owners and Admins keep their own name and teams up to date.
	default:
		if err := CheckManageUser(actorRole, target.Role); err != nil {
			return err
		}
	}
	return CheckTransition(ActionUserUpdated, target.Status)
}

// CheckUserAction refuses an action (resend, withdraw, deactivate, copy the
// invitation link, sign out everywhere) by an
// actor with role actorRole and ID actorID on target: nobody deactivates
// themself or the Owner (ROLE-2), each role manages only the roles below its
// ceiling, and the lifecycle allows each action from some statuses only.
func CheckUserAction(action string, actorRole Role, actorID int64, target *User) error {
	if action == ActionUserDeactivated {
		switch {
		case target.ID == actorID:
			return Errorf(EFORBIDDEN, "You can't deactivate yourself.")
		case target.Role == RoleOwner:
			return Errorf(EFORBIDDEN, "The Owner can't be deactivated. Ownership must be transferred first.")
		}
	}
	if action == ActionSessionsEnded && target.ID == actorID {
		// Everyone may sign themself out everywhere.
		return nil
	}
	if action == ActionInviteResent && target.Role == RoleOwner && actorRole == RoleOwner {
		// A new org's Owner is Pending until they use the set-up link. When
		// it expires, the operator (who acts with the Owner's powers; the
		// Owner can't act while Pending) sends a new one, or nobody could
		// ever sign in to the org (INV-4). Resending changes nothing else.
		return CheckTransition(action, target.Status)
	}
	if err := CheckManageUser(actorRole, target.Role); err != nil {
		return err
	}
	return CheckTransition(action, target.Status)
}

// CheckResetTwoStep refuses an Owner's or Admin's reset of target's
// factors (a lost phone): never one's own (a person removes their own on
// their Security page) and never the Owner's (the Owner signs in with a
// recovery code and removes theirs), and only of someone the actor may
// manage.
func CheckResetTwoStep(actorRole Role, actorID int64, target *User) error {
	switch {
	case target.ID == actorID:
		return Errorf(EFORBIDDEN, "You can't reset your own two-step verification: remove or replace your "+
			"factors on your Security page, signed in with a recovery code if you lost them.")
	case actorRole != RoleOwner && actorRole != RoleAdmin:
		return Errorf(EFORBIDDEN, "Only Owners and Admins can reset someone's two-step verification.")
	case target.Role == RoleOwner:
		return Errorf(EFORBIDDEN, "Nobody can reset the Owner's two-step verification: the Owner signs in "+
			"with a recovery code and replaces their factors on their Security page.")
	}
	return CheckManageUser(actorRole, target.Role)
}

// CheckSetTwoStepPolicy refuses changing the organization's sign-in
// security to anyone but the Owner (and an operator, who acts with the
// Owner's powers).
func CheckSetTwoStepPolicy(actor Role) error {
	if actor != RoleOwner {
		return Errorf(EFORBIDDEN, "Only the Owner can change the organization's sign-in security.")
	}
	return nil
}
