package service_test

import (
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
)

func TestSendAs(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 50)
		owner := f.as(f.owner)
		ann := f.active("Ann", muster.RoleBasic)
		bob := f.active("Bob", muster.RoleManager)
		admin := f.active("Ada", muster.RoleAdmin)
		newsletter := service.SendAsInput{FromName: "Acme News", FromEmail: "news@acme.example",
			DifferentReplyTo: true, ReplyToName: "Comms Team", ReplyToEmail: "comms@acme.example",
			UserIDs: []int64{ann.ID, bob.ID}}

		_, err := f.svc.CreateSendAs(owner, newsletter)
		wantCode(t, err, muster.ENOTFOUND) // Email at Scale is off
		_, err = f.svc.SetEmailAtScale(f.as(admin), true)
		wantCode(t, err, muster.EFORBIDDEN)
		if _, err := f.svc.SetEmailAtScale(owner, true); err != nil {
			t.Fatal(err)
		}

		p, err := f.svc.CreateSendAs(f.as(admin), newsletter)
		if err != nil {
			t.Fatal(err)
		}
		if !p.HasReplyTo() || len(p.UserIDs) != 2 {
			t.Fatalf("permission = %+v; want reply-to and two users", p)
		}
		mine, err := f.svc.MySenderAddresses(f.as(ann))
		if err != nil || len(mine) != 1 || mine[0].FromEmail != "news@acme.example" || mine[0].UserIDs != nil {
			t.Fatalf("Ann's sender addresses = %v, %v; want news@acme.example, without who else holds it", mine, err)
		}
		if mine, err := f.svc.MySenderAddresses(f.as(admin)); err != nil || len(mine) != 0 {
			t.Fatalf("Ada, not granted: sender addresses %v, %v; want none", mine, err)
		}

		// Deactivation removes the grant.
		if _, err := f.svc.Deactivate(owner, bob.ID); err != nil {
			t.Fatal(err)
		}
		p, err = f.svc.SendAs(owner, p.ID)
		if err != nil || len(p.UserIDs) != 1 || p.UserIDs[0] != ann.ID {
			t.Fatalf("grants after Bob's deactivation = %v, %v; want Ann only", p.UserIDs, err)
		}
		events, err := f.svc.FindAuditEvents(owner, service.AuditQuery{Action: muster.ActionSendAsRevoked})
		if err != nil || len(events.Events) != 1 || events.Events[0].TargetID != bob.ID ||
			fmt.Sprint(events.Events[0].Before["from_emails"]) != "[news@acme.example]" {
			t.Fatalf("revoke events = %+v, %v; want one for Bob naming news@acme.example", events, err)
		}

		// Bad input: each refused, nothing written.
		pending, _ := f.invite("Pat", muster.RoleBasic)
		other := setup(t, db, 5)
		stranger := other.active("Sid", muster.RoleBasic)
		before := countAuditEvents(t, f)
		for name, in := range map[string]service.SendAsInput{
			"malformed":  {FromName: "X", FromEmail: "not an email"},
			"duplicate":  {FromName: "X", FromEmail: "NEWS@acme.example"},
			"pending":    {FromName: "X", FromEmail: "x@acme.example", UserIDs: []int64{pending.ID}},
			"deactivate": {FromName: "X", FromEmail: "x@acme.example", UserIDs: []int64{bob.ID}},
			"other org":  {FromName: "X", FromEmail: "x@acme.example", UserIDs: []int64{stranger.ID}},
			"long name":  {FromName: string(make([]byte, 101)), FromEmail: "x@acme.example"},
			"reply-to":   {FromName: "X", FromEmail: "x@acme.example", DifferentReplyTo: true, ReplyToEmail: "bad"},
		} {
			if _, err := f.svc.CreateSendAs(owner, in); err == nil {
				t.Errorf("%s: created; want refused", name)
			} else if msg := muster.ErrorMessage(err); msg == "" || muster.ErrorCode(err) == muster.EINTERNAL {
				t.Errorf("%s: %v; want a clear refusal", name, err)
			}
		}
		if perms, err := f.svc.SendAsPermissions(owner); err != nil || len(perms) != 1 || countAuditEvents(t, f) != before {
			t.Fatalf("after refused input: %d permissions (%v), %d new audit events; want 1 and 0", len(perms), err, countAuditEvents(t, f)-before)
		}

		// Select All covers the Active users of the moment, not an invitee
		// racing in, who is Pending.
		var wg sync.WaitGroup
		var all *muster.SendAsPermission
		var invited []*muster.User
		var mu sync.Mutex
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			all, err = f.svc.CreateSendAs(owner, service.SendAsInput{FromName: "All", FromEmail: "all@acme.example", SelectAll: true})
			if err != nil {
				t.Error(err)
			}
		}()
		for i := range 5 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := f.svc.Invite(owner, service.InviteInput{FirstName: "Racer", LastName: string(rune('A' + i)),
					Email: uniqueEmail("racer"), Role: muster.RoleBasic, PrimaryTeamID: f.defaultTeam().ID})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				invited = append(invited, res.User)
				mu.Unlock()
			}()
		}
		wg.Wait()
		want := map[int64]bool{f.owner.ID: true, ann.ID: true, admin.ID: true}
		if len(all.UserIDs) != len(want) {
			t.Fatalf("Select All granted %v; want exactly the Active users %v", all.UserIDs, want)
		}
		for _, id := range all.UserIDs {
			if !want[id] {
				t.Fatalf("Select All granted user %d, who is not Active", id)
			}
		}

		// Delete, confirmed in the UI, removes grants too.
		if _, err := f.svc.DeleteSendAs(owner, all.ID, 0); err != nil {
			t.Fatal(err)
		}
		if mine, err := f.svc.MySenderAddresses(f.as(admin)); err != nil || len(mine) != 0 {
			t.Fatalf("Ada's sender addresses after delete: %v, %v; want none", mine, err)
		}
		// Off again: hidden, data kept.
		if _, err := f.svc.SetEmailAtScale(owner, false); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.SendAsPermissions(owner)
		wantCode(t, err, muster.ENOTFOUND)
		if _, err := f.svc.SetEmailAtScale(owner, true); err != nil {
			t.Fatal(err)
		}
		if perms, err := f.svc.SendAsPermissions(owner); err != nil || len(perms) != 1 {
			t.Fatalf("after off and on: %d permissions, %v; want the 1 kept", len(perms), err)
		}
		basic := f.active("Bea", muster.RoleBasic)
		_, err = f.svc.SendAsPermissions(f.as(basic))
		wantCode(t, err, muster.EFORBIDDEN)
	})
}

