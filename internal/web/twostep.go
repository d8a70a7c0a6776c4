package web

import (
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	qr "github.com/piglig/go-qr"

	"github.com/muster-app/muster/internal/httperr"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

// Two-step verification (AUTH-7): the Security page of one's profile, the
// second step of sign-in, and the enrolment a sign-in leads to when the
// organization requires it.

const (
	// signInCookie holds a pending sign-in's token between the password
	// and the second step; the database keeps its hash.
	signInCookie = "muster_signin"
	// rememberCookie holds the token of a browser that skips the second
	// step, where the organization allows it.
	rememberCookie = "muster_remember"
	securityPath   = "/account/security"
	secondStepPath = "/signin/two-step"
)

func (s *Server) twoStepRoutes() {
	s.mux.HandleFunc("GET "+securityPath, s.requireUser(s.handleSecurity))
	s.mux.HandleFunc("POST "+securityPath+"/totp", s.requireUser(s.handleTOTPStart))
	s.mux.HandleFunc("GET "+securityPath+"/totp", s.requireUser(s.handleTOTPSetup))
	s.mux.HandleFunc("POST "+securityPath+"/totp/confirm", s.requireUser(s.handleTOTPConfirm))
	s.mux.HandleFunc("GET "+securityPath+"/factors/{id}/remove", s.requireUser(s.handleFactorRemoveForm))
	s.mux.HandleFunc("POST "+securityPath+"/factors/{id}/remove", s.requireUser(s.handleFactorRemove))
	s.mux.HandleFunc("POST "+securityPath+"/recovery-codes", s.requireUser(s.handleTwoStepCodes))

	s.mux.HandleFunc("GET "+secondStepPath, s.handleSecondStepForm)
	s.mux.HandleFunc("POST "+secondStepPath, s.handleSecondStep)
	s.mux.HandleFunc("POST "+secondStepPath+"/skip", s.handleEnrolSkip)
	s.mux.HandleFunc("POST "+secondStepPath+"/totp", s.handleEnrolTOTPStart)
	s.mux.HandleFunc("GET "+secondStepPath+"/totp", s.handleEnrolTOTPSetup)
	s.mux.HandleFunc("POST "+secondStepPath+"/totp/confirm", s.handleEnrolTOTPConfirm)
}

// signedInTo finishes a password sign-in: a session and the page next, or,
// when a second step is due, its page.
func (s *Server) signedInTo(w http.ResponseWriter, r *http.Request, in *service.SignedIn, next string) {
	if in.Pending != nil {
		http.SetCookie(w, &http.Cookie{Name: signInCookie, Value: in.Pending.Token, Path: "/signin", HttpOnly: true,
			SameSite: http.SameSiteLaxMode, Secure: s.secureCookies, MaxAge: int(service.SignInChallengeTTL.Seconds())})
		http.Redirect(w, r, secondStepURL("", next), http.StatusSeeOther)
		return
	}
	s.startSession(w, in)
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// secondStepURL is the second step's page (or one below it), returning to
// next.
func secondStepURL(sub, next string) string {
	u := secondStepPath + sub
	if next = safeNext(next); next != "/" {
		u += "?" + url.Values{"next": {next}}.Encode()
	}
	return u
}

// pendingToken is the pending sign-in's token from its cookie.
func pendingToken(r *http.Request) string {
	if c, err := r.Cookie(signInCookie); err == nil {
		return c.Value
	}
	return ""
}

// clearPending forgets the pending sign-in's cookie.
func (s *Server) clearPending(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: signInCookie, Value: "", Path: "/signin", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.secureCookies, MaxAge: -1})
}

