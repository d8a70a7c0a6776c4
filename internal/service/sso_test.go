package service_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/secret"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/sso"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport"
	"github.com/muster-app/muster/internal/testsupport/dnstest"
	"github.com/muster-app/muster/internal/testsupport/idptest"
	"github.com/muster-app/muster/internal/web"
)

// ssoFixture is an organization whose Owner's email is at example.com,
// with a DNS server the service asks for TXT records and an identity
// provider whose answers the test controls.
type ssoFixture struct {
	*fixture
	dns *dnstest.Zone
	idp *idptest.Provider
}

// ssoBrowser is how the single sign-on tests' sign-ins reach the service.
var ssoBrowser = service.Client{IP: "192.0.2.9", UserAgent: "test browser", Origin: "web 192.0.2.9"}

func setupSSO(t *testing.T, db *sqlstore.DB, licenses int) *ssoFixture {
	t.Helper()
	f := &ssoFixture{fixture: setup(t, db, licenses), dns: dnstest.StartTXT(t)}
	f.svc = service.New(db, service.Config{BaseURL: "https://muster.example.com",
		Links: web.NewLinks("https://muster.example.com"), Now: f.clock.Now, PasswordParams: secret.TestParams,
		SecretBox: testsupport.SecretBox(t), Resolver: sso.NewResolver(f.dns.Addr)})
	f.idp = idptest.Start(t, idptest.User{Subject: "sub-owner", Email: f.owner.Email, EmailVerified: true})
	return f
}

// connect saves the provider's settings and verifies example.com as the
// Owner.
func (f *ssoFixture) connect() {
	f.t.Helper()
	owner := f.as(f.owner)
	if _, err := f.svc.SaveSSOConnection(owner, service.SSOConnectionInput{Issuer: f.idp.URL, ClientID: f.idp.ClientID,
		ClientSecret: f.idp.ClientSecret}); err != nil {
		f.t.Fatalf("SaveSSOConnection: %v", err)
	}
	f.verify(owner, "example.com")
}

// verify adds domain and its record, and verifies it as ctx's admin.
func (f *ssoFixture) verify(ctx context.Context, domain string) *muster.SSODomain {
	f.t.Helper()
	d, err := f.svc.AddSSODomain(ctx, domain)
	if err != nil {
		f.t.Fatalf("AddSSODomain %s: %v", domain, err)
	}
	f.dns.SetTXT(domain, "v=spf1 -all", d.TXTRecord())
	if d, err = f.svc.VerifySSODomain(ctx, d.ID); err != nil {
		f.t.Fatalf("VerifySSODomain %s: %v", domain, err)
	}
	return d
}

// finish follows a begun sign-in through the provider back to the
// service, from the browser that began it.
func (f *ssoFixture) finish(start *service.SSOStart) (*service.SSOOutcome, error) {
	f.t.Helper()
	back := idptest.Follow(f.t, start.URL)
	return f.svc.FinishSSO(context.Background(), back.Query(), start.BrowserSecret, ssoBrowser)
}

// passTest runs the Owner's test sign-in, which must succeed, and turns
// SSO sign-in on.
func (f *ssoFixture) passTest() {
	f.t.Helper()
	start, err := f.svc.StartSSOTest(f.as(f.owner))
	if err != nil {
		f.t.Fatal(err)
	}
	out, err := f.finish(start)
	if err != nil || out.Test == nil || !out.Test.Succeeded {
		f.t.Fatalf("the Owner's test sign-in: %+v, %v; want a success", out, err)
	}
	if err := f.svc.SetSSOEnabled(f.as(f.owner), true); err != nil {
		f.t.Fatal(err)
	}
}

// signIn signs in through the email step as the provider's current user.
func (f *ssoFixture) signIn(email string) (*service.SSOOutcome, error) {
	f.t.Helper()
	start, err := f.svc.SignInRoute(context.Background(), email, "/", ssoBrowser)
	if err != nil || start == nil {
		f.t.Fatalf("SignInRoute %s: %+v, %v; want a sign-in at the provider", email, start, err)
	}
	return f.finish(start)
}

// events are the org's audit events with action, newest first.
func (f *ssoFixture) events(action string) []*muster.AuditEvent {
	f.t.Helper()
	page, err := f.svc.FindAuditEvents(f.as(f.owner), service.AuditQuery{Action: action, Limit: 100})
	if err != nil {
		f.t.Fatal(err)
	}
	return page.Events
}

