// Package postgres opens Muster's store on PostgreSQL, which several Muster
// instances can share.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"runtime"
	"strings"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/pressly/goose/v3"

	"github.com/muster-app/muster/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialect describes PostgreSQL to the shared store.
func Dialect() sqlstore.Dialect {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err)
	}
	return sqlstore.Dialect{
		Goose:              goose.DialectPostgres,
		Migrations:         sub,
		MigrationLock:      migrationLock{},
		IsUniqueViolation:  isUniqueViolation,
		IsTransient:        isTransient,
		LockRow:            " FOR UPDATE",
		LockRowNoKey:       " FOR NO KEY UPDATE",
		ShareRow:           " FOR KEY SHARE",
		SkipLocked:         " FOR UPDATE SKIP LOCKED",
		LockOrgs:           "LOCK TABLE orgs IN SHARE ROW EXCLUSIVE MODE", // a first run waits for another's commit
		ViewIsolation:      sql.LevelRepeatableRead,
		OrgInIDOrder:       "u.org_id",
		InStrings:          inStrings,
		JSONRows:           jsonRows,
		AnalyzeStale:       analyzeStale,
		OneStatementWrites: true,
		CommitWith:         commitAfter{},
		WriteFirst:         func(query string, args []any) any { return writeFirst{query, args} },
		// Prepared statements keep PostgreSQL's default, plan_cache_mode
		// auto: planning a list page cost as much as running it, and a
		// statement run with its generic plan saves that. The queries
		// whose best plan depends on their values (a team's or search's
		// matches, an org's share of the users: a generic plan of a team's
		// page was 20x slower) are planned at every run instead.
		PlanEachRun: []any{pgx.QueryExecModeExec},
	}
}

// inStrings takes a list as a text[] parameter: = ANY($1).
func inStrings(param string, list []string) (string, any) {
	return "= ANY(" + param + ")", list
}

// jsonRows reads each array's values with ->>, as text, cast to its type.
func jsonRows(param string, types ...string) string {
	var b strings.Builder
	b.WriteString("(SELECT ")
	for i, typ := range types {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "(j ->> %d)::%s AS c%d", i, typ, i)
	}
	b.WriteString(" FROM json_array_elements(" + param + "::json) j)")
	return b.String()
}

// migrationLock is a session-level advisory lock of the schema, which
// instances migrating it at once take in turn: the later ones find it
// migrated. Each schema has its own, so databases with several (the tests')
// migrate in parallel.
type migrationLock struct{}

const migrationLockKey = `hashtextextended('muster migrations ' || current_schema(), 0)`

func (migrationLock) SessionLock(ctx context.Context, conn *sql.Conn) error {
	_, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(`+migrationLockKey+`)`)
	return err
}

func (migrationLock) SessionUnlock(ctx context.Context, conn *sql.Conn) error {
	_, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock(`+migrationLockKey+`)`)
	return err
}

func isUniqueViolation(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505"
}

// isTransient reports whether err is a deadlock (40P01) or a serialization
// failure (40001): PostgreSQL ended one transaction so that another could
// go on, and the same transaction run again would succeed.
func isTransient(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && (e.Code == "40P01" || e.Code == "40001")
}

// Open connects a pgx pool to the database at url (a postgres:// URL; its
// search_path parameter selects a schema) and migrates it.
func Open(ctx context.Context, url string) (*sqlstore.DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	// A request holds a connection for its statements and the waits
	// between them (the server's own work, the network), so pgxpool's
	// default of one per core (at least 4) leaves requests queueing for a
	// connection while PostgreSQL idles: at C = 8 on 2 cores, 8 and 16
	// connections ran reads 1.6–2.3× and invitations 1.7–3× as fast as 4
	// (docs/scaling.md). Connections open only when needed;
	// pool_max_conns in the URL overrides the size.
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = int32(max(8, 4*runtime.GOMAXPROCS(0)))
	}
	roundTrips := new(atomic.Int64)
	cfg.ConnConfig.Tracer = roundTripCounter{roundTrips}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	sqlDB := OpenDB(pool)
	db := sqlstore.New(sqlstore.Pools{Write: sqlDB, Read: sqlDB, RoundTrips: roundTrips}, Dialect(), pool.Close)
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	// Statistics from the start: a database loaded while no server ran
	// (a restore, an import) may have none.
	if _, err := db.AnalyzeStale(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// roundTripCounter counts the round trips pgx makes to run statements:
// one a statement (COMMIT included), or a batch (a BEGIN with its
// transaction's first statement, see conn).
type roundTripCounter struct{ n *atomic.Int64 }

func (c roundTripCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (roundTripCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c roundTripCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.n.Add(1)
	return ctx
}

func (roundTripCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (roundTripCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// analyzeStale analyses the tables of the schema whose rows changed by more
// than a tenth (and 500 rows) since they were last analysed, or that hold
// rows and never were: autovacuum's rule, kept by Muster itself for
// databases where autovacuum is off.
func analyzeStale(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT relname FROM pg_stat_user_tables
		WHERE schemaname = current_schema()
		AND (n_mod_since_analyze > 500 + n_live_tup / 10
			OR (last_analyze IS NULL AND last_autoanalyze IS NULL AND n_live_tup > 0))
		ORDER BY relname`)
	if err != nil {
		return nil, fmt.Errorf("postgres: finding stale statistics: %w", err)
	}
	var tables []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return nil, err
		}
		tables = append(tables, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, name := range tables {
		if _, err := db.ExecContext(ctx, `ANALYZE `+pgx.Identifier{name}.Sanitize()); err != nil {
			return nil, fmt.Errorf("postgres: analysing %s: %w", name, err)
		}
	}
	return tables, nil
}
