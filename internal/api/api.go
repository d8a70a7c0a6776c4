// Package api serves Muster's JSON API under /api/v1 (API-1..3). Handlers
// parse a request, call one service method and render its result; every
// rule lives in the service. Errors are RFC 9457 problem details.
package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/muster-app/muster/internal/bufpool"
	"github.com/muster-app/muster/internal/httperr"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

// OpenAPI is the API's OpenAPI 3.1 description, served at
// /api/v1/openapi.json.
//
//go:embed openapi.json
var OpenAPI []byte

// maxBody bounds request bodies.
const maxBody = 1 << 20

// Server is the API's HTTP handler.
type Server struct {
	svc *service.Service
	log *slog.Logger
	mux *http.ServeMux
	// patterns are the routes registered, for Routes.
	patterns []string
}

// New returns the API handler; mount it at /api/v1/.
func New(svc *service.Service, log *slog.Logger) *Server {
	s := &Server{svc: svc, log: log, mux: http.NewServeMux()}
	s.routes()
	return s
}

// Routes lists the API's routes as "METHOD /path/{param}".
func (s *Server) Routes() []string { return s.patterns }

func (s *Server) routes() {
	s.patterns = append(s.patterns, "GET /api/v1/openapi.json")
	s.mux.HandleFunc("GET /api/v1/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(OpenAPI)
	})
	s.handle("GET /api/v1/me", s.handleMe)
	s.handle("GET /api/v1/users", s.handleUserList)
	s.handle("POST /api/v1/users", s.handleUserInvite)
	s.handle("GET /api/v1/users/{id}", s.handleUserGet)
	s.handle("PATCH /api/v1/users/{id}", s.handleUserUpdate)
	s.handle("POST /api/v1/users/{id}/resend", s.handleUserResend)
	s.handle("POST /api/v1/users/{id}/withdraw", s.handleUserWithdraw)
	s.handle("POST /api/v1/users/{id}/deactivate", s.handleUserDeactivate)
	s.handle("GET /api/v1/users/{id}/invite-again", s.handleUserInviteAgainDraft)
	s.handle("POST /api/v1/users/{id}/invite-again", s.handleUserInviteAgain)
	s.handle("GET /api/v1/teams", s.handleTeamList)
	s.handle("POST /api/v1/teams", s.handleTeamCreate)
	s.handle("GET /api/v1/teams/{id}", s.handleTeamGet)
	s.handle("PATCH /api/v1/teams/{id}", s.handleTeamRename)
	s.handle("DELETE /api/v1/teams/{id}", s.handleTeamRemove)
	s.handle("GET /api/v1/license", s.handleLicenseGet)
	s.handle("PUT /api/v1/license", s.handleLicenseSet)
	s.handle("POST /api/v1/ownership-transfers", s.handleOwnershipTransfer)
	s.handle("GET /api/v1/audit-events", s.handleAuditList)
	s.handle("GET /api/v1/send-as", s.handleSendAsList)
	s.handle("POST /api/v1/send-as", s.handleSendAsCreate)
	s.handle("GET /api/v1/send-as/{id}", s.handleSendAsGet)
	s.handle("PUT /api/v1/send-as/{id}", s.handleSendAsUpdate)
	s.handle("DELETE /api/v1/send-as/{id}", s.handleSendAsDelete)
	s.handle("POST /api/v1/reports", s.handleReportCreate)
	s.handle("GET /api/v1/reports/{id}", s.handleReportGet)
	s.handle("GET /api/v1/reports/{id}/download", s.handleReportDownload)
	s.webhookRoutes()
	s.importRoutes()
	s.mux.HandleFunc(noRoute, func(w http.ResponseWriter, r *http.Request) {
		if allow := httperr.AllowedMethods(s.mux, r, noRoute); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeProblem(w, http.StatusMethodNotAllowed, "method_not_allowed", "Method Not Allowed",
				"This route takes "+strings.Join(allow, ", ")+", not "+r.Method+".", nil)
			return
		}
		writeProblem(w, http.StatusNotFound, "not_found", "Not Found", "There is no such API route.", nil)
	})
}

