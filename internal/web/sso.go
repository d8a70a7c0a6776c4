package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/muster-app/muster/internal/httperr"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

// Single sign-on in the console (AUTH-6): the page that sends a browser to
// an identity provider, the callback, the settings and domains pages, the
// recovery-code sign-in, and the back-channel logout endpoint that
// providers post to.

// ssoCookie holds the secret of the browser's sign-in at an identity
// provider until its callback (see service.SSOStart).
const ssoCookie = "muster_sso"

// ssoRedirectPage sends the browser on to the identity provider.
type ssoRedirectPage struct {
	Page
	Heading      string
	Message      string
	OrgName      string
	URL          string
	PasswordLink string
}

// toIdentityProvider starts the browser's sign-in at start's provider:
// the browser keeps the login's secret in a cookie for the callback, which
// may reach any instance, and goes to the provider through a page rather
// than a redirect, since a form's redirect to another site is blocked by
// the CSP's form-action 'self'. message, if set, says why.
func (s *Server) toIdentityProvider(w http.ResponseWriter, r *http.Request, start *service.SSOStart, message string,
	passwordLink bool) {
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: start.BrowserSecret, Path: "/sso/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.secureCookies, MaxAge: int(service.SSOLoginTTL.Seconds())})
	w.Header().Set("Cache-Control", "no-store")
	p := ssoRedirectPage{Page: Page{Title: "Continue to " + start.OrgName, Refresh: start.URL},
		Heading: "Continue to " + start.OrgName + "'s sign-in", Message: message, OrgName: start.OrgName, URL: start.URL}
	if passwordLink {
		p.PasswordLink = "/signin?step=password"
	}
	s.render(w, r, http.StatusOK, "sso_redirect", p)
}

// ssoRefused shows why single sign-on did not sign the person in.
func (s *Server) ssoRefused(w http.ResponseWriter, r *http.Request, err error) {
	var e *muster.Error
	reason := ""
	if errors.As(err, &e) {
		reason = e.Reason
	}
	s.log.Info("web: single sign-on refused", "reason", reason, "code", muster.ErrorCode(err))
	w.Header().Set("Cache-Control", "no-store")
	s.message(w, r, httperr.Status(err), messagePage{Heading: "Single sign-on did not sign you in",
		Message: muster.ErrorMessage(err), Link: "/signin", LinkText: "Back to sign in"})
}

// handleSSOCallback takes the identity provider's answer: it signs the
// person in, shows an admin's test result, or says why not. Its query is
// read by the service's protocol parser (sso.ParseCallback), which refuses
// bad text itself so that the refusal reaches the audit log.
func (s *Server) handleSSOCallback(w http.ResponseWriter, r *http.Request) {
	secret := ""
	if c, err := r.Cookie(ssoCookie); err == nil {
		secret = c.Value
	}
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: "", Path: "/sso/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.secureCookies, MaxAge: -1})
	out, err := s.svc.FinishSSO(r.Context(), r.URL.Query(), secret, s.client(r))
	switch code := muster.ErrorCode(err); code {
	case "":
	case muster.EINTERNAL:
		s.serverError(w, r, err)
		return
	default:
		s.ssoRefused(w, r, err)
		return
	}
	if out.Test != nil {
		s.renderSSOTest(w, r, out.Test)
		return
	}
	s.startSession(w, out.SignedIn)
	http.Redirect(w, r, safeNext(out.Next), http.StatusSeeOther)
}

// ssoTestPage shows an admin's test sign-in.
type ssoTestPage struct {
	Page
	Succeeded bool
	Outcome   string
	Matched   string
	Claims    []claimRow
}

type claimRow struct{ Name, Value string }

func (s *Server) renderSSOTest(w http.ResponseWriter, r *http.Request, t *service.SSOTestResult) {
	// The admin's own session, when this browser has one, puts the page in
	// Settings.
	r = s.withOptionalUser(r)
	p := ssoTestPage{Page: s.page(w, r, "Test sign-in"), Succeeded: t.Succeeded, Outcome: t.Outcome}
	p.Section = "sso"
	if t.Matched != nil {
		p.Matched = t.Matched.Name() + " <" + t.Matched.Email + "> (" + t.Matched.Status.Label() + ")"
	}
	if t.Claims != nil {
		names := make([]string, 0, len(t.Claims.All))
		for k := range t.Claims.All {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			v, err := json.Marshal(t.Claims.All[k])
			if err != nil {
				v = []byte(fmt.Sprint(t.Claims.All[k]))
			}
			p.Claims = append(p.Claims, claimRow{Name: k, Value: muster.RecordedText(string(v), 500)})
		}
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "sso_test", p)
}

