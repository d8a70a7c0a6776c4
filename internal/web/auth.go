package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

// sessionCookie holds the session token; the database keeps its hash.
const sessionCookie = "muster_session"

// RegionLink is another region's deployment, for the sign-in page's region
// selector (AUTH-4).
type RegionLink struct {
	Code string
	URL  string // the region's base URL
}

// regionNames are the names the selector shows for well-known codes.
var regionNames = map[string]string{
	"us": "United States", "eu": "Europe", "ca": "Canada", "au": "Australia", "uk": "United Kingdom",
}

func regionName(code string) string {
	if n, ok := regionNames[code]; ok {
		return n
	}
	return strings.ToUpper(code)
}

// signedInKey carries the signed-in user and session in a request context.
type signedInKey struct{}

type signedIn struct {
	user    *muster.User
	session *muster.Session
}

// current returns the signed-in user and session of a request that went
// through requireUser.
func current(r *http.Request) (*muster.User, *muster.Session) {
	si, _ := r.Context().Value(signedInKey{}).(signedIn)
	return si.user, si.session
}

// requireUser lets a request through only with a live session of an Active
// user, checked in the database on every request so that a deactivation or
// a revoked session on any instance ends access at once (DEA-1). Anything
// else lands on the sign-in page.
func (s *Server) requireUser(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(sessionCookie)
		if err != nil {
			s.toSignIn(w, r, "")
			return
		}
		u, sess, err := s.svc.Authenticate(r.Context(), c.Value)
		switch muster.ErrorCode(err) {
		case "":
		case muster.EUNAUTHORIZED:
			s.clearSession(w)
			s.toSignIn(w, r, noticeSessionEnded)
			return
		default:
			s.serverError(w, r, err)
			return
		}
		ctx := muster.NewContext(r.Context(), muster.Principal{UserID: u.ID, OrgID: u.OrgID, Origin: "web " + clientIP(r)})
		ctx = context.WithValue(ctx, signedInKey{}, signedIn{user: u, session: sess})
		w.Header().Set("Cache-Control", "no-store")
		h(w, r.WithContext(ctx))
	}
}

// toSignIn sends the browser to the sign-in page, to come back afterwards.
func (s *Server) toSignIn(w http.ResponseWriter, r *http.Request, notice string) {
	q := url.Values{}
	if r.Method == http.MethodGet && r.URL.Path != "/" {
		q.Set("next", r.URL.RequestURI())
	}
	if notice != "" {
		q.Set("notice", notice)
	}
	target := "/signin"
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// startSession sets the session cookie: HttpOnly, SameSite=Lax, and Secure
// when Muster is served over HTTPS (AUTH-5).
func (s *Server) startSession(w http.ResponseWriter, in *service.SignedIn) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: in.Token, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.secureCookies, Expires: in.Session.ExpiresAt})
}

func (s *Server) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.secureCookies, MaxAge: -1})
}

// Notices shown on the sign-in page, by code, so that no text travels in
// the URL.
const (
	noticeSessionEnded = "session-ended"
	noticeSignedOut    = "signed-out"
)

var notices = map[string]string{
	noticeSessionEnded: "Your session has ended. Please sign in again.",
	noticeSignedOut:    "You have signed out.",
}

// safeNext returns next if it is a path on this site, else "/".
func safeNext(next string) string {
	if strings.HasPrefix(next, "/") && !strings.HasPrefix(next, "//") && !strings.HasPrefix(next, "/\\") {
		return next
	}
	return "/"
}

// signInPage is the sign-in form with its region selector.
type signInPage struct {
	Page
	Notice  string
	Message string
	Next    string
	Email   Field
	Pass    Field
	Region  string
	Regions []regionOption
}

type regionOption struct {
	Code, Name string
	Selected   bool
}

func (s *Server) newSignInPage(r *http.Request, email, message string) signInPage {
	p := signInPage{
		Page:    Page{Title: "Sign in"},
		Notice:  notices[r.URL.Query().Get("notice")],
		Message: message,
		Next:    safeNext(r.FormValue("next")),
		Email: Field{ID: "email", Label: "Email", Type: "email", Value: email, Autocomplete: "username",
			Max: muster.MaxEmailLength},
		Pass:   Field{ID: "password", Label: "Password", Type: "password", Autocomplete: "current-password", Max: muster.MaxPasswordLength},
		Region: s.region,
	}
	if len(s.regions) > 0 {
		p.Regions = append(p.Regions, regionOption{Code: s.region, Name: regionName(s.region), Selected: true})
		for _, rl := range s.regions {
			p.Regions = append(p.Regions, regionOption{Code: rl.Code, Name: regionName(rl.Code)})
		}
	}
	return p
}

func (s *Server) handleSignInForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "signin", s.newSignInPage(r, "", ""))
}

