package service_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
)

// TestUserPagesBothWays pages forward and back through the list in every
// order, both ways: Previous gives back exactly the page before, the
// offsets say where each page starts, and the total counts the matches.
func TestUserPagesBothWays(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 50)
		for i := range 11 {
			u, _ := f.invite(fmt.Sprintf("P%02d", (i*7)%11), muster.RoleBasic)
			if i%3 == 0 {
				f.clock.Advance(1)
				f.accept(f.resend(t, u))
			}
		}
		ctx := f.as(f.owner)
		for _, sort := range muster.UserSorts {
			for _, desc := range []bool{false, true} {
				q := service.UserQuery{Sort: string(sort), Desc: desc, Limit: 5, Count: true}
				var pages [][]int64
				for {
					page, err := f.svc.FindUsers(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					if page.Total != 12 {
						t.Fatalf("%s desc=%v: total %d; want 12", sort, desc, page.Total)
					}
					if page.Offset != 5*len(pages) {
						t.Fatalf("%s desc=%v: page %d starts at %d", sort, desc, len(pages), page.Offset)
					}
					if (page.PrevCursor != "") != (len(pages) > 0) {
						t.Fatalf("%s desc=%v: page %d has Previous %q", sort, desc, len(pages), page.PrevCursor)
					}
					pages = append(pages, ids(page.Users))
					if page.NextCursor == "" {
						break
					}
					q.Cursor = page.NextCursor
					// Next, then Previous, then Next again: the same pages.
					next, err := f.svc.FindUsers(ctx, q)
					if err != nil {
						t.Fatal(err)
					}
					back, err := f.svc.FindUsers(ctx, service.UserQuery{Sort: string(sort), Desc: desc, Limit: 5, Cursor: next.PrevCursor})
					if err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(ids(back.Users), pages[len(pages)-1]) || back.Offset != page.Offset {
						t.Fatalf("%s desc=%v: Previous from page %d gave %v at %d; want %v at %d", sort, desc, len(pages),
							ids(back.Users), back.Offset, pages[len(pages)-1], page.Offset)
					}
				}
				if len(pages) != 3 || len(slices.Concat(pages...)) != 12 {
					t.Fatalf("%s desc=%v: pages %v", sort, desc, pages)
				}
			}
		}
	})
}

func ids(users []*muster.User) []int64 {
	out := make([]int64, len(users))
	for i, u := range users {
		out[i] = u.ID
	}
	return out
}

