package service_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/secret"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/webauthntest"
	"github.com/muster-app/muster/internal/web"
)

// passkeyOrigin is the origin of the fixture's base URL, which passkeys
// answer for.
const passkeyOrigin = "https://muster.example.com"

// passkeySession stands for the console session the Owner's ceremonies
// are begun and finished in.
const passkeySession = 77

// addPasskey registers a new software authenticator as the Owner's passkey
// named name.
func (f *fixture) addPasskey(t *testing.T, name string) (*webauthntest.Authenticator, *muster.Passkey) {
	t.Helper()
	auth := webauthntest.New(t)
	begun, err := f.svc.BeginPasskeyRegistration(f.as(f.owner), name, passkeySession)
	if err != nil {
		t.Fatalf("BeginPasskeyRegistration: %v", err)
	}
	added, err := f.svc.FinishPasskeyRegistration(f.as(f.owner), begun.Token, auth.Create(begun.Options, passkeyOrigin), passkeySession)
	if err != nil {
		t.Fatalf("FinishPasskeyRegistration: %v", err)
	}
	return auth, added.Passkey
}

// passkeys lists the Owner's passkeys by name.
func (f *fixture) passkeyNames(t *testing.T) []string {
	t.Helper()
	keys, err := f.svc.Passkeys(f.as(f.owner))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, k := range keys {
		names = append(names, k.Name)
	}
	return names
}

// auditActions are the org's audit events with action, newest first.
func (f *fixture) auditOf(t *testing.T, action string) []*muster.AuditEvent {
	t.Helper()
	page, err := f.svc.FindAuditEvents(f.as(f.owner), service.AuditQuery{Action: action, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return page.Events
}

func wantNames(t *testing.T, got []string, want ...string) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("passkeys = %q; want %q", got, want)
	}
}

func TestPasskeyRegistration(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		auth := webauthntest.New(t)
		begun, err := f.svc.BeginPasskeyRegistration(f.as(f.owner), "  YubiKey   on my keyring ", passkeySession)
		if err != nil {
			t.Fatal(err)
		}
		added, err := f.svc.FinishPasskeyRegistration(f.as(f.owner), begun.Token, auth.Create(begun.Options, passkeyOrigin), passkeySession)
		if err != nil {
			t.Fatal(err)
		}
		p := added.Passkey
		if p.Name != "YubiKey on my keyring" || p.RPID != "muster.example.com" || p.SignCount != 0 ||
			fmt.Sprint(p.Transports) != "[usb]" || !p.LastUsedAt.IsZero() || !p.CreatedAt.Equal(f.clock.Now().UTC()) {
			t.Fatalf("the new passkey: %+v", p)
		}
		// The first factor: the person's recovery codes come with it, once.
		if added.RecoveryCodes == nil || len(added.RecoveryCodes.Codes) != muster.TwoStepRecoveryCodeCount {
			t.Fatalf("recovery codes with the first passkey: %+v", added.RecoveryCodes)
		}
		wantNames(t, f.passkeyNames(t), "YubiKey on my keyring")
		if ev := f.auditOf(t, muster.ActionTwoStepFactorAdded); len(ev) != 1 || ev[0].After["name"] != "YubiKey on my keyring" ||
			ev[0].After["kind"] != "passkey" || ev[0].TargetID != f.owner.ID {
			t.Fatalf("audit of the addition: %+v", ev)
		}
		// It is a two-step factor: the Security page lists it, and the
		// password alone no longer signs in.
		st, err := f.svc.TwoStep(f.as(f.owner))
		if err != nil || len(st.Factors) != 1 || st.Factors[0].Kind != muster.FactorPasskey || st.RecoveryCodesLeft != 10 {
			t.Fatalf("TwoStep: %+v, %v", st, err)
		}
		f.passwordStep(t, f.owner)

		// The same name again is refused before the browser is asked.
		_, err = f.svc.BeginPasskeyRegistration(f.as(f.owner), "yubikey on my keyring", passkeySession)
		if err != nil {
			t.Fatalf("a name that differs in case: %v", err)
		}
		_, err = f.svc.BeginPasskeyRegistration(f.as(f.owner), "YubiKey on my keyring", passkeySession)
		wantCode(t, err, muster.ECONFLICT)
		if fe := muster.ErrorFields(err); len(fe) != 1 || fe[0].Field != muster.FieldName {
			t.Fatalf("the refusal's fields: %+v", fe)
		}
		for _, bad := range []string{"", "a\u200bb", strings.Repeat("x", 101)} {
			_, err := f.svc.BeginPasskeyRegistration(f.as(f.owner), bad, passkeySession)
			wantCode(t, err, muster.EINVALID)
		}

		// The same authenticator again: refused, nothing added.
		begun, err = f.svc.BeginPasskeyRegistration(f.as(f.owner), "Again", passkeySession)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.FinishPasskeyRegistration(f.as(f.owner), begun.Token, auth.Create(begun.Options, passkeyOrigin), passkeySession)
		wantCode(t, err, muster.ECONFLICT)
		if !strings.Contains(muster.ErrorMessage(err), "already registered as “YubiKey on my keyring”") {
			t.Fatalf("the refusal says %q", muster.ErrorMessage(err))
		}

		// Someone else may not register the Owner's credential.
		admin := f.active("Ada", muster.RoleAdmin)
		begun, err = f.svc.BeginPasskeyRegistration(f.as(admin), "Borrowed", 5)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.FinishPasskeyRegistration(f.as(admin), begun.Token, auth.Create(begun.Options, passkeyOrigin), 5)
		wantCode(t, err, muster.ECONFLICT)
		if keys, err := f.svc.Passkeys(f.as(admin)); err != nil || len(keys) != 0 {
			t.Fatalf("the Admin's passkeys: %v, %v", keys, err)
		}
		wantNames(t, f.passkeyNames(t), "YubiKey on my keyring")
	})
}

