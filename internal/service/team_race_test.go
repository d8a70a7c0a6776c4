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
