package worker

import (
	"context"
	"log/slog"
	"time"
)

// StatisticsKeeper keeps the database's planner statistics current: every
// Every it analyses the tables whose rows changed much since they were last
// analysed (sqlstore.DB.AnalyzeStale), as autovacuum would, so that the
// list's plans do not depend on autovacuum being on.
type StatisticsKeeper struct {
	Store interface {
		AnalyzeStale(ctx context.Context) ([]string, error)
	}
	Log   *slog.Logger
	Every time.Duration
}

// Run keeps the statistics until ctx ends.
func (k *StatisticsKeeper) Run(ctx context.Context) {
	tick := time.NewTicker(k.Every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		tables, err := k.Store.AnalyzeStale(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			k.Log.Error("statistics: analysing tables failed", "err", err)
		case len(tables) > 0:
			k.Log.Info("statistics: analysed tables whose rows changed", "tables", tables)
		}
	}
}
