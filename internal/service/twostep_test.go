package service_test

// Two-step verification (AUTH-7) on both stores: an authenticator app set
// up and used with codes computed here from its secret, replays and wrong
// and expired codes refused, recovery codes used once, the second step's
// limits under 50 guesses at once, and the Admin's reset rules.

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/secret"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport"
	"github.com/muster-app/muster/internal/testsupport/storetest"
	"github.com/muster-app/muster/internal/web"
)

const twoStepPassword = "a long enough secret" // what fixture.accept sets

// twoStepFixture is a fixture whose service has a server key, which
// authenticator apps need.
func twoStepFixture(t *testing.T, db *sqlstore.DB) *fixture {
	f := setup(t, db, 20)
	f.svc = service.New(db, service.Config{BaseURL: "https://muster.example.com",
		Links: web.NewLinks("https://muster.example.com"), Now: f.clock.Now, PasswordParams: secret.TestParams,
		SecretBox: testsupport.SecretBox(t)})
	return f
}

// codeAt is the authenticator app's code of secret at t.
func codeAt(t *testing.T, secretText string, at time.Time) string {
	t.Helper()
	code, err := totp.GenerateCode(secretText, at)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// enrolTOTP sets up an authenticator app for u and returns its secret and
// recovery codes.
func (f *fixture) enrolTOTP(t *testing.T, u *muster.User) (string, []string) {
	t.Helper()
	en, err := f.svc.StartTOTP(f.as(u), "", browser)
	if err != nil {
		t.Fatalf("StartTOTP: %v", err)
	}
	if !strings.HasPrefix(en.URL, "otpauth://totp/Muster:") || !strings.Contains(en.URL, "secret="+en.Secret) {
		t.Fatalf("otpauth URL %q does not carry the secret", en.URL)
	}
	done, err := f.svc.ConfirmTOTP(f.as(u), "", codeAt(t, en.Secret, f.clock.Now()), browser)
	if err != nil {
		t.Fatalf("ConfirmTOTP: %v", err)
	}
	if done.RecoveryCodes == nil || len(done.RecoveryCodes.Codes) != muster.TwoStepRecoveryCodeCount {
		t.Fatalf("the first factor came with %v recovery codes; want 10", done.RecoveryCodes)
	}
	return en.Secret, done.RecoveryCodes.Codes
}

// passwordStep signs u in with their password and requires a pending
// second step.
func (f *fixture) passwordStep(t *testing.T, u *muster.User) string {
	t.Helper()
	in, err := f.svc.SignIn(context.Background(), u.Email, twoStepPassword, browser)
	if err != nil {
		t.Fatalf("SignIn: %v", err)
	}
	if in.Pending == nil || in.Session != nil || in.Token != "" {
		t.Fatalf("the password alone started a session (%+v); want the second step first", in)
	}
	return in.Pending.Token
}

// sessionCount counts u's sessions.
func (f *fixture) sessionCount(t *testing.T, u *muster.User) int {
	t.Helper()
	var n int
	err := f.db.View(context.Background(), func(tx muster.Tx) error {
		s, err := tx.FindUserSessions(context.Background(), u.ID)
		n = len(s)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func countActions(t *testing.T, f *fixture, action string) int {
	t.Helper()
	return len(auditTrail(t, f, muster.AuditFilter{Action: action}))
}

func TestTOTPEnrolAndSignIn(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := twoStepFixture(t, db)
		u := f.active("Tess", muster.RoleManager)

		// Set up: a wrong code leaves it off.
		en, err := f.svc.StartTOTP(f.as(u), "", browser)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.ConfirmTOTP(f.as(u), "", "000000", browser)
		wantCode(t, err, muster.EINVALID)
		st, err := f.svc.TwoStep(f.as(u))
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Factors) != 0 || !st.PendingTOTP {
			t.Fatalf("after a wrong code: %+v; want nothing on, the app still being set up", st)
		}
		again, err := f.svc.PendingTOTP(f.as(u), "")
		if err != nil || again.Secret != en.Secret {
			t.Fatalf("PendingTOTP = %+v, %v; want the same secret", again, err)
		}
		enrolledAt := f.clock.Now()
		done, err := f.svc.ConfirmTOTP(f.as(u), "", codeAt(t, en.Secret, enrolledAt), browser)
		if err != nil || len(done.RecoveryCodes.Codes) != 10 {
			t.Fatalf("ConfirmTOTP = %+v, %v", done, err)
		}
		if n := countActions(t, f, muster.ActionTwoStepFactorAdded); n != 1 {
			t.Fatalf("%d factor_added events; want 1", n)
		}

		// The secret is stored sealed, not as text.
		err = db.View(context.Background(), func(tx muster.Tx) error {
			fs, err := tx.FindUserFactors(context.Background(), u.ID)
			if err != nil {
				return err
			}
			if len(fs) != 1 || strings.Contains(string(fs[0].Secret), en.Secret) {
				t.Fatalf("stored factor %+v holds the secret in the clear", fs)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		// The password alone starts no session.
		token := f.passwordStep(t, u)
		if n := f.sessionCount(t, u); n != 1 { // the invitation's
			t.Fatalf("%d sessions after the password; want only the invitation's 1", n)
		}
		// The code that turned the app on is not accepted again (replay).
		_, err = f.svc.VerifySecondStep(context.Background(), token, codeAt(t, en.Secret, enrolledAt), false, browser)
		wantCode(t, err, muster.EUNAUTHORIZED)
		// A wrong code neither.
		_, err = f.svc.VerifySecondStep(context.Background(), token, "123 456", false, browser)
		wantCode(t, err, muster.EUNAUTHORIZED)
		if n := countActions(t, f, muster.ActionTwoStepFailed); n != 2 {
			t.Fatalf("%d failed second steps audited; want 2", n)
		}
		// 30 s on: the next code signs in, typed with a space.
		f.clock.Advance(30 * time.Second)
		code := codeAt(t, en.Secret, f.clock.Now())
		in, err := f.svc.VerifySecondStep(context.Background(), token, code[:3]+" "+code[3:], false, browser)
		if err != nil || in.Session == nil || in.Token == "" {
			t.Fatalf("VerifySecondStep = %+v, %v; want a session", in, err)
		}
		if _, _, err := f.svc.Authenticate(context.Background(), in.Token); err != nil {
			t.Fatalf("the new session does not work: %v", err)
		}
		// The sign-in is used up, and its code too, on a new sign-in.
		_, err = f.svc.VerifySecondStep(context.Background(), token, code, false, browser)
		wantCode(t, err, muster.EUNAUTHORIZED)
		token2 := f.passwordStep(t, u)
		_, err = f.svc.VerifySecondStep(context.Background(), token2, code, false, browser)
		wantCode(t, err, muster.EUNAUTHORIZED)

		// A code from two steps ago has expired; one a step ahead (a
		// phone's clock a little fast) works.
		f.clock.Advance(90 * time.Second)
		_, err = f.svc.VerifySecondStep(context.Background(), token2, codeAt(t, en.Secret, f.clock.Now().Add(-60*time.Second)), false, browser)
		wantCode(t, err, muster.EUNAUTHORIZED)
		if _, err := f.svc.VerifySecondStep(context.Background(), token2, codeAt(t, en.Secret, f.clock.Now().Add(30*time.Second)), false, browser); err != nil {
			t.Fatalf("a code one step ahead: %v", err)
		}

		// A pending sign-in expires in minutes.
		token3 := f.passwordStep(t, u)
		f.clock.Advance(service.SignInChallengeTTL + time.Second)
		_, err = f.svc.VerifySecondStep(context.Background(), token3, codeAt(t, en.Secret, f.clock.Now()), false, browser)
		wantCode(t, err, muster.EUNAUTHORIZED)
		if _, err := f.svc.FindSecondStep(context.Background(), token3); muster.ErrorCode(err) != muster.EUNAUTHORIZED {
			t.Fatalf("FindSecondStep of an expired sign-in: %v", err)
		}
	})
}

func TestTwoStepRecoveryCodes(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := twoStepFixture(t, db)
		u := f.active("Rita", muster.RoleAdmin)
		_, codes := f.enrolTOTP(t, u)

		mails := outboxCount(t, db, f.org.ID)
		token := f.passwordStep(t, u)
		in, err := f.svc.VerifySecondStep(context.Background(), token, strings.ToUpper(codes[3]), false, browser)
		if err != nil || in.Session == nil || !in.RecoveryCodeUsed || in.RecoveryCodesLeft != 9 {
			t.Fatalf("VerifySecondStep(recovery code) = %+v, %v; want a session, 9 left", in, err)
		}
		if n := countActions(t, f, muster.ActionTwoStepRecoveryCodeUsed); n != 1 {
			t.Fatalf("%d recovery_code_used events; want 1", n)
		}
		msgs := storetest.Outbox(t, db, f.org.ID)
		if len(msgs) != mails+1 || msgs[0].To != u.Email || !strings.Contains(msgs[0].Text, "9 of your recovery codes are left") {
			t.Fatalf("newest email %q to %s; want the recovery code's notice to %s", msgs[0].Subject, msgs[0].To, u.Email)
		}
		// Once only.
		token = f.passwordStep(t, u)
		_, err = f.svc.VerifySecondStep(context.Background(), token, codes[3], false, browser)
		wantCode(t, err, muster.EUNAUTHORIZED)

		// New codes end the old ones.
		fresh, err := f.svc.RegenerateTwoStepRecoveryCodes(f.as(u))
		if err != nil || len(fresh.Codes) != 10 {
			t.Fatalf("RegenerateTwoStepRecoveryCodes = %v, %v", fresh, err)
		}
		_, err = f.svc.VerifySecondStep(context.Background(), token, codes[4], false, browser)
		wantCode(t, err, muster.EUNAUTHORIZED)
		if _, err := f.svc.VerifySecondStep(context.Background(), token, fresh.Codes[0], false, browser); err != nil {
			t.Fatalf("a new recovery code: %v", err)
		}
	})
}

// TestSecondStepGuessesAtOnce sends 50 wrong codes at once for one pending
// sign-in: at most the limit of them are checked (each check is audited),
// the others are refused as too many, and the sign-in is then closed even
// to the right code.
func TestSecondStepGuessesAtOnce(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := twoStepFixture(t, db)
		u := f.active("Gus", muster.RoleAdmin)
		key, _ := f.enrolTOTP(t, u)
		f.clock.Advance(30 * time.Second)
		token := f.passwordStep(t, u)

		const n, limit = 50, 5
		var wg sync.WaitGroup
		errs := make(chan error, n)
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				guess := strings.Repeat(string(rune('0'+i%10)), 6)
				if guess == codeAt(t, key, f.clock.Now()) {
					guess = "not a code"
				}
				_, err := f.svc.VerifySecondStep(context.Background(), token, guess, false, browser)
				errs <- err
			}()
		}
		close(start)
		wg.Wait()
		close(errs)
		counts := map[string]int{}
		for err := range errs {
			counts[muster.ErrorCode(err)]++
		}
		checked := countActions(t, f, muster.ActionTwoStepFailed)
		t.Logf("50 guesses at once: %d checked, outcomes %v", checked, counts)
		if checked != limit || counts[muster.EUNAUTHORIZED] != checked || counts[muster.ETOOMANY] != n-checked {
			t.Fatalf("50 guesses at once: %d checked, outcomes %v; want exactly %d checked and the rest refused as too many",
				checked, counts, limit)
		}
		_, err := f.svc.VerifySecondStep(context.Background(), token, codeAt(t, key, f.clock.Now()), false, browser)
		wantCode(t, err, muster.ETOOMANY)
		if n := f.sessionCount(t, u); n != 1 {
			t.Fatalf("%d sessions; want only the invitation's", n)
		}
	})
}

