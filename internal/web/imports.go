package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/muster-app/muster/internal/httperr"
	"github.com/muster-app/muster/internal/importcsv"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

// importPath is Roles & Access → Users → Import users (BULK-1).
const importPath = usersPath + "/imports"

// importRowsPerPage is how many rows of a plan a page shows.
const importRowsPerPage = 50

func (s *Server) importRoutes() {
	s.mux.HandleFunc("GET "+importPath, s.requireUser(s.handleImportForm))
	s.mux.HandleFunc("POST "+importPath, s.requireUser(s.handleImportUpload))
	s.mux.HandleFunc("GET "+importPath+"/template.csv", s.requireUser(s.handleImportTemplate))
	s.mux.HandleFunc("GET "+importPath+"/{id}", s.requireUser(s.handleImportPage))
	s.mux.HandleFunc("GET "+importPath+"/{id}/progress", s.requireUser(s.handleImportProgress))
	s.mux.HandleFunc("GET "+importPath+"/{id}/errors.csv", s.requireUser(s.handleImportErrors))
	s.mux.HandleFunc("GET "+importPath+"/{id}/failures.csv", s.requireUser(s.handleImportFailures))
	s.mux.HandleFunc("POST "+importPath+"/{id}/commit", s.requireUser(s.handleImportCommit))
}

// importForm is the upload page, with the org's recent imports.
type importForm struct {
	Page
	Message string
	Recent  []*service.ImportPlan
	// Now is the service's time, which the uploads' dates are shown
	// against.
	Now time.Time
}

// Errors is the form's error summary.
func (f importForm) Errors() *errorSummary { return summarize(f.Message) }

func (s *Server) handleImportForm(w http.ResponseWriter, r *http.Request) {
	s.renderImportForm(w, r, http.StatusOK, "")
}

func (s *Server) renderImportForm(w http.ResponseWriter, r *http.Request, status int, message string) {
	recent, err := s.svc.FindImports(r.Context(), 5)
	if s.refused(w, r, err) {
		return
	}
	f := importForm{Page: s.page(w, r, "Import users"), Message: message, Recent: recent, Now: s.svc.Now()}
	f.Section = "users"
	s.render(w, r, status, "imports", f)
}

// handleImportUpload reads the uploaded file (multipart) and shows its
// dry run.
func (s *Server) handleImportUpload(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, importcsv.MaxBytes+1<<20)
	if err := r.ParseMultipartForm(importcsv.UploadInMemory); errors.Is(err, http.ErrNotMultipart) {
		s.renderImportForm(w, r, http.StatusBadRequest, "Choose a CSV file to upload.")
		return
	} else if err != nil {
		s.renderImportForm(w, r, http.StatusUnprocessableEntity, uploadProblem(err))
		return
	}
	defer r.MultipartForm.RemoveAll()
	file, header, err := r.FormFile("file")
	if err != nil || header.Size == 0 {
		s.renderImportForm(w, r, http.StatusUnprocessableEntity, "Choose a CSV file to upload: the one chosen is empty.")
		return
	}
	defer file.Close()
	_, createTeams := r.MultipartForm.Value["create_teams"]
	p, err := s.svc.PlanImport(r.Context(), service.ImportInput{FileName: header.Filename, File: file,
		CreateTeams: createTeams})
	if err != nil {
		if code := muster.ErrorCode(err); code == muster.EINVALID {
			s.renderImportForm(w, r, http.StatusUnprocessableEntity, muster.ErrorMessage(err))
			return
		}
		s.refused(w, r, err)
		return
	}
	http.Redirect(w, r, fmt.Sprintf("%s/%d", importPath, p.ID), http.StatusSeeOther)
}

func uploadProblem(err error) string {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return muster.ErrorMessage(importcsv.ErrTooLarge)
	}
	return "The upload could not be read. Choose the file and try again."
}

// importPage is a dry run, a commit in progress or its result.
type importPage struct {
	Page
	Import  *service.ImportPlan
	Message string
	// Rows are the page's rows of the plan with errors or changes.
	Rows                []*service.ImportRow
	RowsShown           int
	PrevURL, NextURL    string
	First, Last         int
	Failures            []*muster.ImportFailure
	Percent             int
	Problem             string
	Actions             []actionCount
	Base                string
	CreatedTeamsPending []string
}

type actionCount struct {
	Label string
	N     int
	Class string
}

// Errors is the page's error summary.
func (p importPage) Errors() *errorSummary { return summarize(p.Message) }

