package sqlstore

import (
	"context"
	"time"

	"github.com/muster-app/muster/internal/muster"
)

const sessionColumns = `id, org_id, user_id, token_hash, created_at, last_seen_at, expires_at, ip, user_agent, method,
	sso_sid`

func scanSession(row interface{ Scan(...any) error }, s *muster.Session) error {
	return row.Scan(&s.ID, &s.OrgID, &s.UserID, &s.TokenHash, nullTime{&s.CreatedAt}, nullTime{&s.LastSeenAt},
		nullTime{&s.ExpiresAt}, &s.IP, &s.UserAgent, &s.Method, &s.SSOSID)
}

// CreateSession implements muster.Tx.
func (tx *Tx) CreateSession(ctx context.Context, s *muster.Session) error {
	if s.Method == "" {
		s.Method = muster.SessionPassword
	}
	id, err := tx.insert(ctx, `INSERT INTO sessions (org_id, user_id, token_hash, created_at, last_seen_at,
			expires_at, ip, user_agent, method, sso_sid)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		s.OrgID, s.UserID, s.TokenHash, micros(s.CreatedAt), micros(s.LastSeenAt), micros(s.ExpiresAt), s.IP, s.UserAgent,
		s.Method, s.SSOSID)
	s.ID = id
	return err
}

// FindSessionByTokenHash implements muster.Tx.
func (tx *Tx) FindSessionByTokenHash(ctx context.Context, hash []byte) (*muster.Session, error) {
	var s muster.Session
	row := tx.queryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE token_hash = $1`, hash)
	if err := scanSession(row, &s); err != nil {
		return nil, notFound(err, "Session")
	}
	return &s, nil
}

// FindUserSessions implements muster.Tx.
func (tx *Tx) FindUserSessions(ctx context.Context, userID int64) ([]*muster.Session, error) {
	rows, err := tx.query(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE user_id = $1
		ORDER BY last_seen_at DESC, id DESC`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*muster.Session
	for rows.Next() {
		var s muster.Session
		if err := scanSession(rows, &s); err != nil {
			return nil, err
		}
		out = append(out, &s)
	}
	return out, rows.Err()
}

// TouchSession implements muster.Tx.
func (tx *Tx) TouchSession(ctx context.Context, id int64, now time.Time) error {
	_, err := tx.exec(ctx, `UPDATE sessions SET last_seen_at = $2 WHERE id = $1`, id, micros(now))
	return err
}

// DeleteSession implements muster.Tx.
func (tx *Tx) DeleteSession(ctx context.Context, userID, id int64) (bool, error) {
	return tx.affected(ctx, `DELETE FROM sessions WHERE user_id = $1 AND id = $2`, userID, id)
}

// DeleteUserSessions implements muster.Tx.
func (tx *Tx) DeleteUserSessions(ctx context.Context, userID, keepID int64) error {
	return tx.execAll(ctx, deleteUserSessions(userID, keepID))
}

func deleteUserSessions(userID, keepID int64) write {
	return write{query: `DELETE FROM sessions WHERE user_id = $1 AND id <> $2`, args: []any{userID, keepID}}
}

// EndUserAccess implements muster.Tx: one round trip on PostgreSQL.
func (tx *Tx) EndUserAccess(ctx context.Context, userID int64, reason string, now time.Time) ([]*muster.SendAsPermission, error) {
	return tx.deleteUserSendAsGrants(ctx, userID, revokeInvitations(userID, reason, now), endPasswordResets(userID, now),
		deleteUserSessions(userID, 0), forgetBrowsers(userID), revokeUserAPITokens(userID, now))
}

// CreatePasswordReset implements muster.Tx.
func (tx *Tx) CreatePasswordReset(ctx context.Context, r *muster.PasswordReset) error {
	id, err := tx.insert(ctx, `INSERT INTO password_resets (org_id, user_id, token_hash, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, r.OrgID, r.UserID, r.TokenHash, micros(r.CreatedAt), micros(r.ExpiresAt))
	r.ID = id
	return err
}

// FindPasswordResetByTokenHash implements muster.Tx.
func (tx *Tx) FindPasswordResetByTokenHash(ctx context.Context, hash []byte) (*muster.PasswordReset, error) {
	var r muster.PasswordReset
	err := tx.queryRow(ctx, `SELECT id, org_id, user_id, token_hash, created_at, expires_at, used_at
		FROM password_resets WHERE token_hash = $1`, hash).
		Scan(&r.ID, &r.OrgID, &r.UserID, &r.TokenHash, nullTime{&r.CreatedAt}, nullTime{&r.ExpiresAt}, nullTime{&r.UsedAt})
	if err != nil {
		return nil, notFound(err, "Password reset")
	}
	return &r, nil
}

// UsePasswordResets implements muster.Tx.
func (tx *Tx) UsePasswordResets(ctx context.Context, userID, id int64, now time.Time) (bool, error) {
	// The row with id is updated only if still unused, so of two racing
	// resets with one link only the first sees it change.
	ok, err := tx.affected(ctx, `UPDATE password_resets SET used_at = $3
		WHERE user_id = $1 AND id = $2 AND used_at IS NULL AND expires_at > $3`, userID, id, micros(now))
	if err != nil || !ok {
		return false, err
	}
	err = tx.EndPasswordResets(ctx, userID, now)
	return err == nil, err
}

// EndPasswordResets implements muster.Tx.
func (tx *Tx) EndPasswordResets(ctx context.Context, userID int64, now time.Time) error {
	return tx.execAll(ctx, endPasswordResets(userID, now))
}

func endPasswordResets(userID int64, now time.Time) write {
	return write{query: `UPDATE password_resets SET used_at = $2 WHERE user_id = $1 AND used_at IS NULL`,
		args: []any{userID, micros(now)}}
}
