package sqlstore

import (
	"context"
	"strings"
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

const passkeyColumns = `id, org_id, user_id, name, rp_id, credential_id, public_key, sign_count, transports, aaguid,
	flags, attestation_format, created_at, last_used_at`

func scanPasskey(scan func(...any) error) (*muster.Passkey, error) {
	var (
		p          muster.Passkey
		signCount  int64
		flags      int64
		transports string
	)
	if err := scan(&p.ID, &p.OrgID, &p.UserID, &p.Name, &p.RPID, &p.CredentialID, &p.PublicKey, &signCount,
		&transports, &p.AAGUID, &flags, &p.AttestationFormat, nullTime{&p.CreatedAt}, nullTime{&p.LastUsedAt}); err != nil {
		return nil, err
	}
	p.SignCount, p.Flags = uint32(signCount), byte(flags)
	if transports != "" {
		p.Transports = strings.Split(transports, ",")
	}
	return &p, nil
}

// CreatePasskey implements muster.Tx.
func (tx *Tx) CreatePasskey(ctx context.Context, p *muster.Passkey) error {
	aaguid := p.AAGUID
	if aaguid == nil {
		aaguid = []byte{}
	}
	id, err := tx.insert(ctx, `INSERT INTO passkeys (org_id, user_id, name, rp_id, credential_id, public_key, sign_count,
			transports, aaguid, flags, attestation_format, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		p.OrgID, p.UserID, p.Name, p.RPID, p.CredentialID, p.PublicKey, int64(p.SignCount),
		strings.Join(p.Transports, ","), aaguid, int64(p.Flags), p.AttestationFormat, micros(p.CreatedAt))
	p.ID = id
	return err
}

// PasskeyRegistered implements muster.Tx.
func (tx *Tx) PasskeyRegistered(ctx context.Context, credentialID []byte) (bool, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT count(*) FROM passkeys WHERE credential_id = $1`, credentialID).Scan(&n)
	return n > 0, err
}

// FindPasskeys implements muster.Tx.
func (tx *Tx) FindPasskeys(ctx context.Context, userID int64) ([]*muster.Passkey, error) {
	rows, err := tx.query(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE user_id = $1 ORDER BY id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*muster.Passkey
	for rows.Next() {
		p, err := scanPasskey(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// CountPasskeys implements muster.Tx.
func (tx *Tx) CountPasskeys(ctx context.Context, userID int64) (int, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT count(*) FROM passkeys WHERE user_id = $1`, userID).Scan(&n)
	return n, err
}

// FindPasskey implements muster.Tx.
func (tx *Tx) FindPasskey(ctx context.Context, userID, id int64) (*muster.Passkey, error) {
	p, err := scanPasskey(tx.queryRow(ctx, `SELECT `+passkeyColumns+` FROM passkeys WHERE user_id = $1 AND id = $2`+
		tx.forUpdate(), userID, id).Scan)
	if err != nil {
		return nil, notFound(err, "Passkey")
	}
	return p, nil
}

// RenamePasskey implements muster.Tx.
func (tx *Tx) RenamePasskey(ctx context.Context, userID, id int64, name string) error {
	ok, err := tx.affected(ctx, `UPDATE passkeys SET name = $3 WHERE user_id = $1 AND id = $2`, userID, id, name)
	if err == nil && !ok {
		return muster.Errorf(muster.ENOTFOUND, "Passkey not found.")
	}
	return err
}

// UsePasskey implements muster.Tx.
func (tx *Tx) UsePasskey(ctx context.Context, id int64, signCount uint32, flags byte, now time.Time) error {
	_, err := tx.exec(ctx, `UPDATE passkeys SET sign_count = $2, flags = $3, last_used_at = $4 WHERE id = $1`,
		id, int64(signCount), int64(flags), micros(now))
	return err
}

// DeletePasskey implements muster.Tx.
func (tx *Tx) DeletePasskey(ctx context.Context, userID, id int64) (bool, error) {
	return tx.affected(ctx, `DELETE FROM passkeys WHERE user_id = $1 AND id = $2`, userID, id)
}

// DeleteUserPasskeys implements muster.Tx.
func (tx *Tx) DeleteUserPasskeys(ctx context.Context, userID int64) (int, error) {
	res, err := tx.exec(ctx, `DELETE FROM passkeys WHERE user_id = $1`, userID)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
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