func TestRemoveLastFactor(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := twoStepFixture(t, db)
		u := f.active("Lea", muster.RoleBasic)
		key, codes := f.enrolTOTP(t, u)
		st, err := f.svc.TwoStep(f.as(u))
		if err != nil || len(st.Factors) != 1 || st.RecoveryCodesLeft != 10 {
			t.Fatalf("TwoStep = %+v, %v", st, err)
		}
		id := st.Factors[0].ID
		f.clock.Advance(30 * time.Second)
		now := codeAt(t, key, f.clock.Now())

		err = f.svc.RemoveFactor(f.as(u), id, "wrong password", now)
		wantCode(t, err, muster.EINVALID)
		err = f.svc.RemoveFactor(f.as(u), id, twoStepPassword, "111111")
		wantCode(t, err, muster.EINVALID)
		if fe := muster.ErrorFields(err); len(fe) != 1 || fe[0].Field != muster.FieldCode {
			t.Fatalf("fields %v; want the code's alone", fe)
		}
		st, err = f.svc.TwoStep(f.as(u))
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Factors) != 1 {
			t.Fatal("a refused removal removed the factor")
		}
		if err := f.svc.RemoveFactor(f.as(u), id, twoStepPassword, codes[0]); err != nil {
			t.Fatalf("RemoveFactor with password and recovery code: %v", err)
		}
		st, err = f.svc.TwoStep(f.as(u))
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Factors) != 0 || st.RecoveryCodesLeft != 0 {
			t.Fatalf("after removing the last factor: %+v; want none, and no recovery codes", st)
		}
		if n := countActions(t, f, muster.ActionTwoStepFactorRemoved); n != 1 {
			t.Fatalf("%d factor_removed events; want 1", n)
		}
		// The password alone signs in again.
		in, err := f.svc.SignIn(context.Background(), u.Email, twoStepPassword, browser)
		if err != nil || in.Session == nil {
			t.Fatalf("SignIn after removal = %+v, %v; want a session", in, err)
		}
	})
}

