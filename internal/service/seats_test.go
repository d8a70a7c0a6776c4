package service_test

// Licenses (LIC-1, LIC-2): used = Pending + Active, never above the total,
// whatever runs at the same time and on however many instances.

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// race runs call(0), …, call(n-1) at once and returns how many succeeded
// and the error codes of the others.
func race(t *testing.T, n int, call func(i int) error) (ok int, codes map[string]int) {
	t.Helper()
	var (
		mu    sync.Mutex
		wg    sync.WaitGroup
		start = make(chan struct{})
	)
	codes = map[string]int{}
	for i := range n {
		wg.Go(func() {
			<-start
			err := call(i)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				ok++
			} else {
				codes[muster.ErrorCode(err)]++
			}
		})
	}
	close(start)
	wg.Wait()
	return ok, codes
}

// wantSeatsConsistent checks LIC-1 from the outside: the counter equals
// the Pending and Active users listed, and never exceeds the total.
func wantSeatsConsistent(t *testing.T, f *fixture) (used, total int) {
	t.Helper()
	used, total = f.seats(t)
	live := f.countStatus(t, muster.StatusPending) + f.countStatus(t, muster.StatusActive)
	if used != live || used > total {
		t.Fatalf("license counter %d of %d; %d users are Pending or Active", used, total, live)
	}
	return used, total
}

// raceForLastSeats sets up an org of 8 seats on db (the Owner, two Admins
// and 5 free) and sends 50 invitations at once, spread over the three
// actors and over a service on db and one on each of others (instances
// sharing the database). Exactly 5 get a seat; the others are told that no
// seat is free (LIC-1).
func raceForLastSeats(t *testing.T, db *sqlstore.DB, others ...*sqlstore.DB) *fixture {
	t.Helper()
	f := setup(t, db, 8)
	actors := []*muster.User{f.owner, f.active("Ada", muster.RoleAdmin), f.active("Abe", muster.RoleAdmin)}
	services := f.instances(others...)
	team := f.defaultTeam().ID
	ok, codes := race(t, 50, func(i int) error {
		_, err := services[i%len(services)].Invite(f.as(actors[i%len(actors)]), service.InviteInput{FirstName: "Racer",
			LastName: "Tester", Email: uniqueEmail("racer"), Role: muster.RoleBasic, PrimaryTeamID: team})
		return err
	})
	if ok != 5 || codes[muster.ESEATS] != 45 || len(codes) != 1 {
		t.Fatalf("50 invites at once on %d instances: %d succeeded, refusals %v; want 5 and 45 %s",
			len(services), ok, codes, muster.ESEATS)
	}
	if n := f.countStatus(t, muster.StatusPending); n != 5 {
		t.Fatalf("%d Pending users; want 5", n)
	}
	if used, total := wantSeatsConsistent(t, f); used != total {
		t.Fatalf("seats used %d of %d; want all", used, total)
	}
	if n := len(auditTrail(t, f, muster.AuditFilter{Action: muster.ActionUserInvited})); n != 3+5 {
		t.Fatalf("%d invitation audit events; want 8 (the Owner's, the Admins' and 5)", n)
	}
	return f
}

func TestConcurrentInvitesNeverExceedSeats(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		raceForLastSeats(t, db)
	})
}

// Two Muster instances, each with its own pool, over one PostgreSQL schema.
func TestConcurrentInvitesTwoInstancesPostgres(t *testing.T) {
	t.Parallel()
	url := storetest.PostgresSchema(t)
	open := func() *sqlstore.DB { return storetest.OpenPostgresAt(t, url) }
	db1, db2 := open(), open()
	f := raceForLastSeats(t, db1, db2)
	// Both instances see the same counter.
	org, err := newService(db2, f.clock).LicenseUsage(f.as(f.owner))
	if err != nil || org.SeatsUsed != 8 {
		t.Fatalf("second instance sees %v, %v; want 8 used", org, err)
	}
}

