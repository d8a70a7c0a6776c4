package web

import (
	"net/http"
	"strconv"

	"github.com/muster-app/muster/internal/httperr"
)

// provisioningPage is Settings → Provisioning (SCIM): the SCIM base URL an
// identity provider is given, the org's SCIM tokens (created, shown once,
// revoked) and the recent changes made through SCIM (SCIM-1).
type provisioningPage struct {
	Page
	BaseURL string
	// Message is the refusal of Create.
	Message string
	// Secret is a token just created, shown this once.
	Secret string
	Tokens []tokenRow
	// CanCreate shows the Create form (the Owner).
	CanCreate bool
	Name      Field
	Activity  []auditRow
}

// scimPath is where SCIM is served below the base URL.
const scimPath = "/scim/v2"

// scimBaseURL is the SCIM base URL: below --base-url, or the address the
// request came to when it is not set.
func (s *Server) scimBaseURL(r *http.Request) string {
	if s.baseURL != "" {
		return s.baseURL + scimPath
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + scimPath
}

func scimTokenNameField(value string) Field {
	f := newTokenNameField(value, "")
	f.Hint = "Which identity provider uses it, like \"Okta\" or \"Entra ID\"."
	return f
}

func (s *Server) renderProvisioning(w http.ResponseWriter, r *http.Request, status int, p provisioningPage) {
	prov, err := s.svc.FindProvisioning(r.Context())
	if s.refused(w, r, err) {
		return
	}
	p.Page, p.BaseURL = s.page(w, r, "Provisioning (SCIM)"), s.scimBaseURL(r)
	p.Section, p.CanCreate = "provisioning", prov.CanCreate
	if p.Name.ID == "" {
		p.Name = scimTokenNameField("")
	}
	for _, t := range prov.Tokens {
		row := tokenRow{Name: t.Name, Creator: t.CreatedBy, Created: humanTime(t.CreatedAt), LastUsed: "Never",
			RevokeURL: "/settings/provisioning/tokens/" + strconv.FormatInt(t.ID, 10) + "/revoke"}
		if !t.LastUsedAt.IsZero() {
			row.LastUsed = humanTime(t.LastUsedAt)
		}
		p.Tokens = append(p.Tokens, row)
	}
	names := teamNames(prov.Teams)
	for _, e := range prov.Activity {
		p.Activity = append(p.Activity, describeEvent(e, names, prov.People))
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, status, "provisioning", p)
}

func (s *Server) handleProvisioning(w http.ResponseWriter, r *http.Request) {
	if s.parseForm(w, r) {
		s.renderProvisioning(w, r, http.StatusOK, provisioningPage{})
	}
}

// Errors is the Create form's error summary.
func (p provisioningPage) Errors() *errorSummary { return summarize(p.Message, p.Name) }

func (s *Server) handleSCIMTokenCreate(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	tok, err := s.svc.CreateSCIMToken(r.Context(), r.PostForm.Get("name"))
	if err == nil {
		s.renderProvisioning(w, r, http.StatusOK, provisioningPage{Secret: tok.Secret})
		return
	}
	name := scimTokenNameField(r.PostForm.Get("name"))
	if s.nameRefused(w, r, err, &name) {
		s.renderProvisioning(w, r, httperr.Status(err), provisioningPage{Name: name,
			Message: "Please correct the problem marked below."})
	}
}

func (s *Server) handleSCIMTokenRevoke(w http.ResponseWriter, r *http.Request) {
	s.revokeToken(w, r, s.svc.RevokeSCIMToken, "/settings/provisioning",
		"The SCIM token has been revoked. The identity provider using it is refused from now on.")
}