// identities counts the identities linked in the org.
func (f *ssoFixture) identities() int {
	f.t.Helper()
	n := 0
	err := f.db.View(context.Background(), func(tx muster.Tx) error {
		for _, sub := range []string{"sub-owner", "sub-bella", "sub-mallory", "sub-new", "sub-dee"} {
			if _, err := tx.FindSSOIdentity(context.Background(), f.org.ID, f.idp.URL, sub); err == nil {
				n++
			} else if muster.ErrorCode(err) != muster.ENOTFOUND {
				return err
			}
		}
		return nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

func wantReason(t *testing.T, err error, reason string) {
	t.Helper()
	var e *muster.Error
	if !errors.As(err, &e) || e.Reason != reason {
		t.Fatalf("err = %v; want a refusal for %q", err, reason)
	}
}

// TestSSODomainVerification: a domain is verified by the TXT record that
// holds its token, looked up through the configured DNS server; a wrong
// record, no record, a server that fails and a domain another organization
// verified are refused, and the audit log says why. The daily check drops a
// domain whose record is gone, and keeps one whose server failed.
func TestSSODomainVerification(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setupSSO(t, db, 10)
		owner := f.as(f.owner)
		d, err := f.svc.AddSSODomain(owner, " Example.COM. ")
		if err != nil || d.Domain != "example.com" || !strings.HasPrefix(d.TXTRecord(), "muster-verification=") {
			t.Fatalf("AddSSODomain: %+v, %v", d, err)
		}
		_, err = f.svc.AddSSODomain(owner, "example.com")
		wantCode(t, err, muster.ECONFLICT)
		_, err = f.svc.AddSSODomain(owner, "not a domain")
		wantCode(t, err, muster.EINVALID)

		// No record at all: NXDOMAIN.
		_, err = f.svc.VerifySSODomain(owner, d.ID)
		wantCode(t, err, muster.ECONFLICT)
		// A record, but another token.
		f.dns.SetTXT("example.com", "muster-verification=someone-elses-token")
		_, err = f.svc.VerifySSODomain(owner, d.ID)
		wantCode(t, err, muster.ECONFLICT)
		// The server fails.
		f.dns.Fail(true)
		_, err = f.svc.VerifySSODomain(owner, d.ID)
		if wantCode(t, err, muster.ECONFLICT); !strings.Contains(muster.ErrorMessage(err), "did not answer") {
			t.Fatalf("a failing server: %v; want it said", err)
		}
		f.dns.Fail(false)
		failed := f.events(muster.ActionSSODomainFailed)
		if len(failed) != 3 || failed[2].After["reason"] != "record_missing" || failed[1].After["reason"] != "record_missing" ||
			failed[0].After["reason"] != "lookup_failed" {
			t.Fatalf("audit events of the failures: %+v", failed)
		}

		// The right record, among others.
		f.dns.SetTXT("example.com", "v=spf1 -all", d.TXTRecord())
		if d, err = f.svc.VerifySSODomain(owner, d.ID); err != nil || !d.Verified() {
			t.Fatalf("VerifySSODomain with the record: %+v, %v", d, err)
		}
		if len(f.events(muster.ActionSSODomainVerified)) != 1 {
			t.Fatal("no audit event for the verification")
		}

		// Another organization may add the domain, never verify it.
		other := setupSSO(t, db, 5)
		other.svc, other.dns = f.svc, f.dns
		od, err := other.svc.AddSSODomain(other.as(other.owner), "example.com")
		if err != nil {
			t.Fatal(err)
		}
		f.dns.SetTXT("example.com", d.TXTRecord(), od.TXTRecord())
		_, err = other.svc.VerifySSODomain(other.as(other.owner), od.ID)
		if wantCode(t, err, muster.ECONFLICT); !strings.Contains(muster.ErrorMessage(err), "Another organization") {
			t.Fatalf("verifying another organization's domain: %v", err)
		}
		// Nor see or touch the first organization's.
		_, err = other.svc.VerifySSODomain(other.as(other.owner), d.ID)
		wantCode(t, err, muster.ENOTFOUND)

		// The daily check: a failing server keeps the domain verified.
		f.clock.Advance(service.DomainRecheckEvery + time.Minute)
		f.dns.Fail(true)
		n, err := f.svc.RecheckSSODomains(context.Background())
		if err != nil || n.Checked != 1 || n.Failed != 1 || n.Unverified != 0 {
			t.Fatalf("re-check with a failing server: %+v, %v", n, err)
		}
		f.dns.Fail(false)
		// Checked already today: nothing to do.
		if n, err := f.svc.RecheckSSODomains(context.Background()); err != nil || n.Checked != 0 {
			t.Fatalf("a second re-check the same day: %+v, %v", n, err)
		}
		// A day later, with the record gone, the domain is no longer verified.
		f.clock.Advance(service.DomainRecheckEvery + time.Minute)
		f.dns.SetTXT("example.com")
		if n, err := f.svc.RecheckSSODomains(context.Background()); err != nil || n.Unverified != 1 {
			t.Fatalf("re-check without the record: %+v, %v", n, err)
		}
		if ev := f.events(muster.ActionSSODomainUnverified); len(ev) != 1 || ev[0].ActorLabel != "Domain check" {
			t.Fatalf("audit events of the lost domain: %+v", ev)
		}
		// Now the other organization can verify it.
		f.dns.SetTXT("example.com", od.TXTRecord())
		if _, err := other.svc.VerifySSODomain(other.as(other.owner), od.ID); err != nil {
			t.Fatalf("verifying a domain its first organization lost: %v", err)
		}
	})
}

// TestSSOSignIn: the email step sends a verified domain's people to the
// provider, and nobody else; the first sign-in of a Pending user links the
// identity and makes them Active, using up the invitation; from then on
// only (issuer, subject) counts, whatever email the provider sends.
func TestSSOSignIn(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setupSSO(t, db, 10)
		bella, link := f.invite("Bella", muster.RoleBasic)
		// Before a connection, and before SSO sign-in is on, the password is asked for.
		if start, err := f.svc.SignInRoute(context.Background(), bella.Email, "/", ssoBrowser); err != nil || start != nil {
			t.Fatalf("SignInRoute before SSO: %+v, %v; want the password step", start, err)
		}
		f.connect()
		if start, err := f.svc.SignInRoute(context.Background(), bella.Email, "/", ssoBrowser); err != nil || start != nil {
			t.Fatalf("SignInRoute before SSO sign-in is on: %+v, %v; want the password step", start, err)
		}
		err := f.svc.SetSSOEnabled(f.as(f.owner), true)
		wantCode(t, err, muster.ECONFLICT) // no test sign-in yet
		f.passTest()
		// Unknown emails of an unverified domain get the password step, like anyone's.
		for _, email := range []string{"nobody@elsewhere.example", "not an email", ""} {
			if start, err := f.svc.SignInRoute(context.Background(), email, "/", ssoBrowser); err != nil || start != nil {
				t.Fatalf("SignInRoute %q: %+v, %v; want the password step", email, start, err)
			}
		}
		// Any email of the verified domain goes to the provider, account or not.
		if start, err := f.svc.SignInRoute(context.Background(), "nobody@EXAMPLE.com", "/", ssoBrowser); err != nil || start == nil ||
			!strings.HasPrefix(start.URL, f.idp.URL+"/authorize?") {
			t.Fatalf("SignInRoute of the verified domain: %+v, %v", start, err)
		}

		f.idp.SignInAs(idptest.User{Subject: "sub-bella", Email: strings.ToUpper(bella.Email), EmailVerified: "true",
			SID: "idp-session-1"})
		out, err := f.signIn(bella.Email)
		if err != nil || out.SignedIn == nil || out.SignedIn.User.ID != bella.ID || out.SignedIn.Session.Method != muster.SessionSSO {
			t.Fatalf("Bella's first SSO sign-in: %+v, %v", out, err)
		}
		if u := f.user(t, bella.ID); u.Status != muster.StatusActive || u.ActivatedAt.IsZero() || u.PasswordHash != "" {
			t.Fatalf("Bella after SSO: %+v; want Active without a password", u)
		}
		_, err = f.acceptLink(link)
		wantGone(t, err, muster.LinkUsed)
		if ev := f.events(muster.ActionUserActivated); len(ev) == 0 || ev[0].TargetID != bella.ID {
			t.Fatalf("no activation event: %+v", ev)
		}
		if ev := f.events(muster.ActionSSOIdentityLinked); len(ev) != 1 || ev[0].After["subject"] != "sub-bella" {
			t.Fatalf("identity events: %+v", ev)
		}
		// The session works, and says where it came from.
		if u, sess, err := f.svc.Authenticate(context.Background(), out.SignedIn.Token); err != nil || u.ID != bella.ID ||
			sess.SSOSID != "idp-session-1" {
			t.Fatalf("Authenticate Bella's SSO session: %v, %+v, %v", u, sess, err)
		}

		// The provider now sends another email for sub-bella (changed at
		// the provider, or unverified): she is still Bella, and the
		// Owner's account is not hers.
		f.idp.SignInAs(idptest.User{Subject: "sub-bella", Email: f.owner.Email, EmailVerified: false})
		out, err = f.signIn(bella.Email)
		if err != nil || out.SignedIn.User.ID != bella.ID {
			t.Fatalf("Bella with another email: %+v, %v; want Bella", out, err)
		}
		if n := f.identities(); n != 1 { // the Owner's test sign-in linked nothing
			t.Fatalf("%d identities; want Bella's alone", n)
		}
	})
}