func TestPasswordResetAsksForSecondStep(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := twoStepFixture(t, db)
		u := f.active("Remy", muster.RoleManager)
		f.enrolTOTP(t, u)
		in, err := f.svc.ResetPassword(context.Background(), f.resetToken(t, u.Email), "another long secret", browser)
		if err != nil || in.Session != nil || in.Pending == nil {
			t.Fatalf("ResetPassword = %+v, %v; want the second step before a session", in, err)
		}
	})
}

// TestInvitationAsksForSecondStep: an invitation link proves the email, as
// a reset link does, not a factor. A user invited again keeps their
// authenticator app, and accepting asks for it; under the Owner's policy
// with no grace left, a newcomer's acceptance leads only to enrolment.
func TestInvitationAsksForSecondStep(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := twoStepFixture(t, db)
		u := f.active("Tia", muster.RoleManager)
		appSecret, _ := f.enrolTOTP(t, u)
		if _, err := f.svc.Deactivate(f.as(f.owner), u.ID); err != nil {
			t.Fatal(err)
		}
		again, err := f.svc.Invite(f.as(f.owner), service.InviteInput{FirstName: "Tia", LastName: "Tester",
			Email: u.Email, Role: muster.RoleManager, PrimaryTeamID: f.defaultTeam().ID})
		if err != nil || !again.Again {
			t.Fatalf("Invite again = %+v, %v", again, err)
		}
		in, err := f.acceptLink(again.Link)
		if err != nil || in.Session != nil || in.Token != "" || in.Pending == nil {
			t.Fatalf("accepting with a factor kept = %+v, %v; want the second step before a session", in, err)
		}
		if n := f.sessionCount(t, u); n != 0 {
			t.Fatalf("%d sessions before the second step; want none", n)
		}
		f.clock.Advance(30 * time.Second)
		done, err := f.svc.VerifySecondStep(context.Background(), in.Pending.Token, codeAt(t, appSecret, f.clock.Now()), false, browser)
		if err != nil || done.Session == nil {
			t.Fatalf("VerifySecondStep = %+v, %v; want a session", done, err)
		}
		if got := f.user(t, u.ID); got.Status != muster.StatusActive || got.LastSignInAt.IsZero() {
			t.Fatalf("after the second step the user is %s, last signed in %v", got.Status, got.LastSignInAt)
		}

		if _, err := f.svc.SetTwoStepPolicy(f.as(f.owner), service.TwoStepPolicyInput{Scope: muster.TwoStepEveryone, GraceDays: 0}); err != nil {
			t.Fatal(err)
		}
		_, link := f.invite("Nell", muster.RoleAdmin)
		in, err = f.acceptLink(link)
		if err != nil || in.Session != nil || in.Pending == nil {
			t.Fatalf("accepting under the policy = %+v, %v; want enrolment before a session", in, err)
		}
		step, err := f.svc.FindSecondStep(context.Background(), in.Pending.Token)
		if err != nil || !step.Enrol || step.CanSkip {
			t.Fatalf("FindSecondStep = %+v, %v; want enrolment only", step, err)
		}
		_, err = f.svc.SkipEnrolment(context.Background(), in.Pending.Token, browser)
		wantCode(t, err, muster.EFORBIDDEN)
	})
}

