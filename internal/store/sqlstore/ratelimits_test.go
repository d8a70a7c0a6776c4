package sqlstore_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

func TestRateLimits(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
		take := func(key string, at time.Time, max int, expires, extend time.Time) (*muster.RateLimit, bool) {
			t.Helper()
			var (
				r  *muster.RateLimit
				ok bool
			)
			err := db.Update(ctx, func(tx muster.Tx) error {
				var err error
				r, ok, err = tx.TakeRateLimit(ctx, key, at, max, expires, extend)
				return err
			})
			if err != nil {
				t.Fatalf("TakeRateLimit(%s): %v", key, err)
			}
			return r, ok
		}
		update := func(fn func(tx muster.Tx) error) {
			t.Helper()
			if err := db.Update(ctx, fn); err != nil {
				t.Fatal(err)
			}
		}
		window := now.Add(15 * time.Minute)

		// A fixed window: max attempts, then refused until it ends.
		for i := 1; i <= 3; i++ {
			r, ok := take("w", now, 3, window, time.Time{})
			if !ok || r.Attempts != i || !r.ExpiresAt.Equal(window) || !r.NextAt.IsZero() {
				t.Fatalf("take %d = %+v, %v; want attempt %d of a window to %s", i, r, ok, i, window)
			}
		}
		if r, ok := take("w", now.Add(time.Minute), 3, now.Add(16*time.Minute), time.Time{}); ok || r.Attempts != 3 ||
			!r.ExpiresAt.Equal(window) {
			t.Fatalf("4th take = %+v, %v; want refused, the row unchanged", r, ok)
		}
		// Returned attempts can be taken again.
		update(func(tx muster.Tx) error { return tx.ReturnRateLimit(ctx, "w") })
		if r, ok := take("w", now, 3, window, time.Time{}); !ok || r.Attempts != 3 {
			t.Fatalf("take after a return = %+v, %v; want the 3rd attempt", r, ok)
		}
		// Once the window has ended, a new one starts.
		if r, ok := take("w", window, 3, window.Add(15*time.Minute), time.Time{}); !ok || r.Attempts != 1 ||
			!r.ExpiresAt.Equal(window.Add(15*time.Minute)) {
			t.Fatalf("take after the window = %+v, %v; want the 1st attempt of a new window", r, ok)
		}

		// A delay refuses attempts until it has passed; a sliding expiry
		// moves with each attempt.
		const many = 1 << 30
		r, ok := take("d", now, many, now.Add(time.Hour), now.Add(time.Hour))
		if !ok || r.Attempts != 1 {
			t.Fatalf("take = %+v, %v", r, ok)
		}
		update(func(tx muster.Tx) error { return tx.DelayRateLimit(ctx, "d", now.Add(2*time.Second)) })
		if r, ok := take("d", now.Add(time.Second), many, now.Add(time.Hour+time.Second), now.Add(time.Hour+time.Second)); ok ||
			!r.NextAt.Equal(now.Add(2*time.Second)) {
			t.Fatalf("take during the delay = %+v, %v; want refused until %s", r, ok, now.Add(2*time.Second))
		}
		later := now.Add(2 * time.Second)
		if r, ok := take("d", later, many, later.Add(time.Hour), later.Add(time.Hour)); !ok || r.Attempts != 2 ||
			!r.ExpiresAt.Equal(later.Add(time.Hour)) {
			t.Fatalf("take after the delay = %+v, %v; want the 2nd attempt, expiring an hour later", r, ok)
		}

		// Find sees live rows only; expired rows are swept.
		var found, gone error
		err := db.View(ctx, func(tx muster.Tx) error {
			_, found = tx.FindRateLimit(ctx, "d", later)
			_, gone = tx.FindRateLimit(ctx, "w", window.Add(15*time.Minute))
			return nil
		})
		if err != nil || found != nil || muster.ErrorCode(gone) != muster.ENOTFOUND {
			t.Fatalf("FindRateLimit: live %v, expired %v (%v); want found and ENOTFOUND", found, gone, err)
		}
		var swept int
		update(func(tx muster.Tx) error {
			var err error
			swept, err = tx.DeleteExpiredRateLimits(ctx, window.Add(15*time.Minute), 10)
			return err
		})
		if swept != 1 {
			t.Fatalf("swept %d rows; want 1 (w expired, d live)", swept)
		}
		update(func(tx muster.Tx) error { return tx.DeleteRateLimit(ctx, "d") })
		if _, ok := take("d", later, many, later.Add(time.Hour), later.Add(time.Hour)); !ok {
			t.Fatal("take after delete refused")
		}
	})
}

// Concurrent takes of one key never count past max.
func TestRateLimitConcurrentTakes(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			accepted int
		)
		for range 40 {
			wg.Go(func() {
				err := db.Update(ctx, func(tx muster.Tx) error {
					_, ok, err := tx.TakeRateLimit(ctx, "k", now, 7, now.Add(time.Minute), time.Time{})
					if ok {
						mu.Lock()
						accepted++
						mu.Unlock()
					}
					return err
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if accepted != 7 {
			t.Fatalf("%d of 40 concurrent takes accepted; want 7", accepted)
		}
	})
}
