package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/muster-app/muster/internal/muster"
)

// userColumns are the columns scanUser reads, of users u. The last is the
// user's teams, read with the user (see teamsColumn).
const userColumns = `u.id, u.org_id, u.email, u.first_name, u.last_name, u.role, u.status, u.password_hash,
	u.invited_at, u.invited_by, u.activated_at, u.deactivated_at, u.last_sign_in_at, u.updated_at, u.version,
	u.invitation_expires_at, u.external_id, u.scim_deleted_at, ` + teamsColumn

// teamsColumn is the memberships of users u as one string: the team ids
// separated by commas, the primary team's marked with a "p" ("7,p3,12"),
// read from the memberships' key alone, with the user rather than in a
// second query for a page's users. (string_agg is in both dialects; an
// ORDER BY in it would cost SQLite a sorter per user, so teams sorts.)
const teamsColumn = `(SELECT string_agg(CASE m.kind WHEN 'primary' THEN 'p' ELSE '' END || m.team_id, ',')
		FROM memberships m WHERE m.user_id = u.id)`

func scanUser(row interface{ Scan(...any) error }, u *muster.User) error {
	err := row.Scan(&u.ID, &u.OrgID, &u.Email, &u.FirstName, &u.LastName, &u.Role, &u.Status, &u.PasswordHash,
		nullTime{&u.InvitedAt}, nullInt{&u.InvitedByID}, nullTime{&u.ActivatedAt}, nullTime{&u.DeactivatedAt},
		nullTime{&u.LastSignInAt}, nullTime{&u.UpdatedAt}, &u.Version, nullTime{&u.InvitationExpiresAt}, &u.ExternalID,
		nullTime{&u.SCIMDeletedAt}, teams{u})
	if u.Status != muster.StatusPending {
		// The column keeps the last link's expiry; it means something
		// only while the user is Pending.
		u.InvitationExpiresAt = time.Time{}
	}
	return err
}

// teams scans teamsColumn into a user's PrimaryTeamID and SecondaryTeamIDs,
// the latter in increasing order.
type teams struct{ u *muster.User }

func (t teams) Scan(src any) error {
	t.u.PrimaryTeamID, t.u.SecondaryTeamIDs = 0, nil
	var list string
	switch v := src.(type) {
	case nil:
		return nil
	case string:
		list = v
	case []byte:
		list = string(v)
	default:
		return fmt.Errorf("teams: unexpected %T", src)
	}
	for item := range strings.SplitSeq(list, ",") {
		primary := strings.HasPrefix(item, "p")
		id, err := strconv.ParseInt(strings.TrimPrefix(item, "p"), 10, 64)
		if err != nil {
			return fmt.Errorf("teams: %q: %w", list, err)
		}
		if primary {
			t.u.PrimaryTeamID = id
		} else {
			t.u.SecondaryTeamIDs = append(t.u.SecondaryTeamIDs, id)
		}
	}
	slices.Sort(t.u.SecondaryTeamIDs)
	return nil
}

// userKeys returns the normalized columns that searching and sorting use.
func userKeys(u *muster.User) (emailKey, sortKey, lastKey string) {
	return muster.NormalizeEmail(u.Email), muster.SearchKey(u.FirstName + " " + u.LastName), muster.SearchKey(u.LastName)
}

