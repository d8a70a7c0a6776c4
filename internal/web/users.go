package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/muster-app/muster/internal/httperr"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

// usersPath is Settings → Roles & Access, whose first tab is Users.
const usersPath = "/settings/roles-access"

func userPath(id int64, action string) string {
	return usersPath + "/users/" + strconv.FormatInt(id, 10) + "/" + action
}

// usersPage is the Users tab (CON-2, CON-3).
type usersPage struct {
	Page
	Search   string
	Status   string
	Role     string
	TeamID   int64
	Teams    []*muster.Team
	Statuses []option
	Roles    []option
	Rows     []userRow
	Next     string
	Report   *muster.Report
	Filtered bool
}

type option struct {
	Value, Label string
	Selected     bool
}

type userRow struct {
	ID             int64
	Name           string
	Email          string
	Role           string
	Status         muster.Status
	Expired        bool
	PrimaryTeam    string
	SecondaryTeams []string
	ResendURL      string
	WithdrawURL    string
	EditURL        string
	DeactivateURL  string
	InviteAgainURL string
}

func teamNames(teams []*muster.Team) map[int64]string {
	names := make(map[int64]string, len(teams))
	for _, t := range teams {
		names[t.ID] = t.Name
	}
	return names
}

func (s *Server) handleUsers(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	q := r.Form
	p := usersPage{Page: s.page(w, r, "Roles & Access"), Search: strings.TrimSpace(q.Get("q")), Status: q.Get("status"),
		Role: q.Get("role")}
	p.Section = "users"
	p.TeamID, _ = strconv.ParseInt(q.Get("team"), 10, 64)
	p.Filtered = p.Search != "" || p.Status != "" || p.Role != "" || p.TeamID != 0
	users, err := s.svc.FindUserDirectory(r.Context(), service.UserQuery{Search: p.Search, Status: p.Status,
		Role: p.Role, TeamID: p.TeamID, Cursor: q.Get("after")})
	if s.refused(w, r, err) {
		return
	}
	p.Teams, p.Report = users.Teams, users.Report
	for _, st := range []muster.Status{muster.StatusPending, muster.StatusActive, muster.StatusDeactivated} {
		p.Statuses = append(p.Statuses, option{string(st), st.Label(), string(st) == p.Status})
	}
	for _, role := range muster.Roles {
		p.Roles = append(p.Roles, option{string(role), role.Label(), string(role) == p.Role})
	}
	names := teamNames(p.Teams)
	now := time.Now()
	actor, _ := current(r)
	for _, u := range users.Users {
		row := userRow{ID: u.ID, Name: u.Name(), Email: u.Email, Role: u.Role.Label(), Status: u.Status,
			Expired: u.InvitationExpired(now), PrimaryTeam: names[u.PrimaryTeamID]}
		for _, id := range u.SecondaryTeamIDs {
			row.SecondaryTeams = append(row.SecondaryTeams, names[id])
		}
		// The menu offers what the policy allows the actor, so nobody is
		// offered an action that is always refused, such as deactivating
		// themselves or the Owner.
		allowed := func(action string) bool { return muster.CheckUserAction(action, actor.Role, actor.ID, u) == nil }
		if muster.CheckEditUser(actor.Role, actor.ID, u, false) == nil {
			row.EditURL = userPath(u.ID, "edit")
		}
		if allowed(muster.ActionInviteResent) {
			row.ResendURL = userPath(u.ID, "resend")
		}
		if allowed(muster.ActionInviteWithdrawn) {
			row.WithdrawURL = userPath(u.ID, "withdraw")
		}
		if allowed(muster.ActionUserDeactivated) {
			row.DeactivateURL = userPath(u.ID, "deactivate")
		}
		if muster.CheckTransition(muster.ActionUserReinvited, u.Status) == nil {
			row.InviteAgainURL = usersPath + "/users/invite?again=" + strconv.FormatInt(u.ID, 10)
		}
		p.Rows = append(p.Rows, row)
	}
	if users.NextCursor != "" {
		next := url.Values{}
		for k, v := range q {
			next[k] = v
		}
		next.Set("after", users.NextCursor)
		p.Next = usersPath + "?" + next.Encode()
	}
	s.render(w, r, http.StatusOK, "users", p)
}

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
	// Secondary lists every team with whether it is chosen.
	Secondary      []checkOption
	SecondaryError string
}

type selectField struct {
	ID, Label, Error string
	Options          []option
}

type checkOption struct {
	Value, Label string
	Checked      bool
}

