package service_test

// Teams (TEAM-2, TEAM-3, TEAM-4).

import (
	"context"
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
)

// TEAM-2: names are trimmed, 1-100 characters, unique in the org ignoring
// case.
func TestTeamNames(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		owner := f.as(f.owner)

		created, err := f.svc.CreateTeam(owner, "   Sales \t  Team  ")
		if err != nil {
			t.Fatal(err)
		}
		if created.Name != "Sales Team" || findTeam(t, f, created.ID).Name != "Sales Team" {
			t.Fatalf("team name = %q; want it trimmed to %q", created.Name, "Sales Team")
		}
		for _, name := range []string{"X", strings.Repeat("n", 100), strings.Repeat("é", 100), "Ünïcödé Team"} {
			if _, err := f.svc.CreateTeam(owner, name); err != nil {
				t.Fatalf("CreateTeam(%d characters %q): %v", len([]rune(name)), name, err)
			}
		}

		create := func(name string) func() error {
			return func() error { _, err := f.svc.CreateTeam(owner, name); return err }
		}
		for _, bad := range []string{"", "   ", "\t\n", strings.Repeat("n", 101), strings.Repeat("x", 300), "Bell\x07Team"} {
			err := f.refused(t, muster.EINVALID, create(bad))
			if fields := muster.ErrorFields(err); len(fields) != 1 || fields[0].Field != "name" {
				t.Fatalf("CreateTeam(%q) fields = %v; want the name field", bad, fields)
			}
		}
		for _, dup := range []string{"sales team", "SALES TEAM", "  Sales   Team ", "default team", muster.DefaultTeamName, "ünïcödé team"} {
			f.refused(t, muster.ECONFLICT, create(dup))
		}

		// Renaming follows the same rules.
		support := f.team(t, "Support")
		rename := func(id int64, name string) func() error {
			return func() error { _, err := f.svc.RenameTeam(owner, id, name, 0); return err }
		}
		f.refused(t, muster.ECONFLICT, rename(support.ID, "SALES team"))
		f.refused(t, muster.EINVALID, rename(support.ID, "  "))
		f.refused(t, muster.EINVALID, rename(support.ID, strings.Repeat("s", 101)))
		f.refused(t, muster.ENOTFOUND, rename(999_999, "Ghosts"))
		// Its own name in another case is not a clash.
		e := f.changed(t, rename(support.ID, " SUPPORT "))
		wantChange(t, e, "name", "Support", "SUPPORT")
		if got := findTeam(t, f, support.ID).Name; got != "SUPPORT" {
			t.Fatalf("renamed team = %q; want SUPPORT", got)
		}
		// Renaming to the very same name changes nothing, not even the log.
		before := f.state(t)
		if _, err := f.svc.RenameTeam(owner, support.ID, "  SUPPORT", 0); err != nil {
			t.Fatal(err)
		}
		if d := diffStates(before, f.state(t)); d != "" {
			t.Fatalf("a rename to the same name changed the org:\n%s", d)
		}
		// The names are per org: another org may have a Sales Team.
		g := secondOrg(t, f)
		if _, err := g.svc.CreateTeam(g.as(g.owner), "sales team"); err != nil {
			t.Fatalf("another org can't have its own Sales Team: %v", err)
		}
	})
}