// noRoute is the pattern that answers every request no route takes: the
// API's own 404, not the mux's text one.
const noRoute = "/api/v1/"

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// handle registers an authenticated route. A write's body must be JSON
// (jsonBody). POST routes honour Idempotency-Key.
func (s *Server) handle(pattern string, fn func(w http.ResponseWriter, r *http.Request) error) {
	s.patterns = append(s.patterns, pattern)
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		ctx, err := s.authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="muster"`)
			s.writeError(w, r, err)
			return
		}
		r = r.WithContext(ctx)
		if !jsonBody(w, r) {
			return
		}
		if err := checkHeaders(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		if r.Method == http.MethodPost && r.Header.Get("Idempotency-Key") != "" {
			s.idempotent(w, r, fn)
			return
		}
		if err := fn(w, r); err != nil {
			s.writeError(w, r, err)
		}
	})
}

// checkHeaders refuses a request whose headers that the API reads are not
// text like any other input (the key is stored; the ETags are compared).
func checkHeaders(r *http.Request) error {
	for _, header := range []string{"Idempotency-Key", "If-Match", "If-None-Match"} {
		for _, v := range r.Header.Values(header) {
			if problem := muster.TextProblem(v); problem != "" {
				return badRequest("The " + header + " header " + problem + ".")
			}
		}
	}
	return nil
}

// jsonBody refuses, with 415, a write (POST, PUT, PATCH) whose body is not
// declared JSON: a Content-Type of application/json or any +json type, in
// UTF-8 if it names a charset. Nothing else is read as JSON, so that a form
// or text body (a browser's cross-site form, curl -d without -H) is never
// taken for one. A write without a body needs no Content-Type.
func jsonBody(w http.ResponseWriter, r *http.Request) bool {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return true
	}
	if r.ContentLength == 0 {
		return true
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json")) &&
		(params["charset"] == "" || strings.EqualFold(params["charset"], "utf-8")) {
		return true
	}
	switch r.Method {
	case http.MethodPatch:
		w.Header().Set("Accept-Patch", "application/json") // RFC 5789
	case http.MethodPost:
		w.Header().Set("Accept-Post", "application/json")
	}
	writeProblem(w, http.StatusUnsupportedMediaType, codeUnsupportedMediaType, "Unsupported media type",
		"The body must be JSON, sent with Content-Type: application/json.", nil)
	return false
}

func (s *Server) authenticate(r *http.Request) (context.Context, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, muster.Errorf(muster.EUNAUTHORIZED, "Send an API token as Authorization: Bearer mst_….")
	}
	t, err := s.svc.AuthenticateAPIToken(r.Context(), strings.TrimSpace(token))
	if err != nil {
		return nil, err
	}
	return muster.NewContext(r.Context(), muster.Principal{UserID: t.UserID, OrgID: t.OrgID,
		Origin: "api token " + strconv.FormatInt(t.ID, 10), User: t.Creator, UserListVersion: t.UserListVersion}), nil
}

// idempotent runs fn with the request's Idempotency-Key in its context:
// the service makes the change once per key and gives its outcome back to
// repeats within 24 hours, which fn renders as it rendered the first
// (Idempotent-Replayed: true); the same key with another request is
// refused (API-3). The key belongs to the request's method, path and body.
func (s *Server) idempotent(w http.ResponseWriter, r *http.Request, fn func(http.ResponseWriter, *http.Request) error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		s.writeError(w, r, bodyError(err))
		return
	}
	sum := sha256.Sum256(append([]byte(r.Method+" "+r.URL.Path+"\n"), body...))
	idem := &service.Idempotency{Key: r.Header.Get("Idempotency-Key"), RequestHash: sum[:]}
	r = r.WithContext(service.WithIdempotency(r.Context(), idem))
	r.Body = io.NopCloser(bytes.NewReader(body))
	rw := &replayMarker{ResponseWriter: w, idem: idem}
	if err := fn(rw, r); err != nil {
		s.writeError(rw, r, err)
	}
}

// replayMarker marks a response that replays an earlier outcome.
type replayMarker struct {
	http.ResponseWriter
	idem *service.Idempotency
}

func (m *replayMarker) WriteHeader(status int) {
	if m.idem.Replayed {
		m.Header().Set("Idempotent-Replayed", "true")
	}
	m.ResponseWriter.WriteHeader(status)
}

var titleOf = map[string]string{
	muster.EINVALID:      "Invalid request",
	muster.ENOTFOUND:     "Not found",
	muster.ECONFLICT:     "Conflict",
	muster.EFORBIDDEN:    "Forbidden",
	muster.EUNAUTHORIZED: "Unauthorized",
	muster.ESEATS:        "No licenses remaining",
	muster.EGONE:         "Gone",
	muster.ETOOMANY:      "Too many requests",
	muster.ESTALE:        "Precondition failed",
	muster.EINTERNAL:     "Internal error",
}

// problem is an RFC 9457 problem details object with Muster's extensions.
type problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail"`
	Code   string       `json:"code"`
	Errors []fieldError `json:"errors,omitempty"`
}

type fieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ProblemTypeBase prefixes each problem's type URI.
const ProblemTypeBase = "https://muster.example/problems/"

func writeProblem(w http.ResponseWriter, status int, code, title, detail string, fields []muster.FieldError) {
	p := problem{Type: ProblemTypeBase + code, Title: title, Status: status, Detail: detail, Code: code}
	for _, f := range fields {
		p.Errors = append(p.Errors, fieldError{Field: f.Field, Message: f.Message})
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(p)
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var bad *requestError
	if errors.As(err, &bad) {
		writeProblem(w, http.StatusBadRequest, codeBadRequest, "Bad request", bad.msg, nil)
		return
	}
	code := muster.ErrorCode(err)
	if code == muster.EINTERNAL {
		s.log.Error("api: internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	title := titleOf[code]
	var e *muster.Error
	if errors.As(err, &e) && e.Reason == muster.ReasonIdempotencyKeyReused {
		// The code a client tells apart from a refusal of the request
		// itself: it must use a new key.
		code, title = e.Reason, "Idempotency-Key reused"
	}
	httperr.SetRetryAfter(w.Header(), err)
	writeProblem(w, httperr.Status(err), code, title, muster.ErrorMessage(err), muster.ErrorFields(err))
}

// writeJSON writes v with an ETag of its bytes, or etag if given.
func writeJSON(w http.ResponseWriter, status int, v any, etag string) error {
	buf := bufpool.Get()
	defer bufpool.Put(buf)
	// Encode ends the body with a newline, which the ETag leaves out, as
	// it always has.
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		return err
	}
	b := buf.Bytes()
	if etag == "" {
		etag = bodyETag(b[:len(b)-1])
	}
	w.Header().Set("ETag", etag)
	w.Header().Set("Content-Type", "application/json")
	// Known length, not chunks: one write fewer for each response.
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, err := w.Write(b)
	return err
}

func bodyETag(b []byte) string {
	sum := sha256.Sum256(b)
	return fmt.Sprintf(`"%x"`, sum[:12])
}

// codeBadRequest is the API's own problem code, beside the service's (see
// muster.EINVALID and the others): a request the API could not read at all
// (its JSON, a query parameter's form), refused before the service sees it.
const codeBadRequest = "bad_request"

// codeUnsupportedMediaType answers a write whose body is not declared JSON
// (415).
const codeUnsupportedMediaType = "unsupported_media_type"

// requestError is a request the API could not read; it answers 400 with
// codeBadRequest.
type requestError struct{ msg string }

func (e *requestError) Error() string { return "api: bad request: " + e.msg }

// badRequest is an error about the request's form rather than its content.
func badRequest(msg string) error { return &requestError{msg: msg} }

// decode reads a JSON body into v, refusing unknown fields, trailing data,
// wrong types and bodies over 1 MiB, each with a message that says which
// (400), and strings that are not valid text (muster.TextProblem: invalid
// UTF-8, which encoding/json would quietly turn into U+FFFD, and control
// characters, such as an escaped \u0000), with a 422 naming the property.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return bodyError(err)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bodyError(err)
	}
	// More is false before a stray "}" or "]": only the end of the body
	// will do (found by FuzzUserPatchJSON: "{}}" was taken).
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("The body must hold one JSON object and nothing after it.")
	}
	return checkJSONText(body, jsonNames(v))
}

// jsonNames are the property names of v, a pointer to the struct a body
// is decoded into, as its json tags spell them.
func jsonNames(v any) map[string]bool {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	names := make(map[string]bool, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names[name] = true
		}
	}
	return names
}