func TestPasskeyCeremonyOnce(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		owner := f.as(f.owner)
		auth := webauthntest.New(t)

		begun, err := f.svc.BeginPasskeyRegistration(owner, "Laptop", passkeySession)
		if err != nil {
			t.Fatal(err)
		}
		answer := auth.Create(begun.Options, passkeyOrigin)
		// Another session of the same person, and someone else, may not
		// finish it.
		_, err = f.svc.FinishPasskeyRegistration(owner, begun.Token, answer, passkeySession+1)
		wantCode(t, err, muster.EGONE)
		_, err = f.svc.FinishPasskeyRegistration(f.as(f.active("Ada", muster.RoleAdmin)), begun.Token, answer, passkeySession)
		wantCode(t, err, muster.EGONE)
		if _, err := f.svc.FinishPasskeyRegistration(owner, begun.Token, answer, passkeySession); err != nil {
			t.Fatalf("the first answer: %v", err)
		}
		// The same answer again (a replay): its challenge was used.
		_, err = f.svc.FinishPasskeyRegistration(owner, begun.Token, answer, passkeySession)
		wantCode(t, err, muster.EGONE)
		wantNames(t, f.passkeyNames(t), "Laptop")

		// A refused answer uses the challenge up too.
		begun, err = f.svc.BeginPasskeyRegistration(owner, "Phone", passkeySession)
		if err != nil {
			t.Fatal(err)
		}
		phone := webauthntest.New(t)
		_, err = f.svc.FinishPasskeyRegistration(owner, begun.Token, []byte(`{"id":"x"}`), passkeySession)
		wantCode(t, err, muster.EINVALID)
		_, err = f.svc.FinishPasskeyRegistration(owner, begun.Token, phone.Create(begun.Options, passkeyOrigin), passkeySession)
		wantCode(t, err, muster.EGONE)
		wantNames(t, f.passkeyNames(t), "Laptop")
	})
}