// ssoSettingsPage is Settings → Single sign-on.
type ssoSettingsPage struct {
	Page
	Message                string
	RedirectURI, LogoutURI string
	Issuer, ClientID       Field
	Secret, Scopes         Field
	Connected              bool
	Enabled, JIT, Required bool
	Owner                  bool
	TestStatus             string
	CodesLeft              int
	// Codes are recovery codes just made, shown this once.
	Codes []string
}

// ssoForm is what the connection form held when it was refused.
type ssoForm struct {
	issuer, clientID, scopes string
	err                      error
}

func (s *Server) renderSSOSettings(w http.ResponseWriter, r *http.Request, status int, form *ssoForm, codes []string) {
	st, err := s.svc.SSOSettings(r.Context())
	if s.refused(w, r, err) {
		return
	}
	p := ssoSettingsPage{Page: s.page(w, r, "Single sign-on"), RedirectURI: st.RedirectURI, LogoutURI: st.LogoutURI,
		Owner: st.Owner, CodesLeft: st.RecoveryCodesLeft, Codes: codes,
		Issuer: Field{ID: "issuer", Label: "Issuer URL", Type: "url", Max: 500,
			Hint: "Where the provider's /.well-known/openid-configuration is, like https://acme.okta.com"},
		ClientID: Field{ID: "client_id", Label: "Client ID", Type: "text", Max: 500},
		Secret: Field{ID: "client_secret", Label: "Client secret", Type: "password", Max: 2000,
			Autocomplete: "off", Hint: "Write-only: Muster encrypts it and never shows it again."},
		Scopes: Field{ID: "scopes", Label: "Extra scopes", Type: "text", Max: 500, Optional: true,
			Hint: "Besides openid, email and profile, separated by spaces. Usually none."}}
	p.Section = "sso"
	if c := st.Connection; c != nil {
		p.Connected, p.Enabled, p.JIT, p.Required = true, c.Enabled, c.JIT, c.Required
		p.Issuer.Value, p.ClientID.Value, p.Scopes.Value = c.Issuer, c.ClientID, strings.Join(c.Scopes, " ")
		p.TestStatus = "Your test sign-in with these settings has not succeeded yet."
		if st.TestedByYou {
			p.TestStatus = "Your test sign-in with these settings succeeded on " + humanTime(c.TestedAt) + "."
		}
	}
	if st.HasSecret {
		p.Secret.Optional = true
		p.Secret.Hint = "Set. Leave empty to keep it; Muster never shows it again."
	}
	if !st.CanSeal {
		p.Message = "This server has no key to encrypt a client secret with: its operator starts it with --secret-key."
	}
	if form != nil {
		p.Issuer.Value, p.ClientID.Value, p.Scopes.Value = form.issuer, form.clientID, form.scopes
		p.Message = showFieldErrors(form.err, map[string]*string{muster.FieldIssuer: &p.Issuer.Error,
			muster.FieldClientID: &p.ClientID.Error, muster.FieldClientSecret: &p.Secret.Error,
			muster.FieldScopes: &p.Scopes.Error})
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, status, "sso_settings", p)
}

func (s *Server) handleSSOSettings(w http.ResponseWriter, r *http.Request) {
	s.renderSSOSettings(w, r, http.StatusOK, nil, nil)
}

func (s *Server) handleSSOSave(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	in := service.SSOConnectionInput{Issuer: r.PostForm.Get("issuer"), ClientID: r.PostForm.Get("client_id"),
		ClientSecret: r.PostForm.Get("client_secret"), Scopes: r.PostForm.Get("scopes")}
	_, err := s.svc.SaveSSOConnection(r.Context(), in)
	switch muster.ErrorCode(err) {
	case "":
		s.redirectWith(w, r, "/settings/sso", "The single sign-on settings are saved. Run a test sign-in with them.")
	case muster.EINVALID, muster.ECONFLICT:
		s.renderSSOSettings(w, r, httperr.Status(err), &ssoForm{issuer: in.Issuer, clientID: in.ClientID,
			scopes: in.Scopes, err: err}, nil)
	default:
		s.refused(w, r, err)
	}
}

// ssoSettingsRefused shows a refusal of a settings action above the page.
func (s *Server) ssoSettingsRefused(w http.ResponseWriter, r *http.Request, err error) {
	if muster.ErrorCode(err) == muster.ECONFLICT {
		s.renderSSOSettings(w, r, http.StatusConflict, &ssoForm{err: err}, nil)
		return
	}
	s.refused(w, r, err)
}

