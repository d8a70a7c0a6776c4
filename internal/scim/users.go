package scim

import (
	"net/http"
	"strings"

	"github.com/muster-app/muster/internal/service"
)

// handleUserList answers GET /Users: a page of the users a filter selects.
func (s *Server) handleUserList(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	pg, err := readPage(q)
	if err != nil {
		return err
	}
	where, err := parseFilter(queryValue(q, "filter"), SchemaUser, userFilterable)
	if err != nil {
		return err
	}
	users, err := s.svc.FindProvisionedUsers(r.Context(), service.ProvisionQuery{Where: where,
		Offset: pg.startIndex - 1, Limit: pg.count})
	if err != nil {
		return err
	}
	proj := readProjection(q, SchemaUser)
	list := listResponse{Schemas: []string{MessageList}, TotalResults: users.Total, StartIndex: pg.startIndex,
		ItemsPerPage: len(users.Users), Resources: make([]any, 0, len(users.Users))}
	for i := range users.Users {
		v, err := proj.apply(s.userJSON(r, &users.Users[i]))
		if err != nil {
			return err
		}
		list.Resources = append(list.Resources, v)
	}
	return writeJSON(w, http.StatusOK, list)
}

// writeUser answers with one user, with its ETag.
func (s *Server) writeUser(w http.ResponseWriter, r *http.Request, status int, p *service.ProvisionedUser) error {
	v, err := readProjection(r.URL.Query(), SchemaUser).apply(s.userJSON(r, p))
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(p.User.Version))
	if status == http.StatusCreated {
		w.Header().Set("Location", s.base(r)+"/Users/"+id(p.User.ID))
	}
	return writeJSON(w, status, v)
}

// handleUserGet answers GET /Users/{id}.
func (s *Server) handleUserGet(w http.ResponseWriter, r *http.Request) error {
	userID, err := pathID(r, "User")
	if err != nil {
		return err
	}
	p, err := s.svc.FindProvisionedUser(r.Context(), userID)
	if err != nil {
		return err
	}
	return s.writeUser(w, r, http.StatusOK, p)
}

// handleUserCreate answers POST /Users: Invite a User, or the same user
// invited again for the email of a deactivated one.
func (s *Server) handleUserCreate(w http.ResponseWriter, r *http.Request) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	d := service.UserDraft{Active: true}
	if err := replaceUser(&d, body, false); err != nil {
		return err
	}
	p, err := s.svc.ProvisionUser(r.Context(), d)
	if err != nil {
		return err
	}
	return s.writeUser(w, r, http.StatusCreated, p)
}

// handleUserReplace answers PUT /Users/{id}: the user as the body has them.
func (s *Server) handleUserReplace(w http.ResponseWriter, r *http.Request) error {
	userID, body, err := idAndBody(w, r, "User")
	if err != nil {
		return err
	}
	p, err := s.svc.ChangeProvisionedUser(r.Context(), userID, ifMatch(r), func(d *service.UserDraft) error {
		return replaceUser(d, body, true)
	})
	if err != nil {
		return err
	}
	return s.writeUser(w, r, http.StatusOK, p)
}

// handleUserPatch answers PATCH /Users/{id}: every operation applies, in
// one transaction, or none does.
func (s *Server) handleUserPatch(w http.ResponseWriter, r *http.Request) error {
	userID, body, err := idAndBody(w, r, "User")
	if err != nil {
		return err
	}
	ops, err := readPatch(body)
	if err != nil {
		return err
	}
	p, err := s.svc.ChangeProvisionedUser(r.Context(), userID, ifMatch(r), userPatch(ops))
	if err != nil {
		return err
	}
	return s.writeUser(w, r, http.StatusOK, p)
}

// handleUserDelete answers DELETE /Users/{id}: the user is deactivated
// and SCIM no longer shows them; the console keeps them.
func (s *Server) handleUserDelete(w http.ResponseWriter, r *http.Request) error {
	userID, err := pathID(r, "User")
	if err != nil {
		return err
	}
	if err := s.svc.DeleteProvisionedUser(r.Context(), userID, ifMatch(r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// replaceUser sets the draft d as a full User resource (a POST's or a
// PUT's body) has it. What a PUT leaves out stays as it is, but for
// externalId, which it clears; read-only attributes sent back (id, meta,
// groups) and attributes Muster does not keep are ignored; emails is always
// the userName.
func replaceUser(d *service.UserDraft, body object, put bool) error {
	if v, ok := body.get("userName"); ok {
		s, err := asString("userName", v)
		if err != nil {
			return err
		}
		d.Email = strings.TrimSpace(s)
	}
	if v, ok := body.get("name"); ok && v != nil {
		if err := applyName(d, operation{op: "replace"}, "", v); err != nil {
			return err
		}
	}
	if v, ok := body.get("externalId"); ok || put {
		s, err := asString("externalId", v)
		if err != nil {
			return err
		}
		d.ExternalID = s
	}
	if v, ok := body.get("active"); ok {
		active, err := asBool("active", v)
		if err != nil {
			return err
		}
		d.Active = active
	}
	if v, ok := body.get("roles"); ok {
		role, err := roleValue(v)
		if err != nil {
			return err
		}
		d.Role = role
	}
	if v, ok := body.get(SchemaMuster); ok {
		ext, isObject := asObject(v)
		if !isObject {
			return badRequest(TypeInvalidValue, "%s must be an object.", SchemaMuster)
		}
		if team, ok := ext.get("primaryTeam"); ok {
			s, err := asString("primaryTeam", team)
			if err != nil {
				return err
			}
			d.PrimaryTeam = s
		}
	}
	return nil
}
