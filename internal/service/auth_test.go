package service_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
	"github.com/muster-app/muster/internal/web"
)

const password = "a long enough secret"

var browser = service.Client{IP: "192.0.2.10", UserAgent: "test", Origin: "web " + "192.0.2.10"}

// resetPrefix is where reset links start in the emails.
var resetPrefix = web.NewLinks("").PasswordReset("")

func TestSignInSameAnswerForUnknownEmail(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		pending, _ := f.invite("Pia", muster.RoleBasic)
		deactivated := f.active("Dee", muster.RoleBasic)
		if _, err := f.svc.Deactivate(f.as(f.owner), deactivated.ID); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		var messages []string
		for _, try := range []struct{ email, password string }{
			{f.owner.Email, "wrong password!"},
			{"nobody@example.com", "wrong password!"},
			{pending.Email, password},
			{deactivated.Email, password},
		} {
			_, err := f.svc.SignIn(ctx, try.email, try.password, service.Client{IP: "192.0.2." + try.email[:1], Origin: "web " + "192.0.2." + try.email[:1]})
			wantCode(t, err, muster.EUNAUTHORIZED)
			messages = append(messages, muster.ErrorMessage(err))
		}
		for _, m := range messages[1:] {
			if m != messages[0] {
				t.Fatalf("sign-in answers differ: %q vs %q; they must not reveal whether an account exists", m, messages[0])
			}
		}
		in, err := f.svc.SignIn(ctx, strings.ToUpper(f.owner.Email), password, browser)
		if err != nil {
			t.Fatalf("SignIn with the right password (email in upper case): %v", err)
		}
		if u, _, err := f.svc.Authenticate(ctx, in.Token); err != nil || u.ID != f.owner.ID {
			t.Fatalf("Authenticate(new session) = %v, %v; want the Owner", u, err)
		}
	})
}

func TestDeactivationEndsSessionsAtOnce(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		u := f.active("Sam", muster.RoleManager)
		ctx := context.Background()
		in, err := f.svc.SignIn(ctx, u.Email, password, browser)
		if err != nil {
			t.Fatal(err)
		}
		// A second instance on the same database sees the same sessions.
		other := newService(db, f.clock)
		if _, _, err := other.Authenticate(ctx, in.Token); err != nil {
			t.Fatalf("Authenticate before deactivation: %v", err)
		}
		if _, err := f.svc.Deactivate(f.as(f.owner), u.ID); err != nil {
			t.Fatal(err)
		}
		_, _, err = other.Authenticate(ctx, in.Token)
		wantCode(t, err, muster.EUNAUTHORIZED)
		if sessions := countSessions(t, db, u.ID); sessions != 0 {
			t.Fatalf("%d sessions remain after deactivation; want 0", sessions)
		}
		_, err = f.svc.SignIn(ctx, u.Email, password, browser)
		wantCode(t, err, muster.EUNAUTHORIZED)
	})
}

