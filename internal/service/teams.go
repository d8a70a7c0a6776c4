package service

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/muster-app/muster/internal/muster"
)

// TeamListQuery selects a page of the org's teams for the API: those
// whose name contains Search (every team for ""), after Cursor (a page's
// NextCursor; empty for the first page), Limit of them (DefaultPageSize
// for 0, at most MaxPageSize).
type TeamListQuery struct {
	Search string
	Cursor string
	Limit  int
}

// TeamList is a page of the org's teams in the order of team lists, the
// Default Team first, each with its counts. NextCursor opens the page after
// it; empty on the last.
type TeamList struct {
	Teams      []*muster.Team
	NextCursor string
}

// Teams returns a page of the org's teams with the number of Pending and
// Active users who have each as primary and secondary team, for Owners and
// Admins (TEAM-1). Its cursor is a team's place in the order, so a page
// read after teams were added or removed before it neither repeats nor
// skips a team, however deep (an identity provider can push thousands).
// The Teams tab reads pages by number (FindTeamPage), the forms the names
// alone (TeamNames).
func (s *Service) Teams(ctx context.Context, q TeamListQuery) (*TeamList, error) {
	if err := checkSearch(q.Search); err != nil {
		return nil, err
	}
	after, err := decodeTeamCursor(q.Cursor)
	if err != nil {
		return nil, err
	}
	limit := pageLimit(q.Limit)
	sel := muster.Selection{Where: nameContains(q.Search), AfterTeam: after, Limit: limit + 1}
	return readAs(ctx, s, loadAdmin, func(tx *txn, a *actor) (*TeamList, error) {
		sel.OrgID = a.orgID
		teams, err := tx.SelectTeams(ctx, sel)
		if err != nil {
			return nil, err
		}
		if len(teams) <= limit {
			return &TeamList{Teams: teams}, nil
		}
		return &TeamList{Teams: teams[:limit], NextCursor: encodeTeamCursor(teamCursorOf(teams[limit-1]))}, nil
	})
}

// teamCursorOf is the place of t in the order of team lists.
func teamCursorOf(t *muster.Team) muster.TeamCursor {
	if t.IsDefault {
		return muster.TeamCursor{Default: true}
	}
	return muster.TeamCursor{NameKey: muster.SearchKey(t.Name)}
}

// nameContains is the condition of a search of teams by part of a name;
// nil, every team, for "".
func nameContains(search string) *muster.Condition {
	if search == "" {
		return nil
	}
	return &muster.Condition{Op: muster.CondContains, Attr: muster.AttrName, Value: search}
}

// teamCursorJSON is how a team cursor is encoded, in short names.
type teamCursorJSON struct {
	Default bool   `json:"d,omitempty"`
	NameKey string `json:"k,omitempty"`
}

func encodeTeamCursor(c muster.TeamCursor) string {
	b, _ := json.Marshal(teamCursorJSON{Default: c.Default, NameKey: c.NameKey})
	return base64.RawURLEncoding.EncodeToString(b)
}

// decodeTeamCursor reads a cursor of encodeTeamCursor; nil for "".
func decodeTeamCursor(s string) (*muster.TeamCursor, error) {
	if s == "" {
		return nil, nil
	}
	var c teamCursorJSON
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	// The key goes to the store as text: a cursor made up to hold NUL or
	// invalid UTF-8 is refused here, not by PostgreSQL. A team's key is
	// never empty, and the Default Team's cursor needs none.
	if err != nil || c.Default == (c.NameKey != "") || muster.TextProblem(c.NameKey) != "" {
		return nil, muster.BadCursor()
	}
	return &muster.TeamCursor{Default: c.Default, NameKey: c.NameKey}, nil
}

// TeamsPerPage is how many teams a page of the Teams tab lists.
const TeamsPerPage = 50

// TeamQuery selects a page of the Teams tab: the teams whose name contains
// Search (every team for ""), its page Page (from 1).
type TeamQuery struct {
	Search string
	Page   int
}

