package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/store/sqlite"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

func openSQLite(t *testing.T) *sqlstore.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "muster.db"))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// TestPreparedStatements: on SQLite, a query the store has run is soon
// prepared, and the prepared statement gives the same answers.
func TestPreparedStatements(t *testing.T) {
	db := openSQLite(t)
	defer db.Close()
	ctx := context.Background()
	org := &muster.Org{Name: "Acme", Region: "us", LicenseTotal: 5, CreatedAt: time.Now()}
	if err := db.Update(ctx, func(tx muster.Tx) error { return tx.CreateOrg(ctx, org) }); err != nil {
		t.Fatal(err)
	}
	before := sqlstore.PreparedStatements(db)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got *muster.Org
		err := db.View(ctx, func(tx muster.Tx) (err error) {
			got, err = tx.FindOrg(ctx, org.ID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Acme" || got.LicenseTotal != 5 {
			t.Fatalf("read %+v; want the org written", got)
		}
		if sqlstore.PreparedStatements(db) > before {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the org query was never prepared")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestInList: lists of ids are padded to a power of two with the first id,
// so that a page of any length runs one of a few prepared queries.
func TestInList(t *testing.T) {
	for _, c := range []struct {
		ids  []any
		list string
		args []any
	}{
		{[]any{int64(7)}, "$1", []any{int64(7)}},
		{[]any{int64(7), int64(8), int64(9)}, "$1, $2, $3, $4", []any{int64(7), int64(8), int64(9), int64(7)}},
		{[]any{int64(1), int64(2), int64(3), int64(4)}, "$1, $2, $3, $4", []any{int64(1), int64(2), int64(3), int64(4)}},
	} {
		list, args := sqlstore.InList(c.ids)
		if list != c.list || len(args) != len(c.args) {
			t.Fatalf("InList(%v) = %q, %v; want %q, %v", c.ids, list, args, c.list, c.args)
		}
		for i := range args {
			if args[i] != c.args[i] {
				t.Fatalf("InList(%v) args %v; want %v", c.ids, args, c.args)
			}
		}
	}
}

// TestReadOutsideTransaction: Read runs a lone statement on the pool, on
// both stores, prepared or not, and sees what was committed before it.
func TestReadOutsideTransaction(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		org := &muster.Org{Name: "Acme", Region: "us", LicenseTotal: 5, CreatedAt: time.Now()}
		if err := db.Update(ctx, func(tx muster.Tx) error { return tx.CreateOrg(ctx, org) }); err != nil {
			t.Fatal(err)
		}
		// Enough rounds for SQLite to prepare the query in the background,
		// so that later rounds run the pool's prepared statement.
		for total := 6; total < 60; total++ {
			if err := db.Update(ctx, func(tx muster.Tx) error {
				_, err := tx.SetLicenseTotal(ctx, org.ID, total)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			var got *muster.Org
			if err := db.Read(ctx, func(tx muster.Tx) (err error) {
				got, err = tx.FindOrg(ctx, org.ID)
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if got.LicenseTotal != total {
				t.Fatalf("Read gave license total %d; want %d, just committed", got.LicenseTotal, total)
			}
			time.Sleep(2 * time.Millisecond)
		}
		err := db.Read(ctx, func(tx muster.Tx) error {
			_, err := tx.FindOrg(ctx, org.ID+1000)
			return err
		})
		if muster.ErrorCode(err) != muster.ENOTFOUND {
			t.Fatalf("Read of a missing org: %v; want %s", err, muster.ENOTFOUND)
		}
	})
}

// TestPageCaches: on SQLite the read connections share a large page cache;
// exports and downloads (ViewBulk) read on connections with SQLite's
// default, so that reading a whole org once neither evicts the pages every
// request reads nor holds the budget in memory.
func TestPageCaches(t *testing.T) {
	db := openSQLite(t)
	defer db.Close()
	read, bulk, err := sqlstore.PragmaOnPools(db, "cache_size")
	if err != nil {
		t.Fatal(err)
	}
	// Negative sizes are KiB.
	if bulk != -2000 {
		t.Errorf("bulk connections' cache_size = %d; want SQLite's default, -2000", bulk)
	}
	if read > -8*1024 {
		t.Errorf("read connections' cache_size = %d; want at least 8 MiB (-8192)", read)
	}
}

// TestMigrationsSortOnDisk: on SQLite the migrations run on a connection
// with SQLite's default temporary store, files, not the writer's, memory:
// a migration that builds an index over a large table sorts it in
// temporary files rather than in the process's memory (466 MiB of RSS for
// migration 00026 at 1,000,000 users, 33 MiB on its own connection).
func TestMigrationsSortOnDisk(t *testing.T) {
	db := openSQLite(t)
	defer db.Close()
	migrate, write, err := sqlstore.PragmaOnMigrations(db, "temp_store")
	if err != nil {
		t.Fatal(err)
	}
	// 0 is the build's default (files here), 1 files, 2 memory.
	if migrate == 2 {
		t.Errorf("the migrations' connection has temp_store = %d; want files (0 or 1)", migrate)
	}
	if write != 2 {
		t.Errorf("the writer's temp_store = %d; want memory (2), for its savepoints' journals", write)
	}
}
