package sqlstore_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestImportPlanParts checks that a plan larger than a part (a 100,000-row
// file's is about 4.7 MB) is stored in parts that read back, in order, as
// the plan, with nothing past the last.
func TestImportPlanParts(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
		plan := make([]byte, 600<<10)
		for i := range plan {
			plan[i] = byte(i * 7) // every byte value, NUL included
		}
		imp := &muster.Import{Status: muster.ImportPlanned, Summary: "{}", Plan: plan, CreatedAt: now}
		err := db.Update(ctx, func(tx muster.Tx) error {
			org := &muster.Org{Name: "Acme", Region: "us", LicenseTotal: 5, CreatedAt: now}
			if err := tx.CreateOrg(ctx, org); err != nil {
				return err
			}
			imp.OrgID = org.ID
			return tx.CreateImport(ctx, imp)
		})
		if err != nil {
			t.Fatal(err)
		}
		var read bytes.Buffer
		parts := 0
		err = db.ViewBulk(ctx, func(tx muster.Tx) error {
			for {
				part, err := tx.FindImportPlanPart(ctx, imp.ID, parts)
				if err != nil || part == nil {
					return err
				}
				if len(part) > 256<<10 {
					t.Errorf("part %d holds %d bytes", parts, len(part))
				}
				read.Write(part)
				parts++
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if parts != 3 || !bytes.Equal(read.Bytes(), plan) {
			t.Fatalf("read %d bytes in %d parts; want the plan's %d bytes in 3", read.Len(), parts, len(plan))
		}
	})
}
