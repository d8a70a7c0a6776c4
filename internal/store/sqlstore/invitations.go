package sqlstore

import (
	"context"
	"slices"
	"time"

	"github.com/muster-app/muster/internal/muster"
)

// CreateInvitation implements muster.Tx.
func (tx *Tx) CreateInvitation(ctx context.Context, inv *muster.Invitation) error {
	return tx.CreateInvitations(ctx, []*muster.Invitation{inv})
}

// CreateInvitations implements muster.Tx: the links, and their users'
// invitation expiries. With Dialect.OneStatementWrites each chunk of links
// is one statement with its users' expiries (a data-modifying WITH), and a
// single link waits for the transaction's next statement (writeLater), as
// a batch's chunks do not (see CreateOutboxMessages); without, the
// expiries follow, one statement per expiry (an import's links all expire
// at once).
func (tx *Tx) CreateInvitations(ctx context.Context, invs []*muster.Invitation) error {
	if len(invs) == 0 {
		return nil
	}
	args := make([]any, 0, len(invs)*invitationColumns)
	for _, inv := range invs {
		args = append(args, inv.OrgID, inv.UserID, inv.TokenHash, micros(inv.CreatedAt), micros(inv.ExpiresAt))
	}
	if !tx.dialect.OneStatementWrites {
		if _, err := tx.insertMany(ctx, invitationsInsert, invitationColumns, args, false); err != nil {
			return err
		}
		return tx.writeExpiries(ctx, invs)
	}
	for _, links := range tx.insertWrites(invitationsInsert, invitationColumns, args) {
		// Named after its place among the writes left for later, which
		// may hold another single link's.
		links.name = "link" + itoa(len(tx.later))
		links.query += ` RETURNING user_id, expires_at`
		writes := []write{links, {query: linkExpiries(links.name)}}
		var err error
		if len(invs) == 1 {
			err = tx.writeLater(ctx, writes...)
		} else {
			err = tx.execAll(ctx, writes...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// invitationColumns is the values of a row of invitations that
// CreateInvitations inserts.
const invitationColumns = 5

// writeExpiries writes the links' expiries on their users, one statement
// per expiry (SQLite).
func (tx *Tx) writeExpiries(ctx context.Context, invs []*muster.Invitation) error {
	byExpiry := map[int64][]int64{}
	var expiries []int64
	for _, inv := range invs {
		at := inv.ExpiresAt.UnixMicro()
		if _, ok := byExpiry[at]; !ok {
			expiries = append(expiries, at)
		}
		byExpiry[at] = append(byExpiry[at], inv.UserID)
	}
	for _, at := range expiries {
		for chunk := range slices.Chunk(byExpiry[at], 512) {
			list, args := inList(anySlice(chunk))
			// The expiry is the last argument, after the padded list.
			args = append(args, at)
			// Users created with their links' expiry already are left
			// alone (as by linkExpiries).
			at := `$` + itoa(len(args))
			if _, err := tx.exec(ctx, `UPDATE users SET invitation_expires_at = `+at+` WHERE id IN (`+list+`)
				AND (invitation_expires_at IS NULL OR invitation_expires_at <> `+at+`)`, args...); err != nil {
				return err
			}
		}
	}
	return nil
}

const invitationsInsert = `INSERT INTO invitations (org_id, user_id, token_hash, created_at, expires_at)`

// linkExpiries writes the expiries of the links that the WITH clause
// named links inserted on their users (PostgreSQL). Users created with
// their links' expiry already are left alone: rewriting a row just written
// would cost PostgreSQL a new version of it in every index. The links come
// from the statement's own VALUES list, whose length PostgreSQL knows when
// it plans the statement once for any values: taken from arrays (unnest),
// the rows were estimated at a hundred, so the generic plan looked far
// dearer than one planned for a single link, and every invitation was
// planned again (223 µs, twice the time it ran; docs/benchmarks.md, round
// 8).
func linkExpiries(links string) string {
	return `UPDATE users u SET invitation_expires_at = l.expires_at FROM ` + links + ` l
	WHERE u.id = l.user_id AND (u.invitation_expires_at IS NULL OR u.invitation_expires_at <> l.expires_at)`
}

// FindInvitationByTokenHash implements muster.Tx. It takes no lock: an
// acceptance locks the link's user, as every change of the user's links
// does, and UseInvitation's conditional write lets one acceptance of a link
// through.
func (tx *Tx) FindInvitationByTokenHash(ctx context.Context, hash []byte) (*muster.Invitation, error) {
	var inv muster.Invitation
	err := tx.queryRow(ctx, `SELECT id, org_id, user_id, token_hash, created_at, expires_at, used_at,
			revoked_at, revoked_reason
		FROM invitations WHERE token_hash = $1`, hash).
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
	return write{query: `UPDATE invitations SET revoked_at = $2, revoked_reason = $3
		WHERE user_id = $1 AND used_at IS NULL AND revoked_at IS NULL`, args: []any{userID, micros(now), reason}}
}
