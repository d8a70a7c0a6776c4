package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestTeamsColumnFollowsMemberships checks that the teams a user is read
// with (the users row's teams column, which pages read instead of the
// memberships) stay what the memberships say through every write that
// changes them: creating users, changing a user's teams, and deleting a
// team whose members move to another, including members who had that other
// team as a secondary.
func TestTeamsColumnFollowsMemberships(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
		org := &muster.Org{Name: "Teams", Region: "us", LicenseTotal: 10, CreatedAt: now}
		teams := make([]*muster.Team, 4)
		users := make([]*muster.User, 5)
		err := db.Update(ctx, func(tx muster.Tx) error {
			if err := tx.CreateOrg(ctx, org); err != nil {
				return err
			}
			for i := range teams {
				teams[i] = &muster.Team{OrgID: org.ID, Name: fmt.Sprint("Team ", i), IsDefault: i == 0, CreatedAt: now}
				if err := tx.CreateTeam(ctx, teams[i]); err != nil {
					return err
				}
			}
			id := func(i int) int64 { return teams[i].ID }
			for i, m := range []struct {
				primary     int64
				secondaries []int64
			}{
				{id(1), nil},                   // moves to team 2 when team 1 goes
				{id(1), []int64{id(2), id(3)}}, // ...and loses team 2 as a secondary
				{id(2), []int64{id(1)}},        // loses team 1
				{id(3), []int64{id(2), id(0)}}, // unchanged
				{id(0), nil},
			} {
				users[i] = &muster.User{OrgID: org.ID, Email: fmt.Sprintf("p%d@example.com", i), FirstName: "P",
					LastName: fmt.Sprint(i), Role: muster.RoleBasic, Status: muster.StatusActive, InvitedAt: now,
					UpdatedAt: now, PrimaryTeamID: m.primary, SecondaryTeamIDs: m.secondaries}
			}
			return tx.CreateUsers(ctx, users)
		})
		if err != nil {
			t.Fatal(err)
		}
		check := func(step string, want map[int][2]any) {
			t.Helper()
			for i, u := range users {
				var got *muster.User
				err := db.View(ctx, func(tx muster.Tx) error {
					var err error
					got, err = tx.FindUser(ctx, org.ID, u.ID)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				fromMemberships := memberships(t, db, u.ID)
				read := fmt.Sprint(got.PrimaryTeamID, got.SecondaryTeamIDs)
				if read != fromMemberships {
					t.Errorf("%s: user %d is read with teams %s; the memberships say %s", step, i, read, fromMemberships)
				}
				if w, ok := want[i]; ok && read != fmt.Sprint(w[0], w[1]) {
					t.Errorf("%s: user %d is in %s; want %v", step, i, read, w)
				}
			}
		}
		id := func(i int) int64 { return teams[i].ID }
		check("created", map[int][2]any{1: {id(1), sorted(id(2), id(3))}})

		err = db.Update(ctx, func(tx muster.Tx) error {
			u, err := tx.FindUser(ctx, org.ID, users[4].ID)
			if err != nil {
				return err
			}
			u.PrimaryTeamID, u.SecondaryTeamIDs = id(3), []int64{id(1), id(0)}
			return tx.UpdateUser(ctx, u)
		})
		if err != nil {
			t.Fatal(err)
		}
		check("teams changed", map[int][2]any{4: {id(3), sorted(id(0), id(1))}})

		if err := db.Update(ctx, func(tx muster.Tx) error { return tx.DeleteTeam(ctx, org.ID, id(1), id(2)) }); err != nil {
			t.Fatal(err)
		}
		check("team 1 deleted, its members moved to team 2", map[int][2]any{
			0: {id(2), []int64(nil)},
			1: {id(2), []int64{id(3)}},
			2: {id(2), []int64(nil)},
			3: {id(3), sorted(id(0), id(2))},
			4: {id(3), []int64{id(0)}},
		})
	})
}

// memberships is a user's primary and secondary teams as the memberships
// table holds them, printed as the test compares them.
func memberships(t *testing.T, db *sqlstore.DB, userID int64) string {
	t.Helper()
	primary, secondaries, err := sqlstore.Memberships(db, userID)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(primary, sorted(secondaries...))
}

func sorted(ids ...int64) []int64 {
	if len(ids) == 0 {
		return nil
	}
	return slices.Sorted(slices.Values(ids))
}
