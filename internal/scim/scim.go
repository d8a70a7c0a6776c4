// Package scim serves SCIM 2.0 (RFC 7643, RFC 7644) under /scim/v2 for
// identity providers such as Okta and Microsoft Entra ID (SCIM-1): Users,
// Groups (Muster's teams), filters, PATCH as the two providers send it,
// and the discovery endpoints. It is the third interface over the service
// layer, beside the console and the JSON API: a handler reads the request,
// makes one service call and renders its result; every rule (seats, roles,
// teams, deactivation, the Owner, audit) is the service's. A SCIM token
// selects its organization and acts as muster.RoleProvisioner.
package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/muster-app/muster/internal/bufpool"
	"github.com/muster-app/muster/internal/httperr"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

// The schema and message URNs of RFC 7643 and 7644, and Muster's own
// extension of the User schema.
const (
	SchemaUser         = "urn:ietf:params:scim:schemas:core:2.0:User"
	SchemaGroup        = "urn:ietf:params:scim:schemas:core:2.0:Group"
	SchemaMuster       = "urn:ietf:params:scim:schemas:extension:muster:2.0:User"
	SchemaEnterprise   = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	SchemaSPConfig     = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
	SchemaResourceType = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
	SchemaSchema       = "urn:ietf:params:scim:schemas:core:2.0:Schema"
	MessageList        = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	MessageError       = "urn:ietf:params:scim:api:messages:2.0:Error"
	MessagePatch       = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
)

// Prefix is where SCIM is mounted.
const Prefix = "/scim/v2"

// ContentType is the media type of every SCIM answer (RFC 7644 §3.1).
const ContentType = "application/scim+json"

// MaxResults is the most resources a page holds: the filter.maxResults
// ServiceProviderConfig advertises, and the cap of count.
const MaxResults = service.MaxProvisionPage

// DefaultCount is a page's size when the request does not say.
const DefaultCount = 100

// maxBody bounds request bodies: a group replaced with its members, as
// Okta's group push sends it, for tens of thousands of members.
const maxBody = 8 << 20

// Server is SCIM's HTTP handler.
type Server struct {
	svc *service.Service
	log *slog.Logger
	// baseURL is the SCIM base URL resources' locations start with
	// (".../scim/v2"); empty, it is made from each request's host.
	baseURL string
	mux     *http.ServeMux
}

// New returns the SCIM handler; mount it at /scim/v2/. baseURL is where
// people reach Muster (--base-url).
func New(svc *service.Service, log *slog.Logger, baseURL string) *Server {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{svc: svc, log: log, mux: http.NewServeMux()}
	if baseURL != "" {
		s.baseURL = strings.TrimRight(baseURL, "/") + Prefix
	}
	s.routes()
	return s
}

func (s *Server) routes() {
	s.handle("GET /Users", s.handleUserList)
	s.handle("POST /Users", s.handleUserCreate)
	s.handle("GET /Users/{id}", s.handleUserGet)
	s.handle("PUT /Users/{id}", s.handleUserReplace)
	s.handle("PATCH /Users/{id}", s.handleUserPatch)
	s.handle("DELETE /Users/{id}", s.handleUserDelete)
	s.handle("GET /Groups", s.handleGroupList)
	s.handle("POST /Groups", s.handleGroupCreate)
	s.handle("GET /Groups/{id}", s.handleGroupGet)
	s.handle("PUT /Groups/{id}", s.handleGroupReplace)
	s.handle("PATCH /Groups/{id}", s.handleGroupPatch)
	s.handle("DELETE /Groups/{id}", s.handleGroupDelete)
	s.handle("GET /ServiceProviderConfig", s.handleServiceProviderConfig)
	s.handle("GET /ResourceTypes", s.handleResourceTypes)
	s.handle("GET /ResourceTypes/{name}", s.handleResourceType)
	s.handle("GET /Schemas", s.handleSchemas)
	s.handle("GET /Schemas/{id}", s.handleSchema)
	s.handle(noRoute, func(w http.ResponseWriter, r *http.Request) error {
		if allow := httperr.AllowedMethods(s.mux, r, noRoute); len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			return &Error{Status: http.StatusMethodNotAllowed, Detail: "This endpoint takes " + strings.Join(allow, ", ") +
				", not " + r.Method + "."}
		}
		return &Error{Status: http.StatusNotFound, Detail: "There is no such SCIM endpoint. Muster serves /Users, /Groups, " +
			"/ServiceProviderConfig, /ResourceTypes and /Schemas."}
	})
}

