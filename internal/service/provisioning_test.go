package service_test

// Provisioning through SCIM (SCIM-1): the SCIM token's principal acts as
// an identity provider needs, never with the Owner's powers, and the
// provisioning calls keep every rule of the console's.

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
)

// scim creates a SCIM token as the Owner and returns a context in which it
// acts, with the token.
func (f *fixture) scim(t *testing.T) (context.Context, *muster.SCIMToken) {
	t.Helper()
	tok, err := f.svc.CreateSCIMToken(f.as(f.owner), "Okta")
	if err != nil {
		t.Fatal(err)
	}
	authed, err := f.svc.AuthenticateSCIMToken(context.Background(), tok.Secret)
	if err != nil || authed.ID != tok.Token.ID {
		t.Fatalf("the new SCIM token does not authenticate: %+v, %v", authed, err)
	}
	return muster.NewContext(context.Background(), muster.Principal{OrgID: f.org.ID, SCIMTokenID: tok.Token.ID,
		Origin: muster.SCIMOrigin(tok.Token.ID)}), tok.Token
}

// TestSCIMTokenHasNoOwnerPowers: a SCIM token invites and deactivates
// Admins and manages teams, as an identity provider needs, but every path
// the Owner alone (or an operator, or a user) takes refuses it, changing
// nothing.
// TestSCIMTokensAreTheOwners: a SCIM token invites and manages Admins,
// which only the Owner does (SPEC §2), so an Admin may not create one; an
// Admin still sees and revokes them.
func TestSCIMTokensAreTheOwners(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 10)
		ada := f.active("Ada", muster.RoleAdmin)
		f.refused(t, muster.EFORBIDDEN, func() error { _, err := f.svc.CreateSCIMToken(f.as(ada), "mine"); return err })
		tok, err := f.svc.CreateSCIMToken(f.as(f.owner), "Okta")
		if err != nil {
			t.Fatal(err)
		}
		prov, err := f.svc.FindProvisioning(f.as(ada))
		if err != nil || len(prov.Tokens) != 1 || prov.Tokens[0].ID != tok.Token.ID {
			t.Fatalf("FindProvisioning as an Admin = %+v, %v; want the Owner's token", prov, err)
		}
		f.changed(t, func() error { return f.svc.RevokeSCIMToken(f.as(ada), tok.Token.ID) })
	})
}

func TestSCIMTokenHasNoOwnerPowers(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 10)
		ctx, tok := f.scim(t)
		admin := f.active("Ada", muster.RoleAdmin)
		refusals := map[string]func() error{
			"license total":   func() error { _, err := f.svc.SetLicenseTotal(ctx, 20, 0); return err },
			"Email at Scale":  func() error { _, err := f.svc.SetEmailAtScale(ctx, true); return err },
			"transfer":        func() error { _, err := f.svc.TransferOwnership(ctx, admin.ID, ""); return err },
			"mailbox":         func() error { _, err := f.svc.Mailbox(ctx, 0, 10); return err },
			"API token":       func() error { _, err := f.svc.CreateAPIToken(ctx, "x", time.Time{}); return err },
			"API token for":   func() error { _, err := f.svc.CreateAPITokenFor(ctx, admin.Email, "x", time.Time{}); return err },
			"SCIM token":      func() error { _, err := f.svc.CreateSCIMToken(ctx, "another"); return err },
			"revoke itself":   func() error { return f.svc.RevokeSCIMToken(ctx, tok.ID) },
			"new org":         func() error { _, err := f.svc.CreateOrg(ctx, service.NewOrg{Name: "X"}); return err },
			"user list email": func() error { _, err := f.svc.RequestUserList(ctx); return err },
			"deactivate Owner": func() error {
				_, err := f.svc.Deactivate(ctx, f.owner.ID)
				return err
			},
			"rename Owner": func() error {
				name := "Olivia"
				_, err := f.svc.UpdateUser(ctx, f.owner.ID, service.UserUpdate{FirstName: &name})
				return err
			},
		}
		for name, call := range refusals {
			t.Run(name, func(t *testing.T) {
				f.refused(t, muster.EFORBIDDEN, call)
			})
		}
		idem := service.WithIdempotency(ctx, &service.Idempotency{Key: "k", RequestHash: []byte("h")})
		f.refused(t, muster.EUNAUTHORIZED, func() error {
			_, err := f.svc.Invite(idem, service.InviteInput{FirstName: "I", LastName: "Dem", Email: uniqueEmail("idem"),
				Role: muster.RoleBasic, PrimaryTeamID: f.defaultTeam().ID})
			return err
		})

		// What an identity provider needs, with the token as the actor.
		e := f.changed(t, func() error {
			_, err := f.svc.Invite(ctx, service.InviteInput{FirstName: "Ivy", LastName: "Admin", Email: uniqueEmail("ivy"),
				Role: muster.RoleAdmin, PrimaryTeamID: f.defaultTeam().ID})
			return err
		})
		if e.ActorID != 0 || e.ActorLabel != fmt.Sprintf("SCIM token %q (#%d)", "Okta", tok.ID) || e.Origin != fmt.Sprintf("scim token %d", tok.ID) {
			t.Fatalf("the invitation's audit event: actor %d %q, origin %q", e.ActorID, e.ActorLabel, e.Origin)
		}
		if _, err := f.svc.Deactivate(ctx, admin.ID); err != nil {
			t.Fatalf("a SCIM token deactivates an Admin: %v", err)
		}
		if _, err := f.svc.CreateTeam(ctx, "Provisioned"); err != nil {
			t.Fatalf("a SCIM token creates a team: %v", err)
		}

		// Revoked, the token's very next call is refused, even one made
		// with a principal established before.
		if err := f.svc.RevokeSCIMToken(f.as(f.owner), tok.ID); err != nil {
			t.Fatal(err)
		}
		f.refused(t, muster.EUNAUTHORIZED, func() error { _, err := f.svc.CreateTeam(ctx, "Late"); return err })
		if _, err := f.svc.AuthenticateSCIMToken(context.Background(), "mscim_"+strings.Repeat("x", 43)); muster.ErrorCode(err) != muster.EUNAUTHORIZED {
			t.Fatalf("an unknown SCIM token: %v", err)
		}
	})
}