// TEAM-3: Remove is refused while Pending or Active users have the team as
// primary, saying how many; secondary memberships are dropped; deactivated
// and withdrawn users whose primary it was move to the Default Team.
func TestRemoveTeam(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 20)
		def := f.defaultTeam()
		doomed, other := f.team(t, "Doomed"), f.team(t, "Other")

		pending, _ := f.inviteInto(t, "Pam", muster.RoleBasic, doomed.ID)
		_, link := f.inviteInto(t, "Art", muster.RoleManager, doomed.ID, other.ID)
		active := f.accept(link)
		_, link = f.inviteInto(t, "Dot", muster.RoleBasic, doomed.ID, def.ID, other.ID)
		gone := f.accept(link)
		if _, err := f.svc.Deactivate(f.as(f.owner), gone.ID); err != nil {
			t.Fatal(err)
		}
		withdrawn, _ := f.inviteInto(t, "Wyn", muster.RoleBasic, doomed.ID)
		if _, err := f.svc.Withdraw(f.as(f.owner), withdrawn.ID); err != nil {
			t.Fatal(err)
		}
		_, link = f.inviteInto(t, "Sec", muster.RoleBasic, other.ID, doomed.ID)
		secondary := f.accept(link)

		team := findTeam(t, f, doomed.ID)
		if team.PrimaryCount != 2 || team.SecondaryCount != 1 {
			t.Fatalf("Doomed counts %d primary, %d secondary; want 2 and 1 (Pending and Active only)", team.PrimaryCount, team.SecondaryCount)
		}

		remove := func() error { _, err := f.svc.RemoveTeam(f.as(f.owner), doomed.ID, 0); return err }
		err := f.refused(t, muster.ECONFLICT, remove)
		if msg := muster.ErrorMessage(err); !strings.Contains(msg, "2 users") || !strings.Contains(msg, "Doomed") {
			t.Fatalf("refusal %q does not say that 2 users have Doomed as primary team", msg)
		}

		// The message follows the number.
		if _, err := f.svc.UpdateUser(f.as(f.owner), pending.ID, service.UserUpdate{PrimaryTeamID: &other.ID}); err != nil {
			t.Fatal(err)
		}
		err = f.refused(t, muster.ECONFLICT, remove)
		if msg := muster.ErrorMessage(err); !strings.Contains(msg, "1 user ") {
			t.Fatalf("refusal %q does not say that 1 user has Doomed as primary team", msg)
		}
		if _, err := f.svc.UpdateUser(f.as(f.owner), active.ID, service.UserUpdate{PrimaryTeamID: &def.ID}); err != nil {
			t.Fatal(err)
		}

		e := f.changed(t, remove)
		wantEvent(t, e, muster.ActionTeamRemoved, f.owner, "team", doomed.ID)
		if findTeam(t, f, doomed.ID) != nil {
			t.Fatal("removed team still listed")
		}
		if page, err := f.svc.FindUsers(f.as(f.owner), service.UserQuery{TeamID: doomed.ID}); err != nil || len(page.Users) != 0 {
			t.Fatalf("users still in the removed team: %v, %v", page.Users, err)
		}

		wantTeams := func(u *muster.User, primary int64, secondaries ...int64) {
			t.Helper()
			got := f.user(t, u.ID)
			slices.Sort(secondaries)
			if got.PrimaryTeamID != primary || !slices.Equal(got.SecondaryTeamIDs, secondaries) {
				t.Fatalf("%s: primary %d, secondary %v; want %d, %v", got.FirstName, got.PrimaryTeamID, got.SecondaryTeamIDs, primary, secondaries)
			}
		}
		wantTeams(secondary, other.ID)      // the secondary membership is dropped
		wantTeams(active, def.ID, other.ID) // untouched
		wantTeams(gone, def.ID, other.ID)   // moved to the Default Team, no longer also a secondary of it
		wantTeams(withdrawn, def.ID)        // moved too
		if u := f.user(t, gone.ID); u.Status != muster.StatusDeactivated {
			t.Fatalf("deactivated user is now %s", u.Status)
		}

		// Invite again pre-fills the team the user was moved to.
		draft, err := f.svc.InviteAgainDraft(f.as(f.owner), gone.ID)
		if err != nil || draft.PrimaryTeamID != def.ID || !slices.Equal(draft.SecondaryTeamIDs, []int64{other.ID}) {
			t.Fatalf("draft after removal = %+v, %v; want primary Default Team, secondary Other", draft, err)
		}

		// A removed team can't be used or removed again.
		f.refused(t, muster.ENOTFOUND, remove)
		f.refused(t, muster.EINVALID, func() error {
			_, err := f.svc.UpdateUser(f.as(f.owner), active.ID, service.UserUpdate{SecondaryTeamIDs: &[]int64{doomed.ID}})
			return err
		})
	})
}