func TestResetTwoStepRules(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := twoStepFixture(t, db)
		admin := f.active("Ada", muster.RoleAdmin)
		other := f.active("Abe", muster.RoleAdmin)
		manager := f.active("Max", muster.RoleManager)
		for _, u := range []*muster.User{f.owner, admin, other, manager} {
			f.enrolTOTP(t, u)
		}
		// Never one's own, never the Owner's, nobody's without a factor.
		f.refused(t, muster.EFORBIDDEN, func() error { _, err := f.svc.ResetTwoStep(f.as(admin), admin.ID); return err })
		f.refused(t, muster.EFORBIDDEN, func() error { _, err := f.svc.ResetTwoStep(f.as(admin), f.owner.ID); return err })
		f.refused(t, muster.EFORBIDDEN, func() error { _, err := f.svc.ResetTwoStep(f.as(f.owner), f.owner.ID); return err })
		f.refused(t, muster.EFORBIDDEN, func() error { _, err := f.svc.ResetTwoStep(f.as(manager), admin.ID); return err })
		// An Admin manages Managers and Basic Users, not other Admins.
		f.refused(t, muster.EFORBIDDEN, func() error { _, err := f.svc.ResetTwoStep(f.as(admin), other.ID); return err })

		mails := outboxCount(t, db, f.org.ID)
		e := f.changed(t, func() error { _, err := f.svc.ResetTwoStep(f.as(admin), manager.ID); return err })
		wantEvent(t, e, muster.ActionTwoStepReset, admin, muster.TargetUser, manager.ID)
		msgs := storetest.Outbox(t, db, f.org.ID)
		if len(msgs) != mails+1 || msgs[0].To != manager.Email || !strings.Contains(msgs[0].Text, "reset your two-step verification") {
			t.Fatalf("newest email %q to %s; want the reset's notice to %s", msgs[0].Subject, msgs[0].To, manager.Email)
		}
		in, err := f.svc.SignIn(context.Background(), manager.Email, twoStepPassword, browser)
		if err != nil || in.Session == nil {
			t.Fatalf("SignIn after reset = %+v, %v; want a session with the password alone", in, err)
		}
		f.refused(t, muster.ECONFLICT, func() error { _, err := f.svc.ResetTwoStep(f.as(admin), manager.ID); return err })
		// The Owner resets an Admin's.
		f.changed(t, func() error { _, err := f.svc.ResetTwoStep(f.as(f.owner), other.ID); return err })
	})
}

