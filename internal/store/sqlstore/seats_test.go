package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestSeatsWithMemberCounts: seats taken are written at once, seats freed
// just before the commit, and the member counts noted with the first of
// those (on PostgreSQL in the seat's statement), each exactly once: a
// refused take still writes the counts noted before it, a take nets out the
// seats the transaction freed before it (which the org, read in the
// transaction, already shows), and a savepoint rolled back forgets what it
// noted but keeps what was noted before it.
func TestSeatsWithMemberCounts(t *testing.T) {
	storetest.RunParallel(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 30, 21, 0, 0, 0, time.UTC)
		org, main, named := orgWithTeams(t, db, "Seats", 3, now, "Side")
		side := named[0]
		newUsers := func(names ...string) []*muster.User {
			users := make([]*muster.User, len(names))
			for i, name := range names {
				users[i] = &muster.User{OrgID: org.ID, Email: name + "@example.com", FirstName: name, LastName: "Seat",
					Role: muster.RoleBasic, Status: muster.StatusPending, InvitedAt: now, UpdatedAt: now,
					PrimaryTeamID: main.ID, SecondaryTeamIDs: []int64{side.ID}}
			}
			return users
		}
		want := func(step string, seats, members int) {
			t.Helper()
			err := db.View(ctx, func(tx muster.Tx) error {
				o, err := tx.FindOrg(ctx, org.ID)
				if err != nil {
					return err
				}
				teams, err := tx.FindTeams(ctx, org.ID)
				if err != nil {
					return err
				}
				got := fmt.Sprint(o.SeatsUsed)
				for _, team := range teams {
					got += fmt.Sprintf(" %s %d+%d", team.Name, team.PrimaryCount, team.SecondaryCount)
				}
				if w := fmt.Sprintf("%d Everyone %d+0 Side 0+%d", seats, members, members); got != w {
					t.Errorf("%s: seats and counts %q; want %q", step, got, w)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		deactivate := func(tx muster.Tx, name string) error {
			u, err := tx.FindUserByEmail(ctx, org.ID, name+"@example.com")
			if err != nil {
				return err
			}
			u.Status, u.DeactivatedAt, u.UpdatedAt = muster.StatusDeactivated, now, now
			return tx.UpdateUser(ctx, u)
		}

		err := db.Update(ctx, func(tx muster.Tx) error {
			if err := tx.CreateUsers(ctx, newUsers("ann", "bob")); err != nil {
				return err
			}
			if ok, err := tx.TakeSeats(ctx, org.ID, 2); !ok || err != nil {
				return fmt.Errorf("taking 2 of 3 seats: %v, %w", ok, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want("two invited", 2, 2)

		err = db.Update(ctx, func(tx muster.Tx) error {
			if err := tx.CreateUsers(ctx, newUsers("cat")); err != nil {
				return err
			}
			if ok, err := tx.TakeSeats(ctx, org.ID, 2); ok || err != nil {
				return fmt.Errorf("taking 2 seats with 1 left: %v, %w", ok, err)
			}
			if ok, err := tx.TakeSeat(ctx, org.ID); !ok || err != nil {
				return fmt.Errorf("taking the last seat: %v, %w", ok, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want("a third after a refused take", 3, 3)

		errUndo := errors.New("undone")
		err = db.Update(ctx, func(tx muster.Tx) error {
			if err := deactivate(tx, "ann"); err != nil {
				return err
			}
			err := tx.Savepoint(ctx, func() error {
				if err := deactivate(tx, "bob"); err != nil {
					return err
				}
				if err := tx.ReleaseSeats(ctx, org.ID, 2); err != nil {
					return err
				}
				return errUndo
			})
			if !errors.Is(err, errUndo) {
				return fmt.Errorf("savepoint: %w; want it undone", err)
			}
			return tx.ReleaseSeat(ctx, org.ID)
		})
		if err != nil {
			t.Fatal(err)
		}
		want("one deactivated, another undone", 2, 2)

		err = db.Update(ctx, func(tx muster.Tx) error {
			if err := deactivate(tx, "bob"); err != nil {
				return err
			}
			if err := tx.ReleaseSeat(ctx, org.ID); err != nil {
				return err
			}
			if o, err := tx.FindOrg(ctx, org.ID); err != nil || o.SeatsUsed != 1 {
				return fmt.Errorf("the org after a seat freed: %v, %w; want 1 seat used", o, err)
			}
			if err := tx.CreateUsers(ctx, newUsers("dan", "eve")); err != nil {
				return err
			}
			if ok, err := tx.TakeSeats(ctx, org.ID, 2); !ok || err != nil {
				return fmt.Errorf("taking 2 seats with 1 free and 1 freed: %v, %w", ok, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		want("one deactivated, two invited", 3, 3)

		before := db.RoundTrips()
		err = db.Update(ctx, func(tx muster.Tx) error {
			if err := deactivate(tx, "dan"); err != nil {
				return err
			}
			return tx.ReleaseSeat(ctx, org.ID)
		})
		if err != nil {
			t.Fatal(err)
		}
		// BEGIN with the user, their row, the seat with the counts and
		// COMMIT. SQLite runs in the process: it counts no round trips.
		if n := db.RoundTrips() - before; db.RoundTrips() > 0 && n != 3 {
			t.Errorf("a deactivation took %d round trips; want 3", n)
		}
		want("one more deactivated", 2, 2)
	})
}
