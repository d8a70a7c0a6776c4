package store_test

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/muster-app/muster/internal/store/postgres"
	"github.com/muster-app/muster/internal/store/sqlite"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestImportPlansMoveToParts checks migration 00020 on a database holding
// imports: each plan stored whole becomes its import's part 0, and going
// back down joins a plan's parts, in order, into the column again.
func TestImportPlansMoveToParts(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			db, provider := migratedTo(t, dialect, 19)
			var orgID, importID int64
			if err := db.QueryRowContext(ctx, `INSERT INTO orgs (name, region, license_total, created_at)
				VALUES ('Acme', 'eu', 10, 1) RETURNING id`).Scan(&orgID); err != nil {
				t.Fatal(err)
			}
			plan := make([]byte, 3000) // not text: every byte value, NUL included
			for i := range plan {
				plan[i] = byte(i * 7)
			}
			if err := db.QueryRowContext(ctx, `INSERT INTO imports (org_id, status, summary, plan, created_at)
				VALUES ($1, 'planned', '{}', $2, 1) RETURNING id`, orgID, plan).Scan(&importID); err != nil {
				t.Fatal(err)
			}

			if _, err := provider.UpTo(ctx, 20); err != nil {
				t.Fatal(err)
			}
			var part0 []byte
			if err := db.QueryRowContext(ctx, `SELECT data FROM import_plan_parts WHERE import_id = $1 AND part = 0`,
				importID).Scan(&part0); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(part0, plan) {
				t.Fatalf("part 0 holds %d bytes, not the plan's %d", len(part0), len(plan))
			}

			// A plan stored in two parts since goes back into the column whole.
			if _, err := db.ExecContext(ctx, `UPDATE import_plan_parts SET data = $2 WHERE import_id = $1 AND part = 0`,
				importID, plan[:1000]); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO import_plan_parts (import_id, part, data) VALUES ($1, 1, $2)`,
				importID, plan[1000:]); err != nil {
				t.Fatal(err)
			}
			if _, err := provider.DownTo(ctx, 19); err != nil {
				t.Fatal(err)
			}
			var whole []byte
			if err := db.QueryRowContext(ctx, `SELECT plan FROM imports WHERE id = $1`, importID).Scan(&whole); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(whole, plan) {
				t.Fatalf("after the down migration the plan is %d bytes, not the %d stored in parts", len(whole), len(plan))
			}
		})
	}
}

// migrationProvider opens an empty database of dialect, closed when the
// test ends, and the migrations' provider on it, for a test to migrate it
// step by step.
// migratedTo opens a new database of dialect, migrated up to version, and
// the provider that migrates it further.
func migratedTo(t *testing.T, dialect string, version int64) (*sql.DB, *goose.Provider) {
	t.Helper()
	db, provider := migrationProvider(t, dialect)
	if _, err := provider.UpTo(context.Background(), version); err != nil {
		t.Fatal(err)
	}
	return db, provider
}

func migrationProvider(t *testing.T, dialect string) (*sql.DB, *goose.Provider) {
	t.Helper()
	var d sqlstore.Dialect
	var db *sql.DB
	var err error
	if dialect == "postgres" {
		d = postgres.Dialect()
		db, err = sql.Open("pgx", storetest.PostgresSchema(t))
	} else {
		d = sqlite.Dialect()
		db, err = sql.Open("sqlite", filepath.Join(t.TempDir(), "muster.db"))
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	provider, err := goose.NewProvider(d.Goose, db, d.Migrations)
	if err != nil {
		t.Fatal(err)
	}
	return db, provider
}
