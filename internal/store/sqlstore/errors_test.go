package sqlstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestStoreErrorsSayWhatWasDone: a statement the database refuses comes
// back naming the statement, with the driver's error inside; a broken
// unique constraint is ECONFLICT and keeps that error as its cause.
func TestStoreErrorsSayWhatWasDone(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := time.Now()
		// No org 987654: the foreign key refuses the team.
		err := db.Update(ctx, func(tx muster.Tx) error {
			return tx.CreateTeam(ctx, &muster.Team{OrgID: 987654, Name: "Orphans", CreatedAt: now})
		})
		if err == nil || !strings.Contains(err.Error(), "sqlstore: INSERT teams:") {
			t.Fatalf("a team of no org: %v; want an error naming INSERT teams", err)
		}

		var org muster.Org
		err = db.Update(ctx, func(tx muster.Tx) error {
			org = muster.Org{Name: "Acme", Region: "us", LicenseTotal: 5, CreatedAt: now}
			if err := tx.CreateOrg(ctx, &org); err != nil {
				return err
			}
			return tx.CreateTeam(ctx, &muster.Team{OrgID: org.ID, Name: "Support", CreatedAt: now})
		})
		if err != nil {
			t.Fatal(err)
		}
		err = db.Update(ctx, func(tx muster.Tx) error {
			return tx.CreateTeam(ctx, &muster.Team{OrgID: org.ID, Name: "SUPPORT", CreatedAt: now})
		})
		var e *muster.Error
		if muster.ErrorCode(err) != muster.ECONFLICT || !errors.As(err, &e) || e.Err == nil ||
			!strings.Contains(e.Err.Error(), "sqlstore: INSERT teams:") {
			t.Fatalf("a second team named Support: %v; want ECONFLICT with the driver's error as its cause", err)
		}
	})
}
