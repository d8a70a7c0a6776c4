package service_test

import (
	"testing"

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
