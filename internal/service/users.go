package service

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/muster-app/muster/internal/muster"
)

// InviteInput is the "Invite a User" form (INV-1).
type InviteInput struct {
	FirstName        string
	LastName         string
	Email            string
	Role             muster.Role
	PrimaryTeamID    int64
	SecondaryTeamIDs []int64
	// ExternalID is the identity provider's id of the user (SCIM); empty
	// keeps that of a user invited again.
	ExternalID string
}

// Invited is the outcome of an invitation: the Pending user and the link the
// email carries.
type Invited struct {
	User *muster.User
	// Link is the sign-in link sent by email. Interfaces do not show it to
	// the inviter; tests and the operator CLI use it. It is never encoded
	// (into an idempotency record's outcome).
	Link string `json:"-"`
	// Again reports that a deactivated or withdrawn user came back.
	Again bool
}

func (in *InviteInput) clean() {
	in.FirstName = muster.CleanName(in.FirstName)
	in.LastName = muster.CleanName(in.LastName)
	in.Email = strings.TrimSpace(in.Email)
	in.ExternalID = strings.TrimSpace(in.ExternalID)
}

func (in *InviteInput) validate() error {
	var v muster.Validation
	muster.CheckName(&v, muster.FieldFirstName, "First name", in.FirstName)
	muster.CheckName(&v, muster.FieldLastName, "Last name", in.LastName)
	muster.CheckEmail(&v, muster.FieldEmail, in.Email)
	if _, ok := muster.ParseRole(string(in.Role)); !ok {
		v.Add(muster.FieldRole, "Choose a role.")
	}
	if in.PrimaryTeamID == 0 {
		v.Add(muster.FieldPrimaryTeamID, "Choose a primary team.")
	}
	checkExternalID(&v, in.ExternalID)
	return v.Err()
}

// MaxExternalIDLength bounds an identity provider's id of a user or team.
const MaxExternalIDLength = 255

// checkExternalID validates an identity provider's id of a user or team.
func checkExternalID(v *muster.Validation, id string) {
	switch problem := muster.TextProblem(id); {
	case problem != "":
		v.Add(muster.FieldExternalID, "The externalId "+problem+".")
	case len(id) > MaxExternalIDLength:
		v.Add(muster.FieldExternalID, "The externalId must be at most 255 bytes.")
	}
}

// Invite creates a Pending user who holds a seat and gets an invitation
// email. An email that belongs to a deactivated or withdrawn user of the org
// brings that same user record back (invite again).
func (s *Service) Invite(ctx context.Context, in InviteInput) (*Invited, error) {
	var out *Invited
	err := change(ctx, s, &out, func(tx *txn) error {
		a, err := loadAdmin(ctx, tx)
		if err != nil {
			return err
		}
		out, err = s.invite(ctx, tx, a, in)
		return err
	})
	return out, err
}

// InviteAgain invites a deactivated user again: the same record comes back
// Pending with their previous name, role and teams, except what changes
// gives otherwise (SPEC §3).
func (s *Service) InviteAgain(ctx context.Context, userID int64, changes UserUpdate) (*Invited, error) {
	var out *Invited
	err := change(ctx, s, &out, func(tx *txn) error {
		// Only who may manage the user's role invites them again: an
		// Admin does not bring a former Admin back as anything (SPEC §2).
		a, u, err := loadActionTarget(ctx, tx, userID, muster.ActionUserReinvited)
		if err != nil {
			return err
		}
		if err := checkVersion("user", changes.IfVersion, u.Version); err != nil {
			return err
		}
		in := reinvitation(u)
		changes.apply(&in)
		out, err = s.invite(ctx, tx, a, in)
		return err
	})
	return out, err
}

// loadDeactivated finds a user of the actor's org whom the actor may
// invite again.
func loadDeactivated(ctx context.Context, tx muster.Tx, a *actor, userID int64) (*muster.User, error) {
	u, err := loadTarget(ctx, tx, a, userID)
	if err != nil {
		return nil, err
	}
	return u, muster.CheckUserAction(muster.ActionUserReinvited, a.role, a.id(), u)
}

// reinvitation is the invitation of a deactivated user as it was.
func reinvitation(u *muster.User) InviteInput {
	return InviteInput{FirstName: u.FirstName, LastName: u.LastName, Email: u.Email, Role: u.Role,
		PrimaryTeamID: u.PrimaryTeamID, SecondaryTeamIDs: u.SecondaryTeamIDs, ExternalID: u.ExternalID}
}

// apply sets the fields of in that upd changes.
func (upd UserUpdate) apply(in *InviteInput) {
	if upd.FirstName != nil {
		in.FirstName = *upd.FirstName
	}
	if upd.LastName != nil {
		in.LastName = *upd.LastName
	}
	if upd.Role != nil {
		in.Role = *upd.Role
	}
	if upd.PrimaryTeamID != nil {
		in.PrimaryTeamID = *upd.PrimaryTeamID
	}
	if upd.SecondaryTeamIDs != nil {
		in.SecondaryTeamIDs = *upd.SecondaryTeamIDs
	}
	if upd.ExternalID != nil {
		in.ExternalID = *upd.ExternalID
	}
}