// TestSSOWhoSignsIn: the refusals of who signs in as whom, each audited
// with its reason and linking nothing: an unverified email, a domain this
// organization has not verified, a second identity with the email of a
// linked user (the nOAuth attack), a deactivated user, a person without an
// account; and just-in-time provisioning, with and without a free seat.
func TestSSOWhoSignsIn(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setupSSO(t, db, 2)
		f.connect()
		f.passTest()
		bella := f.active("Bella", muster.RoleBasic)
		f.idp.SignInAs(idptest.User{Subject: "sub-bella", Email: bella.Email, EmailVerified: true})
		if _, err := f.signIn(bella.Email); err != nil {
			t.Fatal(err)
		}
		linked := f.identities()

		cases := []struct {
			name   string
			user   idptest.User
			reason string
			code   string
		}{
			{"EmailNotVerified", idptest.User{Subject: "sub-mallory", Email: f.owner.Email, EmailVerified: false},
				"email_not_verified", muster.EFORBIDDEN},
			{"EmailVerifiedMissing", idptest.User{Subject: "sub-mallory", Email: f.owner.Email},
				"email_not_verified", muster.EFORBIDDEN},
			{"DomainNotVerified", idptest.User{Subject: "sub-mallory", Email: "olive@elsewhere.example", EmailVerified: true},
				"domain_not_verified", muster.EFORBIDDEN},
			// nOAuth: a new identity claims a linked user's verified email.
			{"OtherSubjectSameEmail", idptest.User{Subject: "sub-mallory", Email: bella.Email, EmailVerified: true},
				"linked_to_another_identity", muster.EFORBIDDEN},
			{"NoAccount", idptest.User{Subject: "sub-new", Email: "newcomer@example.com", EmailVerified: true},
				"no_account", muster.EFORBIDDEN},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				before := len(f.events(muster.ActionSSOSignInRefused))
				f.idp.SignInAs(tc.user)
				out, err := f.signIn(bella.Email)
				if out != nil {
					t.Fatalf("signed in: %+v", out)
				}
				wantCode(t, err, tc.code)
				wantReason(t, err, tc.reason)
				ev := f.events(muster.ActionSSOSignInRefused)
				if len(ev) != before+1 || ev[0].After["reason"] != tc.reason || ev[0].After["subject"] != tc.user.Subject {
					t.Fatalf("audit events: %d then %d, newest %+v", before, len(ev), ev[0])
				}
				if n := f.identities(); n != linked {
					t.Fatalf("%d identities after the refusal; want %d", n, linked)
				}
			})
		}

		t.Run("Deactivated", func(t *testing.T) {
			if _, err := f.svc.Deactivate(f.as(f.owner), bella.ID); err != nil {
				t.Fatal(err)
			}
			f.idp.SignInAs(idptest.User{Subject: "sub-bella", Email: bella.Email, EmailVerified: true})
			_, err := f.signIn(bella.Email)
			wantReason(t, err, "deactivated")
			if !strings.Contains(muster.ErrorMessage(err), "deactivated") {
				t.Fatalf("message %q", muster.ErrorMessage(err))
			}
		})

		t.Run("JustInTime", func(t *testing.T) {
			if err := f.svc.SetSSOJIT(f.as(f.owner), true); err != nil {
				t.Fatal(err)
			}
			hook, err := f.svc.CreateWebhook(f.as(f.owner), service.WebhookInput{URL: "https://hooks.example.com/muster"})
			if err != nil {
				t.Fatal(err)
			}
			f.idp.SignInAs(idptest.User{Subject: "sub-new", Email: "Newcomer@example.com", EmailVerified: true,
				GivenName: "Nia", FamilyName: "Newcomer"})
			out, err := f.signIn("newcomer@example.com")
			if err != nil {
				t.Fatal(err)
			}
			u := f.user(t, out.SignedIn.User.ID)
			if u.Status != muster.StatusActive || u.Role != muster.RoleBasic || u.PrimaryTeamID != f.defaultTeam().ID ||
				u.Name() != "Nia Newcomer" || u.Email != "newcomer@example.com" {
				t.Fatalf("provisioned user %+v", u)
			}
			if used, total := f.seats(t); used != 2 || total != 2 { // the Owner and Nia; Bella left
				t.Fatalf("seats %d of %d; want 2 of 2", used, total)
			}
			if len(f.events(muster.ActionSSOUserProvisioned)) != 1 {
				t.Fatal("no audit event for the provisioning")
			}
			// The host product hears of the new Active user as of any other.
			log, err := f.svc.FindWebhookLog(f.as(f.owner), hook.Endpoint.ID, service.WebhookDeliveryQuery{})
			if err != nil {
				t.Fatal(err)
			}
			if len(log.Deliveries) < 2 || log.Deliveries[1].EventType != muster.EventUserActivated {
				t.Fatalf("webhook deliveries after the provisioning: %+v; want user.activated (then its audit event)", log.Deliveries)
			}
			// No seat left: INV-2's sentence, and nobody created.
			f.idp.SignInAs(idptest.User{Subject: "sub-dee", Email: "dee@example.com", EmailVerified: true})
			_, err = f.signIn("dee@example.com")
			wantCode(t, err, muster.ESEATS)
			if !strings.Contains(muster.ErrorMessage(err), "No licenses remaining: 2 of 2 in use") {
				t.Fatalf("message %q; want INV-2's", muster.ErrorMessage(err))
			}
			if _, err := f.svc.FindUserByEmail(f.as(f.owner), "dee@example.com"); muster.ErrorCode(err) != muster.ENOTFOUND {
				t.Fatalf("Dee after the refusal: %v", err)
			}
		})
	})
}

