package service_test

import (
	"context"
	"strings"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// resetToken asks for a password reset for email and returns the token of
// the link the email carries.
func (f *fixture) resetToken(t *testing.T, email string) string {
	t.Helper()
	if err := f.svc.RequestPasswordReset(context.Background(), email, browser); err != nil {
		t.Fatal(err)
	}
	msgs := storetest.Outbox(t, f.db, f.org.ID)
	i := strings.Index(msgs[0].Text, resetPrefix)
	if msgs[0].To != email || i < 0 {
		t.Fatalf("newest email is %q to %s; want a reset link to %s", msgs[0].Subject, msgs[0].To, email)
	}
	return strings.Fields(msgs[0].Text[i:])[0][len(resetPrefix):]
}

// wantResetDead checks that a reset link neither shows its form nor sets a
// password.
func (f *fixture) wantResetDead(t *testing.T, token, why string) {
	t.Helper()
	ctx := context.Background()
	if err := f.svc.CheckPasswordReset(ctx, token); muster.ErrorCode(err) != muster.EGONE {
		t.Errorf("%s: CheckPasswordReset = %v; want the link gone", why, err)
	}
	if in, err := f.svc.ResetPassword(ctx, token, "the attacker's secret", browser); muster.ErrorCode(err) != muster.EGONE {
		t.Fatalf("%s: ResetPassword = %v, %v; want the link gone", why, in, err)
	}
}

// A reset link lives only as long as the password it was asked for: a
// password change, a reset with another link, a deactivation and an
// invite-again end every outstanding link of the user, so that a link leaked
// from an old mailbox cannot take the account later.
func TestResetLinksEnd(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()

		t.Run("PasswordChange", func(t *testing.T) {
			f := setup(t, db, 5)
			u := f.active("Carl", muster.RoleBasic)
			token := f.resetToken(t, u.Email)
			if err := f.svc.ChangePassword(f.as(u), password, "a changed secret", 0); err != nil {
				t.Fatal(err)
			}
			f.wantResetDead(t, token, "after a password change")
		})

		t.Run("Reset", func(t *testing.T) {
			f := setup(t, db, 5)
			u := f.active("Rory", muster.RoleBasic)
			first := f.resetToken(t, u.Email)
			second := f.resetToken(t, u.Email)
			if _, err := f.svc.ResetPassword(ctx, second, "a reset secret", browser); err != nil {
				t.Fatal(err)
			}
			f.wantResetDead(t, first, "after a reset with another link")
		})

		t.Run("DeactivateInviteAgainAccept", func(t *testing.T) {
			f := setup(t, db, 5)
			u := f.active("Dora", muster.RoleAdmin)
			token := f.resetToken(t, u.Email)
			if _, err := f.svc.Deactivate(f.as(f.owner), u.ID); err != nil {
				t.Fatal(err)
			}
			f.wantResetDead(t, token, "after a deactivation")
			again, err := f.svc.InviteAgain(f.as(f.owner), u.ID, service.UserUpdate{})
			if err != nil {
				t.Fatal(err)
			}
			f.wantResetDead(t, token, "after invite-again")
			f.accept(again.Link)
			f.wantResetDead(t, token, "after invite-again and acceptance")
			if _, err := f.svc.SignIn(ctx, u.Email, password, browser); err != nil {
				t.Fatalf("SignIn with the password set on acceptance: %v", err)
			}
		})
	})
}
