package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/muster-app/muster/internal/muster"
)

// CreateInvitation implements muster.Tx.
func (tx *Tx) CreateInvitation(ctx context.Context, inv *muster.Invitation) error {
	return tx.CreateInvitations(ctx, []*muster.Invitation{inv})
}

// CreateInvitations implements muster.Tx: the links, then their users'
// invitation expiries, one statement per expiry (an import's links all
// expire at once). With Dialect.OneStatementWrites, a few links of one
// expiry (an invitation's) are one statement with their users' expiry.
func (tx *Tx) CreateInvitations(ctx context.Context, invs []*muster.Invitation) error {
	if len(invs) == 0 {
		return nil
	}
	args := make([]any, 0, len(invs)*5)
	byExpiry := map[int64][]int64{}
	var expiries []int64
	for _, inv := range invs {
		args = append(args, inv.OrgID, inv.UserID, inv.TokenHash, micros(inv.CreatedAt), micros(inv.ExpiresAt))
		at := inv.ExpiresAt.UnixMicro()
		if _, ok := byExpiry[at]; !ok {
			expiries = append(expiries, at)
		}
		byExpiry[at] = append(byExpiry[at], inv.UserID)
	}
	var expiryWrites []write
	for _, at := range expiries {
		for chunk := range slices.Chunk(byExpiry[at], 512) {
			expiryWrites = append(expiryWrites, linkExpiry(chunk, at))
		}
	}
	const head = `INSERT INTO invitations (org_id, user_id, token_hash, created_at, expires_at)`
	var ids []int64
	var err error
	if tx.dialect.OneStatementWrites && len(invs) <= fewInsertRows && len(expiryWrites) == 1 {
		query, all := withWrites(expiryWrites, head+` VALUES `+valuesList(len(invs), 5, false)+` RETURNING id`, args)
		expiryWrites = nil
		ids, err = tx.insertedIDs(ctx, query, all)
	} else {
		ids, err = tx.insertMany(ctx, head, 5, args, true)
	}
	if err != nil {
		return err
	}
	if len(ids) != len(invs) {
		return fmt.Errorf("sqlstore: INSERT invitations: %d ids for %d links", len(ids), len(invs))
	}
	for i, inv := range invs {
		inv.ID = ids[i]
	}
	for _, w := range expiryWrites {
		if _, err := tx.exec(ctx, w.query, w.args...); err != nil {
			return err
		}
	}
	return nil
}

// linkExpiry writes the expiry at of their links on the users ids.
func linkExpiry(ids []int64, at int64) write {
	list, args := inList(anySlice(ids))
	// The expiry is the last argument, after the padded list.
	args = append(args, at)
	// Users created with their links' expiry already are left alone:
	// rewriting a row just written would cost PostgreSQL a new version of
	// it in every index.
	param := `$` + itoa(len(args))
	return write{`UPDATE users SET invitation_expires_at = ` + param + ` WHERE id IN (` + list + `)
		AND (invitation_expires_at IS NULL OR invitation_expires_at <> ` + param + `)`, args}
}

// FindInvitationByTokenHash implements muster.Tx. In a write transaction it
// locks the link, so that of two accepts of one link the second waits and
// then sees it used.
func (tx *Tx) FindInvitationByTokenHash(ctx context.Context, hash []byte) (*muster.Invitation, error) {
	var inv muster.Invitation
	err := tx.queryRow(ctx, `SELECT id, org_id, user_id, token_hash, created_at, expires_at, used_at,
			revoked_at, revoked_reason
		FROM invitations WHERE token_hash = $1`+tx.forUpdate(), hash).
		Scan(&inv.ID, &inv.OrgID, &inv.UserID, &inv.TokenHash, nullTime{&inv.CreatedAt}, nullTime{&inv.ExpiresAt},
			nullTime{&inv.UsedAt}, nullTime{&inv.RevokedAt}, &inv.RevokedReason)
	if err != nil {
		return nil, notFound(err, "Invitation")
	}
	return &inv, nil
}

// UseInvitation implements muster.Tx. The conditions in the UPDATE make the
// link single-use even when two requests race: only one sees a row change.
func (tx *Tx) UseInvitation(ctx context.Context, id int64, now time.Time) (bool, error) {
	return tx.affected(ctx, `UPDATE invitations SET used_at = $2
		WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2`, id, micros(now))
}

// RevokeInvitations implements muster.Tx.
func (tx *Tx) RevokeInvitations(ctx context.Context, userID int64, reason string, now time.Time) error {
	return tx.execAll(ctx, revokeInvitations(userID, reason, now))
}

func revokeInvitations(userID int64, reason string, now time.Time) write {
	return write{`UPDATE invitations SET revoked_at = $2, revoked_reason = $3
		WHERE user_id = $1 AND used_at IS NULL AND revoked_at IS NULL`, []any{userID, micros(now), reason}}
}
