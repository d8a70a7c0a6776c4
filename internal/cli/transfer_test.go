package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
	"github.com/muster-app/muster/internal/web"
)

// orgFixture is an organization made by muster init, with people in it.
type orgFixture struct {
	dbURL string
	orgID int64
	db    *sqlstore.DB
	svc   *service.Service
	// op acts as an operator on the organization.
	op context.Context
}

// newOrg runs muster init on dbURL (Olive Owner, Pending) and opens the
// database for the test to look at.
func newOrg(t *testing.T, dbURL, name, ownerEmail string) *orgFixture {
	t.Helper()
	args := initArgs(dbURL, ownerEmail, "--json")
	args = set("--org", name)(args)
	r := run(t, args...)
	if r.code != 0 {
		t.Fatalf("init: %d %s", r.code, r.stderr)
	}
	var created struct {
		OrgID int64 `json:"org_id"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &created); err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &orgFixture{dbURL: dbURL, orgID: created.OrgID, db: db, svc: service.New(db, service.Config{BaseURL: baseURL, Links: web.NewLinks(baseURL)}),
		op: muster.NewContext(context.Background(), muster.Principal{OrgID: created.OrgID, Origin: "cli"})}
}

// invite invites a user with the role; active says whether they accept.
func (f *orgFixture) invite(t *testing.T, email string, role muster.Role, active bool) *muster.User {
	t.Helper()
	ctx := context.Background()
	var team *muster.Team
	err := f.db.View(ctx, func(tx muster.Tx) error {
		var err error
		team, err = tx.FindDefaultTeam(ctx, f.orgID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(email, "@")
	inv, err := f.svc.Invite(f.op, service.InviteInput{FirstName: strings.ToUpper(first[:1]) + first[1:], LastName: "Doe",
		Email: email, Role: role, PrimaryTeamID: team.ID})
	if err != nil {
		t.Fatal(err)
	}
	if active {
		token := inv.Link[strings.LastIndex(inv.Link, "/")+1:]
		if _, err := f.svc.AcceptInvitation(ctx, token, "a long enough secret", service.Client{}); err != nil {
			t.Fatal(err)
		}
	}
	return inv.User
}

// roles returns each user's role and status, by email.
func (f *orgFixture) roles(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := f.db.View(context.Background(), func(tx muster.Tx) error {
		users, err := tx.FindUsers(context.Background(), muster.UserFilter{OrgID: f.orgID, Limit: 100})
		for _, u := range users {
			out[u.Email] = string(u.Role) + " " + string(u.Status)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// transfers returns the org's ownership-transfer audit events as
// "origin: before → after".
func (f *orgFixture) transfers(t *testing.T) []string {
	t.Helper()
	var out []string
	err := f.db.View(context.Background(), func(tx muster.Tx) error {
		events, err := tx.FindAuditEvents(context.Background(),
			muster.AuditFilter{OrgID: f.orgID, Action: muster.ActionOwnershipMoved, Limit: 10})
		for _, e := range events {
			out = append(out, fmt.Sprintf("%s: %v → %v", e.Origin, e.Before["owner"], e.After["owner"]))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOrgTransfer(t *testing.T) {
	clearEnv(t)
	for name, newDB := range databases(t) {
		t.Run(name, func(t *testing.T) {
			f := newOrg(t, newDB(t), "Acme Corp", "olive@example.com")
			f.invite(t, "adam@example.com", muster.RoleAdmin, true)
			f.invite(t, "paula@example.com", muster.RoleAdmin, false)
			f.invite(t, "bob@example.com", muster.RoleBasic, true)
			wendy := f.invite(t, "wendy@example.com", muster.RoleAdmin, false)
			if _, err := f.svc.Withdraw(f.op, wendy.ID); err != nil {
				t.Fatal(err)
			}
			org := strconv.FormatInt(f.orgID, 10)
			before := f.roles(t)

			for name, tc := range map[string]struct {
				to   string
				want string
			}{
				"ErrNotAdmin":    {"bob@example.com", "ownership was not transferred: Ownership can only go to an Active Admin; bob@example.com is a Basic User and Active."},
				"ErrNotActive":   {"Paula@Example.com", "ownership was not transferred: Ownership can only go to an Active Admin; paula@example.com is an Admin and Pending."},
				"ErrOwner":       {"olive@example.com", "ownership was not transferred: olive@example.com is the Owner already."},
				"ErrUnknownUser": {"nobody@example.com", `ownership was not transferred: the organization has no user with the email "nobody@example.com".`},
				"ErrWithdrawn":   {"wendy@example.com", `ownership was not transferred: the organization has no user with the email "wendy@example.com".`},
			} {
				t.Run(name, func(t *testing.T) {
					r := run(t, "org", "transfer", "--db", f.dbURL, "--org", org, "--to", tc.to)
					if r.code != 1 || r.stdout != "" || r.stderr != "muster org transfer: "+tc.want+"\n" {
						t.Fatalf("exit %d\nstdout %q\nstderr %q\nwant   %q", r.code, r.stdout, r.stderr, tc.want)
					}
					if after := f.roles(t); fmt.Sprint(after) != fmt.Sprint(before) {
						t.Fatalf("a refused transfer changed users:\n%v\nwas\n%v", after, before)
					}
					if events := f.transfers(t); len(events) != 0 {
						t.Fatalf("a refused transfer was audited: %v", events)
					}
				})
			}

			t.Run("OK", func(t *testing.T) {
				r := run(t, "org", "transfer", "--db", f.dbURL, "--org", "acme corp", "--to", "ADAM@example.com")
				want := fmt.Sprintf("Ownership of Acme Corp (id %d) moved from Olive Owner <olive@example.com> to "+
					"Adam Doe <adam@example.com>; Olive Owner is now an Admin.\n", f.orgID)
				if r.code != 0 || r.stdout != want || r.stderr != "" {
					t.Fatalf("exit %d\nstdout %q\nwant   %q\nstderr %q", r.code, r.stdout, want, r.stderr)
				}
				roles := f.roles(t)
				if roles["adam@example.com"] != "owner active" || roles["olive@example.com"] != "admin pending" {
					t.Fatalf("after the transfer: %v", roles)
				}
				if events := f.transfers(t); fmt.Sprint(events) != "[cli: olive@example.com → adam@example.com]" {
					t.Fatalf("audit events: %v", events)
				}
			})
		})
	}
}

func TestOrgTransferUsage(t *testing.T) {
	clearEnv(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--org", "1"}, "--to: give the email"},
		{[]string{"--to", "a@example.com"}, "--org: name the organization"},
		{[]string{"--org", "0", "--to", "a@example.com"}, "--org: 0 is not an organization's id"},
	} {
		r := run(t, append([]string{"org", "transfer", "--db", filepath.Join(t.TempDir(), "m.db")}, tc.args...)...)
		if r.code != 1 || !strings.HasPrefix(r.stderr, "muster org transfer: "+tc.want) ||
			!strings.Contains(r.stderr, "Run 'muster org transfer --help' for usage.") {
			t.Fatalf("%v: exit %d, stderr %q", tc.args, r.code, r.stderr)
		}
	}
	r := run(t, "org", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "Usage: muster org update|transfer") {
		t.Fatalf("org --help: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
	r = run(t, "help", "org", "transfer")
	if r.code != 0 || !strings.Contains(r.stdout, "Usage: muster org transfer --org ID|NAME --to EMAIL") ||
		!strings.Contains(r.stdout, "--to EMAIL") || !strings.Contains(r.stdout, "MUSTER_DATABASE_URL") {
		t.Fatalf("help org transfer: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
}

// TestOrgByName names the organization by its name in every operator
// command, and refuses a name two organizations share.
func TestOrgByName(t *testing.T) {
	clearEnv(t)
	for name, newDB := range databases(t) {
		t.Run(name, func(t *testing.T) {
			dbURL := newDB(t)
			acme := newOrg(t, dbURL, "Acme Corp", "olive@example.com")
			twin1 := newOrg(t, dbURL, "Twin", "tess@example.com")
			twin2 := newOrg(t, dbURL, "TWIN", "tom@example.com")

			r := run(t, "org", "update", "--db", dbURL, "--org", "  ACME corp ", "--licenses", "60")
			if r.code != 0 || !strings.HasPrefix(r.stdout, fmt.Sprintf("Acme Corp (id %d): 1 of 60 licenses", acme.orgID)) {
				t.Fatalf("org update by name: exit %d %q %q", r.code, r.stdout, r.stderr)
			}
			r = run(t, "users", "export", "--db", dbURL, "--org", "acme corp")
			if r.code != 0 || !strings.Contains(r.stdout, "olive@example.com") || strings.Contains(r.stdout, "tess@") {
				t.Fatalf("users export by name: exit %d %q %q", r.code, r.stdout, r.stderr)
			}
			r = run(t, "users", "export", "--db", dbURL, "--org", "twin")
			want := fmt.Sprintf("muster users export: --org: 2 organizations are named \"twin\": ids %d, %d. "+
				"Give --org the id of the one you mean.\n", twin1.orgID, twin2.orgID)
			if r.code != 1 || r.stdout != "" || r.stderr != want {
				t.Fatalf("ambiguous name: exit %d\nstderr %q\nwant   %q", r.code, r.stderr, want)
			}
			r = run(t, "users", "export", "--db", dbURL, "--org", strconv.FormatInt(twin2.orgID, 10))
			if r.code != 0 || !strings.Contains(r.stdout, "tom@example.com") {
				t.Fatalf("users export by id: exit %d %q %q", r.code, r.stdout, r.stderr)
			}
		})
	}
}

// TestOrgNotFound says which database lacks the organization, without a
// PostgreSQL password.
func TestOrgNotFound(t *testing.T) {
	clearEnv(t)
	t.Run("sqlite", func(t *testing.T) {
		dbURL := filepath.Join(t.TempDir(), "muster.db")
		newOrg(t, dbURL, "Acme Corp", "olive@example.com")
		for org, what := range map[string]string{"999": "no organization with id 999", "Acme": `no organization named "Acme"`} {
			r := run(t, "org", "update", "--db", dbURL, "--org", org, "--licenses", "60")
			want := "muster org update: there is " + what + " in the database " + dbURL + " (from --db).\n" +
				"muster init printed the organization's id, and the console shows it on Settings → Organization.\n"
			if r.code != 1 || r.stdout != "" || r.stderr != want {
				t.Fatalf("exit %d\nstderr %q\nwant   %q", r.code, r.stderr, want)
			}
		}
	})
	t.Run("postgres", func(t *testing.T) {
		u, err := url.Parse(storetest.PostgresSchema(t))
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword(u.User.Username(), "s3cret-pw")
		t.Setenv("MUSTER_DATABASE_URL", u.String())
		// An empty database: migrated, with no organization.
		if r := run(t, "migrate"); r.code != 0 {
			t.Fatalf("migrate: %d %s", r.code, r.stderr)
		}
		r := run(t, "users", "export", "--org", "1")
		if r.code != 1 || strings.Contains(r.stderr, "s3cret-pw") ||
			!strings.Contains(r.stderr, "there is no organization with id 1 in the database postgres://") ||
			!strings.Contains(r.stderr, ":xxxxx@") || !strings.Contains(r.stderr, "(from MUSTER_DATABASE_URL).\n") ||
			!strings.Contains(r.stderr, "It has no organization at all: is it the database 'muster serve' uses?") {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
}

// TestOperatorNeedsDatabase runs every operator command where there is no
// database: each refuses, says where it looked and why there, and creates
// nothing.
func TestOperatorNeedsDatabase(t *testing.T) {
	clearEnv(t)
	commands := [][]string{
		{"users", "export", "--org", "1"},
		{"token", "create", "--org", "1", "--user", "olive@example.com", "--name", "HR sync"},
		{"org", "update", "--org", "Acme Corp", "--licenses", "60"},
		{"org", "transfer", "--org", "1", "--to", "adam@example.com"},
	}
	dir := t.TempDir()
	t.Chdir(dir)
	for _, args := range commands {
		name := strings.Join(args[:2], " ")
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			r := run(t, args...)
			want := "muster " + name + ": there is no database at " + filepath.Join(dir, "muster-data", "muster.db") +
				" (the default, muster-data/muster.db in the current directory).\n" +
				"Run the command in the directory where you ran 'muster serve' or 'muster init', or give the\n" +
				"database's path with --db (or MUSTER_DATABASE_URL). Only init, migrate and serve create a database.\n"
			if r.code != 1 || r.stdout != "" || r.stderr != want {
				t.Fatalf("exit %d\nstderr %q\nwant   %q", r.code, r.stderr, want)
			}

			missing := filepath.Join(dir, "elsewhere", "m.db")
			r = run(t, append(args, "--db", missing)...)
			if r.code != 1 || !strings.Contains(r.stderr, "there is no database at "+missing+" (from --db).\n"+
				"Check the path: give --db the database 'muster serve' or 'muster init' uses.") {
				t.Fatalf("--db: exit %d, stderr %q", r.code, r.stderr)
			}

			t.Setenv("MUSTER_DATABASE_URL", "sqlite:"+missing)
			r = run(t, args...)
			if r.code != 1 || !strings.Contains(r.stderr, "there is no database at "+missing+" (from MUSTER_DATABASE_URL).\n"+
				"Check MUSTER_DATABASE_URL,") {
				t.Fatalf("MUSTER_DATABASE_URL: exit %d, stderr %q", r.code, r.stderr)
			}

			if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
				t.Fatalf("the command left %v in the directory (%v)", entries, err)
			}
		})
	}
}
