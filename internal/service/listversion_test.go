package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestUserListVersion: every change to an org's users, by any path, moves
// the version its pages carry (so a page asked for with the version before
// is read again) — their second steps too, which pages show and filter —,
// a change refused before it writes and another org's changes do not, and
// a page asked for with the current version is answered NotModified
// without users. An API token's check reads the version with the token,
// as it is then (the API's reads of the list take it). A team's removal moves its members' versions too (their
// teams changed), which their own ETags stand for.
func TestUserListVersion(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := twoStepFixture(t, db)
		ctx := f.as(f.owner)
		version := func() int64 {
			t.Helper()
			page, err := f.svc.FindUsers(ctx, service.UserQuery{})
			if err != nil {
				t.Fatalf("FindUsers: %v", err)
			}
			if page.NotModified || len(page.Users) == 0 {
				t.Fatalf("FindUsers without a known version: NotModified %v, %d users", page.NotModified, len(page.Users))
			}
			return page.ListVersion
		}
		notModified := func(known int64) bool {
			t.Helper()
			page, err := f.svc.FindUsers(ctx, service.UserQuery{KnownVersion: known})
			if err != nil {
				t.Fatalf("FindUsers: %v", err)
			}
			if page.NotModified && len(page.Users) != 0 {
				t.Fatalf("a NotModified page holds %d users", len(page.Users))
			}
			return page.NotModified
		}
		if version() == 0 {
			t.Fatal("a new org's list has no version")
		}

		member := f.active("Mel", muster.RoleBasic)
		team, err := f.svc.CreateTeam(ctx, "Support")
		if err != nil {
			t.Fatal(err)
		}
		other := setup(t, db, 10)
		token, err := f.svc.CreateAPIToken(ctx, "script", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		for _, step := range []struct {
			name    string
			change  func() error
			changes bool
		}{
			{"invitation", func() error { f.invite("Ivy", muster.RoleBasic); return nil }, true},
			{"refused invitation", func() error {
				_, err := f.svc.Invite(ctx, service.InviteInput{FirstName: "Bad", Email: "not an email",
					Role: muster.RoleBasic, PrimaryTeamID: f.defaultTeam().ID})
				wantCode(t, err, muster.EINVALID)
				return nil
			}, false},
			{"secondary team", func() error {
				_, err := f.svc.UpdateUser(ctx, member.ID, service.UserUpdate{SecondaryTeamIDs: &[]int64{team.ID}})
				return err
			}, true},
			{"another org's invitation", func() error { other.invite("Otto", muster.RoleBasic); return nil }, false},
			{"team removed", func() error {
				before, err := f.svc.FindUser(ctx, member.ID)
				if err != nil {
					return err
				}
				if _, err := f.svc.RemoveTeam(ctx, team.ID, 0); err != nil {
					return err
				}
				after, err := f.svc.FindUser(ctx, member.ID)
				if err == nil && (after.Version <= before.Version || len(after.SecondaryTeamIDs) != 0) {
					t.Errorf("a removed team's member: version %d → %d, secondary teams %v; want a new version, none",
						before.Version, after.Version, after.SecondaryTeamIDs)
				}
				return err
			}, true},
			{"second step set up", func() error { f.enrolTOTP(t, member); return nil }, true},
			{"second step reset", func() error { _, err := f.svc.ResetTwoStep(ctx, member.ID); return err }, true},
			{"deactivation", func() error { _, err := f.svc.Deactivate(ctx, member.ID); return err }, true},
			{"sign-in", func() error {
				_, err := f.svc.SignIn(context.Background(), f.owner.Email, "a long enough secret",
					service.Client{IP: "192.0.2.1", Origin: "web 192.0.2.1"})
				return err
			}, true},
		} {
			before := version()
			if err := step.change(); err != nil {
				t.Fatalf("%s: %v", step.name, err)
			}
			after := version()
			checked, err := f.svc.AuthenticateAPIToken(context.Background(), token.Secret)
			if err != nil {
				t.Fatalf("%s: the API token's check: %v", step.name, err)
			}
			if checked.UserListVersion != after {
				t.Errorf("%s: the API token's check read the list's version %d; want %d", step.name, checked.UserListVersion, after)
			}
			if moved := after != before; moved != step.changes {
				t.Errorf("%s: the list's version went %d → %d; want a change: %v", step.name, before, after, step.changes)
			}
			if got := notModified(before); got != !step.changes {
				t.Errorf("%s: a page of the version before is NotModified: %v; want %v", step.name, got, !step.changes)
			}
			if !notModified(after) {
				t.Errorf("%s: a page of the current version is read again", step.name)
			}
		}

		// A bad query is refused even with the current version.
		_, err = f.svc.FindUsers(ctx, service.UserQuery{KnownVersion: version(), Cursor: "not a cursor"})
		wantCode(t, err, muster.EINVALID)
	})
}

// TestUserListVersionTwoInstances: a write through one instance moves the
// version that another instance, on the same PostgreSQL database, answers
// with.
func TestUserListVersionTwoInstances(t *testing.T) {
	t.Parallel()
	url := storetest.PostgresSchema(t)
	f := setup(t, storetest.OpenPostgresAt(t, url), 10)
	second := newService(storetest.OpenPostgresAt(t, url), f.clock)
	page, err := second.FindUsers(f.as(f.owner), service.UserQuery{})
	if err != nil {
		t.Fatal(err)
	}
	f.invite("Ivy", muster.RoleBasic)
	again, err := second.FindUsers(f.as(f.owner), service.UserQuery{KnownVersion: page.ListVersion})
	if err != nil {
		t.Fatal(err)
	}
	if again.NotModified || len(again.Users) != len(page.Users)+1 {
		t.Fatalf("after an invitation through the other instance: NotModified %v, %d users (%d before)",
			again.NotModified, len(again.Users), len(page.Users))
	}
}
