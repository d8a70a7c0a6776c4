package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"maps"
	"slices"
	"strings"

	"github.com/muster-app/muster/internal/muster"
)

// A team's counts are its row's and its changes' not yet folded into them
// (see countMembers). A few teams' changes are summed by a subquery a team
// and count (teamColumns); the whole org's, by one sum of its changes
// (teamListColumns from teamList): PostgreSQL took four times as long to
// run two subqueries a team for an org of 2,000 teams (docs/benchmarks.md,
// round 17). The one sum reads every unfolded change of the org, up to a
// second's writes, so a read of a few teams does not use it.
const (
	teamColumns = `t.id, t.org_id, t.name, t.is_default, t.created_at, t.updated_at, t.version,
	t.primary_count + (SELECT coalesce(sum(c.primary_change), 0) FROM team_count_changes c WHERE c.team_id = t.id),
	t.secondary_count + (SELECT coalesce(sum(c.secondary_change), 0) FROM team_count_changes c WHERE c.team_id = t.id),
	t.external_id`
	teamListColumns = `t.id, t.org_id, t.name, t.is_default, t.created_at, t.updated_at, t.version,
	t.primary_count + coalesce(c.primary_change, 0), t.secondary_count + coalesce(c.secondary_change, 0), t.external_id`
)

// teamList is the teams table, as t, joined to the sums of the changes to
// the counts of the org's teams, the org being the first argument. The
// changes are few (DB.FoldTeamCounts folds them every second), so they are
// read first, each finding its team by id.
const teamList = `teams t LEFT JOIN (SELECT c.team_id, sum(c.primary_change) AS primary_change,
		sum(c.secondary_change) AS secondary_change
	FROM team_count_changes c CROSS JOIN teams ct WHERE ct.id = c.team_id AND ct.org_id = $1
	GROUP BY c.team_id) c ON c.team_id = t.id`

// teamOrder is the order of team lists: the Default Team, then by name.
const teamOrder = `t.is_default DESC, t.name_key, t.id`

func scanTeam(row interface{ Scan(...any) error }, t *muster.Team) error {
	return row.Scan(&t.ID, &t.OrgID, &t.Name, &t.IsDefault, nullTime{&t.CreatedAt}, nullTime{&t.UpdatedAt}, &t.Version, &t.PrimaryCount,
		&t.SecondaryCount, &t.ExternalID)
}

// CreateTeam implements muster.Tx.
func (tx *Tx) CreateTeam(ctx context.Context, team *muster.Team) error {
	id, err := tx.insert(ctx, `INSERT INTO teams (org_id, name, name_key, is_default, created_at, updated_at, external_id)
		VALUES ($1, $2, $3, $4, $5, $5, $6)`,
		team.OrgID, team.Name, muster.SearchKey(team.Name), team.IsDefault, micros(team.CreatedAt), team.ExternalID)
	team.ID, team.Version, team.UpdatedAt = id, 1, team.CreatedAt
	return err
}

// FindTeam implements muster.Tx.
func (tx *Tx) FindTeam(ctx context.Context, orgID, id int64) (*muster.Team, error) {
	return tx.findLockedTeam(ctx, tx.forUpdate(), `t.org_id = $1 AND t.id = $2`, orgID, id)
}

// FindTeamToEdit implements muster.Tx.
func (tx *Tx) FindTeamToEdit(ctx context.Context, orgID, id int64) (*muster.Team, error) {
	return tx.findLockedTeam(ctx, tx.forNoKeyUpdate(), `t.org_id = $1 AND t.id = $2`, orgID, id)
}

// FindTeamShared implements muster.Tx. The share lock keeps a team chosen
// for a membership from being removed before the membership is written (a
// removal waits for such a write, then counts it), while invitations into
// the same team go on side by side.
func (tx *Tx) FindTeamShared(ctx context.Context, orgID, id int64) (*muster.Team, error) {
	return tx.findTeam(ctx, tx.forShare(), `t.org_id = $1 AND t.id = $2`, orgID, id)
}

