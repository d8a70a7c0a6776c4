package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/muster-app/muster/internal/muster"
)

const ssoConnectionColumns = `org_id, issuer, client_id, client_secret, scopes, enabled, jit, required, version,
	tested_by, tested_version, tested_at, created_at, updated_at`

func scanSSOConnection(row interface{ Scan(...any) error }, c *muster.SSOConnection) error {
	var scopes string
	err := row.Scan(&c.OrgID, &c.Issuer, &c.ClientID, &c.SealedSecret, &scopes, &c.Enabled, &c.JIT, &c.Required,
		&c.Version, nullInt{&c.TestedBy}, &c.TestedVersion, nullTime{&c.TestedAt}, nullTime{&c.CreatedAt},
		nullTime{&c.UpdatedAt})
	c.Scopes = strings.Fields(scopes)
	return err
}

// FindSSOConnection implements muster.Tx.
func (tx *Tx) FindSSOConnection(ctx context.Context, orgID int64) (*muster.SSOConnection, error) {
	return tx.findSSOConnection(ctx, orgID, "")
}

// LockSSOConnection implements muster.Tx.
func (tx *Tx) LockSSOConnection(ctx context.Context, orgID int64) (*muster.SSOConnection, error) {
	return tx.findSSOConnection(ctx, orgID, tx.forUpdate())
}

func (tx *Tx) findSSOConnection(ctx context.Context, orgID int64, lock string) (*muster.SSOConnection, error) {
	var c muster.SSOConnection
	row := tx.queryRow(ctx, `SELECT `+ssoConnectionColumns+` FROM sso_connections WHERE org_id = $1`+lock, orgID)
	if err := scanSSOConnection(row, &c); err != nil {
		return nil, notFound(err, "Single sign-on connection")
	}
	return &c, nil
}

