package worker_test

// How fast the sender drains a full outbox to an SMTP server (the test's,
// in this process): an import of 100,000 people queues as many
// invitations at once. Run only with -bench:
//
//	go test -run '^$' -bench SenderDrain -benchtime 5000x ./internal/worker/

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/mail"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/secret"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/testsupport/mailtest"
	"github.com/muster-app/muster/internal/testsupport/storetest"
	"github.com/muster-app/muster/internal/web"
)

func BenchmarkSenderDrain(b *testing.B) {
	for _, dialect := range storetest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			db := storetest.Open(b, dialect)
			c := newClock()
			svc := service.New(db, service.Config{BaseURL: "https://muster.example.com",
				Links: web.NewLinks("https://muster.example.com"), Now: c.Now, PasswordParams: secret.TestParams})
			res, err := svc.CreateOrg(muster.NewContext(context.Background(), muster.Principal{Origin: "test"}),
				service.NewOrg{Name: "Acme", LicenseTotal: 10, OwnerEmail: "owner@example.com",
					OwnerFirstName: "Olive", OwnerLastName: "Owner"})
			if err != nil {
				b.Fatal(err)
			}
			msg, err := mail.ComposeInvitation(mail.Invitation{OrgName: "Acme", InviterName: "Olive Owner",
				FirstName: "Ada", Email: "ada@example.com", Link: "https://muster.example.com/invitations/x",
				ExpiresAt: c.Now().Add(7 * 24 * time.Hour)})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			// One message per iteration, queued as an import queues them.
			for from := 0; from < b.N; from += 1000 {
				err := db.Update(ctx, func(tx muster.Tx) error {
					for i := from; i < min(from+1000, b.N); i++ {
						err := tx.CreateOutboxMessage(ctx, &muster.OutboxMessage{OrgID: res.Org.ID,
							MessageID: fmt.Sprintf("<%d@bench>", i), To: fmt.Sprintf("p%d@example.com", i),
							Subject: msg.Subject, Text: msg.Text, HTML: msg.HTML, CreatedAt: c.Now(), Bulk: true})
						if err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			srv := mailtest.Start(b)
			sender := newSender(b, db, srv, c)
			runCtx, stop := context.WithCancel(ctx)
			done := make(chan struct{})
			b.ResetTimer()
			go func() {
				defer close(done)
				sender.Run(runCtx)
			}()
			// The Owner's set-up email is in the outbox too.
			got := len(srv.WaitFor(b, b.N+1, 10*time.Minute))
			b.StopTimer()
			stop()
			<-done
			if got != b.N+1 {
				b.Fatalf("%d messages arrived; want %d", got, b.N+1)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}