func countSessions(t *testing.T, db *sqlstore.DB, userID int64) int {
	t.Helper()
	var n int
	err := db.View(context.Background(), func(tx muster.Tx) error {
		s, err := tx.FindUserSessions(context.Background(), userID)
		n = len(s)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSessionsListRevokeAndPasswordChange(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		ctx := context.Background()
		a, err := f.svc.SignIn(ctx, f.owner.Email, password, browser)
		if err != nil {
			t.Fatal(err)
		}
		b, err := f.svc.SignIn(ctx, f.owner.Email, password, service.Client{IP: "192.0.2.99", UserAgent: "phone", Origin: "web " + "192.0.2.99"})
		if err != nil {
			t.Fatal(err)
		}
		c, err := f.svc.SignIn(ctx, f.owner.Email, password, browser)
		if err != nil {
			t.Fatal(err)
		}
		// Accepting the set-up invitation signed the Owner in: 1 + 3.
		sessions, err := f.svc.Sessions(f.as(f.owner))
		if err != nil || len(sessions) != 4 {
			t.Fatalf("Sessions = %d, %v; want 4", len(sessions), err)
		}
		e := f.changed(t, func() error { return f.svc.RevokeSession(f.as(f.owner), b.Session.ID) })
		wantEvent(t, e, muster.ActionSessionRevoked, f.owner, "user", f.owner.ID) // LOG-1
		_, _, err = f.svc.Authenticate(ctx, b.Token)
		wantCode(t, err, muster.EUNAUTHORIZED)

		// Another user can't revoke the Owner's session.
		other := f.active("Ann", muster.RoleAdmin)
		f.refused(t, muster.ENOTFOUND, func() error { return f.svc.RevokeSession(f.as(other), a.Session.ID) })

		err = f.svc.ChangePassword(f.as(f.owner), "not my password", "another long secret", a.Session.ID)
		wantCode(t, err, muster.EINVALID)
		if err := f.svc.ChangePassword(f.as(f.owner), password, "another long secret", a.Session.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.Authenticate(ctx, a.Token); err != nil {
			t.Fatalf("the session that changed the password ended: %v", err)
		}
		_, _, err = f.svc.Authenticate(ctx, c.Token)
		wantCode(t, err, muster.EUNAUTHORIZED)
		if _, err := f.svc.SignIn(ctx, f.owner.Email, "another long secret", browser); err != nil {
			t.Fatalf("SignIn with the new password: %v", err)
		}
	})
}

// TestOwnPasswordGuessesLimited: where Muster asks a signed-in person for
// their password again (changing it, transferring ownership), wrong ones
// count: a session in other hands cannot guess it without end. The right
// one is not counted, and the limit is the person's, whatever the session.
func TestOwnPasswordGuessesLimited(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		u := f.active("Gus", muster.RoleBasic)
		admin := f.active("Ada", muster.RoleAdmin)
		if err := f.svc.ChangePassword(f.as(u), password, "a brand new secret 1", 0); err != nil {
			t.Fatal(err)
		}
		for i := range 10 {
			err := f.svc.ChangePassword(f.as(u), fmt.Sprint("wrong guess ", i), "a brand new secret 2", 0)
			wantCode(t, err, muster.EINVALID)
		}
		err := f.svc.ChangePassword(f.as(u), "a brand new secret 1", "a brand new secret 2", 0)
		wantCode(t, err, muster.ETOOMANY)
		if !strings.Contains(muster.ErrorMessage(err), "Too many wrong passwords") {
			t.Fatalf("message %q", muster.ErrorMessage(err))
		}
		// The window passes.
		f.clock.Advance(16 * time.Minute)
		if err := f.svc.ChangePassword(f.as(u), "a brand new secret 1", "a brand new secret 2", 0); err != nil {
			t.Fatalf("after the window: %v", err)
		}

		// Transferring ownership counts the Owner's wrong passwords too.
		for range 10 {
			_, err := f.svc.TransferOwnership(f.as(f.owner), admin.ID, "not the password")
			wantCode(t, err, muster.EFORBIDDEN)
		}
		_, err = f.svc.TransferOwnership(f.as(f.owner), admin.ID, password)
		wantCode(t, err, muster.ETOOMANY)
		if got := f.user(t, admin.ID); got.Role != muster.RoleAdmin {
			t.Fatalf("Ada is %s after the refused transfer", got.Role)
		}
	})
}

func TestPasswordReset(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		ctx := context.Background()
		u := f.active("Rita", muster.RoleBasic)
		old, err := f.svc.SignIn(ctx, u.Email, password, browser)
		if err != nil {
			t.Fatal(err)
		}
		pending, _ := f.invite("Pete", muster.RoleBasic)
		gone := f.active("Gus", muster.RoleBasic)
		if _, err := f.svc.Deactivate(f.as(f.owner), gone.ID); err != nil {
			t.Fatal(err)
		}
		before := outboxCount(t, db, f.org.ID)
		for _, email := range []string{"nobody@example.com", pending.Email, gone.Email, u.Email} {
			if err := f.svc.RequestPasswordReset(ctx, email, browser); err != nil {
				t.Fatalf("RequestPasswordReset(%s) = %v; want the same quiet answer for every email", email, err)
			}
		}
		msgs := storetest.Outbox(t, db, f.org.ID)
		if len(msgs) != before+1 || msgs[0].To != u.Email {
			t.Fatalf("reset emails: %d new, newest to %s; want exactly one, to the active user", len(msgs)-before, msgs[0].To)
		}
		link := msgs[0].Text[strings.Index(msgs[0].Text, resetPrefix):]
		token := strings.Fields(link)[0][len(resetPrefix):]

		_, err = f.svc.ResetPassword(ctx, token, "short", browser)
		wantCode(t, err, muster.EINVALID)
		in, err := f.svc.ResetPassword(ctx, token, "a brand new secret", browser)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.Authenticate(ctx, in.Token); err != nil {
			t.Fatalf("not signed in after reset: %v", err)
		}
		_, _, err = f.svc.Authenticate(ctx, old.Token)
		wantCode(t, err, muster.EUNAUTHORIZED)
		_, err = f.svc.ResetPassword(ctx, token, "yet another secret", browser)
		wantCode(t, err, muster.EGONE)

		// A fresh link expires after an hour.
		if err := f.svc.RequestPasswordReset(ctx, u.Email, browser); err != nil {
			t.Fatal(err)
		}
		msgs = storetest.Outbox(t, db, f.org.ID)
		link = msgs[0].Text[strings.Index(msgs[0].Text, resetPrefix):]
		token = strings.Fields(link)[0][len(resetPrefix):]
		f.clock.Advance(61 * time.Minute)
		_, err = f.svc.ResetPassword(ctx, token, "yet another secret", browser)
		wantCode(t, err, muster.EGONE)
	})
}

func outboxCount(t *testing.T, db *sqlstore.DB, orgID int64) int {
	return len(storetest.Outbox(t, db, orgID))
}
