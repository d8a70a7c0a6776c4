package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/muster-app/muster/internal/muster"
)

const factorColumns = `id, org_id, user_id, kind, name, secret, credential_id, data, last_step, created_at,
	enabled_at, last_used_at`

func scanFactor(row interface{ Scan(...any) error }, f *muster.Factor) error {
	return row.Scan(&f.ID, &f.OrgID, &f.UserID, &f.Kind, &f.Name, &f.Secret, &f.CredentialID, &f.Data, &f.LastStep,
		nullTime{&f.CreatedAt}, nullTime{&f.EnabledAt}, nullTime{&f.LastUsedAt})
}

// CreateFactor implements muster.Tx.
func (tx *Tx) CreateFactor(ctx context.Context, f *muster.Factor) error {
	id, err := tx.insert(ctx, `INSERT INTO twostep_factors (org_id, user_id, kind, name, secret, credential_id, data,
			last_step, created_at, enabled_at, last_used_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		f.OrgID, f.UserID, f.Kind, f.Name, f.Secret, f.CredentialID, f.Data, f.LastStep, micros(f.CreatedAt),
		micros(f.EnabledAt), micros(f.LastUsedAt))
	f.ID = id
	return err
}

// FindFactor implements muster.Tx.
func (tx *Tx) FindFactor(ctx context.Context, userID, id int64) (*muster.Factor, error) {
	var f muster.Factor
	row := tx.queryRow(ctx, `SELECT `+factorColumns+` FROM twostep_factors WHERE id = $1 AND user_id = $2`, id, userID)
	if err := scanFactor(row, &f); err != nil {
		return nil, notFound(err, "Factor")
	}
	return &f, nil
}

// FindUserFactors implements muster.Tx.
func (tx *Tx) FindUserFactors(ctx context.Context, userID int64) ([]*muster.Factor, error) {
	rows, err := tx.query(ctx, `SELECT `+factorColumns+` FROM twostep_factors WHERE user_id = $1
		ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*muster.Factor
	for rows.Next() {
		var f muster.Factor
		if err := scanFactor(rows, &f); err != nil {
			return nil, err
		}
		out = append(out, &f)
	}
	return out, rows.Err()
}

// EnableFactor implements muster.Tx.
func (tx *Tx) EnableFactor(ctx context.Context, userID, id int64, step int64, now time.Time) (bool, error) {
	return tx.affected(ctx, `UPDATE twostep_factors SET enabled_at = $3, last_step = $4, last_used_at = $3
		WHERE id = $1 AND user_id = $2 AND enabled_at IS NULL`, id, userID, micros(now), step)
}

// UseFactorStep implements muster.Tx. The condition on last_step is
// evaluated on the row as it is once the row is locked (PostgreSQL waits
// for a concurrent use of the same factor and re-checks it; SQLite runs one
// writer at a time), so two uses of one code never both succeed.
func (tx *Tx) UseFactorStep(ctx context.Context, id int64, step int64, now time.Time) (bool, error) {
	return tx.affected(ctx, `UPDATE twostep_factors SET last_step = $2, last_used_at = $3
		WHERE id = $1 AND last_step < $2 AND enabled_at IS NOT NULL`, id, step, micros(now))
}

// UpdateFactorData implements muster.Tx.
func (tx *Tx) UpdateFactorData(ctx context.Context, id int64, data []byte, now time.Time) error {
	_, err := tx.exec(ctx, `UPDATE twostep_factors SET data = $2, last_used_at = $3 WHERE id = $1`, id, data, micros(now))
	return err
}

// DeleteFactor implements muster.Tx.
func (tx *Tx) DeleteFactor(ctx context.Context, userID, id int64) (bool, error) {
	return tx.affected(ctx, `DELETE FROM twostep_factors WHERE id = $1 AND user_id = $2`, id, userID)
}

// DeleteUserFactors implements muster.Tx.
func (tx *Tx) DeleteUserFactors(ctx context.Context, userID int64) (int, error) {
	res, err := tx.exec(ctx, `DELETE FROM twostep_factors WHERE user_id = $1 AND enabled_at IS NOT NULL`, userID)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	for _, q := range []string{`DELETE FROM twostep_factors WHERE user_id = $1`,
		`DELETE FROM twostep_recovery_codes WHERE user_id = $1`, `DELETE FROM remembered_browsers WHERE user_id = $1`} {
		if _, err := tx.exec(ctx, q, userID); err != nil {
			return 0, err
		}
	}
	return int(n), nil
}

// ReplaceTwoStepRecoveryCodes implements muster.Tx.
func (tx *Tx) ReplaceTwoStepRecoveryCodes(ctx context.Context, orgID, userID int64, hashes [][]byte, now time.Time) error {
	if _, err := tx.exec(ctx, `DELETE FROM twostep_recovery_codes WHERE user_id = $1`, userID); err != nil {
		return err
	}
	for _, h := range hashes {
		if _, err := tx.exec(ctx, `INSERT INTO twostep_recovery_codes (org_id, user_id, code_hash, created_at)
			VALUES ($1, $2, $3, $4)`, orgID, userID, h, micros(now)); err != nil {
			return tx.mapError(err)
		}
	}
	return nil
}

// UseTwoStepRecoveryCode implements muster.Tx.
func (tx *Tx) UseTwoStepRecoveryCode(ctx context.Context, userID int64, hash []byte, now time.Time) (bool, error) {
	return tx.affected(ctx, `UPDATE twostep_recovery_codes SET used_at = $3
		WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL`, userID, hash, micros(now))
}

// CountTwoStepRecoveryCodes implements muster.Tx.
func (tx *Tx) CountTwoStepRecoveryCodes(ctx context.Context, userID int64) (int, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT count(*) FROM twostep_recovery_codes WHERE user_id = $1 AND used_at IS NULL`,
		userID).Scan(&n)
	return n, err
}

const challengeColumns = `id, org_id, user_id, token_hash, data, created_at, expires_at, used_at`

// CreateSignInChallenge implements muster.Tx.
func (tx *Tx) CreateSignInChallenge(ctx context.Context, c *muster.SignInChallenge) error {
	id, err := tx.insert(ctx, `INSERT INTO signin_challenges (org_id, user_id, token_hash, data, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, c.OrgID, c.UserID, c.TokenHash, c.Data, micros(c.CreatedAt), micros(c.ExpiresAt))
	c.ID = id
	return err
}

// FindSignInChallenge implements muster.Tx.
func (tx *Tx) FindSignInChallenge(ctx context.Context, tokenHash []byte) (*muster.SignInChallenge, error) {
	var c muster.SignInChallenge
	err := tx.queryRow(ctx, `SELECT `+challengeColumns+` FROM signin_challenges WHERE token_hash = $1`, tokenHash).
		Scan(&c.ID, &c.OrgID, &c.UserID, &c.TokenHash, &c.Data, nullTime{&c.CreatedAt}, nullTime{&c.ExpiresAt},
			nullTime{&c.UsedAt})
	if err != nil {
		return nil, notFound(err, "Sign-in")
	}
	return &c, nil
}

// SetSignInChallengeData implements muster.Tx.
func (tx *Tx) SetSignInChallengeData(ctx context.Context, id int64, data []byte) error {
	_, err := tx.exec(ctx, `UPDATE signin_challenges SET data = $2 WHERE id = $1`, id, data)
	return err
}

// UseSignInChallenge implements muster.Tx.
func (tx *Tx) UseSignInChallenge(ctx context.Context, id int64, now time.Time) (bool, error) {
	return tx.affected(ctx, `UPDATE signin_challenges SET used_at = $2 WHERE id = $1 AND used_at IS NULL`,
		id, micros(now))
}

// DeleteExpiredSignInChallenges implements muster.Tx. On PostgreSQL it
// skips rows another transaction holds, so that it never waits.
func (tx *Tx) DeleteExpiredSignInChallenges(ctx context.Context, now time.Time, limit int) (int, error) {
	total := 0
	for _, table := range []string{"signin_challenges", "remembered_browsers"} {
		res, err := tx.exec(ctx, `DELETE FROM `+table+` WHERE id IN (
				SELECT id FROM `+table+` WHERE expires_at <= $1 LIMIT $2`+tx.dialect.SkipLocked+`)`,
			now.UnixMicro(), limit)
		if err != nil {
			return 0, err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		total += int(n)
	}
	return total, nil
}

// FindTwoStepPolicy implements muster.Tx.
func (tx *Tx) FindTwoStepPolicy(ctx context.Context, orgID int64) (*muster.TwoStepPolicy, error) {
	p := muster.TwoStepPolicy{OrgID: orgID}
	err := tx.queryRow(ctx, `SELECT scope, grace_days, remember_browser, required_since, updated_at
		FROM twostep_policies WHERE org_id = $1`, orgID).
		Scan(&p.Scope, &p.GraceDays, &p.RememberBrowser, nullTime{&p.RequiredSince}, nullTime{&p.UpdatedAt})
	if err != nil {
		return nil, notFound(err, "Two-step policy")
	}
	return &p, nil
}

// SaveTwoStepPolicy implements muster.Tx.
func (tx *Tx) SaveTwoStepPolicy(ctx context.Context, p *muster.TwoStepPolicy) error {
	_, err := tx.exec(ctx, `INSERT INTO twostep_policies (org_id, scope, grace_days, remember_browser, required_since,
			updated_at)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (org_id) DO UPDATE SET scope = excluded.scope, grace_days = excluded.grace_days,
			remember_browser = excluded.remember_browser, required_since = excluded.required_since,
			updated_at = excluded.updated_at`,
		p.OrgID, p.Scope, p.GraceDays, p.RememberBrowser, micros(p.RequiredSince), micros(p.UpdatedAt))
	return err
}

// RememberBrowser implements muster.Tx.
func (tx *Tx) RememberBrowser(ctx context.Context, orgID, userID int64, tokenHash []byte, now, expires time.Time) error {
	_, err := tx.exec(ctx, `INSERT INTO remembered_browsers (org_id, user_id, token_hash, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, orgID, userID, tokenHash, micros(now), micros(expires))
	return err
}

// BrowserRemembered implements muster.Tx.
func (tx *Tx) BrowserRemembered(ctx context.Context, userID int64, tokenHash []byte, now time.Time) (bool, error) {
	var one int
	err := tx.queryRow(ctx, `SELECT 1 FROM remembered_browsers WHERE token_hash = $1 AND user_id = $2
		AND expires_at > $3`, tokenHash, userID, now.UnixMicro()).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// ForgetBrowsers implements muster.Tx.
func (tx *Tx) ForgetBrowsers(ctx context.Context, userID int64) error {
	return tx.execAll(ctx, forgetBrowsers(userID))
}

func forgetBrowsers(userID int64) write {
	return write{query: `DELETE FROM remembered_browsers WHERE user_id = $1`, args: []any{userID}}
}
