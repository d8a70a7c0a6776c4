package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"github.com/muster-app/muster/internal/muster"
)

const userColumns = `u.id, u.org_id, u.email, u.first_name, u.last_name, u.role, u.status, u.password_hash,
	u.invited_at, u.invited_by, u.activated_at, u.deactivated_at, u.last_sign_in_at, u.updated_at, u.version,
	u.invitation_expires_at`

func scanUser(row interface{ Scan(...any) error }, u *muster.User) error {
	err := row.Scan(&u.ID, &u.OrgID, &u.Email, &u.FirstName, &u.LastName, &u.Role, &u.Status, &u.PasswordHash,
		nullTime{&u.InvitedAt}, nullInt{&u.InvitedByID}, nullTime{&u.ActivatedAt}, nullTime{&u.DeactivatedAt},
		nullTime{&u.LastSignInAt}, nullTime{&u.UpdatedAt}, &u.Version, nullTime{&u.InvitationExpiresAt})
	if u.Status != muster.StatusPending {
		// The column keeps the last link's expiry; it means something
		// only while the user is Pending.
		u.InvitationExpiresAt = time.Time{}
	}
	return err
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
			updated_at, version)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
		u.OrgID, u.Email, emailKey, u.FirstName, u.LastName, sortKey, lastKey, u.Role, u.Status, u.PasswordHash,
		micros(u.InvitedAt), nullID(u.InvitedByID), micros(u.ActivatedAt), micros(u.DeactivatedAt),
		micros(u.LastSignInAt), micros(u.UpdatedAt), u.Version)
	if err != nil {
		return err
	}
	u.ID = id
	return tx.insertMemberships(ctx, u)
}

// UpdateUser implements muster.Tx.
func (tx *Tx) UpdateUser(ctx context.Context, u *muster.User) error {
	emailKey, sortKey, lastKey := userKeys(u)
	var version int64
	err := tx.queryRow(ctx, `UPDATE users SET email = $3, email_key = $4, first_name = $5, last_name = $6,
			sort_key = $7, last_key = $8, role = $9, status = $10, password_hash = $11, invited_at = $12,
			invited_by = $13, activated_at = $14, deactivated_at = $15, last_sign_in_at = $16, updated_at = $17,
			version = version + 1
		WHERE org_id = $1 AND id = $2 RETURNING version`,
		u.OrgID, u.ID, u.Email, emailKey, u.FirstName, u.LastName, sortKey, lastKey, u.Role, u.Status,
		u.PasswordHash, micros(u.InvitedAt), nullID(u.InvitedByID), micros(u.ActivatedAt), micros(u.DeactivatedAt),
		micros(u.LastSignInAt), micros(u.UpdatedAt)).Scan(&version)
	if err != nil {
		return notFound(tx.mapError(err), "User")
	}
	u.Version = version
	// Most updates (a deactivation, a new role) leave the teams as they
	// are; rewriting them would still change three indexes.
	was := muster.User{ID: u.ID}
	if err := tx.loadMemberships(ctx, []*muster.User{&was}); err != nil {
		return err
	}
	if was.PrimaryTeamID == u.PrimaryTeamID && slices.Equal(was.SecondaryTeamIDs, sortedIDs(u.SecondaryTeamIDs)) {
		return nil
	}
	if _, err := tx.exec(ctx, `DELETE FROM memberships WHERE user_id = $1`, u.ID); err != nil {
		return err
	}
	return tx.insertMemberships(ctx, u)
}

// sortedIDs returns ids in increasing order, as loadMemberships gives them.
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
	return tx.findUser(ctx, `u.org_id = $1 AND u.id = $2`, orgID, id)
}

// FindUserByEmail implements muster.Tx.
func (tx *Tx) FindUserByEmail(ctx context.Context, orgID int64, email string) (*muster.User, error) {
	return tx.findUser(ctx, `u.org_id = $1 AND u.email_key = $2`, orgID, muster.NormalizeEmail(email))
}

// FindLiveUserByEmail implements muster.Tx.
func (tx *Tx) FindLiveUserByEmail(ctx context.Context, email string) (*muster.User, error) {
	return tx.findUser(ctx, `u.email_key = $1 AND u.status IN ('pending', 'active')`, muster.NormalizeEmail(email))
}

func (tx *Tx) findUser(ctx context.Context, where string, args ...any) (*muster.User, error) {
	var u muster.User
	row := tx.queryRow(ctx, `SELECT `+userColumns+` FROM users u WHERE `+where+tx.lockRow, args...)
	if err := scanUser(row, &u); err != nil {
		return nil, notFound(err, "User")
	}
	if err := tx.loadMemberships(ctx, []*muster.User{&u}); err != nil {
		return nil, err
	}
	return &u, nil
}