// TEAM-4: the Default Team exists from the start, comes first, and can't be
// renamed or removed, by anyone.
func TestDefaultTeam(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		f.team(t, "Aardvarks")
		listed, err := f.svc.Teams(f.as(f.owner), service.TeamListQuery{})
		if err != nil {
			t.Fatal(err)
		}
		teams := listed.Teams
		def := teams[0]
		if !def.IsDefault || def.Name != muster.DefaultTeamName || def.PrimaryCount != 1 {
			t.Fatalf("first team = %+v; want the Default Team, holding the Owner", def)
		}
		for _, c := range []context.Context{f.as(f.owner), operator(f.org.ID)} {
			err := f.refused(t, muster.EFORBIDDEN, func() error { _, err := f.svc.RenameTeam(c, def.ID, "Everyone", 0); return err })
			if !strings.Contains(muster.ErrorMessage(err), "Default Team") {
				t.Fatalf("message %q does not name the Default Team", muster.ErrorMessage(err))
			}
			f.refused(t, muster.EFORBIDDEN, func() error { _, err := f.svc.RemoveTeam(c, def.ID, 0); return err })
		}
	})
}

// TestRemoveTeamRacesInvites removes a team while one Owner invites people
// into it, as primary team of some and secondary of others, from many
// requests at once. Whichever comes first, the outcome is one a person
// could have had one after another: the removal is refused because someone
// has the team as primary, or it goes through and every invitation that
// lost says the team does not exist. Nothing fails in another way
// (PostgreSQL: no deadlock between the invitations' share locks on the
// teams, the removal's lock and a fold of the teams' count changes).
func TestRemoveTeamRacesInvites(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		for round := range 5 {
			f := setup(t, db, 100)
			def, doomed := f.defaultTeam(), f.team(t, "Doomed")
			var (
				mu      sync.Mutex
				wg      sync.WaitGroup
				start   = make(chan struct{})
				invited []*muster.User
				codes   = map[string]int{}
			)
			for i := range 12 {
				// Half have Doomed as primary team, half as secondary next
				// to the Default Team (locked first then).
				in := service.InviteInput{FirstName: "Racer", LastName: "Tester", Email: uniqueEmail("racer"),
					Role: muster.RoleBasic, PrimaryTeamID: doomed.ID}
				if i%2 == 1 {
					in.PrimaryTeamID, in.SecondaryTeamIDs = def.ID, []int64{doomed.ID}
				}
				wg.Go(func() {
					<-start
					res, err := f.svc.Invite(f.as(f.owner), in)
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						codes[muster.ErrorCode(err)]++
						if muster.ErrorCode(err) != muster.EINVALID || !strings.Contains(muster.ErrorMessage(err), "does not exist") {
							t.Errorf("round %d: invitation failed with %v; want only \"team does not exist\"", round, err)
						}
						return
					}
					invited = append(invited, res.User)
				})
			}
			var removeErr error
			wg.Go(func() {
				<-start
				_, removeErr = f.svc.RemoveTeam(f.as(f.owner), doomed.ID, 0)
			})
			// A fold of the teams' count changes locks the teams too.
			wg.Go(func() {
				<-start
				if _, err := db.FoldTeamCounts(context.Background()); err != nil {
					t.Errorf("round %d: folding the count changes: %v", round, err)
				}
			})
			close(start)
			wg.Wait()

			primaries := 0
			for _, u := range invited {
				u = f.user(t, u.ID)
				if u.PrimaryTeamID == doomed.ID {
					primaries++
				}
				if removeErr == nil && (u.PrimaryTeamID == doomed.ID || slices.Contains(u.SecondaryTeamIDs, doomed.ID)) {
					t.Fatalf("round %d: team removed, yet %s is still in it", round, u.Email)
				}
			}
			switch {
			case removeErr == nil && codes[muster.EINVALID] == 0 && len(invited) < 12:
				t.Fatalf("round %d: %d invitations missing without an error", round, 12-len(invited))
			case removeErr != nil && (muster.ErrorCode(removeErr) != muster.ECONFLICT || primaries == 0 || len(codes) != 0):
				t.Fatalf("round %d: removal refused with %v while %d users have the team as primary, other errors %v",
					round, removeErr, primaries, codes)
			}
			wantSeatsConsistent(t, f)
		}
	})
}

