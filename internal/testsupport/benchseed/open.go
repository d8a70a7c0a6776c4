package benchseed

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/postgres"
	"github.com/muster-app/muster/internal/store/sqlite"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// Users is the size of the benchmarks' organization, Owner included:
// 100,000 unless MUSTER_BENCH_USERS says otherwise.
func Users(tb testing.TB) int {
	s := os.Getenv("MUSTER_BENCH_USERS")
	if s == "" {
		return 100_000
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1000 {
		tb.Fatalf("MUSTER_BENCH_USERS=%q: want a number of at least 1000", s)
	}
	return n
}

// Open opens a store of dialect ("sqlite" or "postgres") holding the seeded
// organization of n users, for one benchmark or test, and closes it when tb
// ends. It returns where the store is: a copy of the cached SQLite file, or
// a fresh PostgreSQL schema's URL (storetest.PostgresSchema, which skips
// when PostgreSQL is unreachable, as the store tests do).
func Open(tb testing.TB, dialect string, n int) (*sqlstore.DB, string) {
	tb.Helper()
	ctx := context.Background()
	start := time.Now()
	var (
		db  *sqlstore.DB
		dsn string
		err error
	)
	switch dialect {
	case "sqlite":
		dsn = filepath.Join(tb.TempDir(), "muster.db")
		if err := SQLite(ctx, dsn, n); err != nil {
			tb.Fatal(err)
		}
		db, err = sqlite.Open(ctx, dsn)
	case "postgres":
		dsn = storetest.PostgresSchema(tb)
		if db, err = postgres.Open(ctx, dsn); err == nil {
			err = Seed(ctx, db, n, PostgresSink(dsn))
		}
	default:
		tb.Fatalf("unknown dialect %q", dialect)
	}
	if db != nil {
		tb.Cleanup(func() { db.Close() })
	}
	if err != nil {
		tb.Fatal(err)
	}
	tb.Logf("seeded or copied %d users into %s in %v", n, dialect, time.Since(start).Round(time.Millisecond))
	return db, dsn
}

// MiddleCursor is the cursor of the page from the middle of the user list
// of n users in order sort, as the Owner of ctx sees it: found by paging,
// service.MaxPageSize users at a time, through the first half. It opens a
// page of any size: it is where the next page starts.
func MiddleCursor(ctx context.Context, svc *service.Service, sort string, n int) (string, error) {
	q := service.UserQuery{Sort: sort, Limit: service.MaxPageSize}
	for seen := 0; seen < n/2; seen += service.MaxPageSize {
		page, err := svc.FindUsers(ctx, q)
		if err != nil {
			return "", err
		}
		if page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	return q.Cursor, nil
}

// EachStore runs bench on each store (storetest.Dialects), each holding the
// seeded organization of Users(b) users, with the service over it and the
// number of users.
func EachStore(b *testing.B, bench func(b *testing.B, db *sqlstore.DB, svc *service.Service, n int)) {
	n := Users(b)
	for _, dialect := range storetest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			db, _ := Open(b, dialect, n)
			bench(b, db, Service(db), n)
		})
	}
}
