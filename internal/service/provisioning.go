package service

// Provisioning: users and teams as an identity provider reads and writes
// them through SCIM (SCIM-1). Every change goes through the same rules as
// the console's and the API's (seats, roles, teams, deactivation, audit),
// made by the methods those use (invite, editUser, deactivate, withdraw),
// one transaction per request: all of a PATCH's operations apply, or none.

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"

	"github.com/muster-app/muster/internal/muster"
)

// MaxProvisionPage is the most users or teams one page holds (SCIM's
// count, capped).
const MaxProvisionPage = 200

// ProvisionedUser is a user as an identity provider sees them: the user
// and their teams, the primary team first, then the secondary teams.
type ProvisionedUser struct {
	User  *muster.User
	Teams []*muster.Team
}

// ProvisionedUsers is a page of users and how many the query selects.
type ProvisionedUsers struct {
	Total int
	Users []ProvisionedUser
}

// ProvisionQuery selects a page of users or teams by a condition: Offset
// of them are skipped, then up to Limit (at most MaxProvisionPage) are
// returned; a Limit of 0 asks only for the total.
type ProvisionQuery struct {
	Where  *muster.Condition
	Offset int
	Limit  int
	// Members asks for each team's members (teams only).
	Members bool
}

// selection is q's selection of the org's users or teams.
func (q ProvisionQuery) selection(orgID int64) muster.Selection {
	return muster.Selection{OrgID: orgID, Where: q.Where, Offset: q.Offset, Limit: q.Limit}
}

// selectPage returns the page of rows sel selects (none for a limit of 0)
// and how many it selects in all. A page that is not full is the last, so
// the count is known without counting, unless it is empty past the first
// row (its offset may be past the end).
func selectPage[T any](ctx context.Context, sel muster.Selection,
	find func(context.Context, muster.Selection) ([]T, error),
	count func(context.Context, muster.Selection) (int, error)) ([]T, int, error) {
	var page []T
	if sel.Limit > 0 {
		var err error
		if page, err = find(ctx, sel); err != nil {
			return nil, 0, err
		}
	}
	if n := len(page); n < sel.Limit && (n > 0 || sel.Offset == 0) {
		return page, sel.Offset + n, nil
	}
	total, err := count(ctx, sel)
	return page, total, err
}

// The comparisons a condition may make, by attribute, of users and of teams.
var (
	userConditions = map[string][]muster.CondOp{
		muster.AttrEmail:      {muster.CondEqual, muster.CondPrefix, muster.CondContains},
		muster.AttrExternalID: {muster.CondEqual},
		muster.AttrID:         {muster.CondEqual},
	}
	teamConditions = map[string][]muster.CondOp{
		muster.AttrName:       {muster.CondEqual, muster.CondPrefix, muster.CondContains},
		muster.AttrExternalID: {muster.CondEqual},
		muster.AttrID:         {muster.CondEqual},
		muster.AttrMember:     {muster.CondEqual},
	}
)

// checkCondition refuses a condition that makes a comparison allowed does
// not list.
func checkCondition(c *muster.Condition, allowed map[string][]muster.CondOp) error {
	if c == nil {
		return nil
	}
	switch c.Op {
	case muster.CondAnd, muster.CondOr:
		if len(c.Of) == 0 {
			return muster.Errorf(muster.EINVALID, "A filter's %q needs conditions on both sides.", c.Op)
		}
		for i := range c.Of {
			if err := checkCondition(&c.Of[i], allowed); err != nil {
				return err
			}
		}
		return nil
	}
	if !slices.Contains(allowed[c.Attr], c.Op) {
		return muster.Errorf(muster.EINVALID, "Filtering on %s with %q is not supported.", c.Attr, c.Op)
	}
	if problem := muster.TextProblem(c.Value); problem != "" {
		return muster.Errorf(muster.EINVALID, "A filter's value %s.", problem)
	}
	return nil
}

func (q *ProvisionQuery) clean() {
	q.Offset = max(q.Offset, 0)
	q.Limit = min(max(q.Limit, 0), MaxProvisionPage)
}

