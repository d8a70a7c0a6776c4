package web

import (
	"net/http"
	"net/url"

	"github.com/muster-app/muster/internal/muster"
)

// flashCookie carries the outcome of a form to the page the browser is
// redirected to, once.
const flashCookie = "muster_flash"

// flash records a message for the next page this browser opens.
func (s *Server) flash(w http.ResponseWriter, msg string) {
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: url.QueryEscape(msg), Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.secureCookies, MaxAge: 60})
}

// takeFlash returns the pending message, if any, and clears it.
func (s *Server) takeFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: "", Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.secureCookies, MaxAge: -1})
	msg, err := url.QueryUnescape(c.Value)
	if err != nil {
		return ""
	}
	return msg
}

// page returns the common data of a signed-in page: the user, and for
// Owners and Admins the license counter (CON-4) and the Settings menu item
// (CON-1), and any flash message.
func (s *Server) page(w http.ResponseWriter, r *http.Request, title string) Page {
	u, _ := current(r)
	p := Page{Title: title, User: u, Flash: s.takeFlash(w, r)}
	if u != nil && muster.CanAdminister(u.Role) {
		p.Admin = true
		if org, err := s.svc.LicenseUsage(r.Context()); err == nil {
			p.License = org
		}
	}
	return p
}

// redirectWith sends the browser to target with a flash message.
func (s *Server) redirectWith(w http.ResponseWriter, r *http.Request, target, msg string) {
	s.flash(w, msg)
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// handleSettings opens Settings at Roles & Access.
func (s *Server) handleSettings(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, usersPath, http.StatusSeeOther)
}
