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
// total (LIC-2) and Email at Scale (SEND-1), and transfers ownership (OWN-1)
// here.
type orgPage struct {
	Page
	Org      *muster.Org
	Owner    bool
	Licenses Field
	// Heir chooses the Active Admin who becomes the Owner.
	Heir    selectField
	Message string
	// TwoStep is the sign-in security form (AUTH-7).
	TwoStep twoStepForm
}

// twoStepForm is the organization's sign-in security as the form shows it.
type twoStepForm struct {
	Policy     *muster.TwoStepPolicy
	Scope      string
	Grace      Field
	ScopeError string
	Remember   bool
}

// Errors is the forms' error summary.
func (p orgPage) Errors() *errorSummary {
	return summarize(p.Message, p.Licenses, groupRef{"two_step_off", "Require two-step verification", p.TwoStep.ScopeError},
		p.TwoStep.Grace)
}

func (s *Server) renderOrg(w http.ResponseWriter, r *http.Request, status int, licenses string, err error) {
	s.renderOrgWith(w, r, status, licenses, err, nil, nil)
}

// renderOrgWith is renderOrg; twoStep, when set, is the sign-in security
// form as sent, refused with twoStepErr.
func (s *Server) renderOrgWith(w http.ResponseWriter, r *http.Request, status int, licenses string, err error,
	twoStep *service.TwoStepPolicyInput, twoStepErr error) {
	settings, serr := s.svc.FindOrgSettings(r.Context())
	if s.refused(w, r, serr) {
		return
	}
	org := settings.Org
	u, _ := current(r)
	p := orgPage{Page: s.page(w, r, "Organization"), Org: org, Owner: u.Role == muster.RoleOwner,
		Heir: selectField{ID: "to", Label: "New Owner"},
		Licenses: Field{ID: "licenses", Label: "License total", Type: "number", Value: licenses, Max: service.MaxLicenseTotal,
			Error: muster.ErrorMessage(err)}}
	if err != nil {
		p.Message = "Please correct the problem marked below."
	}
	if p.Licenses.Value == "" {
		p.Licenses.Value = strconv.Itoa(org.LicenseTotal)
	}
	p.TwoStep = twoStepForm{Policy: settings.TwoStep, Scope: string(settings.TwoStep.Scope),
		Remember: settings.TwoStep.RememberBrowser,
		Grace: Field{ID: "grace_days", Label: "Grace period (days)", Type: "number", Max: muster.MaxTwoStepGraceDays, ZeroOK: true,
			Value: strconv.Itoa(settings.TwoStep.GraceDays),
			Hint:  "How long people without two-step verification can still sign in without it, each sign-in offering to set it up first."}}
	if twoStep != nil {
		p.TwoStep.Scope, p.TwoStep.Remember = string(twoStep.Scope), twoStep.RememberBrowser
		p.TwoStep.Grace.Value = r.PostForm.Get("grace_days")
		p.Message = showFieldErrors(twoStepErr, map[string]*string{muster.FieldTwoStepScope: &p.TwoStep.ScopeError,
			muster.FieldGraceDays: &p.TwoStep.Grace.Error})
	}
	for _, heir := range settings.Heirs {
		p.Heir.Options = append(p.Heir.Options, option{Value: strconv.FormatInt(heir.ID, 10),
			Label: heir.Name() + " <" + heir.Email + ">"})
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

func (s *Server) handleOrgTwoStep(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	in := service.TwoStepPolicyInput{Scope: muster.TwoStepScope(r.PostForm.Get("two_step")),
		RememberBrowser: r.PostForm.Get("remember_browser") == "on"}
	days := strings.TrimSpace(r.PostForm.Get("grace_days"))
	var err error
	if in.GraceDays, err = strconv.Atoi(days); err != nil {
		in.GraceDays = -1 // not a number: the service refuses it in its words
	}
	p, err := s.svc.SetTwoStepPolicy(r.Context(), in)
	switch muster.ErrorCode(err) {
	case "":
		msg := "Two-step verification is not required."
		switch p.Scope {
		case muster.TwoStepEveryone:
			msg = "Two-step verification is required of everyone for password sign-in."
		case muster.TwoStepAdmins:
			msg = "Two-step verification is required of Owners and Admins for password sign-in."
		}
		s.redirectWith(w, r, "/settings/organization#sign-in-security", msg)
	case muster.EINVALID:
		s.renderOrgWith(w, r, httperr.Status(err), "", nil, &in, err)
	default:
		s.refused(w, r, err)
	}
}

// transferPage asks the Owner to confirm a transfer with their password
// (OWN-1).
func transferPage(heir *muster.User, err error) confirmPage {
	p := confirmPage{Heading: "Make " + heir.Name() + " the Owner?",
		Lines: []string{heir.Name() + " becomes the Owner: the only one who changes the license total and Email at Scale, " +
			"manages Admins and transfers ownership.",
			"You become an Admin, at once. Only " + heir.FirstName + " can give ownership back.",
			"Sessions and API tokens stay signed in, with the new roles from their next request."},
		Action: "/settings/organization/transfer", Button: "Transfer ownership", Cancel: "/settings/organization",
		Password: &Field{ID: "password", Label: "Your password", Type: "password", Autocomplete: "current-password",
			Max: muster.MaxPasswordLength},
		Hidden: []hiddenInput{{"to", strconv.FormatInt(heir.ID, 10)}}}
	p.Message = showFieldErrors(err, map[string]*string{muster.FieldPassword: &p.Password.Error})
	return p
}

// transferHeir is the Active Admin the request's "to" names, refused
// unless the actor is the Owner: nobody is asked for their password to
// confirm a transfer that would be refused.
func (s *Server) transferHeir(w http.ResponseWriter, r *http.Request) (*muster.User, bool) {
	id, err := strconv.ParseInt(r.FormValue("to"), 10, 64)
	if err != nil || id <= 0 {
		s.notFound(w, r)
		return nil, false
	}
	u, err := s.svc.FindHeir(r.Context(), id)
	if s.refused(w, r, err) {
		return nil, false
	}
	return u, true
}

func (s *Server) handleTransferConfirm(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	if heir, ok := s.transferHeir(w, r); ok {
		s.renderConfirm(w, r, "Transfer ownership", "organization", transferPage(heir, nil))
	}
}

func (s *Server) handleTransfer(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	to, _ := strconv.ParseInt(r.PostForm.Get("to"), 10, 64)
	moved, err := s.svc.TransferOwnership(r.Context(), to, r.PostForm.Get("password"))
	switch muster.ErrorCode(err) {
	case "":
		s.redirectWith(w, r, "/settings/organization", moved.To.Name()+" is now the Owner of "+moved.Org.Name+
			". You are an Admin.")
	case muster.EFORBIDDEN, muster.ECONFLICT:
		// The form again, with why.
		if heir, ok := s.transferHeir(w, r); ok {
			s.renderConfirmStatus(w, r, httperr.Status(err), "Transfer ownership", "organization", transferPage(heir, err))
		}
	default:
		s.refused(w, r, err)
	}
}
