package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/muster-app/muster/internal/muster"
)

// userColumns are the columns scanUser reads, of users u: a listing's
// (listColumns), then the rest of the row.
const userColumns = listColumns + `, u.org_id, u.password_hash, u.updated_at, u.external_id, u.scim_deleted_at`

// TeamList is u's memberships as the users row keeps them (the teams
// column, migration 00021): the team ids in increasing order, separated by
// commas, the primary team's marked with a "p" ("3,p7,12"). Every write of
// the memberships writes it too (CreateUsers, UpdateUser, DeleteTeam), so
// that a page of users is read without aggregating each user's
// memberships, which was half of a page's time in PostgreSQL.
func TeamList(u *muster.User) string {
	ids := append([]int64{}, u.SecondaryTeamIDs...)
	if u.PrimaryTeamID != 0 {
		ids = append(ids, u.PrimaryTeamID)
	}
	slices.Sort(ids)
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		if id == u.PrimaryTeamID {
			b.WriteByte('p')
		}
		b.WriteString(strconv.FormatInt(id, 10))
	}
	return b.String()
}

func scanUser(row interface{ Scan(...any) error }, u *muster.User, before ...any) error {
	err := row.Scan(append(before, userFields(u)...)...)
	settleUser(u)
	return err
}

// listColumns are the columns of users u that a listing shows, the API's
// and the console's pages: userColumns without the org (the listing's
// own), the password hash, the identity provider's id and the times of the
// last change and of a SCIM deletion. Each column a row reads costs SQLite's
// driver two calls, each taking the connection's mutex: a page of 51 users
// read a quarter fewer of them. SQLite's index of the name order holds just
// these (migration 00027). The last two are the user's teams (the teams
// column: see TeamList) and whether a second factor is on, read with the
// user rather than in a query of their own for a page.
const listColumns = `u.id, u.email, u.first_name, u.last_name, u.role, u.status, u.invited_at, u.invited_by,
	u.activated_at, u.deactivated_at, u.last_sign_in_at, u.version, u.invitation_expires_at, u.teams, u.two_step`

// listFields are where the columns of listColumns are scanned into u.
func listFields(u *muster.User) []any {
	return []any{&u.ID, &u.Email, &u.FirstName, &u.LastName, &u.Role, &u.Status, nullTime{&u.InvitedAt},
		nullInt{&u.InvitedByID}, nullTime{&u.ActivatedAt}, nullTime{&u.DeactivatedAt}, nullTime{&u.LastSignInAt},
		&u.Version, nullTime{&u.InvitationExpiresAt}, teams{u}, &u.TwoStep}
}

// userFields are where the columns of userColumns are scanned into u.
func userFields(u *muster.User) []any {
	return append(listFields(u), &u.OrgID, &u.PasswordHash, nullTime{&u.UpdatedAt}, &u.ExternalID,
		nullTime{&u.SCIMDeletedAt})
}

// settleUser clears what a user's columns keep but no longer mean.
func settleUser(u *muster.User) {
	if u.Status != muster.StatusPending {
		// The column keeps the last link's expiry; it means something
		// only while the user is Pending.
		u.InvitationExpiresAt = time.Time{}
	}
}

// teams scans the teams column into a user's PrimaryTeamID and SecondaryTeamIDs,
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
	if list == "" {
		return nil
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
	return tx.CreateUsers(ctx, []*muster.User{u})
}

// userInsertWidth is how many values insertUsers writes per user.
const userInsertWidth = 21

// usersInsert is the head of the users' multi-row INSERT, whose rows have
// userInsertWidth values.
const usersInsert = `INSERT INTO users (org_id, email, email_key, first_name, last_name, sort_key, last_key, role,
	status, password_hash, invited_at, invited_by, activated_at, deactivated_at, last_sign_in_at, updated_at,
	version, external_id, scim_deleted_at, invitation_expires_at, teams)`

// CreateUsers implements muster.Tx: the users (with the expiry of the
// link they are about to get, if known: see CreateInvitations), then all
// their memberships, then their teams' member counts noted once
// (countMembers).
func (tx *Tx) CreateUsers(ctx context.Context, users []*muster.User) error {
	if len(users) == 0 {
		return nil
	}
	args := make([]any, 0, len(users)*userInsertWidth)
	for _, u := range users {
		emailKey, sortKey, lastKey := userKeys(u)
		u.Version = 1
		args = append(args, u.OrgID, u.Email, emailKey, u.FirstName, u.LastName, sortKey, lastKey, u.Role, u.Status,
			u.PasswordHash, micros(u.InvitedAt), nullID(u.InvitedByID), micros(u.ActivatedAt), micros(u.DeactivatedAt),
			micros(u.LastSignInAt), micros(u.UpdatedAt), u.Version, u.ExternalID, micros(u.SCIMDeletedAt),
			micros(u.InvitationExpiresAt), TeamList(u))
	}
	if err := tx.insertUsers(ctx, users, args); err != nil {
		return err
	}
	changes := map[int64]memberCounts{}
	for _, u := range users {
		if u.Status.HoldsSeat() {
			addMemberships(changes, u, 1)
		}
	}
	return tx.countMembers(ctx, changes)
}

