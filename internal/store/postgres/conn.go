package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"io"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
)

// OpenDB opens database/sql on pool, as stdlib.OpenDBFromPool does, but
// through connections that send a transaction's BEGIN with its first
// statement (conn). The pool keeps the idle connections.
func OpenDB(pool *pgxpool.Pool) *sql.DB {
	db := sql.OpenDB(connector{stdlib.GetPoolConnector(pool)})
	db.SetMaxIdleConns(0)
	return db
}

// connector hands database/sql pgx's connections, each wrapped in a conn.
type connector struct{ driver.Connector }

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &conn{Conn: dc.(*stdlib.Conn)}, nil
}

// conn is pgx's database/sql connection, except that a transaction's BEGIN
// is not sent alone: it waits for the transaction's first statement and
// goes with it, in one round trip (pgx's Batch.BeginTx), where
// database/sql's BeginTx would spend a round trip on it. Every write of
// Muster's is a transaction, and BEGIN costs PostgreSQL little beyond its
// round trip (docs/benchmarks.md, round 11).
//
// A broken connection thus shows at the transaction's first statement
// rather than at BeginTx, where database/sql would have retried on another;
// the pool pings a connection idle for more than a second before handing
// it out (pgxpool's default), so a request rarely meets one.
//
// database/sql uses a connection from one goroutine at a time, so conn's
// fields need no lock.
type conn struct {
	*stdlib.Conn
	// begin is the transaction begun but not yet sent, nil when there is
	// none; beginCtx the context BeginTx was given, which a BEGIN sent
	// alone and the transaction's COMMIT or ROLLBACK run under (as
	// stdlib's do).
	begin    *pgx.TxOptions
	beginCtx context.Context
	// tx is the transaction once sent.
	tx pgx.Tx
}

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if c.Conn.Conn().IsClosed() {
		return nil, driver.ErrBadConn
	}
	txOpts, err := pgxTxOptions(opts)
	if err != nil {
		return nil, err
	}
	c.begin, c.beginCtx, c.tx = &txOpts, ctx, nil
	return connTx{c}, nil
}

// pgxTxOptions are database/sql's transaction options in pgx's terms, as
// stdlib's BeginTx maps them.
func pgxTxOptions(opts driver.TxOptions) (pgx.TxOptions, error) {
	var o pgx.TxOptions
	switch sql.IsolationLevel(opts.Isolation) {
	case sql.LevelDefault:
	case sql.LevelReadUncommitted:
		o.IsoLevel = pgx.ReadUncommitted
	case sql.LevelReadCommitted:
		o.IsoLevel = pgx.ReadCommitted
	case sql.LevelRepeatableRead, sql.LevelSnapshot:
		o.IsoLevel = pgx.RepeatableRead
	case sql.LevelSerializable:
		o.IsoLevel = pgx.Serializable
	default:
		return o, fmt.Errorf("postgres: unsupported isolation level %v", sql.IsolationLevel(opts.Isolation))
	}
	if opts.ReadOnly {
		o.AccessMode = pgx.ReadOnly
	}
	return o, nil
}

// sendBegin sends the waiting BEGIN, if any, with the statement query: in
// a batch, whose results it returns with the BEGIN's read; or alone, when
// the statement cannot go in a batch (args holding pgx's options, a
// QueryExecMode, which a batch does not take), returning no results.
func (c *conn) sendBegin(ctx context.Context, query string, args []driver.NamedValue) (pgx.BatchResults, error) {
	if c.begin == nil {
		return nil, nil
	}
	values, ok := batchArgs(args)
	if !ok {
		return nil, c.sendBeginAlone()
	}
	return c.sendBatch(ctx, false, statement{query, values})
}

// statement is a statement to send in a batch and its arguments.
type statement struct {
	query  string
	values []any
}

// sendBatch sends the statements in a batch, after the waiting BEGIN if
// any and before a COMMIT if commit is set, and reads the BEGIN's result;
// the statements' (and the COMMIT's) are the caller's to read.
func (c *conn) sendBatch(ctx context.Context, commit bool, stmts ...statement) (pgx.BatchResults, error) {
	b := &pgx.Batch{}
	began := c.begin != nil
	if began {
		b.BeginTx(*c.begin)
		c.begin = nil
	}
	for _, s := range stmts {
		b.Queue(s.query, s.values...)
	}
	if commit {
		b.Queue("commit")
	}
	br := c.Conn.Conn().SendBatch(ctx, b)
	if began {
		c.tx = br.Tx()
		if _, err := br.Exec(); err != nil {
			br.Close()
			return nil, badConn(err)
		}
	}
	return br, nil
}

