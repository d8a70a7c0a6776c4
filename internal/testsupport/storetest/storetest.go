// Package storetest opens real stores for tests: a SQLite file in a temporary
// directory and a fresh database (or schema) in the PostgreSQL at
// MUSTER_TEST_POSTGRES_URL.
//
// PostgreSQL tests skip when the server is unreachable, unless
// MUSTER_TEST_REQUIRE names "postgres" (or is "all"): then they fail, so that
// CI never passes without running them.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/store/postgres"
	"github.com/muster-app/muster/internal/store/sqlite"
	"github.com/muster-app/muster/internal/store/sqlstore"
)

// DefaultPostgresURL is used when MUSTER_TEST_POSTGRES_URL is unset.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// Required reports whether MUSTER_TEST_REQUIRE names dep ("postgres",
// "chromium") or is "all".
func Required(dep string) bool {
	for _, d := range strings.Split(os.Getenv("MUSTER_TEST_REQUIRE"), ",") {
		if d = strings.TrimSpace(d); d == "all" || d == dep {
			return true
		}
	}
	return false
}

// Dialects are the names of the stores Run runs a test against.
var Dialects = []string{"sqlite", "postgres"}

// Run runs fn as a subtest against each store, each freshly opened and
// migrated.
func Run(t *testing.T, fn func(t *testing.T, db *sqlstore.DB)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(d, func(t *testing.T) {
			fn(t, Open(t, d))
		})
	}
}

// RunParallel is Run with each subtest parallel to the others and to other
// parallel tests. A subtest opens its store once it may run, not while it
// waits for its turn: stores opened while waiting would pile up and hold
// PostgreSQL connections by the hundred.
func RunParallel(t *testing.T, fn func(t *testing.T, db *sqlstore.DB)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			fn(t, Open(t, d))
		})
	}
}

// Open opens a fresh store of the dialect, closed when the test ends.
func Open(tb testing.TB, dialect string) *sqlstore.DB {
	tb.Helper()
	switch dialect {
	case "sqlite":
		return OpenSQLite(tb)
	case "postgres":
		return OpenPostgres(tb)
	}
	tb.Fatalf("storetest: unknown dialect %q", dialect)
	return nil
}

// OpenSQLite opens a store on a new SQLite file, a copy of a migrated
// template (templates.go).
func OpenSQLite(tb testing.TB) *sqlstore.DB {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "muster.db")
	copyFile(tb, sqliteTemplate(tb), path)
	return OpenSQLiteAt(tb, path)
}

// OpenSQLiteAt opens a store on the SQLite file at path, created if need
// be, closed when the test ends: each call is one more Muster instance on
// the same file.
func OpenSQLiteAt(tb testing.TB, path string) *sqlstore.DB {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// OpenPostgres opens a store on a new database, a copy of a migrated
// template (templates.go), dropped when the test ends; on a new schema
// that it migrates when the role may not create databases.
func OpenPostgres(tb testing.TB) *sqlstore.DB {
	tb.Helper()
	admin, base := postgresAdmin(tb)
	template := postgresTemplate(tb, admin, base)
	if template == "" {
		return OpenPostgresAt(tb, PostgresSchema(tb))
	}
	name := "muster_test_" + randomHex(6)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name+` TEMPLATE `+template); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if _, err := admin.Exec(`DROP DATABASE ` + name + ` WITH (FORCE)`); err != nil {
			tb.Errorf("dropping the test database %s: %v", name, err)
		}
	})
	dbURL, err := databaseURL(base, name)
	if err != nil {
		tb.Fatal(err)
	}
	return OpenPostgresAt(tb, dbURL)
}

