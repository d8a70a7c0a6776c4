package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/muster-app/muster/internal/httperr"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

const teamsPath = usersPath + "/teams"

func teamPath(id int64, action string) string {
	return teamsPath + "/" + strconv.FormatInt(id, 10) + "/" + action
}

// teamsPage is the Teams tab (TEAM-1): each team with its number of users
// and a "…" menu with Rename and Remove, a page at a time, with a search by
// name once there is more than a page; Create Team.
type teamsPage struct {
	Page
	Teams []teamRow
	Name  Field
	// Empty says the org has only the Default Team.
	Empty bool
	// Message is the refusal of Create.
	Message string
	Search  string
	// Range says which teams the page shows of how many ("1–50 of 2,020").
	Range      string
	Prev, Next string
}

// PagerLabel names the pager's pages.
func (teamsPage) PagerLabel() string { return "Pages of teams" }

// Searchable says whether to offer the search: when it is in use, or the
// teams fill more than a page.
func (p teamsPage) Searchable() bool { return p.Search != "" || p.Prev != "" || p.Next != "" }

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
	q := r.URL.Query()
	pageNum, _ := strconv.Atoi(q.Get("page"))
	p.Search = strings.TrimSpace(q.Get("q"))
	teams, err := s.svc.FindTeamPage(r.Context(), service.TeamQuery{Search: p.Search, Page: pageNum})
	if s.refused(w, r, err) {
		return
	}
	p.Empty = p.Search == "" && teams.Total == 1
	// Rename and Remove return to this page of the tab, its search kept.
	backHere := ""
	if here := r.URL.RequestURI(); r.Method == http.MethodGet && here != teamsPath {
		backHere = "?" + url.Values{"back": {here}}.Encode()
	}
	for _, t := range teams.Teams {
		p.Teams = append(p.Teams, teamRow{ID: t.ID, Name: t.Name, Users: t.PrimaryCount + t.SecondaryCount,
			Primary: t.PrimaryCount, IsDefault: t.IsDefault, RenameURL: teamPath(t.ID, "rename") + backHere,
			RemoveURL: teamPath(t.ID, "remove") + backHere})
	}
	if len(teams.Teams) > 0 {
		p.Range = pageRange(teams.Offset, len(teams.Teams), thousands(teams.Total))
	}
	pageURL := func(n int) string {
		v := url.Values{}
		if p.Search != "" {
			v.Set("q", p.Search)
		}
		if n > 1 {
			v.Set("page", strconv.Itoa(n))
		}
		if len(v) == 0 {
			return teamsPath
		}
		return teamsPath + "?" + v.Encode()
	}
	// A page past the last (a bookmark from before teams were removed)
	// leads back to the last, if the search finds any.
	current := teams.Offset/service.TeamsPerPage + 1
	last := max((teams.Total+service.TeamsPerPage-1)/service.TeamsPerPage, 1)
	if current > 1 && teams.Total > 0 {
		p.Prev = pageURL(min(current-1, last))
	}
	if current < last {
		p.Next = pageURL(current + 1)
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
		p.Message = "Please correct the problem marked below."
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
	// Back is the page of the Teams tab the rename returns to.
	Back string
}

func (s *Server) renderRename(w http.ResponseWriter, r *http.Request, status int, t *muster.Team, value string, err error) {
	p := renamePage{Page: s.page(w, r, "Rename "+t.Name), TeamName: t.Name, Action: teamPath(t.ID, "rename"),
		Name: Field{ID: "name", Label: "New name", Type: "text", Value: value, Max: muster.MaxNameLength},
		Back: backOr(r, teamsPath)}
	p.Section = "teams"
	if msg := showFieldErrors(err, map[string]*string{muster.FieldName: &p.Name.Error}); p.Name.Error == "" {
		p.Name.Error = msg
	}
	s.render(w, r, status, "team_rename", p)
}

