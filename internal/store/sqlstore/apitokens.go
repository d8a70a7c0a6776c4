package sqlstore

import (
	"context"
	"time"

	"github.com/muster-app/muster/internal/muster"
)

const apiTokenColumns = `t.id, t.org_id, t.user_id, t.name, t.token_hash, t.created_at, t.last_used_at, t.expires_at,
	t.revoked_at`

func scanAPIToken(row interface{ Scan(...any) error }, t *muster.APIToken, extra ...any) error {
	return row.Scan(append(apiTokenDests(t), extra...)...)
}

func apiTokenDests(t *muster.APIToken) []any {
	return []any{&t.ID, &t.OrgID, &t.UserID, &t.Name, &t.TokenHash, nullTime{&t.CreatedAt}, nullTime{&t.LastUsedAt},
		nullTime{&t.ExpiresAt}, nullTime{&t.RevokedAt}}
}

// CreateAPIToken implements muster.Tx.
func (tx *Tx) CreateAPIToken(ctx context.Context, t *muster.APIToken) error {
	id, err := tx.insert(ctx, `INSERT INTO api_tokens (org_id, user_id, name, token_hash, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, t.OrgID, t.UserID, t.Name, t.TokenHash, micros(t.CreatedAt), micros(t.ExpiresAt))
	t.ID = id
	return err
}

// FindAPITokenByHash implements muster.Tx.
func (tx *Tx) FindAPITokenByHash(ctx context.Context, hash []byte) (*muster.APIToken, error) {
	t := muster.APIToken{Creator: &muster.User{}}
	row := tx.queryRow(ctx, `SELECT `+apiTokenColumns+`, coalesce(v.version, 0), `+userColumns+`
		FROM api_tokens t JOIN users u ON u.id = t.user_id LEFT JOIN user_list_versions v ON v.org_id = t.org_id
		WHERE t.token_hash = $1`, hash)
	if err := scanUser(row, t.Creator, append(apiTokenDests(&t), &t.UserListVersion)...); err != nil {
		return nil, notFound(err, "API token")
	}
	return &t, nil
}

// FindAPITokens implements muster.Tx.
func (tx *Tx) FindAPITokens(ctx context.Context, orgID int64) ([]*muster.APIToken, error) {
	rows, err := tx.query(ctx, `SELECT `+apiTokenColumns+`, u.first_name || ' ' || u.last_name
		FROM api_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.org_id = $1 AND t.revoked_at IS NULL ORDER BY t.id DESC`, orgID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*muster.APIToken
	for rows.Next() {
		var t muster.APIToken
		if err := scanAPIToken(rows, &t, &t.CreatorName); err != nil {
			return nil, err
		}
		out = append(out, &t)
	}
	return out, rows.Err()
}

// RevokeAPIToken implements muster.Tx.
func (tx *Tx) RevokeAPIToken(ctx context.Context, orgID, id int64, now time.Time) (bool, error) {
	return tx.affected(ctx, `UPDATE api_tokens SET revoked_at = $3
		WHERE org_id = $1 AND id = $2 AND revoked_at IS NULL`, orgID, id, micros(now))
}

// TouchAPIToken implements muster.Tx.
func (tx *Tx) TouchAPIToken(ctx context.Context, id int64, now time.Time) error {
	_, err := tx.exec(ctx, `UPDATE api_tokens SET last_used_at = $2 WHERE id = $1`, id, micros(now))
	return err
}

// revokeUserAPITokens ends every API token the user created.
func revokeUserAPITokens(userID int64, now time.Time) write {
	return write{query: `UPDATE api_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL`,
		args: []any{userID, micros(now)}}
}
