package e2e_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/benchseed"
	"github.com/muster-app/muster/internal/testsupport/mailtest"
	"github.com/muster-app/muster/internal/testsupport/storetest"
	"github.com/muster-app/muster/internal/web"
)

// reportUsers is the size of the org whose user list is interrupted: large
// enough that the report is still running some batches after its first
// progress shows (1,000 users a batch).
const reportUsers = 50_000

// TestReportSurvivesSIGKILL: an Owner asks for the user list through the
// API; once the report shows progress the server is killed with SIGKILL.
// A restarted server takes the report over when its lease runs out and
// finishes it: exactly one email arrives, and its link serves the whole
// list, one row per user (AUD-1, AUD-5).
func TestReportSurvivesSIGKILL(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			var dbURL string
			switch dialect {
			case "sqlite":
				dbURL = filepath.Join(t.TempDir(), "muster.db")
				if err := benchseed.SQLite(ctx, dbURL, reportUsers); err != nil {
					t.Fatal(err)
				}
			case "postgres":
				dbURL = storetest.PostgresSchema(t)
				if err := benchseed.Postgres(ctx, dbURL, reportUsers); err != nil {
					t.Fatal(err)
				}
			}
			db, err := store.Open(ctx, dbURL)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			testReportSurvivesSIGKILL(t, db, dbURL)
		})
	}
}

