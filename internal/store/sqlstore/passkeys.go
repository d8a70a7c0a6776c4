package sqlstore

import (
	"context"
	"time"

	"github.com/muster-app/muster/internal/muster"
)

// PasskeyUserHandle implements muster.Tx.
func (tx *Tx) PasskeyUserHandle(ctx context.Context, orgID, userID int64, handle []byte, now time.Time) ([]byte, error) {
	// Two first registrations at once: the second insert does nothing and
	// both read the one handle stored.
	if _, err := tx.exec(ctx, `INSERT INTO passkey_users (user_id, org_id, handle, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id) DO NOTHING`, userID, orgID, handle, micros(now)); err != nil {
		return nil, err
	}
	var stored []byte
	err := tx.queryRow(ctx, `SELECT handle FROM passkey_users WHERE user_id = $1`, userID).Scan(&stored)
	return stored, err
}

// FactorCredentialRegistered implements muster.Tx.
func (tx *Tx) FactorCredentialRegistered(ctx context.Context, credentialID []byte) (bool, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT count(*) FROM twostep_factors WHERE credential_id = $1`, credentialID).Scan(&n)
	return n > 0, err
}

// RenameFactor implements muster.Tx.
func (tx *Tx) RenameFactor(ctx context.Context, userID, id int64, name string) error {
	ok, err := tx.affected(ctx, `UPDATE twostep_factors SET name = $3 WHERE user_id = $2 AND id = $1`, id, userID, name)
	if err == nil && !ok {
		return muster.Errorf(muster.ENOTFOUND, "Factor not found.")
	}
	return err
}

// CreatePasskeyCeremony implements muster.Tx.
func (tx *Tx) CreatePasskeyCeremony(ctx context.Context, c *muster.PasskeyCeremony) error {
	id, err := tx.insert(ctx, `INSERT INTO passkey_ceremonies (org_id, user_id, token_hash, purpose, bound_id, name, data,
			created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		c.OrgID, c.UserID, c.TokenHash, c.Purpose, c.BoundID, c.Name, c.Data, micros(c.CreatedAt), micros(c.ExpiresAt))
	c.ID = id
	return err
}

// FindPasskeyCeremony implements muster.Tx.
func (tx *Tx) FindPasskeyCeremony(ctx context.Context, tokenHash []byte) (*muster.PasskeyCeremony, error) {
	var c muster.PasskeyCeremony
	err := tx.queryRow(ctx, `SELECT id, org_id, user_id, token_hash, purpose, bound_id, name, data, created_at,
			expires_at, used_at
		FROM passkey_ceremonies WHERE token_hash = $1`, tokenHash).
		Scan(&c.ID, &c.OrgID, &c.UserID, &c.TokenHash, &c.Purpose, &c.BoundID, &c.Name, &c.Data,
			nullTime{&c.CreatedAt}, nullTime{&c.ExpiresAt}, nullTime{&c.UsedAt})
	if err != nil {
		return nil, notFound(err, "Passkey ceremony")
	}
	return &c, nil
}

// UsePasskeyCeremony implements muster.Tx.
func (tx *Tx) UsePasskeyCeremony(ctx context.Context, id int64, now time.Time) (bool, error) {
	return tx.affected(ctx, `UPDATE passkey_ceremonies SET used_at = $2 WHERE id = $1 AND used_at IS NULL`, id, micros(now))
}

// CountLivePasskeyCeremonies implements muster.Tx.
func (tx *Tx) CountLivePasskeyCeremonies(ctx context.Context, userID int64, now time.Time) (int, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT count(*) FROM passkey_ceremonies
		WHERE user_id = $1 AND expires_at > $2 AND used_at IS NULL`, userID, micros(now)).Scan(&n)
	return n, err
}

// DeleteExpiredPasskeyCeremonies implements muster.Tx.
func (tx *Tx) DeleteExpiredPasskeyCeremonies(ctx context.Context, now time.Time) (int, error) {
	res, err := tx.exec(ctx, `DELETE FROM passkey_ceremonies WHERE expires_at < $1`, micros(now))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
