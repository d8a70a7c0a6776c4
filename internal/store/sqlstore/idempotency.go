package sqlstore

import (
	"context"
	"time"

	"github.com/muster-app/muster/internal/muster"
)

// ClaimIdempotencyKey implements muster.Tx.
func (tx *Tx) ClaimIdempotencyKey(ctx context.Context, rec *muster.IdempotencyRecord, expiredBefore time.Time) (*muster.IdempotencyRecord, error) {
	if _, err := tx.exec(ctx, `DELETE FROM idempotency_keys
		WHERE org_id = $1 AND user_id = $2 AND idem_key = $3 AND created_at < $4`,
		rec.OrgID, rec.UserID, rec.Key, micros(expiredBefore)); err != nil {
		return nil, err
	}
	inserted, err := tx.affected(ctx, `INSERT INTO idempotency_keys (org_id, user_id, idem_key, request_hash, created_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
		rec.OrgID, rec.UserID, rec.Key, rec.RequestHash, micros(rec.CreatedAt))
	if err != nil || inserted {
		return nil, err
	}
	var old muster.IdempotencyRecord
	err = tx.queryRow(ctx, `SELECT org_id, user_id, idem_key, request_hash, status_code, content_type,
			coalesce(body, ''), created_at
		FROM idempotency_keys WHERE org_id = $1 AND user_id = $2 AND idem_key = $3`, rec.OrgID, rec.UserID, rec.Key).
		Scan(&old.OrgID, &old.UserID, &old.Key, &old.RequestHash, &old.StatusCode, &old.ContentType, &old.Body,
			nullTime{&old.CreatedAt})
	if err != nil {
		return nil, err
	}
	return &old, nil
}

// CompleteIdempotencyKey implements muster.Tx.
func (tx *Tx) CompleteIdempotencyKey(ctx context.Context, rec *muster.IdempotencyRecord) error {
	_, err := tx.exec(ctx, `UPDATE idempotency_keys SET status_code = $4, content_type = $5, body = $6
		WHERE org_id = $1 AND user_id = $2 AND idem_key = $3`,
		rec.OrgID, rec.UserID, rec.Key, rec.StatusCode, rec.ContentType, rec.Body)
	return err
}

// DeleteIdempotencyKey implements muster.Tx.
func (tx *Tx) DeleteIdempotencyKey(ctx context.Context, orgID, userID int64, key string) error {
	_, err := tx.exec(ctx, `DELETE FROM idempotency_keys WHERE org_id = $1 AND user_id = $2 AND idem_key = $3`,
		orgID, userID, key)
	return err
}