// selectiveLimit is how few users a search or team must select for
// FindUsers to start from them, through their own index, and sort them,
// rather than walk the list in name order until a page is full. Starting
// from the matches costs about one row each; walking costs about
// page size × users / matches rows. At 100,000 users the two meet near
// 2,000 matches. A variable so that tests can lower it.
var selectiveLimit = 2000

// FindUsers implements muster.Tx. Every plan is an index walk: a page of
// the list (or of a status or role) walks its index in name order from the
// cursor; a search or team filter that selects few users starts from their
// own index instead and sorts what it finds (see findUsersQuery).
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
	return users, tx.loadMemberships(ctx, users)
}

// findUsersQuery builds FindUsers' query in one of three shapes:
//
//   - walk: users in name order from the cursor, through users_org_sort
//     (or users_org_status_sort, users_org_role_sort), each filter checked
//     row by row, until the page is full;
//   - team: the team's memberships (memberships_team), then their users,
//     sorted — when the team has fewer than selectiveLimit memberships;
//   - search: the page's first matches of the full name (users_org_sort,
//     in order, so at most a page of them) with every match of the last
//     name (users_org_last_sort) and of the email (users_org_email_sort),
//     sorted — when fewer than selectiveLimit last names and emails match.
//     Without a role or team filter, the matches are sorted and cut to a
//     page from those indexes alone, before any user row is read.
//     Full names that match are a contiguous range of the list, which a
//     walk may have to reach from far; last names that match are spread
//     through it, so a walk fills a page soon once many do.
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
	// matched holds the same filters on the columns the search's match
	// indexes cover (m.id, m.sort_key, m.status), when there are no others.
	var matched []string
	if f.Status != "" {
		status := arg(f.Status)
		where = append(where, `u.status = `+status)
		matched = append(matched, `m.status = `+status)
	} else {
		where = append(where, `u.status IN ('pending', 'active', 'deactivated')`)
		matched = append(matched, `m.status IN ('pending', 'active', 'deactivated')`)
	}
	if f.Role != "" {
		where = append(where, `u.role = `+arg(f.Role))
	}
	if f.After != nil {
		key, id := arg(f.After.SortKey), arg(f.After.ID)
		where = append(where, `(u.sort_key, u.id) > (`+key+`, `+id+`)`)
		matched = append(matched, `(m.sort_key, m.id) > (`+key+`, `+id+`)`)
	}
	var team, search string
	var teamFew, searchFew bool
	var err error
	if f.TeamID != 0 {
		team = arg(f.TeamID)
		teamFew, err = tx.fewerThan(ctx, selectiveLimit, `SELECT 1 FROM memberships WHERE team_id = $1`, f.TeamID)
		if err != nil {
			return "", nil, err
		}
	}
	q := muster.SearchKey(f.Query)
	var lo, hi string
	if q != "" {
		lo, hi = arg(q), arg(q+"\U0010FFFF")
		search = `((u.sort_key >= ` + lo + ` AND u.sort_key < ` + hi + `)
			OR (u.last_key >= ` + lo + ` AND u.last_key < ` + hi + `)
			OR (u.email_key >= ` + lo + ` AND u.email_key < ` + hi + `))`
		if !teamFew {
			// Starting from the matches reads every last name and every
			// email that matches: both must be few. (Emails often start
			// with a first name, so a common one matches thousands.)
			searchFew, err = tx.fewerThan(ctx, selectiveLimit,
				`SELECT 1 FROM users WHERE org_id = $1 AND last_key >= $2 AND last_key < $3`, f.OrgID, q, q+"\U0010FFFF")
			if err == nil && searchFew {
				searchFew, err = tx.fewerThan(ctx, selectiveLimit,
					`SELECT 1 FROM users WHERE org_id = $1 AND email_key >= $2 AND email_key < $3`, f.OrgID, q, q+"\U0010FFFF")
			}
			if err != nil {
				return "", nil, err
			}
		}
	}
	inTeam := `EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id AND m.team_id = ` + team + `)`
	limit := arg(f.Limit)
	and := func(conds ...string) string { return strings.Join(conds, " AND ") }
	order := ` ORDER BY u.sort_key, u.id LIMIT ` + limit
	switch {
	case teamFew:
		if search != "" {
			where = append(where, search)
		}
		return `WITH m AS MATERIALIZED (SELECT user_id FROM memberships WHERE team_id = ` + team + `)
			SELECT ` + userColumns + ` FROM m CROSS JOIN users u
			WHERE u.id = m.user_id AND ` + and(where...) + order, args, nil
	case searchFew && team == "" && f.Role == "":
		// The matches' ids, names and statuses come from the indexes
		// alone; only the page's users are read from the table.
		return `SELECT ` + userColumns + ` FROM (
				SELECT m.id FROM (
					SELECT id, sort_key, status FROM (SELECT u.id, u.sort_key, u.status FROM users u
						WHERE ` + and(append(where, `u.sort_key >= `+lo, `u.sort_key < `+hi)...) + order + `) a
					UNION SELECT id, sort_key, status FROM users
						WHERE org_id = $1 AND last_key >= ` + lo + ` AND last_key < ` + hi + `
					UNION SELECT id, sort_key, status FROM users
						WHERE org_id = $1 AND email_key >= ` + lo + ` AND email_key < ` + hi + `
				) m WHERE ` + and(matched...) + ` ORDER BY m.sort_key, m.id LIMIT ` + limit + `
			) s CROSS JOIN users u
			WHERE u.id = s.id ORDER BY u.sort_key, u.id`, args, nil
	case searchFew:
		if team != "" {
			where = append(where, inTeam)
		}
		return `SELECT ` + userColumns + ` FROM (
				SELECT id FROM (SELECT u.id FROM users u
					WHERE ` + and(append(where, `u.sort_key >= `+lo, `u.sort_key < `+hi)...) + order + `) a
				UNION SELECT id FROM users WHERE org_id = $1 AND last_key >= ` + lo + ` AND last_key < ` + hi + `
				UNION SELECT id FROM users WHERE org_id = $1 AND email_key >= ` + lo + ` AND email_key < ` + hi + `
			) s CROSS JOIN users u
			WHERE u.id = s.id AND ` + and(where...) + order, args, nil
	default:
		if team != "" {
			where = append(where, inTeam)
		}
		if search != "" {
			where = append(where, search)
		}
		return `SELECT ` + userColumns + ` FROM users u WHERE ` + and(where...) + order, args, nil
	}
}

