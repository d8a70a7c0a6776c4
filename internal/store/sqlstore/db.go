// Package sqlstore implements muster.Store once, over database/sql, for every
// SQL dialect Muster supports. The queries use $N placeholders, which both
// PostgreSQL and SQLite accept; what differs between the dialects (opening,
// pragmas, pools, migrations, error codes) lives in the dialect packages.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/muster-app/muster/internal/muster"
)

// Dialect is what the shared store needs to know about a database engine.
type Dialect struct {
	// Goose names the dialect for migrations.
	Goose goose.Dialect
	// Migrations holds the dialect's NNNNN_name.sql files.
	Migrations fs.FS
	// MigrationLock, if not nil, is held while migrating, so that
	// instances started at once on one database migrate it one after
	// another (SQLite's migrations take its write lock anyway).
	MigrationLock lock.SessionLocker
	// IsUniqueViolation reports whether err is a broken unique constraint.
	IsUniqueViolation func(err error) bool
	// IsTransient, if not nil, reports whether err ended a transaction for
	// a reason that running it again need not meet: a deadlock between
	// transactions that lock the same rows in different orders, which no
	// single order can avoid for every path (see Update).
	IsTransient func(err error) bool
	// LockRow is appended to a SELECT that reads a row the transaction will
	// update (" FOR UPDATE" on PostgreSQL; SQLite writers are serialized).
	LockRow string
	// LockRowNoKey is LockRow for a row whose key columns the transaction
	// does not change (" FOR NO KEY UPDATE"): it does not hold off the
	// KEY SHARE locks that inserting rows which refer to it takes (a
	// webhook endpoint, to which every transaction that writes an event
	// adds deliveries).
	LockRowNoKey string
	// ShareRow is appended to a SELECT that reads a row the transaction
	// needs to exist until it commits but does not update (" FOR KEY
	// SHARE"): it holds off LockRow, deletes and updates of the row's keys,
	// but neither other ShareRows nor updates of its other columns (a
	// team's member counts, which the same transactions change).
	ShareRow string
	// LockOrgs, if not empty, is the statement that a read-write
	// transaction which counts the organizations runs first, so that two
	// first runs cannot both count none ("LOCK TABLE orgs …" on
	// PostgreSQL; SQLite writers are serialized).
	LockOrgs string
	// ViewIsolation is the isolation of read-only transactions: one
	// snapshot for the whole transaction (REPEATABLE READ on PostgreSQL;
	// a SQLite read transaction is one snapshot already).
	ViewIsolation sql.IsolationLevel
	// SkipLocked is appended to a SELECT … LIMIT that claims queue rows
	// (" FOR UPDATE SKIP LOCKED" on PostgreSQL).
	SkipLocked string
	// PrepareStatements makes the store keep each query prepared on every
	// connection. SQLite parses a query each time it runs unprepared; pgx
	// keeps its own per-connection statement cache, so PostgreSQL does not
	// need it.
	PrepareStatements bool
	// OrgInIDOrder is how a statement that reads an org's users by id
	// (ExportUsers' batches, FindUsersByID, SCIM's pages) names the org
	// column in its filter, so that the users are read by the primary key:
	// "+u.org_id" on SQLite, which keeps its planner off the org's indexes
	// (none is in id order); "u.org_id" on PostgreSQL, whose statistics
	// already lead it to the primary key (see ExportUsers).
	OrgInIDOrder string
	// IndexedBy makes usersThrough name the index a statement reads an
	// org's users through (SQLite's INDEXED BY). Without statistics SQLite
	// supposes that an org holds a few users, so a walk of the whole org
	// through users_org_sort, which holds every column a listing reads
	// (migrations 00026, 00027), looks cheaper to it than any index that would
	// need the table as well: a page of a status or role few users hold
	// would read every user of the org. PostgreSQL plans from statistics.
	IndexedBy bool
	// GroupCommit makes concurrent write transactions run one after
	// another as savepoints of one database transaction, committed once
	// (see groupCommit). For SQLite, whose single writer spends most of a
	// small write transaction on its commit.
	GroupCommit bool
	// PlanEachRun are arguments put before a query's own to have it planned
	// for its values every time it runs (PostgreSQL: pgx's
	// QueryExecModeExec, an unnamed statement). The store's other queries
	// run as prepared statements whose plan the database may keep, generic,
	// once it has planned them a few times; the queries whose best plan
	// depends on their values (how many users a team or search selects,
	// how large the org is) ask for this instead (see planForValues).
	PlanEachRun []any
	// OrdinalParams makes multi-row INSERTs (insertMany) number their
	// parameters with a plain ?, in order, rather than $N: SQLite looks
	// each $N parameter's name up in a list when it binds it, which costs
	// a statement of n parameters n²/2 steps.
	OrdinalParams bool
	// InStrings is how a query takes a list of strings as one parameter,
	// named param: the condition on a column that it is in the list, and
	// the parameter's value. One statement for a list of any length,
	// through the column's index, rather than an IN list of a parameter per
	// string (which SQLite binds in time quadratic in their number).
	InStrings func(param string, list []string) (cond string, arg any)
	// JSONRows, if set, is how a statement reads rows given as one
	// parameter, named param, a JSON array of arrays: a subquery whose
	// columns c0, c1, … are each array's values, of the types (PostgreSQL's
	// names); a JSON string holds a jsonb column's text. Many rows are
	// inserted so (insertRows, insertsAsJSON), a statement for any number of
	// them.
	JSONRows func(param string, types ...string) string
	// OneStatementWrites sends several writes as one statement
	// (PostgreSQL's data-modifying WITH, see execAll) and reads a row as it
	// was in the UPDATE that changes it (UPDATE … FROM … RETURNING of the
	// FROM's columns): round trips saved where each costs one. SQLite runs
	// in the process, where a statement costs none, and has neither.
	OneStatementWrites bool
	// CommitWith, if not nil, is an argument that, put first among a
	// write's, makes the connection commit the transaction with the write,
	// in its round trip (PostgreSQL's connections, see postgres.OpenDB):
	// the write a transaction sends last, just before its commit
	// (commitPending), takes it.
	CommitWith any
	// WriteFirst, if not nil, returns an argument that, put first among a
	// write's, makes the connection run the write query (with args) before
	// it, in the same round trip (PostgreSQL's connections): the writes
	// waiting for the next statement go so before a write that locks a
	// row others wait for (execAfterPending).
	WriteFirst func(query string, args []any) any
	// AnalyzeStale, if set, refreshes the planner's statistics of the
	// tables whose rows changed much since they were last taken, and
	// returns their names (see DB.AnalyzeStale).
	AnalyzeStale func(ctx context.Context, db *sql.DB) ([]string, error)
}

