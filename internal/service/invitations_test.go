package service_test

// Invitation links (INV-4, INV-5): single use, superseded by a resend,
// dead once withdrawn, expiring after 7 days; passwords follow the rules.

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

func TestInvitationAcceptedOnce(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		u, link := f.invite("Ivy", muster.RoleManager)

		info, err := f.svc.LookupInvitation(context.Background(), tokenOf(link))
		if err != nil || info.User.ID != u.ID || info.Org.ID != f.org.ID || info.Org.Name != "Acme" {
			t.Fatalf("LookupInvitation = %+v, %v; want Ivy of Acme", info, err)
		}
		var in *service.SignedIn
		e := f.changed(t, func() (err error) { in, err = f.acceptLink(link); return err })
		wantEvent(t, e, muster.ActionUserActivated, u, "user", u.ID)
		if in.User.Status != muster.StatusActive || in.Token == "" || in.User.Role != muster.RoleManager {
			t.Fatalf("accepted: %+v; want an Active Manager with a session", in.User)
		}
		if who, _, err := f.svc.Authenticate(context.Background(), in.Token); err != nil || who.ID != u.ID {
			t.Fatalf("the session of the accept: %v, %v", who, err)
		}
		if _, err := f.svc.SignIn(context.Background(), u.Email, password, browser); err != nil {
			t.Fatalf("signing in with the chosen password: %v", err)
		}

		// The link is spent.
		_, err = f.svc.LookupInvitation(context.Background(), tokenOf(link))
		wantGone(t, err, muster.LinkUsed)
		err = f.refused(t, muster.EGONE, func() error { _, err := f.acceptLink(link); return err })
		wantGone(t, err, muster.LinkUsed)

		// A made-up or mangled link is not found.
		for _, token := range []string{"", "nonsense", tokenOf(link) + "x", strings.ToUpper(tokenOf(link))} {
			f.refused(t, muster.ENOTFOUND, func() error {
				_, err := f.svc.AcceptInvitation(context.Background(), token, password, browser)
				return err
			})
		}
	})
}

func TestConcurrentAcceptsOneWins(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 10)
		for round := range 5 {
			u, link := f.invite("Twin", muster.RoleBasic)
			var results [2]error
			won, _ := race(t, len(results), func(i int) error {
				_, results[i] = f.acceptLink(link)
				return results[i]
			})
			for _, err := range results {
				if err != nil {
					// The loser is told the link was used, so they sign in.
					wantGone(t, err, muster.LinkUsed)
				}
			}
			if won != 1 {
				t.Fatalf("round %d: %d of 2 concurrent accepts succeeded (%v); want exactly 1", round, won, results)
			}
			if n := len(auditTrail(t, f, muster.AuditFilter{Action: muster.ActionUserActivated, TargetType: "user", TargetID: u.ID})); n != 1 {
				t.Fatalf("round %d: %d activation events; want 1", round, n)
			}
			if got := f.user(t, u.ID); got.Status != muster.StatusActive {
				t.Fatalf("round %d: user is %s; want active", round, got.Status)
			}
		}
	})
}

func TestResendSupersedesOldLinks(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		admin := f.active("Ada", muster.RoleAdmin)
		u, first := f.invite("Rae", muster.RoleBasic)
		second, err := f.svc.ResendInvite(f.as(admin), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		third, err := f.svc.ResendInvite(f.as(f.owner), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, old := range []string{first, second.Link} {
			_, err := f.svc.LookupInvitation(context.Background(), tokenOf(old))
			wantGone(t, err, muster.LinkSuperseded)
			err = f.refused(t, muster.EGONE, func() error { _, err := f.acceptLink(old); return err })
			wantGone(t, err, muster.LinkSuperseded)
			if !strings.Contains(muster.ErrorMessage(err), "newer invitation") {
				t.Fatalf("message %q does not point to the newer email", muster.ErrorMessage(err))
			}
		}
		if used, _ := f.seats(t); used != 3 {
			t.Fatalf("seats used after two resends = %d; want 3", used)
		}
		if _, err := f.acceptLink(third.Link); err != nil {
			t.Fatalf("newest link: %v", err)
		}
		// Each resend queued an email.
		var to int
		for _, m := range storetest.Outbox(t, f.db, f.org.ID) {
			if m.To == u.Email {
				to++
			}
		}
		if to != 3 {
			t.Fatalf("%d invitation emails to the user; want 3", to)
		}
	})
}

func TestWithdrawnLinkDies(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		u, link := f.withdrawn(t, "Wendy", muster.RoleBasic)
		_, err := f.svc.LookupInvitation(context.Background(), tokenOf(link))
		wantGone(t, err, muster.LinkWithdrawn)
		err = f.refused(t, muster.EGONE, func() error { _, err := f.acceptLink(link); return err })
		wantGone(t, err, muster.LinkWithdrawn)
		if got := f.user(t, u.ID); got.Status != muster.StatusWithdrawn {
			t.Fatalf("user is %s; want withdrawn", got.Status)
		}
		// Inviting again sends a new link that works; the old one stays dead.
		res, err := f.svc.Invite(f.as(f.owner), service.InviteInput{FirstName: "Wendy", LastName: "Tester", Email: u.Email,
			Role: muster.RoleBasic, PrimaryTeamID: f.defaultTeam().ID})
		if err != nil || res.User.ID != u.ID {
			t.Fatalf("invite again after withdraw = %v, %v; want user #%d back", res, err, u.ID)
		}
		_, err = f.svc.LookupInvitation(context.Background(), tokenOf(link))
		wantGone(t, err, muster.LinkWithdrawn)
		if _, err := f.acceptLink(res.Link); err != nil {
			t.Fatal(err)
		}
	})
}

