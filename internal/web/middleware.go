package web

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

// sessionCookie holds the session token; the database keeps its hash.
const sessionCookie = "muster_session"

// signedInKey carries the signed-in user and session in a request context.
type signedInKey struct{}

// signedIn is what requireUser puts in a request context under signedInKey.
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
		w.Header().Set("Cache-Control", "no-store")
		h(w, s.signedIn(r, u, sess))
	}
}

// signedIn is r acting as u, signed in with sess.
func (s *Server) signedIn(r *http.Request, u *muster.User, sess *muster.Session) *http.Request {
	ctx := muster.NewContext(r.Context(), muster.Principal{UserID: u.ID, OrgID: u.OrgID, Origin: webOrigin(s.clientIP(r))})
	return r.WithContext(context.WithValue(ctx, signedInKey{}, signedIn{user: u, session: sess}))
}

// withOptionalUser is r acting as the user its session cookie signs in,
// when it has a live one, and r as it is otherwise: for a public page that
// shows more to a signed-in user.
func (s *Server) withOptionalUser(r *http.Request) *http.Request {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return r
	}
	u, sess, err := s.svc.Authenticate(r.Context(), c.Value)
	if err != nil {
		return r
	}
	return s.signedIn(r, u, sess)
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

// clearSession tells the browser to forget the session cookie.
func (s *Server) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.secureCookies, MaxAge: -1})
}

// client describes the browser of a request, for the sessions it starts,
// the audit events it causes and the sign-in limits it counts against.
func (s *Server) client(r *http.Request) service.Client {
	ip := s.clientIP(r)
	// The User-Agent is only recorded and shown: bad bytes in it are
	// replaced rather than refused.
	return service.Client{IP: ip, UserAgent: muster.RecordedText(r.UserAgent(), muster.MaxUserAgentLength),
		Origin: webOrigin(ip), RememberedBrowser: rememberedBrowser(r)}
}

// webOrigin is how the audit log names a request from the console.
func webOrigin(ip string) string { return "web " + ip }

// clientIP is the address the request came from, without its port: the
// peer's, unless the peer is a trusted proxy (--trusted-proxies). Then it
// is the rightmost address of X-Forwarded-For that is not a trusted proxy
// itself: each proxy appends the address it heard from, so the addresses
// left of the first untrusted one are whatever the client chose to send.
// An X-Forwarded-For from anyone else is ignored.
func (s *Server) clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !s.trustedProxy(peer) {
		return host
	}
	client := peer.Unmap()
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		if hop == "" {
			continue
		}
		a, err := parseHop(hop)
		if err != nil {
			// Not an address: the last proxy that we trust is as far as
			// the chain can be believed.
			break
		}
		client = a
		if !s.trustedProxy(a) {
			break
		}
	}
	return client.String()
}

// parseHop parses one X-Forwarded-For entry: an address, perhaps with a
// port ("192.0.2.1:4711", "[2001:db8::1]:4711").
func parseHop(hop string) (netip.Addr, error) {
	a, err := netip.ParseAddr(hop)
	if err != nil {
		ap, perr := netip.ParseAddrPort(hop)
		if perr != nil {
			return netip.Addr{}, err
		}
		a = ap.Addr()
	}
	return a.WithZone("").Unmap(), nil
}

// trustedProxy reports whether a is one of the trusted proxies.
func (s *Server) trustedProxy(a netip.Addr) bool {
	a = a.WithZone("").Unmap()
	for _, p := range s.trustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// securityHeaders sets the headers every response carries, and
// Strict-Transport-Security when Muster is served over HTTPS (https set):
// a browser that has seen it once never again sends the session cookie or
// a password over plain HTTP to this host. It is sent on every response,
// since behind a proxy that ends TLS the request reaches Muster as HTTP.
func securityHeaders(next http.Handler, https bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Frame-Options", "DENY")
		if https {
			h.Set("Strict-Transport-Security", StrictTransportSecurity)
		}
		next.ServeHTTP(w, r)
	})
}

// handleCrossOrigin answers a form sent from another site, which the
// cross-origin protection refused before routing.
func (s *Server) handleCrossOrigin(w http.ResponseWriter, r *http.Request) {
	s.message(w, r, http.StatusForbidden, messagePage{Heading: "Request refused",
		Message: "This form was sent from another site, so Muster did not act on it. Go back to Muster and try again.",
		Link:    "/", LinkText: "Go to Muster"})
}