// Seats come back when an invitation is withdrawn or a user deactivated,
// and go again when a user is invited again.
func TestSeatsFreedAndTakenAgain(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 3)
		pending, _ := f.invite("Penny", muster.RoleBasic)
		active := f.active("Andy", muster.RoleBasic)
		if used, total := wantSeatsConsistent(t, f); used != 3 || total != 3 {
			t.Fatalf("seats %d of %d; want 3 of 3", used, total)
		}
		newcomer := service.InviteInput{FirstName: "Nora", LastName: "New", Email: uniqueEmail("nora"),
			Role: muster.RoleBasic, PrimaryTeamID: f.defaultTeam().ID}
		err := f.refused(t, muster.ESEATS, func() error { _, err := f.svc.Invite(f.as(f.owner), newcomer); return err })
		if msg := muster.ErrorMessage(err); !strings.Contains(msg, "3 of 3") {
			t.Fatalf("no-seat message %q does not give the numbers", msg)
		}

		if _, err := f.svc.Withdraw(f.as(f.owner), pending.ID); err != nil {
			t.Fatal(err)
		}
		if used, _ := wantSeatsConsistent(t, f); used != 2 {
			t.Fatalf("seats used after withdraw = %d; want 2", used)
		}
		if _, err := f.svc.Invite(f.as(f.owner), newcomer); err != nil {
			t.Fatalf("invite with the freed seat: %v", err)
		}
		wantSeatsConsistent(t, f)

		if _, err := f.svc.Deactivate(f.as(f.owner), active.ID); err != nil {
			t.Fatal(err)
		}
		if used, _ := wantSeatsConsistent(t, f); used != 2 {
			t.Fatalf("seats used after deactivate = %d; want 2", used)
		}
		// The deactivated user can come back into the freed seat…
		again, err := f.svc.Invite(f.as(f.owner), service.InviteInput{FirstName: "Andy", LastName: "Tester",
			Email: active.Email, Role: muster.RoleBasic, PrimaryTeamID: f.defaultTeam().ID})
		if err != nil || again.User.ID != active.ID {
			t.Fatalf("invite again = %v, %v; want user #%d back", again, err, active.ID)
		}
		// …and the withdrawn one can't while no seat is free.
		f.refused(t, muster.ESEATS, func() error {
			_, err := f.svc.Invite(f.as(f.owner), service.InviteInput{FirstName: "Penny", LastName: "Tester",
				Email: pending.Email, Role: muster.RoleBasic, PrimaryTeamID: f.defaultTeam().ID})
			return err
		})
		if u := f.user(t, pending.ID); u.Status != muster.StatusWithdrawn {
			t.Fatalf("refused invite again left the user %s; want withdrawn", u.Status)
		}
	})
}

// LIC-2: lowering the total below the seats in use is refused with the
// numbers; otherwise the Owner sets it freely and existing users stay.
func TestLicenseTotal(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 10)
		f.invite("Una", muster.RoleBasic)
		f.active("Vera", muster.RoleBasic)
		err := f.refused(t, muster.ECONFLICT, func() error { _, err := f.svc.SetLicenseTotal(f.as(f.owner), 2, 0); return err })
		if !strings.Contains(muster.ErrorMessage(err), "3") {
			t.Fatalf("message %q does not say how many licenses are in use", muster.ErrorMessage(err))
		}
		for _, bad := range []int{0, -1, service.MaxLicenseTotal + 1} {
			f.refused(t, muster.EINVALID, func() error { _, err := f.svc.SetLicenseTotal(f.as(f.owner), bad, 0); return err })
		}
		// Both settings at once (muster org update): a refused total turns
		// Email at Scale on neither.
		low, on := 2, true
		f.refused(t, muster.ECONFLICT, func() error {
			_, err := f.svc.UpdateOrg(f.as(f.owner), service.OrgChange{LicenseTotal: &low, EmailAtScale: &on})
			return err
		})
		if org, err := f.svc.Org(f.as(f.owner)); err != nil || org.EmailAtScale {
			t.Fatalf("after a refused change of both settings: %+v, %v; want Email at Scale still off", org, err)
		}
		e := f.changed(t, func() error { _, err := f.svc.SetLicenseTotal(f.as(f.owner), 3, 0); return err })
		wantEvent(t, e, muster.ActionLicenseTotalChanged, f.owner, "org", f.org.ID)
		wantChange(t, e, "license_total", 10, 3)
		if used, total := wantSeatsConsistent(t, f); used != 3 || total != 3 {
			t.Fatalf("seats %d of %d; want 3 of 3", used, total)
		}
		f.refused(t, muster.ESEATS, func() error {
			_, err := f.svc.Invite(f.as(f.owner), service.InviteInput{FirstName: "Wes", LastName: "Tester",
				Email: uniqueEmail("wes"), Role: muster.RoleBasic, PrimaryTeamID: f.defaultTeam().ID})
			return err
		})
	})
}

