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

// TestSetUsersTeams: the teams of several users written at once (a group's
// members changed by an identity provider) are what they are read with
// and what the memberships hold; each user's version goes up and the rest
// of their row stays; the teams' member counts follow for Pending and
// Active users alone; and a user of another org is not found and changes
// nothing.
func TestSetUsersTeams(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
		org, def, teams := orgWithTeams(t, db, "Set teams", 10, now, "Sales", "Support")
		sales, support := teams[0], teams[1]
		other, otherDef, _ := orgWithTeams(t, db, "Elsewhere", 10, now)
		users := []*muster.User{
			{Status: muster.StatusActive, PrimaryTeamID: def.ID},
			{Status: muster.StatusPending, PrimaryTeamID: def.ID, SecondaryTeamIDs: []int64{sales.ID}},
			{Status: muster.StatusDeactivated, PrimaryTeamID: def.ID, DeactivatedAt: now},
		}
		for i, u := range users {
			u.OrgID, u.Email, u.FirstName, u.LastName = org.ID, fmt.Sprintf("set%d@example.com", i), "Set", fmt.Sprint(i)
			u.Role, u.InvitedAt, u.UpdatedAt = muster.RoleBasic, now, now
		}
		stranger := &muster.User{OrgID: other.ID, Email: "stranger@example.com", FirstName: "Stranger", LastName: "X",
			Role: muster.RoleBasic, Status: muster.StatusActive, InvitedAt: now, UpdatedAt: now, PrimaryTeamID: otherDef.ID}
		err := db.Update(ctx, func(tx muster.Tx) error {
			if err := tx.CreateUsers(ctx, users); err != nil {
				return err
			}
			return tx.CreateUsers(ctx, []*muster.User{stranger})
		})
		if err != nil {
			t.Fatal(err)
		}

		later := now.Add(time.Hour)
		want := [][2]any{{sales.ID, sorted(support.ID)}, {def.ID, []int64(nil)}, {support.ID, []int64(nil)}}
		err = db.Update(ctx, func(tx muster.Tx) error {
			for i, u := range users {
				u.PrimaryTeamID, u.SecondaryTeamIDs, u.UpdatedAt = want[i][0].(int64), want[i][1].([]int64), later
			}
			return tx.SetUsersTeams(ctx, users)
		})
		if err != nil {
			t.Fatal(err)
		}
		for i, u := range users {
			if u.Version != 2 {
				t.Errorf("user %d: version %d after the change; want 2", i, u.Version)
			}
			var got *muster.User
			if err := db.View(ctx, func(tx muster.Tx) (err error) { got, err = tx.FindUser(ctx, org.ID, u.ID); return }); err != nil {
				t.Fatal(err)
			}
			read := fmt.Sprint(got.PrimaryTeamID, got.SecondaryTeamIDs)
			if read != fmt.Sprint(want[i][0], want[i][1]) || memberships(t, db, u.ID) != read {
				t.Errorf("user %d: read in %s, memberships %s; want %v", i, read, memberships(t, db, u.ID), want[i])
			}
			if got.Version != 2 || !got.UpdatedAt.Equal(later) || got.Email != u.Email || got.Status != u.Status ||
				got.LastName != fmt.Sprint(i) || !got.InvitedAt.Equal(now) {
				t.Errorf("user %d read as %+v; want version 2, updated at %v, the rest as it was", i, got, later)
			}
		}
		// The Active user moved from the Default Team to Sales (and
		// Support), the Pending one left Sales; the Deactivated one counts
		// nowhere.
		counts := teamCounts(t, db, org.ID)
		for team, want := range map[string]string{def.Name: "1 0", sales.Name: "1 0", support.Name: "0 1"} {
			if counts[team] != want {
				t.Errorf("%s: primary and secondary members %s; want %s", team, counts[team], want)
			}
		}

		// Another org's user among them: not found, and nothing written.
		err = db.Update(ctx, func(tx muster.Tx) error {
			users[0].PrimaryTeamID, users[0].SecondaryTeamIDs = def.ID, nil
			return tx.SetUsersTeams(ctx, []*muster.User{users[0], {ID: stranger.ID, OrgID: org.ID,
				PrimaryTeamID: def.ID, UpdatedAt: later}})
		})
		if muster.ErrorCode(err) != muster.ENOTFOUND {
			t.Errorf("another org's user among them: %v; want ENOTFOUND", err)
		}
		if got := memberships(t, db, users[0].ID); got != fmt.Sprint(want[0][0], want[0][1]) {
			t.Errorf("after the refusal user 0 is in %s; want %v, as before", got, want[0])
		}
		if got := memberships(t, db, stranger.ID); got != fmt.Sprint(otherDef.ID, []int64(nil)) {
			t.Errorf("after the refusal the other org's user is in %s; want their Default Team alone", got)
		}
	})
}

// teamCounts are the org's teams' member counts, primary and secondary, by
// team name.
func teamCounts(t *testing.T, db *sqlstore.DB, orgID int64) map[string]string {
	t.Helper()
	var teams []*muster.Team
	if err := db.View(context.Background(), func(tx muster.Tx) (err error) { teams, err = tx.FindTeams(context.Background(), orgID); return }); err != nil {
		t.Fatal(err)
	}
	counts := map[string]string{}
	for _, team := range teams {
		counts[team.Name] = fmt.Sprint(team.PrimaryCount, team.SecondaryCount)
	}
	return counts
}
