package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/muster-app/muster/internal/store/postgres"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// openOneConn opens database/sql as the store does on a new schema,
// through a single connection (storetest.OneConnection), and stdlib's
// database/sql on the same schema for the other side of a test, with a
// table of one row.
func openOneConn(t *testing.T) (db, other *sql.DB) {
	t.Helper()
	url := storetest.PostgresSchema(t)
	db = storetest.OneConnection(t, url)
	other = storetest.OpenSQL(t, url)
	if _, err := other.Exec(`CREATE TABLE things (id bigint PRIMARY KEY, n integer, name text, flag boolean,
		note text, data bytea, at timestamptz, amount numeric, tags text[], doc jsonb, day date, ratio float8,
		ids bigint[], small smallint)`); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Exec(`INSERT INTO things VALUES (1, 7, 'Ada', true, NULL, '\x00ff', '2026-12-01 05:00:00.123456+00',
		12.50, '{a,"b c"}', '{"k": [1, 2]}', '2026-12-01', 0.25, '{3,4}', 2)`); err != nil {
		t.Fatal(err)
	}
	return db, other
}

// scanAll reads every column of the rows as database/sql hands them over.
func scanAll(rows *sql.Rows) ([][]any, error) {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var all [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		all = append(all, vals)
	}
	return all, rows.Err()
}

func count(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM things`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestBeginWithFirstStatement: a transaction whose BEGIN went with its
// first statement (conn) reads the values stdlib reads, keeps its
// isolation and access mode, and a failure of that statement leaves the
// connection ready for the next transaction.
func TestBeginWithFirstStatement(t *testing.T) {
	db, other := openOneConn(t)
	ctx := context.Background()

	t.Run("values", func(t *testing.T) {
		const query = `SELECT * FROM things`
		rows, err := other.QueryContext(ctx, query)
		if err != nil {
			t.Fatal(err)
		}
		want, err := scanAll(rows)
		if err != nil {
			t.Fatal(err)
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		rows, err = tx.QueryContext(ctx, query)
		if err != nil {
			t.Fatal(err)
		}
		got, err := scanAll(rows)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("the first statement of a transaction read\n%s\nwant, as stdlib reads it,\n%s", typed(got), typed(want))
		}
	})

	t.Run("isolation", func(t *testing.T) {
		tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		var before, after int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM things`).Scan(&before); err != nil {
			t.Fatal(err)
		}
		if _, err := other.Exec(`INSERT INTO things (id) VALUES (2)`); err != nil {
			t.Fatal(err)
		}
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM things`).Scan(&after); err != nil {
			t.Fatal(err)
		}
		if before != after {
			t.Errorf("a repeatable read counted %d rows, then %d after another transaction's insert; want its snapshot", before, after)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO things (id) VALUES (3)`)
		if code := sqlState(err); code != "25006" {
			t.Errorf("an insert in a read-only transaction: %v; want read_only_sql_transaction", err)
		}
	})

	t.Run("read-only first", func(t *testing.T) {
		tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		_, err = tx.ExecContext(ctx, `INSERT INTO things (id) VALUES (4)`)
		if code := sqlState(err); code != "25006" {
			t.Errorf("an insert as the first statement of a read-only transaction: %v; want read_only_sql_transaction", err)
		}
	})

	t.Run("failed first statement", func(t *testing.T) {
		before := count(t, other)
		// The one connection is out of the failed transaction, kept rather
		// than replaced by a new one: the next transaction runs on it.
		failInTransaction(t, db, other, "inserting a taken id", func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO things (id) VALUES (1)`)
			return err
		})
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO things (id) VALUES (10)`); err != nil {
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if n := count(t, other); n != before+1 {
			t.Errorf("after a failed transaction and a committed insert, %d rows; want %d", n, before+1)
		}
	})

	// A statement that cannot go in a batch (prepared, or with pgx's
	// options) goes after the BEGIN, still in the transaction: rolled back,
	// it leaves nothing.
	for name, write := range map[string]func(*sql.Tx) error{
		"prepared": func(tx *sql.Tx) error {
			stmt, err := tx.PrepareContext(ctx, `INSERT INTO things (id) VALUES ($1)`)
			if err != nil {
				return err
			}
			defer stmt.Close()
			_, err = stmt.ExecContext(ctx, 20)
			return err
		},
		"with an exec mode": func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO things (id) VALUES ($1)`, pgx.QueryExecModeExec, 21)
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			before := count(t, other)
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback() // a no-op once it has ended; a failed test frees the one connection
			if err := write(tx); err != nil {
				t.Fatal(err)
			}
			if err := tx.Rollback(); err != nil {
				t.Fatal(err)
			}
			if n := count(t, other); n != before {
				t.Errorf("a write rolled back left %d rows; want %d", n, before)
			}
		})
	}
}

// backendPID is the process of PostgreSQL serving db's connection.
func backendPID(t *testing.T, db *sql.DB) int {
	t.Helper()
	var pid int
	if err := db.QueryRow(`SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	return pid
}

// sqlState is the SQLSTATE of PostgreSQL's error err, or "".
func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// TestCommitWithLastWrite: a write that carries the dialect's CommitWith
// commits its transaction with it, in its round trip (with the BEGIN too
// when it is the first statement), before database/sql's Commit, which
// then has nothing left to do; a failing one commits nothing and leaves the
// transaction to its rollback, on the same connection.
func TestCommitWithLastWrite(t *testing.T) {
	db, other := openOneConn(t)
	ctx := context.Background()
	commit := postgres.Dialect().CommitWith
	// An exec mode's write goes alone, its COMMIT after it.
	for name, c := range map[string]struct {
		writes []int
		mode   []any
	}{"alone": {writes: []int{30}}, "after another write": {writes: []int{31, 32}},
		"with an exec mode": {writes: []int{33}, mode: []any{pgx.QueryExecModeExec}}} {
		writes := c.writes
		t.Run(name, func(t *testing.T) {
			before := count(t, other)
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback() // a no-op once it has ended; a failed test frees the one connection
			for i, id := range writes {
				args := []any{id}
				if i == len(writes)-1 {
					args = append(append([]any{commit}, c.mode...), args...)
				}
				if _, err := tx.ExecContext(ctx, `INSERT INTO things (id) VALUES ($1)`, args...); err != nil {
					t.Fatal(err)
				}
			}
			// Another connection sees the rows before Commit is called.
			if n := count(t, other); n != before+len(writes) {
				t.Errorf("after the last write, before Commit, %d rows; want %d, committed", n, before+len(writes))
			}
			if err := tx.Commit(); err != nil {
				t.Errorf("Commit after the last write committed: %v; want nil", err)
			}
		})
	}

	// The write before the failing last one rolls back with it.
	t.Run("failing", func(t *testing.T) {
		failInTransaction(t, db, other, "a last write of a taken id", func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO things (id) VALUES (40)`); err != nil {
				return fmt.Errorf("the write before: %w", err)
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO things (id) VALUES (1)`, commit)
			return err
		})
	})
}

