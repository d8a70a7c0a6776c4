package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestAnalyzeStale: tables whose rows changed much since they were last
// analysed get planner statistics, and the others are left alone, so that
// the list's plans follow the data with autovacuum off (as this machine's
// PostgreSQL runs).
func TestAnalyzeStale(t *testing.T) {
	url := storetest.PostgresSchema(t)
	db := storetest.OpenPostgresAt(t, url)
	raw := storetest.OpenSQL(t, url)
	ctx := context.Background()
	now := time.Now()
	err := db.Update(ctx, func(tx muster.Tx) error {
		org := &muster.Org{Name: "Acme", Region: "us", LicenseTotal: 5, CreatedAt: now}
		if err := tx.CreateOrg(ctx, org); err != nil {
			return err
		}
		for i := range 600 {
			if err := tx.CreateTeam(ctx, &muster.Team{OrgID: org.ID, Name: fmt.Sprint("Team ", i), CreatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The activity counters reach pg_stat_user_tables a moment after the
	// commit (PostgreSQL flushes them at most once a second).
	var tables []string
	for deadline := time.Now().Add(10 * time.Second); !slices.Contains(tables, "teams"); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after 600 new teams, analysed %v; want teams", tables)
		}
		if tables, err = db.AnalyzeStale(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if slices.Contains(tables, "users") {
		t.Errorf("analysed %v; want users, which did not change, left alone", tables)
	}
	var columns int
	if err := raw.QueryRowContext(ctx, `SELECT count(*) FROM pg_stats
		WHERE schemaname = current_schema() AND tablename = 'teams'`).Scan(&columns); err != nil || columns == 0 {
		t.Fatalf("teams has statistics for %d columns (%v); want them all", columns, err)
	}
}

// TestRoundTripsCounted: the store counts each round trip it makes to run
// statements (a transaction's BEGIN goes with its first statement, COMMIT
// is one of its own), for /metrics' muster_store_round_trips_total; a
// transaction that ran no statement costs none.
func TestRoundTripsCounted(t *testing.T) {
	db := storetest.OpenPostgresAt(t, storetest.PostgresSchema(t))
	ctx := context.Background()
	var orgID int64
	err := db.Update(ctx, func(tx muster.Tx) error {
		org := &muster.Org{Name: "Acme", Region: "us", LicenseTotal: 5, CreatedAt: time.Now()}
		err := tx.CreateOrg(ctx, org)
		orgID = org.ID
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	before := db.RoundTrips()
	if err := db.Update(ctx, func(tx muster.Tx) error { return tx.SetEmailAtScale(ctx, orgID, true) }); err != nil {
		t.Fatal(err)
	}
	if n := db.RoundTrips() - before; n != 2 {
		t.Errorf("a transaction of one UPDATE counted %d round trips; want 2, BEGIN with the UPDATE and COMMIT", n)
	}
	before = db.RoundTrips()
	if err := db.Update(ctx, func(muster.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if n := db.RoundTrips() - before; n != 0 {
		t.Errorf("a transaction of no statement counted %d round trips; want none", n)
	}
	before = db.RoundTrips()
	err = db.Read(ctx, func(tx muster.Tx) error {
		_, err := tx.FindOrg(ctx, orgID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := db.RoundTrips() - before; n != 1 {
		t.Errorf("a read of one row outside a transaction counted %d round trips; want 1", n)
	}
}
