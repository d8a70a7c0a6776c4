package sqlstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestFindUserAndPeek: the user found and the user peeked come back whole
// (teams and second step included), in either order of ids and when they
// are the same person; either one missing, or of another org, is
// ENOTFOUND.
func TestFindUserAndPeek(t *testing.T) {
	storetest.RunParallel(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		admin, member, stranger, org := peekFixture(t, db)
		for _, c := range []struct {
			name          string
			id, peekID    int64
			found, peeked *muster.User
		}{
			{"member by admin", member.ID, admin.ID, member, admin},
			{"admin by member", admin.ID, member.ID, admin, member},
			{"oneself", admin.ID, admin.ID, admin, admin},
			{"no such user", 1 << 40, admin.ID, nil, nil},
			{"no such actor", member.ID, 1 << 40, nil, nil},
			{"a user of another org", stranger.ID, admin.ID, nil, nil},
		} {
			t.Run(c.name, func(t *testing.T) {
				err := db.Update(ctx, func(tx muster.Tx) error {
					found, peeked, err := tx.FindUserAndPeek(ctx, org.ID, c.id, c.peekID)
					if c.found == nil {
						if muster.ErrorCode(err) != muster.ENOTFOUND {
							t.Errorf("err = %v; want ENOTFOUND", err)
						}
						return nil
					}
					if err != nil {
						return err
					}
					for _, pair := range [][2]*muster.User{{found, c.found}, {peeked, c.peeked}} {
						got, want := pair[0], pair[1]
						if got.ID != want.ID || got.Email != want.Email || got.Role != want.Role ||
							got.PrimaryTeamID != want.PrimaryTeamID || got.TwoStep != want.TwoStep ||
							got.Version != want.Version {
							t.Errorf("got %+v; want %+v", got, want)
						}
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
			})
		}
	})
}

// TestFindUserAndPeekLocks: on PostgreSQL the user found stays locked until
// the commit, for the change to them, and the user peeked does not (one
// person's requests would otherwise wait for each other).
func TestFindUserAndPeekLocks(t *testing.T) {
	url := storetest.PostgresSchema(t)
	db := storetest.OpenPostgresAt(t, url)
	raw := storetest.OpenSQL(t, url)
	ctx := context.Background()
	admin, member, _, org := peekFixture(t, db)
	locked := func(id int64) bool {
		t.Helper()
		tx, err := raw.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		_, err = tx.ExecContext(ctx, `SELECT id FROM users WHERE id = $1 FOR UPDATE NOWAIT`, id)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "55P03" { // lock_not_available
			return true
		} else if err != nil {
			t.Fatal(err)
		}
		return false
	}
	err := db.Update(ctx, func(tx muster.Tx) error {
		if _, _, err := tx.FindUserAndPeek(ctx, org.ID, member.ID, admin.ID); err != nil {
			return err
		}
		if !locked(member.ID) {
			t.Error("the user found is not locked")
		}
		if locked(admin.ID) {
			t.Error("the user peeked is locked")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if locked(member.ID) {
		t.Error("the user found is still locked after the commit")
	}
}

// peekFixture makes an org with an Admin, a member with a second step on,
// and a user of another org.
func peekFixture(t *testing.T, db *sqlstore.DB) (admin, member, stranger *muster.User, org *muster.Org) {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC)
	err := db.Update(ctx, func(tx muster.Tx) error {
		var team *muster.Team
		var err error
		if org, team, err = createOrg(ctx, tx, "Peek", 10, now); err != nil {
			return err
		}
		other, otherTeam, err := createOrg(ctx, tx, "Elsewhere", 10, now)
		if err != nil {
			return err
		}
		admin = &muster.User{OrgID: org.ID, Email: "admin@example.com", FirstName: "Ada", LastName: "Admin",
			Role: muster.RoleAdmin, Status: muster.StatusActive, InvitedAt: now, UpdatedAt: now, PrimaryTeamID: team.ID}
		member = &muster.User{OrgID: org.ID, Email: "member@example.com", FirstName: "Mo", LastName: "Member",
			Role: muster.RoleBasic, Status: muster.StatusActive, InvitedAt: now, UpdatedAt: now, PrimaryTeamID: team.ID}
		stranger = &muster.User{OrgID: other.ID, Email: "stranger@example.com", FirstName: "Sam", LastName: "Stranger",
			Role: muster.RoleBasic, Status: muster.StatusActive, InvitedAt: now, UpdatedAt: now, PrimaryTeamID: otherTeam.ID}
		if err := tx.CreateUsers(ctx, []*muster.User{admin, member, stranger}); err != nil {
			return err
		}
		member.TwoStep = true
		return tx.CreateFactor(ctx, &muster.Factor{OrgID: org.ID, UserID: member.ID, Kind: muster.FactorTOTP,
			Name: "Phone", Secret: []byte("sealed"), CreatedAt: now, EnabledAt: now})
	})
	if err != nil {
		t.Fatal(err)
	}
	return admin, member, stranger, org
}
