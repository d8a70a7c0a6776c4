package service_test

import (
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/store/sqlstore"
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
