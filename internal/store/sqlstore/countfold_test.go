package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestTeamCountsFold: the member counts a transaction changes are rows of
// their own until FoldTeamCounts adds them to the teams' rows, more than
// one transaction's worth of teams at a time; the counts read are the same
// before and after, and folding leaves no change behind.
func TestTeamCountsFold(t *testing.T) {
	storetest.RunParallel(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)
		names := make([]string, 130) // more teams than one fold takes
		for i := range names {
			names[i] = fmt.Sprintf("Team %03d", i)
		}
		org, main, teams := orgWithTeams(t, db, "Folds", 10, now, names...)
		others := make([]int64, len(teams))
		for i, team := range teams {
			others[i] = team.ID
		}
		var users []*muster.User
		for _, name := range []string{"ann", "bob", "cat"} {
			users = append(users, &muster.User{OrgID: org.ID, Email: name + "@example.com", FirstName: name,
				LastName: "Fold", Role: muster.RoleBasic, Status: muster.StatusPending, InvitedAt: now, UpdatedAt: now,
				PrimaryTeamID: main.ID, SecondaryTeamIDs: others})
		}
		err := db.Update(ctx, func(tx muster.Tx) error {
			if err := tx.CreateUsers(ctx, users); err != nil {
				return err
			}
			if ok, err := tx.TakeSeats(ctx, org.ID, len(users)); !ok || err != nil {
				return fmt.Errorf("taking 3 seats: %v, %w", ok, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		err = db.Update(ctx, func(tx muster.Tx) error {
			u := users[0]
			u.Status, u.DeactivatedAt = muster.StatusDeactivated, now
			if err := tx.UpdateUser(ctx, u); err != nil {
				return err
			}
			return tx.ReleaseSeat(ctx, org.ID)
		})
		if err != nil {
			t.Fatal(err)
		}

		// Everyone has 2 primary members, each other team 2 secondary ones.
		wantCounts := func(step string) {
			t.Helper()
			err := db.View(ctx, func(tx muster.Tx) error {
				teams, err := tx.FindTeams(ctx, org.ID)
				if err != nil {
					return err
				}
				for _, team := range teams {
					want := [2]int{0, 2}
					if team.ID == main.ID {
						want = [2]int{2, 0}
					}
					if got := [2]int{team.PrimaryCount, team.SecondaryCount}; got != want {
						t.Errorf("%s: %s has %d+%d members; want %d+%d", step, team.Name, got[0], got[1], want[0], want[1])
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		wantRow := func(step string, team int64, want [2]int) {
			t.Helper()
			p, s, err := sqlstore.TeamRowCounts(db, team)
			if err != nil {
				t.Fatal(err)
			}
			if got := [2]int{p, s}; got != want {
				t.Errorf("%s: team %d's row holds %d+%d; want %d+%d", step, team, p, s, want[0], want[1])
			}
		}
		wantCounts("before the fold")
		wantRow("before the fold", main.ID, [2]int{0, 0})
		// Two transactions, each a change of every team.
		if n, err := sqlstore.CountChanges(db); err != nil || n != 2*131 {
			t.Fatalf("changes before the fold: %d, %v; want %d", n, err, 2*131)
		}

		folded, err := db.FoldTeamCounts(ctx)
		if err != nil || folded != 2*131 {
			t.Fatalf("FoldTeamCounts: %d, %v; want %d changes folded", folded, err, 2*131)
		}
		wantCounts("after the fold")
		wantRow("after the fold", main.ID, [2]int{2, 0})
		wantRow("after the fold", others[len(others)-1], [2]int{0, 2})
		if n, err := sqlstore.CountChanges(db); err != nil || n != 0 {
			t.Errorf("changes after the fold: %d, %v; want none", n, err)
		}
		if folded, err := db.FoldTeamCounts(ctx); err != nil || folded != 0 {
			t.Errorf("folding again: %d, %v; want nothing to fold", folded, err)
		}
	})
}

// TestLockedTeamSeesTheChangesItWaitedFor (PostgreSQL): a team found for
// update while another transaction is adding a member to it waits for that
// transaction and then counts its member, whose count change is a row of its
// own, written before the wait began. (A team's removal is refused on that
// count.)
func TestLockedTeamSeesTheChangesItWaitedFor(t *testing.T) {
	url := storetest.PostgresSchema(t)
	db := storetest.OpenPostgresAt(t, url)
	raw := storetest.OpenSQL(t, url)
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)
	org, _, named := orgWithTeams(t, db, "Waits", 10, now, "Doomed")
	doomed := named[0]

	written, commit := make(chan struct{}), make(chan struct{})
	inviteErr := make(chan error, 1)
	go func() {
		inviteErr <- db.Update(ctx, func(tx muster.Tx) error {
			u := &muster.User{OrgID: org.ID, Email: "new@example.com", FirstName: "Nia", LastName: "New",
				Role: muster.RoleBasic, Status: muster.StatusPending, InvitedAt: now, UpdatedAt: now, PrimaryTeamID: doomed.ID}
			if err := tx.CreateUsers(ctx, []*muster.User{u}); err != nil {
				return err
			}
			if ok, err := tx.TakeSeat(ctx, org.ID); !ok || err != nil {
				return fmt.Errorf("taking a seat: %v, %w", ok, err)
			}
			close(written)
			<-commit
			return nil
		})
	}()
	select {
	case <-written:
	case err := <-inviteErr:
		t.Fatalf("the invitation ended before its commit was due: %v", err)
	}

	var found *muster.Team
	findErr := make(chan error, 1)
	go func() {
		findErr <- db.Update(ctx, func(tx muster.Tx) error {
			var err error
			found, err = tx.FindTeam(ctx, org.ID, doomed.ID)
			return err
		})
	}()
	// The invitation holds a share of the team's key until it commits, so
	// the lock waits: the invitation commits only once it does.
	for waiting := 0; waiting == 0; {
		select {
		case err := <-findErr:
			close(commit)
			t.Fatalf("the team was found for update while an invitation into it was open (%v); want it to wait", err)
		default:
		}
		err := raw.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
		if err != nil {
			t.Fatal(err)
		}
	}
	close(commit)
	if err := <-inviteErr; err != nil {
		t.Fatal(err)
	}
	if err := <-findErr; err != nil {
		t.Fatal(err)
	}
	if found.PrimaryCount != 1 {
		t.Errorf("the team found after the invitation committed has %d primary members; want 1", found.PrimaryCount)
	}
}