func TestPasskeyCeremonyExpires(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		owner := f.as(f.owner)
		auth := webauthntest.New(t)
		begun, err := f.svc.BeginPasskeyRegistration(owner, "Laptop", passkeySession)
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(muster.PasskeyCeremonyTTL)
		_, err = f.svc.FinishPasskeyRegistration(owner, begun.Token, auth.Create(begun.Options, passkeyOrigin), passkeySession)
		wantCode(t, err, muster.EGONE)
		wantNames(t, f.passkeyNames(t))

		// The janitor deletes what expired.
		f.clock.Advance(time.Second)
		n, err := f.svc.DeleteExpired(context.Background())
		if err != nil || n.PasskeyCeremonies != 1 {
			t.Fatalf("DeleteExpired: %+v, %v; want one passkey ceremony", n, err)
		}

		// Within the time, it works.
		begun, err = f.svc.BeginPasskeyRegistration(owner, "Laptop", passkeySession)
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(muster.PasskeyCeremonyTTL - time.Second)
		if _, err := f.svc.FinishPasskeyRegistration(owner, begun.Token, auth.Create(begun.Options, passkeyOrigin), passkeySession); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPasskeyWrongOrigin(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		owner := f.as(f.owner)
		auth := webauthntest.New(t)
		begun, err := f.svc.BeginPasskeyRegistration(owner, "Laptop", passkeySession)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.FinishPasskeyRegistration(owner, begun.Token, auth.Create(begun.Options, "https://muster.example.com.evil.test"), passkeySession)
		wantCode(t, err, muster.EUNAUTHORIZED)
		if msg := muster.ErrorMessage(err); !strings.Contains(msg, "answered for https://muster.example.com.evil.test, not for https://muster.example.com") {
			t.Fatalf("the refusal says %q", msg)
		}
		wantNames(t, f.passkeyNames(t))
		if ev := f.auditOf(t, muster.ActionTwoStepFactorAdded); len(ev) != 0 {
			t.Fatalf("audited: %+v", ev)
		}

		// An assertion made for another origin is refused the same way,
		// as a second step and as the confirmation of turning the last
		// factor off: audited, and nothing changes.
		key, _ := f.addPasskey(t, "Key")
		pending := f.passwordStep(t, f.owner)
		begun, err = f.svc.BeginPasskeySecondStep(context.Background(), pending)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.VerifySecondStepPasskey(context.Background(), pending, begun.Token,
			key.Get(begun.Options, "https://muster.example.com:8443"), false, browser)
		wantCode(t, err, muster.EUNAUTHORIZED)
		if msg := muster.ErrorMessage(err); !strings.Contains(msg, "answered for https://muster.example.com:8443, not for https://muster.example.com") {
			t.Fatalf("the refusal says %q", msg)
		}
		if n := f.sessionCount(t, f.owner); n != 1 {
			t.Fatalf("%d sessions after the refused second step; want the set-up's one", n)
		}
		if ev := f.auditOf(t, muster.ActionTwoStepFailed); len(ev) != 1 || ev[0].After["kind"] != "passkey" ||
			!strings.Contains(fmt.Sprint(ev[0].After["reason"]), "answered for https://muster.example.com:8443") {
			t.Fatalf("audit of the refusal: %+v", ev)
		}

		err = f.svc.RemoveFactorWithPasskey(owner, f.passkeyID(t, "Key"), twoStepPassword, "", nil, passkeySession)
		wantCode(t, err, muster.EINVALID)
		proof := f.confirmation(t, key, "http://muster.example.com")
		err = f.svc.RemoveFactorWithPasskey(owner, f.passkeyID(t, "Key"), twoStepPassword, proof.token, proof.response, passkeySession)
		wantCode(t, err, muster.EINVALID)
		if fe := muster.ErrorFields(err); len(fe) != 1 || fe[0].Field != muster.FieldPasskey ||
			!strings.Contains(fe[0].Message, "answered for http://muster.example.com, not for https://muster.example.com") {
			t.Fatalf("the refusal's fields: %+v", fe)
		}
		wantNames(t, f.passkeyNames(t), "Key")
	})
}

// passkeyID is the id of the Owner's passkey named name.
func (f *fixture) passkeyID(t *testing.T, name string) int64 {
	t.Helper()
	keys, err := f.svc.Passkeys(f.as(f.owner))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.Name == name {
			return k.ID
		}
	}
	t.Fatalf("no passkey %q", name)
	return 0
}

// passkeyProof is a confirmation's token and the answer to it.
type passkeyProof struct {
	token    string
	response []byte
}

// confirmation is a confirmation of the Owner's answered by auth at origin.
func (f *fixture) confirmation(t *testing.T, auth *webauthntest.Authenticator, origin string) passkeyProof {
	t.Helper()
	begun, err := f.svc.BeginPasskeyConfirmation(f.as(f.owner), passkeySession)
	if err != nil {
		t.Fatalf("BeginPasskeyConfirmation: %v", err)
	}
	return passkeyProof{token: begun.Token, response: auth.Get(begun.Options, origin)}
}

