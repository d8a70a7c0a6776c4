package sqlstore

import (
	"context"
	"database/sql"

	"github.com/muster-app/muster/internal/muster"
)

const teamColumns = `id, org_id, name, is_default, created_at`

// teamOrder is the order of team lists: the Default Team, then by name.
const teamOrder = `t.is_default DESC, t.name_key, t.id`

func scanTeam(row interface{ Scan(...any) error }, t *muster.Team, extra ...any) error {
	return row.Scan(append([]any{&t.ID, &t.OrgID, &t.Name, &t.IsDefault, nullTime{&t.CreatedAt}}, extra...)...)
}

// CreateTeam implements muster.Tx.
func (tx *Tx) CreateTeam(ctx context.Context, team *muster.Team) error {
	id, err := tx.insert(ctx, `INSERT INTO teams (org_id, name, name_key, is_default, created_at)
		VALUES ($1, $2, $3, $4, $5)`,
		team.OrgID, team.Name, muster.SearchKey(team.Name), team.IsDefault, micros(team.CreatedAt))
	team.ID = id
	return err
}

// FindTeam implements muster.Tx.
func (tx *Tx) FindTeam(ctx context.Context, orgID, id int64) (*muster.Team, error) {
	return tx.findTeam(ctx, tx.forUpdate(), `org_id = $1 AND id = $2`, orgID, id)
}

// FindTeamShared implements muster.Tx. The share lock keeps a team chosen
// for a membership from being removed before the membership is written (a
// removal waits for such a write, then counts it), while invitations into
// the same team go on side by side.
func (tx *Tx) FindTeamShared(ctx context.Context, orgID, id int64) (*muster.Team, error) {
	return tx.findTeam(ctx, tx.forShare(), `org_id = $1 AND id = $2`, orgID, id)
}

// FindTeamByName implements muster.Tx.
func (tx *Tx) FindTeamByName(ctx context.Context, orgID int64, name string) (*muster.Team, error) {
	return tx.findTeam(ctx, tx.forUpdate(), `org_id = $1 AND name_key = $2`, orgID, muster.SearchKey(name))
}

// FindDefaultTeam implements muster.Tx. It takes no lock: the Default Team
// is never changed or removed. (A lock here, taken by a team's removal
// after the team's, waited for invitations that share-lock the Default
// Team and then the removed one: a deadlock.)
func (tx *Tx) FindDefaultTeam(ctx context.Context, orgID int64) (*muster.Team, error) {
	return tx.findTeam(ctx, "", `org_id = $1 AND is_default`, orgID)
}

// findTeam reads one team, locking its row as lock says.
func (tx *Tx) findTeam(ctx context.Context, lock, where string, args ...any) (*muster.Team, error) {
	var t muster.Team
	row := tx.queryRow(ctx, `SELECT `+teamColumns+` FROM teams WHERE `+where+lock, args...)
	if err := scanTeam(row, &t); err != nil {
		return nil, notFound(err, "Team")
	}
	return &t, nil
}

// FindTeams implements muster.Tx. The counts are every membership of the
// org's teams, read from memberships_team alone, less the memberships of
// the org's users who are neither Pending nor Active (Deactivated and
// Withdrawn, the other statuses users.status allows), which are few: so
// only those users' memberships cost a lookup (in the memberships key, which
// holds kind), not every member's. A membership only ever joins a user to a
// team of the user's own org. It still reads every membership: O(users).
func (tx *Tx) FindTeams(ctx context.Context, orgID int64) ([]*muster.Team, error) {
	rows, err := tx.query(ctx, `
		SELECT t.id, t.org_id, t.name, t.is_default, t.created_at,
			coalesce(sum(CASE WHEN c.kind = 'primary' THEN c.n END), 0),
			coalesce(sum(CASE WHEN c.kind = 'secondary' THEN c.n END), 0)
		FROM teams t
		LEFT JOIN (
			SELECT m.team_id, m.kind, count(*) AS n
			FROM memberships m
			WHERE m.team_id IN (SELECT id FROM teams WHERE org_id = $1)
			GROUP BY m.team_id, m.kind
			UNION ALL
			SELECT m.team_id, m.kind, -count(*)
			FROM users u CROSS JOIN memberships m
			WHERE u.org_id = $1 AND u.status IN ('deactivated', 'withdrawn') AND m.user_id = u.id
			GROUP BY m.team_id, m.kind
		) c ON c.team_id = t.id
		WHERE t.org_id = $1
		GROUP BY t.id, t.org_id, t.name, t.is_default, t.created_at, t.name_key
		ORDER BY `+teamOrder, orgID)
	if err != nil {
		return nil, err
	}
	return scanTeams(rows, true)
}

// RenameTeam implements muster.Tx.
func (tx *Tx) RenameTeam(ctx context.Context, orgID, id int64, name string) error {
	_, err := tx.exec(ctx, `UPDATE teams SET name = $3, name_key = $4 WHERE org_id = $1 AND id = $2`,
		orgID, id, name, muster.SearchKey(name))
	return err
}

// DeleteTeam implements muster.Tx.
func (tx *Tx) DeleteTeam(ctx context.Context, orgID, id, moveTo int64) error {
	// A user whose primary team is moveTo and who also had it as secondary
	// would then hold it twice: drop that secondary first.
	steps := []struct {
		query string
		args  []any
	}{
		{`DELETE FROM memberships WHERE team_id = $1 AND kind = 'secondary'`, []any{id}},
		{`DELETE FROM memberships WHERE team_id = $2 AND kind = 'secondary'
			AND user_id IN (SELECT user_id FROM memberships WHERE team_id = $1 AND kind = 'primary')`, []any{id, moveTo}},
		{`UPDATE memberships SET team_id = $2 WHERE team_id = $1 AND kind = 'primary'`, []any{id, moveTo}},
		{`DELETE FROM teams WHERE org_id = $1 AND id = $2`, []any{orgID, id}},
	}
	for _, s := range steps {
		if _, err := tx.exec(ctx, s.query, s.args...); err != nil {
			return err
		}
	}
	return nil
}

// CountPrimaryHolders implements muster.Tx.
func (tx *Tx) CountPrimaryHolders(ctx context.Context, teamID int64) (int, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id
		WHERE m.team_id = $1 AND m.kind = 'primary' AND u.status IN ('pending', 'active')`, teamID).Scan(&n)
	return n, err
}

// FindTeamList implements muster.Tx.
func (tx *Tx) FindTeamList(ctx context.Context, orgID int64) ([]*muster.Team, error) {
	rows, err := tx.query(ctx, `SELECT `+teamColumns+` FROM teams t WHERE t.org_id = $1 ORDER BY `+teamOrder, orgID)
	if err != nil {
		return nil, err
	}
	return scanTeams(rows, false)
}

// scanTeams reads rows of teamColumns, followed by the member counts when
// counted, and closes rows.
func scanTeams(rows *sql.Rows, counted bool) ([]*muster.Team, error) {
	defer rows.Close()
	var teams []*muster.Team
	for rows.Next() {
		var t muster.Team
		var counts []any
		if counted {
			counts = []any{&t.PrimaryCount, &t.SecondaryCount}
		}
		if err := scanTeam(rows, &t, counts...); err != nil {
			return nil, err
		}
		teams = append(teams, &t)
	}
	return teams, rows.Err()
}
