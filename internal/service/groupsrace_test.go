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

// TestGroupPushesRace: an identity provider's pushes of four groups whose
// members overlap (each person in up to four of them), made at once with
// an Admin's bulk actions that add ten of those people to another team,
// edits of five others' names and folds of the teams' counts, all succeed
// and lose nothing: each person ends in every group that names them and in
// the other team, with their new name, and each team's counts are its
// members.
func TestGroupPushesRace(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		raceGroupPushes(t, db)
	})
}

// The same on two instances sharing one PostgreSQL schema.
func TestGroupPushesRaceTwoInstancesPostgres(t *testing.T) {
	t.Parallel()
	url := storetest.PostgresSchema(t)
	raceGroupPushes(t, storetest.OpenPostgresAt(t, url), storetest.OpenPostgresAt(t, url))
}

// raceGroupPushes sets the members of four groups to overlapping windows
// of 20 of 32 people, while ten of them are added to the team Side, five
// renamed, and the counts folded four times, spread over a service on db
// and one on each of others.
func raceGroupPushes(t *testing.T, db *sqlstore.DB, others ...*sqlstore.DB) {
	t.Helper()
	f := setup(t, db, 40)
	services := f.instances(others...)
	stores := append([]*sqlstore.DB{db}, others...)
	var people []int64
	for i := range 32 {
		people = append(people, f.active(fmt.Sprint("Member", i), muster.RoleBasic).ID)
	}
	idp, _ := f.scim(t)
	side := f.team(t, "Side")
	groups := make([]*service.ProvisionedTeam, 4)
	for g := range groups {
		var err error
		if groups[g], err = f.svc.ProvisionTeam(idp, service.TeamDraft{Name: fmt.Sprint("Group ", g)}); err != nil {
			t.Fatal(err)
		}
	}
	window := func(g int) []int64 { return people[4*g : 4*g+20] }

	ok, codes := race(t, 18, func(i int) error {
		svc := services[i%len(services)]
		switch {
		case i < 4:
			_, err := svc.ChangeProvisionedTeam(idp, groups[i].Team.ID, 0, func(d *service.TeamDraft) error {
				d.Members = window(i)
				return nil
			})
			return err
		case i < 9:
			// People 8 to 17, two a bulk action, are in two to four of
			// the windows.
			plan, err := svc.ApplyBulk(f.as(f.owner), service.BulkInput{Action: service.BulkAddSecondary,
				TeamID: side.ID, UserIDs: people[8+2*(i-4) : 10+2*(i-4)]})
			if err == nil {
				err = bulkFailure(plan)
			}
			return err
		case i < 14:
			// An edit of people 18 to 22 writes their whole row, teams
			// included, as it read it.
			name := fmt.Sprint("Renamed", i)
			_, err := svc.UpdateUser(f.as(f.owner), people[i+9], service.UserUpdate{LastName: &name})
			return err
		}
		_, err := stores[i%len(stores)].FoldTeamCounts(t.Context())
		return err
	})
	if ok != 18 {
		t.Fatalf("4 group pushes, 10 edits and 4 folds at once on %d instances: %d succeeded, refusals %v; want all",
			len(services), ok, codes)
	}
	for g, group := range groups {
		got, err := f.svc.FindProvisionedTeam(idp, group.Team.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		var members []int64
		for _, m := range got.Members {
			members = append(members, m.UserID)
		}
		if slices.Sort(members); !slices.Equal(members, window(g)) {
			t.Errorf("Group %d's members %v; want %v", g, members, window(g))
		}
		if team := findTeam(t, f, group.Team.ID); team.SecondaryCount != 20 || team.PrimaryCount != 0 {
			t.Errorf("Group %d counts %d primary and %d secondary members; want 0 and 20", g, team.PrimaryCount, team.SecondaryCount)
		}
	}
	for i, id := range people {
		u, err := f.svc.FindUser(f.as(f.owner), id)
		if err != nil {
			t.Fatal(err)
		}
		var want []int64
		for g, group := range groups {
			if slices.Contains(window(g), id) {
				want = append(want, group.Team.ID)
			}
		}
		if i >= 8 && i < 18 {
			want = append(want, side.ID)
		}
		if slices.Sort(want); !slices.Equal(u.SecondaryTeamIDs, want) {
			t.Errorf("person %d's secondary teams %v; want %v", i, u.SecondaryTeamIDs, want)
		}
		if i >= 18 && i < 23 && u.LastName != fmt.Sprint("Renamed", i-9) {
			t.Errorf("person %d's last name %q; want Renamed%d", i, u.LastName, i-9)
		}
	}
	if team := findTeam(t, f, side.ID); team.SecondaryCount != 10 {
		t.Errorf("Side counts %d secondary members; want 10", team.SecondaryCount)
	}
}

// bulkFailure is the first error of a bulk action's items, if any.
func bulkFailure(plan *service.BulkPlan) error {
	for _, it := range plan.Items {
		if it.Err != nil || it.Skip != nil {
			return fmt.Errorf("%s: %v %v", it.User.Email, it.Err, it.Skip)
		}
	}
	return nil
}

// TestGroupRenamesAtOnce: an identity provider's changes of one group,
// each renaming it and adding a member, sent at once: one after another,
// every rename and member kept, and none run again after a deadlock (each
// read the team share-locked and then renamed it, which needs the row's
// strongest lock: two such changes waited for each other until PostgreSQL
// ended one a second later).
func TestGroupRenamesAtOnce(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 40)
		idp, _ := f.scim(t)
		group, err := f.svc.ProvisionTeam(idp, service.TeamDraft{Name: "Group"})
		if err != nil {
			t.Fatal(err)
		}
		var people []int64
		for i := range 8 {
			people = append(people, f.active(fmt.Sprint("Renamer", i), muster.RoleBasic).ID)
		}
		before := db.Reruns()
		for round := range 5 {
			ok, _ := race(t, 4, func(i int) error {
				_, err := f.svc.ChangeProvisionedTeam(idp, group.Team.ID, 0, func(d *service.TeamDraft) error {
					d.Name = fmt.Sprintf("Group %d.%d", round, i)
					d.Members = append(d.Members, people[(round*4+i)%len(people)])
					return nil
				})
				return err
			})
			if ok != 4 {
				t.Fatalf("round %d: %d of 4 changes done", round, ok)
			}
		}
		got, err := f.svc.FindProvisionedTeam(idp, group.Team.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		// A version for each rename and for each of the 8 members joining.
		if want := group.Team.Version + 20 + int64(len(people)); len(got.Members) != len(people) || got.Team.Version != want {
			t.Errorf("the group has %d members at version %d; want all %d, at version %d", len(got.Members),
				got.Team.Version, len(people), want)
		}
		if n := db.Reruns() - before; n != 0 {
			t.Errorf("%d of the changes deadlocked and were run again", n)
		}
	})
}
