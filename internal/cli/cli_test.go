package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/muster-app/muster/internal/cli"
	"github.com/muster-app/muster/internal/config"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/store"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

const baseURL = "https://muster.example.com"

// clearEnv keeps the developer's MUSTER_* settings out of the test.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, o := range config.Options() {
		t.Setenv(o.Env, "")
	}
}

type result struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := cli.Run(context.Background(), args, &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

// databases returns a fresh database URL per dialect: a SQLite file and a
// PostgreSQL schema.
func databases(t *testing.T) map[string]func(t *testing.T) string {
	return map[string]func(t *testing.T) string{
		"sqlite":   func(t *testing.T) string { return filepath.Join(t.TempDir(), "muster.db") },
		"postgres": func(t *testing.T) string { return storetest.PostgresSchema(t) },
	}
}

// orgCount counts the organizations in the database; a SQLite file that
// does not exist has none.
func orgCount(t *testing.T, dbURL string) int {
	t.Helper()
	if !store.IsPostgres(dbURL) {
		if _, err := os.Stat(dbURL); os.IsNotExist(err) {
			return 0
		}
	}
	db, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	err = db.View(context.Background(), func(tx muster.Tx) error {
		n, err = tx.CountOrgs(context.Background())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func initArgs(dbURL, email string, extra ...string) []string {
	return append([]string{"init", "--db", dbURL, "--base-url", baseURL, "--org", "Acme Corp",
		"--owner-email", email, "--owner-first-name", "Olive", "--owner-last-name", "Owner", "--licenses", "50"}, extra...)
}

func TestInit(t *testing.T) {
	clearEnv(t)
	for name, newDB := range databases(t) {
		t.Run(name, func(t *testing.T) {
			dbURL := newDB(t)
			r := run(t, initArgs(dbURL, "olive@example.com", "--json")...)
			if r.code != 0 {
				t.Fatalf("init: exit %d\n%s", r.code, r.stderr)
			}
			var out struct {
				OrgID    int64  `json:"org_id"`
				OwnerID  int64  `json:"owner_id"`
				SetupURL string `json:"setup_url"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, r.stdout)
			}
			if out.OrgID == 0 || out.OwnerID == 0 || !strings.HasPrefix(out.SetupURL, baseURL+"/invitations/") {
				t.Fatalf("output = %+v; want ids and a link under %s", out, baseURL)
			}
			if n := orgCount(t, dbURL); n != 1 {
				t.Fatalf("%d orgs; want 1", n)
			}

			t.Run("ErrEmailTaken", func(t *testing.T) {
				r := run(t, initArgs(dbURL, "OLIVE@example.com", "--json")...)
				if r.code != 1 {
					t.Fatalf("second init: exit %d; want 1\n%s", r.code, r.stdout)
				}
				if want := "--owner-email: Another organization already has a user with this email."; !strings.Contains(r.stderr, want) {
					t.Fatalf("stderr = %q; want %q", r.stderr, want)
				}
				if r.stdout != "" {
					t.Fatalf("stdout = %q; want nothing", r.stdout)
				}
				if n := orgCount(t, dbURL); n != 1 {
					t.Fatalf("%d orgs after a refused init; want 1", n)
				}
			})
		})
	}
}

func TestInitText(t *testing.T) {
	clearEnv(t)
	dbURL := filepath.Join(t.TempDir(), "muster.db")
	r := run(t, initArgs(dbURL, "olive@example.com", "--region", "eu", "--invitation-ttl", "72h")...)
	if r.code != 0 {
		t.Fatalf("init: exit %d\n%s", r.code, r.stderr)
	}
	for _, want := range []string{`"Acme Corp"`, "region eu", "50 licenses", "Olive Owner <olive@example.com>",
		"\n  " + baseURL + "/invitations/", "expires in 3 days"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
}

func TestInitBaseURLFromEnv(t *testing.T) {
	clearEnv(t)
	t.Setenv("MUSTER_BASE_URL", "https://env.example.com/")
	dbURL := filepath.Join(t.TempDir(), "muster.db")
	args := initArgs(dbURL, "olive@example.com", "--json")
	args = append(args[:3], args[5:]...) // drop --base-url
	r := run(t, args...)
	if r.code != 0 || !strings.Contains(r.stdout, `"setup_url":"https://env.example.com/invitations/`) {
		t.Fatalf("exit %d, stdout %s, stderr %s", r.code, r.stdout, r.stderr)
	}
}

func TestInitRefused(t *testing.T) {
	clearEnv(t)
	for name, tc := range map[string]struct {
		edit func(args []string) []string
		want []string
	}{
		"ErrLicensesZero": {edit: set("--licenses", "0"),
			want: []string{"--licenses: The license total must be a whole number from 1 to 10000000."}},
		"ErrLicensesNotANumber": {edit: set("--licenses", "ten"), want: []string{`--licenses: "ten" is not a whole number`}},
		"ErrOrgMissing":         {edit: drop("--org"), want: []string{"--org: Organization name is required."}},
		"ErrSeveral": {edit: func(a []string) []string { return set("--owner-email", "nope")(drop("--owner-first-name")(a)) },
			want: []string{"--owner-email: Enter an email address like name@example.com.", "--owner-first-name: First name is required."}},
		"ErrRegion":      {edit: func(a []string) []string { return append(a, "--region", "Europe") }, want: []string{"--region (MUSTER_REGION)", "region code"}},
		"ErrUnknownFlag": {edit: func(a []string) []string { return append(a, "--owner", "x") }, want: []string{"flag provided but not defined: --owner"}},
		"ErrExtraArg":    {edit: func(a []string) []string { return append(a, "extra") }, want: []string{`unexpected argument "extra"`}},
		"ErrNoValue":     {edit: func(a []string) []string { return append(a, "--org") }, want: []string{"flag needs an argument"}},
	} {
		t.Run(name, func(t *testing.T) {
			dbURL := filepath.Join(t.TempDir(), "muster.db")
			r := run(t, tc.edit(initArgs(dbURL, "olive@example.com"))...)
			if r.code != 1 {
				t.Fatalf("exit %d; want 1\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
			}
			for _, want := range tc.want {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
				}
			}
			if !strings.HasPrefix(r.stderr, "muster init: ") {
				t.Errorf("stderr does not start with the command's name:\n%s", r.stderr)
			}
			if r.stdout != "" {
				t.Errorf("stdout = %q; want nothing", r.stdout)
			}
			if n := orgCount(t, dbURL); n != 0 {
				t.Fatalf("%d orgs; want none", n)
			}
		})
	}
}

// set replaces the value of flag in args.
func set(flag, value string) func([]string) []string {
	return func(args []string) []string {
		out := append([]string(nil), args...)
		for i := range out {
			if out[i] == flag {
				out[i+1] = value
			}
		}
		return out
	}
}

// drop removes flag and its value from args.
func drop(flag string) func([]string) []string {
	return func(args []string) []string {
		var out []string
		for i := 0; i < len(args); i++ {
			if args[i] == flag {
				i++
				continue
			}
			out = append(out, args[i])
		}
		return out
	}
}

func TestMigrate(t *testing.T) {
	clearEnv(t)
	for name, newDB := range databases(t) {
		t.Run(name, func(t *testing.T) {
			dbURL := newDB(t)
			r := run(t, "migrate", "--db", dbURL)
			if r.code != 0 {
				t.Fatalf("exit %d\n%s", r.code, r.stderr)
			}
			if !strings.Contains(r.stdout, "is at schema version ") || strings.Contains(r.stdout, "version 0.") {
				t.Fatalf("stdout = %q", r.stdout)
			}
			// Again: nothing to do, same answer.
			if r2 := run(t, "migrate", "--db", dbURL); r2.code != 0 || r2.stdout != r.stdout {
				t.Fatalf("second migrate: exit %d, %q; want %q", r2.code, r2.stdout, r.stdout)
			}
		})
	}
}

func TestMigrateRedactsPassword(t *testing.T) {
	clearEnv(t)
	u, err := url.Parse(storetest.PostgresSchema(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), "s3cret-pw")
	r := run(t, "migrate", "--db", u.String())
	if r.code != 0 {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	if strings.Contains(r.stdout+r.stderr, "s3cret-pw") || !strings.Contains(r.stdout, ":xxxxx@") {
		t.Fatalf("output shows the password or no redacted URL: %s", r.stdout)
	}
}

func TestHelp(t *testing.T) {
	clearEnv(t)
	for cmd, wants := range map[string][]string{
		"serve":   {"--addr", "MUSTER_ADDR", "--db", "MUSTER_DATABASE_URL", "--smtp", "MUSTER_SMTP_URL", "--regions", "MUSTER_REGIONS", "--invitation-ttl"},
		"init":    {"--org NAME", "--owner-email EMAIL", "--owner-first-name", "--owner-last-name", "--licenses N", "--json", "MUSTER_DATABASE_URL", "MUSTER_BASE_URL"},
		"migrate": {"--db", "MUSTER_DATABASE_URL"},
		"version": {"Usage: muster version"},
	} {
		for _, help := range []string{"--help", "-h"} {
			r := run(t, cmd, help)
			if r.code != 0 || r.stderr != "" {
				t.Fatalf("%s %s: exit %d, stderr %q", cmd, help, r.code, r.stderr)
			}
			for _, want := range append(wants, "Usage: muster "+cmd) {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("%s %s lacks %q:\n%s", cmd, help, want, r.stdout)
				}
			}
		}
	}
	if r := run(t, "help", "init"); r.code != 0 || !strings.Contains(r.stdout, "Usage: muster init") {
		t.Fatalf("help init: exit %d\n%s", r.code, r.stdout)
	}
	r := run(t, "--help")
	if r.code != 0 {
		t.Fatalf("--help: exit %d", r.code)
	}
	for _, cmd := range []string{"serve", "init", "migrate", "version"} {
		if !strings.Contains(r.stdout, "  "+cmd+" ") {
			t.Errorf("usage lacks %s:\n%s", cmd, r.stdout)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	clearEnv(t)
	if r := run(t); r.code != 1 || !strings.Contains(r.stderr, "Usage: muster <command>") {
		t.Fatalf("no args: exit %d, stderr %q", r.code, r.stderr)
	}
	if r := run(t, "frobnicate"); r.code != 1 || !strings.Contains(r.stderr, `unknown command "frobnicate"`) {
		t.Fatalf("unknown command: exit %d, stderr %q", r.code, r.stderr)
	}
	t.Setenv("MUSTER_ADDR", "nonsense")
	if r := run(t, "serve"); r.code != 1 || !strings.Contains(r.stderr, "--addr (MUSTER_ADDR)") {
		t.Fatalf("bad MUSTER_ADDR: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestVersion(t *testing.T) {
	r := run(t, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "muster ") || !strings.Contains(r.stdout, "go1.") {
		t.Fatalf("version: exit %d, %q", r.code, r.stdout)
	}
	old := cli.Version
	t.Cleanup(func() { cli.Version = old })
	cli.Version = "v9.8.7"
	if r := run(t, "version"); !strings.HasPrefix(r.stdout, "muster v9.8.7 ") {
		t.Fatalf("version with Version set: %q", r.stdout)
	}
}
