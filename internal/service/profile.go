package service

import (
	"context"

	"github.com/muster-app/muster/internal/muster"
)

// Profile is what everyone sees of themself: their organization, their
// teams and the sender addresses granted to them (SEND-4).
type Profile struct {
	User            *muster.User
	Org             *muster.Org
	PrimaryTeam     *muster.Team
	SecondaryTeams  []*muster.Team
	SenderAddresses []*muster.SendAsPermission
}

// FindProfile returns the signed-in user's profile, read in one
// transaction: the user (read again, not as the authentication read them)
// with the teams they have at that moment, so that a primary team removed
// meanwhile is never looked for.
func (s *Service) FindProfile(ctx context.Context) (*Profile, error) {
	var p Profile
	err := s.view(ctx, func(tx *txn) error {
		a, err := loadUser(ctx, tx)
		if err != nil {
			return err
		}
		p.User = a.user
		if p.Org, err = tx.FindOrg(ctx, a.orgID); err != nil {
			return err
		}
		if p.PrimaryTeam, p.SecondaryTeams, err = userTeams(ctx, tx, a.user); err != nil {
			return err
		}
		p.SenderAddresses, err = senderAddresses(ctx, tx, p.Org, a.user)
		return err
	})
	return &p, err
}