// ShareTeams implements muster.Tx, teamIDChunk ids a statement.
func (tx *Tx) ShareTeams(ctx context.Context, orgID int64, ids []int64) ([]int64, error) {
	var found []int64
	for chunk := range slices.Chunk(ids, teamIDChunk) {
		query, args := tx.shareTeamsQuery(orgID, chunk)
		ids, err := queryColumn[int64](ctx, tx, query, args...)
		if err != nil {
			return nil, err
		}
		found = append(found, ids...)
	}
	return found, nil
}

// teamIDChunk bounds the team ids one statement names: a list of them is
// a parameter each (padded to a power of two), and both databases bound
// the parameters of a statement (SQLite at 32,766, PostgreSQL at 65,535),
// while a request may name any number.
const teamIDChunk = 1000

// shareTeamsQuery is the query of ShareTeams and its arguments, the org
// last (after inList's padded list of ids).
func (tx *Tx) shareTeamsQuery(orgID int64, ids []int64) (string, []any) {
	where, args := teamsAmong(orgID, ids)
	return `SELECT t.id FROM teams t WHERE ` + where + ` ORDER BY t.id` + tx.forShare(), args
}

// teamsAmong is the condition on teams t that selects the org's teams
// among ids, and its arguments: inList's padded list of ids, then the org.
func teamsAmong(orgID int64, ids []int64) (string, []any) {
	list, args := inList(anySlice(ids))
	args = append(args, orgID)
	return `t.id IN (` + list + `) AND t.org_id = $` + itoa(len(args)), args
}

// FindTeamByName implements muster.Tx.
func (tx *Tx) FindTeamByName(ctx context.Context, orgID int64, name string) (*muster.Team, error) {
	return tx.findLockedTeam(ctx, tx.forUpdate(), `t.org_id = $1 AND t.name_key = $2`, orgID, muster.SearchKey(name))
}

// FindDefaultTeam implements muster.Tx. It takes no lock: the Default Team
// is never changed or removed. (A lock here, taken by a team's removal
// after the team's, waited for invitations that share-lock the Default
// Team and then the removed one: a deadlock.)
func (tx *Tx) FindDefaultTeam(ctx context.Context, orgID int64) (*muster.Team, error) {
	return tx.findTeam(ctx, "", `t.org_id = $1 AND t.is_default`, orgID)
}

// findLockedTeam reads one team, locked as lock says (in a read-write
// transaction). It is read in a statement after the one that locks it: the
// lock may wait for transactions that add members to the team, and a
// PostgreSQL statement sees what was committed when it began, so counts
// read with the lock would miss the changes those wrote (rows of their own,
// which do not make PostgreSQL read the locked row again).
func (tx *Tx) findLockedTeam(ctx context.Context, lock, where string, args ...any) (*muster.Team, error) {
	if lock != "" {
		var id int64
		if err := tx.queryRow(ctx, `SELECT t.id FROM teams t WHERE `+where+lock, args...).Scan(&id); err != nil {
			return nil, notFound(err, "Team")
		}
		where, args = `t.id = $1`, []any{id}
	}
	return tx.findTeam(ctx, "", where, args...)
}

