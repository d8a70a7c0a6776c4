package api

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/muster-app/muster/internal/download"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/resource"
	"github.com/muster-app/muster/internal/service"
)

type teamJSON = resource.Team

func toTeamJSON(t *muster.Team) teamJSON { return resource.FromTeam(t) }

// writeTeam writes a team with the ETag of its version: the counts change
// as people come and go, and renaming with If-Match must not fail for that.
func writeTeam(w http.ResponseWriter, status int, t *muster.Team) error {
	return writeJSON(w, status, toTeamJSON(t), versionETag(t.Version))
}

type teamList struct {
	Data       []teamJSON `json:"data"`
	NextCursor *string    `json:"next_cursor"`
}

type teamBody struct {
	Name string `json:"name"`
}

func (s *Server) handleTeamList(w http.ResponseWriter, r *http.Request) error {
	var q service.TeamListQuery
	params := paramsOf(r)
	var err error
	if q.Search, err = params.text("q"); err != nil {
		return err
	}
	if q.Cursor, err = params.text("cursor"); err != nil {
		return err
	}
	limit, err := params.int("limit")
	if err != nil {
		return err
	}
	q.Limit = int(limit)
	page, err := s.svc.Teams(r.Context(), q)
	if err != nil {
		return err
	}
	out := teamList{Data: make([]teamJSON, len(page.Teams))}
	for i, t := range page.Teams {
		out.Data[i] = toTeamJSON(t)
	}
	if page.NextCursor != "" {
		out.NextCursor = &page.NextCursor
	}
	return writeJSON(w, http.StatusOK, out, "")
}

func (s *Server) handleTeamGet(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	t, err := s.svc.Team(r.Context(), id)
	if err != nil {
		return err
	}
	return writeTeam(w, http.StatusOK, t)
}

func (s *Server) handleTeamCreate(w http.ResponseWriter, r *http.Request) error {
	var body teamBody
	if err := decode(w, r, &body); err != nil {
		return err
	}
	t, err := s.svc.CreateTeam(r.Context(), body.Name)
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/teams/%d", t.ID))
	return writeTeam(w, http.StatusCreated, t)
}

func (s *Server) handleTeamRename(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var body teamBody
	if err := decode(w, r, &body); err != nil {
		return err
	}
	t, err := s.svc.RenameTeam(r.Context(), id, body.Name, ifMatchVersion(r))
	if err != nil {
		return err
	}
	return writeTeam(w, http.StatusOK, t)
}