// noRoute is the pattern that answers every request no endpoint takes.
const noRoute = Prefix + "/"

// endpoints are the endpoints' names, by their lower case: SCIM's names
// are case-insensitive (RFC 7643 §2.1), the mux's patterns are not.
var endpoints = map[string]string{"users": "Users", "groups": "Groups", "serviceproviderconfig": "ServiceProviderConfig",
	"serviceproviderconfigs": "ServiceProviderConfig", "resourcetypes": "ResourceTypes", "schemas": "Schemas"}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rest, ok := strings.CutPrefix(r.URL.Path, Prefix+"/"); ok {
		first, _, _ := strings.Cut(rest, "/")
		if name, ok := endpoints[strings.ToLower(first)]; ok && name != first {
			r2 := r.Clone(r.Context())
			r2.URL.Path = Prefix + "/" + name + strings.TrimPrefix(rest, first)
			r2.URL.RawPath = ""
			r = r2
		}
	}
	s.mux.ServeHTTP(w, r)
}

// handle registers an authenticated route; pattern's path is below Prefix.
func (s *Server) handle(pattern string, fn func(w http.ResponseWriter, r *http.Request) error) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		path, method = pattern, ""
	} else {
		path = Prefix + path
		method += " "
	}
	s.mux.HandleFunc(method+path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		ctx, err := s.authenticate(r)
		if err == nil {
			r = r.WithContext(ctx)
			err = checkContentType(r)
		}
		if err == nil {
			err = fn(w, r)
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	})
}

// authenticate checks the request's SCIM token and returns a context in
// which it acts.
func (s *Server) authenticate(r *http.Request) (context.Context, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, muster.Errorf(muster.EUNAUTHORIZED, "Send a SCIM token as Authorization: Bearer %s….", muster.SCIMTokenPrefix)
	}
	t, err := s.svc.AuthenticateSCIMToken(r.Context(), strings.TrimSpace(token))
	if err != nil {
		return nil, err
	}
	return muster.NewContext(r.Context(), muster.Principal{OrgID: t.OrgID, SCIMTokenID: t.ID,
		Origin: muster.SCIMOrigin(t.ID), SCIMToken: t}), nil
}

// checkContentType refuses a body that is not declared JSON: SCIM's own
// type or application/json (RFC 7644 §3.1), in UTF-8. A body without a
// Content-Type is read as SCIM.
func checkContentType(r *http.Request) error {
	if r.ContentLength == 0 || r.Header.Get("Content-Type") == "" {
		return nil
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json")) &&
		(params["charset"] == "" || strings.EqualFold(params["charset"], "utf-8")) {
		return nil
	}
	return &Error{Status: http.StatusUnsupportedMediaType,
		Detail: "Send the body as JSON, with Content-Type: application/scim+json (or application/json)."}
}

// Error is a SCIM error (RFC 7644 §3.12): an HTTP status, the scimType the
// RFC names for it (if any) and a detail an administrator understands.
type Error struct {
	Status   int
	ScimType string
	Detail   string
}

func (e *Error) Error() string { return fmt.Sprintf("scim: %d %s: %s", e.Status, e.ScimType, e.Detail) }

// The scimType values of RFC 7644 §3.12 Muster answers with.
const (
	TypeInvalidFilter = "invalidFilter"
	TypeInvalidSyntax = "invalidSyntax"
	TypeInvalidPath   = "invalidPath"
	TypeNoTarget      = "noTarget"
	TypeInvalidValue  = "invalidValue"
	TypeUniqueness    = "uniqueness"
	TypeMutability    = "mutability"
	TypeTooMany       = "tooMany"
)

func badRequest(scimType, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, ScimType: scimType, Detail: fmt.Sprintf(format, args...)}
}