// FindProvisionedUsers returns the page of the org's users that q selects,
// in id order, for Owners, Admins and SCIM tokens. Users deleted through
// SCIM are never selected; withdrawn invitations are (as inactive users).
func (s *Service) FindProvisionedUsers(ctx context.Context, q ProvisionQuery) (*ProvisionedUsers, error) {
	if err := checkCondition(q.Where, userConditions); err != nil {
		return nil, err
	}
	q.clean()
	return readAs(ctx, s, loadAdmin, func(tx *txn, a *actor) (*ProvisionedUsers, error) {
		users, total, err := selectPage(ctx, q.selection(a.orgID), tx.SelectUsers, tx.CountSelectedUsers)
		if err != nil {
			return nil, err
		}
		out := ProvisionedUsers{Total: total}
		if len(users) == 0 {
			return &out, nil
		}
		teams, err := usersTeams(ctx, tx, a.orgID, users...)
		if err != nil {
			return nil, err
		}
		for _, u := range users {
			out.Users = append(out.Users, provisioned(u, teams))
		}
		return &out, nil
	})
}

// provisioned is u with its teams, found among teams.
func provisioned(u *muster.User, teams []*muster.Team) ProvisionedUser {
	p := ProvisionedUser{User: u}
	for _, t := range teams {
		if t.ID == u.PrimaryTeamID {
			p.Teams = append([]*muster.Team{t}, p.Teams...)
		} else if slices.Contains(u.SecondaryTeamIDs, t.ID) {
			p.Teams = append(p.Teams, t)
		}
	}
	return p
}

// errUserNotFound answers for any id SCIM does not show: no user, a user of
// another org, a user deleted through SCIM.
var errUserNotFound = muster.Errorf(muster.ENOTFOUND, "User not found.")

// loadProvisioned finds a user of the actor's org that SCIM shows (not
// deleted through SCIM), locked in a write transaction.
func loadProvisioned(ctx context.Context, tx muster.Tx, a *actor, userID int64) (*muster.User, error) {
	u, err := tx.FindUser(ctx, a.orgID, userID)
	if muster.ErrorCode(err) == muster.ENOTFOUND || (err == nil && !u.SCIMDeletedAt.IsZero()) {
		return nil, errUserNotFound
	}
	return u, err
}

// loadProvisionedAt resolves an Owner, Admin or SCIM token and the user of
// their org that SCIM shows, locked, refusing with ESTALE unless the user is
// at ifVersion (when it is not zero).
func loadProvisionedAt(ctx context.Context, tx muster.Tx, userID, ifVersion int64) (*actor, *muster.User, error) {
	a, err := loadAdmin(ctx, tx)
	if err != nil {
		return nil, nil, err
	}
	u, err := loadProvisioned(ctx, tx, a, userID)
	if err != nil {
		return nil, nil, err
	}
	return a, u, checkVersion("user", ifVersion, u.Version)
}

// withTeams reads u's teams and returns u with them.
func withTeams(ctx context.Context, tx muster.Tx, u *muster.User) (*ProvisionedUser, error) {
	teams, err := usersTeams(ctx, tx, u.OrgID, u)
	if err != nil {
		return nil, err
	}
	p := provisioned(u, teams)
	return &p, nil
}

// FindProvisionedUser returns a user of the org that SCIM shows, with
// their teams, for Owners, Admins and SCIM tokens.
func (s *Service) FindProvisionedUser(ctx context.Context, userID int64) (*ProvisionedUser, error) {
	return readAs(ctx, s, loadAdmin, func(tx *txn, a *actor) (*ProvisionedUser, error) {
		u, err := loadProvisioned(ctx, tx, a, userID)
		if err != nil {
			return nil, err
		}
		return withTeams(ctx, tx, u)
	})
}

// UserDraft is a user as an identity provider writes them: everything SCIM
// may set, each field as it should be after the request.
type UserDraft struct {
	Email      string
	FirstName  string
	LastName   string
	ExternalID string
	// Role is the user's role; empty on a creation means Basic User.
	Role muster.Role
	// Active is whether the user holds a seat and may sign in: Pending or
	// Active. false deactivates an Active user and withdraws a Pending
	// one's invitation; true invites a deactivated or withdrawn one again.
	Active bool
	// PrimaryTeam names the primary team: its id or its name, in any case;
	// empty for the Default Team.
	PrimaryTeam string
}

// draftOf is u as a draft.
func draftOf(u *muster.User) UserDraft {
	return UserDraft{Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, ExternalID: u.ExternalID,
		Role: u.Role, Active: u.Status.HoldsSeat(), PrimaryTeam: strconv.FormatInt(u.PrimaryTeamID, 10)}
}

