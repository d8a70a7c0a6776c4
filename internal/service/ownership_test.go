package service_test

// OWN-1: the Owner transfers ownership to an Active Admin, confirmed by
// password; the old Owner becomes an Admin; there is exactly one Owner at
// every moment.

import (
	"strings"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
)

func wantOwner(t *testing.T, f *fixture, id int64) {
	t.Helper()
	owners := f.owners(t)
	if len(owners) != 1 || owners[0].ID != id {
		var ids []int64
		for _, o := range owners {
			ids = append(ids, o.ID)
		}
		t.Fatalf("owners = %v; want exactly #%d", ids, id)
	}
}

func TestTransferOwnership(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 10)
		heir := f.active("Hal", muster.RoleAdmin)
		old := f.owner

		e := f.changed(t, func() error { _, err := f.svc.TransferOwnership(f.as(old), heir.ID, password); return err })
		wantEvent(t, e, muster.ActionOwnershipMoved, old, "user", heir.ID)
		wantChange(t, e, "owner", old.Email, heir.Email)
		wantOwner(t, f, heir.ID)
		if u := f.user(t, old.ID); u.Role != muster.RoleAdmin || u.Status != muster.StatusActive {
			t.Fatalf("old Owner is now %s %s; want an Active Admin", u.Status, u.Role)
		}

		// The change applies to both at once (ROLE-3).
		f.refused(t, muster.EFORBIDDEN, func() error { _, err := f.svc.SetLicenseTotal(f.as(old), 11, 0); return err })
		f.refused(t, muster.EFORBIDDEN, func() error { _, err := f.svc.TransferOwnership(f.as(old), heir.ID, password); return err })
		if _, err := f.svc.SetLicenseTotal(f.as(heir), 11, 0); err != nil {
			t.Fatalf("the new Owner can't change the license total: %v", err)
		}
		// The old Owner, now an Admin, is managed by the new Owner like any Admin.
		if _, err := f.svc.UpdateUser(f.as(heir), old.ID, service.UserUpdate{Role: ptr(muster.RoleManager)}); err != nil {
			t.Fatalf("the new Owner can't demote the old one: %v", err)
		}
		// And the new Owner is untouchable in turn.
		f.refused(t, muster.EFORBIDDEN, func() error { _, err := f.svc.Deactivate(operator(f.org.ID), heir.ID); return err })

		// An operator transfers without a password (recovery from the CLI).
		f.owner = heir
		back := f.active("Bea", muster.RoleAdmin)
		e = f.changed(t, func() error { _, err := f.svc.TransferOwnership(operator(f.org.ID), back.ID, ""); return err })
		wantEvent(t, e, muster.ActionOwnershipMoved, nil, "user", back.ID)
		wantOwner(t, f, back.ID)
	})
}

func TestTransferOwnershipRefused(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 20)
		g := secondOrg(t, f)
		admin := f.active("Ada", muster.RoleAdmin)
		manager := f.active("Max", muster.RoleManager)
		basic := f.active("Bob", muster.RoleBasic)
		pendingAdmin, _ := f.invite("Pia", muster.RoleAdmin)
		goneAdmin := f.deactivated(t, "Gil", muster.RoleAdmin)
		withdrawnAdmin, _ := f.withdrawn(t, "Wil", muster.RoleAdmin)
		theirAdmin := g.active("Tad", muster.RoleAdmin)

		cases := []struct {
			name     string
			actor    *muster.User
			to       int64
			password string
			code     string
		}{
			{"wrong password", f.owner, admin.ID, "not the password", muster.EFORBIDDEN},
			{"empty password", f.owner, admin.ID, "", muster.EFORBIDDEN},
			{"to a Manager", f.owner, manager.ID, password, muster.ECONFLICT},
			{"to a Basic User", f.owner, basic.ID, password, muster.ECONFLICT},
			{"to a Pending Admin", f.owner, pendingAdmin.ID, password, muster.ECONFLICT},
			{"to a Deactivated Admin", f.owner, goneAdmin.ID, password, muster.ECONFLICT},
			{"to a withdrawn Admin", f.owner, withdrawnAdmin.ID, password, muster.ENOTFOUND}, // left the list, as everywhere
			{"to themself", f.owner, f.owner.ID, password, muster.ECONFLICT},
			{"to another org's Admin", f.owner, theirAdmin.ID, password, muster.ENOTFOUND},
			{"to nobody", f.owner, 987_654, password, muster.ENOTFOUND},
			{"by an Admin", admin, admin.ID, password, muster.EFORBIDDEN},
			{"by an Admin to another Admin", admin, f.active("Abe", muster.RoleAdmin).ID, password, muster.EFORBIDDEN},
			{"by a Manager", manager, admin.ID, password, muster.EFORBIDDEN},
			{"by a Basic User", basic, admin.ID, password, muster.EFORBIDDEN},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				f := f.on(t)
				f.refused(t, c.code, func() error { _, err := f.svc.TransferOwnership(f.as(c.actor), c.to, c.password); return err }, g.on(t))
				wantOwner(t, f, f.owner.ID)
				wantOwner(t, g, g.owner.ID)
			})
		}
		// An Admin is told they are not the Owner, whatever password they
		// type: not whether it is theirs.
		_, err := f.svc.TransferOwnership(f.as(admin), admin.ID, "not the password")
		if msg := muster.ErrorMessage(err); muster.ErrorCode(err) != muster.EFORBIDDEN || !strings.Contains(msg, "Only the Owner") {
			t.Fatalf("an Admin's transfer with a wrong password: %v; want refused as not the Owner", err)
		}
	})
}

// Two transfers at once, to two Admins: one wins, and the org never has
// two Owners.
func TestConcurrentTransfersLeaveOneOwner(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 10)
		heirs := []*muster.User{f.active("Ann", muster.RoleAdmin), f.active("Ben", muster.RoleAdmin)}
		ok, codes := race(t, 2, func(i int) error { _, err := f.svc.TransferOwnership(f.as(f.owner), heirs[i].ID, password); return err })
		if ok != 1 || codes[muster.EFORBIDDEN] != 1 {
			t.Fatalf("two concurrent transfers: %d succeeded, refusals %v; want 1 and 1 %s", ok, codes, muster.EFORBIDDEN)
		}
		owners := f.owners(t)
		if len(owners) != 1 || (owners[0].ID != heirs[0].ID && owners[0].ID != heirs[1].ID) {
			t.Fatalf("owners after the race = %v; want exactly one of the heirs", owners)
		}
		if n := len(auditTrail(t, f, muster.AuditFilter{Action: muster.ActionOwnershipMoved})); n != 1 {
			t.Fatalf("%d ownership events; want 1", n)
		}
	})
}