// findTeam reads one team, locking its row as lock says.
func (tx *Tx) findTeam(ctx context.Context, lock, where string, args ...any) (*muster.Team, error) {
	if err := tx.flushPending(ctx); err != nil {
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
	return tx.queryTeams(ctx, `SELECT `+teamListColumns+` FROM `+teamList+` WHERE t.org_id = $1 ORDER BY `+teamOrder,
		orgID)
}

// FindTeamNames implements muster.Tx.
func (tx *Tx) FindTeamNames(ctx context.Context, orgID int64) ([]muster.TeamName, error) {
	if err := tx.flushPending(ctx); err != nil {
		return nil, err
	}
	var teams []muster.TeamName
	err := tx.eachRow(ctx, func(rows *sql.Rows) error {
		var t muster.TeamName
		err := rows.Scan(&t.ID, &t.Name, &t.IsDefault)
		teams = append(teams, t)
		return err
	}, `SELECT t.id, t.name, t.is_default FROM teams t WHERE t.org_id = $1 ORDER BY `+teamOrder, orgID)
	return teams, err
}

// FindTeamsByID implements muster.Tx, teamIDChunk ids a statement.
func (tx *Tx) FindTeamsByID(ctx context.Context, orgID int64, ids []int64) ([]*muster.Team, error) {
	var teams []*muster.Team
	for chunk := range slices.Chunk(ids, teamIDChunk) {
		where, args := teamsAmong(orgID, chunk)
		found, err := tx.queryTeams(ctx, `SELECT `+teamColumns+` FROM teams t WHERE `+where+` ORDER BY `+teamOrder, args...)
		if err != nil {
			return nil, err
		}
		teams = append(teams, found...)
	}
	if len(ids) > teamIDChunk {
		// In teamOrder across the chunks.
		slices.SortFunc(teams, func(a, b *muster.Team) int {
			if a.IsDefault != b.IsDefault {
				if a.IsDefault {
					return -1
				}
				return 1
			}
			return cmp.Or(strings.Compare(muster.SearchKey(a.Name), muster.SearchKey(b.Name)), cmp.Compare(a.ID, b.ID))
		})
	}
	return teams, nil
}

// queryTeams returns the teams query, a SELECT of teamColumns or
// teamListColumns, reads.
func (tx *Tx) queryTeams(ctx context.Context, query string, args ...any) ([]*muster.Team, error) {
	if err := tx.flushPending(ctx); err != nil {
		return nil, err
	}
	rows, err := tx.query(ctx, query, args...)
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
	err := tx.queryRow(ctx, `UPDATE teams SET name = $3, name_key = $4, version = version + 1, updated_at = $5
		WHERE org_id = $1 AND id = $2 RETURNING version`,
		team.OrgID, team.ID, name, muster.SearchKey(name), micros(team.UpdatedAt)).Scan(&team.Version)
	if err != nil {
		return notFound(tx.mapError(err), "Team")
	}
	team.Name = name
	return nil
}

// SetTeamExternalID implements muster.Tx.
func (tx *Tx) SetTeamExternalID(ctx context.Context, team *muster.Team, externalID string) error {
	err := tx.queryRow(ctx, `UPDATE teams SET external_id = $3, version = version + 1, updated_at = $4
		WHERE org_id = $1 AND id = $2 RETURNING version`, team.OrgID, team.ID, externalID, micros(team.UpdatedAt)).Scan(&team.Version)
	if err != nil {
		return notFound(tx.mapError(err), "Team")
	}
	team.ExternalID = externalID
	return nil
}

// MarkTeamMembersChanged implements muster.Tx. The caller holds the team's
// row for an edit already, so the update takes no lock that invitations
// and deactivations into the team wait for.
func (tx *Tx) MarkTeamMembersChanged(ctx context.Context, team *muster.Team) error {
	err := tx.queryRow(ctx, `UPDATE teams SET version = version + 1, updated_at = $3
		WHERE org_id = $1 AND id = $2 RETURNING version`, team.OrgID, team.ID, micros(team.UpdatedAt)).Scan(&team.Version)
	return notFound(tx.mapError(err), "Team")
}

// FindTeamMembers implements muster.Tx. It reads the teams' memberships
// from memberships_team.
func (tx *Tx) FindTeamMembers(ctx context.Context, orgID int64, teamIDs ...int64) (map[int64][]muster.Member, error) {
	out := make(map[int64][]muster.Member, len(teamIDs))
	if len(teamIDs) == 0 {
		return out, nil
	}
	list, args := inList(anySlice(teamIDs))
	args = append(args, orgID)
	// Planned for its teams: their sizes differ by thousands (a pushed
	// group of two, a Default Team of 15,000), and PostgreSQL's plan for
	// any teams hashed every user of the org (53 ms for a page of 100
	// small teams at 100,000 users, docs/benchmarks.md's appendix), where
	// a few members are a few index probes.
	rows, err := tx.query(ctx, `SELECT m.team_id, u.id, u.first_name, u.last_name
		FROM memberships m CROSS JOIN users u
		WHERE m.team_id IN (`+list+`) AND u.id = m.user_id AND u.org_id = $`+itoa(len(args))+`
			AND u.status IN ('pending', 'active') AND u.scim_deleted_at IS NULL
		ORDER BY m.team_id, u.id`, tx.planForValues(args)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var teamID int64
		var u muster.User
		if err := rows.Scan(&teamID, &u.ID, &u.FirstName, &u.LastName); err != nil {
			return nil, err
		}
		out[teamID] = append(out[teamID], muster.Member{UserID: u.ID, Name: u.Name()})
	}
	return out, rows.Err()
}

// memberCounts are changes to a team's counts of Pending and Active members.
type memberCounts struct{ primary, secondary int }

// countMembers notes changes to teams' member counts. They are written as
// rows of team_count_changes, with the transaction's next seat statement or
// else just before it commits (flushPending), and folded into the teams'
// rows now and then (DB.FoldTeamCounts). A row inserted takes no lock but
// the key share of its team's, which concurrent invitations into the team
// share: an update of the team's row, as the counts were once written,
// locked it until the commit, and on PostgreSQL its round trip came while
// the transaction held its org's seats row, for which every invitation of
// the org waits.
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

// flushPending writes the seats freed (ReleaseSeat), the member counts
// noted so far and the writes left for later: on PostgreSQL these go in the
// first seat's statement. A read of teams in the transaction flushes first,
// so that it sees the counts.
func (tx *Tx) flushPending(ctx context.Context) error {
	return tx.writePending(ctx, false)
}

// commitPending is flushPending just before the commit: with
// Dialect.CommitWith the last of its statements commits the transaction
// too, in the same round trip, so that a deactivation's seat freed is
// written and committed at once (one organization's seat changes queue for
// its row from that statement to the commit).
func (tx *Tx) commitPending(ctx context.Context) error {
	return tx.writePending(ctx, tx.dialect.CommitWith != nil)
}

// writePending makes flushPending's writes, the last of its statements
// committing the transaction with it when commit is set.
func (tx *Tx) writePending(ctx context.Context, commit bool) error {
	var stmts []write
	for _, org := range slices.Sorted(maps.Keys(tx.released)) {
		if n := tx.released[org]; n != 0 {
			stmts = append(stmts, write{query: `UPDATE org_seats SET seats_used = seats_used - $2 WHERE org_id = $1`,
				args: []any{org, n}})
		}
	}
	tx.released = nil
	if len(stmts) == 0 {
		stmts = tx.statements(tx.pending())
	} else {
		query, args, err := tx.carrying(ctx, stmts[0].query, stmts[0].args)
		if err != nil {
			return err
		}
		stmts[0] = write{query: query, args: args}
	}
	for i, s := range stmts {
		args := s.args
		if commit && i == len(stmts)-1 {
			args = append([]any{tx.dialect.CommitWith}, args...)
		}
		if _, err := tx.exec(ctx, s.query, args...); err != nil {
			return err
		}
	}
	return nil
}

// execAfterPending runs the write query after the writes waiting for the
// next statement and the member counts noted, rather than carrying them
// (carrying), and returns query's result. On PostgreSQL they go first
// in the same round trip (Dialect.WriteFirst); as a carrier's WITH clauses
// they would run after query has locked its rows, and a row that others
// wait for (an org's seats) would be held that much longer.
func (tx *Tx) execAfterPending(ctx context.Context, query string, args ...any) (sql.Result, error) {
	writes := tx.statements(tx.pending())
	if len(writes) == 1 && tx.dialect.WriteFirst != nil {
		args = append([]any{tx.dialect.WriteFirst(writes[0].query, writes[0].args)}, args...)
	} else if err := tx.execAll(ctx, writes...); err != nil {
		return nil, err
	}
	return tx.exec(ctx, query, args...)
}

// countWrites are the INSERTs of the member counts noted and not yet
// written, which it forgets: a row of team_count_changes for each team whose
// changes do not add up to nothing, in chunks of insertChunk.
func (tx *Tx) countWrites() []write {
	var args []any
	for _, id := range slices.Sorted(maps.Keys(tx.counts)) {
		if c := tx.counts[id]; c != (memberCounts{}) {
			args = append(args, id, c.primary, c.secondary)
		}
	}
	tx.counts = nil
	return tx.insertWrites(`INSERT INTO team_count_changes (team_id, primary_change, secondary_change)`,
		countChangeWidth, args)
}

// countChangeWidth is the values of a row of team_count_changes that
// countWrites inserts.
const countChangeWidth = 3

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
	// The members are locked first, in a statement of their own: the
	// first step rewrites their teams columns from their memberships, and
	// read in a statement that waited for one of them (held by a
	// transaction that rewrote their teams, an invitation again), they
	// were the ones before it committed (a PostgreSQL statement reads what
	// was committed when it began): the teams column then disagreed with
	// the memberships and the teams' counts. Locked, they are read again.
	if _, err := queryColumn[int64](ctx, tx, `SELECT u.id FROM users u
		WHERE u.org_id = $1 AND u.id IN (SELECT m.user_id FROM memberships m WHERE m.team_id = $2)
		ORDER BY u.id`+tx.forNoKeyUpdate(), orgID, id); err != nil {
		return err
	}
	for _, s := range steps {
		if _, err := tx.exec(ctx, s.query, s.args...); err != nil {
			return err
		}
	}
	return nil
}