// TestSSOInvitationLink: an invitation accepted through single sign-on
// uses up its link; a link resent while its holder was at the provider no
// longer works when they come back (INV-4), as it would not for a
// password, and nothing is linked or activated.
func TestSSOInvitationLink(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setupSSO(t, db, 5)
		f.connect()
		f.passTest()

		bella, oldLink := f.invite("Bella", muster.RoleBasic)
		start, err := f.svc.StartSSOInvitation(context.Background(), tokenOf(oldLink), ssoBrowser)
		if err != nil {
			t.Fatal(err)
		}
		newLink := f.resend(t, bella)
		linked := f.identities()
		f.idp.SignInAs(idptest.User{Subject: "sub-mallory", Email: "mallory@elsewhere.example", EmailVerified: true})
		out, err := f.finish(start)
		if out != nil {
			t.Fatalf("the resent link's sign-in signed in: %+v", out)
		}
		wantCode(t, err, muster.EGONE)
		if u := f.user(t, bella.ID); u.Status != muster.StatusPending {
			t.Fatalf("Bella is %s after the refused sign-in; want Pending", u.Status)
		}
		if n := f.identities(); n != linked {
			t.Fatalf("%d identities after the refusal; want %d", n, linked)
		}

		// The newest link works, through the provider, once.
		start, err = f.svc.StartSSOInvitation(context.Background(), tokenOf(newLink), ssoBrowser)
		if err != nil {
			t.Fatal(err)
		}
		f.idp.SignInAs(idptest.User{Subject: "sub-bella", Email: bella.Email, EmailVerified: true})
		if out, err = f.finish(start); err != nil || out.SignedIn == nil || out.SignedIn.User.ID != bella.ID {
			t.Fatalf("the newest link's sign-in = %+v, %v; want Bella signed in", out, err)
		}
		if u := f.user(t, bella.ID); u.Status != muster.StatusActive {
			t.Fatalf("Bella is %s; want Active", u.Status)
		}
		_, err = f.acceptLink(newLink)
		wantGone(t, err, muster.LinkUsed)
	})
}