// DB is a muster.Store over database/sql pools.
type DB struct {
	write      *sql.DB
	read       *sql.DB
	bulk       *sql.DB
	migrate    *sql.DB
	writeStmts *stmtCache // nil unless the dialect prepares statements
	readStmts  *stmtCache
	bulkStmts  *stmtCache
	group      *groupCommit // nil unless the dialect groups commits
	dialect    Dialect
	closers    []func()
	roundTrips *atomic.Int64
	// reruns counts the write transactions run again after a transient
	// error (Update).
	reruns atomic.Int64
}

// Reruns returns how many write transactions the store has run again
// because the database ended them in a deadlock or a serialization
// failure: each cost its request about a second (PostgreSQL's
// deadlock_timeout).
func (db *DB) Reruns() int64 { return db.reruns.Load() }

// RoundTrips returns how many round trips to its database server the
// store has made to run statements (on PostgreSQL a transaction's BEGIN
// goes with its first statement); 0 on SQLite, which runs in the process.
func (db *DB) RoundTrips() int64 {
	if db.roundTrips == nil {
		return 0
	}
	return db.roundTrips.Load()
}

var _ muster.Store = (*DB)(nil)

// Pools are the connection pools a DB runs its transactions on; they may
// be one and the same.
type Pools struct {
	Write *sql.DB // read-write transactions
	Read  *sql.DB // read-only ones
	Bulk  *sql.DB // read-only ones that read much of the database (ViewBulk); Read if nil
	// Migrate runs the migrations; Write if nil.
	Migrate *sql.DB
	// RoundTrips, if not nil, counts the round trips to a database server
	// that run statements (PostgreSQL's COMMIT included): what a request
	// costs the database beyond its queries.
	RoundTrips *atomic.Int64
}

// New returns a store over pools. Close calls closers after closing the
// pools.
func New(pools Pools, dialect Dialect, closers ...func()) *DB {
	if pools.Bulk == nil {
		pools.Bulk = pools.Read
	}
	if pools.Migrate == nil {
		pools.Migrate = pools.Write
	}
	db := &DB{write: pools.Write, read: pools.Read, bulk: pools.Bulk, migrate: pools.Migrate, dialect: dialect,
		closers: closers, roundTrips: pools.RoundTrips}
	if dialect.PrepareStatements {
		db.writeStmts, db.readStmts = newStmtCache(db.write), newStmtCache(db.read)
		if db.bulk != db.read {
			db.bulkStmts = newStmtCache(db.bulk)
		} else {
			db.bulkStmts = db.readStmts
		}
	}
	if dialect.GroupCommit {
		db.group = startGroupCommit(db)
	}
	return db
}

