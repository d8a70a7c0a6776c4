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
	runLeasedJobs(ctx, r.Poll, &r.wake, r.Log, "reports: running a report failed", r.Service.RunNextReport)
}

// ImportRunner applies committed CSV imports (BULK-1). Imports are leased
// as reports are, so that any instance picks up an import whose runner
// died, from the first row its batches had not applied.
type ImportRunner struct {
	Service *service.Service
	Log     *slog.Logger
	// Poll is how often the runner looks for imports when nobody wakes it;
	// at least as often as an import's lease.
	Poll time.Duration

	wake wakeup
}

// Wake asks the runner to look for queued imports now.
func (r *ImportRunner) Wake() { r.wake.wake() }

// Run runs imports until ctx ends.
func (r *ImportRunner) Run(ctx context.Context) {
	runLeasedJobs(ctx, r.Poll, &r.wake, r.Log, "imports: running an import failed", r.Service.RunNextImport)
}

// runLeasedJobs runs next, which leases and runs one job and reports
// whether there was one, for as long as there are jobs, then waits for a
// wake-up or the next poll; until ctx ends.
func runLeasedJobs(ctx context.Context, every time.Duration, wake *wakeup, log *slog.Logger, failed string,
	next func(context.Context) (bool, error)) {
	poll := time.NewTicker(every)
	defer poll.Stop()
	for {
		for ctx.Err() == nil {
			ran, err := next(ctx)
			if err != nil && ctx.Err() == nil {
				log.Error(failed, "err", err)
			}
			if !ran || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-poll.C:
		case <-wake.c():
		}
	}
}
