package web

import (
	"errors"
	"net/http"

	"github.com/muster-app/muster/internal/httperr"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

// invitationPage is the password form that accepts an invitation (INV-5).
func invitationPage(info *service.InvitationInfo, token string, err error) passwordPage {
	p := newPasswordPage("Join "+info.Org.Name,
		"Choose a password to finish setting up your account. Your email address is your username.",
		invitationPath+token, err)
	p.OrgName, p.Email = info.Org.Name, info.User.Email
	if info.SSO {
		p.SSOAction, p.SSOOnly = invitationPath+token+"/sso", info.SSORequired
		if p.SSOOnly {
			p.Lead = "Continue with single sign-on to finish setting up your account. Your email address is your username."
		}
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
	s.render(w, r, http.StatusOK, "password", invitationPage(info, token, nil))
}

// handleInvitationAccept sets the invited user's password and signs them in.
func (s *Server) handleInvitationAccept(w http.ResponseWriter, r *http.Request) {
	s.setPasswordByLink(w, r, s.svc.AcceptInvitation, func(token string, err error) {
		info, lookupErr := s.svc.LookupInvitation(r.Context(), token)
		if lookupErr != nil {
			s.linkGoneOr500(w, r, lookupErr)
			return
		}
		s.render(w, r, httperr.Status(err), "password", invitationPage(info, token, err))
	}, welcome)
}

// welcome is where a new user lands once they have set their password:
// the Owner of a new organization on Roles & Access, whose first page says
// what to do first; everyone else on a page that welcomes them.
func welcome(in *service.SignedIn) string {
	if in.User.Role == muster.RoleOwner {
		return usersPath
	}
	return welcomePath
}

const welcomePath = "/welcome"

// welcomePage greets a user who has just joined: their organization, role
// and teams, and what they can do here.
type welcomePage struct {
	Page
	OrgName        string
	PrimaryTeam    string
	SecondaryTeams []string
	CanAdminister  bool
}

func (s *Server) handleWelcome(w http.ResponseWriter, r *http.Request) {
	u, _ := current(r)
	page := s.page(w, r, "Welcome")
	me, err := s.svc.FindProfile(r.Context())
	if s.refused(w, r, err) {
		return
	}
	p := welcomePage{Page: page, OrgName: me.Org.Name, PrimaryTeam: me.PrimaryTeam.Name,
		CanAdminister: muster.CanAdminister(u.Role)}
	for _, t := range me.SecondaryTeams {
		p.SecondaryTeams = append(p.SecondaryTeams, t.Name)
	}
	s.render(w, r, http.StatusOK, "welcome", p)
}

// linkHeadings name why a link (invitation, set-up or reset) no longer
// works, by the refusal's reason.
var linkHeadings = map[string]string{
	muster.LinkExpired:    "This invitation has expired",
	muster.LinkUsed:       "This link has already been used",
	muster.LinkSuperseded: "A newer invitation was sent",
	muster.LinkWithdrawn:  "This invitation was withdrawn",
}

// linkGone shows why a link no longer works, in the service's words, with
// the way forward (INV-4).
func (s *Server) linkGone(w http.ResponseWriter, r *http.Request, err error) {
	var e *muster.Error
	h := "This link no longer works"
	if muster.ErrorCode(err) == muster.ENOTFOUND {
		h = "This link is not valid"
	} else if errors.As(err, &e) && linkHeadings[e.Reason] != "" {
		h = linkHeadings[e.Reason]
	}
	w.Header().Set("Cache-Control", "no-store")
	s.message(w, r, httperr.Status(err), messagePage{Heading: h,
		Message: muster.ErrorMessage(err), Link: "/signin", LinkText: "Go to sign in"})
}

// linkGoneOr500 answers the refusal of a link (invitation or password
// reset): a link gone or unknown shows why, and so does a password that
// single sign-on makes unnecessary (AUTH-6); anything else is a server
// error.
func (s *Server) linkGoneOr500(w http.ResponseWriter, r *http.Request, err error) {
	switch muster.ErrorCode(err) {
	case muster.EGONE, muster.ENOTFOUND:
		s.linkGone(w, r, err)
	case muster.EFORBIDDEN:
		w.Header().Set("Cache-Control", "no-store")
		s.message(w, r, http.StatusForbidden, messagePage{Heading: "Sign in with single sign-on",
			Message: muster.ErrorMessage(err), Link: "/signin", LinkText: "Go to sign in"})
	default:
		s.serverError(w, r, err)
	}
}