// The API's list of teams (TEAM-1, API-3): pages by cursor in the order of
// the Teams tab, which neither repeat nor skip a team when teams are added
// or removed before the page, with searches, the org's teams alone and
// cursors from outside refused unless the service made them.
func TestTeamListByCursor(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		owner := f.as(f.owner)
		var names []string
		for _, i := range rand.Perm(12) {
			names = append(names, fmt.Sprintf("Team %02d", i))
		}
		names = append(names, "alpha", "Beta")
		teams := map[string]*muster.Team{}
		for _, name := range names {
			teams[name] = f.team(t, name)
		}
		slices.SortFunc(names, func(a, b string) int { return strings.Compare(muster.SearchKey(a), muster.SearchKey(b)) })
		f.inviteInto(t, "Mia", muster.RoleBasic, teams["Team 07"].ID, teams["alpha"].ID)
		setup(t, db, 5).team(t, "Team 99")

		list := func(q service.TeamListQuery) *service.TeamList {
			t.Helper()
			l, err := f.svc.Teams(owner, q)
			if err != nil {
				t.Fatalf("Teams(%+v): %v", q, err)
			}
			return l
		}
		// walk reads every page from q on, returning the names and the
		// size of each page.
		walk := func(q service.TeamListQuery) (listed []string, sizes []int) {
			t.Helper()
			for {
				l := list(q)
				sizes = append(sizes, len(l.Teams))
				for _, team := range l.Teams {
					listed = append(listed, team.Name)
					if want := map[string]int{muster.DefaultTeamName: 1, "Team 07": 1}[team.Name]; team.PrimaryCount != want {
						t.Fatalf("%s counts %d primary users; want %d", team.Name, team.PrimaryCount, want)
					}
					if want := map[string]int{"alpha": 1}[team.Name]; team.SecondaryCount != want {
						t.Fatalf("%s counts %d secondary users; want %d", team.Name, team.SecondaryCount, want)
					}
				}
				if l.NextCursor == "" {
					return listed, sizes
				}
				if len(sizes) > 20 {
					t.Fatalf("pages of %d from %+v: more than 20", q.Limit, q)
				}
				q.Cursor = l.NextCursor
			}
		}
		all := append([]string{muster.DefaultTeamName}, names...)
		for _, c := range []struct {
			limit int
			sizes []int
		}{{5, []int{5, 5, 5}}, {1, slices.Repeat([]int{1}, 15)}, {15, []int{15}}, {14, []int{14, 1}}, {0, []int{15}}} {
			listed, sizes := walk(service.TeamListQuery{Limit: c.limit})
			if !slices.Equal(listed, all) || !slices.Equal(sizes, c.sizes) {
				t.Fatalf("pages of %d list\n%q in pages of %v\nwant\n%q in pages of %v", c.limit, listed, sizes, all, c.sizes)
			}
		}
		if listed, _ := walk(service.TeamListQuery{Search: "EAM 0", Limit: 4}); !slices.Equal(listed, names[2:12]) {
			t.Fatalf("search \"EAM 0\" lists %q; want %q", listed, names[2:12])
		}
		if listed, _ := walk(service.TeamListQuery{Search: "team 9"}); len(listed) != 0 {
			t.Fatalf("search \"team 9\" lists %q; want no team (Team 99 is another org's)", listed)
		}

		// A team added before the next page and one removed from it: the
		// next page starts where the first ended, without the removed one.
		first := list(service.TeamListQuery{Limit: 5}) // Default Team, alpha, Beta, Team 00, Team 01
		f.team(t, "Aardvarks")
		if _, err := f.svc.RemoveTeam(owner, teams["Team 03"].ID, 0); err != nil {
			t.Fatal(err)
		}
		next := list(service.TeamListQuery{Limit: 3, Cursor: first.NextCursor})
		var got []string
		for _, team := range next.Teams {
			got = append(got, team.Name)
		}
		if want := []string{"Team 02", "Team 04", "Team 05"}; !slices.Equal(got, want) {
			t.Fatalf("the page after %q lists %q; want %q", first.Teams[4].Name, got, want)
		}

		for _, cursor := range []string{"!!!", "e30", // {}
			base64.RawURLEncoding.EncodeToString([]byte(`{"d":true,"k":"team 01"}`)),
			base64.RawURLEncoding.EncodeToString([]byte(`{"k":"team\u0000"}`)),
			base64.RawURLEncoding.EncodeToString([]byte(`["team 01"]`)),
		} {
			f.refused(t, muster.EINVALID, func() error {
				_, err := f.svc.Teams(owner, service.TeamListQuery{Cursor: cursor})
				return err
			})
		}
		f.refused(t, muster.EINVALID, func() error {
			_, err := f.svc.Teams(owner, service.TeamListQuery{Search: "Bell\x07"})
			return err
		})
	})
}

