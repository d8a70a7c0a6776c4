package service_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
	"github.com/muster-app/muster/internal/web"
)

func TestUserListReport(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 2000)
		admin := f.active("Ada", muster.RoleAdmin)
		for i := range 3 {
			f.invite("Person"+string(rune('A'+i)), muster.RoleBasic)
		}
		ctx := context.Background()
		r, err := f.svc.RequestUserList(f.as(admin))
		if err != nil {
			t.Fatal(err)
		}
		again, err := f.svc.RequestUserList(f.as(f.owner))
		if err != nil || again.ID != r.ID {
			t.Fatalf("second request = %v, %v; want the same queued report (one at a time per org)", again, err)
		}
		if r.Status != muster.ReportQueued || r.RowsTotal != 5 {
			t.Fatalf("report = %+v; want queued with 5 rows to write", r)
		}
		before := outboxCount(t, db, f.org.ID)
		if ran, err := f.svc.RunNextReport(ctx); err != nil || !ran {
			t.Fatalf("RunNextReport = %v, %v", ran, err)
		}
		if ran, err := f.svc.RunNextReport(ctx); err != nil || ran {
			t.Fatalf("RunNextReport after the report finished = %v, %v; want nothing to run", ran, err)
		}
		msgs := storetest.Outbox(t, db, f.org.ID)
		if len(msgs) != before+1 || msgs[0].To != admin.Email || !strings.Contains(msgs[0].Text, web.NewLinks("https://muster.example.com").ReportDownload(r.ID)) {
			t.Fatalf("want one email to the requester with the link; newest: %+v", msgs[0])
		}

		var want bytes.Buffer
		if err := f.svc.ExportUsers(f.as(f.owner), &want, nil); err != nil {
			t.Fatal(err)
		}
		done, rc, err := f.svc.OpenReport(f.as(f.owner), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, want.Bytes()) {
			t.Fatalf("downloaded CSV (%v):\n%s\nwant:\n%s", err, got, want.String())
		}
		if done.Status != muster.ReportDone || done.RowsWritten != 5 {
			t.Fatalf("report = %+v; want done with 5 rows", done)
		}

		basic := f.active("Bea", muster.RoleBasic)
		_, _, err = f.svc.OpenReport(f.as(basic), r.ID)
		wantCode(t, err, muster.ENOTFOUND)
		other := setup(t, db, 5)
		_, _, err = other.svc.OpenReport(other.as(other.owner), r.ID)
		wantCode(t, err, muster.ENOTFOUND)

		f.clock.Advance(7*24*time.Hour + time.Second)
		_, _, err = f.svc.OpenReport(f.as(f.owner), r.ID)
		wantCode(t, err, muster.EGONE)
		if n, err := f.svc.DeleteExpired(ctx); err != nil || n.Reports != 1 {
			t.Fatalf("DeleteExpired = %+v, %v; want 1 report", n, err)
		}
		_, _, err = f.svc.OpenReport(f.as(f.owner), r.ID)
		wantCode(t, err, muster.ENOTFOUND)
	})
}

// TestInterruptedReportRunsAgainAndEmailsOnce abandons a run half way, as a
// killed server would, and checks that another run finishes it with one
// email.
func TestInterruptedReportRunsAgainAndEmailsOnce(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 10)
		r, err := f.svc.RequestUserList(f.as(f.owner))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		// The "killed" runner: claims the report, writes a stray chunk, dies.
		err = db.Update(ctx, func(tx muster.Tx) error {
			now := f.clock.Now()
			if _, err := tx.LeaseReport(ctx, now, now.Add(2*time.Minute)); err != nil {
				return err
			}
			return tx.AppendReportChunk(ctx, r.ID, 0, []byte("half a gzip stream"))
		})
		if err != nil {
			t.Fatal(err)
		}
		if ran, err := f.svc.RunNextReport(ctx); err != nil || ran {
			t.Fatalf("RunNextReport while the runner's lease holds = %v, %v; want nothing to run", ran, err)
		}
		f.clock.Advance(3 * time.Minute)
		before := outboxCount(t, db, f.org.ID)
		if ran, err := f.svc.RunNextReport(ctx); err != nil || !ran {
			t.Fatalf("RunNextReport after the lease = %v, %v", ran, err)
		}
		if n := outboxCount(t, db, f.org.ID) - before; n != 1 {
			t.Fatalf("%d emails; want 1", n)
		}
		_, rc, err := f.svc.OpenReport(f.as(f.owner), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		if err != nil || !strings.Contains(string(got), f.owner.Email) {
			t.Fatalf("CSV after restart: %v\n%s", err, got)
		}
	})
}

// TestFailedReportTellsTheRequester: a user list that fails at every try
// (here its store refuses every chunk, a full disk) is marked failed after
// the last, and its requester, who was told it would come by email, gets
// one that says it could not be prepared; its download says so too, rather
// than "not ready yet" for ever.
func TestFailedReportTellsTheRequester(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 10)
		admin := f.active("Ada", muster.RoleAdmin)
		r, err := f.svc.RequestUserList(f.as(admin))
		if err != nil {
			t.Fatal(err)
		}
		failing := newServiceOn(chunklessStore{db}, f.clock)
		ctx := context.Background()
		before := outboxCount(t, db, f.org.ID)
		for try := 1; try <= 3; try++ {
			if ran, err := failing.RunNextReport(ctx); !ran || err == nil {
				t.Fatalf("try %d: RunNextReport = %v, %v; want a run that fails", try, ran, err)
			}
			if n := outboxCount(t, db, f.org.ID) - before; (try < 3 && n != 0) || (try == 3 && n != 1) {
				t.Fatalf("after try %d: %d emails; want one only after the last", try, n)
			}
			f.clock.Advance(3 * time.Minute) // past the run's lease
		}
		got, err := f.svc.Report(f.as(admin), r.ID)
		if err != nil || got.Status != muster.ReportFailed {
			t.Fatalf("the report after 3 failed tries: %+v, %v; want failed", got, err)
		}
		msg := storetest.Outbox(t, db, f.org.ID)[0]
		if msg.To != admin.Email || !strings.Contains(msg.Subject, "could not be prepared") {
			t.Fatalf("newest email: to %s, %q; want the requester told the list could not be prepared", msg.To, msg.Subject)
		}
		_, _, err = f.svc.OpenReport(f.as(admin), r.ID)
		if wantCode(t, err, muster.EGONE); !strings.Contains(muster.ErrorMessage(err), "could not be prepared") {
			t.Fatalf("opening the failed report: %v; want words that say it could not be prepared", err)
		}
	})
}

// chunklessStore is a store whose transactions refuse to store a report's
// chunk, as a full disk would.
type chunklessStore struct{ *sqlstore.DB }

func (s chunklessStore) Update(ctx context.Context, fn func(muster.Tx) error) error {
	return s.DB.Update(ctx, func(tx muster.Tx) error { return fn(chunklessTx{tx}) })
}

type chunklessTx struct{ muster.Tx }

func (chunklessTx) AppendReportChunk(context.Context, int64, int, []byte) error {
	return errors.New("no space left on device")
}
