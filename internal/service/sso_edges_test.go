package service_test

import (
	"context"
	"errors"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/idptest"
)

// TestSSOTurnedOffDuringTheCodeExchange: the Owner turns SSO sign-in off
// (say, because the identity provider is compromised) while a sign-in is
// at the provider's token endpoint. The sign-in finishes after the change
// has committed, so it must not sign anyone in; likewise just-in-time
// provisioning turned off during the exchange must not create a user.
func TestSSOTurnedOffDuringTheCodeExchange(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setupSSO(t, db, 10)
		f.connect()
		f.passTest()
		bella := f.active("Bella", muster.RoleBasic)

		t.Run("SSOOff", func(t *testing.T) {
			f.idp.SignInAs(idptest.User{Subject: "sub-bella", Email: bella.Email, EmailVerified: true})
			// The provider's token endpoint runs this while it answers
			// Muster's code exchange: the Owner turns SSO sign-in off then.
			f.idp.SetNext(idptest.Next{Claims: func(map[string]any) {
				if err := f.svc.SetSSOEnabled(f.as(f.owner), false); err != nil {
					t.Errorf("SetSSOEnabled(false): %v", err)
				}
			}})
			out, err := f.signIn(bella.Email)
			if len(f.events(muster.ActionSSODisabled)) != 1 {
				t.Fatal("SSO sign-in was not turned off during the exchange")
			}
			if out != nil && out.SignedIn != nil {
				t.Fatalf("a sign-in finished after SSO sign-in was turned off started a session for %s (method %s)",
					out.SignedIn.User.Email, out.SignedIn.Session.Method)
			}
			wantReason(t, err, "sso_off")
		})

		t.Run("JITOff", func(t *testing.T) {
			f.idp.SignInAs(idptest.User{Subject: "sub-owner", Email: f.owner.Email, EmailVerified: true})
			f.passTest()
			if err := f.svc.SetSSOJIT(f.as(f.owner), true); err != nil {
				t.Fatal(err)
			}
			f.idp.SignInAs(idptest.User{Subject: "sub-new", Email: "newcomer@example.com", EmailVerified: true})
			f.idp.SetNext(idptest.Next{Claims: func(map[string]any) {
				if err := f.svc.SetSSOJIT(f.as(f.owner), false); err != nil {
					t.Errorf("SetSSOJIT(false): %v", err)
				}
			}})
			out, err := f.signIn("newcomer@example.com")
			if out != nil && out.SignedIn != nil {
				t.Fatalf("just-in-time provisioning turned off during the exchange still created and signed in %s",
					out.SignedIn.User.Email)
			}
			wantReason(t, err, "no_account")
			if _, err := f.svc.FindUserByEmail(f.as(f.owner), "newcomer@example.com"); muster.ErrorCode(err) != muster.ENOTFOUND {
				t.Fatalf("the newcomer after the refusal: %v; want no user", err)
			}
		})
	})
}

// TestSSOSecretStaysWithItsIssuer: the client secret is write-only (the
// Owner never sees it again), so pointing the connection at another issuer
// must not send the saved secret there: the new issuer needs its own
// secret. Otherwise whoever holds the Owner's session reads the identity
// provider's client secret at a token endpoint of their own.
func TestSSOSecretStaysWithItsIssuer(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setupSSO(t, db, 10)
		f.connect()
		owner := f.as(f.owner)
		// A provider of the attacker's. Its token endpoint accepts only the
		// real provider's secret: a code redeemed there proves that the
		// secret reached it.
		evil := idptest.Start(t, idptest.User{Subject: "sub-owner", Email: f.owner.Email, EmailVerified: true})
		evil.ClientSecret = f.idp.ClientSecret
		_, err := f.svc.SaveSSOConnection(owner, service.SSOConnectionInput{Issuer: evil.URL, ClientID: evil.ClientID})
		if err == nil {
			start, err := f.svc.StartSSOTest(owner)
			if err != nil {
				t.Fatal(err)
			}
			out, err := f.finish(start)
			if err == nil && out.Test != nil && out.Test.Claims != nil {
				t.Fatalf("the connection moved to another issuer kept the saved secret, and Muster sent it to %s's "+
					"token endpoint (it redeemed a code there, %d token requests)", evil.URL, evil.Requests("token"))
			}
			t.Fatalf("the connection moved to another issuer without a secret was saved: %+v, %v", out, err)
		}
		wantCode(t, err, muster.EINVALID)
		var e *muster.Error
		if !errors.As(err, &e) || len(e.Fields) == 0 || e.Fields[0].Field != muster.FieldClientSecret {
			t.Fatalf("err = %#v; want a field error on the client secret", err)
		}
	})
}