// OpenPostgresAt opens a store on the PostgreSQL schema url selects (see
// PostgresSchema), closed when the test ends: each call is one more Muster
// instance, with its own pool, sharing the database.
func OpenPostgresAt(tb testing.TB, url string) *sqlstore.DB {
	tb.Helper()
	db, err := postgres.Open(context.Background(), url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// OpenSQL opens a database/sql pool on the PostgreSQL database or schema url
// selects, closed when the test ends: for what a test reads or does there
// beside a store (a lock from another connection, the server's views).
func OpenSQL(tb testing.TB, url string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// OpenPostgresSession opens a store on a fresh, migrated PostgreSQL schema
// whose pool holds a single connection, and returns that pool too: what a
// test asks of the pool's session (pg_prepared_statements, say) is what
// the store's statements left in it. (Migrating needs a second connection,
// for its lock, so another store migrates the schema first.)
func OpenPostgresSession(tb testing.TB) (*sqlstore.DB, *sql.DB) {
	tb.Helper()
	schema := PostgresSchema(tb)
	OpenPostgresAt(tb, schema)
	session := OneConnection(tb, schema)
	db := sqlstore.New(sqlstore.Pools{Write: session, Read: session}, postgres.Dialect())
	tb.Cleanup(func() { db.Close() })
	return db, session
}

// OneConnection opens database/sql as the store does (postgres.OpenDB) on
// the PostgreSQL schema url selects, through a single connection, closed
// when the test ends: every transaction runs on the connection the one
// before it left.
func OneConnection(tb testing.TB, url string) *sql.DB {
	tb.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		tb.Fatal(err)
	}
	db := postgres.OpenDB(pool)
	db.SetMaxOpenConns(1)
	tb.Cleanup(func() {
		db.Close()
		pool.Close()
	})
	return db
}

// PostgresSchema creates an empty schema and returns a URL that selects it,
// so that several stores (as several instances would) can share it.
func PostgresSchema(tb testing.TB) string {
	tb.Helper()
	admin, base := postgresAdmin(tb)
	schema := "muster_test_" + randomHex(6)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			tb.Errorf("dropping the test schema %s: %v", schema, err)
		}
	})
	return withSearchPath(tb, base, schema)
}

// postgresAdmin returns the process's pool on the database at
// MUSTER_TEST_POSTGRES_URL (or DefaultPostgresURL), which creates and drops
// the tests' databases and schemas, and that URL; it skips the test, or
// fails it when PostgreSQL is required, if the server does not answer. One
// pool for all tests, open until the process ends, keeps one idle
// connection rather than one per running test.
func postgresAdmin(tb testing.TB) (*sql.DB, string) {
	tb.Helper()
	adminPool.once.Do(func() {
		adminPool.url = os.Getenv("MUSTER_TEST_POSTGRES_URL")
		if adminPool.url == "" {
			adminPool.url = DefaultPostgresURL
		}
		adminPool.db, adminPool.err = sql.Open("pgx", adminPool.url)
		if adminPool.err == nil {
			adminPool.db.SetMaxIdleConns(1)
		}
	})
	if adminPool.err != nil {
		tb.Fatal(adminPool.err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := adminPool.db.PingContext(ctx); err != nil {
		if Required("postgres") {
			tb.Fatalf("storetest: PostgreSQL at %s is required (MUSTER_TEST_REQUIRE) but unreachable: %v", redact(adminPool.url), err)
		}
		tb.Skipf("storetest: PostgreSQL at %s unreachable, skipping: %v", redact(adminPool.url), err)
	}
	return adminPool.db, adminPool.url
}

// adminPool is postgresAdmin's pool.
var adminPool struct {
	once sync.Once
	db   *sql.DB
	url  string
	err  error
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func withSearchPath(tb testing.TB, base, schema string) string {
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// Outbox returns the org's queued and sent email, newest first (up to
// 1,000 messages).
func Outbox(tb testing.TB, db *sqlstore.DB, orgID int64) []*muster.OutboxMessage {
	tb.Helper()
	var msgs []*muster.OutboxMessage
	err := db.View(context.Background(), func(tx muster.Tx) error {
		var err error
		msgs, err = tx.FindOutboxMessages(context.Background(), muster.OutboxFilter{OrgID: orgID, Limit: 1000})
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return msgs
}