// insertUsers inserts the users, args holding their userInsertWidth
// values each, and their memberships, and sets the users' ids. With
// Dialect.OneStatementWrites each chunk of users is one statement with its
// memberships (a data-modifying WITH that reads the ids the users' INSERT
// returns, matched by org and email): one round trip where there were two.
func (tx *Tx) insertUsers(ctx context.Context, users []*muster.User, args []any) error {
	if !tx.dialect.OneStatementWrites {
		ids, err := tx.insertMany(ctx, usersInsert, userInsertWidth, args, true)
		if err != nil {
			return err
		}
		setIDs(users, ids)
		return tx.insertMemberships(ctx, users)
	}
	ids, err := tx.insertChunks(ctx, len(users), true, func(done, size int) (string, []any) {
		var orgs, teams []int64
		var keys, kinds []string
		member := func(u *muster.User, team int64, kind string) {
			orgs, keys = append(orgs, u.OrgID), append(keys, muster.NormalizeEmail(u.Email))
			teams, kinds = append(teams, team), append(kinds, kind)
		}
		for _, u := range users[done : done+size] {
			member(u, u.PrimaryTeamID, "primary")
			for _, id := range u.SecondaryTeamIDs {
				member(u, id, "secondary")
			}
		}
		values := args[done*userInsertWidth : (done+size)*userInsertWidth]
		n := len(values)
		return `WITH u AS (` + usersInsert + ` VALUES ` + valuesList(size, userInsertWidth, false) + `
				RETURNING id, org_id, email_key),
			m AS (INSERT INTO memberships (user_id, team_id, kind)
				SELECT u.id, m.team_id, m.kind
				FROM unnest($` + itoa(n+1) + `::bigint[], $` + itoa(n+2) + `::text[], $` + itoa(n+3) + `::bigint[],
					$` + itoa(n+4) + `::text[]) AS m (org_id, email_key, team_id, kind)
				JOIN u ON u.org_id = m.org_id AND u.email_key = m.email_key)
			SELECT id FROM u`, append(slices.Clip(values), orgs, keys, teams, kinds)
	})
	setIDs(users, ids)
	return err
}

// setIDs gives the users the ids their INSERT returned, in their order.
func setIDs(users []*muster.User, ids []int64) {
	for i, id := range ids {
		users[i].ID = id
	}
}