// batchArgs are a statement's arguments as a batch takes them, or false
// when they hold pgx's options (a QueryExecMode), which a batch does not.
func batchArgs(args []driver.NamedValue) ([]any, bool) {
	values := make([]any, len(args))
	for i, a := range args {
		if isOption(a.Value) {
			return nil, false
		}
		values[i] = a.Value
	}
	return values, true
}

// isOption reports whether a statement's argument v is one of pgx's
// options (a QueryExecMode) rather than a value.
func isOption(v any) bool {
	_, option := v.(pgx.QueryExecMode)
	return option
}

// sendBeginAlone sends the waiting BEGIN, if any, by itself, under the
// context BeginTx was given, as stdlib's would have been.
func (c *conn) sendBeginAlone() error {
	if c.begin == nil {
		return nil
	}
	opts := *c.begin
	c.begin = nil
	tx, err := c.Conn.Conn().BeginTx(c.beginCtx, opts)
	if err != nil {
		return badConn(err)
	}
	c.tx = tx
	return nil
}

func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	br, err := c.sendBegin(ctx, query, args)
	if err != nil {
		return nil, err
	}
	if br == nil {
		return c.Conn.QueryContext(ctx, query, args)
	}
	rows, err := br.Query()
	if err != nil {
		br.Close()
		return nil, err
	}
	r := &batchRows{rows: rows, results: br, typeMap: c.Conn.Conn().TypeMap()}
	// Read the first row now, as stdlib does, so that the statement's
	// error is QueryContext's.
	r.more, r.preloaded = rows.Next(), true
	if err := rows.Err(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	if len(args) > 0 {
		switch first := args[0].Value.(type) {
		case commitAfter:
			return c.execAndCommit(ctx, query, args[1:])
		case writeFirst:
			return c.execAfter(ctx, statement(first), query, args[1:])
		}
	}
	br, err := c.sendBegin(ctx, query, args)
	if err != nil {
		return nil, err
	}
	if br == nil {
		return c.Conn.ExecContext(ctx, query, args)
	}
	tags, err := execResults(br, 1)
	if err != nil {
		return nil, err
	}
	return driver.RowsAffected(tags[0].RowsAffected()), nil
}

