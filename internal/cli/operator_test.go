package cli_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store"
	"github.com/muster-app/muster/internal/web"
)

func TestOperatorCommands(t *testing.T) {
	clearEnv(t)
	dbURL := filepath.Join(t.TempDir(), "muster.db")
	r := run(t, initArgs(dbURL, "olive@example.com", "--json")...)
	if r.code != 0 {
		t.Fatalf("init: %d %s", r.code, r.stderr)
	}
	var created struct {
		OrgID    int64  `json:"org_id"`
		SetupURL string `json:"setup_url"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &created); err != nil {
		t.Fatal(err)
	}
	org := strconv.FormatInt(created.OrgID, 10)

	// The Owner is Pending: no token can act as them yet.
	r = run(t, "token", "create", "--db", dbURL, "--org", org, "--user", "olive@example.com", "--name", "HR sync")
	if r.code != 1 || !strings.Contains(r.stderr, "no Active user") {
		t.Fatalf("token for a Pending Owner: %d %q", r.code, r.stderr)
	}
	db, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := service.New(db, service.Config{BaseURL: baseURL, Links: web.NewLinks(baseURL)})
	token := created.SetupURL[strings.LastIndex(created.SetupURL, "/")+1:]
	if _, err := svc.AcceptInvitation(context.Background(), token, "a long enough secret", service.Client{Origin: "test"}); err != nil {
		t.Fatal(err)
	}

	r = run(t, "token", "create", "--db", dbURL, "--org", org, "--user", "OLIVE@example.com", "--name", "HR sync")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "mst_") {
		t.Fatalf("token create: %d %q %q", r.code, r.stdout, r.stderr)
	}
	p, err := svc.AuthenticateAPIToken(context.Background(), strings.TrimSpace(r.stdout))
	if err != nil || p.OrgID != created.OrgID {
		t.Fatalf("the printed token does not authenticate: %+v %v", p, err)
	}

	r = run(t, "org", "update", "--db", dbURL, "--org", org, "--email-at-scale", "true", "--licenses", "60")
	if r.code != 0 || !strings.Contains(r.stdout, "1 of 60 licenses in use; Email at Scale on") {
		t.Fatalf("org update: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = run(t, "org", "update", "--db", dbURL, "--org", org, "--licenses", "0")
	if r.code != 1 || !strings.Contains(r.stderr, "--licenses: The license total must be a whole number from 1") {
		t.Fatalf("org update to 0 licenses: %d %q", r.code, r.stderr)
	}

	r = run(t, "users", "export", "--db", dbURL, "--org", org)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "\uFEFFFirst Name,Last Name,Email") ||
		!strings.Contains(r.stdout, "Olive,Owner,olive@example.com,Owner,Active,Default Team") {
		t.Fatalf("users export: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = run(t, "users", "export", "--db", dbURL, "--org", "999")
	if r.code != 1 || !strings.Contains(r.stderr, "no organization with id 999 in the database "+dbURL) {
		t.Fatalf("export of an unknown org: %d %q", r.code, r.stderr)
	}
	r = run(t, "users", "delete", "--db", dbURL)
	if r.code != 1 || !strings.Contains(r.stderr, `unknown action "delete"`) {
		t.Fatalf("unknown action: %d %q", r.code, r.stderr)
	}
}

// TestOrgUpdateRefusedChangesNothing: org update that exits 1 because one of
// its values is refused leaves the other setting as it was too.
func TestOrgUpdateRefusedChangesNothing(t *testing.T) {
	clearEnv(t)
	dbURL := filepath.Join(t.TempDir(), "muster.db")
	if r := run(t, initArgs(dbURL, "olive@example.com")...); r.code != 0 {
		t.Fatalf("init: %d %s", r.code, r.stderr)
	}
	for _, licenses := range []string{"abc", "0"} {
		r := run(t, "org", "update", "--db", dbURL, "--org", "Acme Corp", "--email-at-scale", "true", "--licenses", licenses)
		if r.code != 1 {
			t.Fatalf("org update --licenses %s: %d %q %q; want it refused", licenses, r.code, r.stdout, r.stderr)
		}
		r = run(t, "org", "update", "--db", dbURL, "--org", "Acme Corp", "--licenses", "50")
		if r.code != 0 || !strings.Contains(r.stdout, "Email at Scale off") {
			t.Fatalf("after a refused org update --email-at-scale true --licenses %s: %q %q; want Email at Scale still off",
				licenses, r.stdout, r.stderr)
		}
	}
}