func (s *Server) newInviteForm(w http.ResponseWriter, r *http.Request, teams []*muster.Team, in service.InviteInput,
	again int64, err error) inviteForm {
	u, _ := current(r)
	f := inviteForm{Page: s.page(w, r, "Invite a User"), Again: again,
		FirstName: Field{ID: "first_name", Label: "First Name", Type: "text", Value: in.FirstName, Autocomplete: "off", Max: muster.MaxNameLength},
		LastName:  Field{ID: "last_name", Label: "Last Name", Type: "text", Value: in.LastName, Autocomplete: "off", Max: muster.MaxNameLength},
		Email: Field{ID: "email", Label: "Email", Type: "email", Value: in.Email, Autocomplete: "off", Max: muster.MaxEmailLength,
			Hint: "This becomes their username."},
		Role:    selectField{ID: "role", Label: "Role"},
		Primary: selectField{ID: "primary_team", Label: "Primary Team"},
	}
	f.Section = "users"
	role := in.Role
	if role == "" {
		role = muster.RoleBasic
	}
	for _, rl := range muster.GrantableRoles(u.Role) {
		f.Role.Options = append(f.Role.Options, option{string(rl), rl.Label(), rl == role})
	}
	for _, t := range teams {
		// The Default Team comes first and is chosen when nothing else is.
		f.Primary.Options = append(f.Primary.Options, option{strconv.FormatInt(t.ID, 10), t.Name,
			t.ID == in.PrimaryTeamID || (in.PrimaryTeamID == 0 && t.IsDefault)})
		checked := false
		for _, id := range in.SecondaryTeamIDs {
			checked = checked || id == t.ID
		}
		f.Secondary = append(f.Secondary, checkOption{strconv.FormatInt(t.ID, 10), t.Name, checked})
	}
	f.Message = showFieldErrors(err, map[string]*string{muster.FieldFirstName: &f.FirstName.Error,
		muster.FieldLastName: &f.LastName.Error, muster.FieldEmail: &f.Email.Error, muster.FieldRole: &f.Role.Error,
		muster.FieldPrimaryTeamID: &f.Primary.Error, muster.FieldSecondaryTeamIDs: &f.SecondaryError})
	return f
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

func (s *Server) handleInvite(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	f := r.PostForm
	primary, _ := strconv.ParseInt(f.Get("primary_team"), 10, 64)
	in := service.InviteInput{FirstName: f.Get("first_name"), LastName: f.Get("last_name"), Email: f.Get("email"),
		Role: muster.Role(f.Get("role")), PrimaryTeamID: primary, SecondaryTeamIDs: formIDs(f["secondary_teams"])}
	again, _ := strconv.ParseInt(f.Get("again"), 10, 64)
	var res *service.Invited
	var err error
	if again > 0 {
		res, err = s.svc.InviteAgain(r.Context(), again, service.UserUpdate{FirstName: &in.FirstName,
			LastName: &in.LastName, Role: &in.Role, PrimaryTeamID: &in.PrimaryTeamID, SecondaryTeamIDs: &in.SecondaryTeamIDs})
	} else {
		res, err = s.svc.Invite(r.Context(), in)
	}
	if err != nil {
		if muster.ErrorCode(err) == muster.EINTERNAL {
			s.serverError(w, r, err)
			return
		}
		// The form again, with the teams as they are now.
		teams, terr := s.svc.Teams(r.Context())
		if s.refused(w, r, terr) {
			return
		}
		s.render(w, r, httperr.Status(err), "invite", s.newInviteForm(w, r, teams, in, again, err))
		return
	}
	s.redirectWith(w, r, usersPath, "Invitation sent to "+res.User.Email+".")
}

// targetUser returns the user the path's {id} names, of the actor's org,
// and answers a refusal itself.
func (s *Server) targetUser(w http.ResponseWriter, r *http.Request) (*muster.User, bool) {
	return pathTarget(s, w, r, s.svc.FindUser)
}

func (s *Server) handleResend(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	res, err := s.svc.ResendInvite(r.Context(), id)
	if s.refused(w, r, err) {
		return
	}
	s.redirectWith(w, r, usersPath, "A new invitation was sent to "+res.User.Email+". Earlier links no longer work.")
}

// userAction is a confirmed action on a user: its wording and its call.
type userAction struct {
	heading func(u *muster.User) string
	lines   func(u *muster.User) []string
	button  string
	done    func(u *muster.User) string
	run     func(s *Server, r *http.Request, id int64) (*muster.User, error)
}

var userActions = map[string]userAction{
	"withdraw": {
		heading: func(u *muster.User) string { return "Withdraw the invitation of " + u.Name() + "?" },
		lines: func(u *muster.User) []string {
			return []string{"The invitation link sent to " + u.Email + " will stop working.",
				"The license seat is freed and " + u.FirstName + " leaves the user list.",
				"You can invite them again later."}
		},
		button: "Withdraw",
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
		button: "Deactivate",
		done:   func(u *muster.User) string { return u.Name() + " was deactivated. A license seat is free." },
		run: func(s *Server, r *http.Request, id int64) (*muster.User, error) {
			return s.svc.Deactivate(r.Context(), id)
		},
	},
}

func (s *Server) handleUserConfirm(action string) http.HandlerFunc {
	a := userActions[action]
	return func(w http.ResponseWriter, r *http.Request) {
		u, ok := s.targetUser(w, r)
		if !ok {
			return
		}
		s.renderConfirm(w, r, a.heading(u), "users", confirmPage{Heading: a.heading(u), Lines: a.lines(u),
			Action: userPath(u.ID, action), Button: a.button, Cancel: usersPath})
	}
}

func (s *Server) handleUserAction(action string) http.HandlerFunc {
	a := userActions[action]
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(r)
		if !ok {
			s.notFound(w, r)
			return
		}
		u, err := a.run(s, r, id)
		if s.refused(w, r, err) {
			return
		}
		s.redirectWith(w, r, usersPath, a.done(u))
	}
}

func (s *Server) handleDownloadUsers(w http.ResponseWriter, r *http.Request) {
	rep, err := s.svc.RequestUserList(r.Context())
	if s.refused(w, r, err) {
		return
	}
	u, _ := current(r)
	msg := "Your user list is being prepared. It will be emailed to " + u.Email + " when it is ready."
	if rep.Status == muster.ReportRunning {
		msg = "A user list is already being prepared; it will be emailed when it is ready."
	}
	s.redirectWith(w, r, usersPath, msg)
}