func TestPasskeyRemoveLastFactor(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		owner := f.as(f.owner)
		laptop, _ := f.addPasskey(t, "Laptop")
		_, _ = f.addPasskey(t, "Phone")
		// Not the last factor: no proof asked.
		if err := f.svc.RemoveFactor(owner, f.passkeyID(t, "Phone"), "", ""); err != nil {
			t.Fatalf("removing one of two: %v", err)
		}
		if ev := f.auditOf(t, muster.ActionTwoStepFactorRemoved); len(ev) != 1 || ev[0].Before["name"] != "Phone" ||
			ev[0].Before["kind"] != "passkey" {
			t.Fatalf("audit of the removal: %+v", ev)
		}
		id := f.passkeyID(t, "Laptop")

		// The last one: the password and a current factor are asked for.
		err := f.svc.RemoveFactorWithPasskey(owner, id, "", "", nil, passkeySession)
		wantCode(t, err, muster.EINVALID)
		if fe := muster.ErrorFields(err); len(fe) != 2 || fe[0].Field != muster.FieldPassword || fe[1].Field != muster.FieldPasskey {
			t.Fatalf("the refusal's fields: %+v", fe)
		}
		proof := f.confirmation(t, laptop, passkeyOrigin)
		err = f.svc.RemoveFactorWithPasskey(owner, id, "not my password", proof.token, proof.response, passkeySession)
		wantCode(t, err, muster.EINVALID)
		if fe := muster.ErrorFields(err); len(fe) != 1 || fe[0].Field != muster.FieldPassword {
			t.Fatalf("the refusal's fields: %+v", fe)
		}
		// The confirmation was used by that attempt.
		err = f.svc.RemoveFactorWithPasskey(owner, id, twoStepPassword, proof.token, proof.response, passkeySession)
		wantCode(t, err, muster.EINVALID)
		// Someone else's passkey is not found, whatever the proof.
		wantCode(t, f.svc.RemoveFactorWithPasskey(f.as(f.active("Ada", muster.RoleAdmin)), id, twoStepPassword,
			proof.token, proof.response, passkeySession), muster.ENOTFOUND)
		// A confirmation begun in another session does not count here.
		proof = f.confirmation(t, laptop, passkeyOrigin)
		wantCode(t, f.svc.RemoveFactorWithPasskey(owner, id, twoStepPassword, proof.token, proof.response, passkeySession+1),
			muster.EINVALID)
		wantNames(t, f.passkeyNames(t), "Laptop")

		// With both, from the session that began the confirmation.
		proof = f.confirmation(t, laptop, passkeyOrigin)
		if err := f.svc.RemoveFactorWithPasskey(owner, id, twoStepPassword, proof.token, proof.response, passkeySession); err != nil {
			t.Fatalf("removing the last passkey with the password and the passkey: %v", err)
		}
		wantNames(t, f.passkeyNames(t))
		if ev := f.auditOf(t, muster.ActionTwoStepFactorRemoved); len(ev) != 2 || ev[0].Before["name"] != "Laptop" {
			t.Fatalf("audit of the removal: %+v", ev)
		}
		// Two-step verification is off: the password alone signs in.
		if in, err := f.svc.SignIn(context.Background(), f.owner.Email, twoStepPassword, browser); err != nil || in.Pending != nil {
			t.Fatalf("SignIn after the last factor went: %+v, %v; want a session", in, err)
		}
		// No passkey left to confirm with.
		_, err = f.svc.BeginPasskeyConfirmation(owner, passkeySession)
		wantCode(t, err, muster.ECONFLICT)
	})
}

