package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/muster-app/muster/internal/service"
)

// Janitor deletes, every Every, what has outlived its use: expired reports,
// the outcomes of old idempotency keys, old webhook deliveries and imports,
// and email sent long ago (service.DeleteExpired).
type Janitor struct {
	Service *service.Service
	Log     *slog.Logger
	Every   time.Duration
}

// Run sweeps until ctx ends, first at once.
func (j *Janitor) Run(ctx context.Context) {
	every(ctx, j.Every, func() {
		n, err := j.Service.DeleteExpired(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			j.Log.Error("janitor: deleting expired data failed", "err", err)
		case n != (service.Expired{}):
			j.Log.Info("janitor: deleted expired data", "reports", n.Reports, "idempotency_records", n.IdempotencyRecords,
				"webhook_deliveries", n.WebhookDeliveries, "imports", n.Imports, "passkey_ceremonies", n.PasskeyCeremonies,
				"outbox_messages", n.OutboxMessages)
		}
	})
}
