// Package sqlite opens Muster's store on an embedded SQLite file.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/muster-app/muster/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialect describes SQLite to the shared store.
func Dialect() sqlstore.Dialect {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		panic(err)
	}
	return sqlstore.Dialect{
		Goose:             goose.DialectSQLite3,
		Migrations:        sub,
		IsUniqueViolation: isUniqueViolation,
		OrgInIDOrder:      "+u.org_id",
		IndexedBy:         true,
		PrepareStatements: true,
		GroupCommit:       true,
		OrdinalParams:     true,
		InStrings:         inStrings,
	}
}

// inStrings takes a list as a JSON array, which json_each reads as a table.
func inStrings(param string, list []string) (string, any) {
	array, _ := json.Marshal(list) // strings always marshal
	return "IN (SELECT value FROM json_each(" + param + "))", string(array)
}

func isUniqueViolation(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) &&
		(e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

// Open opens (creating if needed) the SQLite database at path and migrates it.
//
// Writes go through a pool of one connection that begins IMMEDIATE
// transactions: SQLite has one writer at a time anyway, and queueing in Go is
// faster than contending for the file lock. Reads use their own pool, which
// WAL lets run beside the writer.
func Open(ctx context.Context, path string) (*sqlstore.DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
	}
	pragmas := url.Values{}
	for _, p := range []string{"journal_mode(WAL)", "busy_timeout(10000)", "foreign_keys(1)", "synchronous(NORMAL)"} {
		pragmas.Add("_pragma", p)
	}
	dsn := func(extra url.Values) string {
		q := url.Values{}
		for k, v := range pragmas {
			q[k] = append(q[k], v...)
		}
		for k, v := range extra {
			q[k] = append(q[k], v...)
		}
		return "file:" + path + "?" + q.Encode()
	}
	// open opens a pool with extra settings; should it fail, it closes the
	// pools opened before.
	var opened []*sql.DB
	open := func(extra url.Values) (*sql.DB, error) {
		pool, err := sql.Open("sqlite", dsn(extra))
		if err != nil {
			for _, p := range opened {
				p.Close()
			}
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		opened = append(opened, pool)
		return pool, nil
	}
	// A connection of its own checkpoints the WAL in the background (see
	// startCheckpoints); the writer does only past walRestartPages.
	// The writer keeps its savepoints' journals (every grouped write is a
	// savepoint, see sqlstore.Dialect.GroupCommit) in memory rather than in
	// a temporary file, and a cache that holds what a group of an import's
	// batches changes: with SQLite's 2 MiB it wrote pages to the WAL
	// before the commit, and again at it.
	write, err := open(url.Values{"_txlock": {"immediate"},
		"_pragma": {fmt.Sprintf("wal_autocheckpoint(%d)", walRestartPages), "temp_store(MEMORY)",
			fmt.Sprintf("cache_size(-%d)", writeCacheBudget/1024)}})
	if err != nil {
		return nil, err
	}
	write.SetMaxOpenConns(1)
	// Reads are CPU-bound in SQLite: more connections than cores would
	// only split readCacheBudget into smaller caches, each holding its own
	// copy of the same hot pages.
	readers := max(2, runtime.GOMAXPROCS(0))
	cacheKiB := readCacheBudget / 1024 / readers / pageSlotRatio
	read, err := open(url.Values{"_pragma": {"query_only(1)", fmt.Sprintf("cache_size(-%d)", cacheKiB)}})
	if err != nil {
		return nil, err
	}
	read.SetMaxOpenConns(readers)
	read.SetMaxIdleConns(readers)
	// Exports and report downloads read a whole org once; with the readers'
	// caches they would push out the pages every request reads (and hold
	// the whole budget in memory while they run). They get connections with
	// SQLite's default cache instead.
	bulk, err := open(url.Values{"_pragma": {"query_only(1)"}})
	if err != nil {
		return nil, err
	}
	bulk.SetMaxOpenConns(readers)
	checkpointer, err := open(nil)
	if err != nil {
		return nil, err
	}
	checkpointer.SetMaxOpenConns(1)
	// Migrations run on a connection of their own, with SQLite's default
	// temporary store, files: in the writer's, memory, building an index
	// over a large table sorted all of it in memory (466 MiB of RSS for
	// migration 00026 at 1,000,000 users, 33 MiB on this connection). It
	// closes when they are done.
	migrate, err := open(url.Values{"_txlock": {"immediate"}})
	if err != nil {
		return nil, err
	}
	migrate.SetMaxOpenConns(1)
	migrate.SetMaxIdleConns(0)
	stop := startCheckpoints(checkpointer)

	db := sqlstore.New(sqlstore.Pools{Write: write, Read: read, Bulk: bulk, Migrate: migrate}, Dialect(), stop)
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// readCacheBudget is the memory the read connections' page caches share.
// SQLite's default, 2 MiB a connection, held too little of a 100,000-user
// org for searches, whose pages are spread over the table: a fifth of a
// search's time went to reading pages back from the file (see
// docs/benchmarks.md).
const readCacheBudget = 48 << 20

// pageSlotRatio is the memory a page in the cache takes over its size: the
// driver's allocator (modernc.org/memory) rounds each allocation up to a
// power of two, so a 4 KiB page with SQLite's header of a few hundred bytes
// takes 8 KiB. cache_size counts the pages' own size.
const pageSlotRatio = 2

// writeCacheBudget is the writer's page cache, in pages' own size (its
// memory is pageSlotRatio times as much).
const writeCacheBudget = 16 << 20

// checkpointEvery is how often the WAL is copied back into the database
// file. SQLite's own default, after every 1,000 pages written, is a few
// hundred milliseconds at full write speed.
const checkpointEvery = 200 * time.Millisecond

// walRestartPages is how large the WAL may grow, in pages, before the
// writer checkpoints it itself after a commit. The background checkpoints
// copy the WAL into the database but cannot start it over: only a write
// that begins when all of it has been copied does, and under a steady
// stream of writes that moment never comes (the WAL reached 1.5 GB after
// 20,000 invitations). The writer's own checkpoint, right after its commit,
// leaves nothing uncopied for its next write, which starts the WAL over.
// Below this size the writer leaves checkpoints to the background: after
// every 1,000 pages, SQLite's default, they took a tenth of an
// invitation's time. (Readers whose transactions always overlap would still
// keep the WAL from starting over, as with any SQLite; requests leave gaps.)
// A variable so that tests can lower it.
var walRestartPages = 16384 // 64 MiB of 4 KiB pages

// startCheckpoints checkpoints the WAL on db every checkpointEvery until the
// returned function is called, which then closes db. A PASSIVE checkpoint
// waits for nobody: it copies what no reader still needs.
func startCheckpoints(db *sql.DB) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(checkpointEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				// A failed checkpoint is tried again at the next tick; the
				// WAL only grows meanwhile.
				db.ExecContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`) //nolint:errcheck
			}
		}
	}()
	return func() {
		cancel()
		<-done
		db.Close()
	}
}