// TestPasskeyLastFactorWithRecoveryCode: a passkey that is the last factor
// may also be turned off with the password and one of the recovery codes
// that came with it.
func TestPasskeyLastFactorWithRecoveryCode(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		begun, err := f.svc.BeginPasskeyRegistration(f.as(f.owner), "Key", passkeySession)
		if err != nil {
			t.Fatal(err)
		}
		added, err := f.svc.FinishPasskeyRegistration(f.as(f.owner), begun.Token,
			webauthntest.New(t).Create(begun.Options, passkeyOrigin), passkeySession)
		if err != nil {
			t.Fatal(err)
		}
		err = f.svc.RemoveFactor(f.as(f.owner), added.Passkey.ID, twoStepPassword, "not-a-code")
		wantCode(t, err, muster.EINVALID)
		if err := f.svc.RemoveFactor(f.as(f.owner), added.Passkey.ID, twoStepPassword, added.RecoveryCodes.Codes[3]); err != nil {
			t.Fatalf("with a recovery code: %v", err)
		}
		wantNames(t, f.passkeyNames(t))
	})
}

// secondStep signs the Owner in with the password and then with the passkey
// auth answering at origin.
func (f *fixture) passkeySecondStep(t *testing.T, auth *webauthntest.Authenticator, origin string) (*service.SecondStepDone, error) {
	t.Helper()
	pending := f.passwordStep(t, f.owner)
	begun, err := f.svc.BeginPasskeySecondStep(context.Background(), pending)
	if err != nil {
		t.Fatalf("BeginPasskeySecondStep: %v", err)
	}
	return f.svc.VerifySecondStepPasskey(context.Background(), pending, begun.Token, auth.Get(begun.Options, origin), false, browser)
}

func TestPasskeySecondStep(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		key, _ := f.addPasskey(t, "Key")
		other := webauthntest.New(t) // never registered
		sessions := f.sessionCount(t, f.owner)

		done, err := f.passkeySecondStep(t, key, passkeyOrigin)
		if err != nil || done.Session == nil || done.Token == "" {
			t.Fatalf("the second step with the passkey: %+v, %v", done, err)
		}
		if n := f.sessionCount(t, f.owner); n != sessions+1 {
			t.Fatalf("%d sessions; want one more", n)
		}
		keys, err := f.svc.Passkeys(f.as(f.owner))
		if err != nil || keys[0].SignCount != 1 || !keys[0].LastUsedAt.Equal(f.clock.Now().UTC()) {
			t.Fatalf("after its use: %+v, %v; want its counter 1 and the time", keys, err)
		}

		// An authenticator that holds no passkey of the Owner's.
		_, err = f.passkeySecondStep(t, other, passkeyOrigin)
		wantCode(t, err, muster.EUNAUTHORIZED)
		if fe := muster.ErrorFields(err); len(fe) != 1 || fe[0].Field != muster.FieldPasskey {
			t.Fatalf("the refusal's fields: %+v", fe)
		}

		// A ceremony is answered once: the same answer again, on the same
		// pending sign-in, is refused and starts no session.
		pending := f.passwordStep(t, f.owner)
		begun, err := f.svc.BeginPasskeySecondStep(context.Background(), pending)
		if err != nil {
			t.Fatal(err)
		}
		answer := key.Get(begun.Options, passkeyOrigin)
		// Not with another pending sign-in's ceremony.
		elsewhere := f.passwordStep(t, f.owner)
		_, err = f.svc.VerifySecondStepPasskey(context.Background(), elsewhere, begun.Token, answer, false, browser)
		wantCode(t, err, muster.EGONE)
		if _, err := f.svc.VerifySecondStepPasskey(context.Background(), pending, begun.Token, answer, false, browser); err != nil {
			t.Fatalf("the answer: %v", err)
		}
		before := f.sessionCount(t, f.owner)
		_, err = f.svc.VerifySecondStepPasskey(context.Background(), pending, begun.Token, answer, false, browser)
		wantCode(t, err, muster.EUNAUTHORIZED) // the sign-in is used up
		if n := f.sessionCount(t, f.owner); n != before {
			t.Fatalf("the replay started a session")
		}

		// A ceremony past its time is refused.
		pending = f.passwordStep(t, f.owner)
		begun, err = f.svc.BeginPasskeySecondStep(context.Background(), pending)
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(muster.PasskeyCeremonyTTL)
		_, err = f.svc.VerifySecondStepPasskey(context.Background(), pending, begun.Token, key.Get(begun.Options, passkeyOrigin), false, browser)
		wantCode(t, err, muster.EGONE)
		if n := f.sessionCount(t, f.owner); n != before {
			t.Fatalf("the late answer started a session")
		}
	})
}

