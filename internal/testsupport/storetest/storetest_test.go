package storetest_test

import (
	"context"
	"io/fs"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/store/postgres"
	"github.com/muster-app/muster/internal/store/sqlite"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestOpenIsFreshAndMigrated: stores copied from the template are at the
// newest migration and share nothing: an org written in one is not in the
// other.
func TestOpenIsFreshAndMigrated(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		dialect    string
		migrations fs.FS
	}{{"sqlite", sqlite.Dialect().Migrations}, {"postgres", postgres.Dialect().Migrations}} {
		t.Run(c.dialect, func(t *testing.T) {
			files, err := fs.Glob(c.migrations, "*.sql")
			if err != nil {
				t.Fatal(err)
			}
			first, second := storetest.Open(t, c.dialect), storetest.Open(t, c.dialect)
			for _, db := range []*sqlstore.DB{first, second} {
				if v, err := db.Version(ctx); err != nil || v != int64(len(files)) {
					t.Fatalf("a new store is at version %d (%v); want %d, the newest migration", v, err, len(files))
				}
			}
			org := &muster.Org{Name: "Acme", Region: "eu", LicenseTotal: 5, CreatedAt: time.Now()}
			if err := first.Update(ctx, func(tx muster.Tx) error { return tx.CreateOrg(ctx, org) }); err != nil {
				t.Fatal(err)
			}
			err = second.View(ctx, func(tx muster.Tx) error {
				_, err := tx.FindOrg(ctx, org.ID)
				return err
			})
			if muster.ErrorCode(err) != muster.ENOTFOUND {
				t.Fatalf("the other store finds the org written in the first (%v); want not found", err)
			}
		})
	}
}