func (s *Server) handleSignIn(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	email := r.PostForm.Get("email")
	in, err := s.svc.SignIn(r.Context(), email, r.PostForm.Get("password"), client(r))
	switch code := muster.ErrorCode(err); code {
	case "":
	case muster.EUNAUTHORIZED, muster.ETOOMANY:
		s.render(w, r, muster.HTTPStatus(code), "signin", s.newSignInPage(r, email, muster.ErrorMessage(err)))
		return
	default:
		s.serverError(w, r, err)
		return
	}
	s.startSession(w, in)
	http.Redirect(w, r, safeNext(r.PostForm.Get("next")), http.StatusSeeOther)
}

// handleRegion sends the person to the chosen region's sign-in page.
func (s *Server) handleRegion(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("region")
	for _, rl := range s.regions {
		if rl.Code == code {
			http.Redirect(w, r, strings.TrimRight(rl.URL, "/")+"/signin", http.StatusSeeOther)
			return
		}
	}
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

func (s *Server) handleSignOut(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := s.svc.SignOut(r.Context(), c.Value); err != nil {
			s.serverError(w, r, err)
			return
		}
	}
	s.clearSession(w)
	http.Redirect(w, r, "/signin?notice="+noticeSignedOut, http.StatusSeeOther)
}

func client(r *http.Request) service.Client {
	return service.Client{IP: clientIP(r), UserAgent: r.UserAgent()}
}

// parseForm reads a bounded form body, answering a bad one itself.
func (s *Server) parseForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		s.render(w, r, http.StatusBadRequest, "message", messagePage{
			Page: Page{Title: "Bad request"}, Heading: "Bad request",
			Message: "The form could not be read. Go back and try again.", Link: "/", LinkText: "Go to Muster",
		})
		return false
	}
	return true
}

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
}

func newPasswordField(err error) Field {
	f := Field{ID: "password", Label: "Password", Type: "password", Autocomplete: "new-password",
		Hint: muster.PasswordRules, Max: muster.MaxPasswordLength}
	showFieldErrors(err, map[string]*string{muster.FieldPassword: &f.Error})
	return f
}

// linkGone shows why a link no longer works, in the service's words, with
// the way forward (INV-4).
func (s *Server) linkGone(w http.ResponseWriter, r *http.Request, err error) {
	heading := map[string]string{
		muster.LinkExpired:    "This invitation has expired",
		muster.LinkUsed:       "This link has already been used",
		muster.LinkSuperseded: "A newer invitation was sent",
		muster.LinkWithdrawn:  "This invitation was withdrawn",
	}
	var e *muster.Error
	h := "This link no longer works"
	if muster.ErrorCode(err) == muster.ENOTFOUND {
		h = "This link is not valid"
	} else if errors.As(err, &e) && heading[e.Reason] != "" {
		h = heading[e.Reason]
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, muster.HTTPStatus(muster.ErrorCode(err)), "message", messagePage{
		Page: Page{Title: h}, Heading: h, Message: muster.ErrorMessage(err), Link: "/signin", LinkText: "Go to sign in",
	})
}

func (s *Server) invitationPage(info *service.InvitationInfo, token string, err error) passwordPage {
	p := passwordPage{
		Page:    Page{Title: "Join " + info.Org.Name},
		Heading: "Join " + info.Org.Name,
		Lead:    "Choose a password to finish setting up your account. Your email address is your username.",
		OrgName: info.Org.Name,
		Email:   info.User.Email,
		Action:  "/invitations/" + token,
		Button:  "Set password and sign in",
		Pass:    newPasswordField(err),
	}
	if err != nil && p.Pass.Error == "" {
		p.Message = muster.ErrorMessage(err)
	}
	return p
}

func (s *Server) handleInvitationForm(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	info, err := s.svc.LookupInvitation(r.Context(), token)
	if err != nil {
		s.linkGoneOr500(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "password", s.invitationPage(info, token, nil))
}

func (s *Server) handleInvitationAccept(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	token := r.PathValue("token")
	in, err := s.svc.AcceptInvitation(r.Context(), token, r.PostForm.Get("password"), client(r))
	switch code := muster.ErrorCode(err); code {
	case "":
	case muster.EINVALID:
		info, lookupErr := s.svc.LookupInvitation(r.Context(), token)
		if lookupErr != nil {
			s.linkGoneOr500(w, r, lookupErr)
			return
		}
		s.render(w, r, muster.HTTPStatus(code), "password", s.invitationPage(info, token, err))
		return
	default:
		s.linkGoneOr500(w, r, err)
		return
	}
	s.startSession(w, in)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) linkGoneOr500(w http.ResponseWriter, r *http.Request, err error) {
	switch muster.ErrorCode(err) {
	case muster.EGONE, muster.ENOTFOUND:
		s.linkGone(w, r, err)
	default:
		s.serverError(w, r, err)
	}
}

// resetRequestPage asks for the email to send a reset link to.
type resetRequestPage struct {
	Page
	Email Field
}

func (s *Server) handleResetRequestForm(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "reset_request", resetRequestPage{Page: Page{Title: "Reset your password"},
		Email: Field{ID: "email", Label: "Email", Type: "email", Autocomplete: "username", Max: muster.MaxEmailLength}})
}

