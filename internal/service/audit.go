package service

import (
	"context"
	"io"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/report"
)

// AuditQuery selects audit events, newest first (LOG-1).
type AuditQuery struct {
	ActorID    int64
	TargetType string
	TargetID   int64
	Action     string
	Since      time.Time
	Until      time.Time
	// BeforeID is the ID of the last event of the previous page.
	BeforeID int64
	Limit    int
}

// check refuses filters that are not valid text (muster.TextProblem); the
// interfaces refuse them first, in their own words.
func (q AuditQuery) check() error {
	for _, v := range []string{q.TargetType, q.Action} {
		if problem := muster.TextProblem(v); problem != "" {
			return muster.Errorf(muster.EINVALID, "The audit log's filter %s.", problem)
		}
	}
	return nil
}

// AuditPage is one page of audit events.
type AuditPage struct {
	Events []*muster.AuditEvent
	// NextBeforeID is the BeforeID of the next page; 0 on the last.
	NextBeforeID int64
}

// FindAuditEvents lists the org's audit events for Owners and Admins.
func (s *Service) FindAuditEvents(ctx context.Context, q AuditQuery) (*AuditPage, error) {
	limit := pageLimit(q.Limit)
	var page AuditPage
	err := s.view(ctx, func(tx *txn) error {
		a, err := loadAdmin(ctx, tx)
		if err != nil {
			return err
		}
		if err := q.check(); err != nil {
			return err
		}
		events, err := tx.FindAuditEvents(ctx, muster.AuditFilter{OrgID: a.orgID, ActorID: q.ActorID,
			TargetType: q.TargetType, TargetID: q.TargetID, Action: q.Action, Since: q.Since, Until: q.Until,
			BeforeID: q.BeforeID, Limit: limit + 1})
		if err != nil {
			return err
		}
		if len(events) > limit {
			events = events[:limit]
			page.NextBeforeID = events[limit-1].ID
		}
		page.Events = events
		return nil
	})
	return &page, err
}

// ExportAuditEvents writes the org's audit events that match q as CSV,
// newest first, for Owners and Admins (LOG-1). It pages through them inside
// one read transaction, holding one page at a time.
func (s *Service) ExportAuditEvents(ctx context.Context, w io.Writer, q AuditQuery) error {
	return s.view(ctx, func(tx *txn) error {
		a, err := loadAdmin(ctx, tx)
		if err != nil {
			return err
		}
		if err := q.check(); err != nil {
			return err
		}
		aw, err := report.NewAuditCSVWriter(w)
		if err != nil {
			return err
		}
		filter := muster.AuditFilter{OrgID: a.orgID, ActorID: q.ActorID, TargetType: q.TargetType,
			TargetID: q.TargetID, Action: q.Action, Since: q.Since, Until: q.Until, BeforeID: q.BeforeID, Limit: exportBatch}
		for {
			events, err := tx.FindAuditEvents(ctx, filter)
			if err != nil {
				return err
			}
			for _, e := range events {
				if err := aw.Write(e); err != nil {
					return err
				}
			}
			if err := aw.Flush(); err != nil {
				return err
			}
			if len(events) < exportBatch {
				return nil
			}
			filter.BeforeID = events[len(events)-1].ID
		}
	})
}
