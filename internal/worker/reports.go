package worker

import (
	"context"
	"log/slog"
	"time"

	"github.com/muster-app/muster/internal/service"
)

// ReportRunner runs queued user-list reports (AUD-1).
type ReportRunner struct {
	Service *service.Service
	Log     *slog.Logger
	// Poll is how often the runner looks for reports when nobody wakes it;
	// at least as often as a report's lease, so that a report whose runner
	// died is taken over.
	Poll time.Duration

	wake wakeup
}

// Wake asks the runner to look for queued reports now.
func (r *ReportRunner) Wake() { r.wake.wake() }

// Run runs reports until ctx ends.
func (r *ReportRunner) Run(ctx context.Context) {
	poll := time.NewTicker(r.Poll)
	defer poll.Stop()
	for {
		for ctx.Err() == nil {
			ran, err := r.Service.RunNextReport(ctx)
			if err != nil && ctx.Err() == nil {
				r.Log.Error("reports: running a report failed", "err", err)
			}
			if !ran || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
		case <-r.wake.c():
		}
	}
}
