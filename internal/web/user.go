package web

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/muster-app/muster/internal/muster"
)

// userPage is everything about one person (issue 15): role, teams, status
// and its history, last sign-in, active sessions with "Sign out
// everywhere", Send As grants, the API tokens they created and their recent
// audit events, with the same actions as their row's "…" menu.
type userPage struct {
	Page
	userRow
	Activated, Deactivated timeLabel
	InvitedBy              string
	SignOutURL             string
	// TwoStep names the person's second factors; ResetTwoStepURL, when
	// the actor may, resets them.
	TwoStep         []string
	ResetTwoStepURL string
	History         []auditRow
	Events          []auditRow
	EventsURL       string
	Sessions        []sessionRow
	SendAs          []string
	Tokens          []tokenRow
	EmailAtScale    bool
	// Back is this page's own address, where its actions return.
	Back string
}

func (s *Server) handleUserPage(w http.ResponseWriter, r *http.Request) {
	d, ok := pathTarget(s, w, r, s.svc.FindUserDetail)
	if !ok {
		return
	}
	actor, _ := current(r)
	u := d.User
	names := teamNames(d.Teams)
	now := s.svc.Now()
	p := userPage{Page: s.page(w, r, u.Name()), userRow: newUserRow(actor, u, names, now),
		Activated: newTimeLabel(u.ActivatedAt, now), Deactivated: newTimeLabel(u.DeactivatedAt, now),
		EmailAtScale: d.Org.EmailAtScale, Back: userPath(u.ID, "")}
	p.Section = "users"
	if d.InvitedBy != nil {
		p.InvitedBy = d.InvitedBy.Name()
	}
	if len(d.Sessions) > 0 && muster.CheckUserAction(muster.ActionSessionsEnded, actor.Role, actor.ID, u) == nil {
		p.SignOutURL = userPath(u.ID, "sign-out")
	}
	for _, f := range d.Factors {
		p.TwoStep = append(p.TwoStep, f.Kind.Label())
	}
	if len(d.Factors) > 0 && muster.CheckResetTwoStep(actor.Role, actor.ID, u) == nil {
		p.ResetTwoStepURL = userPath(u.ID, "two-step-reset")
	}
	for _, e := range d.History {
		p.History = append(p.History, describeEvent(e, names, d.People))
	}
	for _, e := range d.Events {
		p.Events = append(p.Events, describeEvent(e, names, d.People))
	}
	p.EventsURL = "/settings/audit-log?" + url.Values{"target": {strconv.FormatInt(u.ID, 10)}}.Encode()
	for _, sess := range d.Sessions {
		p.Sessions = append(p.Sessions, sessionRow{ID: sess.ID, Device: device(sess.UserAgent), IP: sess.IP,
			Started: humanTime(sess.CreatedAt), LastSeen: humanTime(sess.LastSeenAt)})
	}
	for _, perm := range d.SendAs {
		p.SendAs = append(p.SendAs, perm.FromName+" <"+perm.FromEmail+">")
	}
	for _, t := range d.APITokens {
		p.Tokens = append(p.Tokens, newTokenRow(t))
	}
	s.render(w, r, http.StatusOK, "user", p)
}

// handleSignOutEverywhere ends every session of a user.
func (s *Server) handleSignOutEverywhere(w http.ResponseWriter, r *http.Request) {
	u, ok := pathTarget(s, w, r, s.svc.SignOutEverywhere)
	if !ok {
		return
	}
	if me, _ := current(r); me.ID == u.ID {
		s.clearSession(w)
		http.Redirect(w, r, "/signin?notice="+noticeSignedOut, http.StatusSeeOther)
		return
	}
	s.redirectWith(w, r, userPath(u.ID, ""), u.Name()+" is signed out everywhere: every browser they were signed in "+
		"with must sign in again. Their API tokens still work; revoke them on Settings → API tokens.")
}

// resetTwoStepPage confirms an Admin's reset of a person's two-step
// verification (a lost phone).
func resetTwoStepPage(u *muster.User) confirmPage {
	return confirmPage{Heading: "Reset " + u.Name() + "'s two-step verification?",
		Lines: []string{"Their authenticator app, passkeys and recovery codes stop working, and browsers they asked to be remembered ask again.",
			"Their next password sign-in asks for the password alone, or, where the organization requires two-step verification, leads them to set it up again.",
			u.FirstName + " is told by email. Make sure it is them who asked: whoever has their password gets in with it alone."},
		Action: userPath(u.ID, "two-step-reset"), Button: "Reset two-step verification", Cancel: userPath(u.ID, "")}
}

func (s *Server) handleResetTwoStepConfirm(w http.ResponseWriter, r *http.Request) {
	if u, ok := pathTarget(s, w, r, s.svc.FindManagedUser); ok {
		s.renderConfirm(w, r, "Reset two-step verification", "users", resetTwoStepPage(u))
	}
}

func (s *Server) handleResetTwoStep(w http.ResponseWriter, r *http.Request) {
	if u, ok := pathTarget(s, w, r, s.svc.ResetTwoStep); ok {
		s.redirectWith(w, r, userPath(u.ID, ""), u.Name()+"'s two-step verification is reset; they were told by email.")
	}
}
