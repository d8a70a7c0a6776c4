package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/muster-app/muster/internal/httperr"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

// orgPage shows the organization's settings; the Owner changes the license
// total (LIC-2) and Email at Scale (SEND-1) here.
type orgPage struct {
	Page
	Org      *muster.Org
	Owner    bool
	Licenses Field
}

func (s *Server) renderOrg(w http.ResponseWriter, r *http.Request, status int, licenses string, err error) {
	org, oerr := s.svc.LicenseUsage(r.Context())
	if s.refused(w, r, oerr) {
		return
	}
	u, _ := current(r)
	p := orgPage{Page: s.page(w, r, "Organization"), Org: org, Owner: u.Role == muster.RoleOwner,
		Licenses: Field{ID: "licenses", Label: "License total", Type: "number", Value: licenses, Max: service.MaxLicenseTotal,
			Hint: "Pending and Active users each hold a license.", Error: muster.ErrorMessage(err)}}
	if p.Licenses.Value == "" {
		p.Licenses.Value = strconv.Itoa(org.LicenseTotal)
	}
	p.Section = "organization"
	s.render(w, r, status, "organization", p)
}

func (s *Server) handleOrg(w http.ResponseWriter, r *http.Request) {
	s.renderOrg(w, r, http.StatusOK, "", nil)
}

func (s *Server) handleOrgLicenses(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	v := strings.TrimSpace(r.PostForm.Get("licenses"))
	total, _ := strconv.Atoi(v) // not a number: 0, which the service refuses in its words
	org, err := s.svc.SetLicenseTotal(r.Context(), total, 0)
	switch code := muster.ErrorCode(err); code {
	case "":
		s.redirectWith(w, r, "/settings/organization", "The license total is now "+strconv.Itoa(org.LicenseTotal)+".")
	case muster.EINVALID, muster.ECONFLICT:
		s.renderOrg(w, r, httperr.Status(err), v, err)
	default:
		s.refused(w, r, err)
	}
}

func (s *Server) handleOrgEmailAtScale(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	on := r.PostForm.Get("email_at_scale") == "on"
	if _, err := s.svc.SetEmailAtScale(r.Context(), on); s.refused(w, r, err) {
		return
	}
	msg := "Email at Scale is off. Send As Permissions are hidden; their data is kept."
	if on {
		msg = "Email at Scale is on. Send As Permissions is a tab of Roles & Access."
	}
	s.redirectWith(w, r, "/settings/organization", msg)
}