// execResults reads the results of the next n statements of br, which
// return no rows, and closes it: their tags, or the first error.
func execResults(br pgx.BatchResults, n int) ([]pgconn.CommandTag, error) {
	tags := make([]pgconn.CommandTag, n)
	var err error
	for i := 0; i < n && err == nil; i++ {
		tags[i], err = br.Exec()
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tags, err
}

// writeFirst, first among a write's arguments (made by Dialect's
// WriteFirst), is a write to run before it, in the same round trip.
type writeFirst statement

// execAfter runs the write first, then the write query, in one batch (with
// the transaction's BEGIN if it still waits), and returns query's result.
// first is done before query begins: query's rows are not locked while
// it runs, as they would be were first a data-modifying WITH of query's.
// Writes that cannot go in a batch (pgx's QueryExecMode among their
// arguments) go one after the other.
func (c *conn) execAfter(ctx context.Context, first statement, query string, args []driver.NamedValue) (driver.Result, error) {
	values, ok := batchArgs(args)
	if !ok || slices.ContainsFunc(first.values, isOption) {
		if _, err := c.ExecContext(ctx, first.query, namedValues(first.values)); err != nil {
			return nil, err
		}
		return c.ExecContext(ctx, query, args)
	}
	br, err := c.sendBatch(ctx, false, first, statement{query, values})
	if err != nil {
		return nil, err
	}
	tags, err := execResults(br, 2)
	if err != nil {
		return nil, err
	}
	return driver.RowsAffected(tags[1].RowsAffected()), nil
}

// namedValues are values as database/sql hands a driver arguments.
func namedValues(values []any) []driver.NamedValue {
	args := make([]driver.NamedValue, len(values))
	for i, v := range values {
		args[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return args
}

// commitAfter, first among a write's arguments (Dialect's CommitWith),
// commits the transaction with the write, in its round trip.
type commitAfter struct{}

// execAndCommit runs the write query and commits the transaction in one
// batch, with the transaction's BEGIN if it still waits: a transaction
// whose last statement is a write thus spends no round trip on its COMMIT.
// The transaction is then over, and database/sql's Commit has nothing left
// to do. A write that fails leaves the transaction to be rolled back (the
// COMMIT after it is not run), as a write that goes alone would.
func (c *conn) execAndCommit(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	values, ok := batchArgs(args)
	if !ok {
		res, err := c.ExecContext(ctx, query, args)
		if err != nil {
			return nil, err
		}
		return res, c.end(true)
	}
	br, err := c.sendBatch(ctx, true, statement{query, values})
	if err != nil {
		c.forgetEnded()
		return nil, err
	}
	tags, err := execResults(br, 2)
	if err == nil && tags[1].String() == "ROLLBACK" {
		err = pgx.ErrTxCommitRollback
	}
	c.forgetEnded()
	if err != nil {
		return nil, badConn(err)
	}
	return driver.RowsAffected(tags[0].RowsAffected()), nil
}

// forgetEnded forgets the transaction once the connection is out of it:
// committed by the batch, or ended by a BEGIN or COMMIT that failed, it
// has nothing left to end.
func (c *conn) forgetEnded() {
	if c.Conn.Conn().PgConn().TxStatus() == 'I' {
		c.tx, c.beginCtx = nil, nil
	}
}

func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if err := c.sendBeginAlone(); err != nil {
		return nil, err
	}
	return c.Conn.PrepareContext(ctx, query)
}

// end commits or rolls back the transaction; one that sent nothing has
// nothing to end.
func (c *conn) end(commit bool) error {
	if c.begin != nil {
		c.begin, c.beginCtx = nil, nil
		return nil
	}
	tx, ctx := c.tx, c.beginCtx
	c.tx, c.beginCtx = nil, nil
	if tx == nil {
		return nil
	}
	if commit {
		return tx.Commit(ctx)
	}
	return tx.Rollback(ctx)
}

// connTx is database/sql's handle of conn's transaction.
type connTx struct{ c *conn }

func (t connTx) Commit() error   { return t.c.end(true) }
func (t connTx) Rollback() error { return t.c.end(false) }

// badConn is err, or driver.ErrBadConn when it came before anything reached
// the server, so that database/sql drops the connection (as stdlib does).
func badConn(err error) error {
	if pgconn.SafeToRetry(err) {
		return driver.ErrBadConn
	}
	return err
}

// batchRows are the rows of a statement sent in a batch, with the values
// stdlib's rows would give database/sql (batchValue).
type batchRows struct {
	rows            pgx.Rows
	results         pgx.BatchResults
	typeMap         *pgtype.Map
	more, preloaded bool
	columns         []string
}

func (r *batchRows) Columns() []string {
	if r.columns == nil {
		for _, fd := range r.rows.FieldDescriptions() {
			r.columns = append(r.columns, fd.Name)
		}
	}
	return r.columns
}

func (r *batchRows) Next(dest []driver.Value) error {
	more := r.more
	if !r.preloaded {
		more = r.rows.Next()
	}
	r.preloaded = false
	if !more {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return io.EOF
	}
	fields := r.rows.FieldDescriptions()
	for i, raw := range r.rows.RawValues() {
		v, err := batchValue(r.typeMap, fields[i], raw)
		if err != nil {
			return fmt.Errorf("postgres: column %s: %w", fields[i].Name, err)
		}
		dest[i] = v
	}
	return nil
}

// decodedAsSQLValues are the types whose values stdlib gives database/sql
// as their codecs decode them for it (int64, bool, float64, time.Time,
// []byte): those it reads in binary (its databaseSQLResultFormats) and
// JSON and XML. It gives every other type's text, as a string.
var decodedAsSQLValues = map[uint32]bool{
	pgtype.BoolOID: true, pgtype.ByteaOID: true, pgtype.CIDOID: true, pgtype.DateOID: true,
	pgtype.Float4OID: true, pgtype.Float8OID: true, pgtype.Int2OID: true, pgtype.Int4OID: true,
	pgtype.Int8OID: true, pgtype.OIDOID: true, pgtype.TimestampOID: true, pgtype.TimestamptzOID: true,
	pgtype.XIDOID: true, pgtype.JSONOID: true, pgtype.JSONBOID: true, pgtype.XMLOID: true,
}

// batchValue is the value raw of the column fd as stdlib's rows give it.
// A batch cannot choose its results' formats as stdlib does, and pgx
// sends some types in binary (numeric, arrays) whose text stdlib gives:
// those are decoded and written back as text.
func batchValue(m *pgtype.Map, fd pgconn.FieldDescription, raw []byte) (driver.Value, error) {
	if raw == nil {
		return nil, nil
	}
	t, known := m.TypeForOID(fd.DataTypeOID)
	switch {
	case known && decodedAsSQLValues[fd.DataTypeOID]:
		return t.Codec.DecodeDatabaseSQLValue(m, fd.DataTypeOID, fd.Format, raw)
	case !known || fd.Format == pgtype.TextFormatCode:
		return string(raw), nil
	}
	v, err := t.Codec.DecodeValue(m, fd.DataTypeOID, fd.Format, raw)
	if err != nil {
		return nil, err
	}
	text, err := m.Encode(fd.DataTypeOID, pgtype.TextFormatCode, v, nil)
	return string(text), err
}

func (r *batchRows) Close() error {
	r.rows.Close()
	err := r.rows.Err()
	if cerr := r.results.Close(); err == nil {
		err = cerr
	}
	return err
}
