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
	me, err := s.svc.FindProfile(r.Context())
	if s.refused(w, r, err) {
		return
	}
	p := profilePage{Page: page, OrgName: me.Org.Name, PrimaryTeam: me.PrimaryTeam.Name, SenderAddresses: me.SenderAddresses}
	for _, t := range me.SecondaryTeams {
		p.SecondaryTeams = append(p.SecondaryTeams, t.Name)
	}
	s.render(w, r, http.StatusOK, "profile", p)
}
