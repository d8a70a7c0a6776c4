package cli_test

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store"
	"github.com/muster-app/muster/internal/web"
)

// TestSCIMTokenCreate: muster scim-token create prints a SCIM token once
// (with --json, and the SCIM base URL beside it) that authenticates on SCIM
// for the organization, on both databases; a missing name is refused,
// naming the flag, and creates nothing.
func TestSCIMTokenCreate(t *testing.T) {
	clearEnv(t)
	help := run(t, "scim-token", "create", "--help")
	for _, want := range []string{"Usage: muster scim-token create", "--org ID|NAME", "--name NAME", "--json", "/scim/v2",
		"MUSTER_DATABASE_URL", "MUSTER_BASE_URL"} {
		if help.code != 0 || !strings.Contains(help.stdout, want) {
			t.Fatalf("scim-token create --help lacks %q: %d\n%s", want, help.code, help.stdout)
		}
	}
	for name, newDB := range databases(t) {
		t.Run(name, func(t *testing.T) {
			dbURL := newDB(t)
			r := run(t, initArgs(dbURL, "olive."+name+"@example.com", "--json")...)
			if r.code != 0 {
				t.Fatalf("init: %d %s", r.code, r.stderr)
			}
			var created struct {
				OrgID int64 `json:"org_id"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &created); err != nil {
				t.Fatal(err)
			}
			org := strconv.FormatInt(created.OrgID, 10)

			r = run(t, "scim-token", "create", "--db", dbURL, "--org", org, "--name", "Okta", "--base-url", baseURL, "--json")
			var out struct {
				Token   string `json:"token"`
				BaseURL string `json:"base_url"`
			}
			if r.code != 0 || json.Unmarshal([]byte(r.stdout), &out) != nil || !strings.HasPrefix(out.Token, "mscim_") ||
				out.BaseURL != baseURL+"/scim/v2" {
				t.Fatalf("scim-token create --json: %d %q %q", r.code, r.stdout, r.stderr)
			}
			r = run(t, "scim-token", "create", "--db", dbURL, "--org", "Acme Corp", "--name", "Entra ID")
			plain := strings.TrimSpace(r.stdout)
			if r.code != 0 || !strings.HasPrefix(plain, "mscim_") || strings.Contains(plain, "\n") ||
				!strings.Contains(r.stderr, "SCIM base URL: http://127.0.0.1:8080/scim/v2") {
				t.Fatalf("scim-token create: %d %q %q", r.code, r.stdout, r.stderr)
			}

			db, err := store.Open(context.Background(), dbURL)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			svc := service.New(db, service.Config{BaseURL: baseURL, Links: web.NewLinks(baseURL)})
			for _, secret := range []string{out.Token, plain} {
				tok, err := svc.AuthenticateSCIMToken(context.Background(), secret)
				if err != nil || tok.OrgID != created.OrgID || tok.CreatedBy != "Operator" {
					t.Fatalf("the printed token: %+v, %v", tok, err)
				}
			}

			r = run(t, "scim-token", "create", "--db", dbURL, "--org", org, "--name", " ")
			if r.code != 1 || !strings.Contains(r.stderr, "--name: Token name is required.") {
				t.Fatalf("a blank name: %d %q", r.code, r.stderr)
			}
		})
	}
}
