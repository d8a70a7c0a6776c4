package service_test

import (
	"context"
	"strings"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
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