func TestTwoStepPolicyGraceAndEnforcement(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := twoStepFixture(t, db)
		admin := f.active("Ada", muster.RoleAdmin)
		manager := f.active("Max", muster.RoleManager)
		tok, err := f.svc.CreateAPIToken(f.as(f.owner), "HR sync", time.Time{})
		if err != nil {
			t.Fatal(err)
		}

		// Only the Owner sets it; an Admin reads it.
		f.refused(t, muster.EFORBIDDEN, func() error {
			_, err := f.svc.SetTwoStepPolicy(f.as(admin), service.TwoStepPolicyInput{Scope: muster.TwoStepEveryone, GraceDays: 7})
			return err
		})
		f.refused(t, muster.EINVALID, func() error {
			_, err := f.svc.SetTwoStepPolicy(f.as(f.owner), service.TwoStepPolicyInput{Scope: muster.TwoStepEveryone, GraceDays: 91})
			return err
		})
		f.refused(t, muster.EINVALID, func() error {
			_, err := f.svc.SetTwoStepPolicy(f.as(f.owner), service.TwoStepPolicyInput{Scope: "some", GraceDays: 7})
			return err
		})
		e := f.changed(t, func() error {
			_, err := f.svc.SetTwoStepPolicy(f.as(f.owner), service.TwoStepPolicyInput{Scope: muster.TwoStepAdmins, GraceDays: 7})
			return err
		})
		wantEvent(t, e, muster.ActionTwoStepPolicyChanged, f.owner, muster.TargetOrg, f.org.ID)
		wantChange(t, e, "two_step", "off", "admins")
		if p, err := f.svc.TwoStepPolicy(f.as(admin)); err != nil || p.Scope != muster.TwoStepAdmins || p.GraceDays != 7 {
			t.Fatalf("TwoStepPolicy = %+v, %v", p, err)
		}
		policySet := f.clock.Now()

		// Within the grace period an Admin without a factor is led to
		// enrolment first, and may skip it.
		token := f.passwordStep(t, admin)
		step, err := f.svc.FindSecondStep(context.Background(), token)
		if err != nil || !step.Enrol || !step.CanSkip || !step.GraceEnds.Equal(policySet.Add(7*24*time.Hour)) {
			t.Fatalf("FindSecondStep = %+v, %v; want enrolment that can be skipped until 7 days on", step, err)
		}
		if in, err := f.svc.SkipEnrolment(context.Background(), token, browser); err != nil || in.Session == nil {
			t.Fatalf("SkipEnrolment = %+v, %v; want a session", in, err)
		}
		// A Manager is not asked.
		if in, err := f.svc.SignIn(context.Background(), manager.Email, twoStepPassword, browser); err != nil || in.Session == nil {
			t.Fatalf("the Manager's SignIn = %+v, %v; want a session", in, err)
		}

		// After it, sign-in leads only to enrolment.
		f.clock.Advance(7*24*time.Hour + time.Minute)
		token = f.passwordStep(t, admin)
		step, err = f.svc.FindSecondStep(context.Background(), token)
		if err != nil || !step.Enrol || step.CanSkip {
			t.Fatalf("FindSecondStep after the grace period = %+v, %v; want enrolment only", step, err)
		}
		_, err = f.svc.SkipEnrolment(context.Background(), token, browser)
		wantCode(t, err, muster.EFORBIDDEN)
		_, err = f.svc.VerifySecondStep(context.Background(), token, "123456", false, browser)
		wantCode(t, err, muster.EUNAUTHORIZED)
		en, err := f.svc.StartTOTP(context.Background(), token, browser)
		if err != nil {
			t.Fatalf("StartTOTP in the sign-in: %v", err)
		}
		_, err = f.svc.ConfirmTOTP(context.Background(), token, "000000", browser)
		wantCode(t, err, muster.EINVALID)
		done, err := f.svc.ConfirmTOTP(context.Background(), token, codeAt(t, en.Secret, f.clock.Now()), browser)
		if err != nil || done.SignedIn == nil || done.Session == nil || done.RecoveryCodes == nil {
			t.Fatalf("ConfirmTOTP in the sign-in = %+v, %v; want a session and recovery codes", done, err)
		}
		// From now on, the second step.
		token = f.passwordStep(t, admin)
		if step, err := f.svc.FindSecondStep(context.Background(), token); err != nil || step.Enrol || len(step.Factors) != 1 {
			t.Fatalf("FindSecondStep after enrolment = %+v, %v; want the app asked for", step, err)
		}

		// Everyone: the Manager gets a grace period of their own, from now.
		widened := f.clock.Now()
		if _, err := f.svc.SetTwoStepPolicy(f.as(f.owner), service.TwoStepPolicyInput{Scope: muster.TwoStepEveryone, GraceDays: 3}); err != nil {
			t.Fatal(err)
		}
		token = f.passwordStep(t, manager)
		if step, err := f.svc.FindSecondStep(context.Background(), token); err != nil || !step.CanSkip || !step.GraceEnds.Equal(widened.Add(3*24*time.Hour)) {
			t.Fatalf("the Manager's FindSecondStep = %+v, %v; want 3 days from the change", step, err)
		}
		// Someone who joins later has the grace period from their start.
		f.clock.Advance(5 * 24 * time.Hour)
		late := f.active("Lou", muster.RoleBasic)
		token = f.passwordStep(t, late)
		if step, err := f.svc.FindSecondStep(context.Background(), token); err != nil || !step.CanSkip {
			t.Fatalf("a newcomer's FindSecondStep = %+v, %v; want a grace period of their own", step, err)
		}

		// API tokens are not affected: the Owner, past the grace period
		// without a factor, still reaches the API with theirs.
		if step, err := f.svc.FindSecondStep(context.Background(), f.passwordStep(t, f.owner)); err != nil || step.CanSkip {
			t.Fatalf("the Owner's FindSecondStep = %+v, %v; want enrolment only", step, err)
		}
		if _, err := f.svc.AuthenticateAPIToken(context.Background(), tok.Secret); err != nil {
			t.Fatalf("the Owner's API token under the policy: %v", err)
		}

		// Off: nobody is asked but those with a factor.
		if _, err := f.svc.SetTwoStepPolicy(f.as(f.owner), service.TwoStepPolicyInput{Scope: muster.TwoStepOff, GraceDays: 7}); err != nil {
			t.Fatal(err)
		}
		if in, err := f.svc.SignIn(context.Background(), manager.Email, twoStepPassword, browser); err != nil || in.Session == nil {
			t.Fatalf("SignIn with the policy off = %+v, %v; want a session", in, err)
		}
	})
}