// Migrate brings the schema up to the newest migration.
func (db *DB) Migrate(ctx context.Context) error {
	var opts []goose.ProviderOption
	if db.dialect.MigrationLock != nil {
		opts = append(opts, goose.WithSessionLocker(db.dialect.MigrationLock))
	}
	provider, err := goose.NewProvider(db.dialect.Goose, db.migrate, db.dialect.Migrations, opts...)
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	if _, err := provider.Up(ctx); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}

// AnalyzeStale refreshes the planner's statistics where the data has
// changed much since they were taken, and returns the tables it analysed:
// the list's plans are chosen from them, and Muster must not depend on
// autovacuum, which may be off, to keep them current. A no-op on SQLite,
// whose plans do not use statistics.
func (db *DB) AnalyzeStale(ctx context.Context) ([]string, error) {
	if db.dialect.AnalyzeStale == nil {
		return nil, nil
	}
	return db.dialect.AnalyzeStale(ctx, db.write)
}

// Version returns the schema version the database is at.
func (db *DB) Version(ctx context.Context) (int64, error) {
	provider, err := goose.NewProvider(db.dialect.Goose, db.write, db.dialect.Migrations)
	if err != nil {
		return 0, fmt.Errorf("store: migrations: %w", err)
	}
	return provider.GetDBVersion(ctx)
}

// updateAttempts is how many times Update runs a transaction that ends in
// a transient error. A deadlock's victim runs again at once: the other
// transaction holds its locks until it commits, so the second run waits
// for it rather than meeting it again.
const updateAttempts = 4

// Update implements muster.Store.
func (db *DB) Update(ctx context.Context, fn func(muster.Tx) error) error {
	fn = flushingPending(ctx, fn)
	if db.group != nil {
		return db.group.update(ctx, fn)
	}
	for attempt := 1; ; attempt++ {
		err := db.run(ctx, db.write, db.writeStmts, nil, fn)
		if err == nil || attempt == updateAttempts || db.dialect.IsTransient == nil || !db.dialect.IsTransient(err) ||
			ctx.Err() != nil {
			return err
		}
		db.reruns.Add(1)
	}
}

// flushingPending is fn followed by the writes it left pending (see
// commitPending), last before the commit; a failed fn's are dropped with
// its other writes.
func flushingPending(ctx context.Context, fn func(muster.Tx) error) func(muster.Tx) error {
	return func(t muster.Tx) error {
		tx := t.(*Tx)
		if err := fn(tx); err != nil {
			tx.counts, tx.released, tx.later = nil, nil, nil
			return err
		}
		return tx.commitPending(ctx)
	}
}

// View implements muster.Store.
func (db *DB) View(ctx context.Context, fn func(muster.Tx) error) error {
	return db.run(ctx, db.read, db.readStmts, &sql.TxOptions{ReadOnly: true, Isolation: db.dialect.ViewIsolation}, fn)
}

// ViewBulk implements muster.Store.
func (db *DB) ViewBulk(ctx context.Context, fn func(muster.Tx) error) error {
	return db.run(ctx, db.bulk, db.bulkStmts, &sql.TxOptions{ReadOnly: true, Isolation: db.dialect.ViewIsolation}, fn)
}

func (db *DB) run(ctx context.Context, pool *sql.DB, stmts *stmtCache, opts *sql.TxOptions, fn func(muster.Tx) error) error {
	sqlTx, err := pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer sqlTx.Rollback() //nolint:errcheck // a no-op after Commit
	tx := &Tx{conn: sqlTx, tx: sqlTx, stmts: stmts, dialect: &db.dialect, writes: opts == nil || !opts.ReadOnly}
	if err := fn(tx); err != nil {
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return db.mapError(fmt.Errorf("store: commit: %w", err))
	}
	return nil
}

// Read implements muster.Store.
func (db *DB) Read(ctx context.Context, fn func(muster.Tx) error) error {
	return fn(&Tx{conn: db.read, stmts: db.readStmts, dialect: &db.dialect})
}

