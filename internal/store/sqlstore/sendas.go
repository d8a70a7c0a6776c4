package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"github.com/muster-app/muster/internal/muster"
)

const sendAsColumns = `p.id, p.org_id, p.from_name, p.from_email, p.reply_to_name, p.reply_to_email, p.created_at,
	p.updated_at, p.version`

// sendAsReturning are sendAsColumns in a RETURNING clause, which names no
// table on SQLite.
var sendAsReturning = strings.ReplaceAll(sendAsColumns, "p.", "")

func scanSendAs(row interface{ Scan(...any) error }, p *muster.SendAsPermission) error {
	return row.Scan(sendAsFields(p)...)
}

// sendAsFields are where sendAsColumns are scanned to.
func sendAsFields(p *muster.SendAsPermission) []any {
	return []any{&p.ID, &p.OrgID, &p.FromName, &p.FromEmail, &p.ReplyToName, &p.ReplyToEmail,
		nullTime{&p.CreatedAt}, nullTime{&p.UpdatedAt}, &p.Version}
}

// CreateSendAs implements muster.Tx.
func (tx *Tx) CreateSendAs(ctx context.Context, p *muster.SendAsPermission) error {
	id, err := tx.insert(ctx, `INSERT INTO send_as_permissions (org_id, from_name, from_email, from_email_key,
			reply_to_name, reply_to_email, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, p.OrgID, p.FromName, p.FromEmail, muster.NormalizeEmail(p.FromEmail),
		p.ReplyToName, p.ReplyToEmail, micros(p.CreatedAt), micros(p.UpdatedAt))
	if err != nil {
		return err
	}
	p.ID, p.Version = id, 1
	return tx.insertGrants(ctx, p.ID, p.UpdatedAt, p.UserIDs)
}

// UpdateSendAs implements muster.Tx. The grants kept are not written:
// renaming a permission of every Active user writes one row.
func (tx *Tx) UpdateSendAs(ctx context.Context, p *muster.SendAsPermission, added, removed []int64) error {
	err := tx.queryRow(ctx, `UPDATE send_as_permissions SET from_name = $3, from_email = $4, from_email_key = $5,
			reply_to_name = $6, reply_to_email = $7, updated_at = $8, version = version + 1
		WHERE org_id = $1 AND id = $2 RETURNING version`, p.OrgID, p.ID, p.FromName, p.FromEmail,
		muster.NormalizeEmail(p.FromEmail), p.ReplyToName, p.ReplyToEmail, micros(p.UpdatedAt)).Scan(&p.Version)
	if err != nil {
		return notFound(err, "Send As permission")
	}
	for chunk := range slices.Chunk(removed, grantsChunk) {
		list, args := inList(anySlice(chunk))
		args = append(args, p.ID)
		if _, err := tx.exec(ctx, `DELETE FROM send_as_grants WHERE permission_id = $`+itoa(len(args))+
			` AND user_id IN (`+list+`)`, args...); err != nil {
			return err
		}
	}
	return tx.insertGrants(ctx, p.ID, p.UpdatedAt, added)
}

// grantsChunk is how many grants one statement writes: under every
// dialect's limit on bound parameters.
const grantsChunk = 500

// insertGrants grants the permission to the users at a time.
func (tx *Tx) insertGrants(ctx context.Context, permissionID int64, at time.Time, userIDs []int64) error {
	for ids := range slices.Chunk(userIDs, grantsChunk) {
		args := []any{permissionID, micros(at)}
		values := make([]string, len(ids))
		for i, id := range ids {
			args = append(args, id)
			values[i] = "($1, $" + itoa(len(args)) + ", $2)"
		}
		if _, err := tx.exec(ctx, `INSERT INTO send_as_grants (permission_id, user_id, created_at) VALUES `+
			strings.Join(values, ", "), args...); err != nil {
			return err
		}
	}
	return nil
}

// DeleteSendAs implements muster.Tx.
func (tx *Tx) DeleteSendAs(ctx context.Context, orgID, id int64) error {
	if _, err := tx.exec(ctx, `DELETE FROM send_as_grants WHERE permission_id = $1
		AND permission_id IN (SELECT id FROM send_as_permissions WHERE org_id = $2)`, id, orgID); err != nil {
		return err
	}
	_, err := tx.exec(ctx, `DELETE FROM send_as_permissions WHERE org_id = $1 AND id = $2`, orgID, id)
	return err
}

// FindSendAs implements muster.Tx. In a write transaction it locks the
// permission's row, so that its version cannot change before the commit.
func (tx *Tx) FindSendAs(ctx context.Context, orgID, id int64) (*muster.SendAsPermission, error) {
	return tx.findOneSendAs(ctx, `p.org_id = $1 AND p.id = $2`+tx.forUpdate(), orgID, id)
}

// FindSendAsByEmail implements muster.Tx.
func (tx *Tx) FindSendAsByEmail(ctx context.Context, orgID int64, email string) (*muster.SendAsPermission, error) {
	return tx.findOneSendAs(ctx, `p.org_id = $1 AND p.from_email_key = $2`, orgID, muster.NormalizeEmail(email))
}

func (tx *Tx) findOneSendAs(ctx context.Context, where string, args ...any) (*muster.SendAsPermission, error) {
	perms, err := tx.findSendAs(ctx, `SELECT `+sendAsColumns+` FROM send_as_permissions p WHERE `+where, args...)
	if err != nil {
		return nil, err
	}
	if len(perms) == 0 {
		return nil, muster.Errorf(muster.ENOTFOUND, "Send As permission not found.")
	}
	return perms[0], nil
}

// FindSendAsPermissions implements muster.Tx.
func (tx *Tx) FindSendAsPermissions(ctx context.Context, orgID int64) ([]*muster.SendAsPermission, error) {
	return tx.findSendAs(ctx, `SELECT `+sendAsColumns+` FROM send_as_permissions p WHERE p.org_id = $1
		ORDER BY p.from_email_key, p.id`, orgID)
}

// sendAsSummary selects sendAsColumns and the number of grants of the
// permissions p.
const sendAsSummary = `SELECT ` + sendAsColumns + `,
	(SELECT count(*) FROM send_as_grants g WHERE g.permission_id = p.id) FROM send_as_permissions p WHERE `

// FindSendAsSummaries implements muster.Tx.
func (tx *Tx) FindSendAsSummaries(ctx context.Context, orgID int64) ([]*muster.SendAsPermission, error) {
	return tx.querySendAs(ctx, scanSendAsSummary, sendAsSummary+`p.org_id = $1 ORDER BY p.from_email_key, p.id`, orgID)
}

// querySendAs reads the permissions query selects, each row read by scan,
// without their grants.
func (tx *Tx) querySendAs(ctx context.Context, scan func(row interface{ Scan(...any) error }, p *muster.SendAsPermission) error,
	query string, args ...any) ([]*muster.SendAsPermission, error) {
	var perms []*muster.SendAsPermission
	err := tx.eachRow(ctx, func(rows *sql.Rows) error {
		var p muster.SendAsPermission
		perms = append(perms, &p)
		return scan(rows, &p)
	}, query, args...)
	return perms, err
}

// FindSendAsSummary implements muster.Tx.
func (tx *Tx) FindSendAsSummary(ctx context.Context, orgID, id int64) (*muster.SendAsPermission, error) {
	var p muster.SendAsPermission
	err := scanSendAsSummary(tx.queryRow(ctx, sendAsSummary+`p.org_id = $1 AND p.id = $2`, orgID, id), &p)
	if err != nil {
		return nil, notFound(err, "Send As permission")
	}
	return &p, nil
}

func scanSendAsSummary(row interface{ Scan(...any) error }, p *muster.SendAsPermission) error {
	return row.Scan(append(sendAsFields(p), &p.UserCount)...)
}

// FindUserSendAs implements muster.Tx.
func (tx *Tx) FindUserSendAs(ctx context.Context, userID int64) ([]*muster.SendAsPermission, error) {
	return tx.querySendAs(ctx, scanSendAs, `SELECT `+sendAsColumns+` FROM send_as_permissions p
		JOIN send_as_grants g ON g.permission_id = p.id WHERE g.user_id = $1
		ORDER BY p.from_email_key, p.id`, userID)
}

// findSendAs runs a query for permissions and fills their grants with one
// more query.
func (tx *Tx) findSendAs(ctx context.Context, query string, args ...any) ([]*muster.SendAsPermission, error) {
	rows, err := tx.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var perms []*muster.SendAsPermission
	byID := map[int64]*muster.SendAsPermission{}
	for rows.Next() {
		var p muster.SendAsPermission
		if err := scanSendAs(rows, &p); err != nil {
			return nil, err
		}
		perms = append(perms, &p)
		byID[p.ID] = &p
	}
	if err := rows.Err(); err != nil || len(perms) == 0 {
		return perms, err
	}
	ids := make([]any, len(perms))
	for i, p := range perms {
		ids[i] = p.ID
	}
	list, args := inList(ids)
	grants, err := tx.query(ctx, `SELECT permission_id, user_id FROM send_as_grants
		WHERE permission_id IN (`+list+`) ORDER BY permission_id, user_id`, args...)
	if err != nil {
		return nil, err
	}
	defer grants.Close()
	for grants.Next() {
		var pid, uid int64
		if err := grants.Scan(&pid, &uid); err != nil {
			return nil, err
		}
		byID[pid].UserIDs = append(byID[pid].UserIDs, uid)
		byID[pid].UserCount++
	}
	return perms, grants.Err()
}

// LockActiveUserIDs implements muster.Tx. PostgreSQL checks a user's
// status again once the lock is theirs: one deactivated meanwhile is left
// out.
func (tx *Tx) LockActiveUserIDs(ctx context.Context, orgID, without int64) ([]int64, error) {
	if without == 0 {
		return queryColumn[int64](ctx, tx, `SELECT u.id FROM users u WHERE u.org_id = $1 AND u.status = 'active'
			ORDER BY u.id`+tx.forNoKeyUpdate(), orgID)
	}
	// A probe of each user's grant, as FindUsers makes it (see
	// userConds.base): never a join whose plan depends on statistics.
	return queryColumn[int64](ctx, tx, `SELECT u.id FROM users u WHERE u.org_id = $1 AND u.status = 'active'
		AND NOT EXISTS (SELECT 1 FROM send_as_grants g WHERE g.permission_id = $2 AND g.user_id = u.id LIMIT 1 OFFSET 0)
		ORDER BY u.id`+tx.forNoKeyUpdate(), orgID, without)
}

// deleteUserSendAsGrants removes every grant of the user, increments the
// versions of the permissions concerned and returns them, after making
// writes that read none of those (EndUserAccess's): one statement with
// Dialect.OneStatementWrites (the writes and the grants' DELETE WITH
// clauses of the permissions' UPDATE, which reads the grants as they
// were), one each without.
func (tx *Tx) deleteUserSendAsGrants(ctx context.Context, userID int64, writes ...write) ([]*muster.SendAsPermission, error) {
	// The permissions' grants change, so do their versions.
	bump := `UPDATE send_as_permissions SET version = version + 1
		WHERE id IN (SELECT permission_id FROM send_as_grants WHERE user_id = $1)
		RETURNING ` + sendAsReturning
	grants := write{query: `DELETE FROM send_as_grants WHERE user_id = $1`, args: []any{userID}}
	query, args := bump, []any{userID}
	if tx.dialect.OneStatementWrites {
		// The bump reads the grants as they were before the statement.
		query, args = withWrites(append(writes, grants), bump, args)
	} else if err := tx.execAll(ctx, writes...); err != nil {
		return nil, err
	}
	rows, err := tx.query(ctx, query, args...)
	perms, err := collect(rows, err, func(rows *sql.Rows) (*muster.SendAsPermission, error) {
		var p muster.SendAsPermission
		return &p, scanSendAs(rows, &p)
	})
	if err != nil {
		return nil, err
	}
	if !tx.dialect.OneStatementWrites {
		if _, err := tx.exec(ctx, grants.query, grants.args...); err != nil {
			return nil, err
		}
	}
	// In the order of the org's list of permissions.
	slices.SortFunc(perms, func(a, b *muster.SendAsPermission) int {
		return cmp.Or(strings.Compare(muster.NormalizeEmail(a.FromEmail), muster.NormalizeEmail(b.FromEmail)),
			cmp.Compare(a.ID, b.ID))
	})
	return perms, nil
}
