package store_test

import (
	"context"
	"testing"

	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestSeatsMoveToTheirRow checks migration 00023 on a database holding
// orgs: each org's license total and seats used move to its row of
// org_seats, which refuses more seats than the total as the org's row did,
// and going back down puts them on the orgs again.
func TestSeatsMoveToTheirRow(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			db, provider := migratedTo(t, dialect, 22)
			want := map[int64][2]int64{}
			for _, seats := range [][2]int64{{10, 3}, {1, 1}} {
				var id int64
				if err := db.QueryRowContext(ctx, `INSERT INTO orgs (name, region, license_total, seats_used, created_at)
					VALUES ('Acme', 'eu', $1, $2, 1) RETURNING id`, seats[0], seats[1]).Scan(&id); err != nil {
					t.Fatal(err)
				}
				want[id] = seats
			}

			// seatsAre checks each org's seats as query reads them ($1 the
			// org's id).
			seatsAre := func(when, query string) {
				for id, seats := range want {
					var total, used int64
					if err := db.QueryRowContext(ctx, query, id).Scan(&total, &used); err != nil {
						t.Fatalf("org %d %s: %v", id, when, err)
					}
					if total != seats[0] || used != seats[1] {
						t.Errorf("org %d %s: %d of %d seats used; want %d of %d", id, when, used, total, seats[1], seats[0])
					}
				}
			}

			if _, err := provider.UpTo(ctx, 23); err != nil {
				t.Fatal(err)
			}
			seatsAre("after the migration", `SELECT license_total, seats_used FROM org_seats WHERE org_id = $1`)
			for id := range want {
				if _, err := db.ExecContext(ctx, `UPDATE org_seats SET seats_used = license_total + 1 WHERE org_id = $1`,
					id); err == nil {
					t.Errorf("org %d: more seats used than its total were accepted", id)
				}
			}

			if _, err := provider.DownTo(ctx, 22); err != nil {
				t.Fatal(err)
			}
			seatsAre("after the down migration", `SELECT license_total, seats_used FROM orgs WHERE id = $1`)
		})
	}
}