// TeamPage is a page of the org's teams in the order of Teams, each with
// its counts: Offset teams come before it, of Total the search selects.
type TeamPage struct {
	Teams         []*muster.Team
	Offset, Total int
}

// FindTeamPage returns a page of the org's teams, for Owners and Admins
// (TEAM-1): an org whose identity provider pushes its groups can have
// thousands. A page is found by its offset, as SCIM's pages of groups are,
// through the same statement: an org's teams are few enough for the index
// walk to the deepest page to cost little (docs/benchmarks.md).
func (s *Service) FindTeamPage(ctx context.Context, q TeamQuery) (*TeamPage, error) {
	if err := checkSearch(q.Search); err != nil {
		return nil, err
	}
	// A page past any org's teams selects none; the bound keeps the
	// offset from overflowing.
	const maxPage = 1_000_000
	sel := muster.Selection{Where: nameContains(q.Search), Limit: TeamsPerPage,
		Offset: (min(max(q.Page, 1), maxPage) - 1) * TeamsPerPage}
	return readAs(ctx, s, loadAdmin, func(tx *txn, a *actor) (*TeamPage, error) {
		sel.OrgID = a.orgID
		page := &TeamPage{Offset: sel.Offset}
		var err error
		page.Teams, page.Total, err = selectPage(ctx, sel, tx.SelectTeams, tx.CountSelectedTeams)
		return page, err
	})
}

// TeamNames lists the names of the org's teams in the order of Teams, for
// Owners and Admins: the choices of the forms, without the counts.
func (s *Service) TeamNames(ctx context.Context) ([]muster.TeamName, error) {
	return readAs(ctx, s, loadAdmin, func(tx *txn, a *actor) ([]muster.TeamName, error) {
		return tx.FindTeamNames(ctx, a.orgID)
	})
}

// Team returns one team of the org with its member counts, for Owners and
// Admins.
func (s *Service) Team(ctx context.Context, id int64) (*muster.Team, error) {
	return readAs(ctx, s, loadAdmin, func(tx *txn, a *actor) (*muster.Team, error) {
		return tx.FindTeam(ctx, a.orgID, id)
	})
}

// FindRenamableTeam returns a team of the actor's org that may be renamed:
// the subject of the rename form, which the Default Team has not (TEAM-4).
func (s *Service) FindRenamableTeam(ctx context.Context, id int64) (*muster.Team, error) {
	return readAs(ctx, s, loadAdmin, func(tx *txn, a *actor) (*muster.Team, error) {
		return loadEditableTeam(ctx, tx, a, id, "renamed")
	})
}

// MyTeams returns the signed-in user's primary team and then their
// secondary teams: what everyone sees of teams on their own profile.
func (s *Service) MyTeams(ctx context.Context) (primary *muster.Team, secondaries []*muster.Team, err error) {
	err = s.view(ctx, func(tx *txn) error {
		a, err := loadUser(ctx, tx)
		if err != nil {
			return err
		}
		primary, secondaries, err = userTeams(ctx, tx, a.user)
		return err
	})
	return primary, secondaries, err
}

// userTeams reads u's primary team and secondary teams.
func userTeams(ctx context.Context, tx muster.Tx, u *muster.User) (primary *muster.Team, secondaries []*muster.Team, err error) {
	teams, err := usersTeams(ctx, tx, u.OrgID, u)
	if err != nil {
		return nil, nil, err
	}
	for _, t := range teams {
		switch {
		case t.ID == u.PrimaryTeamID:
			primary = t
		case slices.Contains(u.SecondaryTeamIDs, t.ID):
			secondaries = append(secondaries, t)
		}
	}
	if primary == nil {
		return nil, nil, muster.Errorf(muster.ENOTFOUND, "Team not found.")
	}
	return primary, secondaries, nil
}