// TestSSOInvitationAgainRelinks: Bella signed in through the provider
// (sub-bella), left and was deactivated; her account at the provider was
// deleted. She comes back: the provider has a new account for her (a new
// subject, as every provider makes for a recreated account), and an
// administrator invites her again. The invitation link proves who she is
// ("whatever email the provider has for them"), so accepting it through
// SSO must sign her in; there is no other way to move her identity, and
// with SSO required she would otherwise be locked out for good.
func TestSSOInvitationAgainRelinks(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setupSSO(t, db, 10)
		f.connect()
		f.passTest()
		bella := f.active("Bella", muster.RoleBasic)
		f.idp.SignInAs(idptest.User{Subject: "sub-bella", Email: bella.Email, EmailVerified: true})
		if _, err := f.signIn(bella.Email); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Deactivate(f.as(f.owner), bella.ID); err != nil {
			t.Fatal(err)
		}
		again, err := f.svc.InviteAgain(f.as(f.owner), bella.ID, service.UserUpdate{})
		if err != nil {
			t.Fatal(err)
		}
		link := again.Link // invited again: Pending, a new link
		if u := f.user(t, bella.ID); u.Status != muster.StatusPending {
			t.Fatalf("Bella invited again is %s; want Pending", u.Status)
		}
		f.idp.SignInAs(idptest.User{Subject: "sub-bella-2", Email: bella.Email, EmailVerified: true})
		start, err := f.svc.StartSSOInvitation(context.Background(), tokenOf(link), ssoBrowser)
		if err != nil {
			t.Fatal(err)
		}
		out, err := f.finish(start)
		if err != nil || out.SignedIn == nil || out.SignedIn.User.ID != bella.ID {
			t.Fatalf("Bella accepting her new invitation with her new provider account: %+v, %v; want her signed in", out, err)
		}
		// From now on her new account is hers, the old one no longer.
		f.idp.SignInAs(idptest.User{Subject: "sub-bella-2", Email: bella.Email, EmailVerified: true})
		if out, err := f.signIn(bella.Email); err != nil || out.SignedIn.User.ID != bella.ID {
			t.Fatalf("Bella's next sign-in: %+v, %v", out, err)
		}
		f.idp.SignInAs(idptest.User{Subject: "sub-bella", Email: "old@elsewhere.example", EmailVerified: true})
		if out, err := f.signIn(bella.Email); err == nil {
			t.Fatalf("the old provider account still signs in as %s", out.SignedIn.User.Email)
		}
	})
}

// TestSSOBogusLogoutTokensDoNotFloodTheProvider: the back-channel logout
// endpoint takes requests from anyone. A token naming a connection's issuer
// and client (both public: they are in every redirect to the provider) but
// signed with a key the provider does not publish makes Muster fetch the
// provider's keys again; each such request must not cost the provider a
// fetch (or three), or anyone can flood the organization's identity provider
// through Muster, and have Muster's address throttled there.
func TestSSOBogusLogoutTokensDoNotFloodTheProvider(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setupSSO(t, db, 10)
		f.connect()
		f.passTest()
		before := f.idp.Requests("jwks")
		const sent = 30
		for range sent {
			raw := forged(t, f.idp.LogoutToken("sub-owner", "", nil))
			if _, err := f.svc.BackChannelLogout(context.Background(), raw, ssoBrowser); muster.ErrorCode(err) != muster.EINVALID {
				t.Fatalf("a forged logout token: %v; want it refused", err)
			}
		}
		if n := f.idp.Requests("jwks") - before; n > 5 {
			t.Fatalf("%d forged logout tokens made Muster fetch the provider's keys %d times", sent, n)
		}
		// A real rotation is still seen.
		f.idp.RotateKey()
		if _, err := f.signIn(f.owner.Email); err != nil {
			t.Fatalf("sign-in after the key rotated: %v", err)
		}
	})
}

// TestSSORequiredOwnershipTransfer: ownership moves while SSO is required
// (an operator's transfer when the Owner has left must work): the former
// Owner's recovery codes stop working with their Owner's powers, the new
// Owner is shown that they have none, and makes their own at once, which
// sign them in without the provider.
func TestSSORequiredOwnershipTransfer(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setupSSO(t, db, 10)
		f.connect()
		f.passTest()
		ada := f.active("Ada", muster.RoleAdmin)
		codes, err := f.svc.RequireSSO(f.as(f.owner), true)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.TransferOwnership(f.as(f.owner), ada.ID, "a long enough secret"); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.SignInWithRecoveryCode(context.Background(), f.owner.Email, "a long enough secret",
			codes.Codes[0], ssoBrowser); err == nil {
			t.Fatal("the former Owner signed in with a recovery code after ownership moved")
		}
		st, err := f.svc.SSOSettings(f.as(ada))
		if err != nil {
			t.Fatal(err)
		}
		if st.RecoveryCodesLeft != 0 {
			t.Fatalf("the new Owner is shown %d recovery codes; want 0, so that they make their own", st.RecoveryCodesLeft)
		}
		own, err := f.svc.RegenerateRecoveryCodes(f.as(ada))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.SignInWithRecoveryCode(context.Background(), ada.Email, "a long enough secret",
			own.Codes[0], ssoBrowser); err != nil {
			t.Fatalf("the new Owner's own recovery code: %v", err)
		}
	})
}

// TestSSOSettingsChangedWhileAtProvider: a sign-in under way at the
// provider when the Owner changes the settings is refused as it comes back
// (the settings it began under are no longer the organization's).
func TestSSOSettingsChangedWhileAtProvider(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setupSSO(t, db, 10)
		f.connect()
		f.passTest()
		bella := f.active("Bella", muster.RoleBasic)
		f.idp.SignInAs(idptest.User{Subject: "sub-bella", Email: bella.Email, EmailVerified: true})
		start, err := f.svc.SignInRoute(context.Background(), bella.Email, "/", ssoBrowser)
		if err != nil || start == nil {
			t.Fatal(start, err)
		}
		// The Owner changes the settings while Bella is at the provider.
		if _, err := f.svc.SaveSSOConnection(f.as(f.owner), service.SSOConnectionInput{Issuer: f.idp.URL,
			ClientID: f.idp.ClientID, Scopes: "groups"}); err != nil {
			t.Fatal(err)
		}
		out, err := f.finish(start)
		if out != nil && out.SignedIn != nil {
			t.Fatalf("a sign-in started under settings version 1 and finished after they changed signed %s in",
				out.SignedIn.User.Email)
		}
		wantReason(t, err, "sso_off")
	})
}