// secondStepDone starts the session of a completed second step, remembers
// the browser when asked, and goes on to next.
func (s *Server) secondStepDone(w http.ResponseWriter, r *http.Request, done *service.SecondStepDone, next string) {
	s.clearPending(w)
	if done.RememberToken != "" {
		http.SetCookie(w, &http.Cookie{Name: rememberCookie, Value: done.RememberToken, Path: "/signin", HttpOnly: true,
			SameSite: http.SameSiteLaxMode, Secure: s.secureCookies, MaxAge: int(muster.RememberBrowserFor.Seconds())})
	}
	s.startSession(w, done.SignedIn)
	if done.RecoveryCodes != nil {
		s.renderRecoveryCodes(w, r, done.RecoveryCodes.Codes, next)
		return
	}
	if done.RecoveryCodeUsed {
		s.redirectWith(w, r, next, "You signed in with a recovery code. "+strconv.Itoa(done.RecoveryCodesLeft)+
			" are left: make new ones on your Security page when they run low.")
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// pendingEnded answers a request of a sign-in that is no longer pending:
// back to the sign-in page, saying so.
func (s *Server) pendingEnded(w http.ResponseWriter, r *http.Request, err error) {
	switch muster.ErrorCode(err) {
	case muster.EUNAUTHORIZED:
		s.clearPending(w)
		p := s.newSignInPage(r, "", muster.ErrorMessage(err))
		p.AskPassword = false
		s.render(w, r, http.StatusUnauthorized, "signin", p)
	default:
		s.refused(w, r, err)
	}
}

// ----- The second step -----

// secondStepPage asks for the second step of a sign-in, or, where the
// organization requires it of a person without a factor, leads to
// enrolment.
type secondStepPage struct {
	Page
	Step    *service.SecondStep
	Next    string
	Code    Field
	Message string
	HasTOTP bool
	// HasPasskey offers the person's passkeys (passkeys.js).
	HasPasskey bool
	Remember   bool
	// PasskeysUnavailable says why this server cannot use passkeys; else
	// enrolment offers one, named PasskeyName.
	PasskeysUnavailable string
	PasskeyName         Field
	// GraceEnds says until when enrolment may be skipped.
	GraceEnds string
}

// Errors is the form's error summary.
func (p secondStepPage) Errors() *errorSummary { return summarize(p.Message, p.Code, p.PasskeyName) }

func (s *Server) renderSecondStep(w http.ResponseWriter, r *http.Request, status int, err error) {
	step, serr := s.svc.FindSecondStep(r.Context(), pendingToken(r))
	if serr != nil {
		s.pendingEnded(w, r, serr)
		return
	}
	p := secondStepPage{Page: Page{Title: "Two-step verification"}, Step: step, Next: safeNext(r.FormValue("next")),
		Remember: r.PostFormValue("remember") == "on",
		Code: Field{ID: "code", Label: "Code", Type: "text", Autocomplete: "one-time-code",
			Hint: "The 6-digit code your authenticator app shows, or one of your recovery codes.",
			Max:  muster.MaxSecondStepCodeLength},
		PasskeysUnavailable: s.svc.PasskeysUnavailable(),
		PasskeyName: Field{ID: "name", Label: "Passkey name", Type: "text", Value: r.PostFormValue("name"),
			Max: muster.MaxNameLength, Hint: "To tell your passkeys apart, such as “YubiKey on my keyring”."}}
	for _, f := range step.Factors {
		p.HasTOTP = p.HasTOTP || f.Kind == muster.FactorTOTP
		p.HasPasskey = p.HasPasskey || f.Kind == muster.FactorPasskey
	}
	if !p.HasTOTP {
		p.Code.Hint = "One of your recovery codes."
	}
	if !step.GraceEnds.IsZero() {
		p.GraceEnds = humanTime(step.GraceEnds)
	}
	p.Message = showFieldErrors(err, map[string]*string{muster.FieldCode: &p.Code.Error, muster.FieldName: &p.PasskeyName.Error})
	httperr.SetRetryAfter(w.Header(), err)
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, status, "signin_two_step", p)
}

func (s *Server) handleSecondStepForm(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	s.renderSecondStep(w, r, http.StatusOK, nil)
}

func (s *Server) handleSecondStep(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	done, err := s.svc.VerifySecondStep(r.Context(), pendingToken(r), r.PostForm.Get("code"),
		r.PostForm.Get("remember") == "on", s.client(r))
	switch code := muster.ErrorCode(err); {
	case code == "":
		s.secondStepDone(w, r, done, safeNext(r.FormValue("next")))
	case err == nil || code == muster.EINTERNAL:
		s.serverError(w, r, err)
	case muster.ErrorFields(err) != nil || code == muster.ETOOMANY:
		s.renderSecondStep(w, r, httperr.Status(err), err)
	default:
		s.pendingEnded(w, r, err)
	}
}

func (s *Server) handleEnrolSkip(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	done, err := s.svc.SkipEnrolment(r.Context(), pendingToken(r), s.client(r))
	switch muster.ErrorCode(err) {
	case "":
		s.secondStepDone(w, r, done, safeNext(r.FormValue("next")))
	case muster.EFORBIDDEN:
		s.renderSecondStep(w, r, http.StatusForbidden, err)
	default:
		s.pendingEnded(w, r, err)
	}
}

// ----- Authenticator app set-up -----

// totpSetupPage shows an authenticator app's QR code and secret, and asks
// for a current code to turn it on.
type totpSetupPage struct {
	Page
	// QR is the otpauth:// URL as a PNG, in a data: URL.
	QR template.URL
	// Secret is the secret in groups of four, for typing it in.
	Secret  string
	Code    Field
	Message string
	Action  string
	Cancel  string
	Next    string
	// SignIn says this is a sign-in's enrolment: no console around it.
	SignIn bool
}

// Errors is the form's error summary.
func (p totpSetupPage) Errors() *errorSummary { return summarize(p.Message, p.Code) }

// qrPNG renders text as a QR code PNG in a data: URL, which the content
// security policy allows as an image.
func qrPNG(text string) (template.URL, error) {
	code, err := qr.EncodeText(text, qr.Medium)
	if err != nil {
		return "", err
	}
	png, err := code.ToPNGBytes(qr.NewQrCodeImgConfig(6, 4))
	if err != nil {
		return "", err
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png)), nil
}

