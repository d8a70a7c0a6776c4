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
	primary, secondaries, err := s.svc.MyTeams(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	senders, err := s.svc.MySenderAddresses(r.Context())
	if err != nil {
		s.serverError(w, r, err)
		return
	}
	p := profilePage{Page: page, OrgName: org.Name, PrimaryTeam: primary.Name, SenderAddresses: senders}
	for _, t := range secondaries {
		p.SecondaryTeams = append(p.SecondaryTeams, t.Name)
	}
	s.render(w, r, http.StatusOK, "profile", p)
}
