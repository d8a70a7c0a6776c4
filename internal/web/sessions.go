package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/muster-app/muster/internal/muster"
)

// sessionsPage lists the signed-in user's sessions (AUTH-3).
type sessionsPage struct {
	Page
	Notice   string
	Sessions []sessionRow
}

// sessionRow is one session of the list.
type sessionRow struct {
	ID        int64
	Current   bool
	Device    string
	IP        string
	Started   string
	LastSeen  string
	RevokeURL string
}

// accountNotices are the notices of the sessions page, by code, so that no
// text travels in the URL.
var accountNotices = map[string]string{
	"revoked":          "The session has ended.",
	"password-changed": "Your password has been changed. Your other sessions have ended.",
}

func (s *Server) handleSessions(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	_, cur := current(r)
	list, err := s.svc.Sessions(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	p := sessionsPage{Page: s.page(w, r, "Your sessions"), Notice: accountNotices[r.Form.Get("notice")]}
	for _, sess := range list {
		p.Sessions = append(p.Sessions, sessionRow{ID: sess.ID, Current: sess.ID == cur.ID, Device: device(sess.UserAgent),
			IP: sess.IP, Started: humanTime(sess.CreatedAt), LastSeen: humanTime(sess.LastSeenAt),
			RevokeURL: "/account/sessions/" + strconv.FormatInt(sess.ID, 10) + "/revoke"})
	}
	s.render(w, r, http.StatusOK, "sessions", p)
}

// handleSessionRevoke ends one of the user's sessions; ending the current
// one signs out.
func (s *Server) handleSessionRevoke(w http.ResponseWriter, r *http.Request) {
	_, cur := current(r)
	id, ok := pathID(r)
	if !ok {
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

// device names a browser from its User-Agent, roughly. A User-Agent
// recorded before Muster replaced bad bytes in it is cleaned here.
func device(ua string) string {
	ua = muster.RecordedText(ua, muster.MaxUserAgentLength)
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

// truncateRunes shortens s to n runes, marking a cut with "…".
func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
