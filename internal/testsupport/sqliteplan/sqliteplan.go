// Package sqliteplan reads SQLite's plan of a statement, for tests and
// benchmarks that check or print how a query is run.
package sqliteplan

import (
	"context"
	"database/sql"
)

// Step is one step of a plan: its id, its parent step's (0 at the top)
// and what it does, as EXPLAIN QUERY PLAN words it.
type Step struct {
	ID, Parent int
	Detail     string
}

// Explain returns SQLite's plan of query with args, step by step, in the
// order SQLite lists them.
func Explain(ctx context.Context, db *sql.DB, query string, args ...any) ([]Step, error) {
	rows, err := db.QueryContext(ctx, `EXPLAIN QUERY PLAN `+query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var steps []Step
	for rows.Next() {
		var s Step
		var unused int
		if err := rows.Scan(&s.ID, &s.Parent, &unused, &s.Detail); err != nil {
			return nil, err
		}
		steps = append(steps, s)
	}
	return steps, rows.Err()
}
