package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/muster-app/muster/internal/httperr"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

// setupPage is the first-run form: the first organization and its Owner.
type setupPage struct {
	Page
	// Message is the service's summary of what went wrong, if anything.
	Message                                   string
	Org, Licenses, FirstName, LastName, Email Field
}

// setupDonePage shows the new Owner's set-up link.
type setupDonePage struct {
	Page
	OrgName    string
	OwnerName  string
	OwnerEmail string
	SetupURL   string
	// Mailbox says the copy sent by email is kept in the local mailbox.
	Mailbox bool
}

// newSetupPage returns the form holding what was typed, with the error's
// messages beside the fields they are about. The form's input names are the
// service's field names, so its messages land where they belong.
func newSetupPage(in url.Values, err error) setupPage {
	p := setupPage{
		Page: Page{Title: "Set up Muster"},
		Org: Field{ID: "org", Label: "Organization name", Type: "text", Value: in.Get("org"),
			Autocomplete: "organization", Max: muster.MaxNameLength},
		Licenses: Field{ID: "licenses", Label: "License total", Type: "number", Value: in.Get("licenses"),
			Hint: "How many people your organization may have, invited or active. You can change it later.",
			Max:  service.MaxLicenseTotal},
		FirstName: Field{ID: "first_name", Label: "First Name", Type: "text", Value: in.Get("first_name"),
			Autocomplete: "given-name", Max: muster.MaxNameLength},
		LastName: Field{ID: "last_name", Label: "Last Name", Type: "text", Value: in.Get("last_name"),
			Autocomplete: "family-name", Max: muster.MaxNameLength},
		Email: Field{ID: "email", Label: "Email", Type: "email", Value: in.Get("email"),
			Hint: "Your email is your username.", Autocomplete: "email", Max: muster.MaxEmailLength},
	}
	if err == nil {
		return p
	}
	p.Message = showFieldErrors(err, map[string]*string{muster.FieldName: &p.Org.Error,
		muster.FieldLicenseTotal: &p.Licenses.Error, muster.FieldFirstName: &p.FirstName.Error,
		muster.FieldLastName: &p.LastName.Error, muster.FieldEmail: &p.Email.Error})
	return p
}

// handleHome sends a fresh deployment to the first-run page, and otherwise
// shows the signed-in user's profile.
func (s *Server) handleHome(w http.ResponseWriter, r *http.Request) {
	needs, err := s.svc.NeedsFirstRun(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if needs {
		http.Redirect(w, r, "/setup", http.StatusSeeOther)
		return
	}
	s.requireUser(s.handleProfile)(w, r)
}

// handleSetupForm shows the first-run form while no organization exists.
func (s *Server) handleSetupForm(w http.ResponseWriter, r *http.Request) {
	needs, err := s.svc.NeedsFirstRun(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	if !needs {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "setup", newSetupPage(url.Values{}, nil))
}

// handleSetupCreate creates the first organization and shows its Owner's
// set-up link. The service refuses once an organization exists.
func (s *Server) handleSetupCreate(w http.ResponseWriter, r *http.Request) {
	if !s.parseFormBack(w, r, "/setup", "Back to the form") {
		return
	}
	in := r.PostForm
	// A license total that is not a whole number goes to the service as 0,
	// which it refuses in its own words.
	licenses, _ := strconv.Atoi(strings.TrimSpace(in.Get("licenses")))
	res, err := s.svc.FirstRun(r.Context(), service.NewOrg{
		Name:           in.Get("org"),
		LicenseTotal:   licenses,
		OwnerEmail:     in.Get("email"),
		OwnerFirstName: in.Get("first_name"),
		OwnerLastName:  in.Get("last_name"),
	}, webOrigin(s.clientIP(r)))
	switch code := muster.ErrorCode(err); {
	case err == nil:
	case code == muster.EINTERNAL:
		s.serverError(w, r, err)
		return
	case code == muster.ECONFLICT && len(muster.ErrorFields(err)) == 0:
		// Already set up, by this form or by muster init.
		s.message(w, r, http.StatusConflict, messagePage{Page: Page{Title: "Already set up"},
			Heading: "Muster is already set up", Message: muster.ErrorMessage(err), Link: "/", LinkText: "Go to Muster"})
		return
	default:
		s.render(w, r, httperr.Status(err), "setup", newSetupPage(in, err))
		return
	}
	s.log.Info("first run: organization created", "org_id", res.Org.ID, "owner_id", res.Owner.ID)
	// The page carries a link that makes its holder the Owner.
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "setup_done", setupDonePage{
		Page:       Page{Title: "Muster is set up"},
		OrgName:    res.Org.Name,
		OwnerName:  res.Owner.Name(),
		OwnerEmail: res.Owner.Email,
		SetupURL:   res.SetupURL,
		Mailbox:    s.mailbox,
	})
}
