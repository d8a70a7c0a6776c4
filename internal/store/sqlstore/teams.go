package sqlstore

import (
	"context"
	"maps"
	"slices"

	"github.com/muster-app/muster/internal/muster"
)

const teamColumns = `t.id, t.org_id, t.name, t.is_default, t.created_at, t.version, t.primary_count, t.secondary_count,
	t.external_id`

// teamOrder is the order of team lists: the Default Team, then by name.
const teamOrder = `t.is_default DESC, t.name_key, t.id`

func scanTeam(row interface{ Scan(...any) error }, t *muster.Team) error {
	return row.Scan(&t.ID, &t.OrgID, &t.Name, &t.IsDefault, nullTime{&t.CreatedAt}, &t.Version, &t.PrimaryCount,
		&t.SecondaryCount, &t.ExternalID)
}

// CreateTeam implements muster.Tx.
func (tx *Tx) CreateTeam(ctx context.Context, team *muster.Team) error {
	id, err := tx.insert(ctx, `INSERT INTO teams (org_id, name, name_key, is_default, created_at, external_id)
		VALUES ($1, $2, $3, $4, $5, $6)`,
		team.OrgID, team.Name, muster.SearchKey(team.Name), team.IsDefault, micros(team.CreatedAt), team.ExternalID)
	team.ID, team.Version = id, 1
	return err
}

// FindTeam implements muster.Tx.
func (tx *Tx) FindTeam(ctx context.Context, orgID, id int64) (*muster.Team, error) {
	return tx.findTeam(ctx, tx.forUpdate(), `t.org_id = $1 AND t.id = $2`, orgID, id)
}

// FindTeamShared implements muster.Tx. The share lock keeps a team chosen
// for a membership from being removed before the membership is written (a
// removal waits for such a write, then counts it), while invitations into
// the same team go on side by side.
func (tx *Tx) FindTeamShared(ctx context.Context, orgID, id int64) (*muster.Team, error) {
	return tx.findTeam(ctx, tx.forShare(), `t.org_id = $1 AND t.id = $2`, orgID, id)
}

// ShareTeams implements muster.Tx.
func (tx *Tx) ShareTeams(ctx context.Context, orgID int64, ids []int64) ([]int64, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	list, args := inList(anySlice(ids))
	// The org is the last argument, after the padded list.
	args = append(args, orgID)
	rows, err := tx.query(ctx, `SELECT t.id FROM teams t WHERE t.id IN (`+list+`) AND t.org_id = $`+itoa(len(args))+
		` ORDER BY t.id`+tx.forShare(), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var found []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		found = append(found, id)
	}
	return found, rows.Err()
}

// FindTeamByName implements muster.Tx.
func (tx *Tx) FindTeamByName(ctx context.Context, orgID int64, name string) (*muster.Team, error) {
	return tx.findTeam(ctx, tx.forUpdate(), `t.org_id = $1 AND t.name_key = $2`, orgID, muster.SearchKey(name))
}

// FindDefaultTeam implements muster.Tx. It takes no lock: the Default Team
// is never changed or removed. (A lock here, taken by a team's removal
// after the team's, waited for invitations that share-lock the Default
// Team and then the removed one: a deadlock.)
func (tx *Tx) FindDefaultTeam(ctx context.Context, orgID int64) (*muster.Team, error) {
	return tx.findTeam(ctx, "", `t.org_id = $1 AND t.is_default`, orgID)
}

// findTeam reads one team, locking its row as lock says.
func (tx *Tx) findTeam(ctx context.Context, lock, where string, args ...any) (*muster.Team, error) {
	if err := tx.flushCounts(ctx); err != nil {
		return nil, err
	}
	var t muster.Team
	row := tx.queryRow(ctx, `SELECT `+teamColumns+` FROM teams t WHERE `+where+lock, args...)
	if err := scanTeam(row, &t); err != nil {
		return nil, notFound(err, "Team")
	}
	return &t, nil
}

