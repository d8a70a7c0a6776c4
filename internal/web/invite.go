package web

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/muster-app/muster/internal/httperr"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

// inviteForm is "Invite a User" (INV-1), also pre-filled for Invite again.
type inviteForm struct {
	Page
	// Again is the deactivated user invited again; 0 for a new invitation.
	Again     int64
	Message   string
	FirstName Field
	LastName  Field
	Email     Field
	Role      selectField
	Primary   selectField
	teamChips
	// NoSeats is set when the invitation would be refused for want of a
	// license seat, said before the form is filled or after the refusal.
	NoSeats bool
}

// teamChips is the Secondary Teams control of the invite and edit forms,
// the same in both (TEAM-5): each chosen team with an "×" to remove it,
// and a select of the others with Add. Without JavaScript "×" and Add send
// the form back to its page, which shows the change.
type teamChips struct {
	Secondaries    []checkOption // the chosen secondary teams
	AddOptions     []option      // teams that can be added
	SecondaryError string
}

type checkOption struct {
	Value, Label string
	Checked      bool
}

// CanAdd reports whether a team is left to add.
func (c teamChips) CanAdd() bool {
	for _, o := range c.AddOptions {
		if !o.Hidden {
			return true
		}
	}
	return false
}

// newTeamChips is the control for the org's teams with secondaries chosen
// besides primary.
func newTeamChips(teams []muster.TeamName, primary int64, secondaries []int64) teamChips {
	var c teamChips
	names := teamNames(teams)
	for _, t := range teams {
		if !slices.Contains(secondaries, t.ID) || t.ID == primary {
			c.AddOptions = append(c.AddOptions, option{Value: strconv.FormatInt(t.ID, 10), Label: t.Name, Hidden: t.ID == primary})
		}
	}
	for _, id := range secondaries {
		if id != primary && names[id] != "" {
			c.Secondaries = append(c.Secondaries, checkOption{strconv.FormatInt(id, 10), names[id], true})
		}
	}
	return c
}

// changeChips applies the form's "×" or Add to secondaries and reports
// whether the form was sent by one of them rather than to be saved.
func changeChips(f url.Values, secondaries []int64) ([]int64, bool) {
	if remove, err := strconv.ParseInt(f.Get("remove_secondary"), 10, 64); err == nil {
		return slices.DeleteFunc(secondaries, func(id int64) bool { return id == remove }), true
	}
	if f.Has("add") {
		if add, err := strconv.ParseInt(f.Get("add_secondary"), 10, 64); err == nil && !slices.Contains(secondaries, add) {
			secondaries = append(secondaries, add)
		}
		return secondaries, true
	}
	return secondaries, false
}

func (s *Server) newInviteForm(w http.ResponseWriter, r *http.Request, teams []muster.TeamName, in service.InviteInput,
	again int64, err error) inviteForm {
	u, _ := current(r)
	f := inviteForm{Page: s.page(w, r, "Invite a User"), Again: again,
		FirstName: Field{ID: "first_name", Label: "First Name", Type: "text", Value: in.FirstName, Autocomplete: "off", Max: muster.MaxNameLength},
		LastName:  Field{ID: "last_name", Label: "Last Name", Type: "text", Value: in.LastName, Autocomplete: "off", Max: muster.MaxNameLength},
		Email: Field{ID: "email", Label: "Email", Type: "email", Value: in.Email, Autocomplete: "off", Max: muster.MaxEmailLength,
			Hint: "This becomes their username."},
		Primary: selectField{ID: "primary_team", Label: "Primary Team"},
	}
	f.Section = "users"
	if again > 0 {
		// The same record comes back: its email, their username, stays.
		f.Email.ReadOnly, f.Email.Hint = true, "Their username: they are invited again with the same email."
	}
	role := in.Role
	if role == "" {
		role = muster.RoleBasic
	}
	f.Role = roleSelect(muster.GrantableRoles(u.Role), role)
	primary := in.PrimaryTeamID
	if primary == 0 {
		// The Default Team is chosen when nothing else is.
		primary = defaultTeamID(teams)
	}
	f.Primary.Options = teamOptions(teams, primary)
	f.teamChips = newTeamChips(teams, primary, in.SecondaryTeamIDs)
	f.Message = showFieldErrors(err, map[string]*string{muster.FieldFirstName: &f.FirstName.Error,
		muster.FieldLastName: &f.LastName.Error, muster.FieldEmail: &f.Email.Error, muster.FieldRole: &f.Role.Error,
		muster.FieldPrimaryTeamID: &f.Primary.Error, muster.FieldSecondaryTeamIDs: &f.SecondaryError})
	f.NoSeats = muster.ErrorCode(err) == muster.ESEATS || (err == nil && f.LicenseState() == "full")
	return f
}

