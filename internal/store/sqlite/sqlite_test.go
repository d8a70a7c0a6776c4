package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/store/sqlite"
)

// TestBackgroundCheckpoints: the writer leaves checkpoints to a background
// connection, which still copies committed pages from the WAL into the
// database file while the store is open; else the WAL would grow forever.
func TestBackgroundCheckpoints(t *testing.T) {
	path := filepath.Join(t.TempDir(), "muster.db")
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	size := func() int64 {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := size()
	for i := range 300 {
		err := db.Update(ctx, func(tx muster.Tx) error {
			return tx.CreateOrg(ctx, &muster.Org{Name: fmt.Sprintf("Org %d with a longer name", i), Region: "us",
				LicenseTotal: 5, CreatedAt: time.Now()})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(10 * time.Second); size() <= before; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the database file stayed at %d bytes: nothing was checkpointed", before)
		}
	}
}
