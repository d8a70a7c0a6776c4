package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/testsupport/sqliteplan"
)

// SetSelectiveLimit changes how few matches make FindUsers start from them,
// so that a small fixture takes every query shape, and returns a function
// that restores it.
func SetSelectiveLimit(n int) (restore func()) {
	old := selectiveLimit
	selectiveLimit = n
	return func() { selectiveLimit = old }
}

// PreparedStatements is how many statements db's pools hold prepared.
func PreparedStatements(db *DB) int {
	n := 0
	for _, c := range []*stmtCache{db.writeStmts, db.readStmts} {
		if c == nil {
			continue
		}
		c.mu.Lock()
		for _, s := range c.stmts {
			if s != nil {
				n++
			}
		}
		c.mu.Unlock()
	}
	return n
}

// InList exposes inList to tests.
var InList = inList

// PragmaOnPools returns PRAGMA name as a connection of the read pool and
// one of the bulk pool see it.
func PragmaOnPools(db *DB, name string) (read, bulk int64, err error) {
	return pragmaOn(db.read, db.bulk, name)
}

// PragmaOnMigrations returns PRAGMA name as the connection that runs the
// migrations sees it, and as the writer's does.
func PragmaOnMigrations(db *DB, name string) (migrate, write int64, err error) {
	return pragmaOn(db.migrate, db.write, name)
}

// pragmaOn returns PRAGMA name as a connection of each of two pools sees it.
func pragmaOn(a, b *sql.DB, name string) (onA, onB int64, err error) {
	if err = a.QueryRow(`PRAGMA ` + name).Scan(&onA); err == nil {
		err = b.QueryRow(`PRAGMA ` + name).Scan(&onB)
	}
	return onA, onB, err
}

// FindUsersArgs returns the arguments FindUsers sends for f, the dialect's
// marks (Dialect.PlanEachRun) included.
func FindUsersArgs(ctx context.Context, db *DB, f muster.UserFilter) ([]any, error) {
	tx := &Tx{conn: db.read, stmts: db.readStmts, dialect: &db.dialect}
	_, args, err := tx.findUsersQuery(ctx, f, userColumns)
	return args, err
}

// Memberships reads a user's primary and secondary teams from the
// memberships table itself, not the users row's teams column.
func Memberships(db *DB, userID int64) (primary int64, secondaries []int64, err error) {
	rows, err := db.read.Query(`SELECT team_id, kind FROM memberships WHERE user_id = $1`, userID)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var kind string
		if err := rows.Scan(&id, &kind); err != nil {
			return 0, nil, err
		}
		if kind == "primary" {
			primary = id
		} else {
			secondaries = append(secondaries, id)
		}
	}
	return primary, secondaries, rows.Err()
}

// CountChanges is how many changes to teams' member counts are not yet
// folded into the teams' rows.
func CountChanges(db *DB) (n int, err error) {
	err = db.read.QueryRow(`SELECT count(*) FROM team_count_changes`).Scan(&n)
	return n, err
}

// TeamRowCounts are a team's member counts as its row holds them, without
// its changes not yet folded.
func TeamRowCounts(db *DB, teamID int64) (primary, secondary int, err error) {
	err = db.read.QueryRow(`SELECT primary_count, secondary_count FROM teams WHERE id = $1`, teamID).
		Scan(&primary, &secondary)
	return primary, secondary, err
}

// ReadPlans runs read on a Tx of db's read pool that records the
// statements it sends, and returns SQLite's plan of each (EXPLAIN QUERY
// PLAN), its steps' details one per line.
func ReadPlans(ctx context.Context, db *DB, read func(muster.Tx) error) ([]string, error) {
	rec := &recordingConn{conn: db.read}
	if err := read(&Tx{conn: rec, dialect: &db.dialect}); err != nil {
		return nil, err
	}
	var plans []string
	for _, st := range rec.sent {
		plan, err := sqlitePlan(ctx, db, st.query, st.args)
		if err != nil {
			return nil, err
		}
		plans = append(plans, plan)
	}
	return plans, nil
}

// recordingConn is a conn that notes the statements sent through it.
type recordingConn struct {
	conn
	sent []sentStatement
}

type sentStatement struct {
	query string
	args  []any
}

func (c *recordingConn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	c.sent = append(c.sent, sentStatement{query, args})
	return c.conn.QueryContext(ctx, query, args...)
}

func (c *recordingConn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	c.sent = append(c.sent, sentStatement{query, args})
	return c.conn.QueryRowContext(ctx, query, args...)
}

func sqlitePlan(ctx context.Context, db *DB, query string, args []any) (string, error) {
	steps, err := sqliteplan.Explain(ctx, db.read, query, args...)
	plan := make([]string, len(steps))
	for i, s := range steps {
		plan[i] = s.Detail
	}
	return strings.Join(plan, "\n"), err
}