// handleResetRequest answers the same for every email, so that the page
// never tells whether an account exists (DEA-2).
func (s *Server) handleResetRequest(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	if err := s.svc.RequestPasswordReset(r.Context(), r.PostForm.Get("email"), client(r)); err != nil {
		s.serverError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "message", messagePage{
		Page: Page{Title: "Check your email"}, Heading: "Check your email",
		Message: "If an active account uses that email address, we have sent it a link to choose a new password. " +
			"The link works once, for an hour.",
		Link: "/signin", LinkText: "Back to sign in",
	})
}

func (s *Server) resetPage(token string, err error) passwordPage {
	p := passwordPage{Page: Page{Title: "Choose a new password"}, Heading: "Choose a new password",
		Lead: "Your other sessions will end.", Action: "/password-reset/" + token, Button: "Set password and sign in",
		Pass: newPasswordField(err)}
	if err != nil && p.Pass.Error == "" {
		p.Message = muster.ErrorMessage(err)
	}
	return p
}

func (s *Server) handleResetForm(w http.ResponseWriter, r *http.Request) {
	token := r.PathValue("token")
	if err := s.svc.CheckPasswordReset(r.Context(), token); err != nil {
		s.linkGoneOr500(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "password", s.resetPage(token, nil))
}

func (s *Server) handleReset(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	token := r.PathValue("token")
	in, err := s.svc.ResetPassword(r.Context(), token, r.PostForm.Get("password"), client(r))
	switch code := muster.ErrorCode(err); code {
	case "":
	case muster.EINVALID:
		s.render(w, r, muster.HTTPStatus(code), "password", s.resetPage(token, err))
		return
	default:
		s.linkGoneOr500(w, r, err)
		return
	}
	s.startSession(w, in)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// sessionsPage lists the signed-in user's sessions (AUTH-3).
type sessionsPage struct {
	Page
	Notice   string
	Sessions []sessionRow
}

type sessionRow struct {
	ID        int64
	Current   bool
	Device    string
	IP        string
	Started   string
	LastSeen  string
	RevokeURL string
}

func (s *Server) handleSessions(w http.ResponseWriter, r *http.Request) {
	_, cur := current(r)
	list, err := s.svc.Sessions(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	p := sessionsPage{Page: s.page(w, r, "Your sessions"), Notice: accountNotices[r.URL.Query().Get("notice")]}
	for _, sess := range list {
		p.Sessions = append(p.Sessions, sessionRow{ID: sess.ID, Current: sess.ID == cur.ID, Device: device(sess.UserAgent),
			IP: sess.IP, Started: humanTime(sess.CreatedAt), LastSeen: humanTime(sess.LastSeenAt),
			RevokeURL: "/account/sessions/" + strconv.FormatInt(sess.ID, 10) + "/revoke"})
	}
	s.render(w, r, http.StatusOK, "sessions", p)
}

var accountNotices = map[string]string{
	"revoked":          "The session has ended.",
	"password-changed": "Your password has been changed. Your other sessions have ended.",
}

func (s *Server) handleSessionRevoke(w http.ResponseWriter, r *http.Request) {
	_, cur := current(r)
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.notFound(w, r)
		return
	}
	switch err := s.svc.RevokeSession(r.Context(), id); muster.ErrorCode(err) {
	case "":
	case muster.ENOTFOUND:
		s.notFound(w, r)
		return
	default:
		s.serverError(w, r, err)
		return
	}
	if id == cur.ID {
		s.clearSession(w)
		http.Redirect(w, r, "/signin?notice="+noticeSignedOut, http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/account/sessions?notice=revoked", http.StatusSeeOther)
}

// changePasswordPage changes the signed-in user's password.
type changePasswordPage struct {
	Page
	Message string
	Current Field
	Pass    Field
}

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
		s.render(w, r, muster.HTTPStatus(code), "change_password", newChangePasswordPage(u, err))
		return
	}
	http.Redirect(w, r, "/account/sessions?notice=password-changed", http.StatusSeeOther)
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusNotFound, "message", messagePage{Page: Page{Title: "Not found"}, Heading: "Not found",
		Message: "There is nothing here. It may have been removed.", Link: "/", LinkText: "Go to Muster"})
}

// device names a browser from its User-Agent, roughly.
func device(ua string) string {
	for _, b := range []struct{ needle, name string }{
		{"Edg/", "Edge"}, {"Firefox/", "Firefox"}, {"Chrome/", "Chrome"}, {"Safari/", "Safari"}, {"curl/", "curl"},
	} {
		if strings.Contains(ua, b.needle) {
			for _, os := range []string{"Windows", "Mac OS X", "Android", "iPhone", "Linux"} {
				if strings.Contains(ua, os) {
					return b.name + " on " + strings.TrimSuffix(os, " OS X")
				}
			}
			return b.name
		}
	}
	if ua == "" {
		return "Unknown browser"
	}
	return truncateRunes(ua, 60)
}

func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

func humanTime(t time.Time) string { return t.UTC().Format("Jan 2, 2006 15:04 UTC") }