// TestSSOJustInTimeBringsBackASCIMDeletedUser: just-in-time provisioning
// of a person whom the identity provider deleted through SCIM brings the
// same record back, and SCIM sees them again, as after any other
// invitation: found by their email, read by their id, in their team.
func TestSSOJustInTimeBringsBackASCIMDeletedUser(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setupSSO(t, db, 5)
		f.connect()
		f.passTest()
		if err := f.svc.SetSSOJIT(f.as(f.owner), true); err != nil {
			t.Fatal(err)
		}
		scim, _ := f.scim(t)
		email := "dee@example.com"
		p, err := f.svc.ProvisionUser(scim, service.UserDraft{Email: email, FirstName: "Dee", LastName: "Doe", Active: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.DeleteProvisionedUser(scim, p.User.ID, 0); err != nil {
			t.Fatal(err)
		}
		f.idp.SignInAs(idptest.User{Subject: "sub-dee", Email: email, EmailVerified: true, GivenName: "Dee", FamilyName: "Doe"})
		out, err := f.signIn(email)
		if err != nil || out.SignedIn == nil || out.SignedIn.User.ID != p.User.ID {
			t.Fatalf("the sign-in = %+v, %v; want Dee's record back", out, err)
		}
		found, err := f.svc.FindProvisionedUsers(scim, service.ProvisionQuery{Limit: 10,
			Where: &muster.Condition{Op: muster.CondEqual, Attr: muster.AttrEmail, Value: email}})
		if err != nil || found.Total != 1 {
			t.Fatalf("SCIM's filter on %s finds %+v, %v; want Dee", email, found, err)
		}
		if _, err := f.svc.FindProvisionedUser(scim, p.User.ID); err != nil {
			t.Fatalf("SCIM's read of Dee: %v", err)
		}
		team, err := f.svc.FindProvisionedTeam(scim, f.defaultTeam().ID, true)
		if err != nil || len(team.Members) != f.defaultTeam().PrimaryCount {
			t.Fatalf("the Default Team's SCIM members %d (%v); want its count, %d", len(team.Members), err, f.defaultTeam().PrimaryCount)
		}
	})
}

// TestSSOSettingsAreTheOwners: whoever controls the identity provider can
// sign in as anyone of the verified domains, the Owner included, so only
// the Owner changes the connection, turns SSO sign-in on or off and sets
// just-in-time provisioning. An Admin who pointed the connection at a
// provider of their own would otherwise sign in as the Owner.
func TestSSOSettingsAreTheOwners(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setupSSO(t, db, 10)
		f.connect()
		ada := f.active("Ada", muster.RoleAdmin)
		evil := idptest.Start(t, idptest.User{Subject: "ada-at-evil", Email: ada.Email, EmailVerified: true})
		f.refused(t, muster.EFORBIDDEN, func() error {
			_, err := f.svc.SaveSSOConnection(f.as(ada), service.SSOConnectionInput{Issuer: evil.URL,
				ClientID: evil.ClientID, ClientSecret: evil.ClientSecret})
			return err
		})
		f.refused(t, muster.EFORBIDDEN, func() error { return f.svc.SetSSOEnabled(f.as(ada), true) })
		f.refused(t, muster.EFORBIDDEN, func() error { return f.svc.SetSSOJIT(f.as(ada), true) })
		// An Admin still reads the settings and runs a test sign-in.
		st, err := f.svc.SSOSettings(f.as(ada))
		if err != nil || st.Owner || st.Connection == nil || st.Connection.Issuer != f.idp.URL {
			t.Fatalf("SSOSettings as an Admin = %+v, %v", st, err)
		}
		f.idp.SignInAs(idptest.User{Subject: "sub-ada", Email: ada.Email, EmailVerified: true})
		start, err := f.svc.StartSSOTest(f.as(ada))
		if err != nil {
			t.Fatal(err)
		}
		if out, err := f.finish(start); err != nil || out.Test == nil || !out.Test.Succeeded {
			t.Fatalf("the Admin's test sign-in = %+v, %v", out, err)
		}
		// The Owner changes them.
		f.idp.SignInAs(idptest.User{Subject: "sub-owner", Email: f.owner.Email, EmailVerified: true})
		f.passTest()
		if err := f.svc.SetSSOJIT(f.as(f.owner), true); err != nil {
			t.Fatal(err)
		}
	})
}

