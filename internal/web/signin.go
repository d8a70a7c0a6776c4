package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/muster-app/muster/internal/httperr"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

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

// regionName is the selector's name for a region code: a well-known name,
// else the code in capitals.
func regionName(code string) string {
	if n, ok := regionNames[code]; ok {
		return n
	}
	return strings.ToUpper(code)
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

// safeNext returns next if it is a path on this site, else "/". It judges
// next as a browser reads a Location header: browsers drop tabs and
// newlines anywhere in a URL and read a backslash as a slash, so that
// "/\t/evil.com" and "/\\evil.com" are both "//evil.com", another host.
// Only a plain path passes: no control, space or backslash character
// anywhere, no "//" start, and nothing url.Parse gives a scheme or host,
// before or after percent-decoding.
func safeNext(next string) string {
	if localPath(next) {
		return next
	}
	return "/"
}

func localPath(next string) bool {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || !utf8.ValidString(next) ||
		strings.ContainsFunc(next, unsafeInPath) {
		return false
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return false
	}
	// The decoded path too, for whatever decodes it once more on the way.
	return !strings.HasPrefix(u.Path, "//") && !strings.ContainsFunc(u.Path, unsafeInPath)
}

// unsafeInPath reports the characters a browser drops or reads as a slash
// in a URL, and those no path of Muster's holds unencoded.
func unsafeInPath(r rune) bool { return r == '\\' || unicode.IsControl(r) || unicode.IsSpace(r) }

// signInPage is the sign-in form with its region selector. It asks for the
// email first; the password field appears once the email's domain has not
// sent the browser to an identity provider (AUTH-6).
type signInPage struct {
	Page
	Notice      string
	Message     string
	Next        string
	Email       Field
	Pass        Field
	AskPassword bool
	Region      string
	Regions     []regionOption
}

// regionOption is one choice of the region selector.
type regionOption struct {
	Code, Name string
	Selected   bool
}

// newSignInPage returns the sign-in form holding email, with message (a
// refusal) above it, and the region selector when other regions are set.
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
		// A refusal asks again for the password; so does the link of the
		// page that leads to an identity provider.
		AskPassword: message != "" || r.FormValue("step") == "password",
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
	if !s.parseForm(w, r) {
		return
	}
	s.render(w, r, http.StatusOK, "signin", s.newSignInPage(r, "", ""))
}

// handleSignIn takes the sign-in form. Without a password it is the email
// step: an email of a domain verified by an organization with single
// sign-on goes to that organization's identity provider, any other the
// password field. With one, it starts a session and returns to the page
// that asked for it.
func (s *Server) handleSignIn(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	email := r.PostForm.Get("email")
	if _, withPassword := r.PostForm["password"]; !withPassword {
		s.signInRoute(w, r, email)
		return
	}
	in, err := s.svc.SignIn(r.Context(), email, r.PostForm.Get("password"), s.client(r))
	var ssoRequired *service.SSORequiredError
	switch code := muster.ErrorCode(err); {
	case errors.As(err, &ssoRequired) && ssoRequired.Start != nil:
		s.toIdentityProvider(w, r, ssoRequired.Start, muster.ErrorMessage(err), false)
		return
	case code == "":
	case code == muster.EUNAUTHORIZED || code == muster.ETOOMANY || code == muster.EFORBIDDEN:
		httperr.SetRetryAfter(w.Header(), err)
		s.render(w, r, httperr.Status(err), "signin", s.newSignInPage(r, email, muster.ErrorMessage(err)))
		return
	default:
		s.serverError(w, r, err)
		return
	}
	s.signedInTo(w, r, in, safeNext(r.PostForm.Get("next")))
}

// signInRoute is the email step of sign-in (home-realm discovery).
func (s *Server) signInRoute(w http.ResponseWriter, r *http.Request, email string) {
	start, err := s.svc.SignInRoute(r.Context(), email, safeNext(r.PostForm.Get("next")), s.client(r))
	switch code := muster.ErrorCode(err); {
	case code == "" && start != nil:
		s.toIdentityProvider(w, r, start, "", true)
	case code == "":
		p := s.newSignInPage(r, email, "")
		p.AskPassword = true
		s.render(w, r, http.StatusOK, "signin", p)
	case code == muster.EINTERNAL:
		s.serverError(w, r, err)
	default:
		// The provider did not answer, or too many sign-ins began here:
		// say so, and offer the password.
		httperr.SetRetryAfter(w.Header(), err)
		s.render(w, r, httperr.Status(err), "signin", s.newSignInPage(r, email, muster.ErrorMessage(err)))
	}
}

// handleRegion sends the person to the chosen region's sign-in page.
func (s *Server) handleRegion(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	code := r.Form.Get("region")
	for _, rl := range s.regions {
		if rl.Code == code {
			http.Redirect(w, r, strings.TrimRight(rl.URL, "/")+"/signin", http.StatusSeeOther)
			return
		}
	}
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// handleSignOut ends this browser's session.
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