func (s *Server) handleImportPage(w http.ResponseWriter, r *http.Request) {
	s.renderImport(w, r, http.StatusOK, "")
}

func (s *Server) renderImport(w http.ResponseWriter, r *http.Request, status int, message string) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	p, err := s.svc.FindImport(r.Context(), id, true)
	if s.refused(w, r, err) {
		return
	}
	page := importPage{Page: s.page(w, r, "Import users"), Import: p, Message: message,
		Base: fmt.Sprintf("%s/%d", importPath, p.ID)}
	page.Section = "users"
	switch p.Status {
	case muster.ImportPlanned:
		page.Problem = p.Committable()
		c := p.Summary.Counts
		page.Actions = []actionCount{{"Invite", c.Invite, "invite"}, {"Invite again", c.Reinvite, "reinvite"},
			{"Update", c.Update, "update"}, {"Unchanged", c.Unchanged, "unchanged"}, {"Errors", c.Error, "error"}}
		// The page's rows of those listed (all but the unchanged), read a
		// row at a time: the plan is never held whole.
		n, _ := strconv.Atoi(r.URL.Query().Get("page"))
		n = max(n, 1)
		from := (n - 1) * importRowsPerPage
		err := p.EachRow(func(row *service.ImportRow) error {
			if row.Action == service.ImportUnchanged {
				return nil
			}
			if page.RowsShown >= from && len(page.Rows) < importRowsPerPage {
				page.Rows = append(page.Rows, row)
			}
			page.RowsShown++
			return nil
		})
		if s.refused(w, r, err) {
			return
		}
		from = min(from, page.RowsShown)
		to := from + len(page.Rows)
		page.First, page.Last = from+1, to
		if from > 0 {
			page.PrevURL = page.Base + "?" + url.Values{"page": {strconv.Itoa(n - 1)}}.Encode()
		}
		if to < page.RowsShown {
			page.NextURL = page.Base + "?" + url.Values{"page": {strconv.Itoa(n + 1)}}.Encode()
		}
	case muster.ImportQueued, muster.ImportRunning:
		page.RefreshEvery = 2
		page.Percent = percent(p.RowsDone, p.RowsTotal)
	default:
		page.Percent = 100
		if page.Failures, err = s.svc.FindImportFailures(r.Context(), p.ID); s.refused(w, r, err) {
			return
		}
	}
	s.render(w, r, status, "import", page)
}

func percent(n, total int) int {
	if total == 0 {
		return 0
	}
	return n * 100 / total
}

// handleImportProgress is the progress the page's script polls for.
func (s *Server) handleImportProgress(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	p, err := s.svc.FindImport(r.Context(), id, false)
	if err != nil {
		w.WriteHeader(httperr.Status(err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(map[string]any{"status": p.Status, "rows_done": p.RowsDone, "rows_total": p.RowsTotal,
		"percent": percent(p.RowsDone, p.RowsTotal)})
}

func (s *Server) handleImportCommit(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	if _, err := s.svc.CommitImport(r.Context(), id); err != nil {
		switch muster.ErrorCode(err) {
		case muster.EINVALID, muster.ECONFLICT, muster.ESEATS:
			s.renderImport(w, r, httperr.Status(err), muster.ErrorMessage(err))
		default:
			s.refused(w, r, err)
		}
		return
	}
	http.Redirect(w, r, fmt.Sprintf("%s/%d", importPath, id), http.StatusSeeOther)
}

func csvHeaders(w http.ResponseWriter, name string) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
}

func (s *Server) handleImportTemplate(w http.ResponseWriter, r *http.Request) {
	csvHeaders(w, "muster-import-template.csv")
	w.Write(importcsv.Template())
}

func (s *Server) handleImportErrors(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	p, err := s.svc.FindImport(r.Context(), id, true)
	if s.refused(w, r, err) {
		return
	}
	csvHeaders(w, fmt.Sprintf("import-%d-errors.csv", id))
	if err := service.WriteImportErrors(w, p); err != nil {
		s.log.Error("web: writing an import's error CSV", "import", id, "err", err)
	}
}

func (s *Server) handleImportFailures(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	failures, err := s.svc.FindImportFailures(r.Context(), id)
	if s.refused(w, r, err) {
		return
	}
	csvHeaders(w, fmt.Sprintf("import-%d-failed-rows.csv", id))
	if err := service.WriteImportFailures(w, failures); err != nil {
		s.log.Error("web: writing an import's failed rows", "import", id, "err", err)
	}
}
