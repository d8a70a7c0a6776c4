package service

import (
	"context"
	"fmt"

	"github.com/muster-app/muster/internal/muster"
)

// Teams lists the org's teams, the Default Team first, with the number of
// Pending and Active users who have each as primary and secondary team: the
// Teams tab, for Owners and Admins (TEAM-1).
func (s *Service) Teams(ctx context.Context) ([]*muster.Team, error) {
	return s.listTeams(ctx, muster.Tx.FindTeams)
}

// TeamList lists the org's teams like Teams, without the member counts,
// for Owners and Admins: for pages that only name teams (the Users tab,
// the invite and edit forms), since the counts read every membership.
func (s *Service) TeamList(ctx context.Context) ([]*muster.Team, error) {
	return s.listTeams(ctx, muster.Tx.FindTeamList)
}

func (s *Service) listTeams(ctx context.Context,
	find func(muster.Tx, context.Context, int64) ([]*muster.Team, error)) ([]*muster.Team, error) {
	var teams []*muster.Team
	err := s.view(ctx, func(tx muster.Tx) error {
		a, err := loadAdmin(ctx, tx)
		if err != nil {
			return err
		}
		teams, err = find(tx, ctx, a.orgID)
		return err
	})
	return teams, err
}

// MyTeams returns the signed-in user's primary team and then their
// secondary teams: what everyone sees of teams on their own profile.
func (s *Service) MyTeams(ctx context.Context) (primary *muster.Team, secondaries []*muster.Team, err error) {
	err = s.view(ctx, func(tx muster.Tx) error {
		a, err := loadUser(ctx, tx)
		if err != nil {
			return err
		}
		if primary, err = tx.FindTeam(ctx, a.orgID, a.user.PrimaryTeamID); err != nil {
			return err
		}
		for _, id := range a.user.SecondaryTeamIDs {
			t, err := tx.FindTeam(ctx, a.orgID, id)
			if err != nil {
				return err
			}
			secondaries = append(secondaries, t)
		}
		return nil
	})
	return primary, secondaries, err
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
	err := s.update(ctx, func(tx muster.Tx) error {
		a, err := loadAdmin(ctx, tx)
		if err != nil {
			return err
		}
		if name, err = checkTeamName(ctx, tx, a.orgID, 0, name); err != nil {
			return err
		}
		now := s.now()
		team = &muster.Team{OrgID: a.orgID, Name: name, CreatedAt: now}
		if err := tx.CreateTeam(ctx, team); err != nil {
			return err
		}
		return s.audit(ctx, tx, a, now, muster.ActionTeamCreated, "team", team.ID, team.Name, nil,
			map[string]any{"name": team.Name})
	})
	return team, err
}

// loadEditableTeam finds a team of the actor's org that is not the Default
// Team (TEAM-4).
func loadEditableTeam(ctx context.Context, tx muster.Tx, a *actor, teamID int64, verb string) (*muster.Team, error) {
	team, err := tx.FindTeam(ctx, a.orgID, teamID)
	if err != nil {
		return nil, err
	}
	if team.IsDefault {
		return nil, muster.Errorf(muster.EFORBIDDEN, "The Default Team can't be %s.", verb)
	}
	return team, nil
}

// RenameTeam renames a team other than the Default Team.
func (s *Service) RenameTeam(ctx context.Context, teamID int64, name string) (*muster.Team, error) {
	var team *muster.Team
	err := s.update(ctx, func(tx muster.Tx) error {
		a, err := loadAdmin(ctx, tx)
		if err != nil {
			return err
		}
		if team, err = loadEditableTeam(ctx, tx, a, teamID, "renamed"); err != nil {
			return err
		}
		if name, err = checkTeamName(ctx, tx, a.orgID, team.ID, name); err != nil {
			return err
		}
		if name == team.Name {
			return nil
		}
		before := team.Name
		if err := tx.RenameTeam(ctx, a.orgID, team.ID, name); err != nil {
			return err
		}
		team.Name = name
		return s.audit(ctx, tx, a, s.now(), muster.ActionTeamRenamed, "team", team.ID, team.Name,
			map[string]any{"name": before}, map[string]any{"name": team.Name})
	})
	return team, err
}

// RemoveTeam removes a team other than the Default Team. It is refused while
// any Pending or Active user has it as primary team; secondary memberships
// are dropped and deactivated users whose primary it was move to the Default
// Team (TEAM-3).
func (s *Service) RemoveTeam(ctx context.Context, teamID int64) error {
	return s.update(ctx, func(tx muster.Tx) error {
		a, err := loadAdmin(ctx, tx)
		if err != nil {
			return err
		}
		team, err := loadEditableTeam(ctx, tx, a, teamID, "removed")
		if err != nil {
			return err
		}
		n, err := tx.CountPrimaryHolders(ctx, team.ID)
		if err != nil {
			return err
		}
		if n > 0 {
			users := "users have"
			if n == 1 {
				users = "user has"
			}
			return &muster.Error{Code: muster.ECONFLICT, Reason: "team_in_use",
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
		return s.audit(ctx, tx, a, s.now(), muster.ActionTeamRemoved, "team", team.ID, team.Name,
			map[string]any{"name": team.Name}, nil)
	})
}