// CreateUser implements muster.Tx.
func (tx *Tx) CreateUser(ctx context.Context, u *muster.User) error {
	emailKey, sortKey, lastKey := userKeys(u)
	u.Version = 1
	id, err := tx.insert(ctx, `INSERT INTO users (org_id, email, email_key, first_name, last_name, sort_key, last_key,
			role, status, password_hash, invited_at, invited_by, activated_at, deactivated_at, last_sign_in_at,
			updated_at, version, external_id, scim_deleted_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
		u.OrgID, u.Email, emailKey, u.FirstName, u.LastName, sortKey, lastKey, u.Role, u.Status, u.PasswordHash,
		micros(u.InvitedAt), nullID(u.InvitedByID), micros(u.ActivatedAt), micros(u.DeactivatedAt),
		micros(u.LastSignInAt), micros(u.UpdatedAt), u.Version, u.ExternalID, micros(u.SCIMDeletedAt))
	if err != nil {
		return err
	}
	u.ID = id
	if err := tx.insertMemberships(ctx, u); err != nil {
		return err
	}
	if !u.Status.HoldsSeat() {
		return nil
	}
	changes := map[int64]memberCounts{}
	addMemberships(changes, u, 1)
	return tx.countMembers(ctx, changes)
}

// UpdateUser implements muster.Tx. It keeps the member counts of the
// user's teams, old and new, when the memberships or whether the user
// counts (is Pending or Active) change.
func (tx *Tx) UpdateUser(ctx context.Context, u *muster.User) error {
	var was muster.User
	err := tx.queryRow(ctx, `SELECT u.status, `+teamsColumn+` FROM users u WHERE u.org_id = $1 AND u.id = $2`,
		u.OrgID, u.ID).Scan(&was.Status, teams{&was})
	if err != nil {
		return notFound(err, "User")
	}
	emailKey, sortKey, lastKey := userKeys(u)
	err = tx.queryRow(ctx, `UPDATE users SET email = $3, email_key = $4, first_name = $5, last_name = $6,
			sort_key = $7, last_key = $8, role = $9, status = $10, password_hash = $11, invited_at = $12,
			invited_by = $13, activated_at = $14, deactivated_at = $15, last_sign_in_at = $16, updated_at = $17,
			external_id = $18, scim_deleted_at = $19, version = version + 1
		WHERE org_id = $1 AND id = $2 RETURNING version`,
		u.OrgID, u.ID, u.Email, emailKey, u.FirstName, u.LastName, sortKey, lastKey, u.Role, u.Status,
		u.PasswordHash, micros(u.InvitedAt), nullID(u.InvitedByID), micros(u.ActivatedAt), micros(u.DeactivatedAt),
		micros(u.LastSignInAt), micros(u.UpdatedAt), u.ExternalID, micros(u.SCIMDeletedAt)).Scan(&u.Version)
	if err != nil {
		return notFound(tx.mapError(err), "User")
	}
	// Most updates (a sign-in, a new role) leave the teams as they are;
	// rewriting them would still change three indexes.
	sameTeams := was.PrimaryTeamID == u.PrimaryTeamID && slices.Equal(was.SecondaryTeamIDs, sortedIDs(u.SecondaryTeamIDs))
	if !sameTeams {
		if _, err := tx.exec(ctx, `DELETE FROM memberships WHERE user_id = $1`, u.ID); err != nil {
			return err
		}
		if err := tx.insertMemberships(ctx, u); err != nil {
			return err
		}
	}
	if sameTeams && was.Status.HoldsSeat() == u.Status.HoldsSeat() {
		return nil
	}
	changes := map[int64]memberCounts{}
	if was.Status.HoldsSeat() {
		addMemberships(changes, &was, -1)
	}
	if u.Status.HoldsSeat() {
		addMemberships(changes, u, 1)
	}
	return tx.countMembers(ctx, changes)
}

// sortedIDs returns ids in increasing order, as teamsColumn lists them.
func sortedIDs(ids []int64) []int64 {
	if slices.IsSorted(ids) {
		return ids
	}
	return slices.Sorted(slices.Values(ids))
}

func (tx *Tx) insertMemberships(ctx context.Context, u *muster.User) error {
	args := []any{u.ID, u.PrimaryTeamID}
	values := []string{`($1, $2, 'primary')`}
	for _, id := range u.SecondaryTeamIDs {
		args = append(args, id)
		values = append(values, "($1, $"+itoa(len(args))+", 'secondary')")
	}
	_, err := tx.exec(ctx, `INSERT INTO memberships (user_id, team_id, kind) VALUES `+strings.Join(values, ", "), args...)
	return err
}

// FindUser implements muster.Tx.
func (tx *Tx) FindUser(ctx context.Context, orgID, id int64) (*muster.User, error) {
	return tx.findUser(ctx, tx.forUpdate(), `u.org_id = $1 AND u.id = $2`, orgID, id)
}

// PeekUser implements muster.Tx.
func (tx *Tx) PeekUser(ctx context.Context, orgID, id int64) (*muster.User, error) {
	return tx.findUser(ctx, "", `u.org_id = $1 AND u.id = $2`, orgID, id)
}

// FindUserByEmail implements muster.Tx.
func (tx *Tx) FindUserByEmail(ctx context.Context, orgID int64, email string) (*muster.User, error) {
	return tx.findUser(ctx, tx.forUpdate(), `u.org_id = $1 AND u.email_key = $2`, orgID, muster.NormalizeEmail(email))
}

// FindLiveUserByEmail implements muster.Tx.
func (tx *Tx) FindLiveUserByEmail(ctx context.Context, email string) (*muster.User, error) {
	return tx.findUser(ctx, tx.forUpdate(), `u.email_key = $1 AND u.status IN ('pending', 'active')`,
		muster.NormalizeEmail(email))
}

// FindUsersByID implements muster.Tx.
func (tx *Tx) FindUsersByID(ctx context.Context, orgID int64, ids []int64) ([]*muster.User, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var users []*muster.User
	for chunk := range slices.Chunk(slices.Sorted(slices.Values(ids)), 500) {
		list, args := inList(anySlice(chunk))
		// The org is the last argument, after the padded list.
		args = append(args, orgID)
		rows, err := tx.query(ctx, `SELECT `+userColumns+` FROM users u WHERE u.id IN (`+list+`)
			AND u.org_id = $`+itoa(len(args))+` ORDER BY u.id`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var u muster.User
			if err := scanUser(rows, &u); err != nil {
				rows.Close()
				return nil, err
			}
			users = append(users, &u)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return users, nil
}

// findUser reads one user, locking the row as lock says.
func (tx *Tx) findUser(ctx context.Context, lock, where string, args ...any) (*muster.User, error) {
	var u muster.User
	row := tx.queryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE `+where+lock, args...)
	if err := scanUser(row, &u); err != nil {
		return nil, notFound(err, "User")
	}
	return &u, nil
}

