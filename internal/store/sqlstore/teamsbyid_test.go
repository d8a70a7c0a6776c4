package sqlstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestFindTeamsByID: the org's teams among the ids, as FindTeams lists them
// (the Default Team first, then by name, with their counts); another org's
// team and an id of no team are not among them, and no ids find none.
func TestFindTeamsByID(t *testing.T) {
	storetest.RunParallel(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := time.Date(2026, 12, 1, 21, 0, 0, 0, time.UTC)
		org, def, teams := orgWithTeams(t, db, "Acme", 10, now, "Zeta", "Alpha", "Mid")
		_, _, others := orgWithTeams(t, db, "Other", 10, now, "Alpha")
		err := db.View(ctx, func(tx muster.Tx) error {
			all, err := tx.FindTeams(ctx, org.ID)
			if err != nil {
				return err
			}
			got, err := tx.FindTeamsByID(ctx, org.ID, []int64{teams[0].ID, others[0].ID, def.ID, teams[1].ID, 1 << 40})
			if err != nil {
				return err
			}
			// all is Default, Alpha, Mid, Zeta; the ids ask for Zeta,
			// Default and Alpha.
			want := []*muster.Team{all[0], all[1], all[3]}
			if !slices.EqualFunc(got, want, func(a, b *muster.Team) bool { return *a == *b }) {
				t.Errorf("FindTeamsByID: %v; want %v", names(got), names(want))
			}
			// More ids than a statement names, the teams in different
			// chunks: the same teams, in the same order.
			var many []int64
			for _, id := range []int64{teams[0].ID, def.ID, teams[1].ID, others[0].ID} {
				many = append(many, id)
				for i := range 1500 {
					many = append(many, -int64(len(many)+i))
				}
			}
			got, err = tx.FindTeamsByID(ctx, org.ID, many)
			if err != nil {
				return err
			}
			if !slices.EqualFunc(got, want, func(a, b *muster.Team) bool { return *a == *b }) {
				t.Errorf("FindTeamsByID of %d ids: %v; want %v", len(many), names(got), names(want))
			}
			none, err := tx.FindTeamsByID(ctx, org.ID, nil)
			if len(none) != 0 {
				t.Errorf("FindTeamsByID of no ids: %v; want none", names(none))
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// TestShareTeamsManyIDs: a request may name more teams than a statement
// takes parameters; the org's among them are found and share-locked all
// the same, with the org, and another org's are not.
func TestShareTeamsManyIDs(t *testing.T) {
	storetest.RunParallel(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
		org, def, teams := orgWithTeams(t, db, "Acme", 10, now, "Zeta", "Alpha")
		_, _, others := orgWithTeams(t, db, "Other", 10, now, "Alpha")
		ids := []int64{def.ID, teams[0].ID, teams[1].ID, others[0].ID}
		for i := range 40000 { // past PostgreSQL's 65,535 parameters once padded
			ids = append(ids, int64(1<<40+i))
		}
		want := []int64{def.ID, teams[0].ID, teams[1].ID}
		slices.Sort(want)
		err := db.Update(ctx, func(tx muster.Tx) error {
			found, err := tx.ShareTeams(ctx, org.ID, ids)
			if err != nil {
				return err
			}
			slices.Sort(found)
			if !slices.Equal(found, want) {
				t.Errorf("ShareTeams: %v; want %v", found, want)
			}
			o, found, _, err := tx.FindOrgSharingTeams(ctx, org.ID, ids)
			if err != nil {
				return err
			}
			if o.ID != org.ID || !slices.Equal(found, want) {
				t.Errorf("FindOrgSharingTeams: org %d, teams %v; want %d, %v", o.ID, found, org.ID, want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func names(teams []*muster.Team) []string {
	var out []string
	for _, t := range teams {
		out = append(out, t.Name)
	}
	return out
}

// TestFindTeamNames: every team of the org, in FindTeams' order, by id, name
// and whether it is the Default Team; another org's are not among them, and
// a team created earlier in the transaction is.
func TestFindTeamNames(t *testing.T) {
	storetest.RunParallel(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
		org, _, _ := orgWithTeams(t, db, "Acme", 10, now, "Zeta", "alpha", "Mid")
		orgWithTeams(t, db, "Other", 10, now, "Beta")
		err := db.Update(ctx, func(tx muster.Tx) error {
			if err := tx.CreateTeam(ctx, &muster.Team{OrgID: org.ID, Name: "Beta", CreatedAt: now}); err != nil {
				return err
			}
			all, err := tx.FindTeams(ctx, org.ID)
			if err != nil {
				return err
			}
			got, err := tx.FindTeamNames(ctx, org.ID)
			if err != nil {
				return err
			}
			var want []muster.TeamName
			for _, team := range all {
				want = append(want, muster.TeamName{ID: team.ID, Name: team.Name, IsDefault: team.IsDefault})
			}
			if len(want) != 5 || !slices.Equal(got, want) {
				t.Errorf("FindTeamNames: %v; want %v", got, want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
