package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/store/sqlite"
	"github.com/muster-app/muster/internal/store/sqlstore"
)

// openFile opens a store in a new file, closed when the test ends, and
// returns it with the file's path.
func openFile(t *testing.T) (*sqlstore.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "muster.db")
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

// TestBackgroundCheckpoints: the writer leaves checkpoints to a background
// connection, which still copies committed pages from the WAL into the
// database file while the store is open; else the WAL would grow forever.
func TestBackgroundCheckpoints(t *testing.T) {
	ctx := context.Background()
	db, path := openFile(t)
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

// TestWALStaysBounded: under a steady stream of writes, with readers
// beside them, the WAL file stays near walRestartPages instead of growing
// with every write.
func TestWALStaysBounded(t *testing.T) {
	const limitPages = 256 // 1 MiB
	defer sqlite.SetWALRestartPages(limitPages)()
	ctx := context.Background()
	db, path := openFile(t)

	var largest atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // watch the WAL's size
		for {
			if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > largest.Load() {
				largest.Store(fi.Size())
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	})
	for range 2 { // readers, each reading every millisecond, as requests come
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond):
				}
				if err := db.View(ctx, func(tx muster.Tx) error { _, err := tx.CountOrgs(ctx); return err }); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	// Writers: 16,000 commits, some 30 MiB of WAL frames in all.
	name := strings.Repeat("A long organization name ", 3)
	var writers sync.WaitGroup
	for w := range 8 {
		writers.Go(func() {
			for i := range 2000 {
				err := db.Update(ctx, func(tx muster.Tx) error {
					return tx.CreateOrg(ctx, &muster.Org{Name: fmt.Sprintf("%s%d-%d", name, w, i), Region: "us",
						LicenseTotal: 5, CreatedAt: time.Now()})
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	writers.Wait()
	close(stop)
	wg.Wait()
	// Some slack over the limit: frames of the commits that run while a
	// checkpoint is under way are added before the WAL starts over.
	got, limit := largest.Load(), int64(limitPages)*4096
	if got > 8*limit {
		t.Fatalf("the WAL grew to %d bytes; want it near %d", got, limit)
	}
	t.Logf("the WAL reached %d bytes (limit %d)", got, limit)
}
