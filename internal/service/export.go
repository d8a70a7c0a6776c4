package service

import (
	"context"
	"io"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/report"
)

// exportBatch is how many users one query of an export reads, and
// exportAhead how many read batches may wait to be written.
const (
	exportBatch = 1000
	exportAhead = 2
)

// ExportUsers writes the org's user list as CSV to w, for Owners and Admins
// (AUD-2..5). It reads users in ID-ordered batches inside one read
// transaction, so the list is one consistent moment and memory stays bounded
// whatever the org's size. progress, if not nil, is called after each batch
// with the number of rows written so far.
func (s *Service) ExportUsers(ctx context.Context, w io.Writer, progress func(rows int)) error {
	return s.store.ViewBulk(ctx, func(tx muster.Tx) error {
		a, err := loadAdmin(ctx, tx)
		if err != nil {
			return err
		}
		return exportUsers(ctx, tx, a.orgID, w, progress)
	})
}

// exportUsers reads the users in batches on one goroutine while this one
// writes the CSV (and, for a report, compresses and stores it): on two
// cores the export takes about as long as the slower half rather than both.
// At most exportAhead batches wait between the two, so memory stays bounded.
func exportUsers(ctx context.Context, tx muster.Tx, orgID int64, w io.Writer, progress func(int)) error {
	teams, err := tx.FindTeams(ctx, orgID)
	if err != nil {
		return err
	}
	names := make(map[int64]string, len(teams))
	for _, t := range teams {
		names[t.ID] = t.Name
	}
	cw, err := report.NewCSVWriter(w)
	if err != nil {
		return err
	}

	readCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan []*muster.ExportedUser, exportAhead)
	var readErr error // set before batches is closed
	go func() {
		defer close(batches)
		var after int64
		for {
			batch, err := tx.ExportUsers(readCtx, orgID, after, exportBatch)
			if err != nil {
				readErr = err
				return
			}
			select {
			case batches <- batch:
			case <-readCtx.Done():
				readErr = readCtx.Err()
				return
			}
			if len(batch) < exportBatch {
				return
			}
			after = batch[len(batch)-1].ID
		}
	}()

	var (
		written  int
		secs     []string
		writeErr error
	)
	for batch := range batches {
		if writeErr != nil {
			continue // draining after a failed write; the reader stops on cancel
		}
		writeErr = writeBatch(cw, batch, names, &secs)
		written += len(batch)
		if writeErr == nil && progress != nil {
			progress(written)
		}
		if writeErr != nil {
			cancel()
		}
	}
	if writeErr != nil {
		return writeErr
	}
	return readErr
}

// writeBatch writes a batch of users as CSV rows and flushes them.
func writeBatch(cw *report.CSVWriter, batch []*muster.ExportedUser, names map[int64]string, secs *[]string) error {
	for _, u := range batch {
		*secs = (*secs)[:0]
		for _, id := range u.SecondaryTeamIDs {
			*secs = append(*secs, names[id])
		}
		if err := cw.Write(report.Row{User: &u.User, PrimaryTeam: names[u.PrimaryTeamID], SecondaryTeams: *secs,
			InvitedBy: u.InvitedByName}); err != nil {
			return err
		}
	}
	return cw.Flush()
}
