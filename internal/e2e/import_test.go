package e2e_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/mailtest"
	"github.com/muster-app/muster/internal/testsupport/storetest"
	"github.com/muster-app/muster/internal/web"
)

// importRows is the size of the file TestImportSurvivesSIGKILL commits:
// 3,000 rows in the test suite, which must stay fast on CI's two cores;
// MUSTER_E2E_IMPORT_ROWS=50000 is the run (docs/benchmarks.md).
func importRows(t *testing.T) int {
	if n, err := strconv.Atoi(os.Getenv("MUSTER_E2E_IMPORT_ROWS")); err == nil && n > 0 {
		return n
	}
	return 3_000
}

// TestImportSurvivesSIGKILL: a committed import of new people (50,000 with
// MUSTER_E2E_IMPORT_ROWS=50000) is
// running on a server that is killed with SIGKILL part way; a restarted
// server takes the import over once its lease ends and finishes it: every
// row applied once (each person invited once, no row failed, the seats in
// use exactly the Owner's and the file's) and one invitation email per
// person, delivered to the SMTP server.
func TestImportSurvivesSIGKILL(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			dbURL := filepath.Join(t.TempDir(), "muster.db")
			if dialect == "postgres" {
				dbURL = storetest.PostgresSchema(t)
			}
			testImportSurvivesSIGKILL(t, dbURL, importRows(t))
		})
	}
}

func testImportSurvivesSIGKILL(t *testing.T, dbURL string, rows int) {
	ctx := context.Background()
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := service.New(db, service.Config{BaseURL: "http://muster.test", Links: web.NewLinks("http://muster.test")})
	owner, _ := org(t, db, svc)
	if _, err := svc.SetLicenseTotal(owner, rows+10, 0); err != nil {
		t.Fatal(err)
	}
	var file strings.Builder
	file.WriteString("Email,First Name,Last Name,Primary Team\n")
	for i := range rows {
		fmt.Fprintf(&file, "crash%d@example.com,Crash,Row%d,Team %d\n", i, i, i%5)
	}
	planning := time.Now()
	plan, err := svc.PlanImport(owner, service.ImportInput{FileName: "crash.csv", File: strings.NewReader(file.String()), CreateTeams: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("dry run of %d rows: %v", rows, time.Since(planning))
	if _, err := svc.CommitImport(owner, plan.ID); err != nil {
		t.Fatal(err)
	}
	orgID := plan.OrgID
	before := seatsUsed(t, db, orgID)

	smtp := mailtest.Start(t)
	args := []string{"--db", dbURL, "--smtp", smtp.URL(), "--mail-from", "muster@example.com",
		"--mail-retry", "200ms", "--report-lease", "2s"}
	// Polled without a pause from the server's start (its import job runs
	// before it answers requests), to kill it as soon as batches show.
	first := start(t, args...)
	started := time.Now()
	for deadline := time.Now().Add(time.Minute); ; {
		if done := importProgress(t, db, orgID, plan.ID); done.RowsDone > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the import showed no progress within a minute")
		}
	}
	first.kill()
	stored := importProgress(t, db, orgID, plan.ID)
	if stored.Status != muster.ImportRunning || stored.RowsDone == 0 || stored.RowsDone >= rows {
		t.Fatalf("after the kill the import is %s with %d of %d rows; want it running part way (more rows?)",
			stored.Status, stored.RowsDone, rows)
	}
	t.Logf("killed the server with the import at %d of %d rows, after %v", stored.RowsDone, rows, time.Since(started))

	second := serve(t, args...)
	_ = second
	var done *service.ImportPlan
	for deadline := time.Now().Add(4 * time.Minute); ; time.Sleep(100 * time.Millisecond) {
		if done = importProgress(t, db, orgID, plan.ID); done.Status == muster.ImportDone || done.Status == muster.ImportFailed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restarted server left the import %s at %d of %d rows", done.Status, done.RowsDone, rows)
		}
	}
	t.Logf("the import finished %v after the first start (attempts %d)", time.Since(started), done.Attempts)
	want := service.ImportResult{Invited: rows, TeamsCreated: 5}
	if done.Status != muster.ImportDone || done.Result != want || done.RowsDone != rows {
		t.Fatalf("the import ended %s (%q) with %+v, %d rows; want done, %+v", done.Status, done.LastError, done.Result,
			done.RowsDone, want)
	}
	if done.Attempts < 2 {
		t.Fatalf("the import ran %d times; want the killed run and at least one more", done.Attempts)
	}
	if got := seatsUsed(t, db, orgID); got != before {
		t.Fatalf("%d seats in use after the import; want the %d taken at its commit, each used once", got, before)
	}

	// One invitation per person in the outbox, each delivered.
	perPerson := map[string]int{}
	var sent int
	for beforeID := int64(0); ; {
		var msgs []*muster.OutboxMessage
		err := db.View(ctx, func(tx muster.Tx) error {
			var err error
			msgs, err = tx.FindOutboxMessages(ctx, muster.OutboxFilter{OrgID: orgID, BeforeID: beforeID, Limit: 5000})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			if strings.HasPrefix(m.To, "crash") {
				perPerson[m.To]++
			}
		}
		beforeID = msgs[len(msgs)-1].ID
	}
	if len(perPerson) != rows {
		t.Fatalf("%d people have an invitation in the outbox; want %d", len(perPerson), rows)
	}
	for to, n := range perPerson {
		if n != 1 {
			t.Fatalf("%s has %d invitations; want one", to, n)
		}
	}
	// Every invitation reaches the SMTP server (the Owner's set-up email
	// too); each person's, once.
	distinct := map[string]map[string]bool{}
	for n := rows + 1; ; {
		received := smtp.WaitFor(t, n, 4*time.Minute)
		clear(distinct)
		sent = 0
		for _, m := range received {
			if len(m.To) == 1 && strings.HasPrefix(m.To[0], "crash") {
				if distinct[m.To[0]] == nil {
					distinct[m.To[0]] = map[string]bool{}
				}
				distinct[m.To[0]][m.MessageID] = true
				sent++
			}
		}
		if len(distinct) == rows {
			break
		}
		n = len(received) + rows - len(distinct)
	}
	for to, ids := range distinct {
		if len(ids) != 1 {
			t.Fatalf("%s received %d different invitations; want one", to, len(ids))
		}
	}
	if len(distinct) != rows {
		t.Fatalf("%d people received an invitation; want %d", len(distinct), rows)
	}
	// A message the killed server sent but had not recorded as sent goes
	// again, with its Message-ID: the same invitation, at least once.
	t.Logf("%d deliveries for %d invitations", sent, rows)
}

// importProgress reads the import as its owner's console would.
func importProgress(t *testing.T, db *sqlstore.DB, orgID, id int64) *service.ImportPlan {
	t.Helper()
	svc := service.New(db, service.Config{BaseURL: "http://muster.test", Links: web.NewLinks("http://muster.test")})
	p, err := svc.FindImport(muster.NewContext(context.Background(), muster.Principal{OrgID: orgID, Origin: "test"}), id, false)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
