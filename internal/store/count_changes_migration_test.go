package store_test

import (
	"context"
	"testing"

	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestCountChangesFoldedGoingDown checks migration 00024 on a database
// holding teams: their counts stay on their rows, a change of nothing is
// refused, and going back down adds the changes not yet folded to the
// teams' counts before the table goes.
func TestCountChangesFoldedGoingDown(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			db, provider := migratedTo(t, dialect, 24)
			org := insertOrg(t, db)
			var team, other int64
			for name, id := range map[string]*int64{"main": &team, "other": &other} {
				if err := db.QueryRowContext(ctx, `INSERT INTO teams (org_id, name, name_key, is_default, created_at,
					primary_count, secondary_count) VALUES ($1, $2, $2, false, 1, 5, 2) RETURNING id`,
					org, name).Scan(id); err != nil {
					t.Fatal(err)
				}
			}
			for _, change := range [][2]int64{{1, 0}, {-2, 3}, {0, -1}} {
				if _, err := db.ExecContext(ctx, `INSERT INTO team_count_changes (team_id, primary_change, secondary_change)
					VALUES ($1, $2, $3)`, team, change[0], change[1]); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO team_count_changes (team_id, primary_change, secondary_change)
				VALUES ($1, 0, 0)`, team); err == nil {
				t.Error("a change of nothing was accepted")
			}

			if _, err := provider.DownTo(ctx, 23); err != nil {
				t.Fatal(err)
			}
			for id, want := range map[int64][2]int64{team: {4, 4}, other: {5, 2}} {
				var primary, secondary int64
				if err := db.QueryRowContext(ctx, `SELECT primary_count, secondary_count FROM teams WHERE id = $1`,
					id).Scan(&primary, &secondary); err != nil {
					t.Fatal(err)
				}
				if primary != want[0] || secondary != want[1] {
					t.Errorf("team %d after the down migration: %d+%d members; want %d+%d", id, primary, secondary,
						want[0], want[1])
				}
			}
		})
	}
}
