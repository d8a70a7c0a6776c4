package web

import (
	"fmt"
	"net/http"

	"github.com/muster-app/muster/internal/download"
	"github.com/muster-app/muster/internal/muster"
)

// handleReportDownload serves a finished user list to a signed-in Owner or
// Admin of its org, from any instance: the CSV lives in the database
// (AUD-2). Anyone else is told there is nothing here.
func (s *Server) handleReportDownload(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	rep, rc, err := s.svc.OpenReport(r.Context(), id)
	switch code := muster.ErrorCode(err); code {
	case "":
	case muster.EGONE:
		u, _ := current(r)
		s.message(w, r, http.StatusGone, messagePage{Page: Page{User: u}, Heading: "This user list has expired",
			Message: muster.ErrorMessage(err), Link: "/", LinkText: "Go to Muster"})
		return
	default:
		s.refused(w, r, err)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="users-%s.csv"`,
		rep.FinishedAt.UTC().Format("2006-01-02T15-04-05Z")))
	if _, err := download.Copy(w, r, rc); err != nil {
		s.log.Error("web: streaming a report", "report", id, "err", err)
	}
}
