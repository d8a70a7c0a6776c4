package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/muster-app/muster/internal/httperr"
	"github.com/muster-app/muster/internal/muster"
)

const teamsPath = usersPath + "/teams"

func teamPath(id int64, action string) string {
	return teamsPath + "/" + strconv.FormatInt(id, 10) + "/" + action
}

// teamsPage is the Teams tab (TEAM-1): each team with its number of users
// and a "…" menu with Rename and Remove; Create Team.
type teamsPage struct {
	Page
	Teams []teamRow
	Name  Field
	// InUse is the refusal of a removal, with a link to the users concerned
	// (TEAM-3).
	InUse     string
	InUseLink string
}

type teamRow struct {
	ID        int64
	Name      string
	Users     int
	Primary   int
	IsDefault bool
	RenameURL string
	RemoveURL string
}

func (s *Server) renderTeams(w http.ResponseWriter, r *http.Request, status int, p teamsPage) {
	teams, err := s.svc.Teams(r.Context())
	if s.refused(w, r, err) {
		return
	}
	for _, t := range teams {
		p.Teams = append(p.Teams, teamRow{ID: t.ID, Name: t.Name, Users: t.PrimaryCount + t.SecondaryCount,
			Primary: t.PrimaryCount, IsDefault: t.IsDefault, RenameURL: teamPath(t.ID, "rename"), RemoveURL: teamPath(t.ID, "remove")})
	}
	if p.Name.ID == "" {
		p.Name = Field{ID: "name", Label: "Team name", Type: "text", Max: muster.MaxNameLength}
	}
	s.render(w, r, status, "teams", p)
}

func (s *Server) teamsPage(w http.ResponseWriter, r *http.Request) teamsPage {
	p := teamsPage{Page: s.page(w, r, "Teams")}
	p.Section = "teams"
	return p
}

func (s *Server) handleTeams(w http.ResponseWriter, r *http.Request) {
	s.renderTeams(w, r, http.StatusOK, s.teamsPage(w, r))
}

func (s *Server) handleTeamCreate(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	name := r.PostForm.Get("name")
	t, err := s.svc.CreateTeam(r.Context(), name)
	if err != nil {
		p := s.teamsPage(w, r)
		p.Name = Field{ID: "name", Label: "Team name", Type: "text", Value: name, Max: muster.MaxNameLength,
			Error: muster.ErrorMessage(err)}
		if muster.ErrorCode(err) == muster.EINTERNAL || muster.ErrorCode(err) == muster.EFORBIDDEN {
			s.refused(w, r, err)
			return
		}
		s.renderTeams(w, r, httperr.Status(err), p)
		return
	}
	s.redirectWith(w, r, teamsPath, "Created the team "+t.Name+".")
}

// renamePage renames one team.
type renamePage struct {
	Page
	TeamName string
	Name     Field
	Action   string
}

func (s *Server) renderRename(w http.ResponseWriter, r *http.Request, status int, t *muster.Team, value string, err error) {
	p := renamePage{Page: s.page(w, r, "Rename "+t.Name), TeamName: t.Name, Action: teamPath(t.ID, "rename"),
		Name: Field{ID: "name", Label: "New name", Type: "text", Value: value, Max: muster.MaxNameLength}}
	p.Section = "teams"
	if msg := showFieldErrors(err, map[string]*string{muster.FieldName: &p.Name.Error}); p.Name.Error == "" {
		p.Name.Error = msg
	}
	s.render(w, r, status, "team_rename", p)
}

func (s *Server) handleTeamRenameForm(w http.ResponseWriter, r *http.Request) {
	if t, ok := pathTarget(s, w, r, s.svc.Team); ok {
		s.renderRename(w, r, http.StatusOK, t, t.Name, nil)
	}
}

func (s *Server) handleTeamRename(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	if !s.parseForm(w, r) {
		return
	}
	name := r.PostForm.Get("name")
	renamed, err := s.svc.RenameTeam(r.Context(), id, name, 0)
	switch muster.ErrorCode(err) {
	case "":
		s.redirectWith(w, r, teamsPath, "The team is now called "+renamed.Name+".")
	case muster.EINVALID, muster.ECONFLICT:
		// The form again, under the team's name as it is.
		if t, ok := pathTarget(s, w, r, s.svc.Team); ok {
			s.renderRename(w, r, httperr.Status(err), t, name, err)
		}
	default:
		s.refused(w, r, err)
	}
}

func (s *Server) handleTeamRemoveConfirm(w http.ResponseWriter, r *http.Request) {
	t, ok := pathTarget(s, w, r, s.svc.Team)
	if !ok {
		return
	}
	s.renderConfirm(w, r, "Remove "+t.Name+"?", "teams", confirmPage{Heading: "Remove " + t.Name + "?",
		Lines: []string{"Users who have it as a secondary team lose it.",
			"Deactivated users whose primary team it was move to the Default Team.",
			"Assets stay with the users' other teams."},
		Action: teamPath(t.ID, "remove"), Button: "Remove", Cancel: teamsPath})
}

func (s *Server) handleTeamRemove(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	t, err := s.svc.RemoveTeam(r.Context(), id)
	var e *muster.Error
	switch {
	case err == nil:
		s.redirectWith(w, r, teamsPath, "Removed the team "+t.Name+".")
	case errors.As(err, &e) && e.Reason == muster.ReasonTeamInUse:
		p := s.teamsPage(w, r)
		p.InUse = e.Message
		p.InUseLink = usersPath + "?team=" + strconv.FormatInt(id, 10)
		s.renderTeams(w, r, http.StatusConflict, p)
	default:
		s.refused(w, r, err)
	}
}
