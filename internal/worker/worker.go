// Package worker runs Muster's background work: the mail sender, which
// delivers the outbox (INV-6), the report runner, which builds user-list
// reports (AUD-1), the webhook sender, which delivers webhook events
// (EVT-1), the janitor, which deletes expired data, the SSO checker,
// which re-checks verified domains (AUTH-6), and the store's upkeep (the
// planner's statistics, the teams' member counts). Each claims
// its work from the database, so any number of instances share it, polls
// for work now and then, and is woken at once when the service commits work
// for it.
package worker

import (
	"context"
	"sync"
	"time"

	"github.com/muster-app/muster/internal/service"
)

// Workers are the background workers of one instance. It is the service's
// Waker.
type Workers struct {
	Mail    *MailSender
	Reports *ReportRunner
	Janitor *Janitor

	// Imports applies committed CSV imports (BULK-1).
	Imports *ImportRunner

	// Webhooks delivers webhook events (EVT-1).
	Webhooks *WebhookSender

	// SSO re-checks verified domains (AUTH-6).
	SSO *SSOChecker

	// Statistics keeps the planner's statistics current (PostgreSQL).
	Statistics *StatisticsKeeper

	// Counts folds the changes to teams' member counts into the teams.
	Counts *CountFolder
}

var _ service.Waker = (*Workers)(nil)

// Wake implements service.Waker.
func (w *Workers) Wake(queues service.Queue) {
	if queues&service.QueueMail != 0 && w.Mail != nil {
		w.Mail.Wake()
	}
	if queues&service.QueueReports != 0 && w.Reports != nil {
		w.Reports.Wake()
	}
	if queues&service.QueueWebhooks != 0 && w.Webhooks != nil {
		w.Webhooks.Wake()
	}
	if queues&service.QueueImports != 0 && w.Imports != nil {
		w.Imports.Wake()
	}
}

// Run runs every worker until ctx ends.
func (w *Workers) Run(ctx context.Context) {
	var wg sync.WaitGroup
	if w.Mail != nil {
		wg.Go(func() { w.Mail.Run(ctx) })
	}
	if w.Reports != nil {
		wg.Go(func() { w.Reports.Run(ctx) })
	}
	if w.Webhooks != nil {
		wg.Go(func() { w.Webhooks.Run(ctx) })
	}
	if w.Imports != nil {
		wg.Go(func() { w.Imports.Run(ctx) })
	}
	if w.Janitor != nil {
		wg.Go(func() { w.Janitor.Run(ctx) })
	}
	if w.SSO != nil {
		wg.Go(func() { w.SSO.Run(ctx) })
	}
	if w.Statistics != nil {
		wg.Go(func() { w.Statistics.Run(ctx) })
	}
	if w.Counts != nil {
		wg.Go(func() { w.Counts.Run(ctx) })
	}
	wg.Wait()
}

// every calls fn at once and then every d until ctx ends.
func every(ctx context.Context, d time.Duration, fn func()) {
	tick := time.NewTicker(d)
	defer tick.Stop()
	for {
		fn()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// wakeup wakes a worker's loop; waking it while it is awake already, or
// many times while it sleeps, wakes it once.
type wakeup struct {
	once sync.Once
	ch   chan struct{}
}

func (w *wakeup) c() chan struct{} {
	w.once.Do(func() { w.ch = make(chan struct{}, 1) })
	return w.ch
}

func (w *wakeup) wake() {
	select {
	case w.c() <- struct{}{}:
	default:
	}
}