func (s *Server) handleTeamRenameForm(w http.ResponseWriter, r *http.Request) {
	if t, ok := pathTarget(s, w, r, s.svc.FindRenamableTeam); ok {
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
		s.redirectWith(w, r, backOr(r, teamsPath), "The team is now called "+renamed.Name+".")
	case muster.EINVALID, muster.ECONFLICT:
		// The form again, under the team's name as it is.
		if t, ok := pathTarget(s, w, r, s.svc.Team); ok {
			s.renderRename(w, r, httperr.Status(err), t, name, err)
		}
	default:
		s.refused(w, r, err)
	}
}

// teamRemovePage confirms the removal of a team: it says up front who
// blocks it (the Pending and Active users whose primary team it is,
// counted and listed) and offers to move them all to another team and
// remove it in one step (TEAM-3).
type teamRemovePage struct {
	Page
	Name     string
	Action   string
	Blockers []userChoice
	// More counts the blockers not listed.
	More         int
	BlockerCount int
	MoveTo       selectField
	UsersURL     string
	Message      string
	// Back is the page of the Teams tab the removal returns to.
	Back string
}

// maxListedBlockers is how many of the users who block a removal the page
// names.
const maxListedBlockers = 20

func (s *Server) renderTeamRemove(w http.ResponseWriter, r *http.Request, status int, err error) {
	rm, ok := pathTarget(s, w, r, s.svc.FindTeamRemoval)
	if !ok {
		return
	}
	t := rm.Team
	p := teamRemovePage{Page: s.page(w, r, "Remove "+t.Name), Name: t.Name, Action: teamPath(t.ID, "remove"),
		BlockerCount: rm.BlockerCount, UsersURL: usersPath + "?team=" + strconv.FormatInt(t.ID, 10),
		MoveTo: selectField{ID: "move_to", Label: "Move them to"}, Back: backOr(r, teamsPath)}
	p.Section = "teams"
	for i, u := range rm.Blockers {
		if i == maxListedBlockers {
			break
		}
		p.Blockers = append(p.Blockers, userChoice{ID: u.ID, Name: u.Name(), Email: u.Email})
	}
	p.More = rm.BlockerCount - len(p.Blockers)
	p.MoveTo.Options = teamOptions(rm.Others, defaultTeamID(rm.Others))
	p.Message = showFieldErrors(err, map[string]*string{muster.FieldPrimaryTeamID: &p.MoveTo.Error})
	s.render(w, r, status, "team_remove", p)
}

// Errors is the form's error summary.
func (p teamRemovePage) Errors() *errorSummary { return summarize(p.Message, p.MoveTo) }

func (s *Server) handleTeamRemoveConfirm(w http.ResponseWriter, r *http.Request) {
	s.renderTeamRemove(w, r, http.StatusOK, nil)
}

// handleTeamRemove removes a team, or, with move_to, moves the users whose
// primary team it is to that team first, in the same step.
func (s *Server) handleTeamRemove(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	if !s.parseForm(w, r) {
		return
	}
	var t *muster.Team
	var err error
	moved := ""
	if v := r.PostForm.Get("move_to"); v != "" {
		to, _ := strconv.ParseInt(v, 10, 64)
		t, err = s.svc.MoveMembersAndRemoveTeam(r.Context(), id, to)
		moved = " Its users moved to their new primary team."
	} else {
		t, err = s.svc.RemoveTeam(r.Context(), id, 0)
	}
	switch muster.ErrorCode(err) {
	case "":
		s.redirectWith(w, r, backOr(r, teamsPath), "Removed the team "+t.Name+"."+moved)
	case muster.EINVALID, muster.ECONFLICT:
		// The confirmation again, with who blocks it now.
		s.renderTeamRemove(w, r, httperr.Status(err), err)
	default:
		s.refused(w, r, err)
	}
}

// Errors is the Create form's error summary.
func (p teamsPage) Errors() *errorSummary { return summarize(p.Message, p.Name) }

// Errors is the form's error summary.
func (p renamePage) Errors() *errorSummary {
	if p.Name.Error == "" {
		return nil
	}
	return summarize("Please correct the problem marked below.", p.Name)
}