func TestRememberBrowser(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := twoStepFixture(t, db)
		u := f.active("Rob", muster.RoleAdmin)
		key, _ := f.enrolTOTP(t, u)
		f.clock.Advance(30 * time.Second)

		// Off by default: asking changes nothing.
		token := f.passwordStep(t, u)
		step, err := f.svc.FindSecondStep(context.Background(), token)
		if err != nil {
			t.Fatal(err)
		}
		if step.RememberOffered {
			t.Fatal("remembering a browser is offered with the policy's default")
		}
		done, err := f.svc.VerifySecondStep(context.Background(), token, codeAt(t, key, f.clock.Now()), true, browser)
		if err != nil || done.RememberToken != "" {
			t.Fatalf("VerifySecondStep = %+v, %v; want no remembered browser", done, err)
		}

		if _, err := f.svc.SetTwoStepPolicy(f.as(f.owner), service.TwoStepPolicyInput{Scope: muster.TwoStepOff,
			GraceDays: 7, RememberBrowser: true}); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(30 * time.Second)
		token = f.passwordStep(t, u)
		done, err = f.svc.VerifySecondStep(context.Background(), token, codeAt(t, key, f.clock.Now()), true, browser)
		if err != nil || done.RememberToken == "" {
			t.Fatalf("VerifySecondStep = %+v, %v; want a remembered browser", done, err)
		}
		remembered := browser
		remembered.RememberedBrowser = done.RememberToken
		if in, err := f.svc.SignIn(context.Background(), u.Email, twoStepPassword, remembered); err != nil || in.Session == nil {
			t.Fatalf("SignIn from the remembered browser = %+v, %v; want a session", in, err)
		}
		// Another's token, or after 30 days, asks again.
		other := f.active("Oda", muster.RoleAdmin)
		f.enrolTOTP(t, other)
		in, err := f.svc.SignIn(context.Background(), other.Email, twoStepPassword, remembered)
		if err != nil {
			t.Fatal(err)
		}
		if in == nil || in.Pending == nil {
			t.Fatal("another person's remembered browser skipped the second step")
		}
		f.clock.Advance(muster.RememberBrowserFor)
		in, err = f.svc.SignIn(context.Background(), u.Email, twoStepPassword, remembered)
		if err != nil {
			t.Fatal(err)
		}
		if in == nil || in.Pending == nil {
			t.Fatal("a browser remembered 30 days ago skipped the second step")
		}
	})
}

