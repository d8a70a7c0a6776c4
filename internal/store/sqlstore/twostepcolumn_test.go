package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestTwoStepFollowsFactors: a user's second step is on exactly while one
// of their factors is (the users row's two_step, kept by triggers on the
// factors): a factor set up but not confirmed does not count, one confirmed
// does, removing or using another changes nothing, and removing the last
// one turns it off; pages filter by it.
func TestTwoStepFollowsFactors(t *testing.T) {
	storetest.RunParallel(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)
		admin, _, _, org := peekFixture(t, db) // its member, Mo, has a factor on
		update := func(step string, fn func(tx muster.Tx) error) {
			t.Helper()
			if err := db.Update(ctx, fn); err != nil {
				t.Fatalf("%s: %v", step, err)
			}
		}
		want := func(step string, adminOn bool) {
			t.Helper()
			err := db.View(ctx, func(tx muster.Tx) error {
				u, err := tx.FindUser(ctx, org.ID, admin.ID)
				if err != nil {
					return err
				}
				if u.TwoStep != adminOn {
					t.Errorf("%s: the Admin's second step on = %v; want %v", step, u.TwoStep, adminOn)
				}
				for _, filter := range []string{"on", "off"} {
					page, err := tx.FindUsers(ctx, muster.UserFilter{OrgID: org.ID, TwoStep: filter, Limit: 10})
					if err != nil {
						return err
					}
					var got []string
					for _, u := range page {
						got = append(got, u.FirstName)
					}
					wantNames := map[bool]string{true: "[Ada Mo]", false: "[Mo]"}[adminOn]
					if filter == "off" {
						wantNames = map[bool]string{true: "[]", false: "[Ada]"}[adminOn]
					}
					if fmt.Sprint(got) != wantNames {
						t.Errorf("%s: second step %s lists %v; want %s", step, filter, got, wantNames)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		want("no factor", false)

		phone := &muster.Factor{OrgID: org.ID, UserID: admin.ID, Kind: muster.FactorTOTP, Name: "Phone",
			Secret: []byte("sealed"), CreatedAt: now}
		update("a factor set up", func(tx muster.Tx) error { return tx.CreateFactor(ctx, phone) })
		want("a factor set up, not confirmed", false)
		update("the factor confirmed", func(tx muster.Tx) error {
			if ok, err := tx.EnableFactor(ctx, admin.ID, phone.ID, 1, now); !ok || err != nil {
				return fmt.Errorf("enabling: %v, %w", ok, err)
			}
			return nil
		})
		want("a factor confirmed", true)

		key := &muster.Factor{OrgID: org.ID, UserID: admin.ID, Kind: muster.FactorPasskey, Name: "Key",
			CredentialID: []byte("credential"), Data: []byte("{}"), CreatedAt: now, EnabledAt: now}
		update("a second factor", func(tx muster.Tx) error {
			if err := tx.CreateFactor(ctx, key); err != nil {
				return err
			}
			if ok, err := tx.DeleteFactor(ctx, admin.ID, phone.ID); !ok || err != nil {
				return fmt.Errorf("removing the first: %v, %w", ok, err)
			}
			return tx.UpdateFactorData(ctx, key.ID, []byte(`{"signCount":1}`), now)
		})
		want("the first factor removed, the second used", true)
		update("every factor reset", func(tx muster.Tx) error {
			_, err := tx.DeleteUserFactors(ctx, admin.ID)
			return err
		})
		want("every factor reset", false)
	})
}
