package sqlstore_test

import (
	"context"
	"time"

	"github.com/muster-app/muster/internal/muster"
)

// createOrg creates, in tx, an org of seats licenses and its default team,
// and returns them.
func createOrg(ctx context.Context, tx muster.Tx, name string, seats int, now time.Time) (*muster.Org, *muster.Team, error) {
	org := &muster.Org{Name: name, Region: "us", LicenseTotal: seats, CreatedAt: now}
	if err := tx.CreateOrg(ctx, org); err != nil {
		return nil, nil, err
	}
	team := &muster.Team{OrgID: org.ID, Name: "Everyone", IsDefault: true, CreatedAt: now}
	return org, team, tx.CreateTeam(ctx, team)
}