// TestSSOTestSignIn: an admin's test sign-in reports the claims and whom
// they match without signing anyone in or linking; it counts for Require
// SSO only when it was the admin's own, with the settings as they are.
func TestSSOTestSignIn(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setupSSO(t, db, 10)
		f.connect()
		bella := f.active("Bella", muster.RoleBasic)
		// The Owner signs in at the provider as Bella: it says so, and it
		// does not count.
		f.idp.SignInAs(idptest.User{Subject: "sub-bella", Email: bella.Email, EmailVerified: true, GivenName: "Bella"})
		start, err := f.svc.StartSSOTest(f.as(f.owner))
		if err != nil {
			t.Fatal(err)
		}
		out, err := f.finish(start)
		if err != nil || out.Test == nil || out.Test.Succeeded || out.Test.Matched.ID != bella.ID ||
			out.Test.Claims.All["given_name"] != "Bella" || out.Test.Reason != "not_you" || out.SignedIn != nil {
			t.Fatalf("a test as Bella: %+v, %+v, %v", out, out.Test, err)
		}
		if f.identities() != 0 {
			t.Fatal("a test sign-in linked an identity")
		}
		// A refused answer is shown, not thrown.
		f.idp.SetNext(idptest.Next{Claims: func(c map[string]any) { c["aud"] = "someone-else" }})
		start, err = f.svc.StartSSOTest(f.as(f.owner))
		if err != nil {
			t.Fatal(err)
		}
		out, err = f.finish(start)
		if err != nil || out.Test == nil || out.Test.Reason != sso.ReasonAudience || out.Test.Claims != nil {
			t.Fatalf("a test with a wrong audience: %+v, %v", out, err)
		}
		if ev := f.events(muster.ActionSSOTestFailed); len(ev) != 2 || ev[0].ActorID != f.owner.ID {
			t.Fatalf("test failure events: %+v", ev)
		}
		_, err = f.svc.RequireSSO(f.as(f.owner), true)
		wantCode(t, err, muster.ECONFLICT)

		// The settings change during a test: it does not count either.
		f.idp.SignInAs(idptest.User{Subject: "sub-owner", Email: f.owner.Email, EmailVerified: true})
		start, err = f.svc.StartSSOTest(f.as(f.owner))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.SaveSSOConnection(f.as(f.owner), service.SSOConnectionInput{Issuer: f.idp.URL,
			ClientID: f.idp.ClientID, ClientSecret: f.idp.ClientSecret, Scopes: "groups"}); err != nil {
			t.Fatal(err)
		}
		if out, err = f.finish(start); err != nil || out.Test.Succeeded || out.Test.Reason != "settings_changed" {
			t.Fatalf("a test across a change of settings: %+v, %v", out.Test, err)
		}
		f.passTest()
		if ev := f.events(muster.ActionSSOTestSucceeded); len(ev) != 1 {
			t.Fatalf("test success events: %+v", ev)
		}
		// The secret is never in the audit log.
		for _, e := range f.events(muster.ActionSSOConnectionSaved) {
			for _, m := range []map[string]any{e.Before, e.After} {
				for _, v := range m {
					if s, _ := v.(string); strings.Contains(s, f.idp.ClientSecret) {
						t.Fatalf("the client secret is in the audit log: %+v", e)
					}
				}
			}
		}
	})
}

// TestSSORequired: requiring SSO needs the Owner's own test; then password
// sign-in and reset are refused to the organization's users (a right
// password is told to use SSO, a wrong one learns nothing), password
// sessions end at their next request while SSO sessions and API tokens keep
// working, the connection cannot change, and the Owner's recovery codes
// each sign in once, audited and emailed.
func TestSSORequired(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setupSSO(t, db, 10)
		f.connect()
		admin := f.active("Adam", muster.RoleAdmin)
		basic := f.active("Bella", muster.RoleBasic)
		token, err := f.svc.CreateAPIToken(f.as(admin), "sync", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		password, err := f.svc.SignIn(context.Background(), basic.Email, "a long enough secret", ssoBrowser)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.RequireSSO(f.as(f.owner), true)
		wantCode(t, err, muster.ECONFLICT) // no test, SSO sign-in off
		_, err = f.svc.RequireSSO(f.as(admin), true)
		wantCode(t, err, muster.EFORBIDDEN) // the Owner's alone
		f.passTest()
		f.idp.SignInAs(idptest.User{Subject: "sub-bella", Email: basic.Email, EmailVerified: true})
		viaSSO, err := f.signIn(basic.Email)
		if err != nil {
			t.Fatal(err)
		}

		codes, err := f.svc.RequireSSO(f.as(f.owner), true)
		if err != nil || len(codes.Codes) != muster.RecoveryCodeCount {
			t.Fatalf("RequireSSO: %+v, %v", codes, err)
		}
		// The password session ends; the SSO session and the API token work.
		if _, _, err := f.svc.Authenticate(context.Background(), password.Token); muster.ErrorCode(err) != muster.EUNAUTHORIZED {
			t.Fatalf("the password session after Require SSO: %v; want it ended", err)
		}
		if _, _, err := f.svc.Authenticate(context.Background(), viaSSO.SignedIn.Token); err != nil {
			t.Fatalf("the SSO session after Require SSO: %v", err)
		}
		if _, err := f.svc.AuthenticateAPIToken(context.Background(), token.Secret); err != nil {
			t.Fatalf("the API token after Require SSO: %v", err)
		}
		// A right password: told to use SSO, with a sign-in begun; a wrong
		// one: the one answer.
		_, err = f.svc.SignIn(context.Background(), basic.Email, "a long enough secret", ssoBrowser)
		var req *service.SSORequiredError
		if !errors.As(err, &req) || req.Start == nil || !strings.HasPrefix(req.Start.URL, f.idp.URL) {
			t.Fatalf("a right password: %v; want SSO required, with a sign-in begun", err)
		}
		wantReason(t, err, muster.ReasonSSORequired)
		_, err = f.svc.SignIn(context.Background(), basic.Email, "a wrong password!", ssoBrowser)
		wantCode(t, err, muster.EUNAUTHORIZED)
		// A password reset sends nothing.
		before := f.outboxCount()
		if err := f.svc.RequestPasswordReset(context.Background(), basic.Email, ssoBrowser); err != nil {
			t.Fatal(err)
		}
		if f.outboxCount() != before {
			t.Fatal("a reset email was queued while SSO is required")
		}
		// The connection cannot change.
		_, err = f.svc.SaveSSOConnection(f.as(f.owner), service.SSOConnectionInput{Issuer: f.idp.URL, ClientID: "other",
			ClientSecret: "x"})
		wantCode(t, err, muster.ECONFLICT)
		err = f.svc.SetSSOEnabled(f.as(f.owner), false)
		wantCode(t, err, muster.ECONFLICT)

		// A recovery code: the Owner's password and a code, once.
		_, err = f.svc.SignInWithRecoveryCode(context.Background(), f.owner.Email, "a wrong password!", codes.Codes[0], ssoBrowser)
		wantCode(t, err, muster.EUNAUTHORIZED)
		_, err = f.svc.SignInWithRecoveryCode(context.Background(), admin.Email, "a long enough secret", codes.Codes[0], ssoBrowser)
		wantCode(t, err, muster.EUNAUTHORIZED) // an Admin has no codes
		before = f.outboxCount()
		in, err := f.svc.SignInWithRecoveryCode(context.Background(), f.owner.Email, "a long enough secret",
			strings.ToUpper(codes.Codes[0]), ssoBrowser)
		if err != nil || in.Session.Method != muster.SessionRecovery {
			t.Fatalf("sign-in with a recovery code: %+v, %v", in, err)
		}
		if _, _, err := f.svc.Authenticate(context.Background(), in.Token); err != nil {
			t.Fatalf("the recovery session: %v; want it live while SSO is required", err)
		}
		_, err = f.svc.SignInWithRecoveryCode(context.Background(), f.owner.Email, "a long enough secret", codes.Codes[0], ssoBrowser)
		wantCode(t, err, muster.EUNAUTHORIZED)
		if ev := f.events(muster.ActionSSORecoveryCodeUsed); len(ev) != 1 || ev[0].After["codes_left"] != float64(9) &&
			ev[0].After["codes_left"] != 9 {
			t.Fatalf("recovery code events: %+v", ev)
		}
		if n := f.outboxCount() - before; n != 2 { // the Owner and the Admin
			t.Fatalf("%d emails about the recovery code; want 2", n)
		}
		st, err := f.svc.SSOSettings(f.as(f.owner))
		if err != nil || st.RecoveryCodesLeft != 9 {
			t.Fatalf("codes left: %+v, %v", st, err)
		}

		// Not required again: passwords work, the codes are gone.
		if _, err := f.svc.RequireSSO(f.as(f.owner), false); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.SignIn(context.Background(), basic.Email, "a long enough secret", ssoBrowser); err != nil {
			t.Fatalf("password sign-in once SSO is not required: %v", err)
		}
		_, err = f.svc.SignInWithRecoveryCode(context.Background(), f.owner.Email, "a long enough secret", codes.Codes[1], ssoBrowser)
		wantCode(t, err, muster.EUNAUTHORIZED)
		if len(f.events(muster.ActionSSORequired)) != 1 || len(f.events(muster.ActionSSONotRequired)) != 1 {
			t.Fatal("Require SSO's changes are not audited")
		}
	})
}

