package service_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
)

// TestSecondStepRacingDeactivation finishes a pending sign-in's second
// step while an Owner deactivates the person, many times over: a
// deactivated person is left with no session (DEA-1), and, invited again
// and back, the session their old sign-in started does not come back.
func TestSecondStepRacingDeactivation(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := twoStepFixture(t, db)
		for round := range 40 {
			u := f.active("Dee", muster.RoleBasic)
			key, _ := f.enrolTOTP(t, u)
			f.clock.Advance(30 * time.Second)
			token := f.passwordStep(t, u)
			code := codeAt(t, key, f.clock.Now())
			var (
				done      *service.SecondStepDone
				verifyErr error
				deactErr  error
				wg        sync.WaitGroup
			)
			wg.Go(func() {
				done, verifyErr = f.svc.VerifySecondStep(context.Background(), token, code, false, browser)
			})
			wg.Go(func() { _, deactErr = f.svc.Deactivate(f.as(f.owner), u.ID) })
			wg.Wait()
			if deactErr != nil {
				t.Fatalf("round %d: deactivate: %v", round, deactErr)
			}
			if verifyErr != nil {
				continue // refused: the deactivation came first
			}
			if n := f.sessionCount(t, u); n != 0 {
				// Invited again and back, the person's old browser (or
				// whoever finished that sign-in) is signed in again.
				inv, err := f.svc.InviteAgain(f.as(f.owner), u.ID, service.UserUpdate{})
				if err != nil {
					t.Fatal(err)
				}
				f.accept(inv.Link)
				_, _, authErr := f.svc.Authenticate(context.Background(), done.Token)
				t.Fatalf("round %d: the second step and the deactivation both succeeded, and the deactivated user "+
					"has %d session(s); after being invited again, the old session authenticates: %v", round, n, authErr)
			}
		}
	})
}

// TestEnrolmentRacingDeactivation sets up an authenticator app inside a
// pending sign-in (the organization requires two-step verification) while
// an Owner deactivates the person, many times over: a deactivated person
// is left with no session.
func TestEnrolmentRacingDeactivation(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := twoStepFixture(t, db)
		if _, err := f.svc.SetTwoStepPolicy(f.as(f.owner), service.TwoStepPolicyInput{Scope: muster.TwoStepEveryone}); err != nil {
			t.Fatal(err)
		}
		for round := range 40 {
			u := f.active("Ena", muster.RoleBasic)
			token := f.passwordStep(t, u)
			en, err := f.svc.StartTOTP(context.Background(), token, browser)
			if err != nil {
				t.Fatalf("StartTOTP: %v", err)
			}
			code := codeAt(t, en.Secret, f.clock.Now())
			var confirmErr, deactErr error
			var wg sync.WaitGroup
			wg.Go(func() { _, confirmErr = f.svc.ConfirmTOTP(context.Background(), token, code, browser) })
			wg.Go(func() { _, deactErr = f.svc.Deactivate(f.as(f.owner), u.ID) })
			wg.Wait()
			if deactErr != nil {
				t.Fatalf("round %d: deactivate: %v", round, deactErr)
			}
			if n := f.sessionCount(t, u); confirmErr == nil && n != 0 {
				t.Fatalf("round %d: the enrolment and the deactivation both succeeded, and the deactivated user has %d session(s)", round, n)
			}
		}
	})
}

// TestProfileRacingTeamRemoval shows a person their profile, as the
// console does (the principal carries the user its authentication read),
// while an Admin moves the members of their primary team to another team
// and removes it, many times over: the profile shows one team or the
// other, never an error.
func TestProfileRacingTeamRemoval(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 20)
		u := f.active("Pia", muster.RoleBasic)
		in, err := f.svc.SignIn(context.Background(), u.Email, "a long enough secret", browser)
		if err != nil {
			t.Fatal(err)
		}
		stay := f.team(t, "Stay")
		failures := 0
		for round := range 200 {
			leaving := f.team(t, "Leaving "+uniqueEmail("t"))
			if _, err := f.svc.UpdateUser(f.as(f.owner), u.ID, service.UserUpdate{PrimaryTeamID: &leaving.ID}); err != nil {
				t.Fatal(err)
			}
			var profileErr, removeErr error
			var wg sync.WaitGroup
			wg.Go(func() {
				me, _, err := f.svc.Authenticate(context.Background(), in.Token)
				if err != nil {
					profileErr = err
					return
				}
				ctx := muster.NewContext(context.Background(), muster.Principal{UserID: me.ID, OrgID: me.OrgID,
					Origin: "web", User: me})
				_, profileErr = f.svc.FindProfile(ctx)
			})
			wg.Go(func() { _, removeErr = f.svc.MoveMembersAndRemoveTeam(f.as(f.owner), leaving.ID, stay.ID) })
			wg.Wait()
			if removeErr != nil {
				t.Fatalf("round %d: move and remove: %v", round, removeErr)
			}
			if profileErr != nil {
				failures++
				t.Errorf("round %d: the profile, read as the team was removed: %v", round, profileErr)
			}
		}
		if failures > 0 {
			t.Fatalf("%d of 200 profiles failed", failures)
		}
	})
}