// groupSecret writes a base32 secret in groups of four.
func groupSecret(secret string) string {
	var b strings.Builder
	for i := 0; i < len(secret); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(secret[i:min(i+4, len(secret))])
	}
	return b.String()
}

func (s *Server) renderTOTPSetup(w http.ResponseWriter, r *http.Request, status int, token string, err error) {
	en, perr := s.svc.PendingTOTP(r.Context(), token)
	if perr != nil {
		if token != "" {
			s.pendingEnded(w, r, perr)
		} else if muster.ErrorCode(perr) == muster.ENOTFOUND {
			http.Redirect(w, r, securityPath, http.StatusSeeOther)
		} else {
			s.refused(w, r, perr)
		}
		return
	}
	png, qerr := qrPNG(en.URL)
	if qerr != nil {
		s.serverError(w, r, qerr)
		return
	}
	p := totpSetupPage{QR: png, Secret: groupSecret(en.Secret),
		Code: Field{ID: "code", Label: "Code from the app", Type: "text", Autocomplete: "one-time-code",
			Max: muster.MaxSecondStepCodeLength, Hint: "The 6 digits it shows now."}}
	if token == "" {
		p.Page = s.page(w, r, "Set up an authenticator app")
		p.Action, p.Cancel = securityPath+"/totp/confirm", securityPath
	} else {
		p.Page = Page{Title: "Set up an authenticator app"}
		p.SignIn, p.Next = true, safeNext(r.FormValue("next"))
		p.Action, p.Cancel = secondStepURL("/totp/confirm", p.Next), secondStepURL("", p.Next)
	}
	p.Message = showFieldErrors(err, map[string]*string{muster.FieldCode: &p.Code.Error})
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, status, "totp_setup", p)
}

func (s *Server) handleTOTPStart(w http.ResponseWriter, r *http.Request) {
	if _, err := s.svc.StartTOTP(r.Context(), "", s.client(r)); err != nil {
		s.securityRefused(w, r, err)
		return
	}
	http.Redirect(w, r, securityPath+"/totp", http.StatusSeeOther)
}

func (s *Server) handleTOTPSetup(w http.ResponseWriter, r *http.Request) {
	s.renderTOTPSetup(w, r, http.StatusOK, "", nil)
}

func (s *Server) handleTOTPConfirm(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	done, err := s.svc.ConfirmTOTP(r.Context(), "", r.PostForm.Get("code"), s.client(r))
	switch {
	case muster.ErrorCode(err) == muster.EINVALID:
		s.renderTOTPSetup(w, r, httperr.Status(err), "", err)
	case err != nil:
		s.securityRefused(w, r, err)
	case done.RecoveryCodes != nil:
		s.renderRecoveryCodes(w, r, done.RecoveryCodes.Codes, securityPath)
	default:
		s.redirectWith(w, r, securityPath, "Your authenticator app is on.")
	}
}

