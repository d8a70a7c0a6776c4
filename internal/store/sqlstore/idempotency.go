package sqlstore

import (
	"context"
	"time"

	"github.com/muster-app/muster/internal/muster"
)

// ClaimIdempotencyKey implements muster.Tx. ON CONFLICT DO NOTHING waits,
// on PostgreSQL, for a transaction that inserted the same key and has not
// ended: the change it makes under the key is then either committed, with
// its outcome, or gone.
func (tx *Tx) ClaimIdempotencyKey(ctx context.Context, rec *muster.IdempotencyRecord, expiredBefore time.Time) (bool, error) {
	if _, err := tx.exec(ctx, `DELETE FROM idempotency_keys
		WHERE org_id = $1 AND user_id = $2 AND idem_key = $3 AND created_at < $4`,
		rec.OrgID, rec.UserID, rec.Key, micros(expiredBefore)); err != nil {
		return false, err
	}
	return tx.affected(ctx, `INSERT INTO idempotency_keys (org_id, user_id, idem_key, request_hash, created_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
		rec.OrgID, rec.UserID, rec.Key, rec.RequestHash, micros(rec.CreatedAt))
}

// CompleteIdempotencyKey implements muster.Tx.
func (tx *Tx) CompleteIdempotencyKey(ctx context.Context, rec *muster.IdempotencyRecord) error {
	_, err := tx.exec(ctx, `UPDATE idempotency_keys SET outcome = $4
		WHERE org_id = $1 AND user_id = $2 AND idem_key = $3`, rec.OrgID, rec.UserID, rec.Key, rec.Outcome)
	return err
}

// FindIdempotencyRecord implements muster.Tx.
func (tx *Tx) FindIdempotencyRecord(ctx context.Context, orgID, userID int64, key string, expiredBefore time.Time) (*muster.IdempotencyRecord, error) {
	var rec muster.IdempotencyRecord
	err := tx.queryRow(ctx, `SELECT org_id, user_id, idem_key, request_hash, outcome, created_at
		FROM idempotency_keys WHERE org_id = $1 AND user_id = $2 AND idem_key = $3 AND created_at >= $4`,
		orgID, userID, key, micros(expiredBefore)).
		Scan(&rec.OrgID, &rec.UserID, &rec.Key, &rec.RequestHash, &rec.Outcome, nullTime{&rec.CreatedAt})
	if err != nil {
		return nil, notFound(err, "Idempotency key")
	}
	return &rec, nil
}

// DeleteExpiredIdempotencyRecords implements muster.Tx.
func (tx *Tx) DeleteExpiredIdempotencyRecords(ctx context.Context, expiredBefore time.Time) (int, error) {
	res, err := tx.exec(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, micros(expiredBefore))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
