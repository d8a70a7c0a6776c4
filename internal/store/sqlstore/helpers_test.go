package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/store/sqlstore"
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

// orgWithTeams creates an org of seats licenses, its default team and
// teams of the names given, and returns the org, the default team and the
// others in the names' order.
func orgWithTeams(t *testing.T, db *sqlstore.DB, name string, seats int, now time.Time,
	names ...string) (*muster.Org, *muster.Team, []*muster.Team) {
	t.Helper()
	ctx := context.Background()
	var org *muster.Org
	var def *muster.Team
	var teams []*muster.Team
	err := db.Update(ctx, func(tx muster.Tx) error {
		var err error
		if org, def, err = createOrg(ctx, tx, name, seats, now); err != nil {
			return err
		}
		teams = make([]*muster.Team, len(names))
		for i, n := range names {
			teams[i] = &muster.Team{OrgID: org.ID, Name: n, CreatedAt: now}
			if err := tx.CreateTeam(ctx, teams[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return org, def, teams
}