func testReportSurvivesSIGKILL(t *testing.T, db *sqlstore.DB, dbURL string) {
	ctx := context.Background()
	ownerCtx, owner, err := benchseed.Owner(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	token, err := service.New(db, service.Config{BaseURL: "http://muster.test", Links: web.NewLinks("http://muster.test")}).CreateAPIToken(ownerCtx, "e2e reports", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	smtp := mailtest.Start(t)
	args := []string{"--db", dbURL, "--smtp", smtp.URL(), "--mail-from", "muster@example.com",
		"--mail-retry", "200ms", "--report-lease", "2s"}

	first := serve(t, args...)
	api := &reportClient{t: t, token: token.Secret}
	rep := api.do("POST", first.URL+"/api/v1/reports", http.StatusAccepted)
	// Polled without a pause, to kill the server as soon as progress shows.
	for deadline := time.Now().Add(time.Minute); rep.RowsWritten == 0 && rep.Status != "done" && rep.Status != "failed"; {
		if time.Now().After(deadline) {
			t.Fatalf("the report showed no progress within a minute: %+v", rep)
		}
		rep = api.do("GET", fmt.Sprintf("%s/api/v1/reports/%d", first.URL, rep.ID), http.StatusOK)
	}
	first.kill()

	// The kill must have cut the report short, or this test proves nothing.
	stored := findReport(t, db, owner.OrgID, rep.ID)
	if stored.Status != muster.ReportRunning || stored.RowsWritten == 0 || stored.RowsWritten >= reportUsers {
		t.Fatalf("after the kill the report is %s with %d of %d rows; want it running part way (seed more users?)",
			stored.Status, stored.RowsWritten, reportUsers)
	}
	t.Logf("killed the server with the report at %d of %d rows", stored.RowsWritten, reportUsers)
	if n := len(reportEmails(smtp, owner.Email)); n != 0 {
		t.Fatalf("%d report emails arrived before the report finished", n)
	}

	second := serve(t, args...)
	deadline := time.Now().Add(3 * time.Minute)
	for rep.Status != "done" {
		if rep.Status == "failed" || time.Now().After(deadline) {
			t.Fatalf("the restarted server left the report %s with %d of %d rows", rep.Status, rep.RowsWritten, rep.RowsTotal)
		}
		time.Sleep(50 * time.Millisecond)
		rep = api.do("GET", fmt.Sprintf("%s/api/v1/reports/%d", second.URL, rep.ID), http.StatusOK)
	}
	if rep.RowsWritten != reportUsers || rep.RowsTotal != reportUsers {
		t.Fatalf("the finished report has %d of %d rows; want %d", rep.RowsWritten, rep.RowsTotal, reportUsers)
	}
	if stored := findReport(t, db, owner.OrgID, rep.ID); stored.Attempts != 2 {
		t.Fatalf("the report ran %d times; want the killed run and one more", stored.Attempts)
	}

	// Every committed email goes out, then count: the report's email arrived once.
	waitOutbox(t, db, owner.OrgID, "every email sent", allSent)
	emails := reportEmails(smtp, owner.Email)
	if len(emails) != 1 {
		t.Fatalf("%d report emails arrived; want exactly one", len(emails))
	}
	link := emails[0].Link("/reports/")
	if !strings.HasPrefix(link, second.URL+"/") {
		t.Fatalf("the email links to %q; want the report on %s", link, second.URL)
	}

	person := browser(t)
	res, err := person.PostForm(second.URL+"/signin", url.Values{"email": {owner.Email}, "password": {benchseed.OwnerPassword}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the Owner's sign-in: %d", res.StatusCode)
	}
	status, _, body := get(t, person, link)
	if status != http.StatusOK {
		t.Fatalf("the report link answered %d", status)
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\uFEFF"))).ReadAll()
	if err != nil {
		t.Fatalf("the report is not CSV: %v", err)
	}
	if len(rows) != reportUsers+1 || rows[0][2] != "Email" {
		t.Fatalf("the report has %d rows, header %q; want a header and %d users", len(rows), rows[0], reportUsers)
	}
	emailsSeen := map[string]bool{}
	for _, r := range rows[1:] {
		emailsSeen[r[2]] = true
	}
	if len(emailsSeen) != reportUsers || !emailsSeen[owner.Email] {
		t.Fatalf("the report lists %d distinct emails (the Owner's: %v); want every user once", len(emailsSeen),
			emailsSeen[owner.Email])
	}
}

// reportJSON is the API's report resource, as far as the test reads it.
type reportJSON struct {
	ID          int64  `json:"id"`
	Status      string `json:"status"`
	RowsWritten int    `json:"rows_written"`
	RowsTotal   int    `json:"rows_total"`
}

// reportClient calls the report API with a token.
type reportClient struct {
	t     *testing.T
	token string
}

func (c *reportClient) do(method, u string, want int) reportJSON {
	c.t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(res.Body); err != nil {
		c.t.Fatalf("%s %s: reading the answer: %v", method, u, err)
	}
	if res.StatusCode != want {
		c.t.Fatalf("%s %s: %d %s; want %d", method, u, res.StatusCode, buf.String(), want)
	}
	var r reportJSON
	if err := json.Unmarshal(buf.Bytes(), &r); err != nil {
		c.t.Fatalf("%s %s: %v", method, u, err)
	}
	return r
}

func findReport(t *testing.T, db *sqlstore.DB, orgID, id int64) *muster.Report {
	t.Helper()
	var r *muster.Report
	err := db.View(context.Background(), func(tx muster.Tx) error {
		var err error
		r, err = tx.FindReport(context.Background(), orgID, id)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// waitOutbox waits until done holds for the org's outbox, polling it
// until a deadline. The deadline is past the mail sender's lease (two
// minutes): an email that a killed server had claimed, and perhaps sent,
// but not recorded goes out from another server once the lease ends.
func waitOutbox(t *testing.T, db *sqlstore.DB, orgID int64, what string, done func([]*muster.OutboxMessage) bool) {
	t.Helper()
	const wait = 3 * time.Minute
	deadline := time.Now().Add(wait)
	for {
		var msgs []*muster.OutboxMessage
		err := db.View(context.Background(), func(tx muster.Tx) error {
			var err error
			msgs, err = tx.FindOutboxMessages(context.Background(), muster.OutboxFilter{OrgID: orgID, Limit: 100})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if done(msgs) {
			return
		}
		if time.Now().After(deadline) {
			var state []string
			for _, m := range msgs {
				state = append(state, fmt.Sprintf("%q: %d attempts, sent %v, error %q", m.Subject, m.Attempts, !m.SentAt.IsZero(), m.LastError))
			}
			t.Fatalf("waited %v for %s; the outbox holds:\n%s", wait, what, strings.Join(state, "\n"))
		}
		time.Sleep(50 * time.Millisecond) // poll interval
	}
}

// allSent says whether every email in msgs has been sent.
func allSent(msgs []*muster.OutboxMessage) bool {
	for _, m := range msgs {
		if m.SentAt.IsZero() {
			return false
		}
	}
	return true
}

// reportEmails returns the emails to rcpt that link to a report.
func reportEmails(smtp *mailtest.Server, rcpt string) []*mailtest.Message {
	var out []*mailtest.Message
	for _, m := range smtp.Messages() {
		if len(m.To) == 1 && strings.EqualFold(m.To[0], rcpt) && m.Link("/reports/") != "" {
			out = append(out, m)
		}
	}
	return out
}
