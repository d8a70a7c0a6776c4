package service_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestExportUsersGolden exports a small org with every status, multi-team
// users, quotes, commas, newlines, non-ASCII and formula-like names, and
// compares with testdata/users.csv byte for byte.
func TestExportUsersGolden(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 20)
		owner := f.as(f.owner)
		sales, err := f.svc.CreateTeam(owner, "Sales, EMEA")
		if err != nil {
			t.Fatal(err)
		}
		ops, err := f.svc.CreateTeam(owner, `Ops "Night"`)
		if err != nil {
			t.Fatal(err)
		}
		def := f.defaultTeam().ID
		invite := func(first, last, email string, role muster.Role, primary int64, secondaries ...int64) *service.Invited {
			t.Helper()
			f.clock.Advance(time.Minute)
			res, err := f.svc.Invite(owner, service.InviteInput{FirstName: first, LastName: last, Email: email,
				Role: role, PrimaryTeamID: primary, SecondaryTeamIDs: secondaries})
			if err != nil {
				t.Fatalf("invite %s: %v", first, err)
			}
			return res
		}
		zoe := invite("Zoë", "Ångström", "zoe@example.org", muster.RoleManager, sales.ID, ops.ID, def)
		f.clock.Advance(time.Hour)
		f.accept(zoe.Link)
		// Zoë has an authenticator app on: the last column says so.
		if err := db.Update(context.Background(), func(tx muster.Tx) error {
			return tx.CreateFactor(context.Background(), &muster.Factor{OrgID: f.org.ID, UserID: zoe.User.ID,
				Kind: muster.FactorTOTP, Secret: []byte("sealed"), CreatedAt: f.clock.Now(), EnabledAt: f.clock.Now()})
		}); err != nil {
			t.Fatal(err)
		}
		invite("=HYPERLINK(\"http://x\")", "+1", "formula@example.org", muster.RoleBasic, def)
		invite("@SUM(A1)", "-minus", "at@example.org", muster.RoleBasic, ops.ID, sales.ID)
		gone := invite("Line\nBreak", "O'Brien, Jr.", "gone@example.org", muster.RoleBasic, def)
		f.clock.Advance(time.Hour)
		f.accept(gone.Link)
		f.clock.Advance(time.Hour)
		if _, err := f.svc.Deactivate(owner, gone.User.ID); err != nil {
			t.Fatal(err)
		}
		withdrawn := invite("Wendy", "Withdrawn", "wendy@example.org", muster.RoleBasic, def)
		if _, err := f.svc.Withdraw(owner, withdrawn.User.ID); err != nil {
			t.Fatal(err)
		}

		var buf bytes.Buffer
		var progress []int
		if err := f.svc.ExportUsers(owner, &buf, func(n int) { progress = append(progress, n) }); err != nil {
			t.Fatal(err)
		}
		// The Owner's address differs between runs; the golden file has a
		// fixed one.
		got := strings.ReplaceAll(buf.String(), f.owner.Email, "owner@example.org")
		golden := filepath.Join("testdata", "users.csv")
		if *update {
			if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("export differs from %s (run with -update to accept):\n%s", golden, got)
		}
		if len(progress) != 1 || progress[0] != 5 {
			t.Errorf("progress = %v; want one batch of 5 rows", progress)
		}

		basic := f.active("Bea", muster.RoleBasic)
		wantCode(t, f.svc.ExportUsers(f.as(basic), &bytes.Buffer{}, nil), muster.EFORBIDDEN)
	})
}

// TestExportUsersInterleavedOrgs pages through one org's export in small
// batches while another org's users sit between its users' ids: each batch
// holds only the org's users, in id order, none twice or missing, with
// their own primary and secondary teams.
func TestExportUsersInterleavedOrgs(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		a, b := setup(t, db, 50), setup(t, db, 50)
		teamsOf := func(f *fixture) []int64 {
			extra, err := f.svc.CreateTeam(f.as(f.owner), "Extra")
			if err != nil {
				t.Fatal(err)
			}
			return []int64{f.defaultTeam().ID, extra.ID}
		}
		aTeams, bTeams := teamsOf(a), teamsOf(b)
		want := map[int64]bool{a.owner.ID: true}
		for i := range 12 {
			for _, f := range []*fixture{a, b} {
				teams := aTeams
				if f == b {
					teams = bTeams
				}
				in := service.InviteInput{FirstName: fmt.Sprintf("U%d", i), LastName: "Tester", Email: uniqueEmail("u"),
					Role: muster.RoleBasic, PrimaryTeamID: teams[i%2]}
				if i%3 != 0 {
					in.SecondaryTeamIDs = []int64{teams[(i+1)%2]}
				}
				res, err := f.svc.Invite(f.as(f.owner), in)
				if err != nil {
					t.Fatal(err)
				}
				if f == a && i == 5 {
					if _, err := a.svc.Withdraw(a.as(a.owner), res.User.ID); err != nil {
						t.Fatal(err)
					}
				} else if f == a {
					want[res.User.ID] = true
				}
			}
		}

		ctx := context.Background()
		var after int64
		seen := 0
		for {
			var batch []*muster.ExportedUser
			err := db.View(ctx, func(tx muster.Tx) error {
				var err error
				if batch, err = tx.ExportUsers(ctx, a.org.ID, after, 4); err != nil {
					return err
				}
				for _, u := range batch {
					stored, err := tx.FindUser(ctx, a.org.ID, u.ID)
					if err != nil {
						return fmt.Errorf("user %d of the export: %w", u.ID, err)
					}
					if u.PrimaryTeamID != stored.PrimaryTeamID || !slices.Equal(u.SecondaryTeamIDs, stored.SecondaryTeamIDs) {
						t.Errorf("user %d exported with teams %d %v; stored %d %v", u.ID, u.PrimaryTeamID,
							u.SecondaryTeamIDs, stored.PrimaryTeamID, stored.SecondaryTeamIDs)
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range batch {
				if u.ID <= after || !want[u.ID] {
					t.Fatalf("exported user %d after %d: out of order, twice, withdrawn or of another org", u.ID, after)
				}
				after = u.ID
				seen++
			}
			if len(batch) < 4 {
				break
			}
		}
		if seen != len(want) {
			t.Fatalf("exported %d users; want %d", seen, len(want))
		}
	})
}