func countAuditEvents(t *testing.T, f *fixture) int {
	t.Helper()
	page, err := f.svc.FindAuditEvents(f.as(f.owner), service.AuditQuery{Limit: service.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	return len(page.Events)
}

// Editing a permission's users writes the difference: one event for the
// users added and one for those taken off, none for a rename; users it adds
// must be Active users of the org, and a refusal changes nothing.
func TestSendAsEdits(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 50)
		owner := f.as(f.owner)
		if _, err := f.svc.SetEmailAtScale(owner, true); err != nil {
			t.Fatal(err)
		}
		ann, bob, cy := f.active("Ann", muster.RoleBasic), f.active("Bob", muster.RoleBasic), f.active("Cy", muster.RoleBasic)
		in := service.SendAsInput{FromName: "Acme News", FromEmail: "news@acme.example", UserIDs: []int64{bob.ID, ann.ID}}
		p, err := f.svc.CreateSendAs(owner, in)
		if err != nil {
			t.Fatal(err)
		}
		events := func(action string) [][]any {
			t.Helper()
			page, err := f.svc.FindAuditEvents(owner, service.AuditQuery{Action: action})
			if err != nil {
				t.Fatal(err)
			}
			var ids [][]any
			for _, e := range page.Events {
				m := e.After
				if m == nil {
					m = e.Before
				}
				ids = append(ids, m["user_ids"].([]any))
			}
			return ids
		}
		// Newest first; JSON numbers.
		asJSON := func(ids ...int64) []any {
			out := make([]any, len(ids))
			for i, id := range ids {
				out[i] = float64(id)
			}
			return out
		}

		in.UserIDs = []int64{cy.ID, bob.ID, cy.ID}
		if p, err = f.svc.UpdateSendAs(owner, p.ID, in); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(p.UserIDs, []int64{bob.ID, cy.ID}) {
			t.Fatalf("the edit's users = %v; want Bob and Cy (%d, %d)", p.UserIDs, bob.ID, cy.ID)
		}
		if got := events(muster.ActionSendAsAssigned); len(got) != 2 || fmt.Sprint(got[0]) != fmt.Sprint(asJSON(cy.ID)) {
			t.Fatalf("assigned events %v; want the creation's and then Cy (%d) alone", got, cy.ID)
		}
		if got := events(muster.ActionSendAsUnassigned); len(got) != 1 || fmt.Sprint(got[0]) != fmt.Sprint(asJSON(ann.ID)) {
			t.Fatalf("unassigned events %v; want Ann (%d) alone", got, ann.ID)
		}
		for _, u := range []*muster.User{ann, bob, cy} {
			mine, err := f.svc.MySenderAddresses(f.as(u))
			if err != nil || (len(mine) == 1) != (u != ann) {
				t.Fatalf("%s's sender addresses: %v, %v", u.FirstName, mine, err)
			}
		}

		in.FromName = "Acme Newsletter"
		if p, err = f.svc.UpdateSendAs(owner, p.ID, in); err != nil {
			t.Fatal(err)
		}
		if len(events(muster.ActionSendAsAssigned)) != 2 || len(events(muster.ActionSendAsUnassigned)) != 1 ||
			!slices.Equal(p.UserIDs, []int64{bob.ID, cy.ID}) {
			t.Fatalf("a rename changed the users (%v) or wrote a grant's event", p.UserIDs)
		}

		pending, _ := f.invite("Pat", muster.RoleBasic)
		stranger := setup(t, db, 5).active("Sid", muster.RoleBasic)
		for name, ids := range map[string][]int64{
			"pending":     {bob.ID, pending.ID},
			"other org":   {stranger.ID, cy.ID},
			"nobody":      {bob.ID, 1 << 50},
			"deactivated": {bob.ID, cy.ID, f.deactivated(t, "Dee", muster.RoleBasic).ID},
		} {
			t.Run(name, func(t *testing.T) {
				f.refused(t, muster.EINVALID, func() error {
					_, err := f.svc.UpdateSendAs(owner, p.ID, service.SendAsInput{FromName: "Changed", FromEmail: in.FromEmail,
						UserIDs: ids})
					return err
				})
			})
		}
		if got, err := f.svc.SendAs(owner, p.ID); err != nil || got.Version != p.Version || !slices.Equal(got.UserIDs, p.UserIDs) {
			t.Fatalf("after the refusals: %+v, %v; want version %d with %v", got, err, p.Version, p.UserIDs)
		}
	})
}

