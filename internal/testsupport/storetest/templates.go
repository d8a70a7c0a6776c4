package storetest

// Templates: a fresh store is a copy of one migrated once, not a migration
// of its own. Migrating took about a second a store under -race (SQLite's
// engine is Go code the race detector instruments; PostgreSQL's twenty-odd
// migrations are as many round trips of DDL), and most tests open two, so
// it was most of the service package's time. A copy is a file copy on
// SQLite and CREATE DATABASE … TEMPLATE on PostgreSQL.
//
// A template is named by a digest of its dialect's migrations, built once
// per machine and kept (in the user's cache directory; as a database
// muster_template_<digest>): every test process, package and run with the
// same migrations reuses it, and a changed migration makes a new one. What
// the open functions set on every open (SQLite's journal mode, pragmas)
// they set on the copy too; a setting fixed when a file or database is
// created would need its own part in the digest. Migrations from an empty
// schema stay tested where it matters: every test that needs an empty
// schema (PostgresSchema, the commands', the built binary's) migrates its
// own, and building a template runs them all.

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/muster-app/muster/internal/store/postgres"
	"github.com/muster-app/muster/internal/store/sqlite"
)

// migrationsDigest names a set of migrations: a digest of their file names
// and contents.
func migrationsDigest(migrations fs.FS) (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %d\n", path, len(b))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:16], err
}

// templates are this process's templates, built or found once.
var templates struct {
	sqlite, postgres struct {
		once sync.Once
		name string // a file's path; a database's name, "" when the role may not create databases
		err  error
	}
}

// sqliteTemplate returns the path of a migrated SQLite file to copy.
func sqliteTemplate(tb testing.TB) string {
	tb.Helper()
	t := &templates.sqlite
	t.once.Do(func() { t.name, t.err = buildSQLiteTemplate() })
	if t.err != nil {
		tb.Fatalf("storetest: the SQLite template: %v", t.err)
	}
	return t.name
}

func buildSQLiteTemplate() (string, error) {
	digest, err := migrationsDigest(sqlite.Dialect().Migrations)
	if err != nil {
		return "", err
	}
	// The user's own directory: a shared one could hold another user's file
	// under the template's name.
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "muster-test-templates")
	path := filepath.Join(dir, "sqlite-"+digest+".db")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	// Built beside it and renamed into place, so that a process finds
	// either nothing or a whole template; processes building at once
	// rename equivalent files (the last one stays).
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	build, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(build)
	built := filepath.Join(build, "muster.db")
	db, err := sqlite.Open(context.Background(), built)
	if err != nil {
		return "", err
	}
	if err := db.Close(); err != nil {
		return "", err
	}
	// Closing the last connection checkpoints the write-ahead log into the
	// file and removes it; a log left behind would hold part of the schema.
	if _, err := os.Stat(built + "-wal"); !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s-wal is still there after closing (%v)", built, err)
	}
	return path, os.Rename(built, path)
}

// copyFile copies the file at from to a new file at to.
func copyFile(tb testing.TB, from, to string) {
	tb.Helper()
	src, err := os.Open(from)
	if err != nil {
		tb.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		tb.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		tb.Fatal(err)
	}
}

// postgresTemplate returns the name of a migrated database to copy, or ""
// when the role of base may not create databases.
func postgresTemplate(tb testing.TB, admin *sql.DB, base string) string {
	tb.Helper()
	t := &templates.postgres
	t.once.Do(func() { t.name, t.err = buildPostgresTemplate(admin, base) })
	if t.err != nil {
		tb.Fatalf("storetest: the PostgreSQL template: %v", t.err)
	}
	return t.name
}

// templateLockKey is the advisory lock of building the PostgreSQL template.
const templateLockKey = `hashtextextended('muster test template', 0)`

func buildPostgresTemplate(admin *sql.DB, base string) (string, error) {
	digest, err := migrationsDigest(postgres.Dialect().Migrations)
	if err != nil {
		return "", err
	}
	name := "muster_template_" + digest
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// One process at a time looks for the template and builds it: the
	// others wait on this session lock and then find it.
	conn, err := admin.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(`+templateLockKey+`)`); err != nil {
		return "", err
	}
	// An unlock fails only with its session, which takes the lock along.
	defer conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(`+templateLockKey+`)`) //nolint:errcheck
	var found bool
	if err := conn.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&found); err != nil {
		return "", err
	}
	if found {
		return name, nil
	}
	// Built under another name and renamed, so that a process stopped
	// half-way leaves no template that looks whole.
	build := name + "_build"
	if _, err := conn.ExecContext(ctx, `DROP DATABASE IF EXISTS `+build+` WITH (FORCE)`); err != nil {
		return "", err
	}
	if _, err := conn.ExecContext(ctx, `CREATE DATABASE `+build); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42501" { // insufficient_privilege
			return "", nil
		}
		return "", err
	}
	buildURL, err := databaseURL(base, build)
	if err != nil {
		return "", err
	}
	db, err := postgres.Open(ctx, buildURL)
	if err != nil {
		return "", err
	}
	if err := db.Close(); err != nil {
		return "", err
	}
	if _, err := conn.ExecContext(ctx, `ALTER DATABASE `+build+` RENAME TO `+name); err != nil {
		return "", err
	}
	return name, nil
}

// databaseURL is base with its database replaced by name.
func databaseURL(base, name string) (string, error) {
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("MUSTER_TEST_POSTGRES_URL: %w", err)
	}
	u.Path = "/" + name
	return u.String(), nil
}