// The same email invited many times at once: one Pending user, one seat.
func TestConcurrentInvitesOfOneEmail(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 50)
		admins := f.admins(t, 4)
		email := uniqueEmail("twin")
		ok, codes := race(t, 10, func(i int) error {
			_, err := f.svc.Invite(f.as(admins[i%len(admins)]), service.InviteInput{FirstName: "Twin", LastName: "Tester",
				Email: email, Role: muster.RoleBasic, PrimaryTeamID: f.defaultTeam().ID})
			return err
		})
		if ok != 1 || codes[muster.ECONFLICT] != 9 {
			t.Fatalf("10 concurrent invites of one email: %d succeeded, refusals %v; want 1 and 9 %s", ok, codes, muster.ECONFLICT)
		}
		if used, _ := wantSeatsConsistent(t, f); used != 6 {
			t.Fatalf("seats used = %d; want 6 (the Owner, 4 Admins and the twin)", used)
		}
	})
}

// One deactivated user invited again many times at once: they come back
// once, holding one seat (LIC-1).
func TestConcurrentInviteAgainTakesOneSeat(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 50)
		admins := f.admins(t, 4)
		gone := f.deactivated(t, "Gwen", muster.RoleBasic)
		ok, codes := race(t, 10, func(i int) error {
			_, err := f.svc.Invite(f.as(admins[i%len(admins)]), service.InviteInput{FirstName: "Gwen", LastName: "Tester",
				Email: gone.Email, Role: muster.RoleBasic, PrimaryTeamID: f.defaultTeam().ID})
			return err
		})
		if ok != 1 || codes[muster.ECONFLICT] != 9 {
			t.Fatalf("10 concurrent invites again: %d succeeded, refusals %v; want 1 and 9 %s", ok, codes, muster.ECONFLICT)
		}
		if used, _ := wantSeatsConsistent(t, f); used != 6 {
			t.Fatalf("seats used = %d; want 6 (the Owner, 4 Admins and Gwen)", used)
		}
		if n := len(auditTrail(t, f, muster.AuditFilter{Action: muster.ActionUserReinvited})); n != 1 {
			t.Fatalf("%d invited-again events; want 1", n)
		}
	})
}

// Withdrawing and deactivating at the same time as others do the same
// never frees a seat twice.
func TestConcurrentReleasesFreeOneSeatEach(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 10)
		admin := f.active("Ada", muster.RoleAdmin)
		pending, _ := f.invite("Pia", muster.RoleBasic)
		active := f.active("Abe", muster.RoleBasic)
		actors := []*muster.User{f.owner, admin}
		ok, codes := race(t, 6, func(i int) error { _, err := f.svc.Withdraw(f.as(actors[i%2]), pending.ID); return err })
		if ok != 1 || codes[muster.EINTERNAL] != 0 {
			t.Fatalf("concurrent withdrawals: %d succeeded, refusals %v; want 1 and no internal errors", ok, codes)
		}
		ok, codes = race(t, 6, func(i int) error { _, err := f.svc.Deactivate(f.as(actors[i%2]), active.ID); return err })
		if ok != 1 || codes[muster.ECONFLICT] != 5 {
			t.Fatalf("concurrent deactivations: %d succeeded, refusals %v; want 1 and 5 %s", ok, codes, muster.ECONFLICT)
		}
		if used, _ := wantSeatsConsistent(t, f); used != 2 {
			t.Fatalf("seats used = %d; want 2 (Owner and Admin)", used)
		}
	})
}

