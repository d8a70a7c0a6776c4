package web

import (
	"net/http"

	"github.com/muster-app/muster/internal/muster"
)

// page returns the common data of a signed-in page: the user, and for
// Owners and Admins the license counter (CON-4) and the Settings menu item
// (CON-1), and any flash message. A counter that cannot be read is logged
// and left out: the page still shows.
func (s *Server) page(w http.ResponseWriter, r *http.Request, title string) Page {
	u, _ := current(r)
	p := Page{Title: title, User: u, Flash: s.takeFlash(w, r)}
	if u != nil && muster.CanAdminister(u.Role) {
		p.Admin = true
		org, err := s.svc.LicenseUsage(r.Context())
		switch muster.ErrorCode(err) {
		case "":
			p.License = org
		case muster.EUNAUTHORIZED, muster.EFORBIDDEN:
			// The role changed since the session was checked: no counter.
		default:
			s.log.Error("web: reading the license counter", "method", r.Method, "route", r.Pattern, "err", err)
		}
	}
	return p
}

// confirmPage asks before a destructive action (CON-5).
type confirmPage struct {
	Page
	Heading string
	Lines   []string
	Action  string
	Button  string
	Cancel  string
	// Message is a refusal of the confirmed action, shown above the form.
	Message string
	// Password, when set, asks for the actor's password to confirm.
	Password *Field
	// Hidden are the form's other values.
	Hidden []hiddenInput
}

type hiddenInput struct{ Name, Value string }

// renderConfirm shows p, titled title, in the Settings section section.
func (s *Server) renderConfirm(w http.ResponseWriter, r *http.Request, title, section string, p confirmPage) {
	s.renderConfirmStatus(w, r, http.StatusOK, title, section, p)
}

// renderConfirmStatus is renderConfirm with a status, for a refusal.
func (s *Server) renderConfirmStatus(w http.ResponseWriter, r *http.Request, status int, title, section string, p confirmPage) {
	p.Page = s.page(w, r, title)
	p.Section = section
	s.render(w, r, status, "confirm", p)
}

// handleSettings opens Settings at Roles & Access.
func (s *Server) handleSettings(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, usersPath, http.StatusSeeOther)
}
