package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

// userJSON is a user as the API shows them.
type userJSON struct {
	ID               int64      `json:"id"`
	Email            string     `json:"email"`
	FirstName        string     `json:"first_name"`
	LastName         string     `json:"last_name"`
	Role             string     `json:"role"`
	Status           string     `json:"status"`
	PrimaryTeamID    int64      `json:"primary_team_id"`
	SecondaryTeamIDs []int64    `json:"secondary_team_ids"`
	InvitedAt        *time.Time `json:"invited_at"`
	InvitedByID      *int64     `json:"invited_by_id"`
	ActivatedAt      *time.Time `json:"activated_at"`
	DeactivatedAt    *time.Time `json:"deactivated_at"`
	LastSignInAt     *time.Time `json:"last_sign_in_at"`
	Version          int64      `json:"version"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func toUserJSON(u *muster.User) userJSON {
	j := userJSON{ID: u.ID, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, Role: string(u.Role),
		Status: string(u.Status), PrimaryTeamID: u.PrimaryTeamID, SecondaryTeamIDs: u.SecondaryTeamIDs,
		InvitedAt: timePtr(u.InvitedAt), ActivatedAt: timePtr(u.ActivatedAt), DeactivatedAt: timePtr(u.DeactivatedAt),
		LastSignInAt: timePtr(u.LastSignInAt), Version: u.Version}
	if j.SecondaryTeamIDs == nil {
		j.SecondaryTeamIDs = []int64{}
	}
	if u.InvitedByID != 0 {
		j.InvitedByID = &u.InvitedByID
	}
	return j
}

// userETag is a user's version, which every change increments.
func userETag(u *muster.User) string { return `"v` + strconv.FormatInt(u.Version, 10) + `"` }

func writeUser(w http.ResponseWriter, status int, u *muster.User) error {
	return writeJSON(w, status, toUserJSON(u), userETag(u))
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
	q := r.URL.Query()
	query := service.UserQuery{Search: q.Get("q"), Cursor: q.Get("cursor")}
	if v := q.Get("status"); v != "" {
		st, ok := muster.ParseStatus(v)
		if !ok || st == muster.StatusWithdrawn {
			return badRequest("status must be pending, active or deactivated.")
		}
		query.Status = st
	}
	if v := q.Get("role"); v != "" {
		role, ok := muster.ParseRole(v)
		if !ok {
			return badRequest("role must be owner, admin, manager or basic.")
		}
		query.Role = role
	}
	team, err := queryInt(r, "team_id")
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	query.TeamID, query.Limit = team, int(limit)
	page, err := s.svc.FindUsers(r.Context(), query)
	if err != nil {
		return err
	}
	out := userPage{Data: make([]userJSON, len(page.Users))}
	for i, u := range page.Users {
		out.Data[i] = toUserJSON(u)
	}
	if page.NextCursor != "" {
		out.NextCursor = &page.NextCursor
	}
	return writeJSON(w, http.StatusOK, out, "")
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

// ifMatchVersion reads an If-Match header holding a user ETag.
func ifMatchVersion(r *http.Request) (int64, error) {
	v := strings.TrimSpace(r.Header.Get("If-Match"))
	if v == "" || v == "*" {
		return 0, nil
	}
	n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(v, `"v`), `"`), 10, 64)
	if err != nil || n <= 0 {
		return 0, muster.Errorf(muster.ESTALE, "If-Match does not match the user's current ETag.")
	}
	return n, nil
}

func (s *Server) handleUserUpdate(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	version, err := ifMatchVersion(r)
	if err != nil {
		return err
	}
	var body userPatchJSON
	if err := decode(w, r, &body); err != nil {
		return err
	}
	upd := service.UserUpdate{IfVersion: version, FirstName: body.FirstName, LastName: body.LastName,
		PrimaryTeamID: body.PrimaryTeamID, SecondaryTeamIDs: body.SecondaryTeamIDs}
	if body.Role != nil {
		role := muster.Role(*body.Role)
		upd.Role = &role
	}
	u, err := s.svc.UpdateUser(r.Context(), id, upd)
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

// userAfter answers an action with the user as it now is.
func (s *Server) userAfter(w http.ResponseWriter, r *http.Request, id int64, action func() error) error {
	if err := action(); err != nil {
		return err
	}
	u, err := s.svc.FindUser(r.Context(), id)
	if err != nil {
		return err
	}
	return writeUser(w, http.StatusOK, u)
}

func (s *Server) handleUserWithdraw(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if err := s.svc.Withdraw(r.Context(), id); err != nil {
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
	return s.userAfter(w, r, id, func() error { return s.svc.Deactivate(r.Context(), id) })
}

// inviteAgainDraft is the previous invitation of the deactivated user the
// path names.
func (s *Server) inviteAgainDraft(r *http.Request) (*service.InviteInput, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	return s.svc.InviteAgainDraft(r.Context(), id)
}

func (s *Server) handleUserInviteAgainDraft(w http.ResponseWriter, r *http.Request) error {
	draft, err := s.inviteAgainDraft(r)
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
	draft, err := s.inviteAgainDraft(r)
	if err != nil {
		return err
	}
	body := userPatchJSON{}
	if r.ContentLength != 0 {
		if err := decode(w, r, &body); err != nil {
			return err
		}
	}
	in := *draft
	if body.FirstName != nil {
		in.FirstName = *body.FirstName
	}
	if body.LastName != nil {
		in.LastName = *body.LastName
	}
	if body.Role != nil {
		in.Role = muster.Role(*body.Role)
	}
	if body.PrimaryTeamID != nil {
		in.PrimaryTeamID = *body.PrimaryTeamID
	}
	if body.SecondaryTeamIDs != nil {
		in.SecondaryTeamIDs = *body.SecondaryTeamIDs
	}
	res, err := s.svc.Invite(r.Context(), in)
	if err != nil {
		return err
	}
	return writeUser(w, http.StatusOK, res.User)
}