// usersTeams reads the teams of users, primary and secondary: the org's
// teams among theirs, not every team of the org, which an org whose
// identity provider pushes its groups may have by the thousand.
func usersTeams(ctx context.Context, tx muster.Tx, orgID int64, users ...*muster.User) ([]*muster.Team, error) {
	var ids []int64
	for _, u := range users {
		ids = append(append(ids, u.PrimaryTeamID), u.SecondaryTeamIDs...)
	}
	slices.Sort(ids)
	return tx.FindTeamsByID(ctx, orgID, slices.Compact(ids))
}

// checkTeamName cleans and validates a team name and refuses one that
// another team of the org has, ignoring case (TEAM-2).
func checkTeamName(ctx context.Context, tx muster.Tx, orgID, teamID int64, name string) (string, error) {
	name = muster.CleanName(name)
	var v muster.Validation
	muster.CheckName(&v, muster.FieldName, "Team name", name)
	if err := v.Err(); err != nil {
		return "", err
	}
	other, err := tx.FindTeamByName(ctx, orgID, name)
	if muster.ErrorCode(err) == muster.ENOTFOUND {
		return name, nil
	} else if err != nil {
		return "", err
	}
	if other.ID == teamID {
		return name, nil
	}
	return "", muster.FieldErrorf(muster.ECONFLICT, muster.FieldName, "A team named %q already exists.", other.Name)
}

// CreateTeam creates a team.
func (s *Service) CreateTeam(ctx context.Context, name string) (*muster.Team, error) {
	var team *muster.Team
	err := change(ctx, s, &team, func(tx *txn) error {
		a, err := loadAdmin(ctx, tx)
		if err != nil {
			return err
		}
		cleaned, err := checkTeamName(ctx, tx, a.orgID, 0, name)
		if err != nil {
			return err
		}
		team = &muster.Team{OrgID: a.orgID, Name: cleaned, CreatedAt: tx.now}
		if err := tx.CreateTeam(ctx, team); err != nil {
			return err
		}
		return tx.audit(ctx, a, muster.ActionTeamCreated, muster.TargetTeam, team.ID, team.Name, nil,
			map[string]any{"name": team.Name})
	})
	return team, err
}

// loadEditableTeam finds a team of the actor's org that is not the Default
// Team (TEAM-4), locked for a change.
func loadEditableTeam(ctx context.Context, tx muster.Tx, a *actor, teamID int64, verb string) (*muster.Team, error) {
	team, err := tx.FindTeam(ctx, a.orgID, teamID)
	if err != nil {
		return nil, err
	}
	if team.IsDefault {
		return nil, errDefaultTeam(verb)
	}
	return team, nil
}

// errDefaultTeam refuses to change the Default Team (TEAM-4): verb is
// "renamed" or "removed".
func errDefaultTeam(verb string) error {
	return muster.Errorf(muster.EFORBIDDEN, "The Default Team can't be %s.", verb)
}

// RenameTeam renames a team other than the Default Team. A non-zero
// ifVersion refuses the change with ESTALE unless the team is still at that
// version (the API's If-Match).
func (s *Service) RenameTeam(ctx context.Context, teamID int64, name string, ifVersion int64) (*muster.Team, error) {
	var team *muster.Team
	err := s.update(ctx, func(tx *txn) error {
		a, err := loadAdmin(ctx, tx)
		if err != nil {
			return err
		}
		if team, err = loadEditableTeam(ctx, tx, a, teamID, "renamed"); err != nil {
			return err
		}
		if err := checkVersion("team", ifVersion, team.Version); err != nil {
			return err
		}
		return renameTeam(ctx, tx, a, team, name)
	})
	return team, err
}