func (s *Server) handleEnrolTOTPStart(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	if _, err := s.svc.StartTOTP(r.Context(), pendingToken(r), s.client(r)); err != nil {
		if muster.ErrorCode(err) == muster.ECONFLICT {
			s.renderSecondStep(w, r, http.StatusConflict, err)
		} else {
			s.pendingEnded(w, r, err)
		}
		return
	}
	http.Redirect(w, r, secondStepURL("/totp", r.FormValue("next")), http.StatusSeeOther)
}

func (s *Server) handleEnrolTOTPSetup(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	s.renderTOTPSetup(w, r, http.StatusOK, pendingToken(r), nil)
}

func (s *Server) handleEnrolTOTPConfirm(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	token := pendingToken(r)
	done, err := s.svc.ConfirmTOTP(r.Context(), token, r.PostForm.Get("code"), s.client(r))
	switch muster.ErrorCode(err) {
	case "":
		s.secondStepDone(w, r, done, safeNext(r.FormValue("next")))
	case muster.EINVALID:
		s.renderTOTPSetup(w, r, httperr.Status(err), token, err)
	default:
		s.pendingEnded(w, r, err)
	}
}

// recoveryCodesPage shows new recovery codes, once.
type recoveryCodesPage struct {
	Page
	Codes    []string
	Continue string
}

func (s *Server) renderRecoveryCodes(w http.ResponseWriter, r *http.Request, codes []string, next string) {
	p := recoveryCodesPage{Page: Page{Title: "Your recovery codes"}, Codes: codes, Continue: next}
	if u, _ := current(r); u != nil {
		p.Page = s.page(w, r, "Your recovery codes")
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "recovery_codes", p)
}

// ----- The Security page -----

// securityPage is the signed-in person's two-step verification.
type securityPage struct {
	Page
	Status    *service.TwoStepStatus
	Factors   []factorRow
	GraceEnds string
	Message   string
	HasTOTP   bool
	// PasskeysUnavailable says why this server cannot use passkeys;
	// PasskeysFull that the person has as many as one may.
	PasskeysUnavailable string
	PasskeysFull        bool
	// PasskeyName is the name input of the form that adds a passkey.
	PasskeyName Field
}

type factorRow struct {
	Kind, Name, Added, LastUsed string
	RemoveURL                   string
	// RenameURL renames a passkey; empty for other kinds.
	RenameURL string
}

// securityForm is what the Security page shows of a form sent from it:
// a message, or the add-a-passkey form's name and refusal.
type securityForm struct {
	Message     string
	PasskeyName string
	PasskeyErr  error
}

func (s *Server) renderSecurity(w http.ResponseWriter, r *http.Request, status int, message string) {
	s.renderSecurityWith(w, r, status, securityForm{Message: message})
}

func (s *Server) renderSecurityWith(w http.ResponseWriter, r *http.Request, status int, form securityForm) {
	st, err := s.svc.TwoStep(r.Context())
	if s.refused(w, r, err) {
		return
	}
	p := securityPage{Page: s.page(w, r, "Security"), Status: st, Message: form.Message,
		PasskeysUnavailable: s.svc.PasskeysUnavailable(),
		PasskeyName: Field{ID: "name", Label: "Passkey name", Type: "text", Value: form.PasskeyName, Max: muster.MaxNameLength,
			Hint: "To tell your passkeys apart, such as “YubiKey on my keyring” or “This laptop”."}}
	if form.PasskeyErr != nil {
		p.Message = showFieldErrors(form.PasskeyErr, map[string]*string{muster.FieldName: &p.PasskeyName.Error})
	}
	if !st.GraceEnds.IsZero() {
		p.GraceEnds = humanTime(st.GraceEnds)
	}
	passkeys := 0
	for _, f := range st.Factors {
		row := factorRow{Kind: f.Kind.Label(), Name: f.Name, Added: humanTime(f.CreatedAt), LastUsed: "Never",
			RemoveURL: securityPath + "/factors/" + strconv.FormatInt(f.ID, 10) + "/remove"}
		if !f.LastUsedAt.IsZero() {
			row.LastUsed = humanTime(f.LastUsedAt)
		}
		if f.Kind == muster.FactorPasskey {
			row.RenameURL = passkeyURL(f.ID, "rename")
			passkeys++
		}
		p.Factors = append(p.Factors, row)
		p.HasTOTP = p.HasTOTP || f.Kind == muster.FactorTOTP
	}
	p.PasskeysFull = passkeys >= muster.MaxPasskeys
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, status, "security", p)
}