// SaveSSOConnection implements muster.Tx.
func (tx *Tx) SaveSSOConnection(ctx context.Context, c *muster.SSOConnection) error {
	_, err := tx.exec(ctx, `INSERT INTO sso_connections (`+ssoConnectionColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		ON CONFLICT (org_id) DO UPDATE SET issuer = excluded.issuer, client_id = excluded.client_id,
			client_secret = excluded.client_secret, scopes = excluded.scopes, enabled = excluded.enabled,
			jit = excluded.jit, required = excluded.required, version = excluded.version,
			tested_by = excluded.tested_by, tested_version = excluded.tested_version, tested_at = excluded.tested_at,
			updated_at = excluded.updated_at`,
		c.OrgID, c.Issuer, c.ClientID, c.SealedSecret, strings.Join(c.Scopes, " "), c.Enabled, c.JIT, c.Required,
		c.Version, nullID(c.TestedBy), c.TestedVersion, micros(c.TestedAt), micros(c.CreatedAt), micros(c.UpdatedAt))
	return err
}

// FindSSOConnectionsByClient implements muster.Tx.
func (tx *Tx) FindSSOConnectionsByClient(ctx context.Context, issuer, clientID string) ([]*muster.SSOConnection, error) {
	rows, err := tx.query(ctx, `SELECT `+ssoConnectionColumns+` FROM sso_connections
		WHERE issuer = $1 AND client_id = $2 ORDER BY org_id`, issuer, clientID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*muster.SSOConnection
	for rows.Next() {
		var c muster.SSOConnection
		if err := scanSSOConnection(rows, &c); err != nil {
			return nil, err
		}
		out = append(out, &c)
	}
	return out, rows.Err()
}

const ssoDomainColumns = `id, org_id, domain, token, created_at, verified_at, last_checked_at`

func scanSSODomain(row interface{ Scan(...any) error }, d *muster.SSODomain) error {
	return row.Scan(&d.ID, &d.OrgID, &d.Domain, &d.Token, nullTime{&d.CreatedAt}, nullTime{&d.VerifiedAt},
		nullTime{&d.LastCheckedAt})
}

func collectSSODomains(rows interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close() error
}) ([]*muster.SSODomain, error) {
	defer rows.Close()
	var out []*muster.SSODomain
	for rows.Next() {
		var d muster.SSODomain
		if err := scanSSODomain(rows, &d); err != nil {
			return nil, err
		}
		out = append(out, &d)
	}
	return out, rows.Err()
}

// CreateSSODomain implements muster.Tx.
func (tx *Tx) CreateSSODomain(ctx context.Context, d *muster.SSODomain) error {
	id, err := tx.insert(ctx, `INSERT INTO sso_domains (org_id, domain, token, created_at) VALUES ($1, $2, $3, $4)`,
		d.OrgID, d.Domain, d.Token, micros(d.CreatedAt))
	d.ID = id
	return err
}

// FindSSODomain implements muster.Tx.
func (tx *Tx) FindSSODomain(ctx context.Context, orgID, id int64) (*muster.SSODomain, error) {
	var d muster.SSODomain
	row := tx.queryRow(ctx, `SELECT `+ssoDomainColumns+` FROM sso_domains WHERE org_id = $1 AND id = $2`+tx.forUpdate(),
		orgID, id)
	if err := scanSSODomain(row, &d); err != nil {
		return nil, notFound(err, "Domain")
	}
	return &d, nil
}

// FindSSODomains implements muster.Tx.
func (tx *Tx) FindSSODomains(ctx context.Context, orgID int64) ([]*muster.SSODomain, error) {
	rows, err := tx.query(ctx, `SELECT `+ssoDomainColumns+` FROM sso_domains WHERE org_id = $1 ORDER BY domain`, orgID)
	if err != nil {
		return nil, err
	}
	return collectSSODomains(rows)
}

// FindVerifiedSSODomain implements muster.Tx.
func (tx *Tx) FindVerifiedSSODomain(ctx context.Context, domain string) (*muster.SSODomain, error) {
	var d muster.SSODomain
	row := tx.queryRow(ctx, `SELECT `+ssoDomainColumns+` FROM sso_domains
		WHERE domain = $1 AND verified_at IS NOT NULL`, domain)
	if err := scanSSODomain(row, &d); err != nil {
		return nil, notFound(err, "Domain")
	}
	return &d, nil
}

// UpdateSSODomain implements muster.Tx.
func (tx *Tx) UpdateSSODomain(ctx context.Context, d *muster.SSODomain) error {
	_, err := tx.exec(ctx, `UPDATE sso_domains SET verified_at = $3, last_checked_at = $4 WHERE org_id = $1 AND id = $2`,
		d.OrgID, d.ID, micros(d.VerifiedAt), micros(d.LastCheckedAt))
	return err
}

// DeleteSSODomain implements muster.Tx.
func (tx *Tx) DeleteSSODomain(ctx context.Context, orgID, id int64) (bool, error) {
	return tx.affected(ctx, `DELETE FROM sso_domains WHERE org_id = $1 AND id = $2`, orgID, id)
}

// ClaimSSODomainChecks implements muster.Tx.
func (tx *Tx) ClaimSSODomainChecks(ctx context.Context, before, now time.Time, limit int) ([]*muster.SSODomain, error) {
	rows, err := tx.query(ctx, `UPDATE sso_domains SET last_checked_at = $2
		WHERE id IN (
			SELECT id FROM sso_domains
			WHERE verified_at IS NOT NULL AND (last_checked_at IS NULL OR last_checked_at < $1)
			ORDER BY last_checked_at, id LIMIT $3`+tx.dialect.SkipLocked+`)
		RETURNING `+ssoDomainColumns, micros(before), micros(now), limit)
	if err != nil {
		return nil, err
	}
	return collectSSODomains(rows)
}

const ssoIdentityColumns = `id, org_id, user_id, issuer, subject, email, created_at`

func scanSSOIdentity(row interface{ Scan(...any) error }, i *muster.SSOIdentity) error {
	return row.Scan(&i.ID, &i.OrgID, &i.UserID, &i.Issuer, &i.Subject, &i.Email, nullTime{&i.CreatedAt})
}

// CreateSSOIdentity implements muster.Tx.
func (tx *Tx) CreateSSOIdentity(ctx context.Context, i *muster.SSOIdentity) error {
	id, err := tx.insert(ctx, `INSERT INTO sso_identities (org_id, user_id, issuer, subject, email, created_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, i.OrgID, i.UserID, i.Issuer, i.Subject, i.Email, micros(i.CreatedAt))
	i.ID = id
	return err
}

// FindSSOIdentity implements muster.Tx.
func (tx *Tx) FindSSOIdentity(ctx context.Context, orgID int64, issuer, subject string) (*muster.SSOIdentity, error) {
	var i muster.SSOIdentity
	row := tx.queryRow(ctx, `SELECT `+ssoIdentityColumns+` FROM sso_identities
		WHERE org_id = $1 AND issuer = $2 AND subject = $3`, orgID, issuer, subject)
	if err := scanSSOIdentity(row, &i); err != nil {
		return nil, notFound(err, "Identity")
	}
	return &i, nil
}

// FindUserSSOIdentity implements muster.Tx.
func (tx *Tx) FindUserSSOIdentity(ctx context.Context, userID int64, issuer string) (*muster.SSOIdentity, error) {
	var i muster.SSOIdentity
	row := tx.queryRow(ctx, `SELECT `+ssoIdentityColumns+` FROM sso_identities WHERE user_id = $1 AND issuer = $2`,
		userID, issuer)
	if err := scanSSOIdentity(row, &i); err != nil {
		return nil, notFound(err, "Identity")
	}
	return &i, nil
}

// DeleteSSOIdentity implements muster.Tx.
func (tx *Tx) DeleteSSOIdentity(ctx context.Context, orgID, id int64) error {
	_, err := tx.exec(ctx, `DELETE FROM sso_identities WHERE org_id = $1 AND id = $2`, orgID, id)
	return err
}

const ssoLoginColumns = `id, org_id, state_hash, browser_hash, nonce, purpose, user_id, invitation_id, version, next,
	created_at, expires_at, used_at`

// CreateSSOLogin implements muster.Tx.
func (tx *Tx) CreateSSOLogin(ctx context.Context, l *muster.SSOLogin) error {
	id, err := tx.insert(ctx, `INSERT INTO sso_logins (org_id, state_hash, browser_hash, nonce, purpose, user_id,
			invitation_id, version, next, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		l.OrgID, l.StateHash, l.BrowserHash, l.Nonce, l.Purpose, nullID(l.UserID), nullID(l.InvitationID), l.Version,
		l.Next, micros(l.CreatedAt), micros(l.ExpiresAt))
	l.ID = id
	return err
}

// FindSSOLogin implements muster.Tx.
func (tx *Tx) FindSSOLogin(ctx context.Context, stateHash []byte) (*muster.SSOLogin, error) {
	var l muster.SSOLogin
	err := tx.queryRow(ctx, `SELECT `+ssoLoginColumns+` FROM sso_logins WHERE state_hash = $1`, stateHash).
		Scan(&l.ID, &l.OrgID, &l.StateHash, &l.BrowserHash, &l.Nonce, &l.Purpose, nullInt{&l.UserID},
			nullInt{&l.InvitationID}, &l.Version, &l.Next, nullTime{&l.CreatedAt}, nullTime{&l.ExpiresAt},
			nullTime{&l.UsedAt})
	if err != nil {
		return nil, notFound(err, "Sign-in")
	}
	return &l, nil
}

// UseSSOLogin implements muster.Tx.
func (tx *Tx) UseSSOLogin(ctx context.Context, id int64, now time.Time) (bool, error) {
	return tx.affected(ctx, `UPDATE sso_logins SET used_at = $2 WHERE id = $1 AND used_at IS NULL`, id, micros(now))
}

// DeleteExpiredSSOLogins implements muster.Tx.
func (tx *Tx) DeleteExpiredSSOLogins(ctx context.Context, now time.Time) (int, error) {
	res, err := tx.exec(ctx, `DELETE FROM sso_logins WHERE expires_at < $1`, micros(now))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// ReplaceRecoveryCodes implements muster.Tx.
func (tx *Tx) ReplaceRecoveryCodes(ctx context.Context, orgID, userID int64, hashes [][]byte, now time.Time) error {
	if _, err := tx.exec(ctx, `DELETE FROM sso_recovery_codes WHERE user_id = $1`, userID); err != nil {
		return err
	}
	for _, h := range hashes {
		if _, err := tx.exec(ctx, `INSERT INTO sso_recovery_codes (org_id, user_id, code_hash, created_at)
			VALUES ($1, $2, $3, $4)`, orgID, userID, h, micros(now)); err != nil {
			return err
		}
	}
	return nil
}

// UseRecoveryCode implements muster.Tx.
func (tx *Tx) UseRecoveryCode(ctx context.Context, userID int64, hash []byte, now time.Time) (bool, error) {
	return tx.affected(ctx, `UPDATE sso_recovery_codes SET used_at = $3
		WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL`, userID, hash, micros(now))
}

// CountRecoveryCodes implements muster.Tx.
func (tx *Tx) CountRecoveryCodes(ctx context.Context, userID int64) (int, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT count(*) FROM sso_recovery_codes WHERE user_id = $1 AND used_at IS NULL`, userID).
		Scan(&n)
	return n, err
}

// DeleteSessionsBySID implements muster.Tx.
func (tx *Tx) DeleteSessionsBySID(ctx context.Context, orgID, userID int64, sid string) (int, error) {
	if sid == "" {
		return 0, nil
	}
	query, args := `DELETE FROM sessions WHERE org_id = $1 AND sso_sid = $2`, []any{orgID, sid}
	if userID != 0 {
		query, args = query+` AND user_id = $3`, append(args, userID)
	}
	res, err := tx.exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// DeleteOrgSessions implements muster.Tx.
func (tx *Tx) DeleteOrgSessions(ctx context.Context, orgID int64, method string) (int, error) {
	res, err := tx.exec(ctx, `DELETE FROM sessions WHERE org_id = $1 AND method = $2`, orgID, method)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
