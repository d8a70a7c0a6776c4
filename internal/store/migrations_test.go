package store_test

import (
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/muster-app/muster/internal/store/postgres"
	"github.com/muster-app/muster/internal/store/sqlite"
)

// migrationName is how a migration file is named: a five-digit version and
// a name, the same in both dialects.
var migrationName = regexp.MustCompile(`^(\d{5})_([a-z0-9_]+)\.sql$`)

// TestMigrationsMatch checks that SQLite and PostgreSQL get the same
// migrations: the same files, versions counting up from 1 without gaps, each
// with an Up and a Down section. A migration written for one dialect only
// would leave the other's schema behind.
func TestMigrationsMatch(t *testing.T) {
	dirs := map[string]fs.FS{
		"sqlite/migrations":   os.DirFS("sqlite/migrations"),
		"postgres/migrations": os.DirFS("postgres/migrations"),
		"sqlite (embedded)":   sqlite.Dialect().Migrations,
		"postgres (embedded)": postgres.Dialect().Migrations,
	}
	names := map[string][]string{}
	for dir, fsys := range dirs {
		entries, err := fs.ReadDir(fsys, ".")
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
				continue
			}
			names[dir] = append(names[dir], e.Name())
			m := migrationName.FindStringSubmatch(e.Name())
			if m == nil {
				t.Errorf("%s/%s: not named NNNNN_name.sql", dir, e.Name())
				continue
			}
			b, err := fs.ReadFile(fsys, e.Name())
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), "-- +goose Up") || !strings.Contains(string(b), "-- +goose Down") {
				t.Errorf("%s/%s: want both a -- +goose Up and a -- +goose Down section", dir, e.Name())
			}
		}
		slices.Sort(names[dir])
		if len(names[dir]) == 0 {
			t.Fatalf("%s holds no migrations", dir)
		}
		for i, name := range names[dir] {
			if v, err := strconv.Atoi(name[:min(5, len(name))]); err != nil || v != i+1 {
				t.Errorf("%s: migration %d is %s; want version %05d (no gaps, no repeats)", dir, i+1, name, i+1)
			}
		}
	}
	want := names["sqlite/migrations"]
	for dir, got := range names {
		if !slices.Equal(got, want) {
			t.Errorf("%s holds %v; sqlite/migrations holds %v", dir, got, want)
		}
	}
}
