package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

func TestFindOrgByName(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
		orgs := map[string]*muster.Org{}
		err := db.Update(ctx, func(tx muster.Tx) error {
			for _, name := range []string{"Acme Corp", "Écoles Réunies", "Twin", "twin", "Acme Corp Europe"} {
				orgs[name] = &muster.Org{Name: name, Region: "us", LicenseTotal: 5, CreatedAt: now}
				if err := tx.CreateOrg(ctx, orgs[name]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		find := func(name string) (*muster.Org, error) {
			var o *muster.Org
			err := db.View(ctx, func(tx muster.Tx) error {
				var err error
				o, err = tx.FindOrgByName(ctx, name)
				return err
			})
			return o, err
		}

		t.Run("OK", func(t *testing.T) {
			for asked, want := range map[string]string{
				"Acme Corp": "Acme Corp", "ACME CORP": "Acme Corp", "  acme   corp ": "Acme Corp",
				"écoles réunies": "Écoles Réunies", "ÉCOLES RÉUNIES": "Écoles Réunies",
			} {
				o, err := find(asked)
				if err != nil {
					t.Fatalf("%q: %v", asked, err)
				}
				if o.ID != orgs[want].ID || o.Name != want || o.LicenseTotal != 5 {
					t.Fatalf("%q found %+v; want %s (id %d)", asked, o, want, orgs[want].ID)
				}
			}
		})
		t.Run("ErrNotFound", func(t *testing.T) {
			for _, asked := range []string{"Acme", "Acme Corp E", "Nobody", ""} {
				if _, err := find(asked); muster.ErrorCode(err) != muster.ENOTFOUND {
					t.Fatalf("%q: %v; want ENOTFOUND", asked, err)
				}
			}
		})
		t.Run("ErrAmbiguous", func(t *testing.T) {
			_, err := find("TWIN")
			want := "2 organizations are named \"TWIN\": ids " +
				strconv.FormatInt(orgs["Twin"].ID, 10) + ", " + strconv.FormatInt(orgs["twin"].ID, 10) + "."
			if muster.ErrorCode(err) != muster.ECONFLICT || muster.ErrorMessage(err) != want {
				t.Fatalf("err = %v; want ECONFLICT %q", err, want)
			}
		})
	})
}

// TestFindOrgSharingTeams: the org as FindOrg reads it (the seats this
// transaction freed already off), with the ids of its teams among those
// asked, in order, and its webhook subscribers as FindWebhookSubscribers
// lists them (none for an org without endpoints); another org's team or
// one that does not exist is not among them, and an org that does not
// exist is not found.
func TestFindOrgSharingTeams(t *testing.T) {
	storetest.RunParallel(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := time.Date(2026, 12, 1, 4, 0, 0, 0, time.UTC)
		org, def, teams := orgWithTeams(t, db, "Sharing", 10, now, "Sales", "Support")
		quiet, other, _ := orgWithTeams(t, db, "Elsewhere", 10, now)
		if err := db.Update(ctx, func(tx muster.Tx) error {
			if ok, err := tx.TakeSeats(ctx, org.ID, 3); !ok || err != nil {
				return fmt.Errorf("taking 3 seats: %v, %w", ok, err)
			}
			for _, e := range []*muster.WebhookEndpoint{
				{URL: "https://a.example/hook", EventTypes: []string{"user.invited", "user.deactivated"}, Enabled: true},
				{URL: "https://b.example/hook", Enabled: true}, // every type
				{URL: "https://c.example/hook", EventTypes: []string{"user.invited"}},
			} {
				e.OrgID, e.Secret, e.CreatedAt = org.ID, []byte("sealed"), now
				if err := tx.CreateWebhookEndpoint(ctx, e); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		err := db.Update(ctx, func(tx muster.Tx) error {
			if err := tx.ReleaseSeat(ctx, org.ID); err != nil {
				return err
			}
			want, err := tx.FindOrg(ctx, org.ID)
			if err != nil {
				return err
			}
			wantSubs, err := tx.FindWebhookSubscribers(ctx, org.ID)
			if err != nil {
				return err
			}
			if len(wantSubs) != 2 {
				return fmt.Errorf("%d subscribers listed; want the 2 enabled endpoints", len(wantSubs))
			}
			for _, c := range []struct {
				asked, want []int64
			}{
				{[]int64{teams[1].ID, other.ID, def.ID, teams[0].ID, 1 << 40}, []int64{def.ID, teams[0].ID, teams[1].ID}},
				{[]int64{other.ID}, nil},
				{nil, nil},
			} {
				got, found, subs, err := tx.FindOrgSharingTeams(ctx, org.ID, c.asked)
				if err != nil {
					return err
				}
				if *got != *want || got.SeatsUsed != 2 || !slices.Equal(found, c.want) {
					return fmt.Errorf("teams %v: %+v with %v; want %+v (2 seats used) with %v", c.asked, got, found, want, c.want)
				}
				if !sameSubscribers(subs, wantSubs) {
					return fmt.Errorf("teams %v: subscribers %s; want %s", c.asked, subscribersString(subs), subscribersString(wantSubs))
				}
			}
			for _, asked := range [][]int64{{other.ID}, nil} {
				_, _, subs, err := tx.FindOrgSharingTeams(ctx, quiet.ID, asked)
				if err != nil {
					return err
				}
				if subs != nil {
					return fmt.Errorf("an org without endpoints, teams %v: subscribers %s; want none", asked, subscribersString(subs))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		err = db.View(ctx, func(tx muster.Tx) error {
			_, _, _, err := tx.FindOrgSharingTeams(ctx, org.ID+other.OrgID+100, []int64{def.ID})
			return err
		})
		if muster.ErrorCode(err) != muster.ENOTFOUND {
			t.Errorf("an org that does not exist: %v; want %s", err, muster.ENOTFOUND)
		}
	})
}