// Ping implements muster.Store.
func (db *DB) Ping(ctx context.Context) error {
	for _, pool := range []*sql.DB{db.write, db.read, db.bulk} {
		if err := pool.PingContext(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Close implements muster.Store.
func (db *DB) Close() error {
	db.group.close()
	db.writeStmts.close()
	db.readStmts.close()
	if db.bulkStmts != db.readStmts {
		db.bulkStmts.close()
	}
	err := db.write.Close()
	if db.read != db.write {
		err = errors.Join(err, db.read.Close())
	}
	if db.migrate != db.write {
		err = errors.Join(err, db.migrate.Close())
	}
	if db.bulk != db.read && db.bulk != db.write {
		err = errors.Join(err, db.bulk.Close())
	}
	for _, c := range db.closers {
		c()
	}
	return err
}

func (db *DB) mapError(err error) error {
	if db.dialect.IsUniqueViolation(err) {
		return &muster.Error{Code: muster.ECONFLICT, Message: "This conflicts with a change made at the same time. Please try again."}
	}
	return err
}

// usersThrough is the users table, as u, for a statement that reads an
// org's users through index (see Dialect.IndexedBy).
func (d *Dialect) usersThrough(index string) string {
	if d.IndexedBy {
		return `users u INDEXED BY ` + index
	}
	return `users u`
}

// Tx implements muster.Tx on a database/sql transaction, or on a pool
// for Read.
type Tx struct {
	conn    conn
	tx      *sql.Tx    // conn, or nil outside a transaction
	stmts   *stmtCache // the pool's prepared statements, or nil
	dialect *Dialect
	writes  bool // a read-write transaction, whose reads may lock rows
	// detached, if set, replaces the context of every statement (see
	// groupCommit.run).
	detached context.Context
	// counts are the changes to teams' member counts not yet written (see
	// countMembers).
	counts map[int64]memberCounts
	// released are the seats freed in each org and not yet written (see
	// ReleaseSeat).
	released map[int64]int
	// later are the writes left for the next statement (writeLater).
	later []write
}

var _ muster.Tx = (*Tx)(nil)

// conn is what *sql.Tx and *sql.DB have in common that Tx uses.
type conn interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// forUpdate is the dialect's LockRow in a read-write transaction.
func (tx *Tx) forUpdate() string {
	if tx.writes {
		return tx.dialect.LockRow
	}
	return ""
}

// forNoKeyUpdate is the dialect's LockRowNoKey in a read-write transaction.
func (tx *Tx) forNoKeyUpdate() string {
	if tx.writes {
		return tx.dialect.LockRowNoKey
	}
	return ""
}

// forShare is the dialect's ShareRow in a read-write transaction.
func (tx *Tx) forShare() string {
	if tx.writes {
		return tx.dialect.ShareRow
	}
	return ""
}

// prepared returns query prepared on the transaction's connection, or nil
// when it is not (yet) in the pool's cache. Outside a transaction (Read)
// it is the pool's statement itself.
func (tx *Tx) prepared(ctx context.Context, query string) *sql.Stmt {
	s := tx.stmts.get(query)
	if s == nil || tx.tx == nil {
		return s
	}
	return tx.tx.StmtContext(ctx, s)
}

// context is the context a statement runs in.
func (tx *Tx) context(ctx context.Context) context.Context {
	if tx.detached != nil {
		return tx.detached
	}
	return ctx
}

// query runs a query that returns rows.
func (tx *Tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = tx.context(ctx)
	if err := tx.flushLater(ctx); err != nil {
		return nil, err
	}
	var (
		rows *sql.Rows
		err  error
	)
	if s := tx.prepared(ctx, query); s != nil {
		rows, err = s.QueryContext(ctx, args...)
	} else {
		rows, err = tx.conn.QueryContext(ctx, query, args...)
	}
	if err != nil {
		return nil, failed(query, err)
	}
	return rows, nil
}

// planForValues returns args marked so that their query is planned for
// them each time it runs (Dialect.PlanEachRun).
func (tx *Tx) planForValues(args []any) []any {
	if len(tx.dialect.PlanEachRun) == 0 {
		return args
	}
	return append(slices.Clip(tx.dialect.PlanEachRun), args...)
}

// queryRow runs a query that returns at most one row.
func (tx *Tx) queryRow(ctx context.Context, query string, args ...any) row {
	ctx = tx.context(ctx)
	if err := tx.flushLater(ctx); err != nil {
		return row{query: query, err: err}
	}
	if s := tx.prepared(ctx, query); s != nil {
		return row{row: s.QueryRowContext(ctx, args...), query: query}
	}
	return row{row: tx.conn.QueryRowContext(ctx, query, args...), query: query}
}

// row is one row of a query, whose Scan says which statement failed.
type row struct {
	row   *sql.Row
	query string
	err   error // of the writes sent before it (writeLater), if they failed
}

// Scan copies the row's columns into dest; sql.ErrNoRows, wrapped, says
// there was none.
func (r row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	if err := r.row.Scan(dest...); err != nil {
		return failed(r.query, err)
	}
	return nil
}

// failed wraps a driver's error with the statement it answered ("sqlstore:
// UPDATE teams: …"), so that a log line says what was being done.
func failed(query string, err error) error {
	return fmt.Errorf("sqlstore: %s: %w", statement(query), err)
}

// statement names a query by its verb and first table: "UPDATE teams",
// "SELECT … FROM users".
func statement(query string) string {
	words := strings.Fields(query)
	if len(words) == 0 {
		return "empty statement"
	}
	verb := strings.ToUpper(words[0])
	after := map[string]string{"SELECT": "FROM", "DELETE": "FROM", "INSERT": "INTO", "UPDATE": "UPDATE",
		"WITH": "FROM"}[verb]
	for i, w := range words[:len(words)-1] {
		if strings.EqualFold(w, after) {
			table := strings.Trim(words[i+1], "(),")
			if verb == "SELECT" || verb == "WITH" {
				return verb + " … FROM " + table
			}
			return verb + " " + table
		}
	}
	return verb
}

func (tx *Tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = tx.context(ctx)
	if err := tx.flushLater(ctx); err != nil {
		return nil, err
	}
	var (
		res sql.Result
		err error
	)
	if s := tx.prepared(ctx, query); s != nil {
		res, err = s.ExecContext(ctx, args...)
	} else {
		res, err = tx.conn.ExecContext(ctx, query, args...)
	}
	if err != nil {
		return nil, tx.mapError(failed(query, err))
	}
	return res, nil
}

// write is one statement that changes rows, and its arguments.
type write struct {
	query string
	args  []any
	// name, if set, names the write's WITH clause (withWrites), so that a
	// later write of the same statement can read what it returns.
	name string
}

// insertWrites are the INSERTs of rows of width values each, args holding
// them one row after another: "head VALUES (…), (…), …", in chunks of
// insertChunk rows.
func (tx *Tx) insertWrites(head string, width int, args []any) []write {
	var writes []write
	for done, size := range chunks(len(args) / width) {
		query, rows := tx.valuesChunk(head, width, args, done, size)
		writes = append(writes, write{query: query, args: rows})
	}
	return writes
}

// insertRows inserts rows of len(types) values each, args holding them
// one after another, as insertMany does, and returns their ids in the
// rows' order when withIDs is set; but on a dialect that reads rows from
// JSON (Dialect.JSONRows), more than a few rows go as one statement.
func (tx *Tx) insertRows(ctx context.Context, head string, types []string, args []any, withIDs bool) ([]int64, error) {
	if !tx.insertsAsJSON(types, args) {
		return tx.insertMany(ctx, head, len(types), args, withIDs)
	}
	insert, err := tx.jsonInsert(head, types, args)
	if err != nil {
		return nil, err
	}
	if !withIDs {
		_, err := tx.exec(ctx, insert.query, insert.args...)
		return nil, err
	}
	ids, err := tx.insertedIDs(ctx, insert.query+` RETURNING id`, insert.args)
	if err == nil && len(ids) != len(args)/len(types) {
		err = fmt.Errorf("sqlstore: %s: %d ids for %d rows", statement(insert.query), len(ids), len(args)/len(types))
	}
	return ids, err
}

// rowWrites are the writes that insert rows as insertRows does, for
// writeLater.
func (tx *Tx) rowWrites(head string, types []string, args []any) ([]write, error) {
	if !tx.insertsAsJSON(types, args) {
		return tx.insertWrites(head, len(types), args), nil
	}
	insert, err := tx.jsonInsert(head, types, args)
	return []write{insert}, err
}

// insertsAsJSON tells whether insertRows sends args as JSON: more than a few
// rows, on a dialect that reads them so. On PostgreSQL a statement of a
// parameter a value took, for a thousand audit events, 56 ms to plan and a
// statement every 128 rows; SQLite, which prepares each chunk's statement
// once, read the JSON more slowly than the parameters.
func (tx *Tx) insertsAsJSON(types []string, args []any) bool {
	return tx.dialect.JSONRows != nil && len(args)/len(types) > fewInsertRows
}

// jsonInsert is the INSERT "head SELECT … FROM" the rows of args, of
// len(types) values each, one after another, given as one parameter
// (Dialect.JSONRows).
func (tx *Tx) jsonInsert(head string, types []string, args []any) (write, error) {
	width := len(types)
	rows := make([][]any, 0, len(args)/width)
	for row := range slices.Chunk(args, width) {
		rows = append(rows, row)
	}
	list, err := json.Marshal(rows)
	if err != nil {
		return write{}, err
	}
	columns := make([]string, width)
	for i := range columns {
		columns[i] = "c" + strconv.Itoa(i)
	}
	return write{query: head + ` SELECT ` + strings.Join(columns, ", ") + ` FROM ` + tx.dialect.JSONRows("$1", types...) + ` j`,
		args: []any{string(list)}}, nil
}

// valuesChunk is the INSERT "head VALUES (…), (…), …" of the size rows of
// args (width values each) from row done on, and their values.
func (tx *Tx) valuesChunk(head string, width int, args []any, done, size int) (string, []any) {
	return head + ` VALUES ` + valuesList(size, width, tx.dialect.OrdinalParams), args[done*width : (done+size)*width]
}

// execAll runs writes that change different rows and read nothing the
// others change. With Dialect.OneStatementWrites they go as one statement,
// each but the last a data-modifying WITH, in one round trip; otherwise one
// after another.
func (tx *Tx) execAll(ctx context.Context, writes ...write) error {
	for _, s := range tx.statements(writes) {
		if _, err := tx.exec(ctx, s.query, s.args...); err != nil {
			return err
		}
	}
	return nil
}

// statements are the statements that make writes (execAll): with
// Dialect.OneStatementWrites one, each write but the last a data-modifying
// WITH; otherwise one a write.
func (tx *Tx) statements(writes []write) []write {
	if !tx.dialect.OneStatementWrites || len(writes) <= 1 {
		return writes
	}
	last := writes[len(writes)-1]
	query, args := withWrites(writes[:len(writes)-1], last.query, last.args)
	return []write{{query: query, args: args}}
}

// writeLater makes writes, which return nothing: on PostgreSQL
// (Dialect.OneStatementWrites) with the transaction's next statement that
// carries them (carrying), or else just before its next statement or its
// commit, all in one statement; elsewhere at once. Every statement after
// them but a carrier sees them, as if they had been made at once; a
// carrier is a write that reads none of the tables they write. A single
// change's link and email thus go with its audit event, not in round
// trips of their own.
func (tx *Tx) writeLater(ctx context.Context, writes ...write) error {
	if !tx.dialect.OneStatementWrites {
		return tx.execAll(ctx, writes...)
	}
	tx.later = append(tx.later, writes...)
	if len(tx.later) > maxLaterWrites {
		return tx.flushLater(ctx)
	}
	return nil
}

// maxLaterWrites bounds the writes waiting for the next statement
// (writeLater): a transaction that queues a thousand emails one at a time
// sends them a few dozen to a statement, within PostgreSQL's 65,535
// parameters (insertChunk's rows of any table, 16 times).
const maxLaterWrites = 16

// flushLater makes the writes left for later (writeLater) now, in one
// statement.
func (tx *Tx) flushLater(ctx context.Context) error {
	if len(tx.later) == 0 {
		return nil
	}
	writes := tx.later
	tx.later = nil
	return tx.execAll(ctx, writes...)
}

// pending returns the writes left for later (writeLater) and those of the
// member counts noted (countMembers), forgetting them.
func (tx *Tx) pending() []write {
	writes := append(tx.later, tx.countWrites()...)
	tx.later = nil
	return writes
}

// carrying returns query, a write that reads none of the tables the
// pending writes write, as the statement that makes those too, and its
// arguments (see withWrites). Only on PostgreSQL
// (Dialect.OneStatementWrites); elsewhere the pending writes (the member
// counts) are made first, in a statement before query's.
func (tx *Tx) carrying(ctx context.Context, query string, args []any) (string, []any, error) {
	switch writes := tx.pending(); {
	case len(writes) == 0:
		return query, args, nil
	case tx.dialect.OneStatementWrites:
		query, args = withWrites(writes, query, args)
		return query, args, nil
	default:
		return query, args, tx.execAll(ctx, writes...)
	}
}

// withWrites returns the statement that makes writes, as data-modifying
// WITH clauses (PostgreSQL), then runs query, and its arguments: writes'
// and then query's, whose parameters are renumbered after them. Query
// reads the tables as they were before the statement, not as writes leave
// them.
func withWrites(writes []write, query string, args []any) (string, []any) {
	var b strings.Builder
	var all []any
	for i, s := range writes {
		if i == 0 {
			b.WriteString("WITH ")
		} else {
			b.WriteString(", ")
		}
		name := s.name
		if name == "" {
			name = "w" + itoa(i)
		}
		b.WriteString(name + " AS (" + renumber(s.query, len(all)) + ")")
		all = append(all, s.args...)
	}
	b.WriteString(" " + renumber(query, len(all)))
	return b.String(), append(all, args...)
}

// placeholder is a query's parameter, $1….
var placeholder = regexp.MustCompile(`\$[0-9]+`)

// renumber shifts query's parameters by offset: $1 becomes $(1+offset).
func renumber(query string, offset int) string {
	return placeholder.ReplaceAllStringFunc(query, func(p string) string {
		n, _ := strconv.Atoi(p[1:])
		return "$" + itoa(n+offset)
	})
}

// insert runs an INSERT … RETURNING id and returns the id.
func (tx *Tx) insert(ctx context.Context, query string, args ...any) (int64, error) {
	var id int64
	if err := tx.queryRow(ctx, query+" RETURNING id", args...).Scan(&id); err != nil {
		return 0, tx.mapError(err)
	}
	return id, nil
}

// maxInsertRows bounds the rows of one multi-row INSERT (insertMany): 128
// rows of the widest table (users, 19 columns) stay far below either
// dialect's limit on parameters.
const maxInsertRows = 128

// insertMany inserts rows of width values each, args holding them one row
// after another, with "head VALUES (…), (…), …" statements, and returns
// their ids in the rows' order when withIDs is set (head's table then has
// an id column). The rows go in chunks of a few sizes (insertChunk), so
// that any number of rows makes only a few distinct statements (each
// prepared once, see stmtCache), and a batch of 250 rows costs 5
// statements rather than 250.
func (tx *Tx) insertMany(ctx context.Context, head string, width int, args []any, withIDs bool) ([]int64, error) {
	return tx.insertChunks(ctx, len(args)/width, withIDs, func(done, size int) (string, []any) {
		query, rows := tx.valuesChunk(head, width, args, done, size)
		if withIDs {
			query += " RETURNING id"
		}
		return query, rows
	})
}

// insertChunks inserts n rows in chunks of insertChunk rows, each the
// statement that chunk returns for the rows from done on (insertMany's
// INSERT … VALUES, or a statement around one that writes more with the
// rows). With withIDs, the statement returns the rows' ids, and
// insertChunks returns them in the rows' order.
func (tx *Tx) insertChunks(ctx context.Context, n int, withIDs bool, chunk func(done, size int) (string, []any)) ([]int64, error) {
	var ids []int64
	if withIDs {
		ids = make([]int64, 0, n)
	}
	for done, size := range chunks(n) {
		query, args := chunk(done, size)
		if !withIDs {
			if _, err := tx.exec(ctx, query, args...); err != nil {
				return nil, err
			}
			continue
		}
		got, err := tx.insertedIDs(ctx, query, args)
		if err != nil {
			return nil, err
		}
		if len(got) != size {
			return nil, fmt.Errorf("sqlstore: %s: %d ids for %d rows", statement(query), len(got), size)
		}
		ids = append(ids, got...)
	}
	return ids, nil
}

// chunks yields, for n rows, where each chunk of insertChunk rows starts
// and its size.
func chunks(n int) iter.Seq2[int, int] {
	return func(yield func(done, size int) bool) {
		for done := 0; done < n; {
			size := insertChunk(n - done)
			if !yield(done, size) {
				return
			}
			done += size
		}
	}
}

// insertChunk is how many of left rows the next statement of insertChunks
// inserts: all of a few (a user's memberships: one statement, as a single
// change costs a round trip for each), else the largest power of two, up
// to maxInsertRows.
func insertChunk(left int) int {
	if left <= fewInsertRows {
		return left
	}
	size := maxInsertRows
	for size > left {
		size /= 2
	}
	return size
}

// fewInsertRows is how many rows insertMany inserts in one statement of
// their own number.
const fewInsertRows = 16

// insertedIDs runs an INSERT … RETURNING id of several rows (or a
// statement around one that returns its ids) and returns
// the ids in increasing order, which is the rows' order: each dialect
// numbers the rows of one VALUES list (or of one JSON array, jsonInsert)
// in order, whereas the order of RETURNING's rows is not promised.
func (tx *Tx) insertedIDs(ctx context.Context, query string, args []any) ([]int64, error) {
	ids, err := queryColumn[int64](ctx, tx, query, args...)
	if err != nil {
		return nil, tx.mapError(err)
	}
	slices.Sort(ids)
	return ids, nil
}

// queryColumn runs a query of one column and returns its values in its
// order.
func queryColumn[T any](ctx context.Context, tx *Tx, query string, args ...any) ([]T, error) {
	var out []T
	err := tx.eachRow(ctx, func(rows *sql.Rows) error {
		var v T
		err := rows.Scan(&v)
		out = append(out, v)
		return err
	}, query, args...)
	return out, err
}

// eachRow runs a query and calls fn for each of its rows. Its errors name
// the statement, as tx.query's do, those met reading the rows too (an
// INSERT … RETURNING's broken constraint).
func (tx *Tx) eachRow(ctx context.Context, fn func(*sql.Rows) error, query string, args ...any) error {
	rows, err := tx.query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return failed(query, err)
		}
	}
	if err := rows.Err(); err != nil {
		return failed(query, err)
	}
	return nil
}

// valuesList returns "($1, $2), ($3, $4)" for rows tuples of width
// placeholders, or "(?, ?), (?, ?)" when ordinal.
func valuesList(rows, width int, ordinal bool) string {
	b := make([]byte, 0, rows*width*6)
	for r := range rows {
		if r > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '(')
		for c := range width {
			if c > 0 {
				b = append(b, ", "...)
			}
			if ordinal {
				b = append(b, '?')
			} else {
				b = append(b, '$')
				b = strconv.AppendInt(b, int64(r*width+c+1), 10)
			}
		}
		b = append(b, ')')
	}
	return string(b)
}

