package sqlstore_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestFindUsersShapes pages through many filters with FindUsers, whose
// query takes one of several shapes by how many users a search or team
// selects, and compares every page with the same filter applied in Go; and
// checks FindTeams' counts, which subtract the users who are not live, and
// that FindUserListing finds the same users, the fields a listing does not
// read left out, in every shape.
func TestFindUsersShapes(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		// With a limit of 12, the Small team (8 members) and searches that
		// match few last names start from their matches; the rest walk.
		defer sqlstore.SetSelectiveLimit(12)()
		ctx := context.Background()
		now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
		rng := rand.New(rand.NewPCG(11, 23))
		org := &muster.Org{Name: "Shapes", Region: "us", LicenseTotal: 1000, CreatedAt: now}
		teams := map[string]*muster.Team{}
		var users []*muster.User
		err := db.Update(ctx, func(tx muster.Tx) error {
			if err := tx.CreateOrg(ctx, org); err != nil {
				return err
			}
			for i, name := range []string{"Default", "Big", "Small", "Empty"} {
				teams[name] = &muster.Team{OrgID: org.ID, Name: name, IsDefault: i == 0, CreatedAt: now}
				if err := tx.CreateTeam(ctx, teams[name]); err != nil {
					return err
				}
			}
			firsts := []string{"Mar", "Maria", "Mark", "Marta", "Sam", "Samuel", "Sara", "Alex", "Zoë", "José", "Li"}
			// The last names before the blank are common, the rest rare.
			lasts := []string{"Martin", "Marsh", "Smith", "Sanchez", "Alvarez", "", "Zhang", "O'Brien", "Da Silva", "Samson", "Lee"}
			common := slices.Index(lasts, "")
			statuses := []muster.Status{muster.StatusActive, muster.StatusActive, muster.StatusActive,
				muster.StatusPending, muster.StatusDeactivated, muster.StatusWithdrawn}
			for i := range 240 {
				last := lasts[rng.IntN(common)]
				if rng.IntN(10) == 0 {
					last = lasts[common+1+rng.IntN(len(lasts)-common-1)]
				}
				first := firsts[rng.IntN(len(firsts))]
				local := strings.ToLower(strings.NewReplacer("ë", "e", "é", "e", "'", "", " ", "").Replace(first + "." + last))
				if i%3 == 0 {
					local = "x" + local
				}
				u := &muster.User{OrgID: org.ID, Email: fmt.Sprintf("%s%d@example.com", local, i),
					FirstName: first, LastName: last, Role: muster.RoleBasic, Status: statuses[rng.IntN(len(statuses))],
					InvitedAt: now.Add(time.Duration(rng.IntN(50)) * time.Minute), UpdatedAt: now,
					PrimaryTeamID: teams["Default"].ID}
				if rng.IntN(3) > 0 {
					// Some sign-ins share a time; the rest never signed in.
					u.LastSignInAt = now.Add(time.Duration(1+rng.IntN(40)) * time.Hour)
				}
				if i%7 == 0 {
					u.Role = muster.RoleAdmin
				}
				// What a listing leaves out, for it to leave out.
				if u.Status != muster.StatusPending {
					u.PasswordHash = fmt.Sprintf("$argon2id$v=19$m=65536,t=1,p=4$salt%d$hash", i)
				}
				if i%5 == 0 {
					u.ExternalID = fmt.Sprintf("idp-%d", i)
					if u.Status == muster.StatusDeactivated {
						u.SCIMDeletedAt = now.Add(time.Hour)
					}
				}
				switch {
				case i%30 == 0:
					u.PrimaryTeamID = teams["Small"].ID
				case rng.IntN(2) == 0:
					u.PrimaryTeamID = teams["Big"].ID
				}
				if u.PrimaryTeamID != teams["Big"].ID && rng.IntN(4) == 0 {
					u.SecondaryTeamIDs = []int64{teams["Big"].ID}
				}
				if err := tx.CreateUser(ctx, u); err != nil {
					return err
				}
				users = append(users, u)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		sortKey := func(u *muster.User) string { return muster.SearchKey(u.FirstName + " " + u.LastName) }
		slices.SortFunc(users, func(a, b *muster.User) int {
			if c := strings.Compare(sortKey(a), sortKey(b)); c != 0 {
				return c
			}
			return int(a.ID - b.ID)
		})
		want := func(f muster.UserFilter) []int64 {
			q := muster.SearchKey(f.Query)
			var ids []int64
			for _, u := range users {
				switch {
				case f.Status == "" && u.Status == muster.StatusWithdrawn,
					f.Status != "" && u.Status != f.Status,
					f.Role != "" && u.Role != f.Role,
					f.TeamID != 0 && u.PrimaryTeamID != f.TeamID && !slices.Contains(u.SecondaryTeamIDs, f.TeamID),
					f.PrimaryOnly && u.PrimaryTeamID != f.TeamID,
					q != "" && !strings.HasPrefix(sortKey(u), q) && !strings.HasPrefix(muster.SearchKey(u.LastName), q) &&
						!strings.HasPrefix(muster.NormalizeEmail(u.Email), q):
					continue
				}
				ids = append(ids, u.ID)
			}
			return ids
		}
		var listed []*muster.Team
		err = db.View(ctx, func(tx muster.Tx) error {
			var err error
			listed, err = tx.FindTeams(ctx, org.ID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, team := range listed {
			var primaries, secondaries int
			for _, u := range users {
				if u.Status != muster.StatusPending && u.Status != muster.StatusActive {
					continue
				}
				if u.PrimaryTeamID == team.ID {
					primaries++
				}
				if slices.Contains(u.SecondaryTeamIDs, team.ID) {
					secondaries++
				}
			}
			if team.PrimaryCount != primaries || team.SecondaryCount != secondaries {
				t.Errorf("FindTeams: %s has %d primaries and %d secondaries; want %d and %d",
					team.Name, team.PrimaryCount, team.SecondaryCount, primaries, secondaries)
			}
		}

		var filters []muster.UserFilter
		teamIDs := []int64{0, teams["Default"].ID, teams["Big"].ID, teams["Small"].ID, teams["Empty"].ID}
		for _, q := range []string{"", "m", "mar", "MARt", "maria m", "s", "sa", "sam", "samuel samson", "z", "zo",
			"zh", "jos", "o'", "da s", "li", "lee", "x", "xmar", "example", "nobody"} {
			for _, team := range teamIDs {
				filters = append(filters, muster.UserFilter{Query: q, TeamID: team})
			}
		}
		for _, q := range []string{"", "sam"} {
			for _, status := range []muster.Status{muster.StatusPending, muster.StatusDeactivated, muster.StatusWithdrawn} {
				for _, role := range []muster.Role{"", muster.RoleAdmin} {
					for _, team := range teamIDs {
						filters = append(filters, muster.UserFilter{Query: q, Status: status, Role: role, TeamID: team})
					}
				}
			}
		}
		// Every order, both ways, of a few of the filters: a walk, a team
		// that starts from its members, a search by name and a rare one.
		for _, sort := range muster.UserSorts {
			for _, desc := range []bool{false, true} {
				for _, f := range []muster.UserFilter{{}, {TeamID: teams["Small"].ID}, {TeamID: teams["Big"].ID},
					{Query: "mar"}, {Query: "zh"}, {Query: "s", Role: muster.RoleAdmin}, {Status: muster.StatusPending},
					{TeamID: teams["Big"].ID, PrimaryOnly: true}, {TeamID: teams["Small"].ID, PrimaryOnly: true, Query: "m"}} {
					f.Sort, f.Desc = sort, desc
					filters = append(filters, f)
				}
			}
		}
		micros := func(t time.Time) int64 {
			if t.IsZero() {
				return 0
			}
			return t.UnixMicro()
		}
		// order sorts ids as the filter's order does.
		order := func(f muster.UserFilter, ids []int64) {
			byID := map[int64]*muster.User{}
			for _, u := range users {
				byID[u.ID] = u
			}
			slices.SortStableFunc(ids, func(a, b int64) int {
				ua, ub := byID[a], byID[b]
				var c int
				switch f.Sort {
				case muster.SortEmail:
					c = strings.Compare(muster.NormalizeEmail(ua.Email), muster.NormalizeEmail(ub.Email))
				case muster.SortRole:
					c = strings.Compare(string(ua.Role), string(ub.Role))
				case muster.SortStatus:
					c = strings.Compare(string(ua.Status), string(ub.Status))
				case muster.SortInvited:
					c = int(micros(ua.InvitedAt) - micros(ub.InvitedAt))
				case muster.SortLastSignIn:
					c = int(micros(ua.LastSignInAt) - micros(ub.LastSignInAt))
				}
				if c == 0 && (f.Sort == muster.SortRole || f.Sort == muster.SortStatus || f.Sort == "" || f.Sort == muster.SortName) {
					c = strings.Compare(sortKey(ua), sortKey(ub))
				}
				if c == 0 {
					c = int(ua.ID - ub.ID)
				}
				if f.Desc {
					c = -c
				}
				return c
			})
		}
		for _, f := range filters {
			f.OrgID, f.Limit = org.ID, 9
			wantIDs := want(f)
			order(f, wantIDs)
			var got []int64
			var count int
			for page := 0; ; page++ {
				var found, shown []*muster.User
				err := db.View(ctx, func(tx muster.Tx) error {
					var err error
					if found, err = tx.FindUsers(ctx, f); err != nil {
						return err
					}
					if shown, err = tx.FindUserListing(ctx, f); err != nil {
						return err
					}
					count, err = tx.CountUsers(ctx, f, 1000)
					return err
				})
				if err != nil {
					t.Fatalf("%+v: %v", f, err)
				}
				for _, u := range found {
					got = append(got, u.ID)
				}
				if !slices.EqualFunc(shown, found, listedAs) {
					t.Errorf("%+v: FindUserListing found\n%+v\nFindUsers\n%+v", f, derefs(shown), derefs(found))
				}
				if len(found) < f.Limit || page > len(users) {
					break
				}
				f.After = f.Sort.Cursor(found[len(found)-1])
			}
			f.After = nil
			if !slices.Equal(got, wantIDs) {
				t.Errorf("query %q status %q role %q team %d sort %q desc %v: got %v; want %v", f.Query, f.Status, f.Role,
					f.TeamID, f.Sort, f.Desc, got, wantIDs)
			}
			if count != len(wantIDs) {
				t.Errorf("query %q status %q role %q team %d: counted %d; want %d", f.Query, f.Status, f.Role, f.TeamID,
					count, len(wantIDs))
			}
		}
	})
}

// listedAs says whether listed is u as a listing shows it: every field but
// those FindUserListing leaves out.
func listedAs(listed, u *muster.User) bool {
	want := *u
	want.PasswordHash, want.ExternalID, want.UpdatedAt, want.SCIMDeletedAt = "", "", time.Time{}, time.Time{}
	return reflect.DeepEqual(*listed, want)
}

func derefs(users []*muster.User) []muster.User {
	out := make([]muster.User, len(users))
	for i, u := range users {
		out[i] = *u
	}
	return out
}