// invite is Invite inside tx, for the Owner or Admin a: the rules of
// checkInviteInput and inviteFacts.check, then writeInvitations, as an
// import's batch makes many at once.
func (s *Service) invite(ctx context.Context, tx *txn, a *actor, in InviteInput) (*Invited, error) {
	if err := checkInviteInput(a, &in); err != nil {
		return nil, err
	}
	facts, err := readInviteFacts(ctx, tx, a.orgID, []InviteInput{in})
	if err != nil {
		return nil, err
	}
	inv, err := facts.check(a, in)
	if err != nil {
		return nil, err
	}
	out, err := s.writeInvitations(ctx, tx, a, facts, []*invitation{inv})
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// checkInviteInput cleans an invitation and decides what it alone
// decides: that it is valid, and that the actor may grant its role.
func checkInviteInput(a *actor, in *InviteInput) error {
	in.clean()
	if err := in.validate(); err != nil {
		return err
	}
	return muster.CheckGrantRole(a.role, in.Role)
}

// inviteFacts are what the invitation rules (check) decide from, read
// before they decide, a few statements for any number of invitations: the
// org (with whether its single sign-on is on) and which of the teams named
// are the org's (share-locked until the commit), in one with the org's
// webhook endpoints (the transaction's hooks), the org's records of the
// emails (locked) and the Pending and Active users of other orgs who have
// them.
type inviteFacts struct {
	org       *muster.Org
	teams     map[int64]bool
	records   map[string]*muster.User // by normalized email
	elsewhere map[string]*muster.User // by normalized email
}

// readInviteFacts reads the facts of the invitations ins of the org.
func readInviteFacts(ctx context.Context, tx *txn, orgID int64, ins []InviteInput) (*inviteFacts, error) {
	f := &inviteFacts{teams: map[int64]bool{}, records: map[string]*muster.User{}, elsewhere: map[string]*muster.User{}}
	var teamIDs []int64
	var emails []string
	for _, in := range ins {
		teamIDs = append(append(teamIDs, in.PrimaryTeamID), in.SecondaryTeamIDs...)
		if key := muster.NormalizeEmail(in.Email); key != "" {
			emails = append(emails, key)
		}
	}
	slices.Sort(teamIDs)
	org, found, subs, err := tx.FindOrgSharingTeams(ctx, orgID, slices.Compact(teamIDs))
	if err != nil {
		return nil, err
	}
	f.org = org
	tx.hooks = &orgHooks{orgID: orgID, subs: subs}
	for _, id := range found {
		f.teams[id] = true
	}
	slices.Sort(emails)
	emails = slices.Compact(emails)
	err = eachUserByEmail(ctx, tx, orgID, emails, func(u *muster.User) {
		if u.OrgID == orgID {
			f.records[muster.NormalizeEmail(u.Email)] = u
		} else {
			f.elsewhere[muster.NormalizeEmail(u.Email)] = u
		}
	})
	if err != nil {
		return nil, err
	}
	// The org's earlier records are read again, locked, before the emails
	// are judged free: judged on a record read unlocked, an invitation
	// committed in between would be invited again, taking a second seat
	// for one user (LIC-1). In email order, so that two batches lock them
	// in the same order.
	for _, key := range slices.Sorted(maps.Keys(f.records)) {
		u, err := tx.FindUserByEmail(ctx, orgID, key)
		if err != nil {
			return nil, err
		}
		f.records[key] = u
	}
	return f, nil
}

// invitation is an invitation the rules allow: the person's record, if
// the org has one (a deactivated or withdrawn user, who comes back), and
// their secondary teams as a user holds them.
type invitation struct {
	in          InviteInput
	prev        *muster.User
	secondaries []int64
}

// check decides the invitation in, cleaned and allowed by
// checkInviteInput, by the facts: its teams must be the org's and its
// email free (INV-2). It writes nothing.
func (f *inviteFacts) check(a *actor, in InviteInput) (*invitation, error) {
	secondaries, err := checkTeamsExist(in.PrimaryTeamID, in.SecondaryTeamIDs, func(id int64) bool { return f.teams[id] })
	if err != nil {
		return nil, err
	}
	key := muster.NormalizeEmail(in.Email)
	prev, live := f.records[key], f.elsewhere[key]
	if prev != nil && prev.Status.HoldsSeat() {
		live = prev
	}
	if live != nil {
		return nil, emailTaken(a.orgID, live)
	}
	// A deactivated user comes back as the same record: only who may
	// manage their role brings them back, as anything (SPEC §2).
	if prev != nil && prev.Status == muster.StatusDeactivated {
		if err := muster.CheckManageUser(a.role, prev.Role); err != nil {
			return nil, err
		}
	}
	return &invitation{in: in, prev: prev, secondaries: secondaries}, nil
}

// writeInvitations makes the invitations the rules allowed (check): the
// Pending users, new or their earlier records back, their links, emails
// and audit events, and last their seats. New people cost a few
// statements however many they are; a record that comes back costs its
// own.
func (s *Service) writeInvitations(ctx context.Context, tx *txn, a *actor, f *inviteFacts, invs []*invitation) ([]*Invited, error) {
	now := tx.now
	out := make([]*Invited, len(invs))
	befores := make([]map[string]any, len(invs))
	users := make([]*muster.User, len(invs))
	var created []*muster.User
	for i, inv := range invs {
		o := &Invited{User: inv.prev}
		if inv.prev == nil {
			o.User = &muster.User{OrgID: a.orgID}
		} else {
			befores[i] = userSnapshot(inv.prev)
			o.Again = true
		}
		u, in := o.User, inv.in
		u.Email, u.FirstName, u.LastName, u.Role = in.Email, in.FirstName, in.LastName, in.Role
		u.Status, u.InvitedAt, u.InvitedByID, u.UpdatedAt = muster.StatusPending, now, a.id(), now
		u.ActivatedAt, u.DeactivatedAt, u.PasswordHash = time.Time{}, time.Time{}, ""
		u.PrimaryTeamID, u.SecondaryTeamIDs = in.PrimaryTeamID, inv.secondaries
		u.InvitationExpiresAt = s.linkExpiry(now) // of the link queueInvitations makes
		if in.ExternalID != "" || inv.prev == nil {
			u.ExternalID = in.ExternalID
		}
		// A user deleted through SCIM who is invited again, through any
		// interface, is SCIM's to see again.
		u.SCIMDeletedAt = time.Time{}
		if !o.Again {
			created = append(created, u)
		}
		out[i], users[i] = o, u
	}
	if err := tx.CreateUsers(ctx, created); err != nil {
		return nil, err
	}
	for _, o := range out {
		if o.Again {
			if err := comeBack(ctx, tx, o.User); err != nil {
				return nil, err
			}
		}
	}
	links, err := s.queueInvitations(ctx, tx, a, f.org, users)
	if err != nil {
		return nil, err
	}
	events := make([]*muster.AuditEvent, len(out))
	for i, o := range out {
		o.Link = links[i]
		action := muster.ActionUserInvited
		if o.Again {
			action = muster.ActionUserReinvited
		}
		events[i] = tx.auditEvent(a, action, muster.TargetUser, o.User.ID, o.User.Email, befores[i], userSnapshot(o.User))
	}
	if err := tx.auditAll(ctx, events); err != nil {
		return nil, err
	}
	// The seats are taken last: on PostgreSQL it locks the org's seats row
	// until the commit, and every invitation of the org waits for it.
	// Refused, it rolls back all of the above.
	return out, tx.takeSeats(ctx, a.orgID, len(invs))
}

// comeBack writes the earlier record u back as a Pending user, whose
// older links end.
func comeBack(ctx context.Context, tx *txn, u *muster.User) error {
	if err := tx.UpdateUser(ctx, u); err != nil {
		return err
	}
	// A reset link of its earlier life must not come back with it once the
	// invitation is accepted.
	if err := tx.EndPasswordResets(ctx, u.ID, tx.now); err != nil {
		return err
	}
	return tx.RevokeInvitations(ctx, u.ID, muster.LinkSuperseded, tx.now)
}

// takeSeats takes n seats for invitations: those an import reserved, as
// far as they go, and free ones for the rest, refused with the numbers
// when there are not as many (INV-2, LIC-1).
func (tx *txn) takeSeats(ctx context.Context, orgID int64, n int) error {
	reserved := min(n, tx.reservedSeats)
	tx.reservedSeats -= reserved
	if n -= reserved; n == 0 {
		return nil
	}
	if ok, err := tx.TakeSeats(ctx, orgID, n); ok || err != nil {
		return err
	}
	return noSeats(ctx, tx, orgID)
}

// takeSeat takes a license seat or refuses with the numbers (INV-2, LIC-1).
func takeSeat(ctx context.Context, tx muster.Tx, orgID int64) error {
	if ok, err := tx.TakeSeat(ctx, orgID); ok || err != nil {
		return err
	}
	return noSeats(ctx, tx, orgID)
}

// noSeats is the refusal of an invitation for want of a seat.
func noSeats(ctx context.Context, tx muster.Tx, orgID int64) error {
	org, err := tx.FindOrg(ctx, orgID)
	if err != nil {
		return err
	}
	return muster.Errorf(muster.ESEATS, "No licenses remaining: %d of %d in use. "+
		"Withdraw a pending invitation or deactivate a user to free one.", org.SeatsUsed, org.LicenseTotal)
}

// checkEmailFree refuses an email that a Pending or Active user has, in
// this org or another (INV-2).
func checkEmailFree(ctx context.Context, tx muster.Tx, email string) error {
	u, err := tx.FindLiveUserByEmail(ctx, email)
	if muster.ErrorCode(err) == muster.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	p, _ := muster.PrincipalFrom(ctx)
	return emailTaken(p.OrgID, u)
}

// emailTaken refuses, for an actor of the org, the email of the Pending or
// Active user u.
func emailTaken(orgID int64, u *muster.User) error {
	msg := "Another organization already has a user with this email."
	if orgID == u.OrgID {
		msg = fmt.Sprintf("%s is already %s in this organization.", u.Email, strings.ToLower(u.Status.Label()))
	}
	return muster.FieldErrorf(muster.ECONFLICT, muster.FieldEmail, "%s", msg)
}

// shareTeams takes a shared lock on those of the teams that are the org's
// (ShareTeams), in one statement for all of them (the teams of every user
// an edit names, editUsers), and tells which they are. ids may repeat a
// team.
func shareTeams(ctx context.Context, tx muster.Tx, orgID int64, ids []int64) (exists func(id int64) bool, _ error) {
	found, err := tx.ShareTeams(ctx, orgID, slices.Compact(slices.Sorted(slices.Values(ids))))
	if err != nil {
		return nil, err
	}
	return func(id int64) bool {
		_, ok := slices.BinarySearch(found, id)
		return ok
	}, nil
}

// checkTeamsExist checks that the teams are among those that exist and
// returns the secondary teams sorted, without duplicates or the primary
// team, which a user never holds as both kinds.
func checkTeamsExist(primary int64, secondaries []int64, exists func(id int64) bool) ([]int64, error) {
	out := append([]int64{}, secondaries...)
	slices.Sort(out)
	out = slices.DeleteFunc(slices.Compact(out), func(id int64) bool { return id == primary })
	if !exists(primary) {
		return nil, muster.FieldErrorf(muster.EINVALID, muster.FieldPrimaryTeamID,
			"The chosen primary team does not exist. It may have been removed.")
	}
	for _, id := range out {
		if !exists(id) {
			return nil, muster.FieldErrorf(muster.EINVALID, muster.FieldSecondaryTeamIDs,
				"A chosen secondary team does not exist. It may have been removed.")
		}
	}
	return out, nil
}

// loadTarget finds a user of the actor's org whom the actor may manage.
func loadTarget(ctx context.Context, tx muster.Tx, a *actor, userID int64) (*muster.User, error) {
	u, err := tx.FindUser(ctx, a.orgID, userID)
	if err != nil {
		return nil, err
	}
	return u, checkNotWithdrawn(u)
}

// checkNotWithdrawn refuses a withdrawn user as not found: a withdrawn
// invitation leaves the user list, and its record stays only for the audit
// trail (SPEC §1).
func checkNotWithdrawn(u *muster.User) error {
	if u.Status == muster.StatusWithdrawn {
		return muster.Errorf(muster.ENOTFOUND, "User not found.")
	}
	return nil
}

// loadAdminAndTarget is loadAdmin, then loadTarget. A user who acts is
// read by the statement that reads and locks the target (FindUserAndPeek);
// when either is missing, each is read again alone, for the error that
// says which.
func loadAdminAndTarget(ctx context.Context, tx muster.Tx, userID int64) (*actor, *muster.User, error) {
	if p, ok := muster.PrincipalFrom(ctx); ok && p.IsUser() {
		u, actorUser, err := tx.FindUserAndPeek(ctx, p.OrgID, userID, p.UserID)
		if muster.ErrorCode(err) != muster.ENOTFOUND {
			if err != nil {
				return nil, nil, err
			}
			a, err := userActor(p, actorUser, nil)
			if err != nil {
				return nil, nil, err
			}
			if err := muster.CheckAdminister(a.role); err != nil {
				return nil, nil, err
			}
			return a, u, checkNotWithdrawn(u)
		}
	}
	a, err := loadAdmin(ctx, tx)
	if err != nil {
		return nil, nil, err
	}
	u, err := loadTarget(ctx, tx, a, userID)
	return a, u, err
}

// loadActionTarget resolves an Owner or Admin and the user of their org that
// the action is about, and checks that the actor may take it.
func loadActionTarget(ctx context.Context, tx muster.Tx, userID int64, action string) (*actor, *muster.User, error) {
	a, u, err := loadAdminAndTarget(ctx, tx, userID)
	if err != nil {
		return nil, nil, err
	}
	if err := muster.CheckUserAction(action, a.role, a.id(), u); err != nil {
		return nil, nil, err
	}
	return a, u, nil
}

// FindUserForAction returns a user of the org on whom the actor may take
// action (muster.ActionInviteWithdrawn, muster.ActionUserDeactivated…),
// refused as the action itself would be: for the confirmation that asks
// before it (CON-5).
func (s *Service) FindUserForAction(ctx context.Context, userID int64, action string) (*muster.User, error) {
	var out *muster.User
	err := s.read(ctx, func(tx *txn) error {
		_, u, err := loadActionTarget(ctx, tx, userID, action)
		out = u
		return err
	})
	return out, err
}

// ResendInvite sends a Pending user a new link; every older link stops
// working.
func (s *Service) ResendInvite(ctx context.Context, userID int64) (*Invited, error) {
	var out Invited
	err := change(ctx, s, &out, func(tx *txn) error {
		a, u, err := loadActionTarget(ctx, tx, userID, muster.ActionInviteResent)
		if err != nil {
			return err
		}
		org, err := tx.FindOrg(ctx, a.orgID)
		if err != nil {
			return err
		}
		if out.Link, err = s.sendInvitation(ctx, tx, a, org, u); err != nil {
			return err
		}
		out.User = u
		return tx.audit(ctx, a, muster.ActionInviteResent, muster.TargetUser, u.ID, u.Email, nil, nil)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Withdraw withdraws a Pending user's invitation: the link dies, the seat is
// freed and the user leaves the list.
func (s *Service) Withdraw(ctx context.Context, userID int64) (*muster.User, error) {
	var out *muster.User
	err := change(ctx, s, &out, func(tx *txn) error {
		a, u, err := loadActionTarget(ctx, tx, userID, muster.ActionInviteWithdrawn)
		if err != nil {
			return err
		}
		out = u
		return withdraw(ctx, tx, a, u)
	})
	return out, err
}

// withdraw withdraws the Pending user u's invitation, which the actor a
// may withdraw (CheckUserAction).
func withdraw(ctx context.Context, tx *txn, a *actor, u *muster.User) error {
	before := userSnapshot(u)
	u.Status, u.UpdatedAt = muster.StatusWithdrawn, tx.now
	if err := tx.UpdateUser(ctx, u); err != nil {
		return err
	}
	if err := tx.RevokeInvitations(ctx, u.ID, muster.LinkWithdrawn, tx.now); err != nil {
		return err
	}
	return freeSeat(ctx, tx, a, u, muster.ActionInviteWithdrawn, before)
}

// freeSeat ends a withdrawal or a deactivation of u, which was before: the
// audit event of action, then the seat freed (LIC-1).
func freeSeat(ctx context.Context, tx *txn, a *actor, u *muster.User, action string, before map[string]any) error {
	if err := tx.audit(ctx, a, action, muster.TargetUser, u.ID, u.Email, before, userSnapshot(u)); err != nil {
		return err
	}
	// Last, as in Invite: it locks the org's seats row until the commit.
	return tx.ReleaseSeat(ctx, a.orgID)
}

// UserUpdate changes some of a user's fields; nil fields stay as they are.
type UserUpdate struct {
	// IfVersion, when not zero, refuses the update with ESTALE unless the
	// user is still at this version (the API's If-Match).
	IfVersion        int64
	FirstName        *string
	LastName         *string
	Role             *muster.Role
	PrimaryTeamID    *int64
	SecondaryTeamIDs *[]int64
	// ExternalID is the identity provider's id of the user (SCIM).
	ExternalID *string
	// Email is the user's new email, which is their login name: only an
	// identity provider changes it (SCIM's userName), as the person's
	// address changes in its directory.
	Email *string
}

// clean cleans and validates the fields that upd changes, as they are,
// before a transaction reads the user.
func (upd *UserUpdate) clean() error {
	var v muster.Validation
	if upd.FirstName != nil {
		*upd.FirstName = muster.CleanName(*upd.FirstName)
		muster.CheckName(&v, muster.FieldFirstName, "First name", *upd.FirstName)
	}
	if upd.LastName != nil {
		*upd.LastName = muster.CleanName(*upd.LastName)
		muster.CheckName(&v, muster.FieldLastName, "Last name", *upd.LastName)
	}
	if upd.Role != nil {
		if _, ok := muster.ParseRole(string(*upd.Role)); !ok {
			v.Add(muster.FieldRole, "Choose a role.")
		}
	}
	if upd.ExternalID != nil {
		*upd.ExternalID = strings.TrimSpace(*upd.ExternalID)
		checkExternalID(&v, *upd.ExternalID)
	}
	if upd.Email != nil {
		*upd.Email = strings.TrimSpace(*upd.Email)
		muster.CheckEmail(&v, muster.FieldEmail, *upd.Email)
	}
	return v.Err()
}

// UpdateUser edits a Pending or Active user's name, role and teams.
func (s *Service) UpdateUser(ctx context.Context, userID int64, upd UserUpdate) (*muster.User, error) {
	if err := upd.clean(); err != nil {
		return nil, err
	}
	return s.editUserBy(ctx, userID, func(u *muster.User) (UserUpdate, error) {
		return upd, checkVersion("user", upd.IfVersion, u.Version)
	})
}

// editUserBy makes the update that edit computes from the user as they
// are, read and locked in the transaction that writes, under UpdateUser's
// rules (editUser). A bulk team action computes its update from the user's
// teams this way.
func (s *Service) editUserBy(ctx context.Context, userID int64, edit func(u *muster.User) (UserUpdate, error)) (*muster.User, error) {
	var out *muster.User
	err := s.update(ctx, func(tx *txn) error {
		a, u, err := loadAdminAndTarget(ctx, tx, userID)
		if err != nil {
			return err
		}
		upd, err := edit(u)
		if err != nil {
			return err
		}
		out = u
		return s.editUser(ctx, tx, a, u, upd)
	})
	return out, err
}

// editUser makes the cleaned update upd of u, read locked, if the actor a
// may (CheckEditUser, CheckGrantRole), with its audit event; an update that
// changes nothing writes nothing.
func (s *Service) editUser(ctx context.Context, tx *txn, a *actor, u *muster.User, upd UserUpdate) error {
	return s.editUsers(ctx, tx, a, []userEdit{{u, upd}}, func(_ *muster.User, err error) error { return err })
}

// userEdit is a cleaned update of a user read locked.
type userEdit struct {
	user *muster.User
	upd  UserUpdate
}

// editUsers makes the edits as editUser makes each, in a few statements
// for any number: the teams they name are checked in one statement and the
// users written together (a group's members changed by an identity
// provider). A refusal of one edit, which about may tell apart, refuses
// them all.
func (s *Service) editUsers(ctx context.Context, tx *txn, a *actor, edits []userEdit,
	about func(u *muster.User, err error) error) error {
	var named []int64
	for _, e := range edits {
		named = append(named, teamsAfter(e.user, e.upd)...)
	}
	exists, err := shareTeams(ctx, tx, a.orgID, named)
	if err != nil {
		return err
	}
	var moved []*muster.User // whose teams alone changed
	var events []*muster.AuditEvent
	for _, e := range edits {
		u := e.user
		before := userSnapshot(u)
		emailChange, err := applyEdit(ctx, tx, a, u, e.upd, exists)
		if err != nil {
			return about(u, err)
		}
		after := userSnapshot(u)
		if equalSnapshots(before, after) {
			continue
		}
		u.UpdatedAt = tx.now
		events = append(events, tx.auditEvent(a, muster.ActionUserUpdated, muster.TargetUser, u.ID, u.Email, before, after))
		if e.upd.teamsOnly() {
			moved = append(moved, u)
			continue
		}
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if emailChange {
			if err := s.moveAddress(ctx, tx, a, u); err != nil {
				return err
			}
		}
	}
	if err := tx.SetUsersTeams(ctx, moved); err != nil {
		return err
	}
	return tx.auditAll(ctx, events)
}

// teamsOnly tells whether upd changes nothing but the teams.
func (upd UserUpdate) teamsOnly() bool {
	return upd.FirstName == nil && upd.LastName == nil && upd.Role == nil && upd.ExternalID == nil && upd.Email == nil
}

// teamsAfter are the teams u has after upd: the primary team first.
func teamsAfter(u *muster.User, upd UserUpdate) []int64 {
	primary, secondaries := u.PrimaryTeamID, u.SecondaryTeamIDs
	if upd.PrimaryTeamID != nil {
		primary = *upd.PrimaryTeamID
	}
	if upd.SecondaryTeamIDs != nil {
		secondaries = *upd.SecondaryTeamIDs
	}
	return append([]int64{primary}, secondaries...)
}

// applyEdit applies upd to u if the actor a may make it (CheckEditUser,
// CheckGrantRole) and the teams it names exist, and tells whether the
// email changes; it writes nothing.
func applyEdit(ctx context.Context, tx *txn, a *actor, u *muster.User, upd UserUpdate, exists func(id int64) bool) (bool, error) {
	roleChange := upd.Role != nil && *upd.Role != u.Role
	if err := muster.CheckEditUser(a.role, a.id(), u, roleChange); err != nil {
		return false, err
	}
	if roleChange {
		if err := muster.CheckGrantRole(a.role, *upd.Role); err != nil {
			return false, err
		}
	}
	if upd.FirstName != nil {
		u.FirstName = *upd.FirstName
	}
	if upd.LastName != nil {
		u.LastName = *upd.LastName
	}
	if upd.Role != nil {
		u.Role = *upd.Role
	}
	if upd.ExternalID != nil {
		u.ExternalID = *upd.ExternalID
	}
	emailChange := upd.Email != nil && muster.NormalizeEmail(*upd.Email) != muster.NormalizeEmail(u.Email)
	if emailChange {
		if err := checkNewEmail(ctx, tx, u, *upd.Email); err != nil {
			return false, err
		}
	}
	if upd.Email != nil {
		u.Email = *upd.Email
	}
	teams := teamsAfter(u, upd)
	secondaries, err := checkTeamsExist(teams[0], teams[1:], exists)
	if err != nil {
		return false, err
	}
	u.PrimaryTeamID, u.SecondaryTeamIDs = teams[0], secondaries
	return emailChange, nil
}

// moveAddress ends what was sent to u's old email, which may now be
// someone else's: their reset links, and a Pending user's invitation link,
// which goes again, new, to the new address.
func (s *Service) moveAddress(ctx context.Context, tx *txn, a *actor, u *muster.User) error {
	if err := tx.EndPasswordResets(ctx, u.ID, tx.now); err != nil {
		return err
	}
	if u.Status != muster.StatusPending {
		return nil
	}
	org, err := tx.FindOrg(ctx, u.OrgID)
	if err != nil {
		return err
	}
	_, err = s.sendInvitation(ctx, tx, a, org, u)
	return err
}

// checkNewEmail refuses to give u an email that another user of the org has
// (of any status: the org keeps one record per email) or that a Pending or
// Active user of another org has (INV-2).
func checkNewEmail(ctx context.Context, tx muster.Tx, u *muster.User, email string) error {
	other, err := tx.FindUserByEmail(ctx, u.OrgID, email)
	switch {
	case err == nil && other.ID != u.ID:
		return muster.FieldErrorf(muster.ECONFLICT, muster.FieldEmail, "%s is the email of another user of this organization, who is %s.",
			other.Email, strings.ToLower(other.Status.Label()))
	case err != nil && muster.ErrorCode(err) != muster.ENOTFOUND:
		return err
	}
	return checkEmailFree(ctx, tx, email)
}

// Deactivate ends an Active user's access at once and frees their seat;
// their memberships and everything they own stay with their teams.
func (s *Service) Deactivate(ctx context.Context, userID int64) (*muster.User, error) {
	var out *muster.User
	err := change(ctx, s, &out, func(tx *txn) error {
		a, u, err := loadActionTarget(ctx, tx, userID, muster.ActionUserDeactivated)
		if err != nil {
			return err
		}
		out = u
		return deactivate(ctx, tx, a, u)
	})
	return out, err
}

// deactivate deactivates the Active user u, whom the actor a may
// deactivate (CheckUserAction).
func deactivate(ctx context.Context, tx *txn, a *actor, u *muster.User) error {
	now := tx.now
	before := userSnapshot(u)
	u.Status, u.DeactivatedAt, u.UpdatedAt = muster.StatusDeactivated, now, now
	if err := tx.UpdateUser(ctx, u); err != nil {
		return err
	}
	// Access ends in the same transaction: the user's next request, on any
	// instance, finds no session and no token (DEA-1), and no one sends as
	// them (SEND-2).
	perms, err := tx.EndUserAccess(ctx, u.ID, muster.LinkInactive, now)
	if err != nil {
		return err
	}
	if err := auditSendAsRevoked(ctx, tx, a, u, perms); err != nil {
		return err
	}
	return freeSeat(ctx, tx, a, u, muster.ActionUserDeactivated, before)
}

// InviteForm is what "Invite a User" offers: the org's teams and, to invite
// a deactivated user again, their previous invitation.
type InviteForm struct {
	Draft InviteInput
	Teams []muster.TeamName
}

// FindInviteForm returns the invitation form for Owners and Admins,
// pre-filled for the deactivated user againID (0 for a new invitation).
func (s *Service) FindInviteForm(ctx context.Context, againID int64) (*InviteForm, error) {
	var out InviteForm
	err := s.read(ctx, func(tx *txn) error {
		a, err := loadAdmin(ctx, tx)
		if err != nil {
			return err
		}
		if againID != 0 {
			u, err := loadDeactivated(ctx, tx, a, againID)
			if err != nil {
				return err
			}
			out.Draft = reinvitation(u)
		}
		out.Teams, err = tx.FindTeamNames(ctx, a.orgID)
		return err
	})
	return &out, err
}

// InviteAgainDraft returns the invitation form pre-filled for a deactivated
// user: their name, email, previous role and teams (SPEC §3).
func (s *Service) InviteAgainDraft(ctx context.Context, userID int64) (*InviteInput, error) {
	var out *InviteInput
	err := s.view(ctx, func(tx *txn) error {
		a, err := loadAdmin(ctx, tx)
		if err != nil {
			return err
		}
		u, err := loadDeactivated(ctx, tx, a, userID)
		if err != nil {
			return err
		}
		in := reinvitation(u)
		out = &in
		return nil
	})
	return out, err
}

// UserQuery selects a page of users for the Users tab. Status and Role are
// as the person gave them: empty for any, else a status the list shows
// (pending, active, deactivated) and a role.
type UserQuery struct {
	Search string
	Status string
	Role   string
	TeamID int64
	// TwoStep is "on" or "off" for the users with or without two-step
	// verification; empty for both.
	TwoStep string
	// Sort names the order (muster.UserSorts); empty is by name. Desc
	// reverses it.
	Sort string
	Desc bool
	// Cursor is the NextCursor or PrevCursor of the page before; empty for
	// the first page. A cursor of another order starts from the first page.
	Cursor string
	Limit  int
	// Count asks for Total, the number of users the filters select.
	Count bool
	// KnownVersion is the ListVersion of the page the client holds: while
	// the list is still at it, FindUsers answers NotModified instead of
	// reading the page again. 0 for none.
	KnownVersion int64
}

// UserPage is one page of users.
type UserPage struct {
	// Users are as a listing shows them (muster.Tx.FindUserListing): for
	// showing, not for writing back.
	Users []*muster.User
	// NextCursor and PrevCursor open the pages after and before this one;
	// empty when there is none.
	NextCursor string
	PrevCursor string
	// Offset is how many users come before the page's first, in the order.
	Offset int
	// Total is the number of users the filters select, when asked for; a
	// Total of MaxUserCount means at least that many.
	Total int
	// ListVersion is the version of the org's user list (see
	// muster.Tx.UserListVersion) as FindUsers found it, before the page.
	ListVersion int64
	// NotModified says the list is still at the query's KnownVersion: the
	// page has no users, the client's copy is current.
	NotModified bool
}

// MaxUserCount bounds how many users a listing counts: beyond it, its
// total says "more than".
const MaxUserCount = 1_000_000

// Page sizes for user listings.
const (
	DefaultPageSize = 50
	MaxPageSize     = 200
)

// pageLimit is the page size asked for, defaulted and capped.
func pageLimit(asked int) int {
	if asked <= 0 {
		return DefaultPageSize
	}
	return min(asked, MaxPageSize)
}

// FindUsers lists the org's users by name, 50 to a page by default, with
// the list's version; a page the client already holds (q.KnownVersion) is
// answered NotModified from the version alone.
func (s *Service) FindUsers(ctx context.Context, q UserQuery) (*UserPage, error) {
	return readAs(ctx, s, loadAdmin, func(tx *txn, a *actor) (*UserPage, error) {
		// Read before the page, outside a snapshot (with the request's API
		// token, if its check read it: see authenticatedTx): a write
		// committed in between makes the page newer than its version,
		// never older, so a version never stands for a page that lacks one
		// of its writes.
		version, err := tx.UserListVersion(ctx, a.orgID)
		if err != nil {
			return nil, err
		}
		if q.KnownVersion != 0 && q.KnownVersion == version {
			if _, _, err := q.filter(a.orgID); err != nil {
				return nil, err
			}
			return &UserPage{ListVersion: version, NotModified: true}, nil
		}
		page, err := findUserPage(ctx, tx, a, q)
		if err != nil {
			return nil, err
		}
		page.ListVersion = version
		return page, nil
	})
}

// UserDirectory is what the Users tab shows: a page of users, the org's
// teams (which name the users' teams and filter the list) and the
// user-list report in progress, if any.
type UserDirectory struct {
	UserPage
	Teams  []muster.TeamName
	Report *muster.Report
	// Reports are the user lists the actor asked for that can still be
	// downloaded, newest first: where an Admin finds theirs when no email
	// server delivers the link.
	Reports []*muster.Report
}

// recentReports is how many of their user lists the Users tab shows an
// actor.
const recentReports = 3

// FindUserDirectory returns the Users tab for q, for Owners and Admins, read
// in one transaction.
func (s *Service) FindUserDirectory(ctx context.Context, q UserQuery) (*UserDirectory, error) {
	var d UserDirectory
	err := s.read(ctx, func(tx *txn) error {
		a, err := loadAdmin(ctx, tx)
		if err != nil {
			return err
		}
		page, err := findUserPage(ctx, tx, a, q)
		if err != nil {
			return err
		}
		d.UserPage = *page
		if d.Teams, err = tx.FindTeamNames(ctx, a.orgID); err != nil {
			return err
		}
		if d.Report, err = findActiveReport(ctx, tx, a.orgID); err != nil || a.user == nil {
			return err
		}
		reports, err := tx.FindUserReports(ctx, a.orgID, a.user.ID, recentReports)
		for _, r := range reports {
			if r.Status == muster.ReportDone && tx.now.Before(r.ExpiresAt) {
				d.Reports = append(d.Reports, r)
			}
		}
		return err
	})
	return &d, err
}

// findUserPage reads the page of the org's users that q selects: after its
// cursor, or before it, read backwards (the order reversed) and turned
// round.
func findUserPage(ctx context.Context, tx *txn, a *actor, q UserQuery) (*UserPage, error) {
	limit := pageLimit(q.Limit)
	filter, cur, err := q.filter(a.orgID)
	if err != nil {
		return nil, err
	}
	back := cur != nil && cur.Back
	if cur != nil {
		filter.After = &cur.UserCursor
	}
	if back {
		filter.Desc = !filter.Desc
	}
	filter.Limit = limit + 1
	users, err := tx.FindUserListing(ctx, filter)
	if err != nil {
		return nil, err
	}
	more := len(users) > limit
	if more {
		users = users[:limit]
	}
	page := &UserPage{Users: users}
	if cur != nil {
		page.Offset = cur.Offset
	}
	if back {
		slices.Reverse(users)
		if !more {
			// The list's start: fewer users before than a page.
			page.Offset = 0
		}
	}
	filter.Desc = q.Desc
	if len(users) > 0 {
		first, last := users[0], users[len(users)-1]
		if (back && more) || (!back && page.Offset > 0) {
			page.PrevCursor = encodeUserCursor(userCursor{UserCursor: *filter.Sort.Cursor(first), Back: true,
				Offset: max(page.Offset-limit, 0)}, filter)
		}
		if back || more {
			page.NextCursor = encodeUserCursor(userCursor{UserCursor: *filter.Sort.Cursor(last),
				Offset: page.Offset + len(users)}, filter)
		}
	}
	if q.Count {
		if page.Total, err = countUsers(ctx, tx, filter); err != nil {
			return nil, err
		}
	}
	return page, nil
}

// countUsers counts the users filter selects, up to MaxUserCount. The whole
// list is the org's seats in use (its Pending and Active users, kept in the
// same transactions as their statuses: LIC-1) and its Deactivated users, so
// that the list's first page does not count every user.
func countUsers(ctx context.Context, tx *txn, filter muster.UserFilter) (int, error) {
	filter.After = nil
	if filter.Query != "" || filter.Status != "" || filter.Role != "" || filter.TeamID != 0 || filter.TwoStep != "" {
		return tx.CountUsers(ctx, filter, MaxUserCount)
	}
	org, err := tx.FindOrg(ctx, filter.OrgID)
	if err != nil {
		return 0, err
	}
	filter.Status = muster.StatusDeactivated
	n, err := tx.CountUsers(ctx, filter, MaxUserCount)
	return min(org.SeatsUsed+n, MaxUserCount), err
}

// filter is the store's filter for q in the org, and q's cursor when it is
// of q's order; or an EINVALID error for a status, role, order or cursor
// that q may not have. Withdrawn invitations left the list (SPEC §1): they
// are not a status to list.
func (q UserQuery) filter(orgID int64) (muster.UserFilter, *userCursor, error) {
	f := muster.UserFilter{OrgID: orgID, Query: q.Search, TeamID: q.TeamID, Desc: q.Desc}
	if err := checkSearch(q.Search); err != nil {
		return f, nil, err
	}
	if q.Status != "" {
		st, ok := muster.ParseStatus(q.Status)
		if !ok || st == muster.StatusWithdrawn {
			return f, nil, muster.Errorf(muster.EINVALID, "The status must be pending, active or deactivated.")
		}
		f.Status = st
	}
	if q.Role != "" {
		role, ok := muster.ParseRole(q.Role)
		if !ok {
			return f, nil, muster.Errorf(muster.EINVALID, "The role must be owner, admin, manager or basic.")
		}
		f.Role = role
	}
	switch q.TwoStep {
	case "", "on", "off":
		f.TwoStep = q.TwoStep
	default:
		return f, nil, muster.Errorf(muster.EINVALID, "The two-step filter must be on or off.")
	}
	var ok bool
	if f.Sort, ok = muster.ParseUserSort(q.Sort); !ok {
		return f, nil, muster.Errorf(muster.EINVALID, "The order must be name, email, role, status, invited or last_sign_in.")
	}
	cur, err := decodeUserCursor(q.Cursor)
	if err != nil || cur == nil {
		return f, nil, err
	}
	if cur.Sort != f.Sort || cur.Desc != f.Desc {
		// A page of another order: start from the first page of this one.
		return f, nil, nil
	}
	return f, cur, nil
}

// userCursor is a page's cursor: where it starts, in which order, which
// way it is read and how many users come before it.
type userCursor struct {
	muster.UserCursor
	Sort   muster.UserSort
	Desc   bool
	Back   bool
	Offset int
}

// cursorJSON is how a cursor is encoded, in short names.
type cursorJSON struct {
	Sort    muster.UserSort `json:"s"`
	Desc    bool            `json:"d,omitempty"`
	Back    bool            `json:"b,omitempty"`
	Offset  int             `json:"o,omitempty"`
	Key     string          `json:"k,omitempty"`
	SortKey string          `json:"n"`
	ID      int64           `json:"i"`
}

func encodeUserCursor(c userCursor, f muster.UserFilter) string {
	b, _ := json.Marshal(cursorJSON{Sort: f.Sort, Desc: f.Desc, Back: c.Back, Offset: c.Offset, Key: c.Key,
		SortKey: c.SortKey, ID: c.ID})
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeUserCursor reads a cursor, and the cursors of earlier versions,
// "ID:SORTKEY" in name order, which API clients may hold.
func decodeUserCursor(s string) (*userCursor, error) {
	if s == "" {
		return nil, nil
	}
	bad := muster.BadCursor()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	if len(b) > 0 && b[0] == '{' {
		var c cursorJSON
		// The keys go to the store as text: a cursor made up to hold NUL
		// or invalid UTF-8 is refused here, not by PostgreSQL.
		if err := json.Unmarshal(b, &c); err != nil || c.ID <= 0 || c.Offset < 0 ||
			muster.TextProblem(c.Key) != "" || muster.TextProblem(c.SortKey) != "" {
			return nil, bad
		}
		sort, ok := muster.ParseUserSort(string(c.Sort))
		if !ok {
			return nil, bad
		}
		return &userCursor{UserCursor: muster.UserCursor{Key: c.Key, SortKey: c.SortKey, ID: c.ID}, Sort: sort,
			Desc: c.Desc, Back: c.Back, Offset: c.Offset}, nil
	}
	idText, key, ok := strings.Cut(string(b), ":")
	id, err := strconv.ParseInt(idText, 10, 64)
	// The key goes to the store as text: a cursor made up to hold NUL or
	// invalid UTF-8 is refused here, not by PostgreSQL.
	if !ok || err != nil || id <= 0 || muster.TextProblem(key) != "" {
		return nil, bad
	}
	return &userCursor{UserCursor: muster.UserCursor{SortKey: key, ID: id}, Sort: muster.SortName}, nil
}

// checkSearch refuses a search that is not valid text (muster.TextProblem):
// the interfaces refuse it first, with their own words.
func checkSearch(search string) error {
	if problem := muster.TextProblem(search); problem != "" {
		return muster.Errorf(muster.EINVALID, "The search %s.", problem)
	}
	return nil
}

// FindUser returns a user of the actor's org. Owners and Admins see anyone;
// everybody sees themself.
func (s *Service) FindUser(ctx context.Context, userID int64) (*muster.User, error) {
	var u *muster.User
	err := s.read(ctx, func(tx *txn) error {
		a, err := loadActor(ctx, tx)
		if err != nil {
			return err
		}
		if userID == a.id() {
			u = a.user
			return nil
		}
		if err := muster.CheckAdminister(a.role); err != nil {
			return err
		}
		u, err = loadTarget(ctx, tx, a, userID)
		return err
	})
	return u, err
}

// FindManagedUser returns a user of the actor's org whom the actor, an
// Owner or Admin, may manage (SPEC §2): the subject of a confirmation page,
// which those who may not take its action do not see. The action checks
// again, with its own rules.
func (s *Service) FindManagedUser(ctx context.Context, userID int64) (*muster.User, error) {
	return readAs(ctx, s, loadAdmin, func(tx *txn, a *actor) (*muster.User, error) {
		u, err := loadTarget(ctx, tx, a, userID)
		if err != nil {
			return nil, err
		}
		return u, muster.CheckManageUser(a.role, u.Role)
	})
}

// UserAndTeams is a user with the org's teams, which a form that edits the
// user offers.
type UserAndTeams struct {
	User  *muster.User
	Teams []muster.TeamName
}

// FindUserAndTeams returns a user of the org whom the actor, an Owner or
// Admin, may edit, and the org's teams: the edit form's.
func (s *Service) FindUserAndTeams(ctx context.Context, userID int64) (*UserAndTeams, error) {
	var out UserAndTeams
	err := s.read(ctx, func(tx *txn) error {
		a, err := loadAdmin(ctx, tx)
		if err != nil {
			return err
		}
		if out.User, err = loadTarget(ctx, tx, a, userID); err != nil {
			return err
		}
		// The form shows to whom its save would: not an Admin's of the
		// Owner or of another Admin.
		if err := muster.CheckEditUser(a.role, a.id(), out.User, false); err != nil {
			return err
		}
		out.Teams, err = tx.FindTeamNames(ctx, a.orgID)
		return err
	})
	return &out, err
}

// Me returns the signed-in user.
func (s *Service) Me(ctx context.Context) (*muster.User, error) {
	var u *muster.User
	err := s.read(ctx, func(tx *txn) error {
		a, err := loadActor(ctx, tx)
		if err != nil {
			return err
		}
		if a.user == nil {
			return muster.Errorf(muster.ENOTFOUND, "An operator has no profile.")
		}
		u = a.user
		return nil
	})
	return u, err
}

// userSnapshot is how a user appears in audit events.
func userSnapshot(u *muster.User) map[string]any {
	secondaries := make([]any, len(u.SecondaryTeamIDs))
	for i, id := range u.SecondaryTeamIDs {
		secondaries[i] = id
	}
	snap := map[string]any{
		"email": u.Email, "first_name": u.FirstName, "last_name": u.LastName, "role": string(u.Role),
		"status": string(u.Status), "primary_team_id": u.PrimaryTeamID, "secondary_team_ids": secondaries,
	}
	if u.ExternalID != "" {
		snap["external_id"] = u.ExternalID
	}
	return snap
}

func equalSnapshots(a, b map[string]any) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// FindUserByEmail returns the user of the actor's org with email, ignoring
// case, for Owners, Admins and operators (who name people by email, as
// `muster org transfer --to` does). A withdrawn invitation is not found.
func (s *Service) FindUserByEmail(ctx context.Context, email string) (*muster.User, error) {
	var u *muster.User
	err := s.view(ctx, func(tx *txn) error {
		a, err := loadAdmin(ctx, tx)
		if err != nil {
			return err
		}
		if muster.TextProblem(email) != "" {
			return muster.Errorf(muster.ENOTFOUND, "User not found.")
		}
		if u, err = tx.FindUserByEmail(ctx, a.orgID, email); err == nil && u.Status == muster.StatusWithdrawn {
			u, err = nil, muster.Errorf(muster.ENOTFOUND, "User not found.")
		}
		return err
	})
	return u, err
}