// outboxCount counts the org's queued emails.
func (f *ssoFixture) outboxCount() int {
	f.t.Helper()
	var n int
	err := f.db.View(context.Background(), func(tx muster.Tx) error {
		msgs, err := tx.FindOutboxMessages(context.Background(), muster.OutboxFilter{OrgID: f.org.ID, Limit: 1000})
		n = len(msgs)
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// TestSSOBackChannelLogout: a logout token signed by the provider ends the
// sessions of the provider session it names (sid), or every session of the
// person (sub); a token with a bad signature, for another client or
// without the logout event ends nothing.
func TestSSOBackChannelLogout(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setupSSO(t, db, 10)
		f.connect()
		f.passTest()
		bella := f.active("Bella", muster.RoleBasic)
		sessions := map[string]string{}
		for _, sid := range []string{"laptop", "phone"} {
			f.idp.SignInAs(idptest.User{Subject: "sub-bella", Email: bella.Email, EmailVerified: true, SID: sid})
			out, err := f.signIn(bella.Email)
			if err != nil {
				t.Fatal(err)
			}
			sessions[sid] = out.SignedIn.Token
		}
		password, err := f.svc.SignIn(context.Background(), bella.Email, "a long enough secret", ssoBrowser)
		if err != nil {
			t.Fatal(err)
		}
		live := func(token string) bool {
			_, _, err := f.svc.Authenticate(context.Background(), token)
			return err == nil
		}

		for name, raw := range map[string]string{
			"WrongSignature": forged(t, f.idp.LogoutToken("sub-bella", "", nil)),
			"OtherClient":    f.idp.LogoutToken("sub-bella", "", func(c map[string]any) { c["aud"] = "another-client" }),
			"NoEvent":        f.idp.LogoutToken("sub-bella", "", func(c map[string]any) { delete(c, "events") }),
			"WithNonce":      f.idp.LogoutToken("sub-bella", "", func(c map[string]any) { c["nonce"] = "n" }),
			"Expired": f.idp.LogoutToken("sub-bella", "", func(c map[string]any) {
				c["exp"] = time.Now().Add(-time.Hour).Unix()
			}),
			"NotAJWT": "not.a.jwt",
		} {
			if n, err := f.svc.BackChannelLogout(context.Background(), raw, ssoBrowser); muster.ErrorCode(err) != muster.EINVALID || n != 0 {
				t.Fatalf("%s: %d ended, %v; want a refusal", name, n, err)
			}
		}
		if !live(sessions["laptop"]) || !live(sessions["phone"]) || !live(password.Token) {
			t.Fatal("a refused logout token ended a session")
		}

		if n, err := f.svc.BackChannelLogout(context.Background(), f.idp.LogoutToken("sub-bella", "laptop", nil), ssoBrowser); err != nil || n != 1 {
			t.Fatalf("logout by sid: %d, %v", n, err)
		}
		if live(sessions["laptop"]) || !live(sessions["phone"]) || !live(password.Token) {
			t.Fatal("logout by sid: want the laptop's session alone ended")
		}
		if n, err := f.svc.BackChannelLogout(context.Background(), f.idp.LogoutToken("sub-bella", "", nil), ssoBrowser); err != nil || n != 3 {
			// The phone's, the password's and the one accepting the invitation began.
			t.Fatalf("logout by sub: %d, %v; want 3", n, err)
		}
		if live(sessions["phone"]) || live(password.Token) {
			t.Fatal("logout by sub: want every session of Bella ended")
		}
		if ev := f.events(muster.ActionSSOBackChannelLogout); len(ev) != 2 || ev[0].TargetID != bella.ID {
			t.Fatalf("logout events: %+v", ev)
		}
	})
}

// forged is a signed JWT whose payload was changed after signing: its
// signature no longer verifies.
func forged(t *testing.T, jwt string) string {
	t.Helper()
	parts := strings.Split(jwt, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	claims["jti"] = "forged"
	if payload, err = json.Marshal(claims); err != nil {
		t.Fatal(err)
	}
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(payload) + "." + parts[2]
}

// TestSSOKeyRotation: the provider signs with a new key; the next sign-in
// fetches its keys again and goes through.
func TestSSOKeyRotation(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setupSSO(t, db, 10)
		f.connect()
		f.passTest()
		jwks := f.idp.Requests("jwks")
		f.idp.RotateKey()
		if _, err := f.signIn(f.owner.Email); err != nil {
			t.Fatalf("sign-in after the key rotated: %v", err)
		}
		if f.idp.Requests("jwks") <= jwks {
			t.Fatal("the keys were not fetched again")
		}
	})
}

