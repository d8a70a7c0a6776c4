package service_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestBulkTeamActionRoundTrips: on PostgreSQL the Users tab's bulk "add to
// a team" sends about as many statements for 40 users as for 4: their
// edits go together, a batch a transaction, not one transaction a user
// (which sent 9 statements a user).
func TestBulkTeamActionRoundTrips(t *testing.T) {
	db := storetest.OpenPostgres(t)
	f := setup(t, db, 60)
	var people []int64
	for i := range 44 {
		people = append(people, f.active(fmt.Sprint("Bulk", i), muster.RoleBasic).ID)
	}
	trips := func(name string, ids []int64) int64 {
		team := f.team(t, name)
		before := db.RoundTrips()
		plan, err := f.svc.ApplyBulk(f.as(f.owner), service.BulkInput{Action: service.BulkAddSecondary, TeamID: team.ID,
			UserIDs: ids})
		if err != nil {
			t.Fatal(err)
		}
		n := db.RoundTrips() - before
		if err := bulkFailure(plan); err != nil {
			t.Fatal(err)
		}
		if got := findTeam(t, f, team.ID).SecondaryCount; got != len(ids) {
			t.Fatalf("%s has %d secondary members; want %d", name, got, len(ids))
		}
		return n
	}
	small, big := trips("Four", people[:4]), trips("Forty", people[4:])
	if big > small+5 {
		t.Errorf("adding 40 users to a team sent %d statements, 4 users %d; want at most 5 more", big, small)
	}
}

// TestBulkTeamActionsRace: two Admins' bulk actions adding one team to
// overlapping users, made at once with edits that give some of them the
// team already, leave every user with the team once and its count right;
// a user the team reached first is skipped or refused alone, as "already
// one of their secondary teams", and the rest of their batch is done.
func TestBulkTeamActionsRace(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 40)
		var people []int64
		for i := range 30 {
			people = append(people, f.active(fmt.Sprint("Racer", i), muster.RoleBasic).ID)
		}
		admins := []*muster.User{f.owner, f.active("Ada", muster.RoleAdmin)}
		team := f.team(t, "Support")
		plans := make([]*service.BulkPlan, 2)
		ok, codes := race(t, 8, func(i int) error {
			if i < 2 {
				var err error
				plans[i], err = f.svc.ApplyBulk(f.as(admins[i]), service.BulkInput{Action: service.BulkAddSecondary,
					TeamID: team.ID, UserIDs: people[10*i : 10*i+20]})
				return err
			}
			// People 8 to 13, in both actions' lists (10 to 19) or one's.
			_, err := f.svc.UpdateUser(f.as(f.owner), people[i+6], service.UserUpdate{SecondaryTeamIDs: &[]int64{team.ID}})
			return err
		})
		if ok != 8 {
			t.Fatalf("2 bulk actions and 6 edits at once: %d succeeded, refusals %v; want all", ok, codes)
		}
		for _, plan := range plans {
			for _, it := range plan.Items {
				if it.Done || it.Skip != nil {
					continue
				}
				if muster.ErrorCode(it.Err) != muster.ECONFLICT {
					t.Errorf("%s: %v; want done, skipped, or refused as having Support already", it.User.Email, it.Err)
				}
			}
		}
		// Between them the two actions name all 30.
		for i, id := range people {
			u := f.user(t, id)
			if n := len(slices.DeleteFunc(slices.Clone(u.SecondaryTeamIDs), func(s int64) bool { return s != team.ID })); n != 1 {
				t.Errorf("person %d has Support %d times among %v; want once", i, n, u.SecondaryTeamIDs)
			}
		}
		if got := findTeam(t, f, team.ID).SecondaryCount; got != len(people) {
			t.Errorf("Support counts %d secondary members; want %d", got, len(people))
		}
	})
}
