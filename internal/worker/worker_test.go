package worker_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/mail"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/secret"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/mailtest"
	"github.com/muster-app/muster/internal/testsupport/storetest"
	"github.com/muster-app/muster/internal/web"
	"github.com/muster-app/muster/internal/worker"
)

// TestWorkersWokenAfterCommit: workers that would otherwise look for work
// once an hour start at once on what a request commits: the email an
// invitation queues arrives, and the user list a request queues is built,
// within seconds.
func TestWorkersWokenAfterCommit(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		smtp := mailtest.Start(t)
		transport, err := mail.NewSMTP(smtp.URL(), "muster@example.com")
		if err != nil {
			t.Fatal(err)
		}
		log := slog.New(slog.DiscardHandler)
		workers := &worker.Workers{Mail: &worker.MailSender{Store: db, Transport: transport, Log: log, Poll: time.Hour}}
		svc := service.New(db, service.Config{BaseURL: "https://muster.example.com",
			Links: web.NewLinks("https://muster.example.com"), PasswordParams: secret.TestParams, Waker: workers})
		workers.Reports = &worker.ReportRunner{Service: svc, Log: log, Poll: time.Hour}
		ctx, stop := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { workers.Run(ctx); close(done) }()
		t.Cleanup(func() { stop(); <-done })

		// The first email may go out on the sender's first look; the
		// second, queued while it sleeps, only if the commit wakes it.
		first := queueOrg(t, svc)
		smtp.WaitFor(t, 1, 10*time.Second)
		second := queueOrg(t, svc)
		msgs := smtp.WaitFor(t, 2, 10*time.Second)
		if msgs[0].To[0] != first || msgs[1].To[0] != second {
			t.Fatalf("emails to %v, %v; want %s then %s", msgs[0].To, msgs[1].To, first, second)
		}

		owner, err := svc.CreateOrg(muster.NewContext(context.Background(), muster.Principal{Origin: "test"}),
			service.NewOrg{Name: "Reports Inc", LicenseTotal: 5, OwnerEmail: "reports@example.com",
				OwnerFirstName: "Rita", OwnerLastName: "Reports"})
		if err != nil {
			t.Fatal(err)
		}
		token := owner.SetupURL[strings.LastIndex(owner.SetupURL, "/")+1:]
		in, err := svc.AcceptInvitation(context.Background(), token, "a long enough secret",
			service.Client{IP: "192.0.2.1", Origin: "test"})
		if err != nil {
			t.Fatal(err)
		}
		asOwner := muster.NewContext(context.Background(), muster.Principal{UserID: in.User.ID, OrgID: in.User.OrgID, Origin: "test"})
		rep, err := svc.RequestUserList(asOwner)
		if err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); rep.Status != muster.ReportDone; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the report is %s after 10 s; want it built at once", rep.Status)
			}
			if rep, err = svc.Report(asOwner, rep.ID); err != nil {
				t.Fatal(err)
			}
		}
	})
}
