package service_test

import (
	"sync"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
)

// TestRemoveTeamRacingAMove removes a team while a user is moved into it as
// primary team, many times over: each time one of the two is refused with a
// typed error, and a removed team never holds a Pending or Active user.
func TestRemoveTeamRacingAMove(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 100)
		u := f.active("Mover", muster.RoleBasic)
		for range 50 {
			team, err := f.svc.CreateTeam(f.as(f.owner), "Short-lived "+uniqueEmail("t"))
			if err != nil {
				t.Fatal(err)
			}
			var moveErr, removeErr error
			var wg sync.WaitGroup
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, moveErr = f.svc.UpdateUser(f.as(f.owner), u.ID, service.UserUpdate{PrimaryTeamID: &team.ID})
			}()
			go func() {
				defer wg.Done()
				_, removeErr = f.svc.RemoveTeam(f.as(f.owner), team.ID, 0)
			}()
			wg.Wait()
			for _, err := range []error{moveErr, removeErr} {
				if code := muster.ErrorCode(err); code == muster.EINTERNAL {
					t.Fatalf("an internal error instead of a refusal: %v", err)
				}
			}
			if (moveErr == nil) == (removeErr == nil) {
				t.Fatalf("move: %v, remove: %v; want exactly one to succeed", moveErr, removeErr)
			}
			got, err := f.svc.FindUser(f.as(f.owner), u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if removeErr == nil && got.PrimaryTeamID == team.ID {
				t.Fatal("the user's primary team was removed")
			}
			// Put the user back for the next round.
			def := f.defaultTeam().ID
			if _, err := f.svc.UpdateUser(f.as(f.owner), u.ID, service.UserUpdate{PrimaryTeamID: &def}); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestRemoveTeamRacingItsMembers removes a team while a former member is
// invited again into another team, many times over: both are done, and
// the member's teams column agrees with their memberships and the teams'
// counts (on PostgreSQL the removal rewrote it from memberships read
// before the invitation committed).
func TestRemoveTeamRacingItsMembers(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 1000)
		def := f.defaultTeam().ID
		for range 30 {
			leaving, staying := f.team(t, "Leaving "+uniqueEmail("t")), f.team(t, "Staying "+uniqueEmail("t"))
			wes, _ := f.inviteInto(t, "Wes", muster.RoleBasic, def, leaving.ID)
			if _, err := f.svc.Withdraw(f.as(f.owner), wes.ID); err != nil {
				t.Fatal(err)
			}
			var inviteErr, removeErr error
			var wg sync.WaitGroup
			wg.Go(func() {
				_, inviteErr = f.svc.Invite(f.as(f.owner), service.InviteInput{FirstName: "Wes", LastName: "Tester",
					Email: wes.Email, Role: muster.RoleBasic, PrimaryTeamID: staying.ID})
			})
			wg.Go(func() { _, removeErr = f.svc.RemoveTeam(f.as(f.owner), leaving.ID, 0) })
			wg.Wait()
			if inviteErr != nil || removeErr != nil {
				t.Fatalf("invite again: %v; remove the team: %v; want both done", inviteErr, removeErr)
			}
			if got := f.user(t, wes.ID); got.PrimaryTeamID != staying.ID || len(got.SecondaryTeamIDs) != 0 {
				t.Fatalf("Wes, invited into %d, is in %d and %v", staying.ID, got.PrimaryTeamID, got.SecondaryTeamIDs)
			}
			// The counts agree: with Wes withdrawn again, his team is empty
			// and goes.
			if _, err := f.svc.Withdraw(f.as(f.owner), wes.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.RemoveTeam(f.as(f.owner), staying.ID, 0); err != nil {
				t.Fatalf("removing Wes's emptied team: %v", err)
			}
		}
	})
}

// TestAcceptRacingWithdraw accepts an invitation while it is withdrawn,
// many times over: exactly one of the two is done, the other refused with
// a reason, never an internal error (on PostgreSQL, a deadlock: the
// acceptance locked the link and then the user, the withdrawal the user
// and then the link).
func TestAcceptRacingWithdraw(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 1000)
		for range 30 {
			u, link := f.invite("Ann", muster.RoleBasic)
			var acceptErr, withdrawErr error
			var wg sync.WaitGroup
			wg.Go(func() { _, acceptErr = f.acceptLink(link) })
			wg.Go(func() { _, withdrawErr = f.svc.Withdraw(f.as(f.owner), u.ID) })
			wg.Wait()
			for _, err := range []error{acceptErr, withdrawErr} {
				if muster.ErrorCode(err) == muster.EINTERNAL {
					t.Fatalf("accept: %v; withdraw: %v; want a refusal, not an internal error", acceptErr, withdrawErr)
				}
			}
			if (acceptErr == nil) == (withdrawErr == nil) {
				t.Fatalf("accept: %v; withdraw: %v; want exactly one done", acceptErr, withdrawErr)
			}
			if acceptErr != nil {
				// The person is told why: the invitation was withdrawn.
				wantGone(t, acceptErr, muster.LinkWithdrawn)
			}
			if got := f.user(t, u.ID); (acceptErr == nil) != (got.Status == muster.StatusActive) {
				t.Fatalf("accept: %v, and Ann is %s", acceptErr, got.Status)
			}
		}
	})
}

// TestRemoveTeamRacingADeactivation removes a team while one of its members
// is deactivated, many times over: both are done, never an internal error
// (on PostgreSQL the removal locks the team and then its members, the
// deactivation the member and then their teams' counts: a deadlock that
// one of them must survive by being run again). Few rounds: nearly every
// one deadlocks, and PostgreSQL finds a deadlock after deadlock_timeout (1
// s).
func TestRemoveTeamRacingADeactivation(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 1000)
		def := f.defaultTeam().ID
		for range 6 {
			leaving := f.team(t, "Leaving "+uniqueEmail("t"))
			_, link := f.inviteInto(t, "Dee", muster.RoleBasic, def, leaving.ID)
			dee := f.accept(link)
			var deactivateErr, removeErr error
			var wg sync.WaitGroup
			wg.Go(func() { _, deactivateErr = f.svc.Deactivate(f.as(f.owner), dee.ID) })
			wg.Go(func() { _, removeErr = f.svc.RemoveTeam(f.as(f.owner), leaving.ID, 0) })
			wg.Wait()
			if deactivateErr != nil || removeErr != nil {
				t.Fatalf("deactivate: %v; remove the team: %v; want both done", deactivateErr, removeErr)
			}
			if got := f.user(t, dee.ID); got.Status != muster.StatusDeactivated || len(got.SecondaryTeamIDs) != 0 {
				t.Fatalf("Dee is %s in %v; want deactivated and out of the removed team", got.Status, got.SecondaryTeamIDs)
			}
		}
	})
}