func (s *Server) handleSSOTest(w http.ResponseWriter, r *http.Request) {
	start, err := s.svc.StartSSOTest(r.Context())
	if err != nil {
		s.ssoSettingsRefused(w, r, err)
		return
	}
	s.toIdentityProvider(w, r, start, "A test sign-in: sign in at the provider as yourself.", false)
}

func (s *Server) handleSSOEnabled(w http.ResponseWriter, r *http.Request) {
	s.ssoSwitch(w, r, "on", s.svc.SetSSOEnabled,
		"SSO sign-in is on: people of your verified domains go to the identity provider.",
		"SSO sign-in is off: everyone signs in with a password.")
}

func (s *Server) handleSSOJIT(w http.ResponseWriter, r *http.Request) {
	s.ssoSwitch(w, r, "jit", s.svc.SetSSOJIT, "Just-in-time provisioning is on.", "Just-in-time provisioning is off.")
}

// ssoSwitch turns a setting on or off as the form's input says ("on"),
// with set, and says which.
func (s *Server) ssoSwitch(w http.ResponseWriter, r *http.Request, input string,
	set func(ctx context.Context, on bool) error, onMsg, offMsg string) {
	if !s.parseForm(w, r) {
		return
	}
	on := r.PostForm.Get(input) == "on"
	if err := set(r.Context(), on); err != nil {
		s.ssoSettingsRefused(w, r, err)
		return
	}
	if on {
		s.redirectWith(w, r, "/settings/sso", onMsg)
	} else {
		s.redirectWith(w, r, "/settings/sso", offMsg)
	}
}

func (s *Server) handleSSORequire(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	on := r.PostForm.Get("on") == "on"
	codes, err := s.svc.RequireSSO(r.Context(), on)
	switch {
	case err != nil:
		s.ssoSettingsRefused(w, r, err)
	case codes != nil:
		s.renderSSOSettings(w, r, http.StatusOK, nil, codes.Codes)
	default:
		s.redirectWith(w, r, "/settings/sso", "Single sign-on is no longer required: passwords work again.")
	}
}

func (s *Server) handleSSORecoveryCodes(w http.ResponseWriter, r *http.Request) {
	codes, err := s.svc.RegenerateRecoveryCodes(r.Context())
	if err != nil {
		s.ssoSettingsRefused(w, r, err)
		return
	}
	s.renderSSOSettings(w, r, http.StatusOK, nil, codes.Codes)
}

// ssoDomainsPage is Settings → Domains.
type ssoDomainsPage struct {
	Page
	Message string
	Domains []domainRow
	Domain  Field
}

type domainRow struct {
	Domain, Status, Record string
	VerifyURL, RemoveURL   string
}

func (s *Server) renderSSODomains(w http.ResponseWriter, r *http.Request, status int, typed string, err error) {
	st, serr := s.svc.SSOSettings(r.Context())
	if s.refused(w, r, serr) {
		return
	}
	p := ssoDomainsPage{Page: s.page(w, r, "Domains"),
		Domain: Field{ID: "domain", Label: "Domain", Type: "text", Value: typed, Max: 253, Hint: "Like example.com"}}
	p.Section = "domains"
	p.Message = showFieldErrors(err, map[string]*string{muster.FieldDomain: &p.Domain.Error})
	for _, d := range st.Domains {
		row := domainRow{Domain: d.Domain, Status: "Not verified", Record: d.TXTRecord(),
			VerifyURL: "/settings/domains/" + strconv.FormatInt(d.ID, 10) + "/verify",
			RemoveURL: "/settings/domains/" + strconv.FormatInt(d.ID, 10) + "/remove"}
		if d.Verified() {
			row.Status = "Verified " + humanTime(d.VerifiedAt)
		}
		p.Domains = append(p.Domains, row)
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, status, "sso_domains", p)
}

func (s *Server) handleSSODomains(w http.ResponseWriter, r *http.Request) {
	s.renderSSODomains(w, r, http.StatusOK, "", nil)
}

func (s *Server) handleSSODomainAdd(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	typed := r.PostForm.Get("domain")
	d, err := s.svc.AddSSODomain(r.Context(), typed)
	switch muster.ErrorCode(err) {
	case "":
		s.redirectWith(w, r, "/settings/domains", "Add the TXT record "+d.TXTRecord()+" to "+d.Domain+
			"'s DNS, then press Verify.")
	case muster.EINVALID, muster.ECONFLICT:
		s.renderSSODomains(w, r, httperr.Status(err), typed, err)
	default:
		s.refused(w, r, err)
	}
}