// admins makes n Active Admins and returns them after the Owner.
func (f *fixture) admins(t *testing.T, n int) []*muster.User {
	t.Helper()
	users := []*muster.User{f.owner}
	for range n {
		users = append(users, f.active("Admin", muster.RoleAdmin))
	}
	return users
}

// TestInvitesAndDeactivationsRace: invitations into one org's teams,
// deactivations of their members and folds of the teams' count changes,
// all at once, all succeed (none waits for another in a deadlock: each
// takes or frees its seat with its teams' count changes, in one statement on
// PostgreSQL; a fold locks the teams, whose keys the others share), and the
// seat counter and both teams' counts end as the users are (LIC-1), before
// and after a last fold.
func TestInvitesAndDeactivationsRace(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		raceInvitesAndDeactivations(t, db)
	})
}

// The same on two instances sharing one PostgreSQL schema.
func TestInvitesAndDeactivationsRaceTwoInstancesPostgres(t *testing.T) {
	t.Parallel()
	url := storetest.PostgresSchema(t)
	raceInvitesAndDeactivations(t, storetest.OpenPostgresAt(t, url), storetest.OpenPostgresAt(t, url))
}

// raceInvitesAndDeactivations deactivates 10 members of Main (Side their
// second team) while inviting 20 people into Side (Main their second) and
// folding the teams' count changes 6 times, spread over a service on db and
// one on each of others.
func raceInvitesAndDeactivations(t *testing.T, db *sqlstore.DB, others ...*sqlstore.DB) {
	t.Helper()
	f := setup(t, db, 40)
	services := f.instances(others...)
	stores := append([]*sqlstore.DB{db}, others...)
	main, side := f.defaultTeam(), f.team(t, "Side")
	var leavers []*muster.User
	for range 10 {
		_, link := f.inviteInto(t, "Leaver", muster.RoleBasic, main.ID, side.ID)
		leavers = append(leavers, f.accept(link))
	}
	mainBefore, sideBefore := findTeam(t, f, main.ID), findTeam(t, f, side.ID)
	usedBefore, _ := wantSeatsConsistent(t, f)

	ok, codes := race(t, 36, func(i int) error {
		svc := services[i%len(services)]
		switch {
		case i < len(leavers):
			_, err := svc.Deactivate(f.as(f.owner), leavers[i].ID)
			return err
		case i < 30:
			_, err := svc.Invite(f.as(f.owner), service.InviteInput{FirstName: "Joiner", LastName: "Tester",
				Email: uniqueEmail("joiner"), Role: muster.RoleBasic, PrimaryTeamID: side.ID, SecondaryTeamIDs: []int64{main.ID}})
			return err
		}
		_, err := stores[i%len(stores)].FoldTeamCounts(context.Background())
		return err
	})
	if ok != 36 {
		t.Fatalf("10 deactivations, 20 invitations and 6 folds at once on %d instances: %d succeeded, refusals %v; want all",
			len(services), ok, codes)
	}
	if used, _ := wantSeatsConsistent(t, f); used != usedBefore+10 {
		t.Errorf("seats used %d; want %d (10 freed, 20 taken)", used, usedBefore+10)
	}
	want := [4]int{mainBefore.PrimaryCount - 10, mainBefore.SecondaryCount + 20, sideBefore.PrimaryCount + 20,
		sideBefore.SecondaryCount - 10}
	wantCounts := func(step string) {
		t.Helper()
		mainAfter, sideAfter := findTeam(t, f, main.ID), findTeam(t, f, side.ID)
		got := [4]int{mainAfter.PrimaryCount, mainAfter.SecondaryCount, sideAfter.PrimaryCount, sideAfter.SecondaryCount}
		if got != want {
			t.Errorf("%s: Main %d+%d and Side %d+%d members; want %d+%d and %d+%d", step, got[0], got[1], got[2], got[3],
				want[0], want[1], want[2], want[3])
		}
	}
	wantCounts("after the race")
	if _, err := db.FoldTeamCounts(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantCounts("after a last fold")
}