// findTeamRef finds the team of the org that ref names: its id, its name
// in any case, or the Default Team for "".
func findTeamRef(ctx context.Context, tx muster.Tx, orgID int64, ref string) (*muster.Team, error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return tx.FindDefaultTeam(ctx, orgID)
	}
	if problem := muster.TextProblem(ref); problem != "" {
		return nil, muster.FieldErrorf(muster.EINVALID, muster.FieldPrimaryTeamID, "The primary team %s.", problem)
	}
	var (
		t   *muster.Team
		err error
	)
	if id, perr := strconv.ParseInt(ref, 10, 64); perr == nil {
		t, err = tx.FindTeamShared(ctx, orgID, id)
	}
	if t == nil {
		t, err = tx.FindTeamByName(ctx, orgID, ref)
	}
	if muster.ErrorCode(err) == muster.ENOTFOUND {
		return nil, muster.FieldErrorf(muster.EINVALID, muster.FieldPrimaryTeamID,
			"The organization has no team %q for the primary team. Create it first, or leave primaryTeam empty for the Default Team.", ref)
	}
	return t, err
}

// ProvisionUser creates a user as Invite a User does, for an identity
// provider: a Pending user who holds a seat and gets an invitation email,
// or, for the email of a deactivated or withdrawn user of the org (one
// deleted through SCIM included), that same user invited again.
func (s *Service) ProvisionUser(ctx context.Context, d UserDraft) (*ProvisionedUser, error) {
	if !d.Active {
		return nil, muster.Errorf(muster.EINVALID, "A new user is invited and holds a seat: create them with active true "+
			"(or without active), and set it to false later to deactivate them.")
	}
	if d.Role == "" {
		d.Role = muster.RoleBasic
	}
	var out *ProvisionedUser
	err := s.update(ctx, func(tx *txn) error {
		a, err := loadAdmin(ctx, tx)
		if err != nil {
			return err
		}
		team, err := findTeamRef(ctx, tx, a.orgID, d.PrimaryTeam)
		if err != nil {
			return err
		}
		invited, err := s.invite(ctx, tx, a, InviteInput{FirstName: d.FirstName, LastName: d.LastName, Email: d.Email,
			Role: d.Role, PrimaryTeamID: team.ID, ExternalID: d.ExternalID})
		if err != nil {
			return err
		}
		out, err = withTeams(ctx, tx, invited.User)
		return err
	})
	return out, err
}

// ChangeProvisionedUser changes a user as an identity provider asks (SCIM
// PUT and PATCH): edit turns the user's draft into what it should be, and
// the difference is made, in one transaction, with the rules of the
// console's actions — an edit (name, role, primary team, external ID), a
// deactivation or withdrawal (Active false), an invitation again (Active
// true). A draft that changes nothing writes nothing, even for the Owner.
// The email, which is the user's login name, does not change. A non-zero
// ifVersion refuses the change with ESTALE unless the user is still at
// that version.
func (s *Service) ChangeProvisionedUser(ctx context.Context, userID, ifVersion int64,
	edit func(*UserDraft) error) (*ProvisionedUser, error) {
	var out *ProvisionedUser
	err := s.update(ctx, func(tx *txn) error {
		a, u, err := loadProvisionedAt(ctx, tx, userID, ifVersion)
		if err != nil {
			return err
		}
		cur := draftOf(u)
		d := cur
		if err := edit(&d); err != nil {
			return err
		}
		if u, err = s.applyDraft(ctx, tx, a, u, cur, d); err != nil {
			return err
		}
		out, err = withTeams(ctx, tx, u)
		return err
	})
	return out, err
}

// applyDraft makes the changes from cur, u as it is, to d, and returns the
// user as they are then.
func (s *Service) applyDraft(ctx context.Context, tx *txn, a *actor, u *muster.User, cur, d UserDraft) (*muster.User, error) {
	var upd UserUpdate
	if d.Email != cur.Email {
		upd.Email = &d.Email
	}
	if d.FirstName != cur.FirstName {
		upd.FirstName = &d.FirstName
	}
	if d.LastName != cur.LastName {
		upd.LastName = &d.LastName
	}
	if d.Role != cur.Role {
		upd.Role = &d.Role
	}
	if d.ExternalID != cur.ExternalID {
		upd.ExternalID = &d.ExternalID
	}
	if d.PrimaryTeam != cur.PrimaryTeam {
		team, err := findTeamRef(ctx, tx, a.orgID, d.PrimaryTeam)
		if err != nil {
			return nil, err
		}
		if team.ID != u.PrimaryTeamID {
			upd.PrimaryTeamID = &team.ID
		}
	}
	if err := upd.clean(); err != nil {
		return nil, err
	}
	changes := upd != (UserUpdate{})
	live := u.Status.HoldsSeat()
	switch {
	case !live && d.Active:
		if upd.Email != nil && muster.NormalizeEmail(*upd.Email) != muster.NormalizeEmail(u.Email) {
			return nil, muster.FieldErrorf(muster.ECONFLICT, muster.FieldEmail, "%s is %s: make them active first, "+
				"then change their email.", u.Email, strings.ToLower(u.Status.Label()))
		}
		in := reinvitation(u)
		upd.apply(&in)
		invited, err := s.invite(ctx, tx, a, in)
		if err != nil {
			return nil, err
		}
		return invited.User, nil
	case changes:
		// On a deactivated user, refused: edit only Pending and Active users.
		if err := s.editUser(ctx, tx, a, u, upd); err != nil {
			return nil, err
		}
	}
	if live && !d.Active {
		return u, endAccess(ctx, tx, a, u)
	}
	return u, nil
}

