package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/testsupport/browsertest"
)

// TestBrowserImport follows Import users as an Owner, with JavaScript and
// without: a file with an error is refused with the row and column named;
// its error CSV is downloaded, fixed and uploaded again; the dry run's
// summary and rows are shown; Commit shows the progress, and once the job
// has run, the result. Screenshots at desktop and phone widths.
func TestBrowserImport(t *testing.T) {
	withAndWithoutJS(t, func(t *testing.T, b *browsertest.Tab, js bool) {
		s := newSite(t)
		owner, c := s.createOrg("Acme", "Olive", "Owner", "olive@example.com", ownerPassword)
		ownerCtx := muster.NewContext(context.Background(), muster.Principal{UserID: owner.ID, OrgID: owner.OrgID, Origin: "test"})
		b.SignIn(s.srv.URL, "olive@example.com", ownerPassword)
		b.Open("users", s.srv.URL+"/settings/roles-access")
		b.Click("import users", byButton("Import users"))
		b.Sees("the upload page", "Import users", "Download a template", "at most 100,000 rows and 20 MB")

		dir := t.TempDir()
		file := filepath.Join(dir, "people.csv")
		write := func(text string) {
			if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write("Email;First Name;Last Name;Role;Primary Team\r\n" +
			"ada@example.com;Ada;Lovelace;Manager;Research\r\n" +
			"grace@example;Grace;Hopper;;\r\n")
		b.Do("choose the file", chromedp.SetUploadFiles(byLabel("CSV file"), []string{file}))
		b.Do("create teams", chromedp.Click(browsertest.ByCheckbox("Create the teams the file names that do not exist yet, when I commit")))
		b.Click("dry run with an error", byButton("Upload and check"))
		b.Sees("the dry run", "Check the import of people.csv", "1 Invite", "1 Errors", "This file can't be committed yet.",
			"1 row has errors", "Email: Enter an email address like name@example.com.", "Teams that do not exist yet: Research")
		b.SeesNot("no commit with errors", "Commit: import")

		// The error CSV, as the browser downloads it (with the Owner's
		// session), fixed in a "spreadsheet" and uploaded again.
		href := b.Href("Download the error CSV")
		res := c.get(href)
		if res.StatusCode != 200 || !strings.Contains(res.body, "grace@example;Grace;Hopper") && !strings.Contains(res.body, "grace@example,Grace,Hopper") {
			t.Fatalf("error CSV: %d %s", res.StatusCode, res.body)
		}
		if !strings.Contains(res.body, "Email: Enter an email address like name@example.com.") {
			t.Fatalf("error CSV without the error: %s", res.body)
		}
		write(strings.Replace(res.body, "grace@example,", "grace@example.com,", 1))

		b.Click("upload again", byButton("Upload a fixed file"))
		b.Do("choose the fixed file", chromedp.SetUploadFiles(byLabel("CSV file"), []string{file}))
		b.Do("create teams", chromedp.Click(browsertest.ByCheckbox("Create the teams the file names that do not exist yet, when I commit")))
		b.Click("dry run", byButton("Upload and check"))
		b.Sees("a clean dry run", "2 Invite", "0 Errors", "Seats: this file needs 2", "They will be created when you commit.",
			"Invite as Manager in Research")
		if !js {
			b.Viewport(390, 844, true)
			b.Screenshot("dry run at phone width")
			b.Viewport(1280, 900, false)
		}
		b.Click("commit", byButton("Commit: import 2 rows"))
		b.Sees("the progress", "Importing people.csv…", "0 of 2 rows done.")

		ran, err := s.svc.RunNextImport(context.Background())
		if err != nil || !ran {
			t.Fatalf("RunNextImport: %v %v", ran, err)
		}
		// The page moves on by itself: polled with JavaScript, refreshed
		// every two seconds without.
		b.Do("wait for the result", chromedp.WaitVisible(chromedp.Search(`//h1[starts-with(normalize-space(.), "Import done")]`)))
		b.Screenshot("result")
		b.Sees("the result", "Import done: people.csv", "2 Invited", "0 Failed", "1 team was created.")
		if !js {
			b.Viewport(390, 844, true)
			b.Screenshot("result at phone width")
		}
		u, err := s.svc.FindUserByEmail(ownerCtx, "grace@example.com")
		if err != nil || u.LastName != "Hopper" {
			t.Fatalf("grace: %+v %v", u, err)
		}
		s.deliver("ada@example.com")
	})
}