// Assign Users of an edit (SEND-1): the users added, then a page of the
// users the permission keeps (those the search matches), how many are
// chosen in all, the users taken off, and the Active users who do not hold
// it; the edit saved from that state grants exactly those chosen.
func TestSendAsAssignees(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 50)
		owner := f.as(f.owner)
		if _, err := f.svc.SetEmailAtScale(owner, true); err != nil {
			t.Fatal(err)
		}
		ann, bob, cy, dee := f.active("Ann", muster.RoleBasic), f.active("Bob", muster.RoleBasic),
			f.active("Cy", muster.RoleBasic), f.active("Dee", muster.RoleBasic)
		f.invite("Pat", muster.RoleBasic) // Pending: never offered
		p, err := f.svc.CreateSendAs(owner, service.SendAsInput{FromName: "News", FromEmail: "news@acme.example",
			UserIDs: []int64{ann.ID, bob.ID, cy.ID}})
		if err != nil {
			t.Fatal(err)
		}
		ids := func(users []*muster.User) []int64 {
			out := make([]int64, len(users))
			for i, u := range users {
				out[i] = u.ID
			}
			return out
		}
		edit := service.SendAsInput{FromName: "News", FromEmail: "news@acme.example", KeepUsers: true,
			UserIDs: []int64{dee.ID}, RemoveUserIDs: []int64{bob.ID}}
		for _, c := range []struct {
			search                      string
			limit                       int
			chosen, removed, candidates []int64
			total                       int
		}{
			{"", 10, []int64{dee.ID, ann.ID, cy.ID}, []int64{bob.ID}, []int64{f.owner.ID}, 3},
			{"", 1, []int64{dee.ID, ann.ID}, []int64{bob.ID}, []int64{f.owner.ID}, 3},
			{"cy", 10, []int64{dee.ID, cy.ID}, []int64{bob.ID}, nil, 3},
			{"bob", 10, []int64{dee.ID}, []int64{bob.ID}, nil, 3},
		} {
			got, err := f.svc.FindSendAsAssignees(owner, service.AssigneeQuery{PermissionID: p.ID, Chosen: edit,
				Search: c.search, Limit: c.limit})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids(got.Chosen), c.chosen) || !slices.Equal(ids(got.Removed), c.removed) ||
				!slices.Equal(ids(got.Candidates), c.candidates) || got.ChosenTotal != c.total {
				t.Errorf("search %q, %d a list: chosen %v of %d, removed %v, candidates %v; want %v of %d, %v, %v",
					c.search, c.limit, ids(got.Chosen), got.ChosenTotal, ids(got.Removed), ids(got.Candidates),
					c.chosen, c.total, c.removed, c.candidates)
			}
		}
		// A permission nobody holds offers every Active user; one that
		// every Active user holds (Select All) offers none; one that fewer
		// than a tenth hold finds them from its grants.
		actives := []int64{ann.ID, bob.ID, cy.ID, dee.ID, f.owner.ID}
		for _, name := range []string{"Eve", "Fay", "Gil", "Hal", "Ida", "Jo"} {
			actives = append(actives, f.active(name, muster.RoleBasic).ID)
		}
		for _, c := range []struct {
			in                 service.SendAsInput
			chosen, candidates []int64
		}{
			{service.SendAsInput{FromName: "Nobody", FromEmail: "nobody@acme.example"}, nil, actives},
			{service.SendAsInput{FromName: "All", FromEmail: "all@acme.example", SelectAll: true}, actives, nil},
			{service.SendAsInput{FromName: "One", FromEmail: "one@acme.example", UserIDs: []int64{dee.ID}}, []int64{dee.ID},
				slices.DeleteFunc(slices.Clone(actives), func(id int64) bool { return id == dee.ID })},
		} {
			q, err := f.svc.CreateSendAs(owner, c.in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.svc.FindSendAsAssignees(owner, service.AssigneeQuery{PermissionID: q.ID,
				Chosen: service.SendAsInput{KeepUsers: true}, Limit: 20})
			if err != nil {
				t.Fatal(err)
			}
			if !sameIDs(ids(got.Chosen), c.chosen) || got.ChosenTotal != len(c.chosen) || !sameIDs(ids(got.Candidates), c.candidates) {
				t.Errorf("%s: chosen %v of %d, candidates %v; want %v, %v", q.FromEmail, ids(got.Chosen), got.ChosenTotal,
					ids(got.Candidates), c.chosen, c.candidates)
			}
		}
		// A user taken off and deactivated since holds it no longer: not
		// listed as taken off, not subtracted twice.
		gone := f.active("Gus", muster.RoleBasic)
		withGus, err := f.svc.UpdateSendAs(owner, p.ID, service.SendAsInput{FromName: "News", FromEmail: "news@acme.example",
			KeepUsers: true, UserIDs: []int64{gone.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Deactivate(owner, gone.ID); err != nil {
			t.Fatal(err)
		}
		got, err := f.svc.FindSendAsAssignees(owner, service.AssigneeQuery{PermissionID: p.ID, Chosen: service.SendAsInput{
			KeepUsers: true, RemoveUserIDs: []int64{gone.ID, bob.ID}}, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if want := len(withGus.UserIDs) - 2; got.ChosenTotal != want || !slices.Equal(ids(got.Removed), []int64{bob.ID}) {
			t.Fatalf("Bob and the deactivated Gus taken off: %d chosen, removed %v; want %d, Bob alone", got.ChosenTotal,
				ids(got.Removed), want)
		}
		if _, err := f.svc.UpdateSendAs(owner, p.ID, service.SendAsInput{FromName: "News", FromEmail: "news@acme.example",
			UserIDs: []int64{ann.ID, bob.ID, cy.ID}}); err != nil {
			t.Fatal(err)
		}

		// A new permission: the chosen are the listed users, the others
		// offered.
		got, err = f.svc.FindSendAsAssignees(owner, service.AssigneeQuery{Chosen: service.SendAsInput{
			UserIDs: []int64{bob.ID}}, Limit: 20})
		if err != nil {
			t.Fatal(err)
		}
		if want := slices.DeleteFunc(slices.Clone(actives), func(id int64) bool { return id == bob.ID }); !slices.Equal(ids(got.Chosen), []int64{bob.ID}) ||
			got.ChosenTotal != 1 || len(got.Removed) != 0 || !sameIDs(ids(got.Candidates), want) {
			t.Fatalf("a new permission's assignees: chosen %v of %d, candidates %v; want Bob alone, candidates %v",
				ids(got.Chosen), got.ChosenTotal, ids(got.Candidates), want)
		}

		// Another org's admin finds no such permission.
		other := setup(t, db, 5)
		if _, err := other.svc.SetEmailAtScale(other.as(other.owner), true); err != nil {
			t.Fatal(err)
		}
		other.refused(t, muster.ENOTFOUND, func() error {
			_, err := other.svc.FindSendAsAssignees(other.as(other.owner), service.AssigneeQuery{PermissionID: p.ID,
				Chosen: service.SendAsInput{KeepUsers: true}, Limit: 10})
			return err
		})

		saved, err := f.svc.UpdateSendAs(owner, p.ID, edit)
		if err != nil {
			t.Fatal(err)
		}
		if want := sortedCopy(ann.ID, cy.ID, dee.ID); !slices.Equal(saved.UserIDs, want) {
			t.Fatalf("saved with Dee added and Bob taken off: %v; want %v", saved.UserIDs, want)
		}
		// The console's pages count the users without reading them; the
		// other org finds no such permission.
		sum, err := f.svc.SendAsSummary(owner, p.ID)
		if err != nil || sum.UserCount != 3 || sum.UserIDs != nil || sum.FromEmail != p.FromEmail || sum.Version != saved.Version {
			t.Fatalf("SendAsSummary = %+v, %v; want the permission at version %d with a count of 3 and no ids", sum, err, saved.Version)
		}
		sums, err := f.svc.SendAsSummaries(owner)
		// By From Email: all@, news@, nobody@, one@.
		if err != nil || len(sums) != 4 || sums[0].UserCount != len(actives) || !reflect.DeepEqual(sums[1], sum) ||
			sums[2].UserCount != 0 || sums[3].UserCount != 1 {
			t.Fatalf("SendAsSummaries = %v, %v; want all@ of %d users, news@'s summary, nobody@ of none, one@ of 1",
				sums, err, len(actives))
		}
		other.refused(t, muster.ENOTFOUND, func() error {
			_, err := other.svc.SendAsSummary(other.as(other.owner), p.ID)
			return err
		})
	})
}

// sameIDs reports whether a and b hold the same ids, in any order.
func sameIDs(a, b []int64) bool {
	return slices.Equal(sortedCopy(a...), sortedCopy(b...))
}

func sortedCopy(ids ...int64) []int64 {
	return slices.Sorted(slices.Values(ids))
}

// Select All racing deactivations (SEND-2): whichever commits first, no
// deactivated user holds the grant afterwards (the grant locks the users it
// adds; a deactivation that waited takes it away).
func TestSendAsSelectAllRacesDeactivations(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 100)
		owner := f.as(f.owner)
		if _, err := f.svc.SetEmailAtScale(owner, true); err != nil {
			t.Fatal(err)
		}
		for round := range 5 {
			var leaving []*muster.User
			for i := range 4 {
				leaving = append(leaving, f.active(fmt.Sprintf("Lee%d", round*4+i), muster.RoleBasic))
			}
			var wg sync.WaitGroup
			var perm *muster.SendAsPermission
			wg.Go(func() {
				var err error
				perm, err = f.svc.CreateSendAs(owner, service.SendAsInput{FromName: "All", FromEmail: fmt.Sprintf("all%d@acme.example", round),
					SelectAll: true})
				if err != nil {
					t.Error(err)
				}
			})
			for _, u := range leaving {
				wg.Go(func() {
					if _, err := f.svc.Deactivate(owner, u.ID); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if t.Failed() {
				return
			}
			saved, err := f.svc.SendAs(owner, perm.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range leaving {
				if slices.Contains(saved.UserIDs, u.ID) {
					t.Fatalf("round %d: %s, deactivated, holds the grant Select All made beside it", round, u.FirstName)
				}
			}
		}
	})
}