// TestUsersTwoStepFilter: the Users tab lists who has two-step verification
// on, filters by it and counts what it filters.
func TestUsersTwoStepFilter(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := twoStepFixture(t, db)
		on := f.active("Ona", muster.RoleBasic)
		off := f.active("Ofer", muster.RoleBasic)
		f.enrolTOTP(t, on)
		// An authenticator app still being set up does not count.
		if _, err := f.svc.StartTOTP(f.as(off), "", browser); err != nil {
			t.Fatal(err)
		}
		// marked is the ids of the page's users shown with two-step on.
		marked := func(page *service.UserPage) []int64 {
			var ids []int64
			for _, u := range page.Users {
				if u.TwoStep {
					ids = append(ids, u.ID)
				}
			}
			return ids
		}
		names := func(q service.UserQuery) ([]string, *service.UserPage) {
			t.Helper()
			q.Count = true
			page, err := f.svc.FindUsers(f.as(f.owner), q)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, u := range page.Users {
				out = append(out, u.FirstName)
			}
			return out, page
		}
		got, page := names(service.UserQuery{TwoStep: "on"})
		if strings.Join(got, ",") != "Ona" || page.Total != 1 || !page.Users[0].TwoStep {
			t.Fatalf("two-step on: %v (total %d, marked %v); want Ona", got, page.Total, marked(page))
		}
		got, page = names(service.UserQuery{TwoStep: "off", Sort: "email"})
		if len(got) != 2 || page.Total != 2 || len(marked(page)) != 0 {
			t.Fatalf("two-step off: %v (total %d, marked %v); want Olive and Ofer, unmarked", got, page.Total, marked(page))
		}
		_, page = names(service.UserQuery{})
		if len(page.Users) != 3 || !slices.Equal(marked(page), []int64{on.ID}) {
			t.Fatalf("the whole list marks %v; want Ona (%d) alone", marked(page), on.ID)
		}
		_, err := f.svc.FindUsers(f.as(f.owner), service.UserQuery{TwoStep: "maybe"})
		wantCode(t, err, muster.EINVALID)
	})
}