// Errors is the form's error summary.
func (f inviteForm) Errors() *errorSummary {
	return summarize(f.Message, f.FirstName, f.LastName, f.Email, f.Role, f.Primary,
		groupRef{"add_secondary", "Secondary Teams", f.SecondaryError})
}

func (s *Server) handleInviteForm(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	again, _ := strconv.ParseInt(r.Form.Get("again"), 10, 64)
	form, err := s.svc.FindInviteForm(r.Context(), max(again, 0))
	if s.refused(w, r, err) {
		return
	}
	s.render(w, r, http.StatusOK, "invite", s.newInviteForm(w, r, form.Teams, form.Draft, max(again, 0), nil))
}

func formIDs(values []string) []int64 {
	var ids []int64
	for _, v := range values {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil {
			ids = append(ids, id)
		}
	}
	return ids
}

// invitedMessage says where an invitation went: by email, or, with no
// email server, to the Mailbox, whose link the Owner passes on.
func (s *Server) invitedMessage(u *muster.User) string {
	what := "Invitation sent to " + u.Email + "."
	if s.mailbox {
		what = "The invitation to " + u.Email + " is waiting in the Mailbox: no email server is set up, so it was " +
			"not sent. Pass its link on, or use Copy invite link in their row."
	}
	return what
}

func (s *Server) handleInvite(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	f := r.PostForm
	primary, _ := strconv.ParseInt(f.Get("primary_team"), 10, 64)
	in := service.InviteInput{FirstName: f.Get("first_name"), LastName: f.Get("last_name"), Email: f.Get("email"),
		Role: muster.Role(f.Get("role")), PrimaryTeamID: primary, SecondaryTeamIDs: formIDs(f["secondary_teams"])}
	again, _ := strconv.ParseInt(f.Get("again"), 10, 64)
	var chips bool
	var err error
	if in.SecondaryTeamIDs, chips = changeChips(f, in.SecondaryTeamIDs); !chips {
		var res *service.Invited
		if again > 0 {
			res, err = s.svc.InviteAgain(r.Context(), again, service.UserUpdate{FirstName: &in.FirstName,
				LastName: &in.LastName, Role: &in.Role, PrimaryTeamID: &in.PrimaryTeamID, SecondaryTeamIDs: &in.SecondaryTeamIDs})
		} else {
			res, err = s.svc.Invite(r.Context(), in)
		}
		if err == nil {
			s.redirectWith(w, r, usersPath, s.invitedMessage(res.User))
			return
		}
		if muster.ErrorCode(err) == muster.EINTERNAL {
			s.serverError(w, r, err)
			return
		}
	}
	// The form again, changed or refused, with the teams as they are now.
	teams, terr := s.svc.TeamNames(r.Context())
	if s.refused(w, r, terr) {
		return
	}
	s.render(w, r, httperr.Status(err), "invite", s.newInviteForm(w, r, teams, in, again, err))
}

// back is where an action on a user returns: the page it was started from
// (the user page sends its own address), else the Users tab.
func back(r *http.Request) string { return backOr(r, usersPath) }

// backOr is the form's (or the address's) back, if it is a path of this
// site, else fallback.
func backOr(r *http.Request, fallback string) string {
	if b := r.FormValue("back"); localPath(b) {
		return b
	}
	return fallback
}

func (s *Server) handleResend(w http.ResponseWriter, r *http.Request) {
	res, ok := formTarget(s, w, r, s.svc.ResendInvite)
	if !ok {
		return
	}
	msg := "A new invitation was sent to " + res.User.Email + ". Earlier links no longer work."
	if s.mailbox {
		msg = "A new invitation to " + res.User.Email + " is waiting in the Mailbox. Earlier links no longer work."
	}
	s.redirectWith(w, r, back(r), msg)
}

