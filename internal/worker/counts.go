package worker

import (
	"context"
	"log/slog"
	"time"
)

// CountFolder folds, every Every, the changes to teams' member counts that
// transactions write as rows of their own into the teams' rows
// (sqlstore.DB.FoldTeamCounts): a count read sums its team's changes not
// yet folded, so they must stay few.
type CountFolder struct {
	Store interface {
		FoldTeamCounts(ctx context.Context) (int, error)
	}
	Log   *slog.Logger
	Every time.Duration
}

// Run folds until ctx ends, first at once.
func (f *CountFolder) Run(ctx context.Context) {
	every(ctx, f.Every, func() {
		if _, err := f.Store.FoldTeamCounts(ctx); err != nil && ctx.Err() == nil {
			f.Log.Error("team counts: folding their changes failed", "err", err)
		}
	})
}