// errorBody is the JSON of an Error; status is a string (RFC 7644 §3.12).
type errorBody struct {
	Schemas  []string `json:"schemas"`
	Status   string   `json:"status"`
	ScimType string   `json:"scimType,omitempty"`
	Detail   string   `json:"detail"`
}

// toError turns err into the SCIM error that answers it: a service refusal
// by its code, with its message as the detail.
func toError(err error) *Error {
	var se *Error
	if errors.As(err, &se) {
		return se
	}
	var me *muster.Error
	errors.As(err, &me)
	e := &Error{Status: httperr.Status(err), Detail: muster.ErrorMessage(err)}
	switch muster.ErrorCode(err) {
	case muster.EINVALID:
		// SCIM answers bad values with 400 (the API's 422).
		e.Status, e.ScimType = http.StatusBadRequest, TypeInvalidValue
	case muster.ECONFLICT:
		for _, f := range me.Fields {
			if f.Field == muster.FieldEmail || f.Field == muster.FieldName {
				e.ScimType = TypeUniqueness
			}
		}
	case muster.ESEATS:
		// Not 409: Okta and Entra ID read a conflict on a creation as "the
		// user exists". 403 is a refusal they report and retry later, when
		// a seat may be free.
		e.Status = http.StatusForbidden
	}
	return e
}

func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := toError(err)
	if e.Status >= 500 {
		s.log.Error("scim: internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="muster-scim"`)
	}
	httperr.SetRetryAfter(w.Header(), err)
	writeJSON(w, e.Status, errorBody{Schemas: []string{MessageError}, Status: strconv.Itoa(e.Status),
		ScimType: e.ScimType, Detail: e.Detail})
}

// writeJSON writes v as SCIM JSON with status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	buf := bufpool.Get()
	defer bufpool.Put(buf)
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		return err
	}
	w.Header().Set("Content-Type", ContentType)
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

// base is the SCIM base URL, for resources' locations.
func (s *Server) base(r *http.Request) string {
	if s.baseURL != "" {
		return s.baseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + Prefix
}

// readBody decodes a JSON object body, numbers kept as json.Number. A body
// that is not UTF-8 is refused rather than read with its bad bytes
// replaced, as encoding/json would.
func readBody(w http.ResponseWriter, r *http.Request) (object, error) {
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, &Error{Status: http.StatusRequestEntityTooLarge, Detail: "The body is larger than 8 MiB."}
	case err != nil:
		return nil, badRequest(TypeInvalidSyntax, "The body could not be read.")
	case !utf8.Valid(raw):
		return nil, badRequest(TypeInvalidSyntax, "The body is not valid UTF-8 text.")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		switch {
		case errors.Is(err, io.EOF):
			return nil, badRequest(TypeInvalidSyntax, "The body is empty; send a JSON object.")
		}
		return nil, badRequest(TypeInvalidSyntax, "The body is not valid JSON: %v.", err)
	}
	if dec.More() {
		return nil, badRequest(TypeInvalidSyntax, "The body must hold one JSON object and nothing after it.")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, badRequest(TypeInvalidSyntax, "The body must be a JSON object.")
	}
	return obj, nil
}

// pathID reads the {id} of a resource's path: any id that is not a
// positive number names nothing.
func pathID(r *http.Request, what string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, muster.Errorf(muster.ENOTFOUND, "%s not found.", what)
	}
	return id, nil
}

// idAndBody reads the {id} of a resource's path and the request's body.
func idAndBody(w http.ResponseWriter, r *http.Request, what string) (int64, object, error) {
	id, err := pathID(r, what)
	if err != nil {
		return 0, nil, err
	}
	body, err := readBody(w, r)
	return id, body, err
}

// etag is the ETag of a resource at version: weak, as RFC 7644 §3.14's
// examples are.
func etag(version int64) string { return `W/"` + strconv.FormatInt(version, 10) + `"` }

// ifMatch reads If-Match: 0 when there is none (or "*"), -1, which no
// version matches, for an ETag that is not one of ours.
func ifMatch(r *http.Request) int64 {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" || v == "*" {
		return 0
	}
	v = strings.Trim(strings.TrimPrefix(v, "W/"), `"`)
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return -1
	}
	return n
}