// typed prints values with their types, which DeepEqual compares too.
func typed(rows [][]any) string {
	var s string
	for _, r := range rows {
		for _, v := range r {
			s += fmt.Sprintf("%T(%v) ", v, v)
		}
		s += "\n"
	}
	return s
}

// TestWriteFirst: a write sent with another to run first (Dialect's
// WriteFirst) finds that one done — it updates the row the first inserted,
// which a data-modifying WITH of its own would not let it see — as the
// transaction's first statement or a later one, and with an exec mode (one
// after the other); a first write that fails stops the second, and the
// transaction rolls back on the same connection.
func TestWriteFirst(t *testing.T) {
	db, other := openOneConn(t)
	ctx := context.Background()
	first := postgres.Dialect().WriteFirst
	for name, c := range map[string]struct {
		id     int
		before bool  // a statement of the transaction before the pair
		mode   []any // of the second write
	}{"first statement": {id: 50}, "later statement": {id: 51, before: true},
		"with an exec mode": {id: 52, mode: []any{pgx.QueryExecModeExec}}} {
		t.Run(name, func(t *testing.T) {
			tx, err := db.BeginTx(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback() // a no-op once committed; a failed test frees the one connection
			if c.before {
				if _, err := tx.ExecContext(ctx, `UPDATE things SET n = n WHERE id = 1`); err != nil {
					t.Fatal(err)
				}
			}
			args := append([]any{first(`INSERT INTO things (id, n) VALUES ($1, $2)`, []any{c.id, 10})}, c.mode...)
			res, err := tx.ExecContext(ctx, `UPDATE things SET n = n + 1 WHERE id = $1`, append(args, c.id)...)
			if err != nil {
				t.Fatal(err)
			}
			if n, err := res.RowsAffected(); n != 1 || err != nil {
				t.Errorf("the second write updated %d rows (%v); want 1, the row the first inserted", n, err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := other.QueryRow(`SELECT n FROM things WHERE id = $1`, c.id).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n != 11 {
				t.Errorf("n = %d after both writes; want 11", n)
			}
		})
	}

	t.Run("failing first", func(t *testing.T) {
		failInTransaction(t, db, other, "a first write of a taken id", func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO things (id, n) VALUES (60, 1)`,
				first(`INSERT INTO things (id) VALUES ($1)`, []any{1}))
			return err
		})
	})
}

// failInTransaction runs write in a transaction on db's one connection,
// wants it to fail with a unique violation, and rolls the transaction
// back; it then fails t unless other counts the rows it counted before
// (write's changes all rolled back) and the connection is the same
// PostgreSQL process, kept rather than replaced.
func failInTransaction(t *testing.T, db, other *sql.DB, what string, write func(*sql.Tx) error) {
	t.Helper()
	before := count(t, other)
	pid := backendPID(t, db)
	tx, err := db.BeginTx(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() // a no-op once it has ended; a failed test frees the one connection
	if err := write(tx); sqlState(err) != "23505" {
		t.Fatalf("%s: %v; want unique_violation", what, err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if n := count(t, other); n != before {
		t.Errorf("after %s, %d rows; want %d: every write of the transaction rolled back", what, n, before)
	}
	if now := backendPID(t, db); now != pid {
		t.Errorf("after %s the connection is PostgreSQL's process %d; want %d, the same", what, now, pid)
	}
}