func TestPasskeySignCount(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		owner := f.as(f.owner)
		key := webauthntest.New(t)
		key.SignCount = 41
		begun, err := f.svc.BeginPasskeyRegistration(owner, "Old key", passkeySession)
		if err != nil {
			t.Fatal(err)
		}
		added, err := f.svc.FinishPasskeyRegistration(owner, begun.Token, key.Create(begun.Options, passkeyOrigin), passkeySession)
		if err != nil || added.Passkey.SignCount != 41 {
			t.Fatalf("registered: %+v, %v; want its counter, 41", added, err)
		}
		// A copy of the key whose counter is behind: refused, audited, and
		// no session.
		key.SignCount = 40
		sessions := f.sessionCount(t, f.owner)
		_, err = f.passkeySecondStep(t, key, passkeyOrigin)
		wantCode(t, err, muster.EUNAUTHORIZED)
		if msg := muster.ErrorMessage(err); !strings.Contains(msg, "signature counter went backwards") {
			t.Fatalf("the refusal says %q", msg)
		}
		if n := f.sessionCount(t, f.owner); n != sessions {
			t.Fatalf("a session for the copied key")
		}
		keys, err := f.svc.Passkeys(owner)
		if err != nil || len(keys) != 1 || keys[0].SignCount != 41 || !keys[0].LastUsedAt.IsZero() {
			t.Fatalf("after the refusal: %+v, %v", keys, err)
		}
		if ev := f.auditOf(t, muster.ActionTwoStepFailed); len(ev) != 1 ||
			!strings.Contains(fmt.Sprint(ev[0].After["reason"]), "signature counter went backwards") {
			t.Fatalf("audit of the refusal: %+v", ev)
		}
		// Ahead of it again (42): accepted, and kept.
		key.SignCount = 41
		if _, err := f.passkeySecondStep(t, key, passkeyOrigin); err != nil {
			t.Fatalf("with the counter ahead: %v", err)
		}
		if keys, err := f.svc.Passkeys(owner); err != nil || keys[0].SignCount != 42 {
			t.Fatalf("after the use: %+v, %v; want its counter 42", keys, err)
		}
	})
}

func TestPasskeysUnavailableWithoutHostName(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		svc := service.New(db, service.Config{BaseURL: "http://127.0.0.1:8080", Links: web.NewLinks("http://127.0.0.1:8080"),
			Now: f.clock.Now, PasswordParams: secret.TestParams})
		if msg := svc.PasskeysUnavailable(); !strings.Contains(msg, "host name, not an IP address") {
			t.Fatalf("PasskeysUnavailable = %q", msg)
		}
		_, err := svc.BeginPasskeyRegistration(f.as(f.owner), "Laptop", passkeySession)
		wantCode(t, err, muster.ECONFLICT)
		if f.svc.PasskeysUnavailable() != "" {
			t.Fatalf("with a host name: %q", f.svc.PasskeysUnavailable())
		}
		// The scheme's own port is the origin without one, as browsers
		// write it: a passkey answers such a server.
		svc = service.New(db, service.Config{BaseURL: "https://Muster.Example.com:443/", Links: web.NewLinks("https://muster.example.com"),
			Now: f.clock.Now, PasswordParams: secret.TestParams})
		begun, err := svc.BeginPasskeyRegistration(f.as(f.owner), "Laptop", passkeySession)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.FinishPasskeyRegistration(f.as(f.owner), begun.Token,
			webauthntest.New(t).Create(begun.Options, passkeyOrigin), passkeySession); err != nil {
			t.Fatalf("at https://muster.example.com:443: %v", err)
		}
	})
}

