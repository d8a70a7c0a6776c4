package web

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/muster-app/muster/internal/httperr"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

// editPage is Edit user (TEAM-5): name, role, Primary Team, and Secondary
// Teams each with "×" and a way to add one, as the invite form has them.
// Save applies the change.
type editPage struct {
	Page
	UserName  string
	Email     string
	DetailURL string
	Message   string
	FirstName Field
	LastName  Field
	Role      selectField
	RoleFixed string // the role, when the actor may not change it
	Primary   selectField
	teamChips
	Action string
	// Back is where Save and Cancel return: the page the edit began on.
	Back string
}

// Errors is the form's error summary.
func (p editPage) Errors() *errorSummary {
	return summarize(p.Message, p.FirstName, p.LastName, p.Role, p.Primary,
		groupRef{"add_secondary", "Secondary Teams", p.SecondaryError})
}

// userEdit is the edit form's state: what the user is and what the form
// holds.
type userEdit struct {
	user                *muster.User
	firstName, lastName string
	role                muster.Role
	primary             int64
	secondaries         []int64
}

func (s *Server) renderEdit(w http.ResponseWriter, r *http.Request, teams []muster.TeamName, e userEdit, err error) {
	actor, _ := current(r)
	u := e.user
	p := editPage{Page: s.page(w, r, "Edit "+u.Name()), UserName: u.Name(), Email: u.Email, DetailURL: userPath(u.ID, ""),
		FirstName: Field{ID: "first_name", Label: "First Name", Type: "text", Value: e.firstName, Autocomplete: "off",
			Max: muster.MaxNameLength},
		LastName: Field{ID: "last_name", Label: "Last Name", Type: "text", Value: e.lastName, Autocomplete: "off",
			Max: muster.MaxNameLength},
		Primary: selectField{ID: "primary_team", Label: "Primary Team"}, Action: userPath(u.ID, "edit"), Back: back(r)}
	p.Section = "users"
	grantable := muster.GrantableRoles(actor.Role)
	if u.ID == actor.ID || !slices.Contains(grantable, u.Role) {
		p.RoleFixed = u.Role.Label()
	} else {
		p.Role = roleSelect(grantable, e.role)
	}
	p.Primary.Options = teamOptions(teams, e.primary)
	p.teamChips = newTeamChips(teams, e.primary, e.secondaries)
	p.Message = showFieldErrors(err, map[string]*string{muster.FieldFirstName: &p.FirstName.Error,
		muster.FieldLastName: &p.LastName.Error, muster.FieldRole: &p.Role.Error,
		muster.FieldPrimaryTeamID: &p.Primary.Error, muster.FieldSecondaryTeamIDs: &p.SecondaryError})
	s.render(w, r, httperr.Status(err), "edit", p)
}

func (s *Server) handleEditForm(w http.ResponseWriter, r *http.Request) {
	ut, ok := formTarget(s, w, r, s.svc.FindUserAndTeams)
	if !ok {
		return
	}
	u := ut.User
	s.renderEdit(w, r, ut.Teams, userEdit{user: u, firstName: u.FirstName, lastName: u.LastName, role: u.Role,
		primary: u.PrimaryTeamID, secondaries: u.SecondaryTeamIDs}, nil)
}

// handleEdit saves the form, or, for "×" and Add, shows it again changed.
func (s *Server) handleEdit(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	if !s.parseForm(w, r) {
		return
	}
	f := r.PostForm
	e := userEdit{firstName: f.Get("first_name"), lastName: f.Get("last_name"), role: muster.Role(f.Get("role")),
		secondaries: formIDs(f["secondary_teams"])}
	e.primary, _ = strconv.ParseInt(f.Get("primary_team"), 10, 64)
	var chips bool
	var err error
	if e.secondaries, chips = changeChips(f, e.secondaries); !chips {
		upd := service.UserUpdate{PrimaryTeamID: &e.primary, SecondaryTeamIDs: &e.secondaries}
		if f.Has("first_name") {
			upd.FirstName = &e.firstName
		}
		if f.Has("last_name") {
			upd.LastName = &e.lastName
		}
		if e.role != "" { // no role select: the actor may not change it
			upd.Role = &e.role
		}
		var saved *muster.User
		if saved, err = s.svc.UpdateUser(r.Context(), id, upd); err == nil {
			s.redirectWith(w, r, back(r), "Saved the changes to "+saved.Name()+".")
			return
		}
		if muster.ErrorCode(err) == muster.EINTERNAL {
			s.serverError(w, r, err)
			return
		}
	}
	// The form again, as changed or refused, with the user and the teams
	// as they are now.
	ut, ok := pathTarget(s, w, r, s.svc.FindUserAndTeams)
	if !ok {
		return
	}
	e.user = ut.User
	if e.role == "" {
		e.role = ut.User.Role
	}
	if !f.Has("first_name") {
		e.firstName, e.lastName = ut.User.FirstName, ut.User.LastName
	}
	s.renderEdit(w, r, ut.Teams, e, err)
}