// FoldTeamCounts adds the changes to teams' member counts that transactions
// wrote as rows of their own (see countMembers) to the teams' rows and
// deletes them, foldTeams teams a transaction, and returns how many changes
// it folded. It changes no count: a count read is its team's row plus the
// changes not yet folded, which folding keeps few.
func (db *DB) FoldTeamCounts(ctx context.Context) (int, error) {
	// Most calls find nothing to fold: a read says so without a write
	// transaction (SQLite's writer, PostgreSQL's BEGIN and COMMIT).
	var pending bool
	err := db.View(ctx, func(t muster.Tx) error {
		return t.(*Tx).queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM team_count_changes)`).Scan(&pending)
	})
	if err != nil || !pending {
		return 0, err
	}
	var total int
	for {
		var folded, teams int
		err := db.Update(ctx, func(t muster.Tx) error {
			var err error
			folded, teams, err = t.(*Tx).foldCounts(ctx)
			return err
		})
		total += folded
		if err != nil || teams < foldTeams {
			return total, err
		}
	}
}

// foldTeams is how many teams' changes FoldTeamCounts folds in one
// transaction, which holds their rows' locks until it commits.
const foldTeams = 100

// foldCounts folds the count changes of up to foldTeams teams and returns
// how many changes and teams it folded. The teams are locked first, in id
// order, as a team's removal locks the team before it deletes the team's
// changes with it; deleting the changes first and then waiting for the
// team would deadlock with such a removal. The lock lets invitations go on
// sharing the teams' keys and writing changes, which the next fold takes.
func (tx *Tx) foldCounts(ctx context.Context) (folded, teams int, err error) {
	ids, err := queryColumn[int64](ctx, tx, `SELECT t.id FROM teams t WHERE t.id IN (SELECT c.team_id FROM team_count_changes c)
		ORDER BY t.id LIMIT `+itoa(foldTeams)+tx.dialect.LockRowNoKey)
	if err != nil || len(ids) == 0 {
		return 0, 0, err
	}
	sums, folded, err := tx.deleteCountChanges(ctx, ids)
	if err != nil {
		return 0, 0, err
	}
	for _, id := range slices.Sorted(maps.Keys(sums)) {
		if _, err := tx.exec(ctx, `UPDATE teams SET primary_count = primary_count + $2,
			secondary_count = secondary_count + $3 WHERE id = $1`, id, sums[id].primary, sums[id].secondary); err != nil {
			return 0, 0, err
		}
	}
	return folded, len(ids), nil
}

// deleteCountChanges deletes the count changes of the teams and returns
// their sums by team, and how many there were.
func (tx *Tx) deleteCountChanges(ctx context.Context, teams []int64) (map[int64]memberCounts, int, error) {
	list, args := inList(anySlice(teams))
	query := `DELETE FROM team_count_changes WHERE team_id IN (` + list + `)
		RETURNING team_id, primary_change, secondary_change`
	rows, err := tx.query(ctx, query, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	sums, n := map[int64]memberCounts{}, 0
	for rows.Next() {
		var id int64
		var c memberCounts
		if err := rows.Scan(&id, &c.primary, &c.secondary); err != nil {
			return nil, 0, failed(query, err)
		}
		sum := sums[id]
		sum.primary += c.primary
		sum.secondary += c.secondary
		sums[id] = sum
		n++
	}
	if err := rows.Err(); err != nil {
		return nil, 0, failed(query, err)
	}
	return sums, n, nil
}