func TestPasskeyCeremonyLimit(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		owner := f.as(f.owner)
		const tries = 3 * muster.MaxPasskeyCeremonies
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			begun   int
			limited int
		)
		for i := range tries {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := f.svc.BeginPasskeyRegistration(owner, fmt.Sprintf("Key %d", i), passkeySession)
				mu.Lock()
				defer mu.Unlock()
				switch muster.ErrorCode(err) {
				case "":
					begun++
				case muster.ETOOMANY:
					limited++
				default:
					t.Errorf("BeginPasskeyRegistration: %v", err)
				}
			}()
		}
		wg.Wait()
		if begun != muster.MaxPasskeyCeremonies || limited != tries-begun {
			t.Fatalf("%d begun and %d refused of %d at once; want %d begun", begun, limited, tries, muster.MaxPasskeyCeremonies)
		}
		// Once they have expired, more may begin.
		f.clock.Advance(muster.PasskeyCeremonyTTL)
		if _, err := f.svc.BeginPasskeyRegistration(owner, "Later", passkeySession); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPasskeyRename(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		owner := f.as(f.owner)
		_, laptop := f.addPasskey(t, "Laptop")
		_, _ = f.addPasskey(t, "Phone")
		p, err := f.svc.RenamePasskey(owner, laptop.ID, " Work  laptop ")
		if err != nil || p.Name != "Work laptop" {
			t.Fatalf("RenamePasskey: %+v, %v", p, err)
		}
		_, err = f.svc.RenamePasskey(owner, laptop.ID, "Phone")
		wantCode(t, err, muster.ECONFLICT)
		_, err = f.svc.RenamePasskey(owner, laptop.ID, "")
		wantCode(t, err, muster.EINVALID)
		// Someone else's passkey is not theirs to rename.
		_, err = f.svc.RenamePasskey(f.as(f.active("Ada", muster.RoleAdmin)), laptop.ID, "Mine")
		wantCode(t, err, muster.ENOTFOUND)
		wantNames(t, f.passkeyNames(t), "Work laptop", "Phone")
		ev := f.auditOf(t, muster.ActionPasskeyRenamed)
		if len(ev) != 1 || ev[0].Before["passkey"] != "Laptop" || ev[0].After["passkey"] != "Work laptop" {
			t.Fatalf("audit of the rename: %+v", ev)
		}
	})
}

// TestPasskeyCountsForPolicy: where the organization requires two-step
// verification, a passkey is a factor like an app: its person is asked for
// the second step, not led to enrolment; and it counts for the last-factor
// rule beside an authenticator app.
func TestPasskeyCountsForPolicy(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := twoStepFixture(t, db)
		if _, err := f.svc.SetTwoStepPolicy(f.as(f.owner), service.TwoStepPolicyInput{Scope: muster.TwoStepEveryone}); err != nil {
			t.Fatal(err)
		}
		admin := f.active("Ada", muster.RoleAdmin)
		step, err := f.svc.FindSecondStep(context.Background(), f.passwordStep(t, admin))
		if err != nil || !step.Enrol || step.CanSkip {
			t.Fatalf("without a factor, past a grace of 0 days: %+v, %v; want enrolment only", step, err)
		}

		key, _ := f.addPasskey(t, "Key")
		pending := f.passwordStep(t, f.owner)
		step, err = f.svc.FindSecondStep(context.Background(), pending)
		if err != nil || step.Enrol || len(step.Factors) != 1 || step.Factors[0].Kind != muster.FactorPasskey {
			t.Fatalf("with a passkey: %+v, %v; want the second step with it", step, err)
		}
		if st, err := f.svc.TwoStep(f.as(f.owner)); err != nil || !st.Required || len(st.Factors) != 1 {
			t.Fatalf("TwoStep: %+v, %v", st, err)
		}
		if done, err := f.passkeySecondStep(t, key, passkeyOrigin); err != nil || done.Session == nil {
			t.Fatalf("the second step: %+v, %v", done, err)
		}

		// With an authenticator app too, the passkey is not the last factor;
		// then the app is, and a passkey no longer there cannot confirm.
		en, err := f.svc.StartTOTP(f.as(f.owner), "", browser)
		if err != nil {
			t.Fatal(err)
		}
		secretText := en.Secret
		if done, err := f.svc.ConfirmTOTP(f.as(f.owner), "", codeAt(t, secretText, f.clock.Now()), browser); err != nil ||
			done.RecoveryCodes != nil {
			t.Fatalf("ConfirmTOTP: %+v, %v; want no new recovery codes (the passkey's stand)", done, err)
		}
		if err := f.svc.RemoveFactor(f.as(f.owner), f.passkeyID(t, "Key"), "", ""); err != nil {
			t.Fatalf("removing the passkey beside an app: %v", err)
		}
		st, err := f.svc.TwoStep(f.as(f.owner))
		if err != nil || len(st.Factors) != 1 || st.Factors[0].Kind != muster.FactorTOTP {
			t.Fatalf("TwoStep after: %+v, %v; want the app alone", st, err)
		}
		_, err = f.svc.BeginPasskeyConfirmation(f.as(f.owner), passkeySession)
		wantCode(t, err, muster.ECONFLICT)
		f.clock.Advance(30 * time.Second)
		if err := f.svc.RemoveFactor(f.as(f.owner), st.Factors[0].ID, twoStepPassword, codeAt(t, secretText, f.clock.Now())); err != nil {
			t.Fatalf("removing the app, the last factor, with its code: %v", err)
		}
	})
}