// endAccess deactivates an Active user, or withdraws a Pending user's
// invitation, as the actor may (CheckUserAction): either way the user
// loses their seat and their access.
func endAccess(ctx context.Context, tx *txn, a *actor, u *muster.User) error {
	action, end := muster.ActionUserDeactivated, deactivate
	if u.Status == muster.StatusPending {
		action, end = muster.ActionInviteWithdrawn, withdraw
	}
	if err := muster.CheckUserAction(action, a.role, a.id(), u); err != nil {
		return err
	}
	return end(ctx, tx, a, u)
}

// DeleteProvisionedUser deletes a user as an identity provider asks (SCIM
// DELETE): an Active user is deactivated and a Pending one's invitation
// withdrawn, as the actor may, and from then on SCIM does not show the user
// (404), while the console keeps them, Deactivated, with their history. A
// later creation with the same email brings the same user back.
func (s *Service) DeleteProvisionedUser(ctx context.Context, userID, ifVersion int64) error {
	return s.update(ctx, func(tx *txn) error {
		a, u, err := loadProvisionedAt(ctx, tx, userID, ifVersion)
		if err != nil {
			return err
		}
		if u.Status.HoldsSeat() {
			if err := endAccess(ctx, tx, a, u); err != nil {
				return err
			}
		}
		u.SCIMDeletedAt, u.UpdatedAt = tx.now, tx.now
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		return tx.audit(ctx, a, muster.ActionUserSCIMDeleted, muster.TargetUser, u.ID, u.Email, nil,
			map[string]any{"status": string(u.Status)})
	})
}

// ProvisionedTeam is a team as an identity provider sees it (a SCIM
// group): the team and, when asked for, its members.
type ProvisionedTeam struct {
	Team    *muster.Team
	Members []muster.Member
}

// ProvisionedTeams is a page of teams and how many the query selects.
type ProvisionedTeams struct {
	Total int
	Teams []ProvisionedTeam
}

// FindProvisionedTeams returns the page of the org's teams that q selects,
// the Default Team first and then by name, for Owners, Admins and SCIM
// tokens.
func (s *Service) FindProvisionedTeams(ctx context.Context, q ProvisionQuery) (*ProvisionedTeams, error) {
	if err := checkCondition(q.Where, teamConditions); err != nil {
		return nil, err
	}
	q.clean()
	return readAs(ctx, s, loadAdmin, func(tx *txn, a *actor) (*ProvisionedTeams, error) {
		teams, total, err := selectPage(ctx, q.selection(a.orgID), tx.SelectTeams, tx.CountSelectedTeams)
		if err != nil {
			return nil, err
		}
		out := ProvisionedTeams{Total: total}
		var members map[int64][]muster.Member
		if q.Members && len(teams) > 0 {
			ids := make([]int64, len(teams))
			for i, t := range teams {
				ids[i] = t.ID
			}
			if members, err = tx.FindTeamMembers(ctx, a.orgID, ids...); err != nil {
				return nil, err
			}
		}
		for _, t := range teams {
			out.Teams = append(out.Teams, ProvisionedTeam{Team: t, Members: members[t.ID]})
		}
		return &out, nil
	})
}

// FindProvisionedTeam returns a team of the org and, if members, its
// members, for Owners, Admins and SCIM tokens.
func (s *Service) FindProvisionedTeam(ctx context.Context, teamID int64, members bool) (*ProvisionedTeam, error) {
	return readAs(ctx, s, loadAdmin, func(tx *txn, a *actor) (*ProvisionedTeam, error) {
		t, err := tx.FindTeam(ctx, a.orgID, teamID)
		if err != nil {
			return nil, err
		}
		if !members {
			return &ProvisionedTeam{Team: t}, nil
		}
		return teamWithMembers(ctx, tx, t)
	})
}