// UpdateUser implements muster.Tx. It keeps the member counts of the
// user's teams, old and new, when the memberships or whether the user
// counts (is Pending or Active) change.
func (tx *Tx) UpdateUser(ctx context.Context, u *muster.User) error {
	var was muster.User
	if err := tx.updateUserRow(ctx, u, &was); err != nil {
		return notFound(tx.mapError(err), "User")
	}
	// Most updates (a sign-in, a new role) leave the teams as they are;
	// rewriting them would still change three indexes.
	sameTeams := sameTeams(&was, u)
	if !sameTeams {
		if err := tx.rewriteMemberships(ctx, []*muster.User{u}); err != nil {
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

// sameTeams tells whether u has the teams that was had.
func sameTeams(was, u *muster.User) bool {
	return was.PrimaryTeamID == u.PrimaryTeamID && slices.Equal(was.SecondaryTeamIDs, sortedIDs(u.SecondaryTeamIDs))
}

// SetUsersTeams implements muster.Tx: the users' rows in a statement (two
// on SQLite, which reads what they were first), their memberships in two
// more, for any number of users. It keeps the member counts of the teams
// each Pending or Active user leaves or joins.
func (tx *Tx) SetUsersTeams(ctx context.Context, users []*muster.User) error {
	if len(users) == 0 {
		return nil
	}
	orgID := users[0].OrgID
	byID := make(map[int64]*muster.User, len(users))
	tuples := make([][3]any, len(users))
	for i, u := range users {
		if u.OrgID != orgID {
			return fmt.Errorf("SetUsersTeams: users of orgs %d and %d", orgID, u.OrgID)
		}
		byID[u.ID] = u
		tuples[i] = [3]any{u.ID, TeamList(u), u.UpdatedAt.UnixMicro()}
	}
	// The users go as one JSON array of [id, teams, updated_at]: a
	// statement whatever their number, whose plan does not depend on it.
	list, err := json.Marshal(tuples)
	if err != nil {
		return err
	}
	was := make(map[int64]*muster.User, len(users))
	// changed notes a user's version after the change, and their status
	// and teams before it.
	changed := func(id, version int64, w *muster.User) error {
		u, ok := byID[id]
		if !ok || w == nil {
			return fmt.Errorf("SetUsersTeams: user %d changed unasked or unread", id)
		}
		u.Version, was[id] = version, w
		return nil
	}
	if tx.dialect.OneStatementWrites {
		err = tx.eachRow(ctx, func(rows *sql.Rows) error {
			var id, version int64
			w := &muster.User{}
			if err := rows.Scan(&id, &version, &w.Status, teams{w}); err != nil {
				return err
			}
			return changed(id, version, w)
		}, setUsersTeams, orgID, string(list))
	} else {
		err = tx.setUsersTeamsInSteps(ctx, orgID, string(list), changed)
	}
	if err != nil {
		return err
	}
	if len(was) != len(users) {
		return notFound(sql.ErrNoRows, "User")
	}
	changes := map[int64]memberCounts{}
	var moved []*muster.User
	for _, u := range users {
		w := was[u.ID]
		if sameTeams(w, u) {
			continue
		}
		moved = append(moved, u)
		if w.Status.HoldsSeat() {
			addMemberships(changes, w, -1)
			addMemberships(changes, u, 1)
		}
	}
	if err := tx.rewriteMemberships(ctx, moved); err != nil {
		return err
	}
	return tx.countMembers(ctx, changes)
}

// setUsersTeams is SetUsersTeams' statement on PostgreSQL, the org $1 and
// the JSON list $2: each user is found by id and locked (their row, which
// the transaction locked before, with the status and teams it had), then
// updated where that row is. PostgreSQL cannot tell from a parameter how
// many users the list holds (it guesses 100), so the statement leaves it
// no other plan than one lookup a user: as a join, it read every user of
// an org of 10,000 to change one.
const setUsersTeams = `WITH was AS (SELECT j ->> 1 AS teams, (j ->> 2)::bigint AS updated_at, w.*
		FROM json_array_elements($2::json) j CROSS JOIN LATERAL
			(SELECT u.ctid, u.status, u.teams AS old_teams FROM users u
			WHERE u.org_id = $1 AND u.id = (j ->> 0)::bigint FOR NO KEY UPDATE) w)
	UPDATE users u SET teams = was.teams, updated_at = was.updated_at, version = u.version + 1
	FROM was WHERE u.ctid = was.ctid
	RETURNING u.id, u.version, was.status, was.old_teams`

// setUsersTeamsInSteps is SetUsersTeams' write of the rows on SQLite, whose
// statements cannot return what a row was: the users as they were, then
// the UPDATE. NOT INDEXED makes SQLite find each user by id, for each of
// the list's: without it, it walked the org's users and, for each, the
// whole list (18 s for 1,000 users).
func (tx *Tx) setUsersTeamsInSteps(ctx context.Context, orgID int64, list string,
	changed func(id, version int64, was *muster.User) error) error {
	was := map[int64]*muster.User{}
	err := tx.eachRow(ctx, func(rows *sql.Rows) error {
		var id int64
		w := &muster.User{}
		err := rows.Scan(&id, &w.Status, teams{w})
		was[id] = w
		return err
	}, `SELECT u.id, u.status, u.teams FROM json_each($1) j, users u NOT INDEXED
		WHERE u.id = j.value ->> 0 AND u.org_id = $2`, list, orgID)
	if err != nil {
		return err
	}
	return tx.eachRow(ctx, func(rows *sql.Rows) error {
		var id, version int64
		if err := rows.Scan(&id, &version); err != nil {
			return err
		}
		return changed(id, version, was[id])
	}, `UPDATE users NOT INDEXED SET teams = j.value ->> 1, updated_at = j.value ->> 2, version = version + 1
		FROM json_each($1) j WHERE users.org_id = $2 AND users.id = j.value ->> 0
		RETURNING users.id, users.version`, list, orgID)
}

// rewriteMemberships writes the users' memberships anew, in two statements
// for any number of users.
func (tx *Tx) rewriteMemberships(ctx context.Context, users []*muster.User) error {
	if len(users) == 0 {
		return nil
	}
	for chunk := range slices.Chunk(users, 500) {
		ids := make([]any, len(chunk))
		for i, u := range chunk {
			ids[i] = u.ID
		}
		list, args := inList(ids)
		if _, err := tx.exec(ctx, `DELETE FROM memberships WHERE user_id IN (`+list+`)`, args...); err != nil {
			return err
		}
	}
	return tx.insertMemberships(ctx, users)
}

// wasColumns are the columns of users u that UpdateUser reads as they were
// before its change: the status and the teams.
const wasColumns = `u.status, u.teams`

// updateUserRow writes u's row, its version increased, and reads the
// status and teams it had into was: in the UPDATE itself where the dialect
// can (OneStatementWrites), else in a SELECT before it.
func (tx *Tx) updateUserRow(ctx context.Context, u, was *muster.User) error {
	emailKey, sortKey, lastKey := userKeys(u)
	set := `email = $3, email_key = $4, first_name = $5, last_name = $6,
			sort_key = $7, last_key = $8, role = $9, status = $10, password_hash = $11, invited_at = $12,
			invited_by = $13, activated_at = $14, deactivated_at = $15, last_sign_in_at = $16, updated_at = $17,
			external_id = $18, scim_deleted_at = $19, teams = $20, version = version + 1`
	args := []any{u.OrgID, u.ID, u.Email, emailKey, u.FirstName, u.LastName, sortKey, lastKey, u.Role, u.Status,
		u.PasswordHash, micros(u.InvitedAt), nullID(u.InvitedByID), micros(u.ActivatedAt), micros(u.DeactivatedAt),
		micros(u.LastSignInAt), micros(u.UpdatedAt), u.ExternalID, micros(u.SCIMDeletedAt), TeamList(u)}
	if tx.dialect.OneStatementWrites {
		// was is read in the UPDATE's snapshot; the memberships are
		// rewritten after it.
		return tx.queryRow(ctx, `WITH was AS (SELECT `+wasColumns+` AS teams FROM users u WHERE u.org_id = $1 AND u.id = $2)
			UPDATE users SET `+set+` FROM was WHERE users.org_id = $1 AND users.id = $2
			RETURNING users.version, was.status, was.teams`, args...).Scan(&u.Version, &was.Status, teams{was})
	}
	err := tx.queryRow(ctx, `SELECT `+wasColumns+` FROM users u WHERE u.org_id = $1 AND u.id = $2`,
		u.OrgID, u.ID).Scan(&was.Status, teams{was})
	if err != nil {
		return err
	}
	return tx.queryRow(ctx, `UPDATE users SET `+set+` WHERE org_id = $1 AND id = $2 RETURNING version`,
		args...).Scan(&u.Version)
}

// sortedIDs returns ids in increasing order, as the teams column lists them.
func sortedIDs(ids []int64) []int64 {
	if slices.IsSorted(ids) {
		return ids
	}
	return slices.Sorted(slices.Values(ids))
}

// insertMemberships writes the users' primary and secondary teams.
func (tx *Tx) insertMemberships(ctx context.Context, users []*muster.User) error {
	var args []any
	for _, u := range users {
		args = append(args, u.ID, u.PrimaryTeamID, "primary")
		for _, id := range u.SecondaryTeamIDs {
			args = append(args, u.ID, id, "secondary")
		}
	}
	_, err := tx.insertRows(ctx, `INSERT INTO memberships (user_id, team_id, kind)`, []string{"bigint", "bigint", "text"}, args, false)
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

// FindUserAndPeek implements muster.Tx.
func (tx *Tx) FindUserAndPeek(ctx context.Context, orgID, id, peekID int64) (found, peeked *muster.User, err error) {
	if !tx.dialect.OneStatementWrites {
		if peeked, err = tx.PeekUser(ctx, orgID, peekID); err != nil {
			return nil, nil, err
		}
		found, err = tx.FindUser(ctx, orgID, id)
		return found, peeked, err
	}
	lock := tx.forUpdate()
	if lock != "" {
		lock += " OF u" // the found user's row alone
	}
	// The peeked user is read by a subquery of its own, in which u names
	// them as userColumns expects.
	found, peeked = &muster.User{}, &muster.User{}
	err = tx.queryRow(ctx, `SELECT `+userColumns+`, peeked.*
		FROM users u, (SELECT `+userColumns+` FROM users u WHERE u.org_id = $1 AND u.id = $3) peeked
		WHERE u.org_id = $1 AND u.id = $2`+lock, orgID, id, peekID).Scan(append(userFields(found), userFields(peeked)...)...)
	if err != nil {
		return nil, nil, notFound(err, "User")
	}
	settleUser(found)
	settleUser(peeked)
	return found, peeked, nil
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
	return tx.findUsersByID(ctx, orgID, ids, "")
}

// LockUsers implements muster.Tx.
func (tx *Tx) LockUsers(ctx context.Context, orgID int64, ids []int64) ([]*muster.User, error) {
	return tx.findUsersByID(ctx, orgID, ids, tx.forUpdate())
}

// findUsersByID is FindUsersByID with lock after the query.
func (tx *Tx) findUsersByID(ctx context.Context, orgID int64, ids []int64, lock string) ([]*muster.User, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var users []*muster.User
	for chunk := range slices.Chunk(slices.Sorted(slices.Values(ids)), 500) {
		list, args := inList(anySlice(chunk))
		// The org is the last argument, after the padded list.
		args = append(args, orgID)
		var err error
		users, err = tx.appendUsers(ctx, users, `SELECT `+userColumns+` FROM users u WHERE u.id IN (`+list+`)
			AND `+tx.dialect.OrgInIDOrder+` = $`+itoa(len(args))+` ORDER BY u.id`+lock, args...)
		if err != nil {
			return nil, err
		}
	}
	return users, nil
}

// appendUsers appends the users query reads (userColumns) to users.
func (tx *Tx) appendUsers(ctx context.Context, users []*muster.User, query string, args ...any) ([]*muster.User, error) {
	rows, err := tx.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var u muster.User
		if err := scanUser(rows, &u); err != nil {
			return nil, err
		}
		users = append(users, &u)
	}
	return users, rows.Err()
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
// the list (or of a status or role) walks its order's index from the
// cursor; a search by name walks the names, last names and emails that
// match it in name order, each through its own index; a team, or a search
// in another order, that selects few users starts from them instead and
// sorts them (see findUsersQuery).
func (tx *Tx) FindUsers(ctx context.Context, f muster.UserFilter) ([]*muster.User, error) {
	return tx.findUsers(ctx, f, userColumns, userFields)
}

// FindUserListing implements muster.Tx: FindUsers's users with the columns
// of listColumns alone.
func (tx *Tx) FindUserListing(ctx context.Context, f muster.UserFilter) ([]*muster.User, error) {
	return tx.findUsers(ctx, f, listColumns, listFields)
}

// roomForRows is the most rows findUsers makes room for before it reads
// them: more than a page of the API's or the console's, where a bulk
// action asks for up to a thousand users and may find a few.
const roomForRows = 256

// findUsers reads the users f selects, as columns, scanned into fields.
// Each is of f's org, which columns need not hold.
func (tx *Tx) findUsers(ctx context.Context, f muster.UserFilter, columns string,
	fields func(*muster.User) []any) ([]*muster.User, error) {
	query, args, err := tx.findUsersQuery(ctx, f, columns)
	if err != nil {
		return nil, err
	}
	rows, err := tx.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	// Each row is scanned into row, through one list of its fields, and
	// copied into a block that holds the page's users: a list of fields
	// and an allocation a row were a tenth of a page's allocations. The
	// block grows past a page, if it must, before any user's address is
	// taken.
	var row muster.User
	dests := fields(&row)
	block := make([]muster.User, 0, min(f.Limit, roomForRows))
	for rows.Next() {
		row = muster.User{OrgID: f.OrgID}
		if err := rows.Scan(dests...); err != nil {
			return nil, err
		}
		settleUser(&row)
		block = append(block, row)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	users := make([]*muster.User, len(block))
	for i := range block {
		users[i] = &block[i]
	}
	return users, nil
}

// userOrders are, for each order, the columns it sorts by and the index
// that holds them in that order after org_id (migrations 00001 and 00016).
// Users who never signed in have no time, sorted as 0 in both dialects
// (which sort NULL differently).
var userOrders = map[muster.UserSort]struct {
	columns []string
	index   string
}{
	muster.SortName:       {[]string{`u.sort_key`, `u.id`}, `users_org_sort`},
	muster.SortEmail:      {[]string{`u.email_key`, `u.id`}, `users_org_email_order`},
	muster.SortRole:       {[]string{`u.role`, `u.sort_key`, `u.id`}, `users_org_role_sort`},
	muster.SortStatus:     {[]string{`u.status`, `u.sort_key`, `u.id`}, `users_org_status_sort`},
	muster.SortInvited:    {[]string{`u.invited_at`, `u.id`}, `users_org_invited_order`},
	muster.SortLastSignIn: {[]string{`coalesce(u.last_sign_in_at, 0)`, `u.id`}, `users_org_signin_order`},
}

// userOrder is the columns order o sorts by, by name for "" or an order
// it does not know.
func userOrder(o muster.UserSort) []string {
	if order, ok := userOrders[o]; ok {
		return order.columns
	}
	return userOrders[muster.SortName].columns
}

// walkIndex is the index a walk of the list reads (see findUsersQuery):
// the order's, and in name order the users of a status, or else of a
// role, if f has one.
func walkIndex(f muster.UserFilter) string {
	order, ok := userOrders[f.Sort]
	switch {
	case ok && f.Sort != muster.SortName:
		return order.index
	case f.Status != "":
		return userOrders[muster.SortStatus].index
	case f.Role != "":
		return userOrders[muster.SortRole].index
	}
	return userOrders[muster.SortName].index
}

// cursorValues are c's values of userOrder(o)'s columns.
func cursorValues(o muster.UserSort, c *muster.UserCursor) ([]any, error) {
	switch o {
	case muster.SortEmail:
		return []any{c.Key, c.ID}, nil
	case muster.SortRole, muster.SortStatus:
		return []any{c.Key, c.SortKey, c.ID}, nil
	case muster.SortInvited, muster.SortLastSignIn:
		t, err := strconv.ParseInt(c.Key, 10, 64)
		if err != nil {
			return nil, muster.BadCursor()
		}
		return []any{t, c.ID}, nil
	}
	return []any{c.SortKey, c.ID}, nil
}

// orderBy is the ORDER BY list of cols, each descending when desc.
func orderBy(cols []string, desc bool) string {
	if !desc {
		return strings.Join(cols, ", ")
	}
	return strings.Join(cols, " DESC, ") + " DESC"
}

// userConds are the conditions of a user listing, built with its
// arguments.
type userConds struct {
	where []string
	args  []any
}

func (c *userConds) arg(v any) string {
	c.args = append(c.args, v)
	return "$" + itoa(len(c.args))
}

// base adds the conditions of f that every shape tests row by row: the
// org, the status and the role.
func (c *userConds) base(f muster.UserFilter) {
	c.where = append(c.where, `u.org_id = `+c.arg(f.OrgID))
	switch {
	case f.Status != "":
		c.where = append(c.where, `u.status = `+c.arg(f.Status))
	case f.Sort == muster.SortStatus:
		// The listed statuses (active, deactivated, pending) are those
		// before withdrawn: a range of the status order's index, which an
		// IN list would break into three, to be merged by a sort.
		c.where = append(c.where, `u.status < 'withdrawn'`)
	default:
		c.where = append(c.where, `u.status IN ('pending', 'active', 'deactivated')`)
	}
	if f.Role != "" {
		c.where = append(c.where, `u.role = `+c.arg(f.Role))
	}
	switch f.TwoStep {
	case "on":
		c.where = append(c.where, `u.two_step`)
	case "off":
		c.where = append(c.where, `NOT u.two_step`)
	}
	if f.SendAsID != 0 {
		grant := `SELECT 1 FROM send_as_grants g WHERE g.permission_id = ` + c.arg(f.SendAsID) + ` AND g.user_id = u.id`
		// A probe of the grant's key for each user walked, never a join:
		// PostgreSQL keeps a subquery with an OFFSET as it is, where
		// without statistics of a permission's new grants it joined each
		// user to all of them (85 ms for a search of 339 users and 7,039
		// grants) or sorted every holder for a page of 50.
		probe := grant + ` LIMIT 1 OFFSET 0`
		switch {
		case !f.SendAsHeld:
			c.where = append(c.where, `NOT EXISTS (`+probe+`)`)
		case f.SendAsMany:
			c.where = append(c.where, `EXISTS (`+probe+`)`)
		default:
			c.where = append(c.where, `EXISTS (`+grant+`)`)
		}
	}
}

// search is how a listing matches f.Query: the conditions of its three
// kinds of match (full name, last name, email), and whether each kind can
// be walked in name order from its own index (merged).
type search struct {
	name, last, email string
	merged            bool
}

func (s search) any() string { return `(` + s.name + ` OR ` + s.last + ` OR ` + s.email + `)` }

// matchConds builds the match conditions of q, a SearchKey, with c's
// arguments.
func matchConds(c *userConds, q string) search {
	lo, hi := c.arg(q), c.arg(q+"\U0010FFFF")
	s := search{name: between(`u.sort_key`, lo, hi), last: between(`u.last_key`, lo, hi), email: between(`u.email_key`, lo, hi)}
	if prefix, ok := muster.SearchPrefix(q); ok {
		p := c.arg(prefix)
		s.last = `substr(u.last_key, 1, 3) = ` + p + ` AND ` + s.last
		s.email = `substr(u.email_key, 1, 3) = ` + p + ` AND ` + s.email
		s.merged = true
	} else {
		// Keys that begin with q are those whose first three letters do.
		s.last, s.email = between(`substr(u.last_key, 1, 3)`, lo, hi), between(`substr(u.email_key, 1, 3)`, lo, hi)
	}
	return s
}

// search builds the match conditions of q, a SearchKey, with c's
// arguments, and tells whether its matches are few enough to start from
// (see findUsersQuery): in name order, the last names and emails that
// match a search shorter than muster.SearchPrefixLength (the full names,
// and the three kinds of a longer search, are walked in name order); in
// another order, every kind.
func (tx *Tx) search(ctx context.Context, c *userConds, orgID int64, q string, byName bool) (search, bool, error) {
	s := matchConds(c, q)
	if byName && s.merged {
		return s, false, nil
	}
	sub := &userConds{}
	org := `u.org_id = ` + sub.arg(orgID)
	m := matchConds(sub, q)
	// The name's condition uses the org, lo and hi only.
	kinds := []struct {
		cond string
		args []any
	}{{m.name, sub.args[:3]}, {m.last, sub.args}, {m.email, sub.args}}
	if byName {
		kinds = kinds[1:]
	}
	// Every kind of match must be few: emails often start with a first
	// name, so a common one matches thousands.
	for _, k := range kinds {
		few, err := tx.fewerThan(ctx, selectiveLimit, `SELECT 1 FROM users u WHERE `+org+` AND `+k.cond, k.args...)
		if err != nil || !few {
			return s, false, err
		}
	}
	return s, true, nil
}

// findUsersQuery builds FindUsers' query in one of four shapes:
//
//   - walk: users in the order from the cursor, through the order's index
//     (walkIndex: users_org_sort by name, or users_org_status_sort,
//     users_org_role_sort for a status or role filter), each filter checked
//     row by row, until the page is full;
//   - team: the team's memberships (memberships_team), then their users,
//     sorted — when the team has fewer than selectiveLimit memberships;
//   - search by name: the page's first matches of each kind, merged: full
//     names (a range of users_org_sort), last names and emails (of
//     users_org_last_prefix and users_org_email_prefix, which hold each
//     key's first three letters before the sort key). For a search of
//     three letters or more, each kind is walked in name order and read
//     only until a page of it is full, from the indexes alone; only the
//     page's users are read from the table. A shorter search reads every
//     last name and email that matches, and takes this shape only when
//     fewer than selectiveLimit do; otherwise it walks, and soon fills a
//     page, matches being many;
//   - search in another order: every match, read through the same three
//     indexes, sorted — when each kind has fewer than selectiveLimit
//     matches; otherwise it walks the order's index, matches being many.
//
// The shapes return the same rows; the MATERIALIZED CTE and the UNION keep
// each planner from turning a start-from-matches shape back into a walk,
// and CROSS JOIN fixes the join order in SQLite.
func (tx *Tx) findUsersQuery(ctx context.Context, f muster.UserFilter, columns string) (string, []any, error) {
	c := &userConds{}
	c.base(f)
	order := userOrder(f.Sort)
	if f.After != nil {
		vals, err := cursorValues(f.Sort, f.After)
		if err != nil {
			return "", nil, err
		}
		marks := make([]string, len(vals))
		for i, v := range vals {
			marks[i] = c.arg(v)
		}
		cmp, bound := ` > `, ` >= `
		if f.Desc {
			cmp, bound = ` < `, ` <= `
		}
		keyset := `(` + strings.Join(order, ", ") + `)` + cmp + `(` + strings.Join(marks, ", ") + `)`
		if f.Sort == muster.SortLastSignIn {
			// The bound on the first column alone is implied by the row
			// comparison, but SQLite takes only it as the range of an
			// index whose first column is an expression. (On the other
			// orders it would make SQLite prefer it to the row
			// comparison, a wider range.)
			keyset = order[0] + bound + marks[0] + ` AND ` + keyset
		}
		c.where = append(c.where, keyset)
	}
	var team, kind string
	var teamFew bool
	var err error
	if f.PrimaryOnly {
		kind = ` AND kind = 'primary'`
	}
	if f.TeamID != 0 {
		team = c.arg(f.TeamID)
		teamFew, err = tx.fewerThan(ctx, selectiveLimit, `SELECT 1 FROM memberships WHERE team_id = $1`+kind, f.TeamID)
		if err != nil {
			return "", nil, err
		}
	}
	byName := f.Sort == "" || f.Sort == muster.SortName
	var s search
	var searchFew bool
	q := muster.SearchKey(f.Query)
	switch {
	case q != "" && teamFew:
		// The team's few members are read and tested row by row.
		s = matchConds(c, q)
	case q != "":
		if s, searchFew, err = tx.search(ctx, c, f.OrgID, q, byName); err != nil {
			return "", nil, err
		}
	}
	inTeam := `EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id AND m.team_id = ` + team + kind + `)`
	// A page's size is part of its statement, not an argument: PostgreSQL
	// costs a generic plan's LIMIT $n as a tenth of the rows, so it planned
	// every page by cursor again (0.3 ms, three times the page's run); page
	// sizes are few, and so are the statements. A search keeps it an
	// argument: written in, the merged search's generic plan costs more
	// than its plans for values, and PostgreSQL would plan every search.
	limit := itoa(f.Limit)
	if q != "" {
		limit = c.arg(f.Limit)
	}
	and := func(conds ...string) string { return strings.Join(conds, " AND ") }
	tail := ` ORDER BY ` + orderBy(order, f.Desc) + ` LIMIT ` + limit
	where := c.where
	// A walk of the list, and a search walked in name order, read the same
	// index ranges whatever the values; a team's or a short search's rows
	// are as many as its matches.
	args := c.args
	if team != "" || (q != "" && !(byName && s.merged)) {
		args = tx.planForValues(args)
	}
	switch {
	case teamFew:
		if q != "" {
			where = append(where, s.any())
		}
		return `WITH m AS MATERIALIZED (SELECT user_id FROM memberships WHERE team_id = ` + team + kind + `)
			SELECT ` + columns + ` FROM m CROSS JOIN users u
			WHERE u.id = m.user_id AND ` + and(where...) + tail, args, nil
	case q != "" && byName && (s.merged || searchFew):
		if team != "" {
			where = append(where, inTeam)
		}
		// The page's first matches of each kind, in name order.
		matches := func(match string) string {
			return `(SELECT u.id, u.sort_key FROM users u WHERE ` + and(append(slices.Clip(where), match)...) + tail + `)`
		}
		// UNION drops the users who match in more than one way. (Making
		// the kinds disjoint instead, for a UNION ALL, would make a kind
		// whose matches mostly match another way too, such as emails that
		// begin with the first name searched, read all of its matches.)
		return `SELECT ` + columns + ` FROM (
				SELECT id, sort_key FROM ` + matches(s.name) + ` a
				UNION SELECT id, sort_key FROM ` + matches(s.last) + ` b
				UNION SELECT id, sort_key FROM ` + matches(s.email) + ` c
				ORDER BY ` + orderBy([]string{"sort_key", "id"}, f.Desc) + ` LIMIT ` + limit + `
			) s CROSS JOIN users u
			WHERE u.id = s.id ORDER BY ` + orderBy([]string{"s.sort_key", "s.id"}, f.Desc), args, nil
	case q != "" && searchFew:
		// Every match, by id, from the indexes; then the page, sorted.
		if team != "" {
			where = append(where, inTeam)
		}
		org := where[0]
		return `WITH s AS MATERIALIZED (
				SELECT u.id FROM users u WHERE ` + org + ` AND ` + s.name + `
				UNION SELECT u.id FROM users u WHERE ` + org + ` AND ` + s.last + `
				UNION SELECT u.id FROM users u WHERE ` + org + ` AND ` + s.email + `)
			SELECT ` + columns + ` FROM s CROSS JOIN users u
			WHERE u.id = s.id AND ` + and(where...) + tail, args, nil
	default:
		if team != "" {
			where = append(where, inTeam)
		}
		if q != "" {
			where = append(where, s.any())
		}
		return `SELECT ` + columns + ` FROM ` + tx.dialect.usersThrough(walkIndex(f)) + ` WHERE ` +
			and(where...) + tail, args, nil
	}
}

// UserListVersion implements muster.Tx. Triggers keep the version (see
// migration 00022): every path that writes users counts without knowing.
func (tx *Tx) UserListVersion(ctx context.Context, orgID int64) (int64, error) {
	var version int64
	err := tx.queryRow(ctx, `SELECT version FROM user_list_versions WHERE org_id = $1`, orgID).Scan(&version)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return version, err
}

// CountUsers implements muster.Tx: the listing's users, counted from the
// same indexes as FindUsers reads them, up to limit.
func (tx *Tx) CountUsers(ctx context.Context, f muster.UserFilter, limit int) (int, error) {
	c := &userConds{}
	f.Sort = muster.SortName
	c.base(f)
	from := `users u`
	if f.TeamID != 0 {
		from = `memberships m CROSS JOIN users u`
		c.where = append(c.where, `m.team_id = `+c.arg(f.TeamID), `u.id = m.user_id`)
		if f.PrimaryOnly {
			c.where = append(c.where, `m.kind = 'primary'`)
		}
	}
	and := func(conds ...string) string { return strings.Join(conds, " AND ") }
	query := `SELECT 1 FROM ` + from + ` WHERE ` + and(c.where...)
	if q := muster.SearchKey(f.Query); q != "" {
		s := matchConds(c, q)
		// Each kind of match from its own index, without the duplicates.
		kind := func(match string) string {
			return `SELECT u.id FROM ` + from + ` WHERE ` + and(append(slices.Clip(c.where), match)...)
		}
		query = kind(s.name) + ` UNION ` + kind(s.last) + ` UNION ` + kind(s.email)
	}
	var n int
	err := tx.queryRow(ctx, `SELECT count(*) FROM (`+query+` LIMIT `+itoa(limit)+`) c`, tx.planForValues(c.args)...).Scan(&n)
	return n, err
}

// between is the condition that col lies in [lo, hi).
func between(col, lo, hi string) string {
	return `(` + col + ` >= ` + lo + ` AND ` + col + ` < ` + hi + `)`
}

// fewerThan reports whether query, a SELECT, returns fewer than n rows. It
// reads at most n.
func (tx *Tx) fewerThan(ctx context.Context, n int, query string, args ...any) (bool, error) {
	var count int
	err := tx.queryRow(ctx, `SELECT count(*) FROM (`+query+` LIMIT `+itoa(n)+`) c`, tx.planForValues(args)...).Scan(&count)
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
	// Dialect.OrgInIDOrder. An index on (org_id, id) would spare the rows of
	// other orgs.
	rows, err := tx.query(ctx, `SELECT `+userColumns+`, coalesce(i.first_name || ' ' || i.last_name, '')
		FROM users u LEFT JOIN users i ON i.id = u.invited_by
		WHERE `+tx.dialect.OrgInIDOrder+` = $1 AND u.id > $2 AND u.status IN ('pending', 'active', 'deactivated')
		ORDER BY u.id LIMIT $3`, tx.planForValues([]any{orgID, afterID, limit})...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	batch := make([]muster.ExportedUser, 0, limit) // one allocation for the batch's users
	for rows.Next() {
		batch = append(batch, muster.ExportedUser{})
		e := &batch[len(batch)-1]
		if err := scanUser(rowWithExtra{rows, []any{&e.InvitedByName}}, &e.User); err != nil {
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
	extra []any
}

func (r rowWithExtra) Scan(dest ...any) error { return r.row.Scan(append(dest, r.extra...)...) }