// TestSSOStateOnce: a callback is taken once and only in the browser that
// began the login; the login lives 10 minutes.
func TestSSOStateOnce(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setupSSO(t, db, 10)
		f.connect()
		f.passTest()
		start, err := f.svc.SignInRoute(context.Background(), f.owner.Email, "/", ssoBrowser)
		if err != nil {
			t.Fatal(err)
		}
		back := idptest.Follow(t, start.URL).Query()
		_, err = f.svc.FinishSSO(context.Background(), back, "another browser's secret", ssoBrowser)
		wantReason(t, err, "state_mismatch")
		// The login is spent: its own browser cannot finish it either now.
		_, err = f.svc.FinishSSO(context.Background(), back, start.BrowserSecret, ssoBrowser)
		wantReason(t, err, "login_used")

		start, err = f.svc.SignInRoute(context.Background(), f.owner.Email, "/", ssoBrowser)
		if err != nil {
			t.Fatal(err)
		}
		back = idptest.Follow(t, start.URL).Query()
		if _, err := f.svc.FinishSSO(context.Background(), back, start.BrowserSecret, ssoBrowser); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.FinishSSO(context.Background(), back, start.BrowserSecret, ssoBrowser)
		wantReason(t, err, "login_used")

		start, err = f.svc.SignInRoute(context.Background(), f.owner.Email, "/", ssoBrowser)
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(service.SSOLoginTTL)
		_, err = f.finish(start)
		wantReason(t, err, "login_expired")

		madeUp := url.Values{"state": {"made-up"}, "code": {"x"}}
		_, err = f.svc.FinishSSO(context.Background(), madeUp, start.BrowserSecret, ssoBrowser)
		wantReason(t, err, "state_unknown")
		f.clock.Advance(time.Second)
		if n, err := f.svc.DeleteExpiredSSOLogins(context.Background()); err != nil || n == 0 {
			t.Fatalf("DeleteExpiredSSOLogins: %d, %v", n, err)
		}
	})
}

// TestSSOStartsLimited: each sign-in begun through a provider writes a row,
// so one client address begins at most 60 in 15 minutes; others are not
// held by it.
func TestSSOStartsLimited(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setupSSO(t, db, 10)
		f.connect()
		f.passTest()
		for i := range 60 {
			if _, err := f.svc.SignInRoute(context.Background(), f.owner.Email, "/", ssoBrowser); err != nil {
				t.Fatalf("sign-in %d: %v", i+1, err)
			}
		}
		_, err := f.svc.SignInRoute(context.Background(), f.owner.Email, "/", ssoBrowser)
		if wantCode(t, err, muster.ETOOMANY); muster.ErrorRetryAfter(err) <= 0 {
			t.Fatalf("the 61st: %v; want a wait", err)
		}
		other := service.Client{IP: "198.51.100.7", Origin: "web 198.51.100.7"}
		if start, err := f.svc.SignInRoute(context.Background(), f.owner.Email, "/", other); err != nil || start == nil {
			t.Fatalf("another address: %+v, %v", start, err)
		}
		f.clock.Advance(15 * time.Minute)
		if _, err := f.svc.SignInRoute(context.Background(), f.owner.Email, "/", ssoBrowser); err != nil {
			t.Fatalf("15 minutes later: %v", err)
		}
	})
}