// TeamDraft is a team as an identity provider writes it (a SCIM group):
// each field as it should be after the request.
type TeamDraft struct {
	Name       string
	ExternalID string
	// Members are the ids of the Pending and Active users who have the team
	// as primary or secondary team.
	Members []int64
}

// ProvisionTeam creates a team with its external ID and members, for
// Owners, Admins and SCIM tokens: each member gets the team as a
// secondary team (TEAM-2 for the name).
func (s *Service) ProvisionTeam(ctx context.Context, d TeamDraft) (*ProvisionedTeam, error) {
	var out *ProvisionedTeam
	err := s.update(ctx, func(tx *txn) error {
		a, err := loadAdmin(ctx, tx)
		if err != nil {
			return err
		}
		name, err := checkTeamName(ctx, tx, a.orgID, 0, d.Name)
		if err != nil {
			return err
		}
		externalID, err := cleanExternalID(d.ExternalID)
		if err != nil {
			return err
		}
		team := &muster.Team{OrgID: a.orgID, Name: name, ExternalID: externalID, CreatedAt: tx.now}
		if err := tx.CreateTeam(ctx, team); err != nil {
			return err
		}
		after := map[string]any{"name": team.Name}
		if externalID != "" {
			after["external_id"] = externalID
		}
		if err := tx.audit(ctx, a, muster.ActionTeamCreated, muster.TargetTeam, team.ID, team.Name, nil, after); err != nil {
			return err
		}
		if _, err := s.changeMembers(ctx, tx, a, team, nil, d.Members); err != nil {
			return err
		}
		out, err = teamWithMembers(ctx, tx, team)
		return err
	})
	return out, err
}

// cleanExternalID trims and validates an identity provider's id.
func cleanExternalID(id string) (string, error) {
	id = strings.TrimSpace(id)
	var v muster.Validation
	checkExternalID(&v, id)
	return id, v.Err()
}

// teamWithMembers is t with its members.
func teamWithMembers(ctx context.Context, tx muster.Tx, t *muster.Team) (*ProvisionedTeam, error) {
	members, err := tx.FindTeamMembers(ctx, t.OrgID, t.ID)
	if err != nil {
		return nil, err
	}
	return &ProvisionedTeam{Team: t, Members: members[t.ID]}, nil
}

// ChangeProvisionedTeam changes a team as an identity provider asks (SCIM
// PUT and PATCH of a group): edit turns the team's draft into what it
// should be, and the difference is made in one transaction — members
// added get the team as a secondary team (unless it is their primary
// team), members removed lose it (a primary team is replaced by the
// Default Team), each an edit of the user under the console's rules; then
// the rename (not of the Default Team, TEAM-4) and the external ID. A
// non-zero ifVersion refuses the change with ESTALE unless the team is
// still at that version.
func (s *Service) ChangeProvisionedTeam(ctx context.Context, teamID, ifVersion int64,
	edit func(*TeamDraft) error) (*ProvisionedTeam, error) {
	var out *ProvisionedTeam
	err := s.update(ctx, func(tx *txn) error {
		a, err := loadAdmin(ctx, tx)
		if err != nil {
			return err
		}
		// Locked against other edits of the group, which would each hold a
		// share of the row and then both wait to rename it; not against the
		// members' edits, which refer to the team (their count changes) as
		// a deactivation does after locking its user, so that the two never
		// wait for each other.
		team, err := tx.FindTeamToEdit(ctx, a.orgID, teamID)
		if err != nil {
			return err
		}
		if err := checkVersion("team", ifVersion, team.Version); err != nil {
			return err
		}
		members, err := tx.FindTeamMembers(ctx, a.orgID, team.ID)
		if err != nil {
			return err
		}
		cur := TeamDraft{Name: team.Name, ExternalID: team.ExternalID, Members: memberIDs(members[team.ID])}
		d := cur
		d.Members = slices.Clone(cur.Members)
		if err := edit(&d); err != nil {
			return err
		}
		changed, err := s.changeMembers(ctx, tx, a, team, cur.Members, d.Members)
		if err != nil {
			return err
		}
		if changed {
			// The members are part of the group: a provider's If-Match
			// read before this change must no longer match.
			team.UpdatedAt = tx.now
			if err := tx.MarkTeamMembersChanged(ctx, team); err != nil {
				return err
			}
		}
		if muster.CleanName(d.Name) != team.Name {
			if team.IsDefault {
				return errDefaultTeam("renamed")
			}
			if err := renameTeam(ctx, tx, a, team, d.Name); err != nil {
				return err
			}
		}
		if d.ExternalID != cur.ExternalID {
			externalID, err := cleanExternalID(d.ExternalID)
			if err != nil {
				return err
			}
			if externalID != team.ExternalID {
				before := team.ExternalID
				team.UpdatedAt = tx.now
				if err := tx.SetTeamExternalID(ctx, team, externalID); err != nil {
					return err
				}
				if err := tx.audit(ctx, a, muster.ActionTeamExternalIDChanged, muster.TargetTeam, team.ID, team.Name,
					map[string]any{"external_id": before}, map[string]any{"external_id": externalID}); err != nil {
					return err
				}
			}
		}
		out, err = teamWithMembers(ctx, tx, team)
		return err
	})
	return out, err
}