// fewerThan reports whether query, a SELECT, returns fewer than n rows. It
// reads at most n.
func (tx *Tx) fewerThan(ctx context.Context, n int, query string, args ...any) (bool, error) {
	var count int
	err := tx.queryRow(ctx, `SELECT count(*) FROM (`+query+` LIMIT `+itoa(n)+`) c`, args...).Scan(&count)
	return count < n, err
}

// loadMemberships fills the teams of users with one query.
func (tx *Tx) loadMemberships(ctx context.Context, users []*muster.User) error {
	if len(users) == 0 {
		return nil
	}
	byID := make(map[int64]*muster.User, len(users))
	args := make([]any, len(users))
	for i, u := range users {
		byID[u.ID] = u
		args[i] = u.ID
		u.SecondaryTeamIDs = nil
	}
	list, args := inList(args)
	rows, err := tx.query(ctx, `SELECT user_id, team_id, kind FROM memberships
		WHERE user_id IN (`+list+`) ORDER BY user_id, team_id`, args...)
	if err != nil {
		return err
	}
	return scanMemberships(rows, func(userID int64) *muster.User { return byID[userID] })
}

// scanMemberships reads rows of (user_id, team_id, kind) into the users
// that of returns, skipping the rows for which it returns nil.
func scanMemberships(rows *sql.Rows, of func(userID int64) *muster.User) error {
	defer rows.Close()
	for rows.Next() {
		var userID, teamID int64
		var kind string
		if err := rows.Scan(&userID, &teamID, &kind); err != nil {
			return err
		}
		u := of(userID)
		switch {
		case u == nil:
		case kind == "primary":
			u.PrimaryTeamID = teamID
		default:
			u.SecondaryTeamIDs = append(u.SecondaryTeamIDs, teamID)
		}
	}
	return rows.Err()
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
	return out, tx.exportMemberships(ctx, batch)
}

// exportMemberships fills in the teams of users, who are in id order, with
// one range scan of the memberships' key (user_id, team_id): an IN list of
// a batch's ids, as loadMemberships sends, takes SQLite longer to parse than
// to run. Rows of users outside the batch in the range are skipped.
func (tx *Tx) exportMemberships(ctx context.Context, users []muster.ExportedUser) error {
	if len(users) == 0 {
		return nil
	}
	rows, err := tx.query(ctx, `SELECT user_id, team_id, kind FROM memberships
		WHERE user_id BETWEEN $1 AND $2 ORDER BY user_id, team_id`, users[0].ID, users[len(users)-1].ID)
	if err != nil {
		return err
	}
	i := 0 // rows and users are both in id order
	return scanMemberships(rows, func(userID int64) *muster.User {
		for i < len(users) && users[i].ID < userID {
			i++
		}
		if i < len(users) && users[i].ID == userID {
			return &users[i].User
		}
		return nil
	})
}

// rowWithExtra scans a row's leading columns into what a scan function
// asks for and the trailing ones into extra.
type rowWithExtra struct {
	row   interface{ Scan(...any) error }
	extra any
}

func (r rowWithExtra) Scan(dest ...any) error { return r.row.Scan(append(dest, r.extra)...) }