func (s *Server) handleTeamRemove(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := s.svc.RemoveTeam(r.Context(), id, ifMatchVersion(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type licenseJSON = resource.License

func toLicenseJSON(o *muster.Org) licenseJSON { return resource.FromOrg(o) }

// writeLicense writes the license usage with the ETag of the org's settings'
// version: seats are taken and freed all the time, and changing the total
// with If-Match must not fail for that.
func writeLicense(w http.ResponseWriter, o *muster.Org) error {
	return writeJSON(w, http.StatusOK, toLicenseJSON(o), versionETag(o.Version))
}

func (s *Server) handleLicenseGet(w http.ResponseWriter, r *http.Request) error {
	org, err := s.svc.LicenseUsage(r.Context())
	if err != nil {
		return err
	}
	return writeLicense(w, org)
}

func (s *Server) handleLicenseSet(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Total int `json:"total"`
	}
	if err := decode(w, r, &body); err != nil {
		return err
	}
	org, err := s.svc.SetLicenseTotal(r.Context(), body.Total, ifMatchVersion(r))
	if err != nil {
		return err
	}
	return writeLicense(w, org)
}

type ownershipTransferBody struct {
	UserID   int64  `json:"user_id"`
	Password string `json:"password"`
}

type ownershipTransferJSON = resource.OwnershipTransfer

// handleOwnershipTransfer makes an Active Admin the Owner (OWN-1).
func (s *Server) handleOwnershipTransfer(w http.ResponseWriter, r *http.Request) error {
	var body ownershipTransferBody
	if err := decode(w, r, &body); err != nil {
		return err
	}
	moved, err := s.svc.TransferOwnership(r.Context(), body.UserID, body.Password)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ownershipTransferJSON{Owner: toUserJSON(moved.To),
		PreviousOwner: toUserJSON(moved.From)}, "")
}

type auditJSON = resource.AuditEvent

type auditPage struct {
	Data       []auditJSON `json:"data"`
	NextCursor *string     `json:"next_cursor"`
}

func (s *Server) handleAuditList(w http.ResponseWriter, r *http.Request) error {
	var query service.AuditQuery
	var err error
	params := paramsOf(r)
	if query.ActorID, err = params.int("actor_id"); err != nil {
		return err
	}
	if query.TargetID, err = params.int("target_id"); err != nil {
		return err
	}
	if query.TargetType, err = params.text("target_type"); err != nil {
		return err
	}
	if query.Action, err = params.text("action"); err != nil {
		return err
	}
	if query.TargetID != 0 && query.TargetType == "" {
		query.TargetType = "user"
	}
	if query.Since, err = params.time("since"); err != nil {
		return err
	}
	if query.Until, err = params.time("until"); err != nil {
		return err
	}
	if query.BeforeID, err = params.int("cursor"); err != nil {
		return badRequest("The cursor is not valid. Start again from the first page.")
	}
	limit, err := params.int("limit")
	if err != nil {
		return err
	}
	query.Limit = int(limit)
	page, err := s.svc.FindAuditEvents(r.Context(), query)
	if err != nil {
		return err
	}
	out := auditPage{Data: make([]auditJSON, len(page.Events))}
	for i, e := range page.Events {
		out.Data[i] = resource.FromAuditEvent(e)
	}
	if page.NextBeforeID != 0 {
		c := fmt.Sprint(page.NextBeforeID)
		out.NextCursor = &c
	}
	return writeJSON(w, http.StatusOK, out, "")
}

type sendAsJSON = resource.SendAs

// writeSendAs writes a permission with the ETag of its version.
func writeSendAs(w http.ResponseWriter, status int, p *muster.SendAsPermission) error {
	return writeJSON(w, status, toSendAsJSON(p), versionETag(p.Version))
}

func toSendAsJSON(p *muster.SendAsPermission) sendAsJSON { return resource.FromSendAs(p) }

type sendAsBody struct {
	FromName     string  `json:"from_name"`
	FromEmail    string  `json:"from_email"`
	ReplyToName  *string `json:"reply_to_name"`
	ReplyToEmail *string `json:"reply_to_email"`
	UserIDs      []int64 `json:"user_ids"`
	// SelectAll grants every user Active at this moment.
	SelectAll bool `json:"select_all"`
}

func (b sendAsBody) input() service.SendAsInput {
	in := service.SendAsInput{FromName: b.FromName, FromEmail: b.FromEmail, UserIDs: b.UserIDs, SelectAll: b.SelectAll}
	if b.ReplyToEmail != nil || b.ReplyToName != nil {
		in.DifferentReplyTo = true
		if b.ReplyToName != nil {
			in.ReplyToName = *b.ReplyToName
		}
		if b.ReplyToEmail != nil {
			in.ReplyToEmail = *b.ReplyToEmail
		}
	}
	return in
}

func (s *Server) handleSendAsList(w http.ResponseWriter, r *http.Request) error {
	perms, err := s.svc.SendAsSummaries(r.Context())
	if err != nil {
		return err
	}
	out := struct {
		Data []resource.SendAsSummary `json:"data"`
	}{Data: make([]resource.SendAsSummary, len(perms))}
	for i, p := range perms {
		out.Data[i] = resource.FromSendAsSummary(p)
	}
	return writeJSON(w, http.StatusOK, out, "")
}

func (s *Server) handleSendAsCreate(w http.ResponseWriter, r *http.Request) error {
	var body sendAsBody
	if err := decode(w, r, &body); err != nil {
		return err
	}
	p, err := s.svc.CreateSendAs(r.Context(), body.input())
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/send-as/%d", p.ID))
	return writeSendAs(w, http.StatusCreated, p)
}

func (s *Server) handleSendAsGet(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	p, err := s.svc.SendAs(r.Context(), id)
	if err != nil {
		return err
	}
	return writeSendAs(w, http.StatusOK, p)
}

func (s *Server) handleSendAsUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var body sendAsBody
	if err := decode(w, r, &body); err != nil {
		return err
	}
	in := body.input()
	in.IfVersion = ifMatchVersion(r)
	p, err := s.svc.UpdateSendAs(r.Context(), id, in)
	if err != nil {
		return err
	}
	return writeSendAs(w, http.StatusOK, p)
}

func (s *Server) handleSendAsDelete(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := s.svc.DeleteSendAs(r.Context(), id, ifMatchVersion(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type reportJSON struct {
	ID          int64               `json:"id"`
	Status      string              `json:"status"`
	RowsWritten int                 `json:"rows_written"`
	RowsTotal   int                 `json:"rows_total"`
	CreatedAt   time.Time           `json:"created_at"`
	FinishedAt  *resource.Timestamp `json:"finished_at"`
	ExpiresAt   *resource.Timestamp `json:"expires_at"`
	DownloadURL *string             `json:"download_url"`
}

func toReportJSON(r *muster.Report) reportJSON {
	j := reportJSON{ID: r.ID, Status: string(r.Status), RowsWritten: r.RowsWritten, RowsTotal: r.RowsTotal,
		CreatedAt: r.CreatedAt.UTC(), FinishedAt: resource.Time(r.FinishedAt), ExpiresAt: resource.Time(r.ExpiresAt)}
	if r.Status == muster.ReportDone {
		u := fmt.Sprintf("/api/v1/reports/%d/download", r.ID)
		j.DownloadURL = &u
	}
	return j
}

func (s *Server) handleReportCreate(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.svc.RequestUserList(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/reports/%d", rep.ID))
	return writeJSON(w, http.StatusAccepted, toReportJSON(rep), "")
}

func (s *Server) handleReportGet(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	rep, err := s.svc.Report(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toReportJSON(rep), "")
}

func (s *Server) handleReportDownload(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	rep, rc, err := s.svc.OpenReport(r.Context(), id)
	if err != nil {
		return err
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="users-%s.csv"`,
		strings.ReplaceAll(rep.FinishedAt.UTC().Format("2006-01-02T15-04-05Z"), ":", "-")))
	if _, err := download.Copy(w, r, rc); err != nil {
		// The status is sent; all that is left is to log and cut the body short.
		s.log.Error("api: streaming a report", "report", id, "err", err)
	}
	return nil
}
