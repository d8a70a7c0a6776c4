package scim

import (
	"net/http"

	"github.com/muster-app/muster/internal/service"
)

// handleGroupList answers GET /Groups: a page of the teams a filter
// selects, with their members unless excludedAttributes=members (or
// attributes= leaves them out).
func (s *Server) handleGroupList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	pg, err := readPage(q)
	if err != nil {
		return err
	}
	where, err := parseFilter(queryValue(q, "filter"), SchemaGroup, groupFilterable)
	if err != nil {
		return err
	}
	proj := readProjection(q, SchemaGroup)
	teams, err := s.svc.FindProvisionedTeams(r.Context(), service.ProvisionQuery{Where: where,
		Offset: pg.startIndex - 1, Limit: pg.count, Members: proj.wants("members")})
	if err != nil {
		return err
	}
	list := listResponse{Schemas: []string{MessageList}, TotalResults: teams.Total, StartIndex: pg.startIndex,
		ItemsPerPage: len(teams.Teams), Resources: make([]any, 0, len(teams.Teams))}
	for i := range teams.Teams {
		v, err := proj.apply(s.groupJSON(r, &teams.Teams[i]))
		if err != nil {
			return err
		}
		list.Resources = append(list.Resources, v)
	}
	return writeJSON(w, http.StatusOK, list)
}

// writeGroup answers with one group, with its ETag.
func (s *Server) writeGroup(w http.ResponseWriter, r *http.Request, status int, p *service.ProvisionedTeam) error {
	proj := readProjection(r.URL.Query(), SchemaGroup)
	if !proj.wants("members") {
		p.Members = nil
	}
	v, err := proj.apply(s.groupJSON(r, p))
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(p.Team.Version))
	if status == http.StatusCreated {
		w.Header().Set("Location", s.base(r)+"/Groups/"+id(p.Team.ID))
	}
	return writeJSON(w, status, v)
}

// handleGroupGet answers GET /Groups/{id}.
func (s *Server) handleGroupGet(w http.ResponseWriter, r *http.Request) error {
	teamID, err := pathID(r, "Team")
	if err != nil {
		return err
	}
	p, err := s.svc.FindProvisionedTeam(r.Context(), teamID, readProjection(r.URL.Query(), SchemaGroup).wants("members"))
	if err != nil {
		return err
	}
	return s.writeGroup(w, r, http.StatusOK, p)
}

// handleGroupCreate answers POST /Groups: Create Team, with its members as
// secondary members.
func (s *Server) handleGroupCreate(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	var d service.TeamDraft
	if err := replaceGroup(&d, body, false); err != nil {
		return err
	}
	p, err := s.svc.ProvisionTeam(r.Context(), d)
	if err != nil {
		return err
	}
	return s.writeGroup(w, r, http.StatusCreated, p)
}

// handleGroupReplace answers PUT /Groups/{id}.
func (s *Server) handleGroupReplace(w http.ResponseWriter, r *http.Request) error {
	teamID, body, err := idAndBody(w, r, "Team")
	if err != nil {
		return err
	}
	p, err := s.svc.ChangeProvisionedTeam(r.Context(), teamID, ifMatch(r), func(d *service.TeamDraft) error {
		return replaceGroup(d, body, true)
	})
	if err != nil {
		return err
	}
	return s.writeGroup(w, r, http.StatusOK, p)
}

// handleGroupPatch answers PATCH /Groups/{id} with 204 No Content, which
// both providers expect (RFC 7644 §3.5.2 allows it): a large team's members
// are not sent back for each change.
func (s *Server) handleGroupPatch(w http.ResponseWriter, r *http.Request) error {
	teamID, body, err := idAndBody(w, r, "Team")
	if err != nil {
		return err
	}
	ops, err := readPatch(body)
	if err != nil {
		return err
	}
	p, err := s.svc.ChangeProvisionedTeam(r.Context(), teamID, ifMatch(r), groupPatch(ops))
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(p.Team.Version))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleGroupDelete answers DELETE /Groups/{id}: Remove the team, refused
// while it is someone's primary team (TEAM-3) and for the Default Team
// (TEAM-4).
func (s *Server) handleGroupDelete(w http.ResponseWriter, r *http.Request) error {
	teamID, err := pathID(r, "Team")
	if err != nil {
		return err
	}
	if _, err := s.svc.RemoveTeam(r.Context(), teamID, ifMatch(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// replaceGroup sets the draft d as a full Group resource (a POST's or a
// PUT's body) has it: a PUT without members keeps them, and clears the
// externalId it leaves out.
func replaceGroup(d *service.TeamDraft, body object, put bool) error {
	if v, ok := body.get("displayName"); ok {
		s, err := asString("displayName", v)
		if err != nil {
			return err
		}
		d.Name = s
	}
	if v, ok := body.get("externalId"); ok || put {
		s, err := asString("externalId", v)
		if err != nil {
			return err
		}
		d.ExternalID = s
	}
	if v, ok := body.get("members"); ok {
		ids, err := memberIDs(v, true)
		if err != nil {
			return err
		}
		d.Members = ids
	}
	return nil
}