// resend sends a new link and returns it.
func (f *fixture) resend(t *testing.T, u *muster.User) string {
	t.Helper()
	res, err := f.svc.ResendInvite(f.as(f.owner), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return res.Link
}

// TestBulkActions: a bulk action is each user's own call, audited each,
// under the same rules: users in the wrong status or above the actor's
// ceiling are skipped before anything is done, and a refusal of one user's
// call (the last seat taken) stops that user only.
func TestBulkActions(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 7)
		admin := f.active("Ada", muster.RoleAdmin)
		meg := f.active("Meg", muster.RoleManager)
		pending, _ := f.invite("Pat", muster.RoleBasic)
		otherAdmin, _ := f.invite("Abe", muster.RoleAdmin)
		bea := f.active("Bea", muster.RoleBasic)
		max := f.active("Max", muster.RoleManager)

		// An Admin deactivates: Bea and Max are; the Pending users and the
		// Owner are skipped, before anything happens.
		plan, err := f.svc.PlanBulk(f.as(admin), service.BulkInput{Action: service.BulkDeactivate,
			UserIDs: []int64{f.owner.ID, pending.ID, otherAdmin.ID, bea.ID, max.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if plan.Todo() != 2 {
			t.Fatalf("plan: %d to do; want 2 (Bea and Max)", plan.Todo())
		}
		before := len(auditTrail(t, f, muster.AuditFilter{Action: muster.ActionUserDeactivated}))
		done, err := f.svc.ApplyBulk(f.as(admin), service.BulkInput{Action: service.BulkDeactivate,
			UserIDs: []int64{f.owner.ID, pending.ID, otherAdmin.ID, bea.ID, max.ID}})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range done.Items {
			wantDone := it.User.ID == bea.ID || it.User.ID == max.ID
			if it.Done != wantDone || (it.Skip == nil) != wantDone {
				t.Errorf("%s: done %v, skipped %v; want done %v", it.User.Name(), it.Done, it.Skip, wantDone)
			}
		}
		if n := len(auditTrail(t, f, muster.AuditFilter{Action: muster.ActionUserDeactivated})) - before; n != 2 {
			t.Fatalf("%d deactivation events; want one per user, 2", n)
		}
		if f.user(t, bea.ID).Status != muster.StatusDeactivated || f.user(t, pending.ID).Status != muster.StatusPending {
			t.Fatal("the bulk deactivation changed the wrong users")
		}

		// Invite again, with one seat free for two: the first comes back,
		// the second is refused with the seat count, alone.
		used, total := f.seats(t)
		f.active("Fill", muster.RoleBasic)
		for used+1 < total-1 {
			f.invite(fmt.Sprintf("Seat%d", used), muster.RoleBasic)
			used++
		}
		if used, total = f.seats(t); total-used != 1 {
			t.Fatalf("%d of %d seats used; want one free", used, total)
		}
		again, err := f.svc.ApplyBulk(f.as(f.owner), service.BulkInput{Action: service.BulkInviteAgain,
			UserIDs: []int64{bea.ID, max.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if !again.Items[0].Done || again.Items[1].Done || muster.ErrorCode(again.Items[1].Err) != muster.ESEATS {
			t.Fatalf("invite again with one seat: %+v, %+v; want the first done, the second refused for seats",
				again.Items[0], again.Items[1])
		}

		// Change teams: add a secondary team to everyone the filter
		// selects, and make it the primary team of one.
		team, err := f.svc.CreateTeam(f.as(f.owner), "Support")
		if err != nil {
			t.Fatal(err)
		}
		all, err := f.svc.ApplyBulk(f.as(f.owner), service.BulkInput{Action: service.BulkAddSecondary, All: true,
			Query: service.UserQuery{Status: "pending"}, TeamID: team.ID})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range all.Items {
			if it.User.Role != muster.RoleOwner && (!it.Done || !slices.Contains(f.user(t, it.User.ID).SecondaryTeamIDs, team.ID)) {
				t.Errorf("%s (%s) did not get Support: %+v", it.User.Name(), it.User.Status, it)
			}
		}
		if _, err := f.svc.ApplyBulk(f.as(f.owner), service.BulkInput{Action: service.BulkSetPrimary,
			UserIDs: []int64{pending.ID}, TeamID: team.ID}); err != nil {
			t.Fatal(err)
		}
		if u := f.user(t, pending.ID); u.PrimaryTeamID != team.ID || slices.Contains(u.SecondaryTeamIDs, team.ID) {
			t.Fatalf("after setting the primary team: %d, %v", u.PrimaryTeamID, u.SecondaryTeamIDs)
		}
		// A Manager is refused outright.
		f.refused(t, muster.EFORBIDDEN, func() error {
			_, err := f.svc.ApplyBulk(f.as(meg), service.BulkInput{
				Action: service.BulkWithdraw, UserIDs: []int64{pending.ID}})
			return err
		})
	})
}

// TestMoveMembersAndRemoveTeam: the users who block a team's removal are
// listed, and moving them to another team and removing it is one audited
// step.
func TestMoveMembersAndRemoveTeam(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 10)
		ctx := f.as(f.owner)
		sales, err := f.svc.CreateTeam(ctx, "Sales")
		if err != nil {
			t.Fatal(err)
		}
		ops, err := f.svc.CreateTeam(ctx, "Ops")
		if err != nil {
			t.Fatal(err)
		}
		a, _ := f.inviteInto(t, "Ann", muster.RoleBasic, sales.ID, ops.ID)
		b, _ := f.inviteInto(t, "Ben", muster.RoleBasic, sales.ID)
		c, _ := f.inviteInto(t, "Cy", muster.RoleBasic, ops.ID, sales.ID)
		rm, err := f.svc.FindTeamRemoval(ctx, sales.ID)
		if err != nil {
			t.Fatal(err)
		}
		if rm.BlockerCount != 2 || len(rm.Blockers) != 2 || rm.Blockers[0].ID != a.ID || rm.Blockers[1].ID != b.ID {
			t.Fatalf("blockers %d %v; want Ann and Ben, not Cy (secondary)", rm.BlockerCount, rm.Blockers)
		}
		f.refused(t, muster.EINVALID, func() error { _, err := f.svc.MoveMembersAndRemoveTeam(ctx, sales.ID, sales.ID); return err })
		// An Admin moves no Admin: the removal of a team that is an
		// Admin's primary team, by another Admin, names them and changes
		// nothing.
		legal, err := f.svc.CreateTeam(ctx, "Legal")
		if err != nil {
			t.Fatal(err)
		}
		f.inviteInto(t, "Lex", muster.RoleAdmin, legal.ID)
		f.inviteInto(t, "Liv", muster.RoleBasic, legal.ID)
		ada := f.active("Ada", muster.RoleAdmin)
		err = f.refused(t, muster.EFORBIDDEN, func() error {
			_, err := f.svc.MoveMembersAndRemoveTeam(f.as(ada), legal.ID, ops.ID)
			return err
		})
		if msg := muster.ErrorMessage(err); !strings.HasPrefix(msg, "Lex Tester can't be moved: ") {
			t.Errorf("refusal %q; want it to name Lex, whom an Admin can't move", msg)
		}
		before := len(auditTrail(t, f, muster.AuditFilter{Action: muster.ActionUserUpdated}))
		if _, err := f.svc.MoveMembersAndRemoveTeam(ctx, sales.ID, ops.ID); err != nil {
			t.Fatal(err)
		}
		if n := len(auditTrail(t, f, muster.AuditFilter{Action: muster.ActionUserUpdated})) - before; n != 2 {
			t.Fatalf("%d user.updated events; want 2", n)
		}
		if len(auditTrail(t, f, muster.AuditFilter{Action: muster.ActionTeamRemoved})) != 1 {
			t.Fatal("no team.removed event")
		}
		for _, u := range []*muster.User{a, b} {
			if got := f.user(t, u.ID); got.PrimaryTeamID != ops.ID || len(got.SecondaryTeamIDs) != 0 {
				t.Errorf("%s: primary %d, secondaries %v; want Ops alone", u.FirstName, got.PrimaryTeamID, got.SecondaryTeamIDs)
			}
		}
		if got := f.user(t, c.ID); got.PrimaryTeamID != ops.ID || len(got.SecondaryTeamIDs) != 0 {
			t.Errorf("Cy: %d %v; want Ops and no secondary", got.PrimaryTeamID, got.SecondaryTeamIDs)
		}
	})
}

// TestSignOutEverywhereAndCopyLink: both are audited, refused outside the
// actor's powers, and a copied link replaces the emailed one.
func TestSignOutEverywhereAndCopyLink(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 10)
		admin := f.active("Ada", muster.RoleAdmin)
		bea := f.active("Bea", muster.RoleBasic)
		f.refused(t, muster.EFORBIDDEN, func() error { _, err := f.svc.SignOutEverywhere(f.as(admin), f.owner.ID); return err })
		e := f.changed(t, func() error { _, err := f.svc.SignOutEverywhere(f.as(admin), bea.ID); return err })
		wantEvent(t, e, muster.ActionSessionsEnded, admin, "user", bea.ID)
		d, err := f.svc.FindUserDetail(f.as(admin), bea.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Sessions) != 0 || len(d.History) < 2 || d.InvitedBy == nil || d.InvitedBy.ID != f.owner.ID {
			t.Fatalf("detail after signing out: %d sessions, history %d, invited by %v", len(d.Sessions), len(d.History), d.InvitedBy)
		}

		pat, emailed := f.invite("Pat", muster.RoleBasic)
		var link *service.InviteLink
		e = f.changed(t, func() error { link, err = f.svc.CopyInviteLink(f.as(admin), pat.ID); return err })
		wantEvent(t, e, muster.ActionInviteLinkCopied, admin, "user", pat.ID)
		if _, err := f.acceptLink(emailed); muster.ErrorCode(err) != muster.EGONE {
			t.Fatalf("the emailed link after a copy: %v; want it gone", err)
		}
		f.accept(link.Link)
		f.refused(t, muster.ECONFLICT, func() error { _, err := f.svc.CopyInviteLink(f.as(admin), pat.ID); return err })
	})
}
