package api

import (
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/muster-app/muster/internal/importcsv"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/resource"
	"github.com/muster-app/muster/internal/service"
)

// importRoutes registers the CSV import (BULK-1). Its upload is a file,
// not JSON: handleUpload takes multipart/form-data or text/csv.
func (s *Server) importRoutes() {
	s.handleUpload("POST /api/v1/imports", s.handleImportCreate)
	s.handle("GET /api/v1/imports/{id}", s.handleImportGet)
	s.handle("POST /api/v1/imports/{id}/commit", s.handleImportCommit)
	s.handle("GET /api/v1/imports/{id}/errors.csv", s.handleImportErrors)
	s.handle("GET /api/v1/imports/{id}/failures", s.handleImportFailures)
	s.handle("GET /api/v1/imports/template.csv", s.handleImportTemplate)
}

// handleUpload registers an authenticated route whose body is a file. Its
// Idempotency-Key identifies the route and its parameters here; the
// service adds the file itself (its body as sent is a multipart envelope
// whose boundary a client draws anew at each try), and reads the file
// once more to do so.
func (s *Server) handleUpload(pattern string, fn func(w http.ResponseWriter, r *http.Request) error) {
	s.patterns = append(s.patterns, pattern)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		ctx, err := s.authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="muster"`)
			s.writeError(w, r, err)
			return
		}
		if err := checkHeaders(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		if key := r.Header.Get("Idempotency-Key"); key != "" {
			sum := sha256.Sum256([]byte(r.Method + " " + r.URL.Path + "?" + r.URL.Query().Encode()))
			idem := &service.Idempotency{Key: key, RequestHash: sum[:]}
			ctx = service.WithIdempotency(ctx, idem)
			w = &replayMarker{ResponseWriter: w, idem: idem}
		}
		if err := fn(w, r.WithContext(ctx)); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// importJSON is an import as the API shows it.
type importJSON struct {
	ID           int64                 `json:"id"`
	Status       string                `json:"status"`
	FileName     string                `json:"file_name"`
	CreateTeams  bool                  `json:"create_teams"`
	RowsTotal    int                   `json:"rows_total"`
	RowsDone     int                   `json:"rows_done"`
	Counts       service.ImportCounts  `json:"counts"`
	Notes        []string              `json:"notes"`
	MissingTeams []string              `json:"missing_teams"`
	Seats        importSeatsJSON       `json:"seats"`
	Committable  bool                  `json:"committable"`
	Problem      *string               `json:"problem"`
	Result       *service.ImportResult `json:"result"`
	LastError    *string               `json:"last_error"`
	CreatedAt    time.Time             `json:"created_at"`
	CommittedAt  *resource.Timestamp   `json:"committed_at"`
	FinishedAt   *resource.Timestamp   `json:"finished_at"`
	Rows         []importRowJSON       `json:"rows,omitempty"`
}

type importSeatsJSON struct {
	Needed       int     `json:"needed"`
	Free         int     `json:"free"`
	Used         int     `json:"used"`
	LicenseTotal int     `json:"license_total"`
	Problem      *string `json:"problem"`
}

type importRowJSON struct {
	Row            int                 `json:"row"`
	Email          string              `json:"email"`
	Action         string              `json:"action"`
	Role           *string             `json:"role"`
	PrimaryTeam    *string             `json:"primary_team"`
	SecondaryTeams []string            `json:"secondary_teams"`
	Changes        []string            `json:"changes"`
	Errors         []importcsv.Problem `json:"errors"`
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// ImportJSON is an import as the API shows it, with its rows, for the
// command line's --json.
func ImportJSON(p *service.ImportPlan) (any, error) {
	out := toImportJSON(p)
	err := p.EachRow(func(r *service.ImportRow) error {
		out.Rows = append(out.Rows, toImportRowJSON(r))
		return nil
	})
	return out, err
}

func toImportJSON(p *service.ImportPlan) importJSON {
	out := importJSON{ID: p.ID, Status: string(p.Status), FileName: p.FileName, CreateTeams: p.CreateTeams,
		RowsTotal: p.RowsTotal, RowsDone: p.RowsDone, Counts: p.Summary.Counts, Notes: nonNil(p.Summary.Notes),
		MissingTeams: nonNil(p.Summary.MissingTeams), Committable: p.Committable() == "",
		Seats: importSeatsJSON{Needed: p.Summary.SeatsNeeded, Free: p.Summary.SeatsFree, Used: p.Summary.SeatsUsed,
			LicenseTotal: p.Summary.LicenseTotal, Problem: optional(p.Summary.SeatsProblem)},
		LastError: optional(p.LastError), CreatedAt: p.CreatedAt, CommittedAt: resource.Time(p.CommittedAt),
		FinishedAt: resource.Time(p.FinishedAt)}
	if p.Status == muster.ImportPlanned {
		out.Problem = optional(p.Committable())
	} else {
		res := p.Result
		out.Result = &res
	}
	return out
}

func toImportRowJSON(r *service.ImportRow) importRowJSON {
	row := importRowJSON{Row: r.Line, Email: r.Email, Action: string(r.Action), Changes: nonNil(r.Changes),
		Errors: nonNil(r.Errors), SecondaryTeams: nonNil(r.SecondaryTeams)}
	if r.Action != service.ImportError {
		role := r.Role.Label()
		row.Role, row.PrimaryTeam = &role, optional(r.PrimaryTeam)
	}
	return row
}

// writeImportJSON writes an import with its rows, if it was read with
// them, one row at a time, so that the answer of a 100,000-row dry run is
// never held whole in memory.
func writeImportJSON(w http.ResponseWriter, status int, p *service.ImportPlan) error {
	head, err := json.Marshal(toImportJSON(p))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.Write(head[:len(head)-1]) // without its closing brace
	enc := json.NewEncoder(bw)
	rows := 0
	err = p.EachRow(func(r *service.ImportRow) error {
		if rows == 0 {
			bw.WriteString(`,"rows":[`)
		} else {
			bw.WriteByte(',')
		}
		rows++
		return enc.Encode(toImportRowJSON(r))
	})
	if err != nil {
		return err
	}
	if rows > 0 {
		bw.WriteByte(']')
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

// maxUpload bounds an import's request: the file's limit and room for a
// multipart envelope.
const maxUpload = importcsv.MaxBytes + 1<<20

// handleImportCreate reads an uploaded file, as multipart/form-data (its
// part "file") or as the body itself (text/csv), and answers its dry run:
// the plan of every row (201). Without dry_run=true the plan is also
// committed at once, if it can be (202).
func (s *Server) handleImportCreate(w http.ResponseWriter, r *http.Request) error {
	params := paramsOf(r)
	dryRun, err := params.bool("dry_run")
	if err != nil {
		return err
	}
	createTeams, err := params.bool("create_teams")
	if err != nil {
		return err
	}
	fileName, err := params.text("file_name")
	if err != nil {
		return err
	}
	body := http.MaxBytesReader(w, r.Body, maxUpload)
	var file io.Reader
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "multipart/form-data":
		r.Body = body
		if err := r.ParseMultipartForm(importcsv.UploadInMemory); err != nil {
			if uploadError(err) == importcsv.ErrTooLarge {
				return importcsv.ErrTooLarge
			}
			return badRequest("The multipart body could not be read: " + err.Error() + ".")
		}
		defer r.MultipartForm.RemoveAll()
		part, header, err := r.FormFile("file")
		if err != nil {
			return badRequest(`The multipart body has no part named "file".`)
		}
		defer part.Close()
		if fileName == "" {
			fileName = header.Filename
		}
		file = part
	case "text/csv", "text/plain", "application/csv":
		file = body
	default:
		w.Header().Set("Accept-Post", "multipart/form-data, text/csv")
		writeProblem(w, http.StatusUnsupportedMediaType, codeUnsupportedMediaType, "Unsupported media type",
			"Send the CSV file as multipart/form-data (a part named file) or as the body, with Content-Type: text/csv.", nil)
		return nil
	}
	plan, err := s.svc.PlanImport(r.Context(), service.ImportInput{FileName: fileName, File: &limitError{r: file},
		CreateTeams: createTeams, Commit: !dryRun})
	if err != nil {
		return uploadError(err)
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/imports/%d", plan.ID))
	switch {
	case plan.NotCommitted != nil:
		return plan.NotCommitted
	case dryRun:
		return writeImportJSON(w, http.StatusCreated, plan)
	}
	return writeImportJSON(w, http.StatusAccepted, plan)
}

// limitError turns a body cut at maxUpload into the import's own refusal.
type limitError struct{ r io.Reader }

func (l *limitError) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return n, importcsv.ErrTooLarge
	}
	return n, err
}

func uploadError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return importcsv.ErrTooLarge
	}
	return err
}

func (s *Server) handleImportGet(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	rows, err := paramsOf(r).bool("rows")
	if err != nil {
		return err
	}
	p, err := s.svc.FindImport(r.Context(), id, rows)
	if err != nil {
		return err
	}
	return writeImportJSON(w, http.StatusOK, p)
}

func (s *Server) handleImportCommit(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	p, err := s.svc.CommitImport(r.Context(), id)
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/imports/%d", p.ID))
	return writeJSON(w, http.StatusAccepted, toImportJSON(p), "")
}

func (s *Server) handleImportErrors(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	p, err := s.svc.FindImport(r.Context(), id, true)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="import-%d-errors.csv"`, id))
	return service.WriteImportErrors(w, p)
}

type importFailureJSON struct {
	Row    int    `json:"row"`
	Email  string `json:"email"`
	Reason string `json:"reason"`
}

func (s *Server) handleImportFailures(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	failures, err := s.svc.FindImportFailures(r.Context(), id)
	if err != nil {
		return err
	}
	out := struct {
		Failures []importFailureJSON `json:"failures"`
	}{Failures: []importFailureJSON{}}
	for _, f := range failures {
		out.Failures = append(out.Failures, importFailureJSON{Row: f.Line, Email: f.Email, Reason: f.Reason})
	}
	return writeJSON(w, http.StatusOK, out, "")
}

func (s *Server) handleImportTemplate(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="muster-import-template.csv"`)
	_, err := w.Write(importcsv.Template())
	return err
}
