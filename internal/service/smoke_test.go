package service_test

import (
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
)

func TestInviteAcceptList(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		basic := f.active("Bella", muster.RoleBasic)
		if basic.Status != muster.StatusActive {
			t.Fatalf("status = %s; want active", basic.Status)
		}
		page, err := f.svc.FindUsers(f.as(f.owner), service.UserQuery{Search: "bel"})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Users) != 1 || page.Users[0].ID != basic.ID {
			t.Fatalf("search bel = %v; want Bella", page.Users)
		}
		_, err = f.svc.FindUsers(f.as(basic), service.UserQuery{})
		wantCode(t, err, muster.EFORBIDDEN)
		org, err := f.svc.LicenseUsage(f.as(f.owner))
		if err != nil || org.SeatsUsed != 2 {
			t.Fatalf("seats used = %v, %v; want 2", org, err)
		}
	})
}

func TestExpiredInvitationIsMarkedAndCanBeResent(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		u, _ := f.invite("Eve", muster.RoleBasic)
		page, err := f.svc.FindUsers(f.as(f.owner), service.UserQuery{Search: "eve"})
		if err != nil || len(page.Users) != 1 || page.Users[0].InvitationExpired(f.clock.Now()) {
			t.Fatalf("fresh invitation listed as %+v, %v; want not expired", page.Users, err)
		}
		f.clock.Advance(7*24*time.Hour + time.Minute)
		page, err = f.svc.FindUsers(f.as(f.owner), service.UserQuery{Search: "eve"})
		if err != nil || len(page.Users) != 1 {
			t.Fatalf("after 7 days: %v, %v; want Eve listed", page, err)
		}
		if got := page.Users[0]; got.Status != muster.StatusPending || !got.InvitationExpired(f.clock.Now()) {
			t.Fatalf("after 7 days: %+v; want Pending and expired", got)
		}
		if _, err := f.svc.ResendInvite(f.as(f.owner), u.ID); err != nil {
			t.Fatal(err)
		}
		page, err = f.svc.FindUsers(f.as(f.owner), service.UserQuery{Search: "eve"})
		if err != nil || len(page.Users) != 1 || page.Users[0].InvitationExpired(f.clock.Now()) {
			t.Fatalf("after a resend: %v, %v; want Eve listed, not expired", page, err)
		}
	})
}
