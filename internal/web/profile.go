package web

import (
	"net/http"

	"github.com/muster-app/muster/internal/muster"
)

// profilePage is what every user sees of themself: name, email, role,
// teams and the sender addresses granted to them (SEND-4).
type profilePage struct {
	Page
	OrgName         string
	PrimaryTeam     string
	SecondaryTeams  []string
	SenderAddresses []*muster.SendAsPermission
}

func (s *Server) handleProfile(w http.ResponseWriter, r *http.Request) {
	u, _ := current(r)
	page := s.page(w, r, u.Name())
	org, err := s.svc.Org(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	teams, err := s.svc.Teams(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	senders, err := s.svc.MySenderAddresses(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	names := make(map[int64]string, len(teams))
	for _, t := range teams {
		names[t.ID] = t.Name
	}
	p := profilePage{Page: page, OrgName: org.Name, PrimaryTeam: names[u.PrimaryTeamID],
		SenderAddresses: senders}
	for _, id := range u.SecondaryTeamIDs {
		p.SecondaryTeams = append(p.SecondaryTeams, names[id])
	}
	s.render(w, r, http.StatusOK, "profile", p)
}