// TestDeletedThroughSCIMComesBack: a user deleted through SCIM is
// deactivated, SCIM no longer finds them while the console keeps them, and
// a later creation with their email brings the same record back, Pending,
// with a seat.
func TestDeletedThroughSCIMComesBack(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 10)
		ctx, _ := f.scim(t)
		u := f.active("Dee", muster.RoleManager)
		if err := f.svc.DeleteProvisionedUser(ctx, u.ID, 0); err != nil {
			t.Fatal(err)
		}
		if got := f.user(t, u.ID); got.Status != muster.StatusDeactivated || got.SCIMDeletedAt.IsZero() {
			t.Fatalf("deleted through SCIM: %s, marked %v", got.Status, got.SCIMDeletedAt)
		}
		if _, err := f.svc.FindProvisionedUser(ctx, u.ID); muster.ErrorCode(err) != muster.ENOTFOUND {
			t.Fatalf("SCIM finds the deleted user: %v", err)
		}
		byEmail := &muster.Condition{Op: muster.CondEqual, Attr: muster.AttrEmail, Value: strings.ToUpper(u.Email)}
		if page, err := f.svc.FindProvisionedUsers(ctx, service.ProvisionQuery{Where: byEmail, Limit: 10}); err != nil || page.Total != 0 {
			t.Fatalf("SCIM's filter finds the deleted user: %+v, %v", page, err)
		}
		f.refused(t, muster.ENOTFOUND, func() error {
			_, err := f.svc.ChangeProvisionedUser(ctx, u.ID, 0, func(d *service.UserDraft) error { d.Active = true; return nil })
			return err
		})
		used, _ := f.seats(t)
		back, err := f.svc.ProvisionUser(ctx, service.UserDraft{Email: u.Email, FirstName: "Dee", LastName: "Again", Active: true})
		if err != nil {
			t.Fatal(err)
		}
		if back.User.ID != u.ID || back.User.Status != muster.StatusPending || back.User.Role != muster.RoleBasic ||
			!back.User.SCIMDeletedAt.IsZero() {
			t.Fatalf("created again: #%d %s %s, deleted %v; want #%d back, Pending, Basic User", back.User.ID,
				back.User.Status, back.User.Role, back.User.SCIMDeletedAt, u.ID)
		}
		if now, _ := f.seats(t); now != used+1 {
			t.Fatalf("seats %d → %d; want one taken", used, now)
		}
		if n := len(auditTrail(t, f, muster.AuditFilter{Action: muster.ActionUserReinvited, TargetType: muster.TargetUser,
			TargetID: u.ID})); n != 1 {
			t.Fatalf("%d invited-again events; want 1", n)
		}
	})
}

// TestProvisionedEmailChange: an identity provider's new userName moves
// the user's email: reset links sent to the old address end, a Pending
// user's invitation goes again to the new one (the old link dies), and an
// email another user has is refused.
func TestProvisionedEmailChange(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 10)
		ctx, _ := f.scim(t)
		active := f.active("Mo", muster.RoleBasic)
		reset := f.resetToken(t, active.Email)
		moved := uniqueEmail("mo.new")
		set := func(id int64, email string) error {
			_, err := f.svc.ChangeProvisionedUser(ctx, id, 0, func(d *service.UserDraft) error { d.Email = email; return nil })
			return err
		}
		if err := set(active.ID, moved); err != nil {
			t.Fatal(err)
		}
		if got := f.user(t, active.ID); got.Email != moved {
			t.Fatalf("email after the change: %s", got.Email)
		}
		f.wantResetDead(t, reset, "after the email moved")

		pending, link := f.invite("Pia", muster.RoleBasic)
		newAddr := uniqueEmail("pia.new")
		if err := set(pending.ID, newAddr); err != nil {
			t.Fatal(err)
		}
		if _, err := f.acceptLink(link); muster.ErrorCode(err) != muster.EGONE {
			t.Fatalf("the invitation sent to the old address: %v; want it gone", err)
		}
		msgs := storetest.Outbox(t, f.db, f.org.ID)
		if msgs[0].To != newAddr || !strings.Contains(msgs[0].Text, "/invitations/") {
			t.Fatalf("newest email is %q to %s; want an invitation to %s", msgs[0].Subject, msgs[0].To, newAddr)
		}
		f.refused(t, muster.ECONFLICT, func() error { return set(pending.ID, f.owner.Email) })
		f.refused(t, muster.EINVALID, func() error { return set(pending.ID, "not an email") })
	})
}
