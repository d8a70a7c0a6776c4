package web

import (
	"context"
	"net/http"

	"github.com/muster-app/muster/internal/httperr"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

// passwordPage asks for a new password: to accept an invitation (INV-5) or
// to reset one (AUTH-2).
type passwordPage struct {
	Page
	Heading string
	Lead    string
	OrgName string
	Email   string
	Action  string
	Button  string
	Message string
	Pass    Field
	// SSOAction, when set, is where the form that continues with single
	// sign-on posts; SSOOnly hides the password form (AUTH-6).
	SSOAction string
	SSOOnly   bool
}

// newPasswordPage returns the form headed heading that posts to action,
// with err's message beside the password or, when it is not about it, above
// the form.
func newPasswordPage(heading, lead, action string, err error) passwordPage {
	p := passwordPage{Page: Page{Title: heading}, Heading: heading, Lead: lead, Action: action,
		Button: "Set password and sign in", Pass: newPasswordField(err)}
	if err != nil && p.Pass.Error == "" {
		p.Message = muster.ErrorMessage(err)
	}
	return p
}

// newPasswordField is the input of a new password, with the rules as its
// hint and err's message about the password, if any.
func newPasswordField(err error) Field {
	f := Field{ID: "password", Label: "Password", Type: "password", Autocomplete: "new-password",
		Hint: muster.PasswordRules, Max: muster.MaxPasswordLength}
	showFieldErrors(err, map[string]*string{muster.FieldPassword: &f.Error})
	return f
}

// setPasswordByLink handles the post of a password form reached by a link
// whose token is in the path: set sets the password and signs in, and on
// success the browser goes home with a new session. A refused password
// (EINVALID) is shown by retry; any other refusal says the link is gone.
func (s *Server) setPasswordByLink(w http.ResponseWriter, r *http.Request,
	set func(ctx context.Context, token, password string, c service.Client) (*service.SignedIn, error),
	retry func(token string, err error), land func(in *service.SignedIn) string) {
	// Whatever it answers, the page holds the link's token: the form
	// again, refused, posts back to it.
	w.Header().Set("Cache-Control", "no-store")
	if !s.parseForm(w, r) {
		return
	}
	token := r.PathValue("token")
	in, err := set(r.Context(), token, r.PostForm.Get("password"), s.client(r))
	switch muster.ErrorCode(err) {
	case "":
	case muster.EINVALID:
		retry(token, err)
		return
	default:
		s.linkGoneOr500(w, r, err)
		return
	}
	s.signedInTo(w, r, in, land(in))
}

// home is where a password reset lands: the profile.
func home(*service.SignedIn) string { return "/" }

// resetRequestPage asks for the email to send a reset link to. In mailbox
// mode (no SMTP server) its notice says that no email will reach them.
type resetRequestPage struct {
	Page
	Email  Field
	Notice string
}

func (s *Server) handleResetRequestForm(w http.ResponseWriter, r *http.Request) {
	p := resetRequestPage{Page: Page{Title: "Reset your password"},
		Email: Field{ID: "email", Label: "Email", Type: "email", Autocomplete: "username", Max: muster.MaxEmailLength}}
	if s.mailbox {
		p.Notice = noSMTPForReset
	}
	s.render(w, r, http.StatusOK, "reset_request", p)
}

// noSMTPForReset says, in mailbox mode, why no reset email will come: the
// email stays in the Owner's mailbox, which never shows the link.
const noSMTPForReset = "This Muster has no email server set up, so reset links are not emailed: " +
	"the organization's Owner sees that you asked, but not the link, which is only for you. " +
	"Ask your Owner to configure SMTP so that password reset emails reach you."

// handleResetRequest answers the same for every email, so that the page
// never tells whether an account exists (DEA-2).
func (s *Server) handleResetRequest(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	if err := s.svc.RequestPasswordReset(r.Context(), r.PostForm.Get("email"), s.client(r)); err != nil {
		s.serverError(w, r, err)
		return
	}
	if s.mailbox {
		s.message(w, r, http.StatusOK, messagePage{Heading: "No email will come", Message: noSMTPForReset,
			Link: "/signin", LinkText: "Back to sign in"})
		return
	}
	s.message(w, r, http.StatusOK, messagePage{Heading: "Check your email",
		Message: "If an active account uses that email address, we have sent it a link to choose a new password. " +
			"The link works once, for an hour.",
		Link: "/signin", LinkText: "Back to sign in"})
}

// resetPage is the password form of a reset link (AUTH-2).
func resetPage(token string, err error) passwordPage {
	return newPasswordPage("Choose a new password", "Your other sessions will end.", resetPath+token, err)
}

func (s *Server) handleResetForm(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	if err := s.svc.CheckPasswordReset(r.Context(), token); err != nil {
		s.linkGoneOr500(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "password", resetPage(token, nil))
}

// handleReset sets the new password of a reset link and signs in.
func (s *Server) handleReset(w http.ResponseWriter, r *http.Request) {
	s.setPasswordByLink(w, r, s.svc.ResetPassword, func(token string, err error) {
		s.render(w, r, httperr.Status(err), "password", resetPage(token, err))
	}, home)
}

// changePasswordPage changes the signed-in user's password.
type changePasswordPage struct {
	Page
	Message string
	Current Field
	Pass    Field
}

// newChangePasswordPage returns the form for u, with err's messages beside
// the inputs they are about.
func newChangePasswordPage(u *muster.User, err error) changePasswordPage {
	p := changePasswordPage{Page: Page{Title: "Change your password", User: u},
		Current: Field{ID: "current_password", Label: "Current password", Type: "password",
			Autocomplete: "current-password", Max: muster.MaxPasswordLength},
		Pass: newPasswordField(nil)}
	p.Pass.Label = "New password"
	p.Message = showFieldErrors(err, map[string]*string{muster.FieldCurrentPassword: &p.Current.Error,
		muster.FieldPassword: &p.Pass.Error})
	return p
}

func (s *Server) handlePasswordForm(w http.ResponseWriter, r *http.Request) {
	u, _ := current(r)
	s.render(w, r, http.StatusOK, "change_password", newChangePasswordPage(u, nil))
}

// handlePasswordChange changes the password; the service ends the user's
// other sessions.
func (s *Server) handlePasswordChange(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	u, cur := current(r)
	err := s.svc.ChangePassword(r.Context(), r.PostForm.Get("current_password"), r.PostForm.Get("password"), cur.ID)
	switch code := muster.ErrorCode(err); code {
	case "":
	case muster.EINTERNAL:
		s.serverError(w, r, err)
		return
	default:
		s.render(w, r, httperr.Status(err), "change_password", newChangePasswordPage(u, err))
		return
	}
	s.redirectWith(w, r, "/account/sessions", "Your password has been changed. Your other sessions have ended.")
}
