package service

import (
	"context"
	"io"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/report"
)

// exportBatch is how many users one query of an export reads.
const exportBatch = 1000

// ExportUsers writes the org's user list as CSV to w, for Owners and Admins
// (AUD-2..5). It reads users in ID-ordered batches inside one read
// transaction, so the list is one consistent moment and memory stays bounded
// whatever the org's size. progress, if not nil, is called after each batch
// with the number of rows written so far.
func (s *Service) ExportUsers(ctx context.Context, w io.Writer, progress func(rows int)) error {
	return s.view(ctx, func(tx muster.Tx) error {
		a, err := loadAdmin(ctx, tx)
		if err != nil {
			return err
		}
		return exportUsers(ctx, tx, a.orgID, w, progress)
	})
}

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
	var (
		after   int64
		written int
		secs    []string
	)
	for {
		batch, err := tx.ExportUsers(ctx, orgID, after, exportBatch)
		if err != nil {
			return err
		}
		for _, u := range batch {
			secs = secs[:0]
			for _, id := range u.SecondaryTeamIDs {
				secs = append(secs, names[id])
			}
			if err := cw.Write(report.Row{User: &u.User, PrimaryTeam: names[u.PrimaryTeamID], SecondaryTeams: secs,
				InvitedBy: u.InvitedByName}); err != nil {
				return err
			}
		}
		written += len(batch)
		if err := cw.Flush(); err != nil {
			return err
		}
		if progress != nil {
			progress(written)
		}
		if len(batch) < exportBatch {
			return nil
		}
		after = batch[len(batch)-1].ID
	}
}