// affected runs a statement and reports whether it changed a row.
func (tx *Tx) affected(ctx context.Context, query string, args ...any) (bool, error) {
	res, err := tx.exec(ctx, query, args...)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// mapError turns a broken unique constraint into ECONFLICT, which keeps the
// driver's error as its cause.
func (tx *Tx) mapError(err error) error {
	if tx.dialect.IsUniqueViolation(err) {
		return &muster.Error{Code: muster.ECONFLICT, Message: "This conflicts with something that already exists.", Err: err}
	}
	return err
}

// notFound turns sql.ErrNoRows into an ENOTFOUND error about what.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return muster.Errorf(muster.ENOTFOUND, "%s not found.", what)
	}
	return err
}

// micros is how times are stored: microseconds since the epoch, NULL for the
// zero time.
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// nullTime scans a column written by micros.
type nullTime struct{ t *time.Time }

func (n nullTime) Scan(src any) error {
	micros, valid, err := scanNullInt(src)
	if err != nil {
		return err
	}
	if valid {
		*n.t = time.UnixMicro(micros).UTC()
	} else {
		*n.t = time.Time{}
	}
	return nil
}

// scanNullInt reads an integer column that may be NULL. Both drivers give
// an int64 or nil, taken as they are: sql.NullInt64 converts through
// reflection, which a page of users did seven times a row (see
// docs/benchmarks.md, round 8); anything else goes through it.
func scanNullInt(src any) (v int64, valid bool, err error) {
	switch src := src.(type) {
	case int64:
		return src, true, nil
	case nil:
		return 0, false, nil
	}
	var n sql.NullInt64
	err = n.Scan(src)
	return n.Int64, n.Valid, err
}

// nullID stores 0 as NULL.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

type nullInt struct{ v *int64 }

func (n nullInt) Scan(src any) error {
	v, _, err := scanNullInt(src)
	if err != nil {
		return err
	}
	*n.v = v
	return nil
}

// inList returns "$1, $2, …" for an IN (…) of ids and its arguments. The
// list is padded, with the first id again, to a power of two, so that lists
// of any length make only a few distinct queries (each prepared once, see
// stmtCache). ids must not be empty.
func inList(ids []any) (string, []any) {
	n := 1
	for n < len(ids) {
		n *= 2
	}
	args := append(make([]any, 0, n), ids...)
	for len(args) < n {
		args = append(args, ids[0])
	}
	b := make([]byte, 0, n*5)
	for i := range n {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(i+1), 10)
	}
	return string(b), args
}

func itoa(i int) string { return strconv.Itoa(i) }

// anySlice returns ids as arguments for inList.
func anySlice(ids []int64) []any {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return args
}
