package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/muster-app/muster/internal/download"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

// auditPage is the audit log (LOG-1): newest first, filtered by actor,
// target, action and date, in keyset pages.
type auditPage struct {
	Page
	Action, Actor, Target, From, To string
	Events                          []auditRow
	Next                            string
	ExportURL                       string
	Message                         string
}

type auditRow struct {
	Time, Actor, Action, Target, Change, Origin string
}

// auditQuery reads the filters: actor and target are user ids, shown as the
// users' emails in links from elsewhere; dates are days in UTC.
func auditQuery(q url.Values) (service.AuditQuery, string) {
	var aq service.AuditQuery
	aq.Action = strings.TrimSpace(q.Get("action"))
	aq.ActorID, _ = strconv.ParseInt(q.Get("actor"), 10, 64)
	if id, err := strconv.ParseInt(q.Get("target"), 10, 64); err == nil {
		aq.TargetType, aq.TargetID = "user", id
	}
	var problem string
	if v := q.Get("from"); v != "" {
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			problem = "Dates look like 2026-01-31."
		}
		aq.Since = t
	}
	if v := q.Get("to"); v != "" {
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			problem = "Dates look like 2026-01-31."
		} else {
			aq.Until = t.Add(24 * time.Hour)
		}
	}
	aq.BeforeID, _ = strconv.ParseInt(q.Get("before"), 10, 64)
	return aq, problem
}

// newAuditRow is an event as a row of the audit log.
func newAuditRow(e *muster.AuditEvent) auditRow {
	return auditRow{Time: humanTime(e.CreatedAt), Actor: e.ActorLabel, Action: e.Action,
		Target: e.TargetType + " " + e.TargetLabel, Change: describeChange(e.Before, e.After), Origin: e.Origin}
}

func describeChange(before, after map[string]any) string {
	if before == nil && after == nil {
		return ""
	}
	b, _ := json.Marshal(before)
	a, _ := json.Marshal(after)
	switch {
	case before == nil:
		return string(a)
	case after == nil:
		return "was " + string(b)
	}
	return string(b) + " → " + string(a)
}

func (s *Server) handleAuditLog(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	q := r.Form
	aq, problem := auditQuery(q)
	page, err := s.svc.FindAuditEvents(r.Context(), aq)
	if s.refused(w, r, err) {
		return
	}
	p := auditPage{Page: s.page(w, r, "Audit log"), Action: q.Get("action"), Actor: q.Get("actor"), Target: q.Get("target"),
		From: q.Get("from"), To: q.Get("to"), Message: problem}
	p.Section = "audit"
	for _, e := range page.Events {
		p.Events = append(p.Events, newAuditRow(e))
	}
	export := url.Values{}
	for k, v := range q {
		if k != "before" {
			export[k] = v
		}
	}
	p.ExportURL = "/settings/audit-log.csv?" + export.Encode()
	if page.NextBeforeID != 0 {
		export.Set("before", strconv.FormatInt(page.NextBeforeID, 10))
		p.Next = "/settings/audit-log?" + export.Encode()
	}
	s.render(w, r, http.StatusOK, "audit", p)
}

func (s *Server) handleAuditExport(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	aq, _ := auditQuery(r.Form)
	aq.BeforeID = 0
	csv := download.NewAttachment(w, r, "text/csv; charset=utf-8", "audit-log.csv")
	err := s.svc.ExportAuditEvents(r.Context(), csv, aq)
	switch {
	case err != nil && !csv.Started():
		// Refused before the first byte: a page says why.
		s.refused(w, r, err)
	case err != nil:
		// The status is sent; all that is left is to log and cut the file short.
		s.log.Error("web: exporting the audit log", "err", err)
	}
}