// TEAM-1: the Teams tab lists the org's teams a page at a time, the Default
// Team first and then by name, each with its counts, and finds them by part
// of their name (LIKE's wildcards taken as they are); only Owners and Admins
// see it, or the forms' list of the teams' names, and only their own org's
// teams.
func TestTeamPages(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		owner := f.as(f.owner)
		names := []string{"50% off_sale", "Dept 50x offXsale"}
		for _, i := range rand.Perm(120) {
			names = append(names, fmt.Sprintf("Group %03d", i))
		}
		teams := map[string]*muster.Team{}
		for _, name := range names {
			teams[name] = f.team(t, name)
		}
		slices.SortFunc(names, func(a, b string) int { return strings.Compare(muster.SearchKey(a), muster.SearchKey(b)) })
		f.inviteInto(t, "Mia", muster.RoleBasic, teams["Group 007"].ID)
		other := setup(t, db, 5)
		other.team(t, "Group 999")

		page := func(q service.TeamQuery) *service.TeamPage {
			t.Helper()
			p, err := f.svc.FindTeamPage(owner, q)
			if err != nil {
				t.Fatalf("FindTeamPage(%+v): %v", q, err)
			}
			return p
		}
		var listed []string
		for n := 1; n <= 3; n++ {
			p := page(service.TeamQuery{Page: n})
			if p.Total != len(names)+1 || p.Offset != (n-1)*service.TeamsPerPage {
				t.Fatalf("page %d: offset %d of %d; want %d of %d", n, p.Offset, p.Total, (n-1)*service.TeamsPerPage, len(names)+1)
			}
			for _, team := range p.Teams {
				listed = append(listed, team.Name)
				if team.Name == "Group 007" && team.PrimaryCount != 1 {
					t.Fatalf("Group 007 counts %d primary users; want 1", team.PrimaryCount)
				}
			}
		}
		if want := append([]string{muster.DefaultTeamName}, names...); !slices.Equal(listed, want) {
			t.Fatalf("the pages list\n%q\nwant\n%q", listed, want)
		}
		for _, n := range []int{0, -5} {
			if p := page(service.TeamQuery{Page: n}); p.Offset != 0 || len(p.Teams) != service.TeamsPerPage || !p.Teams[0].IsDefault {
				t.Fatalf("page %d: offset %d, %d teams; want the first page", n, p.Offset, len(p.Teams))
			}
		}
		for _, n := range []int{4, 1 << 40} {
			if p := page(service.TeamQuery{Page: n}); len(p.Teams) != 0 || p.Total != len(names)+1 {
				t.Fatalf("page %d: %d teams of %d; want none of %d", n, len(p.Teams), p.Total, len(names)+1)
			}
		}

		found := func(search string) []string {
			t.Helper()
			p := page(service.TeamQuery{Search: search})
			var got []string
			for _, team := range p.Teams {
				got = append(got, team.Name)
			}
			if p.Total != len(got) {
				t.Fatalf("search %q: total %d, listed %d", search, p.Total, len(got))
			}
			return got
		}
		for search, want := range map[string][]string{
			"group 00":  {"Group 000", "Group 001", "Group 002", "Group 003", "Group 004", "Group 005", "Group 006", "Group 007", "Group 008", "Group 009"},
			"ROUP 11":   {"Group 110", "Group 111", "Group 112", "Group 113", "Group 114", "Group 115", "Group 116", "Group 117", "Group 118", "Group 119"},
			"50%":       {"50% off_sale"},
			"f_s":       {"50% off_sale"},
			"group 999": nil,
			"default":   {muster.DefaultTeamName},
		} {
			if got := found(search); !slices.Equal(got, want) {
				t.Fatalf("search %q finds %q; want %q", search, got, want)
			}
		}

		f.refused(t, muster.EINVALID, func() error {
			_, err := f.svc.FindTeamPage(owner, service.TeamQuery{Search: "Bell\x07"})
			return err
		})
		for _, role := range []muster.Role{muster.RoleManager, muster.RoleBasic} {
			who := f.as(f.active("Max", role))
			f.refused(t, muster.EFORBIDDEN, func() error {
				_, err := f.svc.FindTeamPage(who, service.TeamQuery{})
				return err
			})
			f.refused(t, muster.EFORBIDDEN, func() error {
				_, err := f.svc.TeamNames(who)
				return err
			})
		}
	})
}
