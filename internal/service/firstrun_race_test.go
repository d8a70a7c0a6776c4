package service_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestFirstRunOnce: the first-run page creates one organization however many
// people send it at once; the others are told Muster is already set up.
func TestFirstRunOnce(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		svc := newService(db, newClock())
		const n = 8
		start := make(chan struct{})
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				_, errs[i] = svc.FirstRun(context.Background(), service.NewOrg{Name: fmt.Sprintf("Org %d", i),
					LicenseTotal: 5, OwnerEmail: uniqueEmail("first"), OwnerFirstName: "F", OwnerLastName: "R"}, "web 192.0.2.1")
			})
		}
		close(start)
		wg.Wait()
		created := 0
		for _, err := range errs {
			switch muster.ErrorCode(err) {
			case "":
				created++
			case muster.ECONFLICT:
			default:
				t.Errorf("FirstRun: %v", err)
			}
		}
		var orgs int
		if err := db.View(context.Background(), func(tx muster.Tx) (err error) { orgs, err = tx.CountOrgs(context.Background()); return err }); err != nil {
			t.Fatal(err)
		}
		if created != 1 || orgs != 1 {
			t.Fatalf("%d concurrent first runs created %d organizations (%d in the database); want 1", n, created, orgs)
		}
	})
}