// checkJSONText refuses the first string value of body, a JSON document
// already decoded without error, that is not valid text, naming its property
// (and the properties around it, "a.b", for a nested one). Invalid UTF-8 is
// looked for in the string as it was sent, since the decoder replaces it.
// It also refuses, with a 400, what encoding/json takes but the OpenAPI
// document's schemas do not: a null (no property of a request body is
// nullable, and a PATCH would take one for an absent property, keeping the
// value the client meant to clear), and a top-level property that is not
// one of names as spelled (the decoder matches names in any case) or that
// is given twice (the decoder keeps the last).
func checkJSONText(body []byte, names map[string]bool) error {
	type level struct {
		object bool   // an object, else an array
		key    string // the object's current property
		value  bool   // the object's next token is the property's value
	}
	var stack []level
	seen := map[string]bool{}
	dec := json.NewDecoder(bytes.NewReader(body))
	for {
		start := dec.InputOffset()
		tok, err := dec.Token()
		if err != nil {
			return nil // io.EOF; decode has refused any other error
		}
		top := len(stack) - 1
		if s, ok := tok.(string); ok && top >= 0 && stack[top].object && !stack[top].value {
			if top == 0 && names != nil {
				switch {
				case !names[s]:
					return badRequest(fmt.Sprintf("Unknown field %q.", s))
				case seen[s]:
					return badRequest(fmt.Sprintf("The field %q is given twice.", s))
				}
				seen[s] = true
			}
			stack[top].key, stack[top].value = s, true
			continue
		}
		if tok == nil {
			var path []string
			for _, l := range stack {
				if l.object {
					path = append(path, l.key)
				}
			}
			if len(path) == 0 {
				return badRequest("The body must be a JSON object, not null.")
			}
			return badRequest(fmt.Sprintf("The field %q must not be null.", strings.Join(path, ".")))
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			stack = append(stack, level{object: tok == json.Delim('{')})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:top]
		default:
			if s, ok := tok.(string); ok {
				problem := muster.TextProblem(s)
				if !utf8.Valid(body[start:dec.InputOffset()]) {
					problem = "is not valid UTF-8 text"
				}
				if problem != "" {
					var path []string
					for _, l := range stack {
						if l.object {
							path = append(path, l.key)
						}
					}
					field := strings.Join(path, ".")
					return muster.FieldErrorf(muster.EINVALID, field, "The field %q %s.", field, problem)
				}
			}
		}
		if top := len(stack) - 1; top >= 0 && stack[top].object {
			stack[top].value = false
		}
	}
}

func bodyError(err error) error {
	var (
		syntax    *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
		tooLarge  *http.MaxBytesError
		unknownFn = strings.HasPrefix(err.Error(), "json: unknown field ")
	)
	switch {
	case errors.As(err, &tooLarge):
		return badRequest("The body is larger than 1 MiB.")
	case errors.As(err, &syntax):
		return badRequest(fmt.Sprintf("The body is not valid JSON (at byte %d).", syntax.Offset))
	case errors.As(err, &typeErr):
		return badRequest(fmt.Sprintf("The field %q must be %s, not %s.", typeErr.Field, jsonKind(typeErr.Type.Kind().String()), typeErr.Value))
	case unknownFn:
		return badRequest("Unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ") + ".")
	case errors.Is(err, io.EOF):
		return badRequest("The body is empty; send a JSON object.")
	}
	return badRequest("The body could not be read: " + err.Error())
}

func jsonKind(goKind string) string {
	switch {
	case strings.HasPrefix(goKind, "int"), strings.HasPrefix(goKind, "uint"), strings.HasPrefix(goKind, "float"):
		return "a number"
	case goKind == "string":
		return "a string"
	case goKind == "bool":
		return "true or false"
	case goKind == "slice":
		return "an array"
	}
	return "an object"
}

// pathID parses the {id} path value.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, muster.Errorf(muster.ENOTFOUND, "Not found.")
	}
	return id, nil
}

// queryParams are a request's query parameters, parsed once: the API's one
// reader of them. url.URL.Query parses the whole query again at each call,
// seven times for a page of the user list.
type queryParams url.Values

func paramsOf(r *http.Request) queryParams { return queryParams(r.URL.Query()) }

// text returns the parameter name, refusing one that is not valid text
// (muster.TextProblem) with a 400 naming it.
func (q queryParams) text(name string) (string, error) {
	v := url.Values(q).Get(name)
	if problem := muster.TextProblem(v); problem != "" {
		return "", badRequest(fmt.Sprintf("The query parameter %s %s.", name, problem))
	}
	return v, nil
}

// int parses an optional whole-number parameter.
func (q queryParams) int(name string) (int64, error) {
	v, err := q.text(name)
	if v == "" || err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, badRequest(fmt.Sprintf("The query parameter %s must be a whole number.", name))
	}
	return n, nil
}