func memberIDs(members []muster.Member) []int64 {
	ids := make([]int64, len(members))
	for i, m := range members {
		ids[i] = m.UserID
	}
	return ids
}

// changeMembers makes the team's members, which were old, be new, and
// reports whether any user's teams changed: each
// user added or removed is edited under the console's rules (editUsers),
// after all of them are locked in id order, so that no transaction that
// also changes one of them (and then the team's counts) waits for this
// one while it waits for that one. The users are read, checked and written
// together, in a few statements for a group of any size.
func (s *Service) changeMembers(ctx context.Context, tx *txn, a *actor, team *muster.Team, old, new []int64) (bool, error) {
	was := make(map[int64]bool, len(old))
	for _, id := range old {
		was[id] = true
	}
	is := make(map[int64]bool, len(new))
	var changed []int64
	for _, id := range new {
		if !was[id] && !is[id] {
			changed = append(changed, id)
		}
		is[id] = true
	}
	for _, id := range old {
		if !is[id] {
			changed = append(changed, id)
		}
	}
	if len(changed) == 0 {
		return false, nil
	}
	slices.Sort(changed)
	users, err := tx.LockUsers(ctx, a.orgID, changed)
	if err != nil {
		return false, err
	}
	// users are those of changed that the org has, in the same order. An
	// id of no user is refused first, whatever else the change holds.
	for i, id := range changed {
		if i >= len(users) || users[i].ID != id || !users[i].SCIMDeletedAt.IsZero() {
			return false, muster.Errorf(muster.ENOTFOUND, "The organization has no user with the id %d to make a member of %s.",
				id, team.Name)
		}
		// SCIM shows a withdrawn user (active false), so the user is
		// there: the change conflicts with their state, as a deactivated
		// user's does.
		if users[i].Status == muster.StatusWithdrawn {
			return false, muster.Errorf(muster.ECONFLICT, "The user with the id %d was withdrawn and is in no team: "+
				"set active to true to invite them again first.", id)
		}
	}
	var def *muster.Team
	edits := make([]userEdit, 0, len(users))
	for _, u := range users {
		id := u.ID
		var upd UserUpdate
		switch {
		case is[id]:
			if u.PrimaryTeamID == team.ID || slices.Contains(u.SecondaryTeamIDs, team.ID) {
				continue
			}
			secondaries := append(slices.Clone(u.SecondaryTeamIDs), team.ID)
			upd.SecondaryTeamIDs = &secondaries
		case u.PrimaryTeamID == team.ID:
			if team.IsDefault {
				return false, muster.Errorf(muster.ECONFLICT, "%s can't leave the Default Team: it is their primary team, "+
					"and everyone has one. Give them another primary team first.", u.Email)
			}
			if def == nil {
				if def, err = tx.FindDefaultTeam(ctx, a.orgID); err != nil {
					return false, err
				}
			}
			upd.PrimaryTeamID = &def.ID
		default:
			secondaries := slices.DeleteFunc(slices.Clone(u.SecondaryTeamIDs), func(t int64) bool { return t == team.ID })
			upd.SecondaryTeamIDs = &secondaries
		}
		edits = append(edits, userEdit{u, upd})
	}
	return len(edits) > 0, s.editUsers(ctx, tx, a, edits, aboutUser)
}

// aboutUser puts the user's email before a refusal's message, so that an
// administrator knows which of many members it is about.
func aboutUser(u *muster.User, err error) error {
	var e *muster.Error
	if !errors.As(err, &e) {
		return err
	}
	c := *e
	c.Message = u.Email + ": " + e.Message
	return &c
}
