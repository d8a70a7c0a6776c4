package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestUsersImport: the dry run prints the plan as a table and exits 1 for
// a file with an error, which is not committed either without --dry-run;
// the fixed file is committed and applied, with its result; --json prints
// what the API answers.
func TestUsersImport(t *testing.T) {
	clearEnv(t)
	dir := t.TempDir()
	dbURL := filepath.Join(dir, "muster.db")
	r := run(t, initArgs(dbURL, "olive@example.com", "--json")...)
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
	file := filepath.Join(dir, "users.csv")
	write := func(text string) {
		if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Email;First Name;Last Name;Primary Team\nana@example.com;Ana;A;Research\nbad;Bo;B;\n")
	r = run(t, "users", "import", "--db", dbURL, "--org", org, "--file", file, "--dry-run")
	if r.code != 1 || !strings.Contains(r.stdout, "3    error   bad") || !strings.Contains(r.stdout, "2 rows: 0 invite") ||
		!strings.Contains(r.stderr, "2 rows have errors") {
		t.Fatalf("dry run with errors: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// Without --dry-run, the file with errors is refused as the dry run
	// words it (the commit below then invites both: nothing went in).
	r = run(t, "users", "import", "--db", dbURL, "--org", org, "--file", file, "--create-teams")
	if r.code != 1 || !strings.Contains(r.stdout, "3    error   bad") ||
		!strings.Contains(r.stderr, "nothing was imported: 1 row has errors") {
		t.Fatalf("import with errors: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// A cell's escape sequence is not played on the operator's terminal.
	write("Email;First Name;Last Name\nbad\x1b[2Jx\a;Bo;B\n")
	r = run(t, "users", "import", "--db", dbURL, "--org", org, "--file", file, "--dry-run")
	if r.code != 1 || strings.ContainsAny(r.stdout, "\x1b\a") || !strings.Contains(r.stdout, "error   bad [2Jx ") {
		t.Fatalf("dry run of an email holding escape sequences: %d\n%q\n%s", r.code, r.stdout, r.stderr)
	}
	write("Email;First Name;Last Name;Primary Team\nana@example.com;Ana;A;Research\nbo@example.com;Bo;B;\n")
	r = run(t, "users", "import", "--db", dbURL, "--org", org, "--file", file, "--dry-run", "--create-teams")
	if r.code != 0 || !strings.Contains(r.stdout, "2    invite  ana@example.com  Invite as Basic User in Research") {
		t.Fatalf("dry run: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, "users", "import", "--db", dbURL, "--org", org, "--file", file, "--create-teams")
	if r.code != 0 || !strings.Contains(r.stdout, "done: 2 invited, 0 invited again, 0 updated, 0 unchanged, 0 failed, 1 teams created") {
		t.Fatalf("import: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, "users", "import", "--db", dbURL, "--org", org, "--file", file, "--json")
	var out struct {
		Status string
		Counts struct{ Unchanged int }
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); r.code != 0 || err != nil || out.Counts.Unchanged != 2 {
		t.Fatalf("again, --json: %d %v\n%s\n%s", r.code, err, r.stdout, r.stderr)
	}
}
