package service_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/secret"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
	"github.com/muster-app/muster/internal/web"
)

func TestMailboxIsTheOwnersOnly(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		u, _ := f.invite("Mia", muster.RoleBasic)
		page, err := f.svc.Mailbox(f.as(f.owner), 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Messages) != 1 || page.Messages[0].To != u.Email || page.NextBeforeID == 0 {
			t.Fatalf("first page = %+v; want Mia's invitation and a next page (the Owner's set-up email)", page)
		}
		next, err := f.svc.Mailbox(f.as(f.owner), page.NextBeforeID, 1)
		if err != nil || len(next.Messages) != 1 || next.Messages[0].To != f.owner.Email || next.NextBeforeID != 0 {
			t.Fatalf("second page = %+v, %v; want the Owner's set-up email, last", next, err)
		}
		msg, err := f.svc.MailboxMessage(f.as(f.owner), page.Messages[0].ID)
		if err != nil || msg.Subject == "" || msg.HTML == "" {
			t.Fatalf("MailboxMessage = %+v, %v", msg, err)
		}
		admin := f.active("Ada", muster.RoleAdmin)
		_, err = f.svc.Mailbox(f.as(admin), 0, 10)
		wantCode(t, err, muster.EFORBIDDEN)
		_, err = f.svc.MailboxMessage(f.as(admin), msg.ID)
		wantCode(t, err, muster.EFORBIDDEN)

		other := setup(t, db, 5)
		_, err = other.svc.MailboxMessage(other.as(other.owner), msg.ID)
		wantCode(t, err, muster.ENOTFOUND)
	})
}

// TestResetLinksNeverInTheMailbox: the Owner sees in the Mailbox that an
// Admin asked for a password reset, never the link, which would let them
// take over the Admin's account. The email itself, which the SMTP sender
// reads, keeps the link; invitation links stay visible, since in mailbox
// mode the Owner hands them on.
func TestResetLinksNeverInTheMailbox(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		_, inviteLink := f.invite("Ivy", muster.RoleBasic)
		admin := f.active("Ada", muster.RoleAdmin)
		token := f.resetToken(t, admin.Email)
		owner := f.as(f.owner)

		page, err := f.svc.Mailbox(owner, 0, 50)
		if err != nil {
			t.Fatal(err)
		}
		var reset, invitation *muster.OutboxMessage
		for _, m := range page.Messages {
			if m.To == admin.Email && reset == nil {
				reset = m
			}
			if strings.Contains(m.Text, inviteLink) {
				invitation = m
			}
		}
		if reset == nil || invitation == nil {
			t.Fatalf("the mailbox lacks the reset email to %s or Ivy's invitation: %+v", admin.Email, page.Messages)
		}
		one, err := f.svc.MailboxMessage(owner, reset.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []*muster.OutboxMessage{reset, one} {
			if strings.Contains(m.Text+m.HTML, token) || strings.Contains(m.Text+m.HTML, resetPrefix) {
				t.Fatalf("the Owner reads the reset link in the mailbox:\n%s\n%s", m.Text, m.HTML)
			}
			if !strings.Contains(m.Subject, "password") || !strings.Contains(m.Text, "password reset") {
				t.Errorf("the mailbox does not say that a password reset was asked for: %q\n%s", m.Subject, m.Text)
			}
		}
		if err := f.svc.CheckPasswordReset(context.Background(), token); err != nil {
			t.Fatalf("the link itself no longer works: %v", err)
		}
		for _, m := range storetest.Outbox(t, db, f.org.ID) {
			if m.ID == reset.ID && !strings.Contains(m.Text, token) {
				t.Fatal("the email the sender reads has lost its link")
			}
		}
	})
}

// TestFinishedMailDeletedAfterRetention: an email sent, or failed for good,
// leaves the outbox, and so the Owner's mailbox, MailKeptFor after it
// finished; mail still waiting to be sent stays however old. Where
// invitation links live longer than OutboxRetention (--invitation-ttl), their
// email stays as long.
func TestFinishedMailDeletedAfterRetention(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 10)
		sent, _ := f.invite("Sent", muster.RoleBasic)
		failed, _ := f.invite("Failed", muster.RoleBasic)
		waiting, _ := f.invite("Waiting", muster.RoleBasic)
		ids := map[string]int64{}
		for _, m := range storetest.Outbox(t, db, f.org.ID) {
			ids[m.To] = m.ID
		}
		ctx := context.Background()
		err := db.Update(ctx, func(tx muster.Tx) error {
			if err := tx.MarkOutboxSent(ctx, []int64{ids[sent.Email], ids[f.owner.Email]}, muster.DeliveredBySMTP, f.clock.Now()); err != nil {
				return err
			}
			return tx.MarkOutboxFailed(ctx, ids[failed.Email], f.clock.Now(), "550 no such user")
		})
		if err != nil {
			t.Fatal(err)
		}

		f.clock.Advance(service.OutboxRetention - time.Minute)
		if n, err := f.svc.DeleteExpired(ctx); err != nil || n.OutboxMessages != 0 {
			t.Fatalf("DeleteExpired a minute before the retention ends = %+v, %v; want no email deleted", n, err)
		}
		f.clock.Advance(2 * time.Minute)
		longLinks := service.New(db, service.Config{BaseURL: "https://muster.example.com", Links: web.NewLinks("https://muster.example.com"),
			Now: f.clock.Now, PasswordParams: secret.TestParams, InvitationTTL: 60 * 24 * time.Hour})
		if n, err := longLinks.DeleteExpired(ctx); err != nil || n.OutboxMessages != 0 {
			t.Fatalf("DeleteExpired with 60-day invitation links = %+v, %v; want no email deleted", n, err)
		}
		if n, err := f.svc.DeleteExpired(ctx); err != nil || n.OutboxMessages != 3 {
			t.Fatalf("DeleteExpired a minute after = %+v, %v; want the 3 emails sent or failed deleted", n, err)
		}
		page, err := f.svc.Mailbox(f.as(f.owner), 0, 50)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Messages) != 1 || page.Messages[0].To != waiting.Email {
			t.Fatalf("the mailbox after the retention holds %+v; want only the email still waiting to %s", page.Messages, waiting.Email)
		}
	})
}
