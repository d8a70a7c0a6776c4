package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/muster-app/muster/internal/httperr"
	"github.com/muster-app/muster/internal/muster"
)

// apiTokensPage lists the org's API tokens and creates new ones (API-1).
type apiTokensPage struct {
	Page
	Message string
	// Secret is a token just created, shown this once.
	Secret    string
	Tokens    []tokenRow
	Name      Field
	Expires   string
	Lifetimes []tokenLifetime
}

type tokenRow struct {
	Name, Creator, Created, LastUsed, Expires string
	RevokeURL                                 string
}

// newTokenRow is a token as a table shows it.
func newTokenRow(t *muster.APIToken) tokenRow {
	row := tokenRow{Name: t.Name, Creator: t.CreatorName, Created: humanTime(t.CreatedAt), LastUsed: "Never",
		Expires: "Never", RevokeURL: "/settings/api-tokens/" + strconv.FormatInt(t.ID, 10) + "/revoke"}
	if !t.LastUsedAt.IsZero() {
		row.LastUsed = humanTime(t.LastUsedAt)
	}
	if !t.ExpiresAt.IsZero() {
		row.Expires = humanTime(t.ExpiresAt)
	}
	return row
}

// tokenLifetime is a choice of the "Expires after" select; Days 0 is never.
type tokenLifetime struct {
	Value, Label string
	Days         int
}

var tokenLifetimes = []tokenLifetime{{"30", "30 days", 30}, {"90", "90 days", 90}, {"365", "1 year", 365}, {"never", "Never", 0}}

func newTokenNameField(value, errMsg string) Field {
	return Field{ID: "name", Label: "Token name", Type: "text", Value: value, Error: errMsg,
		Hint: "What the token is for, like \"HR sync\".", Max: muster.MaxNameLength}
}

func (s *Server) renderAPITokens(w http.ResponseWriter, r *http.Request, status int, p apiTokensPage) {
	tokens, err := s.svc.APITokens(r.Context())
	if s.refused(w, r, err) {
		return
	}
	p.Page, p.Lifetimes = s.page(w, r, "API tokens"), tokenLifetimes
	p.Section = "api-tokens"
	if p.Name.ID == "" {
		p.Name = newTokenNameField("", "")
	}
	if p.Expires == "" {
		p.Expires = "90"
	}
	for _, t := range tokens {
		p.Tokens = append(p.Tokens, newTokenRow(t))
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, status, "api_tokens", p)
}

func (s *Server) handleAPITokens(w http.ResponseWriter, r *http.Request) {
	if s.parseForm(w, r) {
		s.renderAPITokens(w, r, http.StatusOK, apiTokensPage{})
	}
}

// Errors is the Create form's error summary.
func (p apiTokensPage) Errors() *errorSummary { return summarize(p.Message, p.Name) }

func (s *Server) handleAPITokenCreate(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	var expiresAt time.Time
	expires := r.PostForm.Get("expires")
	for _, l := range tokenLifetimes {
		if l.Value == expires && l.Days > 0 {
			expiresAt = s.svc.Now().AddDate(0, 0, l.Days)
		}
	}
	tok, err := s.svc.CreateAPIToken(r.Context(), r.PostForm.Get("name"), expiresAt)
	if err == nil {
		s.renderAPITokens(w, r, http.StatusOK, apiTokensPage{Secret: tok.Secret})
		return
	}
	name := newTokenNameField(r.PostForm.Get("name"), "")
	if s.nameRefused(w, r, err, &name) {
		s.renderAPITokens(w, r, httperr.Status(err), apiTokensPage{Expires: expires, Name: name,
			Message: "Please correct the problem marked below."})
	}
}

// nameRefused puts a refusal of a token's creation beside its name field
// and reports whether the form is to be shown again; a refusal about
// anything else is answered with its own page.
func (s *Server) nameRefused(w http.ResponseWriter, r *http.Request, err error, name *Field) bool {
	showFieldErrors(err, map[string]*string{muster.FieldName: &name.Error})
	if name.Error == "" {
		s.refused(w, r, err)
		return false
	}
	return true
}

func (s *Server) handleAPITokenRevoke(w http.ResponseWriter, r *http.Request) {
	s.revokeToken(w, r, s.svc.RevokeAPIToken, "/settings/api-tokens",
		"The token has been revoked. Programs using it are refused from now on.")
}

// revokeToken revokes the token the path's {id} names with revoke, then
// sends the browser to done, saying msg.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, revoke func(context.Context, int64) error, done, msg string) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	if s.refused(w, r, revoke(r.Context(), id)) {
		return
	}
	s.redirectWith(w, r, done, msg)
}

// handleAPITokenRevokeConfirm asks before revoking a token (CON-5).
func (s *Server) handleAPITokenRevokeConfirm(w http.ResponseWriter, r *http.Request) {
	t, ok := pathTarget(s, w, r, s.svc.FindAPIToken)
	if !ok {
		return
	}
	h := "Revoke the API token “" + t.Name + "”?"
	s.renderConfirm(w, r, h, "api-tokens", confirmPage{Heading: h,
		Lines: []string{"Programs that use it are refused from their next call. This can't be undone: " +
			"a program needs a new token to work again.", "Created by " + t.CreatorName + " on " + humanTime(t.CreatedAt) + "."},
		Action: "/settings/api-tokens/" + strconv.FormatInt(t.ID, 10) + "/revoke", Button: "Revoke", Cancel: "/settings/api-tokens"})
}