// FindTeams implements muster.Tx.
func (tx *Tx) FindTeams(ctx context.Context, orgID int64) ([]*muster.Team, error) {
	if err := tx.flushCounts(ctx); err != nil {
		return nil, err
	}
	rows, err := tx.query(ctx, `SELECT `+teamColumns+` FROM teams t WHERE t.org_id = $1 ORDER BY `+teamOrder, orgID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var teams []*muster.Team
	for rows.Next() {
		var t muster.Team
		if err := scanTeam(rows, &t); err != nil {
			return nil, err
		}
		teams = append(teams, &t)
	}
	return teams, rows.Err()
}

// RenameTeam implements muster.Tx.
func (tx *Tx) RenameTeam(ctx context.Context, team *muster.Team, name string) error {
	err := tx.queryRow(ctx, `UPDATE teams SET name = $3, name_key = $4, version = version + 1
		WHERE org_id = $1 AND id = $2 RETURNING version`,
		team.OrgID, team.ID, name, muster.SearchKey(name)).Scan(&team.Version)
	if err != nil {
		return notFound(tx.mapError(err), "Team")
	}
	team.Name = name
	return nil
}

// SetTeamExternalID implements muster.Tx.
func (tx *Tx) SetTeamExternalID(ctx context.Context, team *muster.Team, externalID string) error {
	err := tx.queryRow(ctx, `UPDATE teams SET external_id = $3, version = version + 1
		WHERE org_id = $1 AND id = $2 RETURNING version`, team.OrgID, team.ID, externalID).Scan(&team.Version)
	if err != nil {
		return notFound(tx.mapError(err), "Team")
	}
	team.ExternalID = externalID
	return nil
}

// FindTeamMembers implements muster.Tx. It reads the team's memberships
// from memberships_team, in user id order.
func (tx *Tx) FindTeamMembers(ctx context.Context, orgID, teamID int64) ([]muster.Member, error) {
	rows, err := tx.query(ctx, `SELECT u.id, u.first_name, u.last_name
		FROM memberships m CROSS JOIN users u
		WHERE m.team_id = $2 AND u.id = m.user_id AND u.org_id = $1
			AND u.status IN ('pending', 'active') AND u.scim_deleted_at IS NULL
		ORDER BY u.id`, orgID, teamID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []muster.Member
	for rows.Next() {
		var u muster.User
		if err := rows.Scan(&u.ID, &u.FirstName, &u.LastName); err != nil {
			return nil, err
		}
		out = append(out, muster.Member{UserID: u.ID, Name: u.Name()})
	}
	return out, rows.Err()
}

// memberCounts are changes to a team's counts of Pending and Active members.
type memberCounts struct{ primary, secondary int }

// countMembers notes changes to teams' member counts, which the
// transaction writes just before it commits (flushCounts): a count's row is
// then locked, on PostgreSQL, for the commit alone, as the org's seat
// counter is (TakeSeat comes last, ReleaseSeat is written with the counts),
// rather than from the membership's write on, which made every invitation
// into one team wait for the one before it to finish.
func (tx *Tx) countMembers(_ context.Context, changes map[int64]memberCounts) error {
	if tx.counts == nil {
		tx.counts = map[int64]memberCounts{}
	}
	for id, c := range changes {
		p := tx.counts[id]
		p.primary += c.primary
		p.secondary += c.secondary
		tx.counts[id] = p
	}
	return nil
}

// flushCounts writes the seats freed (ReleaseSeat) and the member counts
// noted so far: each org's seats first, then the teams in increasing id
// order, as every transaction that counts does (an invitation locks its
// org's seats row when it takes its seat, before its counts), so that two
// never wait for each other. On PostgreSQL an org's seats and the counts
// are one statement. A read of teams in the transaction flushes first, so
// that it sees them.
func (tx *Tx) flushCounts(ctx context.Context) error {
	ids, primary, secondary := tx.pendingCounts()
	released := tx.released
	tx.counts, tx.released = nil, nil
	for _, org := range slices.Sorted(maps.Keys(released)) {
		n := released[org]
		if n == 0 {
			continue
		}
		if len(ids) > 0 && tx.dialect.OneStatementWrites {
			if _, err := tx.exec(ctx, releaseSeatsCounting, ids, primary, secondary, org, n); err != nil {
				return err
			}
			ids = nil
			continue
		}
		if _, err := tx.exec(ctx, `UPDATE org_seats SET seats_used = seats_used - $2 WHERE org_id = $1`, org, n); err != nil {
			return err
		}
	}
	if len(ids) > 1 && tx.dialect.OneStatementWrites {
		_, err := tx.exec(ctx, addMemberCounts, ids, primary, secondary)
		return err
	}
	for i, id := range ids {
		if _, err := tx.exec(ctx, `UPDATE teams SET primary_count = primary_count + $2,
			secondary_count = secondary_count + $3 WHERE id = $1`, id, primary[i], secondary[i]); err != nil {
			return err
		}
	}
	return nil
}

// pendingCounts are the member counts noted and not yet written: the
// teams in id order and their changes, leaving out those that add up to
// nothing.
func (tx *Tx) pendingCounts() (ids, primary, secondary []int64) {
	for _, id := range slices.Sorted(maps.Keys(tx.counts)) {
		if c := tx.counts[id]; c != (memberCounts{}) {
			ids = append(ids, id)
			primary, secondary = append(primary, int64(c.primary)), append(secondary, int64(c.secondary))
		}
	}
	return ids, primary, secondary
}

// addMemberCounts adds to several teams' member counts in one statement
// (PostgreSQL; the ids, primary and secondary changes as three arrays),
// where each team would cost a round trip, spent holding the org's seat
// counter.
var addMemberCounts = `WITH ` + memberCountChanges("") + ` ` + addCountChanges

// addCountChanges adds the rows of memberCountChanges' change to their
// teams' counts.
const addCountChanges = `UPDATE teams t SET primary_count = t.primary_count + c.primary_change,
		secondary_count = t.secondary_count + c.secondary_change
	FROM change c JOIN locked l ON l.id = c.id
	WHERE t.id = c.id`

// memberCountChanges are the CTEs change (the ids, primary and secondary
// changes of $1, $2 and $3, as rows) and locked (their teams, locked in id
// order: a locking SELECT locks rows as it returns them, after its sort,
// where an UPDATE … FROM locks them in whatever order its join meets
// them). With after, the name of an earlier CTE, teams are locked only
// once it has returned a row, and so after what it locks.
func memberCountChanges(after string) string {
	gate := ""
	if after != "" {
		gate = ` AND EXISTS (SELECT FROM ` + after + `)`
	}
	return `change (id, primary_change, secondary_change) AS (
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[])),
	locked AS (SELECT t.id FROM teams t WHERE t.id = ANY($1)` + gate + ` ORDER BY t.id FOR NO KEY UPDATE)`
}

// memberCountsAfter is addMemberCounts as CTEs of a statement (the last
// named counted), after the CTE after (see memberCountChanges).
func memberCountsAfter(after string) string {
	return memberCountChanges(after) + `,
	counted AS (` + addCountChanges + `)`
}

// addMemberships adds sign (1 or -1) to changes for each of u's
// memberships.
func addMemberships(changes map[int64]memberCounts, u *muster.User, sign int) {
	if u.PrimaryTeamID != 0 {
		c := changes[u.PrimaryTeamID]
		c.primary += sign
		changes[u.PrimaryTeamID] = c
	}
	for _, id := range u.SecondaryTeamIDs {
		c := changes[id]
		c.secondary += sign
		changes[id] = c
	}
}

// DeleteTeam implements muster.Tx.
func (tx *Tx) DeleteTeam(ctx context.Context, orgID, id, moveTo int64) error {
	// A user whose primary team is moveTo and who also had it as secondary
	// would then hold it twice: drop that secondary first. The members'
	// teams columns are written first, as the memberships will be, and
	// their versions grow: their teams are part of what their ETags stand
	// for.
	steps := []struct {
		query string
		args  []any
	}{
		{`UPDATE users SET teams = (SELECT string_agg(CASE m.kind WHEN 'primary' THEN 'p' ELSE '' END
				|| CASE m.team_id WHEN $2 THEN $3 ELSE m.team_id END, ',')
			FROM memberships m WHERE m.user_id = users.id
				AND NOT (m.kind = 'secondary' AND m.team_id = $2)
				AND NOT (m.kind = 'secondary' AND m.team_id = $3 AND EXISTS (SELECT 1 FROM memberships p
					WHERE p.user_id = users.id AND p.team_id = $2 AND p.kind = 'primary'))),
				version = version + 1
			WHERE org_id = $1 AND id IN (SELECT user_id FROM memberships WHERE team_id = $2)`, []any{orgID, id, moveTo}},
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
