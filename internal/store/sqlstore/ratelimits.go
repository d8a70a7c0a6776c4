package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/muster-app/muster/internal/muster"
)

// TakeRateLimit implements muster.Tx. The upsert counts the attempt only
// when its WHERE holds, which each dialect evaluates on the row as it is
// once the row is locked (PostgreSQL waits for a concurrent take of the same
// key and then re-checks it; SQLite runs one writer at a time), so
// concurrent takes never count past max.
func (tx *Tx) TakeRateLimit(ctx context.Context, key string, now time.Time, max int, expires, extend time.Time) (*muster.RateLimit, bool, error) {
	r := muster.RateLimit{Key: key}
	var next int64
	err := tx.queryRow(ctx, `INSERT INTO rate_limits AS r (limit_key, attempts, next_at, expires_at)
		VALUES ($1, 1, 0, $4)
		ON CONFLICT (limit_key) DO UPDATE SET
			attempts   = CASE WHEN r.expires_at <= $2 THEN 1 ELSE r.attempts + 1 END,
			next_at    = CASE WHEN r.expires_at <= $2 THEN 0 ELSE r.next_at END,
			expires_at = CASE WHEN r.expires_at <= $2 THEN $4 WHEN r.expires_at < $5 THEN $5 ELSE r.expires_at END
		WHERE r.expires_at <= $2 OR (r.attempts < $3 AND r.next_at <= $2)
		RETURNING attempts, next_at, expires_at`,
		key, now.UnixMicro(), max, expires.UnixMicro(), extend.UnixMicro()).
		Scan(&r.Attempts, &next, nullTime{&r.ExpiresAt})
	if errors.Is(err, sql.ErrNoRows) {
		// Refused: the row is live and full, or waiting.
		cur, err := tx.FindRateLimit(ctx, key, now)
		return cur, false, err
	} else if err != nil {
		return nil, false, tx.mapError(err)
	}
	r.NextAt = microsOrZero(next)
	return &r, true, nil
}

// DelayRateLimit implements muster.Tx.
func (tx *Tx) DelayRateLimit(ctx context.Context, key string, next time.Time) error {
	_, err := tx.exec(ctx, `UPDATE rate_limits SET next_at = $2 WHERE limit_key = $1`, key, next.UnixMicro())
	return err
}

// ReturnRateLimit implements muster.Tx.
func (tx *Tx) ReturnRateLimit(ctx context.Context, key string) error {
	_, err := tx.exec(ctx, `UPDATE rate_limits SET attempts = attempts - 1 WHERE limit_key = $1 AND attempts > 0`, key)
	return err
}

// FindRateLimit implements muster.Tx.
func (tx *Tx) FindRateLimit(ctx context.Context, key string, now time.Time) (*muster.RateLimit, error) {
	r := muster.RateLimit{Key: key}
	var next int64
	err := tx.queryRow(ctx, `SELECT attempts, next_at, expires_at FROM rate_limits
		WHERE limit_key = $1 AND expires_at > $2`, key, now.UnixMicro()).
		Scan(&r.Attempts, &next, nullTime{&r.ExpiresAt})
	if err != nil {
		return nil, notFound(err, "Rate limit")
	}
	r.NextAt = microsOrZero(next)
	return &r, nil
}

// DeleteRateLimit implements muster.Tx.
func (tx *Tx) DeleteRateLimit(ctx context.Context, key string) error {
	_, err := tx.exec(ctx, `DELETE FROM rate_limits WHERE limit_key = $1`, key)
	return err
}

// DeleteExpiredRateLimits implements muster.Tx. On PostgreSQL it skips
// rows that another transaction holds, so that it never waits: a sign-in
// that sweeps as it takes its own rows cannot deadlock with another.
func (tx *Tx) DeleteExpiredRateLimits(ctx context.Context, now time.Time, limit int) (int, error) {
	res, err := tx.exec(ctx, `DELETE FROM rate_limits WHERE limit_key IN (
			SELECT limit_key FROM rate_limits WHERE expires_at <= $1 LIMIT $2`+tx.dialect.SkipLocked+`)`,
		now.UnixMicro(), limit)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// microsOrZero is the time of a NOT NULL microseconds column in which 0
// stands for none.
func microsOrZero(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}