// time parses an optional RFC 3339 parameter.
func (q queryParams) time(name string) (time.Time, error) {
	v, err := q.text(name)
	if v == "" || err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, badRequest(fmt.Sprintf("The query parameter %s must be a time like 2026-01-31T09:00:00Z.", name))
	}
	return t, nil
}

// bool parses an optional true/false parameter.
func (q queryParams) bool(name string) (bool, error) {
	v, err := q.text(name)
	if v == "" || err != nil {
		return false, err
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badRequest(fmt.Sprintf("The query parameter %s must be true or false.", name))
	}
	return b, nil
}

// versionETag is the ETag of a resource at version, which every change of
// what its update sets increments.
func versionETag(version int64) string { return `"v` + strconv.FormatInt(version, 10) + `"` }

// listETag is the ETag of a list page: the list's version and the page's
// query. Weak, because the page was read after its version: a write
// committed in between is in the page, so two pages of one version may
// differ (see service.FindUsers).
func listETag(version int64, query string) string {
	return `W/"l` + strconv.FormatInt(version, 10) + "-" + query + `"`
}

// listQueryKey names a list page: the org's and the query's, in any order
// of its parameters, for listETag. The org is in it because versions are
// counted per org: two orgs' lists are often at the same version.
func listQueryKey(r *http.Request, q queryParams) string {
	p, _ := muster.PrincipalFrom(r.Context())
	sum := sha256.Sum256([]byte(strconv.FormatInt(p.OrgID, 10) + "?" + url.Values(q).Encode()))
	return hex.EncodeToString(sum[:6])
}

// ifNoneMatchListVersion reads the list version of an If-None-Match header
// that holds a listETag of query (among other ETags: a cache may send all
// it holds; the newest, if several); 0 when none does.
func ifNoneMatchListVersion(r *http.Request, query string) int64 {
	var found int64
	for _, tag := range ifNoneMatchTags(r) {
		if n, ok := tagNumber(tag, `"l`, "-"+query+`"`); ok && n > found {
			found = n
		}
	}
	return found
}

// tagNumber reads the number of an ETag of the form prefix, number, suffix,
// the number as strconv writes it ("v05" and "v+5" are other tags than
// "v5"); false for any other tag.
func tagNumber(tag, prefix, suffix string) (int64, bool) {
	v, ok := strings.CutPrefix(tag, prefix)
	if !ok {
		return 0, false
	}
	v, ok = strings.CutSuffix(v, suffix)
	n, err := strconv.ParseInt(v, 10, 64)
	return n, ok && err == nil && n > 0 && strconv.FormatInt(n, 10) == v
}

// ifNoneMatch reports whether the If-None-Match header holds etag, or is
// "*", which any representation matches.
func ifNoneMatch(r *http.Request, etag string) bool {
	tags := ifNoneMatchTags(r)
	return slices.Contains(tags, strings.TrimPrefix(etag, "W/")) || slices.Contains(tags, "*")
}

// ifNoneMatchTags are the ETags of the If-None-Match header, compared weakly
// as RFC 9110 has it for this header: without their W/.
func ifNoneMatchTags(r *http.Request) []string {
	lines := r.Header.Values("If-None-Match")
	if len(lines) == 0 {
		return nil
	}
	tags := strings.Split(strings.Join(lines, ","), ",")
	for i, tag := range tags {
		tags[i] = strings.TrimSpace(tag)
		// W/ before a quoted tag only: "W/*" is not "*".
		if opaque, ok := strings.CutPrefix(tags[i], "W/"); ok && strings.HasPrefix(opaque, `"`) {
			tags[i] = opaque
		}
	}
	return tags
}

// writeNotModified answers a conditional GET whose copy is current (304):
// the ETag, no body.
func writeNotModified(w http.ResponseWriter, etag string) error {
	w.Header().Set("ETag", etag)
	w.WriteHeader(http.StatusNotModified)
	return nil
}

// ifMatchVersion reads an If-Match header holding a versionETag: 0 when
// there is none (or "*"), and -1, which no version matches, for any other
// ETag.
func ifMatchVersion(r *http.Request) int64 {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" || v == "*" {
		return 0
	}
	n, ok := tagNumber(v, `"v`, `"`)
	if !ok {
		return -1
	}
	return n
}
