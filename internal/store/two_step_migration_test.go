package store_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestTwoStepOnTheUsersRow checks migration 00025 on a database holding
// users with factors: a user with a factor on has two_step set, one whose
// only factor was never confirmed and one without any do not.
func TestTwoStepOnTheUsersRow(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			db, provider := migratedTo(t, dialect, 24)
			org := insertOrg(t, db)
			want := map[int64]bool{}
			for _, u := range []struct {
				name   string
				factor string // none, set up, on
			}{{"on", "on"}, {"setup", "set up"}, {"none", "none"}} {
				var id int64
				if err := db.QueryRowContext(ctx, `INSERT INTO users (org_id, email, email_key, first_name, last_name,
					sort_key, last_key, role, status, invited_at, updated_at)
					VALUES ($1, $2, $2, $2, 'X', $2, 'x', 'basic', 'active', 1, 1) RETURNING id`,
					org, u.name+"@example.com").Scan(&id); err != nil {
					t.Fatal(err)
				}
				if u.factor != "none" {
					var enabled any
					if u.factor == "on" {
						enabled = 2
					}
					if _, err := db.ExecContext(ctx, `INSERT INTO twostep_factors (org_id, user_id, kind, name, secret,
						created_at, enabled_at) VALUES ($1, $2, 'totp', 'Phone', 'sealed', 1, $3)`, org, id, enabled); err != nil {
						t.Fatal(err)
					}
				}
				want[id] = u.factor == "on"
			}

			if _, err := provider.UpTo(ctx, 25); err != nil {
				t.Fatal(err)
			}
			for id, on := range want {
				var got bool
				if err := db.QueryRowContext(ctx, `SELECT two_step FROM users WHERE id = $1`, id).Scan(&got); err != nil {
					t.Fatal(err)
				}
				if got != on {
					t.Errorf("user %d after the migration: two_step %v; want %v", id, got, on)
				}
			}
		})
	}
}

// insertOrg inserts an org as the migrations from 00023 on have its row,
// and returns its id.
func insertOrg(t *testing.T, db *sql.DB) int64 {
	t.Helper()
	var id int64
	if err := db.QueryRow(`INSERT INTO orgs (name, region, created_at) VALUES ('Acme', 'eu', 1) RETURNING id`).
		Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}