// selectiveLimit is how few users a team, or a search shorter than
// muster.SearchPrefixLength, must select for FindUsers to start from them,
// through their own index, and sort them, rather than walk the list in name
// order until a page is full. Starting from the matches costs about one row
// each; walking costs about page size × users / matches rows. At 100,000
// users the two meet near 2,000 matches. A variable so that tests can lower
// it.
var selectiveLimit = 2000

// FindUsers implements muster.Tx. Every plan is an index walk: a page of
// the list (or of a status or role) walks its index in name order from the
// cursor; a search walks the names, last names and emails that match it in
// name order, each through its own index; a team that selects few users
// starts from its memberships instead and sorts them (see findUsersQuery).
func (tx *Tx) FindUsers(ctx context.Context, f muster.UserFilter) ([]*muster.User, error) {
	query, args, err := tx.findUsersQuery(ctx, f)
	if err != nil {
		return nil, err
	}
	rows, err := tx.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	users := make([]*muster.User, 0, f.Limit)
	for rows.Next() {
		var u muster.User
		if err := scanUser(rows, &u); err != nil {
			return nil, err
		}
		users = append(users, &u)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return users, nil
}

// findUsersQuery builds FindUsers' query in one of three shapes:
//
//   - walk: users in name order from the cursor, through users_org_sort
//     (or users_org_status_sort, users_org_role_sort), each filter checked
//     row by row, until the page is full;
//   - team: the team's memberships (memberships_team), then their users,
//     sorted — when the team has fewer than selectiveLimit memberships;
//   - search: the page's first matches of each kind, merged: full names
//     (a range of users_org_sort), last names and emails (of
//     users_org_last_prefix and users_org_email_prefix, which hold each
//     key's first three letters before the sort key). For a search of
//     three letters or more, each kind is walked in name order and read
//     only until a page of it is full, from the indexes alone; only the
//     page's users are read from the table. A shorter search reads every
//     last name and email that matches, and takes this shape only when
//     fewer than selectiveLimit do; otherwise it walks, and soon fills a
//     page, matches being many.
//
// The shapes return the same rows; the MATERIALIZED CTE and the UNION keep
// each planner from turning a start-from-matches shape back into a walk,
// and CROSS JOIN fixes the join order in SQLite.
func (tx *Tx) findUsersQuery(ctx context.Context, f muster.UserFilter) (string, []any, error) {
	var (
		where = []string{`u.org_id = $1`} // every filter but the team and the search
		args  = []any{f.OrgID}
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + itoa(len(args))
	}
	if f.Status != "" {
		where = append(where, `u.status = `+arg(f.Status))
	} else {
		where = append(where, `u.status IN ('pending', 'active', 'deactivated')`)
	}
	if f.Role != "" {
		where = append(where, `u.role = `+arg(f.Role))
	}
	if f.After != nil {
		where = append(where, `(u.sort_key, u.id) > (`+arg(f.After.SortKey)+`, `+arg(f.After.ID)+`)`)
	}
	var team string
	var teamFew bool
	var err error
	if f.TeamID != 0 {
		team = arg(f.TeamID)
		teamFew, err = tx.fewerThan(ctx, selectiveLimit, `SELECT 1 FROM memberships WHERE team_id = $1`, f.TeamID)
		if err != nil {
			return "", nil, err
		}
	}
	q := muster.SearchKey(f.Query)
	var nameMatch, lastMatch, emailMatch string
	var searchMerged bool
	if q != "" {
		lo, hi := arg(q), arg(q+"\U0010FFFF")
		nameMatch, lastMatch, emailMatch = between(`u.sort_key`, lo, hi), between(`u.last_key`, lo, hi),
			between(`u.email_key`, lo, hi)
		if prefix, ok := muster.SearchPrefix(q); ok {
			p := arg(prefix)
			lastMatch = `substr(u.last_key, 1, 3) = ` + p + ` AND ` + lastMatch
			emailMatch = `substr(u.email_key, 1, 3) = ` + p + ` AND ` + emailMatch
			searchMerged = true
		} else if !teamFew {
			// Keys that begin with q are those whose first three letters
			// do. Both kinds of match must be few: emails often start with
			// a first name, so a common one matches thousands.
			lastMatch, emailMatch = between(`substr(u.last_key, 1, 3)`, lo, hi), between(`substr(u.email_key, 1, 3)`, lo, hi)
			for _, match := range []string{`substr(last_key, 1, 3)`, `substr(email_key, 1, 3)`} {
				searchMerged, err = tx.fewerThan(ctx, selectiveLimit, `SELECT 1 FROM users WHERE org_id = $1 AND `+
					between(match, `$2`, `$3`), f.OrgID, q, q+"\U0010FFFF")
				if err != nil {
					return "", nil, err
				}
				if !searchMerged {
					break
				}
			}
		}
	}
	inTeam := `EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id AND m.team_id = ` + team + `)`
	limit := arg(f.Limit)
	and := func(conds ...string) string { return strings.Join(conds, " AND ") }
	order := ` ORDER BY u.sort_key, u.id LIMIT ` + limit
	switch {
	case teamFew:
		if nameMatch != "" {
			where = append(where, `(`+nameMatch+` OR `+lastMatch+` OR `+emailMatch+`)`)
		}
		return `WITH m AS MATERIALIZED (SELECT user_id FROM memberships WHERE team_id = ` + team + `)
			SELECT ` + userColumns + ` FROM m CROSS JOIN users u
			WHERE u.id = m.user_id AND ` + and(where...) + order, args, nil
	case searchMerged:
		if team != "" {
			where = append(where, inTeam)
		}
		// The page's first matches of each kind, in name order.
		matches := func(match string) string {
			return `(SELECT u.id, u.sort_key FROM users u WHERE ` + and(append(slices.Clip(where), match)...) + order + `)`
		}
		// UNION drops the users who match in more than one way. (Making
		// the kinds disjoint instead, for a UNION ALL, would make a kind
		// whose matches mostly match another way too, such as emails that
		// begin with the first name searched, read all of its matches.)
		return `SELECT ` + userColumns + ` FROM (
				SELECT id, sort_key FROM ` + matches(nameMatch) + ` a
				UNION SELECT id, sort_key FROM ` + matches(lastMatch) + ` b
				UNION SELECT id, sort_key FROM ` + matches(emailMatch) + ` c
				ORDER BY sort_key, id LIMIT ` + limit + `
			) s CROSS JOIN users u
			WHERE u.id = s.id ORDER BY s.sort_key, s.id`, args, nil
	default:
		if team != "" {
			where = append(where, inTeam)
		}
		if nameMatch != "" {
			where = append(where, `(`+nameMatch+` OR `+lastMatch+` OR `+emailMatch+`)`)
		}
		return `SELECT ` + userColumns + ` FROM users u WHERE ` + and(where...) + order, args, nil
	}
}

// between is the condition that col lies in [lo, hi).
func between(col, lo, hi string) string {
	return `(` + col + ` >= ` + lo + ` AND ` + col + ` < ` + hi + `)`
}

// fewerThan reports whether query, a SELECT, returns fewer than n rows. It
// reads at most n.
func (tx *Tx) fewerThan(ctx context.Context, n int, query string, args ...any) (bool, error) {
	var count int
	err := tx.queryRow(ctx, `SELECT count(*) FROM (`+query+` LIMIT `+itoa(n)+`) c`, args...).Scan(&count)
	return count < n, err
}

// ExportUsers implements muster.Tx.
func (tx *Tx) ExportUsers(ctx context.Context, orgID, afterID int64, limit int) ([]*muster.ExportedUser, error) {
	// Each batch is a range of the primary key, so an export reads the
	// users table once. None of the org's indexes is in id order, yet
	// SQLite, without statistics, read the whole org through one and sorted
	// it for every batch, O(users²); the unary + keeps it off them.
	// PostgreSQL's statistics lead it to the primary key already, and the +
	// would hide the org's share of the table from its estimate (it then
	// planned a parallel scan per batch: 60–90 s at a million users): hence
	// Dialect.ExportOrg. An index on (org_id, id) would spare the rows of
	// other orgs.
	rows, err := tx.query(ctx, `SELECT `+userColumns+`,
			coalesce(i.first_name || ' ' || i.last_name, '')
		FROM users u LEFT JOIN users i ON i.id = u.invited_by
		WHERE `+tx.dialect.ExportOrg+` = $1 AND u.id > $2 AND u.status IN ('pending', 'active', 'deactivated')
		ORDER BY u.id LIMIT $3`, orgID, afterID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	batch := make([]muster.ExportedUser, 0, limit) // one allocation for the batch's users
	for rows.Next() {
		batch = append(batch, muster.ExportedUser{})
		e := &batch[len(batch)-1]
		if err := scanUser(rowWithExtra{rows, &e.InvitedByName}, &e.User); err != nil {
			return nil, err
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]*muster.ExportedUser, len(batch))
	for i := range batch {
		out[i] = &batch[i]
	}
	return out, nil
}

// rowWithExtra scans a row's leading columns into what a scan function
// asks for and the trailing ones into extra.
type rowWithExtra struct {
	row   interface{ Scan(...any) error }
	extra any
}

func (r rowWithExtra) Scan(dest ...any) error { return r.row.Scan(append(dest, r.extra)...) }