// inviteLinkPage shows a Pending user's new invitation link, once.
type inviteLinkPage struct {
	Page
	Name, Email, Link, Back string
}

// handleCopyInviteLink makes a new invitation link for an Owner or Admin to
// pass on themself, and shows it with a Copy button.
func (s *Server) handleCopyInviteLink(w http.ResponseWriter, r *http.Request) {
	res, ok := formTarget(s, w, r, s.svc.CopyInviteLink)
	if !ok {
		return
	}
	p := inviteLinkPage{Page: s.page(w, r, "Invitation link of "+res.User.Name()), Name: res.User.Name(),
		Email: res.User.Email, Link: res.Link, Back: back(r)}
	p.Section = "users"
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "invite_link", p)
}

// userAction is a confirmed action on a user: its wording and its call.
type userAction struct {
	heading func(u *muster.User) string
	lines   func(u *muster.User) []string
	button  string
	done    func(u *muster.User) string
	run     func(s *Server, r *http.Request, id int64) (*muster.User, error)
	// audited is the action's name (muster.Action…), which the
	// confirmation checks before it asks.
	audited string
}

var userActions = map[string]userAction{
	"withdraw": {
		heading: func(u *muster.User) string { return "Withdraw the invitation of " + u.Name() + "?" },
		lines: func(u *muster.User) []string {
			return []string{"The invitation link sent to " + u.Email + " will stop working.",
				"The license seat is freed and " + u.FirstName + " leaves the user list.",
				"You can invite them again later."}
		},
		button:  "Withdraw",
		audited: muster.ActionInviteWithdrawn,
		done: func(u *muster.User) string {
			return "The invitation of " + u.Name() + " was withdrawn. A license seat is free."
		},
		run: func(s *Server, r *http.Request, id int64) (*muster.User, error) {
			return s.svc.Withdraw(r.Context(), id)
		},
	},
	"deactivate": {
		heading: func(u *muster.User) string { return "Deactivate " + u.Name() + "?" },
		lines: func(u *muster.User) []string {
			return []string{u.FirstName + "'s access ends at once: every session and API token is ended and Send As permissions are removed.",
				"The license seat is freed.",
				"Everything " + u.FirstName + " owns stays with their teams.",
				"You can reactivate them later by inviting the same email again."}
		},
		button:  "Deactivate",
		audited: muster.ActionUserDeactivated,
		done:    func(u *muster.User) string { return u.Name() + " was deactivated. A license seat is free." },
		run: func(s *Server, r *http.Request, id int64) (*muster.User, error) {
			return s.svc.Deactivate(r.Context(), id)
		},
	},
}

func (s *Server) handleUserConfirm(action string) http.HandlerFunc {
	a := userActions[action]
	return func(w http.ResponseWriter, r *http.Request) {
		// Nobody is asked to confirm what would be refused (a stale row:
		// the invitation accepted, the user deactivated meanwhile).
		u, ok := formTarget(s, w, r, func(ctx context.Context, id int64) (*muster.User, error) {
			return s.svc.FindUserForAction(ctx, id, a.audited)
		})
		if !ok {
			return
		}
		s.renderConfirm(w, r, a.heading(u), "users", confirmPage{Heading: a.heading(u), Lines: a.lines(u),
			Action: userPath(u.ID, action), Button: a.button, Cancel: back(r),
			Hidden: []hiddenInput{{"back", back(r)}}})
	}
}

func (s *Server) handleUserAction(action string) http.HandlerFunc {
	a := userActions[action]
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.parseForm(w, r) {
			return
		}
		id, ok := pathID(r)
		if !ok {
			s.notFound(w, r)
			return
		}
		u, err := a.run(s, r, id)
		if s.refused(w, r, err) {
			return
		}
		to := back(r)
		if action == "withdraw" && to == userPath(id, "") {
			// Withdrawn, they have left the list, and their page with it.
			to = usersPath
		}
		s.redirectWith(w, r, to, a.done(u))
	}
}