// TestSSOSignInSkipsSecondStep: single sign-on relies on the identity
// provider's own checks; the policy and a person's factors ask nothing of
// it, while the same person's password sign-in is asked.
func TestSSOSignInSkipsSecondStep(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setupSSO(t, db, 10)
		f.connect()
		f.passTest()
		if _, err := f.svc.SetTwoStepPolicy(f.as(f.owner), service.TwoStepPolicyInput{Scope: muster.TwoStepEveryone}); err != nil {
			t.Fatal(err)
		}
		f.enrolTOTP(t, f.owner)
		out, err := f.signIn(f.owner.Email)
		if err != nil || out.SignedIn == nil || out.SignedIn.Pending != nil || out.SignedIn.Session == nil ||
			out.SignedIn.Session.Method != muster.SessionSSO {
			t.Fatalf("the Owner's SSO sign-in = %+v, %v; want a session at once", out, err)
		}
		f.passwordStep(t, f.owner)
	})
}

// TestDeactivationForgetsRememberedBrowsers: a deactivation ends whatever
// lets the person in (DEA-1), the browsers remembered to skip their second
// step too: invited back, they are asked for it again, on the accept page
// and at sign-in, from a browser remembered in their earlier life.
func TestDeactivationForgetsRememberedBrowsers(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := twoStepFixture(t, db)
		u := f.active("Rhea", muster.RoleManager)
		key, _ := f.enrolTOTP(t, u)
		if _, err := f.svc.SetTwoStepPolicy(f.as(f.owner), service.TwoStepPolicyInput{Scope: muster.TwoStepOff,
			GraceDays: 7, RememberBrowser: true}); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(30 * time.Second)
		done, err := f.svc.VerifySecondStep(context.Background(), f.passwordStep(t, u), codeAt(t, key, f.clock.Now()), true, browser)
		if err != nil || done.RememberToken == "" {
			t.Fatalf("VerifySecondStep = %+v, %v; want a remembered browser", done, err)
		}
		remembered := browser
		remembered.RememberedBrowser = done.RememberToken

		if _, err := f.svc.Deactivate(f.as(f.owner), u.ID); err != nil {
			t.Fatal(err)
		}
		again, err := f.svc.InviteAgain(f.as(f.owner), u.ID, service.UserUpdate{})
		if err != nil {
			t.Fatal(err)
		}
		in, err := f.svc.AcceptInvitation(context.Background(), tokenOf(again.Link), twoStepPassword, remembered)
		if err != nil {
			t.Fatal(err)
		}
		if in.Session != nil || in.Pending == nil {
			t.Fatal("a browser remembered before the deactivation skipped the second step of the invitation again")
		}
		in, err = f.svc.SignIn(context.Background(), u.Email, twoStepPassword, remembered)
		if err != nil {
			t.Fatal(err)
		}
		if in.Session != nil || in.Pending == nil {
			t.Fatal("a browser remembered before the deactivation skipped the second step of a sign-in")
		}
	})
}
