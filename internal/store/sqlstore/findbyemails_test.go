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

// TestFindUsersByEmails: of the emails asked about, one (an invitation's
// statement) or several (an import's), FindUsersByEmails returns the org's
// records whatever their status, and other orgs' users only while they are
// Pending or Active.
func TestFindUsersByEmails(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
		var ours *muster.Org
		var users []*muster.User
		err := db.Update(ctx, func(tx muster.Tx) error {
			var teams [2]*muster.Team
			var err error
			if ours, teams[0], err = createOrg(ctx, tx, "Ours", 10, now); err != nil {
				return err
			}
			var theirs *muster.Org
			if theirs, teams[1], err = createOrg(ctx, tx, "Theirs", 10, now); err != nil {
				return err
			}
			person := func(org *muster.Org, team *muster.Team, email string, status muster.Status) *muster.User {
				return &muster.User{OrgID: org.ID, Email: email, FirstName: "A", LastName: "Person", Role: muster.RoleBasic,
					Status: status, InvitedAt: now, UpdatedAt: now, PrimaryTeamID: team.ID}
			}
			users = []*muster.User{
				person(ours, teams[0], "left@example.com", muster.StatusWithdrawn),
				person(ours, teams[0], "here@example.com", muster.StatusActive),
				person(theirs, teams[1], "live@example.com", muster.StatusPending),
				person(theirs, teams[1], "gone@example.com", muster.StatusDeactivated),
			}
			return tx.CreateUsers(ctx, users)
		})
		if err != nil {
			t.Fatal(err)
		}
		left, here, live := users[0], users[1], users[2]
		for _, c := range []struct {
			emails []string
			want   []int64
		}{
			{[]string{"left@example.com"}, []int64{left.ID}},
			{[]string{"here@example.com"}, []int64{here.ID}},
			{[]string{"live@example.com"}, []int64{live.ID}},
			{[]string{"gone@example.com"}, nil},
			{[]string{"nobody@example.com"}, nil},
			{[]string{"gone@example.com", "here@example.com", "left@example.com", "live@example.com", "nobody@example.com"},
				[]int64{left.ID, here.ID, live.ID}},
		} {
			err := db.View(ctx, func(tx muster.Tx) error {
				found, err := tx.FindUsersByEmails(ctx, ours.ID, c.emails)
				if err != nil {
					return err
				}
				var got []int64
				for _, u := range found {
					got = append(got, u.ID)
				}
				slices.Sort(got)
				if !slices.Equal(got, c.want) {
					return fmt.Errorf("%v: users %v, want %v", c.emails, got, c.want)
				}
				return nil
			})
			if err != nil {
				t.Error(err)
			}
		}
	})
}
