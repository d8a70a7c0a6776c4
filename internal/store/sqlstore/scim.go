package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/muster-app/muster/internal/muster"
)

// SelectUsers implements muster.Tx.
func (tx *Tx) SelectUsers(ctx context.Context, sel muster.Selection) ([]*muster.User, error) {
	where, args, err := tx.selectionWhere(sel)
	if err != nil {
		return nil, err
	}
	args = append(args, sel.Limit)
	page := ` ORDER BY u.id LIMIT $` + itoa(len(args))
	// An offset of 0 is left out: PostgreSQL costs an offset it does not
	// know as rows skipped, which makes the plan kept for any values look
	// dearer than one made for them, so it would plan every lookup again.
	if sel.Offset > 0 {
		args = append(args, sel.Offset)
		page += ` OFFSET $` + itoa(len(args))
	}
	rows, err := tx.query(ctx, `SELECT `+userColumns+` FROM users u WHERE `+where+page, tx.selectionArgs(sel, args)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	users := make([]*muster.User, 0, min(sel.Limit, 64))
	for rows.Next() {
		var u muster.User
		if err := scanUser(rows, &u); err != nil {
			return nil, err
		}
		users = append(users, &u)
	}
	return users, rows.Err()
}

// CountSelectedUsers implements muster.Tx.
func (tx *Tx) CountSelectedUsers(ctx context.Context, sel muster.Selection) (int, error) {
	where, args, err := tx.selectionWhere(sel)
	if err != nil {
		return 0, err
	}
	var n int
	err = tx.queryRow(ctx, `SELECT count(*) FROM users u WHERE `+where, tx.selectionArgs(sel, args)...).Scan(&n)
	return n, err
}

// selectionArgs returns the arguments of a selection's query, marked to
// have it planned for its values unless an index finds its user whatever
// the value: an email, an external ID or an id, which identity providers
// look up before every creation (planning that lookup took seven times as
// long as running it; docs/benchmarks.md, round 8).
func (tx *Tx) selectionArgs(sel muster.Selection, args []any) []any {
	if c := sel.Where; c != nil && c.Op == muster.CondEqual {
		switch c.Attr {
		case muster.AttrEmail, muster.AttrExternalID, muster.AttrID:
			return args
		}
	}
	return tx.planForValues(args)
}

// selectionWhere is the WHERE clause of a selection and its arguments. A
// condition that an index answers (an email, an external ID, an id) is
// found through it; any other (no condition, "contains") walks the
// primary key in id order, as the page is ordered, with the org named as
// ExportUsers names it so that SQLite does not read the whole org through
// one of its indexes and sort it.
func (tx *Tx) selectionWhere(sel muster.Selection) (string, []any, error) {
	args := []any{sel.OrgID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + itoa(len(args))
	}
	org := `u.org_id`
	if sel.Where == nil || !indexed(*sel.Where) {
		org = tx.dialect.OrgInIDOrder
	}
	where := org + ` = $1 AND u.scim_deleted_at IS NULL`
	if sel.Where == nil {
		return where, args, nil
	}
	cond, err := userCondition(*sel.Where, arg)
	if err != nil {
		return "", nil, err
	}
	return where + ` AND ` + cond, args, nil
}

// indexed reports whether an index finds the users c selects.
func indexed(c muster.Condition) bool {
	switch c.Op {
	case muster.CondAnd:
		for _, p := range c.Of {
			if indexed(p) {
				return true
			}
		}
		return false
	case muster.CondOr:
		for _, p := range c.Of {
			if !indexed(p) {
				return false
			}
		}
		return len(c.Of) > 0
	case muster.CondEqual:
		return true
	case muster.CondPrefix:
		return c.Attr == muster.AttrEmail
	}
	return false
}

// condition is c in SQL, each of its comparisons as compare writes it.
func condition(c muster.Condition, compare func(muster.Condition) (string, error)) (string, error) {
	switch c.Op {
	case muster.CondAnd, muster.CondOr:
		if len(c.Of) == 0 {
			return "", fmt.Errorf("sqlstore: %s of no conditions", c.Op)
		}
		parts := make([]string, len(c.Of))
		for i, p := range c.Of {
			var err error
			if parts[i], err = condition(p, compare); err != nil {
				return "", err
			}
		}
		return `(` + strings.Join(parts, ` `+strings.ToUpper(string(c.Op))+` `) + `)`, nil
	}
	return compare(c)
}

// userCondition is c in SQL over users u.
func userCondition(c muster.Condition, arg func(any) string) (string, error) {
	return condition(c, func(c muster.Condition) (string, error) {
		switch {
		case c.Attr == muster.AttrEmail:
			if sql, ok := compareKey(`u.email_key`, c.Op, muster.NormalizeEmail(c.Value), arg); ok {
				return sql, nil
			}
		case c.Attr == muster.AttrExternalID && c.Op == muster.CondEqual:
			return equalExternalID(`u.external_id`, c.Value, arg), nil
		case c.Attr == muster.AttrID && c.Op == muster.CondEqual:
			return equalID(`u.id`, c.Value, arg), nil
		}
		return "", fmt.Errorf("sqlstore: users have no condition %s %s", c.Attr, c.Op)
	})
}

// compareKey is column, a key kept folded as key is (an email's, a team
// name's), equal to key, starting with it or containing it, as op says;
// false for another op.
func compareKey(column string, op muster.CondOp, key string, arg func(any) string) (string, bool) {
	switch op {
	case muster.CondEqual:
		return column + ` = ` + arg(key), true
	case muster.CondPrefix:
		return between(column, arg(key), arg(key+"\U0010FFFF")), true
	case muster.CondContains:
		return column + ` LIKE ` + arg("%"+escapeLike(key)+"%") + ` ESCAPE '\'`, true
	}
	return "", false
}

// equalExternalID is column, an external ID, equal to value. A row without
// an external ID has none to equal, not an empty one; saying so lets
// PostgreSQL use the index of the rows that have one in a plan kept for
// any value.
func equalExternalID(column, value string, arg func(any) string) string {
	return `(` + column + ` = ` + arg(value) + ` AND ` + column + ` <> '')`
}

// equalID is column, an id, equal to value; a condition nothing meets if
// value is not an id.
func equalID(column, value string, arg func(any) string) string {
	id, ok := positiveID(value)
	if !ok {
		return noneSQL
	}
	return column + ` = ` + arg(id)
}

// positiveID is value as an id, if it is a positive whole number.
func positiveID(value string) (int64, bool) {
	id, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
	return id, err == nil && id > 0
}

// noneSQL is a condition nothing meets.
const noneSQL = `1 = 0`

// SelectTeams implements muster.Tx. A page after the first finds its
// teams before their counts are summed: PostgreSQL computes every column of
// the rows an OFFSET skips, so counting in the same SELECT summed the
// changes of every team before the page (16.7 ms for the last page of
// 2,020 teams). A page after a team is in name order alone, the order of
// the (org_id, name_key) index, which the LIMIT stops early: none of its
// teams is the Default Team.
func (tx *Tx) SelectTeams(ctx context.Context, sel muster.Selection) ([]*muster.Team, error) {
	where, args, err := teamSelectionWhere(sel)
	if err != nil {
		return nil, err
	}
	args = append(args, sel.Limit)
	page := ` LIMIT $` + itoa(len(args))
	if sel.AfterTeam != nil {
		return tx.queryTeams(ctx, `SELECT `+teamColumns+` FROM `+tx.dialect.teamsSelected(sel)+` WHERE `+where+
			` ORDER BY t.name_key`+page, args...)
	}
	if sel.Offset == 0 {
		return tx.queryTeams(ctx, `SELECT `+teamColumns+` FROM `+tx.dialect.teamsSelected(sel)+` WHERE `+where+
			` ORDER BY `+teamOrder+page, args...)
	}
	args = append(args, sel.Offset)
	page += ` OFFSET $` + itoa(len(args))
	return tx.queryTeams(ctx, `SELECT `+teamColumns+` FROM teams t WHERE t.org_id = $1 AND t.id IN (SELECT t.id FROM `+
		tx.dialect.teamsSelected(sel)+` WHERE `+where+` ORDER BY `+teamOrder+page+`) ORDER BY `+teamOrder, args...)
}

// CountSelectedTeams implements muster.Tx.
func (tx *Tx) CountSelectedTeams(ctx context.Context, sel muster.Selection) (int, error) {
	where, args, err := teamSelectionWhere(sel)
	if err != nil {
		return 0, err
	}
	var n int
	err = tx.queryRow(ctx, `SELECT count(*) FROM `+tx.dialect.teamsSelected(sel)+` WHERE `+where, args...).Scan(&n)
	return n, err
}

// teamsSelected is the teams table, as t, for a selection. A selection by a
// member reads the member's few teams by id: on SQLite, NOT INDEXED leaves
// its planner the rowid alone, where it would otherwise walk every team of
// the org through (org_id, name_key) (see Dialect.IndexedBy).
func (d *Dialect) teamsSelected(sel muster.Selection) string {
	if d.IndexedBy && sel.Where != nil && sel.Where.Op == muster.CondEqual && sel.Where.Attr == muster.AttrMember {
		return `teams t NOT INDEXED`
	}
	return `teams t`
}

// teamSelectionWhere is the WHERE clause of a selection of teams t and its
// arguments. Each comparison an identity provider makes before it pushes a
// group (a name, an external ID, an id) is answered by an index, however
// many groups it has pushed.
func teamSelectionWhere(sel muster.Selection) (string, []any, error) {
	args := []any{sel.OrgID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + itoa(len(args))
	}
	where := `t.org_id = $1`
	if after := sel.AfterTeam; after != nil {
		// The Default Team is first: every other team is after it.
		where += ` AND NOT t.is_default`
		if !after.Default {
			where += ` AND t.name_key > ` + arg(after.NameKey)
		}
	}
	if sel.Where == nil {
		return where, args, nil
	}
	cond, err := condition(*sel.Where, func(c muster.Condition) (string, error) {
		switch {
		case c.Attr == muster.AttrName:
			if sql, ok := compareKey(`t.name_key`, c.Op, muster.SearchKey(c.Value), arg); ok {
				return sql, nil
			}
		case c.Attr == muster.AttrExternalID && c.Op == muster.CondEqual:
			return equalExternalID(`t.external_id`, c.Value, arg), nil
		case c.Attr == muster.AttrID && c.Op == muster.CondEqual:
			return equalID(`t.id`, c.Value, arg), nil
		case c.Attr == muster.AttrMember && c.Op == muster.CondEqual:
			id, ok := positiveID(c.Value)
			if !ok {
				return noneSQL, nil
			}
			return `t.id IN (SELECT m.team_id FROM memberships m CROSS JOIN users u
				WHERE m.user_id = ` + arg(id) + ` AND u.id = m.user_id AND u.status IN ('pending', 'active')
					AND u.scim_deleted_at IS NULL)`, nil
		}
		return "", fmt.Errorf("sqlstore: teams have no condition %s %s", c.Attr, c.Op)
	})
	if err != nil {
		return "", nil, err
	}
	return where + ` AND ` + cond, args, nil
}

// escapeLike escapes LIKE's wildcards in s, for ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

const scimTokenColumns = `t.id, t.org_id, t.name, t.token_hash, t.created_by, t.created_by_label, t.created_at,
	t.last_used_at, t.revoked_at`

func scanSCIMToken(row interface{ Scan(...any) error }, t *muster.SCIMToken) error {
	return row.Scan(&t.ID, &t.OrgID, &t.Name, &t.TokenHash, nullInt{&t.CreatedByID}, &t.CreatedBy,
		nullTime{&t.CreatedAt}, nullTime{&t.LastUsedAt}, nullTime{&t.RevokedAt})
}

// CreateSCIMToken implements muster.Tx.
func (tx *Tx) CreateSCIMToken(ctx context.Context, t *muster.SCIMToken) error {
	id, err := tx.insert(ctx, `INSERT INTO scim_tokens (org_id, name, token_hash, created_by, created_by_label, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, t.OrgID, t.Name, t.TokenHash, nullID(t.CreatedByID), t.CreatedBy,
		micros(t.CreatedAt))
	t.ID = id
	return err
}

// FindSCIMTokenByHash implements muster.Tx.
func (tx *Tx) FindSCIMTokenByHash(ctx context.Context, hash []byte) (*muster.SCIMToken, error) {
	return tx.findSCIMToken(ctx, `t.token_hash = $1`, hash)
}

// FindSCIMToken implements muster.Tx.
func (tx *Tx) FindSCIMToken(ctx context.Context, orgID, id int64) (*muster.SCIMToken, error) {
	return tx.findSCIMToken(ctx, `t.org_id = $1 AND t.id = $2`, orgID, id)
}

func (tx *Tx) findSCIMToken(ctx context.Context, where string, args ...any) (*muster.SCIMToken, error) {
	var t muster.SCIMToken
	if err := scanSCIMToken(tx.queryRow(ctx, `SELECT `+scimTokenColumns+` FROM scim_tokens t WHERE `+where, args...), &t); err != nil {
		return nil, notFound(err, "SCIM token")
	}
	return &t, nil
}

// FindSCIMTokens implements muster.Tx.
func (tx *Tx) FindSCIMTokens(ctx context.Context, orgID int64) ([]*muster.SCIMToken, error) {
	rows, err := tx.query(ctx, `SELECT `+scimTokenColumns+` FROM scim_tokens t
		WHERE t.org_id = $1 AND t.revoked_at IS NULL ORDER BY t.id DESC`, orgID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*muster.SCIMToken
	for rows.Next() {
		var t muster.SCIMToken
		if err := scanSCIMToken(rows, &t); err != nil {
			return nil, err
		}
		out = append(out, &t)
	}
	return out, rows.Err()
}

// RevokeSCIMToken implements muster.Tx.
func (tx *Tx) RevokeSCIMToken(ctx context.Context, orgID, id int64, now time.Time) (bool, error) {
	return tx.affected(ctx, `UPDATE scim_tokens SET revoked_at = $3
		WHERE org_id = $1 AND id = $2 AND revoked_at IS NULL`, orgID, id, micros(now))
}

// TouchSCIMToken implements muster.Tx.
func (tx *Tx) TouchSCIMToken(ctx context.Context, id int64, now time.Time) error {
	_, err := tx.exec(ctx, `UPDATE scim_tokens SET last_used_at = $2 WHERE id = $1`, id, micros(now))
	return err
}
