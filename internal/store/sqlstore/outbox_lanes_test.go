package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestOutboxLanes: with 100 of an import's invitations due, a single
// invitation queued after them goes in the next lease; with 100 other
// messages due as well, each lease still takes some of the import's.
func TestOutboxLanes(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
		queue := func(n int, bulk bool, at time.Time) {
			t.Helper()
			err := db.Update(ctx, func(tx muster.Tx) error {
				for i := range n {
					if err := tx.CreateOutboxMessage(ctx, &muster.OutboxMessage{MessageID: fmt.Sprintf("<%v-%d-%d@test>", bulk, at.UnixNano(), i),
						To: "x@example.com", Subject: "s", Text: "t", HTML: "h", CreatedAt: at, Bulk: bulk}); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		lease := func() (bulk, other int) {
			t.Helper()
			err := db.Update(ctx, func(tx muster.Tx) error {
				msgs, err := tx.LeaseOutboxMessages(ctx, now.Add(time.Hour), now.Add(2*time.Hour), 20)
				for _, m := range msgs {
					if m.Bulk {
						bulk++
					} else {
						other++
					}
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return bulk, other
		}
		queue(100, true, now)
		queue(1, false, now.Add(time.Minute))
		if bulk, other := lease(); bulk != 19 || other != 1 {
			t.Fatalf("first lease: %d of the import's, %d other; want 19 and the single invitation", bulk, other)
		}
		queue(100, false, now.Add(2*time.Minute))
		if bulk, other := lease(); bulk != 5 || other != 15 {
			t.Fatalf("with both lanes full: %d of the import's, %d other; want 5 and 15", bulk, other)
		}
		// Only other mail left in its lane's share: the rest of the lease
		// is the import's, and the other way round.
		for range 5 {
			lease()
		}
		if bulk, other := lease(); bulk+other != 20 {
			t.Fatalf("a lease took %d+%d; want it full while mail is due", bulk, other)
		}
	})
}