func TestExpiredLink(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		_, earlyLink := f.invite("Early", muster.RoleBasic)
		u, link := f.invite("Ezra", muster.RoleBasic)

		f.clock.Advance(7*24*time.Hour - time.Minute)
		if _, err := f.acceptLink(earlyLink); err != nil {
			t.Fatalf("a link a minute before 7 days: %v", err)
		}
		f.clock.Advance(2 * time.Minute)
		_, err := f.svc.LookupInvitation(context.Background(), tokenOf(link))
		wantGone(t, err, muster.LinkExpired)
		err = f.refused(t, muster.EGONE, func() error { _, err := f.acceptLink(link); return err })
		wantGone(t, err, muster.LinkExpired)
		if !strings.Contains(muster.ErrorMessage(err), "expired") {
			t.Fatalf("message %q does not say the invitation expired", muster.ErrorMessage(err))
		}

		// The user stays Pending, holding the seat, and can be resent.
		if got := f.user(t, u.ID); got.Status != muster.StatusPending {
			t.Fatalf("user with an expired link is %s; want pending", got.Status)
		}
		if used, _ := f.seats(t); used != 3 {
			t.Fatalf("seats used = %d; want 3", used)
		}
		var res *service.Invited
		e := f.changed(t, func() (err error) { res, err = f.svc.ResendInvite(f.as(f.owner), u.ID); return err })
		wantEvent(t, e, muster.ActionInviteResent, f.owner, "user", u.ID)
		f.clock.Advance(6 * 24 * time.Hour)
		if _, err := f.acceptLink(res.Link); err != nil {
			t.Fatalf("resent link: %v", err)
		}
		_, err = f.svc.LookupInvitation(context.Background(), tokenOf(link))
		wantCode(t, err, muster.EGONE)
	})
}

func TestInvitationPasswordRules(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		u, link := f.invite("Pat", muster.RoleBasic)
		bad := map[string]string{
			"empty":              "",
			"too short":          "short",
			"nine characters":    "123456789",
			"too long":           strings.Repeat("p", 129),
			"the email":          u.Email,
			"the email, shouted": " " + strings.ToUpper(u.Email) + " ",
			"common":             "password123",
			"common, shouted":    "PASSWORD123",
			"common digits":      "1234567890",
		}
		for name, pw := range bad {
			t.Run(name, func(t *testing.T) {
				f := f.on(t)
				err := f.refused(t, muster.EINVALID, func() error {
					_, err := f.svc.AcceptInvitation(context.Background(), tokenOf(link), pw, browser)
					return err
				})
				if fields := muster.ErrorFields(err); len(fields) != 1 || fields[0].Field != "password" {
					t.Fatalf("fields = %v; want the password field", fields)
				}
			})
		}
		// None of that used up the link.
		if got := f.user(t, u.ID); got.Status != muster.StatusPending {
			t.Fatalf("user is %s after refused passwords; want pending", got.Status)
		}
		if _, err := f.svc.AcceptInvitation(context.Background(), tokenOf(link), "correct horse battery", browser); err != nil {
			t.Fatalf("a good password: %v", err)
		}
		if _, err := f.svc.SignIn(context.Background(), u.Email, "correct horse battery", browser); err != nil {
			t.Fatalf("sign in with the chosen password: %v", err)
		}
	})
}

// A new org's Owner is Pending until they use the set-up link. When it
// expires, the operator (who acts with the Owner's powers) sends a new one;
// otherwise nobody could ever sign in to the org (INV-4). Nobody else may.
func TestExpiredOwnerSetupLinkCanBeResent(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		g, setupURL := pendingOwnerOrg(t, f)
		op := operator(g.org.ID)
		// The operator invites an Admin while the Owner is away.
		listed, err := g.svc.Teams(op, service.TeamListQuery{})
		if err != nil {
			t.Fatal(err)
		}
		teams := listed.Teams
		inv, err := g.svc.Invite(op, service.InviteInput{FirstName: "Ada", LastName: "Admin", Email: uniqueEmail("ada"),
			Role: muster.RoleAdmin, PrimaryTeamID: teams[0].ID})
		if err != nil {
			t.Fatal(err)
		}
		admin := g.accept(inv.Link)

		f.clock.Advance(7*24*time.Hour + time.Minute)
		_, err = g.svc.LookupInvitation(context.Background(), tokenOf(setupURL))
		wantGone(t, err, muster.LinkExpired)

		g.refused(t, muster.EFORBIDDEN, func() error { _, err := g.svc.ResendInvite(g.as(admin), g.owner.ID); return err })
		var resent *service.Invited
		e := g.changed(t, func() (err error) { resent, err = g.svc.ResendInvite(op, g.owner.ID); return err })
		wantEvent(t, e, muster.ActionInviteResent, nil, "user", g.owner.ID)
		owner := g.accept(resent.Link)
		if owner.Role != muster.RoleOwner || owner.Status != muster.StatusActive {
			t.Fatalf("after the resent set-up link: %s %s; want an Active Owner", owner.Status, owner.Role)
		}
		// Resending changed nothing else about the Owner: the rest stays
		// out of reach.
		g.owner = owner
		g.refused(t, muster.EFORBIDDEN, func() error { _, err := g.svc.Deactivate(op, owner.ID); return err })
		g.refused(t, muster.ECONFLICT, func() error { _, err := g.svc.ResendInvite(op, owner.ID); return err })
	})
}
