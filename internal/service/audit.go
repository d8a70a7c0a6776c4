package service

import (
	"context"
	"io"
	"slices"
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
	return readAs(ctx, s, loadAdmin, func(tx *txn, a *actor) (*AuditPage, error) {
		return findAuditPage(ctx, tx, a, q)
	})
}

// findAuditPage reads the page of the org's audit events that q selects.
func findAuditPage(ctx context.Context, tx *txn, a *actor, q AuditQuery) (*AuditPage, error) {
	if err := q.check(); err != nil {
		return nil, err
	}
	limit := pageLimit(q.Limit)
	events, err := tx.FindAuditEvents(ctx, muster.AuditFilter{OrgID: a.orgID, ActorID: q.ActorID,
		TargetType: q.TargetType, TargetID: q.TargetID, Action: q.Action, Since: q.Since, Until: q.Until,
		BeforeID: q.BeforeID, Limit: limit + 1})
	if err != nil {
		return nil, err
	}
	page := &AuditPage{Events: events}
	if len(events) > limit {
		page.Events = events[:limit]
		page.NextBeforeID = events[limit-1].ID
	}
	return page, nil
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

// AuditLogQuery is the audit log page's query: AuditQuery, with the actor
// and the target also named by a search (a name or an email), which the
// page's user picker sends.
type AuditLogQuery struct {
	AuditQuery
	ActorSearch  string
	TargetSearch string
}

// AuditLog is the audit log page: a page of events, the org's teams (which
// name the teams in the events' changes) and the people the filters name:
// the actor and target chosen, or, for a search that matches several
// people, up to auditPickerLimit of them to choose from.
type AuditLog struct {
	AuditPage
	Teams []muster.TeamName
	// People are the users the events name, by id: actors, targets and
	// the users of Send As grants.
	People        map[int64]*muster.User
	Actor, Target *muster.User
	ActorChoices  []*muster.User
	TargetChoices []*muster.User
}

// auditPickerLimit is how many people a search of the audit log's user
// picker offers.
const auditPickerLimit = 10

// FindAuditLog returns the audit log page for Owners and Admins, read in
// one transaction. A search for the actor or target that matches one
// person filters by them; one that matches several filters by nobody yet
// and offers them; one that matches nobody is refused.
func (s *Service) FindAuditLog(ctx context.Context, q AuditLogQuery) (*AuditLog, error) {
	return readAs(ctx, s, loadAdmin, func(tx *txn, a *actor) (*AuditLog, error) {
		out := &AuditLog{}
		pick := func(id *int64, search string, chosen **muster.User, choices *[]*muster.User, role string) error {
			if *id != 0 {
				u, err := tx.PeekUser(ctx, a.orgID, *id)
				if err == nil {
					*chosen = u
				}
				return nil
			}
			if search == "" {
				return nil
			}
			if err := checkSearch(search); err != nil {
				return muster.FieldErrorf(muster.EINVALID, role, "%s", muster.ErrorMessage(err))
			}
			users, err := tx.FindUsers(ctx, muster.UserFilter{OrgID: a.orgID, Query: search, Limit: auditPickerLimit})
			switch {
			case err != nil:
				return err
			case len(users) == 0:
				return muster.FieldErrorf(muster.EINVALID, role, "Nobody's name or email starts with %q.", search)
			case len(users) == 1:
				*id, *chosen = users[0].ID, users[0]
			default:
				*choices = users
			}
			return nil
		}
		if err := pick(&q.ActorID, q.ActorSearch, &out.Actor, &out.ActorChoices, "actor"); err != nil {
			return nil, err
		}
		if err := pick(&q.TargetID, q.TargetSearch, &out.Target, &out.TargetChoices, "target"); err != nil {
			return nil, err
		}
		if q.TargetID != 0 && q.TargetType == "" {
			q.TargetType = muster.TargetUser
		}
		page, err := findAuditPage(ctx, tx, a, q.AuditQuery)
		if err != nil {
			return nil, err
		}
		out.AuditPage = *page
		if out.People, err = eventPeople(ctx, tx, a.orgID, page.Events); err != nil {
			return nil, err
		}
		out.Teams, err = tx.FindTeamNames(ctx, a.orgID)
		return out, err
	})
}

// NamedGrantees is how many of the users an audit event of Send As grants
// names, the first of its list: a grant to every Active user (Select All)
// records thousands, which the audit log counts rather than names.
const NamedGrantees = 10

// eventPeople reads the users that events name, by id: their actors, the
// users they are about and the first NamedGrantees users of the Send As
// grants they record.
func eventPeople(ctx context.Context, tx muster.Tx, orgID int64, events []*muster.AuditEvent) (map[int64]*muster.User, error) {
	var ids []int64
	for _, e := range events {
		if e.ActorID != 0 {
			ids = append(ids, e.ActorID)
		}
		if e.TargetType == muster.TargetUser {
			ids = append(ids, e.TargetID)
		}
		for _, m := range []map[string]any{e.Before, e.After} {
			if list, ok := m["user_ids"].([]any); ok {
				for _, v := range list[:min(len(list), NamedGrantees)] {
					if f, ok := v.(float64); ok {
						ids = append(ids, int64(f))
					}
				}
			}
		}
	}
	users, err := tx.FindUsersByID(ctx, orgID, slices.Compact(slices.Sorted(slices.Values(ids))))
	people := make(map[int64]*muster.User, len(users))
	for _, u := range users {
		people[u.ID] = u
	}
	return people, err
}