// securityRefused shows the Security page with why, or the refusal's own
// page.
func (s *Server) securityRefused(w http.ResponseWriter, r *http.Request, err error) {
	switch muster.ErrorCode(err) {
	case muster.ECONFLICT, muster.EINVALID:
		s.renderSecurity(w, r, httperr.Status(err), muster.ErrorMessage(err))
	default:
		s.refused(w, r, err)
	}
}

func (s *Server) handleSecurity(w http.ResponseWriter, r *http.Request) {
	s.renderSecurity(w, r, http.StatusOK, "")
}

func (s *Server) handleTwoStepCodes(w http.ResponseWriter, r *http.Request) {
	codes, err := s.svc.RegenerateTwoStepRecoveryCodes(r.Context())
	if err != nil {
		s.securityRefused(w, r, err)
		return
	}
	s.renderRecoveryCodes(w, r, codes.Codes, securityPath)
}

// factorRemovePage confirms turning a factor off; the last one needs the
// password and a current code.
type factorRemovePage struct {
	Page
	Factor   factorRow
	Last     bool
	Password Field
	Code     Field
	// HasPasskey offers one of the person's passkeys as the current
	// factor; PasskeyError is what is wrong with its answer.
	HasPasskey   bool
	PasskeyError string
	Message      string
	Action       string
}

// Errors is the form's error summary.
func (p factorRemovePage) Errors() *errorSummary {
	return summarize(p.Message, p.Password, p.Code, groupRef{ID: "confirm-passkey", Label: "Passkey", Error: p.PasskeyError})
}

func (s *Server) renderFactorRemove(w http.ResponseWriter, r *http.Request, status int, err error) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	st, serr := s.svc.TwoStep(r.Context())
	if s.refused(w, r, serr) {
		return
	}
	p := factorRemovePage{Page: s.page(w, r, "Turn off a factor"), Last: len(st.Factors) == 1,
		Action:   securityPath + "/factors/" + strconv.FormatInt(id, 10) + "/remove",
		Password: Field{ID: "password", Label: "Your password", Type: "password", Autocomplete: "current-password", Max: muster.MaxPasswordLength},
		Code: Field{ID: "code", Label: "Code", Type: "text", Autocomplete: "one-time-code", Max: muster.MaxSecondStepCodeLength,
			Hint: "A current code from your authenticator app, or one of your recovery codes."}}
	found := false
	for _, f := range st.Factors {
		if f.ID == id {
			found, p.Factor = true, factorRow{Kind: f.Kind.Label(), Name: f.Name}
		}
		p.HasPasskey = p.HasPasskey || f.Kind == muster.FactorPasskey
	}
	if !found {
		s.notFound(w, r)
		return
	}
	p.Message = showFieldErrors(err, map[string]*string{muster.FieldPassword: &p.Password.Error,
		muster.FieldCode: &p.Code.Error, muster.FieldPasskey: &p.PasskeyError})
	s.render(w, r, status, "factor_remove", p)
}

func (s *Server) handleFactorRemoveForm(w http.ResponseWriter, r *http.Request) {
	s.renderFactorRemove(w, r, http.StatusOK, nil)
}

func (s *Server) handleFactorRemove(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	var err error
	if token, response := passkeyAnswer(r); token != "" || len(response) > 0 {
		// Confirmed with a passkey (passkeys.js) instead of a code.
		_, sess := current(r)
		err = s.svc.RemoveFactorWithPasskey(r.Context(), id, r.PostForm.Get("password"), token, response, sess.ID)
	} else {
		err = s.svc.RemoveFactor(r.Context(), id, r.PostForm.Get("password"), r.PostForm.Get("code"))
	}
	switch muster.ErrorCode(err) {
	case "":
		s.redirectWith(w, r, securityPath, "The factor is off.")
	case muster.EINVALID:
		s.renderFactorRemove(w, r, httperr.Status(err), err)
	default:
		s.refused(w, r, err)
	}
}

// rememberedBrowser is the token of the browser's remember cookie.
func rememberedBrowser(r *http.Request) string {
	if c, err := r.Cookie(rememberCookie); err == nil {
		return c.Value
	}
	return ""
}
