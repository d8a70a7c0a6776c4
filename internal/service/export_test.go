package service_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
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
		invite("=HYPERLINK(\"http://x\")", "+1", "formula@example.org", muster.RoleBasic, def)
		invite("@SUM(A1)", "-minus", "at@example.org", muster.RoleBasic, ops.ID, sales.ID)
		gone := invite("Line\nBreak", "O'Brien, Jr.", "gone@example.org", muster.RoleBasic, def)
		f.clock.Advance(time.Hour)
		f.accept(gone.Link)
		f.clock.Advance(time.Hour)
		if err := f.svc.Deactivate(owner, gone.User.ID); err != nil {
			t.Fatal(err)
		}
		withdrawn := invite("Wendy", "Withdrawn", "wendy@example.org", muster.RoleBasic, def)
		if err := f.svc.Withdraw(owner, withdrawn.User.ID); err != nil {
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