// renameTeam renames team, which is not the Default Team (TEAM-4), to a
// name no other team of the org has (TEAM-2), with its audit event; the
// same name again changes nothing.
func renameTeam(ctx context.Context, tx *txn, a *actor, team *muster.Team, name string) error {
	name, err := checkTeamName(ctx, tx, a.orgID, team.ID, name)
	if err != nil || name == team.Name {
		return err
	}
	before := team.Name
	team.UpdatedAt = tx.now
	if err := tx.RenameTeam(ctx, team, name); err != nil {
		return err
	}
	return tx.audit(ctx, a, muster.ActionTeamRenamed, muster.TargetTeam, team.ID, team.Name,
		map[string]any{"name": before}, map[string]any{"name": team.Name})
}

// checkVersion refuses a change of a resource (named what) at version
// current unless ifVersion is zero or current.
func checkVersion(what string, ifVersion, current int64) error {
	if ifVersion != 0 && ifVersion != current {
		return muster.Errorf(muster.ESTALE, "The %s changed since you read it. Read it again and retry.", what)
	}
	return nil
}

// RemoveTeam removes a team other than the Default Team. It is refused while
// any Pending or Active user has it as primary team; secondary memberships
// are dropped and deactivated users whose primary it was move to the Default
// Team (TEAM-3). A non-zero ifVersion refuses it with ESTALE unless the
// team is still at that version.
func (s *Service) RemoveTeam(ctx context.Context, teamID, ifVersion int64) (*muster.Team, error) {
	var team *muster.Team
	err := s.update(ctx, func(tx *txn) error {
		a, err := loadAdmin(ctx, tx)
		if err != nil {
			return err
		}
		// Locked, the team's counts include every membership committed
		// before, and none can be added until the removal commits.
		if team, err = loadEditableTeam(ctx, tx, a, teamID, "removed"); err != nil {
			return err
		}
		if err := checkVersion("team", ifVersion, team.Version); err != nil {
			return err
		}
		return s.removeTeam(ctx, tx, a, team)
	})
	return team, err
}

// removeTeam removes team, locked in tx, unless Pending or Active users
// have it as their primary team.
func (s *Service) removeTeam(ctx context.Context, tx *txn, a *actor, team *muster.Team) error {
	if n := team.PrimaryCount; n > 0 {
		users := "users have"
		if n == 1 {
			users = "user has"
		}
		return &muster.Error{Code: muster.ECONFLICT, Reason: muster.ReasonTeamInUse,
			Message: fmt.Sprintf("%s can't be removed: %d %s it as their primary team. Move them to another team first.",
				team.Name, n, users)}
	}
	def, err := tx.FindDefaultTeam(ctx, a.orgID)
	if err != nil {
		return err
	}
	if err := tx.DeleteTeam(ctx, a.orgID, team.ID, def.ID); err != nil {
		return err
	}
	return tx.audit(ctx, a, muster.ActionTeamRemoved, muster.TargetTeam, team.ID, team.Name,
		map[string]any{"name": team.Name}, nil)
}

// TeamRemoval is what removing a team involves: the team, the Pending and
// Active users who have it as their primary team and so block its removal
// (counted, and listed up to MaxBulkUsers), and the other teams they can be
// moved to (TEAM-3).
type TeamRemoval struct {
	Team *muster.Team
	// Blockers are the users who have the team as primary team, by name;
	// BlockerCount counts them all.
	Blockers     []*muster.User
	BlockerCount int
	// Others are the org's other teams, where the blockers can move.
	Others []muster.TeamName
}

// FindTeamRemoval returns what removing a team involves, for Owners and
// Admins: the confirmation page of Remove.
func (s *Service) FindTeamRemoval(ctx context.Context, teamID int64) (*TeamRemoval, error) {
	return readAs(ctx, s, loadAdmin, func(tx *txn, a *actor) (*TeamRemoval, error) {
		team, err := loadEditableTeam(ctx, tx, a, teamID, "removed")
		if err != nil {
			return nil, err
		}
		out := &TeamRemoval{Team: team}
		if out.Blockers, err = primaryMembers(ctx, tx, a.orgID, team.ID); err != nil {
			return nil, err
		}
		out.BlockerCount = team.PrimaryCount
		teams, err := tx.FindTeamNames(ctx, a.orgID)
		if err != nil {
			return nil, err
		}
		out.Others = slices.DeleteFunc(teams, func(t muster.TeamName) bool { return t.ID == team.ID })
		return out, nil
	})
}

