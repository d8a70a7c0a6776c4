package web

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

// editPage is Edit user (TEAM-5): role, Primary Team, and Secondary Teams
// each with "×" and a way to add one. Without JavaScript "×" and Add send
// the form back to this page, which shows the change; Save applies it.
type editPage struct {
	Page
	UserName    string
	Email       string
	Message     string
	Role        selectField
	RoleFixed   string // the role, when the actor may not change it
	Primary     selectField
	Secondaries []checkOption // the chosen secondary teams
	AddOptions  []option      // teams that can be added
	Action      string
}

func (s *Server) renderEdit(w http.ResponseWriter, r *http.Request, u *muster.User, role muster.Role, primary int64,
	secondaries []int64, err error) {
	teams, terr := s.svc.TeamList(r.Context())
	if s.refused(w, r, terr) {
		return
	}
	actor, _ := current(r)
	p := editPage{Page: s.page(w, r, "Edit "+u.Name()), UserName: u.Name(), Email: u.Email,
		Role: selectField{ID: "role", Label: "Role"}, Primary: selectField{ID: "primary_team", Label: "Primary Team"},
		Action: userPath(u.ID, "edit")}
	p.Section = "users"
	grantable := muster.GrantableRoles(actor.Role)
	if u.ID == actor.ID || !slices.Contains(grantable, u.Role) {
		p.RoleFixed = u.Role.Label()
	} else {
		for _, rl := range grantable {
			p.Role.Options = append(p.Role.Options, option{string(rl), rl.Label(), rl == role})
		}
	}
	names := teamNames(teams)
	for _, t := range teams {
		p.Primary.Options = append(p.Primary.Options, option{strconv.FormatInt(t.ID, 10), t.Name, t.ID == primary})
		if t.ID != primary && !slices.Contains(secondaries, t.ID) {
			p.AddOptions = append(p.AddOptions, option{Value: strconv.FormatInt(t.ID, 10), Label: t.Name})
		}
	}
	for _, id := range secondaries {
		if id != primary && names[id] != "" {
			p.Secondaries = append(p.Secondaries, checkOption{strconv.FormatInt(id, 10), names[id], true})
		}
	}
	p.Message = showFieldErrors(err, map[string]*string{muster.FieldRole: &p.Role.Error,
		muster.FieldPrimaryTeamID: &p.Primary.Error})
	status := http.StatusOK
	if err != nil {
		status = muster.HTTPStatus(muster.ErrorCode(err))
	}
	s.render(w, r, status, "edit", p)
}

func (s *Server) handleEditForm(w http.ResponseWriter, r *http.Request) {
	if u, ok := s.targetUser(w, r); ok {
		s.renderEdit(w, r, u, u.Role, u.PrimaryTeamID, u.SecondaryTeamIDs, nil)
	}
}

func (s *Server) handleEdit(w http.ResponseWriter, r *http.Request) {
	u, ok := s.targetUser(w, r)
	if !ok || !s.parseForm(w, r) {
		return
	}
	id := u.ID
	f := r.PostForm
	role := u.Role
	if v := f.Get("role"); v != "" {
		role = muster.Role(v)
	}
	primary, _ := strconv.ParseInt(f.Get("primary_team"), 10, 64)
	secondaries := formIDs(f["secondary_teams"])
	if remove, err := strconv.ParseInt(f.Get("remove_secondary"), 10, 64); err == nil {
		secondaries = slices.DeleteFunc(secondaries, func(id int64) bool { return id == remove })
		s.renderEdit(w, r, u, role, primary, secondaries, nil)
		return
	}
	if f.Has("add") {
		if add, err := strconv.ParseInt(f.Get("add_secondary"), 10, 64); err == nil && !slices.Contains(secondaries, add) {
			secondaries = append(secondaries, add)
		}
		s.renderEdit(w, r, u, role, primary, secondaries, nil)
		return
	}
	upd := service.UserUpdate{PrimaryTeamID: &primary, SecondaryTeamIDs: &secondaries}
	if role != u.Role {
		upd.Role = &role
	}
	if _, err := s.svc.UpdateUser(r.Context(), id, upd); err != nil {
		if muster.ErrorCode(err) == muster.EINTERNAL {
			s.serverError(w, r, err)
			return
		}
		s.renderEdit(w, r, u, role, primary, secondaries, err)
		return
	}
	s.redirectWith(w, r, usersPath, "Saved the changes to "+u.Name()+".")
}