// TestEnrolmentNeedsNoFactor: a pending sign-in of someone with a passkey
// cannot pass by setting up an authenticator app instead of the second
// step: the password alone adds no factor.
func TestEnrolmentNeedsNoFactor(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := twoStepFixture(t, db)
		f.addPasskey(t, "Key")
		pending := f.passwordStep(t, f.owner)
		_, err := f.svc.StartTOTP(context.Background(), pending, browser)
		wantCode(t, err, muster.ECONFLICT)
		_, err = f.svc.ConfirmTOTP(context.Background(), pending, "123456", browser)
		wantCode(t, err, muster.ECONFLICT)
		_, err = f.svc.BeginPasskeyEnrolment(context.Background(), pending, "Another key")
		wantCode(t, err, muster.ECONFLICT)
		if st, err := f.svc.TwoStep(f.as(f.owner)); err != nil || len(st.Factors) != 1 || st.PendingTOTP {
			t.Fatalf("TwoStep: %+v, %v; want the passkey alone", st, err)
		}
	})
}

// TestPasskeyEnrolment: where the organization requires two-step
// verification, someone without a factor may set up a passkey inside their
// sign-in, which it completes, with their recovery codes.
func TestPasskeyEnrolment(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := twoStepFixture(t, db)
		if _, err := f.svc.SetTwoStepPolicy(f.as(f.owner), service.TwoStepPolicyInput{Scope: muster.TwoStepEveryone}); err != nil {
			t.Fatal(err)
		}
		admin := f.active("Ada", muster.RoleAdmin)
		pending := f.passwordStep(t, admin)
		_, err := f.svc.BeginPasskeyEnrolment(context.Background(), pending, "")
		wantCode(t, err, muster.EINVALID)
		begun, err := f.svc.BeginPasskeyEnrolment(context.Background(), pending, "Ada's key")
		if err != nil {
			t.Fatal(err)
		}
		key := webauthntest.New(t)
		answer := key.Create(begun.Options, passkeyOrigin)
		// Not for another sign-in.
		_, err = f.svc.FinishPasskeyEnrolment(context.Background(), f.passwordStep(t, admin), begun.Token, answer, browser)
		wantCode(t, err, muster.EGONE)
		sessions := f.sessionCount(t, admin)
		done, err := f.svc.FinishPasskeyEnrolment(context.Background(), pending, begun.Token, answer, browser)
		if err != nil || done.Session == nil || done.RecoveryCodes == nil || len(done.RecoveryCodes.Codes) != 10 {
			t.Fatalf("FinishPasskeyEnrolment: %+v, %v; want a session and recovery codes", done, err)
		}
		if n := f.sessionCount(t, admin); n != sessions+1 {
			t.Fatalf("%d sessions; want one more", n)
		}
		// Next time, the passkey is the second step.
		pending = f.passwordStep(t, admin)
		step, err := f.svc.FindSecondStep(context.Background(), pending)
		if err != nil || step.Enrol || len(step.Factors) != 1 || step.Factors[0].Name != "Ada's key" {
			t.Fatalf("FindSecondStep: %+v, %v", step, err)
		}
		begun, err = f.svc.BeginPasskeySecondStep(context.Background(), pending)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.VerifySecondStepPasskey(context.Background(), pending, begun.Token,
			key.Get(begun.Options, passkeyOrigin), false, browser); err != nil {
			t.Fatalf("the second step: %v", err)
		}
	})
}