// primaryMembers lists, by name, up to MaxBulkUsers Pending and Active
// users whose primary team is teamID.
func primaryMembers(ctx context.Context, tx muster.Tx, orgID, teamID int64) ([]*muster.User, error) {
	users, err := tx.FindUsers(ctx, muster.UserFilter{OrgID: orgID, TeamID: teamID, PrimaryOnly: true, Limit: MaxBulkUsers + 1})
	return slices.DeleteFunc(users, func(u *muster.User) bool { return !u.Status.HoldsSeat() }), err
}

// MoveMembersAndRemoveTeam removes a team whose Pending and Active primary
// members block its removal, after making moveTo their primary team (and
// no longer a secondary one), in one transaction: each move is audited as
// an edit of the user, under the edit's rules (an Admin moves no Admin),
// then the removal. Up to MaxBulkUsers members are moved at once.
func (s *Service) MoveMembersAndRemoveTeam(ctx context.Context, teamID, moveTo int64) (*muster.Team, error) {
	var team *muster.Team
	err := s.update(ctx, func(tx *txn) error {
		a, err := loadAdmin(ctx, tx)
		if err != nil {
			return err
		}
		if team, err = loadEditableTeam(ctx, tx, a, teamID, "removed"); err != nil {
			return err
		}
		if moveTo == team.ID || moveTo == 0 {
			return muster.FieldErrorf(muster.EINVALID, muster.FieldPrimaryTeamID, "Choose another team to move them to.")
		}
		to, err := tx.FindTeamShared(ctx, a.orgID, moveTo)
		if muster.ErrorCode(err) == muster.ENOTFOUND {
			return muster.FieldErrorf(muster.EINVALID, muster.FieldPrimaryTeamID, "The chosen team does not exist. It may have been removed.")
		} else if err != nil {
			return err
		}
		members, err := primaryMembers(ctx, tx, a.orgID, team.ID)
		if err != nil {
			return err
		}
		if len(members) > MaxBulkUsers {
			return muster.Errorf(muster.ECONFLICT, "%s is the primary team of more than %d users: move them in steps "+
				"with the Users tab's bulk Change teams first.", team.Name, MaxBulkUsers)
		}
		ids := make([]int64, len(members))
		for i, m := range members {
			ids[i] = m.ID
		}
		users, err := tx.LockUsers(ctx, a.orgID, ids)
		if err != nil {
			return err
		}
		edits := make([]userEdit, 0, len(users))
		for _, u := range users {
			// As primaryMembers chose them, now that they are locked: one
			// who has left the team (or been deactivated) since it was read
			// is not moved; one who joined it since makes the removal below
			// refuse.
			if u.PrimaryTeamID != team.ID || !u.Status.HoldsSeat() {
				continue
			}
			secondaries := slices.DeleteFunc(slices.Clone(u.SecondaryTeamIDs), func(id int64) bool { return id == to.ID || id == team.ID })
			edits = append(edits, userEdit{u, UserUpdate{PrimaryTeamID: &to.ID, SecondaryTeamIDs: &secondaries}})
		}
		err = s.editUsers(ctx, tx, a, edits, func(u *muster.User, err error) error {
			return muster.Errorf(muster.ErrorCode(err), "%s can't be moved: %s", u.Name(), muster.ErrorMessage(err))
		})
		if err != nil {
			return err
		}
		// Read again: the moves changed its counts.
		if team, err = tx.FindTeam(ctx, a.orgID, team.ID); err != nil {
			return err
		}
		return s.removeTeam(ctx, tx, a, team)
	})
	return team, err
}
