package service_test

import (
	"context"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestReportOfDeactivatedRequester: an Admin who asked for the user list and
// is deactivated (has left) before it is ready gets no email about the
// organization's user list.
func TestReportOfDeactivatedRequester(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 10)
		admin := f.active("Ada", muster.RoleAdmin)
		if _, err := f.svc.RequestUserList(f.as(admin)); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Deactivate(f.as(f.owner), admin.ID); err != nil {
			t.Fatal(err)
		}
		if ran, err := f.svc.RunNextReport(context.Background()); err != nil || !ran {
			t.Fatalf("RunNextReport = %v, %v", ran, err)
		}
		for _, m := range storetest.Outbox(t, db, f.org.ID) {
			if m.To == admin.Email && m.Subject == "Your user list of "+f.org.Name+" is ready" {
				t.Fatalf("the deactivated requester was emailed %q:\n%s", m.Subject, m.Text)
			}
		}
	})
}
