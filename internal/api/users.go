package api

import (
	"fmt"
	"net/http"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/resource"
	"github.com/muster-app/muster/internal/service"
)

// userJSON is a user as the API shows them.
type userJSON = resource.User

func toUserJSON(u *muster.User) userJSON { return resource.FromUser(u) }

func writeUser(w http.ResponseWriter, status int, u *muster.User) error {
	return writeJSON(w, status, toUserJSON(u), versionETag(u.Version))
}

type userPage struct {
	Data       []userJSON `json:"data"`
	NextCursor *string    `json:"next_cursor"`
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request) error {
	u, err := s.svc.Me(r.Context())
	if err != nil {
		return err
	}
	return writeUser(w, http.StatusOK, u)
}

func (s *Server) handleUserList(w http.ResponseWriter, r *http.Request) error {
	var uq service.UserQuery
	params := paramsOf(r)
	for _, p := range []struct {
		name string
		v    *string
	}{{"q", &uq.Search}, {"cursor", &uq.Cursor}, {"status", &uq.Status}, {"role", &uq.Role}} {
		var err error
		if *p.v, err = params.text(p.name); err != nil {
			return err
		}
	}
	team, err := params.int("team_id")
	if err != nil {
		return err
	}
	limit, err := params.int("limit")
	if err != nil {
		return err
	}
	uq.TeamID, uq.Limit = team, int(limit)
	query := listQueryKey(r, params)
	uq.KnownVersion = ifNoneMatchListVersion(r, query)
	page, err := s.svc.FindUsers(r.Context(), uq)
	if err != nil {
		return err
	}
	// Not modified as the service found it from the version alone, or as
	// the header says once the page is read ("*", or the page's ETag among
	// others of newer versions).
	etag := listETag(page.ListVersion, query)
	if page.NotModified || ifNoneMatch(r, etag) {
		return writeNotModified(w, etag)
	}
	out := userPage{Data: make([]userJSON, len(page.Users))}
	for i, u := range page.Users {
		out.Data[i] = toUserJSON(u)
	}
	if page.NextCursor != "" {
		out.NextCursor = &page.NextCursor
	}
	return writeJSON(w, http.StatusOK, out, etag)
}

// inviteJSON is the body of an invitation.
type inviteJSON struct {
	FirstName        string  `json:"first_name"`
	LastName         string  `json:"last_name"`
	Email            string  `json:"email"`
	Role             string  `json:"role"`
	PrimaryTeamID    int64   `json:"primary_team_id"`
	SecondaryTeamIDs []int64 `json:"secondary_team_ids"`
}

func (j inviteJSON) input() service.InviteInput {
	return service.InviteInput{FirstName: j.FirstName, LastName: j.LastName, Email: j.Email, Role: muster.Role(j.Role),
		PrimaryTeamID: j.PrimaryTeamID, SecondaryTeamIDs: j.SecondaryTeamIDs}
}

func (s *Server) handleUserInvite(w http.ResponseWriter, r *http.Request) error {
	var body inviteJSON
	if err := decode(w, r, &body); err != nil {
		return err
	}
	res, err := s.svc.Invite(r.Context(), body.input())
	if err != nil {
		return err
	}
	w.Header().Set("Location", fmt.Sprintf("/api/v1/users/%d", res.User.ID))
	return writeUser(w, http.StatusCreated, res.User)
}

func (s *Server) handleUserGet(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	u, err := s.svc.FindUser(r.Context(), id)
	if err != nil {
		return err
	}
	if etag := versionETag(u.Version); ifNoneMatch(r, etag) {
		return writeNotModified(w, etag)
	}
	return writeUser(w, http.StatusOK, u)
}

// userPatchJSON is the body of a user edit; absent fields stay as they are.
type userPatchJSON struct {
	FirstName        *string  `json:"first_name"`
	LastName         *string  `json:"last_name"`
	Role             *string  `json:"role"`
	PrimaryTeamID    *int64   `json:"primary_team_id"`
	SecondaryTeamIDs *[]int64 `json:"secondary_team_ids"`
}

// update is the change the body asks for, if the user is at ifVersion.
func (b userPatchJSON) update(ifVersion int64) service.UserUpdate {
	upd := service.UserUpdate{IfVersion: ifVersion, FirstName: b.FirstName, LastName: b.LastName,
		PrimaryTeamID: b.PrimaryTeamID, SecondaryTeamIDs: b.SecondaryTeamIDs}
	if b.Role != nil {
		role := muster.Role(*b.Role)
		upd.Role = &role
	}
	return upd
}

func (s *Server) handleUserUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var body userPatchJSON
	if err := decode(w, r, &body); err != nil {
		return err
	}
	u, err := s.svc.UpdateUser(r.Context(), id, body.update(ifMatchVersion(r)))
	if err != nil {
		return err
	}
	return writeUser(w, http.StatusOK, u)
}

func (s *Server) handleUserResend(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	res, err := s.svc.ResendInvite(r.Context(), id)
	if err != nil {
		return err
	}
	return writeUser(w, http.StatusOK, res.User)
}

func (s *Server) handleUserWithdraw(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := s.svc.Withdraw(r.Context(), id); err != nil {
		return err
	}
	// A withdrawn invitation leaves the user list.
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleUserDeactivate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	u, err := s.svc.Deactivate(r.Context(), id)
	if err != nil {
		return err
	}
	return writeUser(w, http.StatusOK, u)
}

func (s *Server) handleUserInviteAgainDraft(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	draft, err := s.svc.InviteAgainDraft(r.Context(), id)
	if err != nil {
		return err
	}
	out := inviteJSON{FirstName: draft.FirstName, LastName: draft.LastName, Email: draft.Email, Role: string(draft.Role),
		PrimaryTeamID: draft.PrimaryTeamID, SecondaryTeamIDs: draft.SecondaryTeamIDs}
	if out.SecondaryTeamIDs == nil {
		out.SecondaryTeamIDs = []int64{}
	}
	return writeJSON(w, http.StatusOK, out, "")
}

// handleUserInviteAgain invites a deactivated user again, with the previous
// role and teams unless the body gives others.
func (s *Server) handleUserInviteAgain(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var body userPatchJSON
	if r.ContentLength != 0 {
		if err := decode(w, r, &body); err != nil {
			return err
		}
	}
	res, err := s.svc.InviteAgain(r.Context(), id, body.update(ifMatchVersion(r)))
	if err != nil {
		return err
	}
	return writeUser(w, http.StatusOK, res.User)
}