func (s *Server) handleSSODomainVerify(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	d, err := s.svc.VerifySSODomain(r.Context(), id)
	switch muster.ErrorCode(err) {
	case "":
		s.redirectWith(w, r, "/settings/domains", d.Domain+" is verified.")
	case muster.ECONFLICT:
		s.renderSSODomains(w, r, http.StatusConflict, "", err)
	default:
		s.refused(w, r, err)
	}
}

func (s *Server) handleSSODomainRemove(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	if err := s.svc.RemoveSSODomain(r.Context(), id); s.refused(w, r, err) {
		return
	}
	s.redirectWith(w, r, "/settings/domains", "The domain is removed.")
}

// handleInvitationSSO accepts an invitation through single sign-on.
func (s *Server) handleInvitationSSO(w http.ResponseWriter, r *http.Request) {
	start, err := s.svc.StartSSOInvitation(r.Context(), r.PathValue("token"), s.client(r))
	switch muster.ErrorCode(err) {
	case "":
		s.toIdentityProvider(w, r, start, "", false)
	case muster.EGONE, muster.ENOTFOUND:
		s.linkGone(w, r, err)
	case muster.EINTERNAL:
		s.serverError(w, r, err)
	default:
		s.ssoRefused(w, r, err)
	}
}

// recoveryPage is the Owner's sign-in with a recovery code.
type recoveryPage struct {
	Page
	Message     string
	Email, Pass Field
	Code        Field
}

func (s *Server) newRecoveryPage(email, message string) recoveryPage {
	return recoveryPage{Page: Page{Title: "Sign in with a recovery code"}, Message: message,
		Email: Field{ID: "email", Label: "Email", Type: "email", Value: email, Autocomplete: "username",
			Max: muster.MaxEmailLength},
		Pass: Field{ID: "password", Label: "Password", Type: "password", Autocomplete: "current-password",
			Max: muster.MaxPasswordLength},
		Code: Field{ID: "recovery_code", Label: "Recovery code", Type: "text", Autocomplete: "one-time-code", Max: 40,
			Hint: "Like abcd-efgh-jkmn-pqrs"}}
}

func (s *Server) handleRecoveryForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "signin_recovery", s.newRecoveryPage("", ""))
}

func (s *Server) handleRecoverySignIn(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	email := r.PostForm.Get("email")
	in, err := s.svc.SignInWithRecoveryCode(r.Context(), email, r.PostForm.Get("password"),
		r.PostForm.Get("recovery_code"), s.client(r))
	switch muster.ErrorCode(err) {
	case "":
	case muster.EUNAUTHORIZED, muster.ETOOMANY:
		httperr.SetRetryAfter(w.Header(), err)
		msg := muster.ErrorMessage(err)
		if muster.ErrorCode(err) == muster.EUNAUTHORIZED {
			msg = "That email, password and recovery code don't match an Owner of an organization that requires single sign-on."
		}
		s.render(w, r, httperr.Status(err), "signin_recovery", s.newRecoveryPage(email, msg))
		return
	default:
		s.serverError(w, r, err)
		return
	}
	s.startSession(w, in)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// maxLogoutBody bounds a back-channel logout request: one token.
const maxLogoutBody = 32 << 10

// handleBackChannelLogout takes a logout token posted by an identity
// provider (OpenID Connect Back-Channel Logout 1.0, section 2.5): 200 when
// it was verified and the sessions it names ended, else 400 with an error
// in JSON. Never cached.
func (s *Server) handleBackChannelLogout(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, maxLogoutBody)
	if err := r.ParseForm(); err != nil {
		logoutError(w, "invalid_request", "The request is not a form.")
		return
	}
	raw := r.PostForm.Get("logout_token")
	if raw == "" {
		logoutError(w, "invalid_request", "The form has no logout_token.")
		return
	}
	n, err := s.svc.BackChannelLogout(r.Context(), raw, s.client(r))
	switch muster.ErrorCode(err) {
	case "":
		s.log.Info("web: back-channel logout", "sessions_ended", n)
		w.WriteHeader(http.StatusOK)
	case muster.EINTERNAL:
		s.log.Error("web: back-channel logout failed", "err", err)
		w.WriteHeader(http.StatusInternalServerError)
	default:
		s.log.Info("web: back-channel logout refused", "err", err)
		logoutError(w, "invalid_request", muster.ErrorMessage(err))
	}
}

func logoutError(w http.ResponseWriter, code, description string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusBadRequest)
	json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
}
