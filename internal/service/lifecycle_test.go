package service_test

// SPEC §3 as a table test: every action of the lifecycle table from every
// status, allowed and refused, and the effects the table lists.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
)

// lifeTarget is a user brought to a status, with the newest invitation link
// they were sent.
type lifeTarget struct {
	user *muster.User
	link string
}

func makeTarget(t *testing.T, f *fixture, status muster.Status, role muster.Role) lifeTarget {
	t.Helper()
	u, link := f.invite("Lou", role)
	switch status {
	case muster.StatusActive:
		u = f.accept(link)
	case muster.StatusDeactivated:
		u = f.accept(link)
		if _, err := f.svc.Deactivate(f.as(f.owner), u.ID); err != nil {
			t.Fatal(err)
		}
		u.Status = muster.StatusDeactivated
	case muster.StatusWithdrawn:
		if _, err := f.svc.Withdraw(f.as(f.owner), u.ID); err != nil {
			t.Fatal(err)
		}
		u.Status = muster.StatusWithdrawn
	}
	return lifeTarget{user: u, link: link}
}

var lifeStatuses = []muster.Status{muster.StatusPending, muster.StatusActive, muster.StatusDeactivated, muster.StatusWithdrawn}

func TestLifecycleTable(t *testing.T) {
	type action struct {
		name string
		// want maps each status to the refusal code, "" when allowed.
		want map[muster.Status]string
		// reason is the EGONE reason for refusals that have one.
		reason map[muster.Status]string
		// readOnly: allowed, and nothing changes.
		readOnly bool
		run      func(t *testing.T, f *fixture, lt lifeTarget) (func() error, func(t *testing.T, e *muster.AuditEvent))
	}
	const (
		P, A, D, W = muster.StatusPending, muster.StatusActive, muster.StatusDeactivated, muster.StatusWithdrawn
	)
	conflict, notFound, gone := muster.ECONFLICT, muster.ENOTFOUND, muster.EGONE
	actions := []action{
		{name: "resend invite", want: map[muster.Status]string{P: "", A: conflict, D: conflict, W: notFound},
			run: func(t *testing.T, f *fixture, lt lifeTarget) (func() error, func(*testing.T, *muster.AuditEvent)) {
				var res *service.Invited
				return func() (err error) { res, err = f.svc.ResendInvite(f.as(f.owner), lt.user.ID); return err },
					func(t *testing.T, e *muster.AuditEvent) {
						wantEvent(t, e, muster.ActionInviteResent, f.owner, "user", lt.user.ID)
						_, err := f.svc.LookupInvitation(context.Background(), tokenOf(lt.link))
						wantGone(t, err, muster.LinkSuperseded)
						if info, err := f.svc.LookupInvitation(context.Background(), tokenOf(res.Link)); err != nil || info.User.ID != lt.user.ID {
							t.Fatalf("new link: %v", err)
						}
					}
			}},
		{name: "withdraw", want: map[muster.Status]string{P: "", A: conflict, D: conflict, W: notFound},
			run: func(t *testing.T, f *fixture, lt lifeTarget) (func() error, func(*testing.T, *muster.AuditEvent)) {
				used, _ := f.seats(t)
				return func() error { _, err := f.svc.Withdraw(f.as(f.owner), lt.user.ID); return err },
					func(t *testing.T, e *muster.AuditEvent) {
						wantEvent(t, e, muster.ActionInviteWithdrawn, f.owner, "user", lt.user.ID)
						wantChange(t, e, "status", P, W)
						if f.listed(t, lt.user.ID) {
							t.Fatal("withdrawn user still on the Users tab")
						}
						if now, _ := f.seats(t); now != used-1 {
							t.Fatalf("seats %d → %d; want one freed", used, now)
						}
						_, err := f.svc.LookupInvitation(context.Background(), tokenOf(lt.link))
						wantGone(t, err, muster.LinkWithdrawn)
					}
			}},
		{name: "edit role", want: map[muster.Status]string{P: "", A: "", D: conflict, W: notFound},
			run: func(t *testing.T, f *fixture, lt lifeTarget) (func() error, func(*testing.T, *muster.AuditEvent)) {
				return func() error {
						_, err := f.svc.UpdateUser(f.as(f.owner), lt.user.ID, service.UserUpdate{Role: ptr(muster.RoleManager)})
						return err
					}, func(t *testing.T, e *muster.AuditEvent) {
						wantEvent(t, e, muster.ActionUserUpdated, f.owner, "user", lt.user.ID)
						wantChange(t, e, "role", muster.RoleBasic, muster.RoleManager)
						if u := f.user(t, lt.user.ID); u.Role != muster.RoleManager || u.Status != lt.user.Status {
							t.Fatalf("after edit: %s %s; want manager, status unchanged (%s)", u.Role, u.Status, lt.user.Status)
						}
					}
			}},
		{name: "edit teams", want: map[muster.Status]string{P: "", A: "", D: conflict, W: notFound},
			run: func(t *testing.T, f *fixture, lt lifeTarget) (func() error, func(*testing.T, *muster.AuditEvent)) {
				team := f.team(t, "Team "+uniqueEmail("x"))
				return func() error {
						_, err := f.svc.UpdateUser(f.as(f.owner), lt.user.ID, service.UserUpdate{PrimaryTeamID: &team.ID})
						return err
					}, func(t *testing.T, e *muster.AuditEvent) {
						wantEvent(t, e, muster.ActionUserUpdated, f.owner, "user", lt.user.ID)
						wantChange(t, e, "primary_team_id", f.defaultTeam().ID, team.ID)
						if u := f.user(t, lt.user.ID); u.PrimaryTeamID != team.ID {
							t.Fatalf("primary team = %d; want %d", u.PrimaryTeamID, team.ID)
						}
					}
			}},
		{name: "deactivate", want: map[muster.Status]string{P: conflict, A: "", D: conflict, W: notFound},
			run: func(t *testing.T, f *fixture, lt lifeTarget) (func() error, func(*testing.T, *muster.AuditEvent)) {
				used, _ := f.seats(t)
				return func() error { _, err := f.svc.Deactivate(f.as(f.owner), lt.user.ID); return err },
					func(t *testing.T, e *muster.AuditEvent) {
						wantEvent(t, e, muster.ActionUserDeactivated, f.owner, "user", lt.user.ID)
						wantChange(t, e, "status", A, D)
						if now, _ := f.seats(t); now != used-1 {
							t.Fatalf("seats %d → %d; want one freed", used, now)
						}
						if u := f.user(t, lt.user.ID); u.Status != D || !f.listed(t, u.ID) {
							t.Fatalf("after deactivate: %s, listed %v; want deactivated and still listed", u.Status, f.listed(t, u.ID))
						}
					}
			}},
		{name: "invite again, same email", want: map[muster.Status]string{P: conflict, A: conflict, D: "", W: ""},
			run: func(t *testing.T, f *fixture, lt lifeTarget) (func() error, func(*testing.T, *muster.AuditEvent)) {
				var res *service.Invited
				used, _ := f.seats(t)
				return func() (err error) {
						res, err = f.svc.Invite(f.as(f.owner), service.InviteInput{FirstName: "Lou", LastName: "Again",
							Email: lt.user.Email, Role: muster.RoleBasic, PrimaryTeamID: f.defaultTeam().ID})
						return err
					}, func(t *testing.T, e *muster.AuditEvent) {
						if res.User.ID != lt.user.ID || !res.Again {
							t.Fatalf("invite again made user #%d (again=%v); want the same record #%d", res.User.ID, res.Again, lt.user.ID)
						}
						wantEvent(t, e, muster.ActionUserReinvited, f.owner, "user", lt.user.ID)
						wantChange(t, e, "status", lt.user.Status, P)
						if u := f.user(t, lt.user.ID); u.Status != P || u.LastName != "Again" {
							t.Fatalf("after invite again: %s %q; want pending, new name", u.Status, u.LastName)
						}
						if now, _ := f.seats(t); now != used+1 {
							t.Fatalf("seats %d → %d; want one taken", used, now)
						}
					}
			}},
		{name: "pre-fill invite again", readOnly: true,
			want: map[muster.Status]string{P: conflict, A: conflict, D: "", W: notFound},
			run: func(t *testing.T, f *fixture, lt lifeTarget) (func() error, func(*testing.T, *muster.AuditEvent)) {
				return func() error {
					in, err := f.svc.InviteAgainDraft(f.as(f.owner), lt.user.ID)
					if err == nil && (in.Email != lt.user.Email || in.Role != lt.user.Role) {
						t.Errorf("draft = %+v; want %s as %s", in, lt.user.Email, lt.user.Role)
					}
					return err
				}, nil
			}},
		{name: "accept invitation",
			want:   map[muster.Status]string{P: "", A: gone, D: gone, W: gone},
			reason: map[muster.Status]string{A: muster.LinkUsed, D: muster.LinkUsed, W: muster.LinkWithdrawn},
			run: func(t *testing.T, f *fixture, lt lifeTarget) (func() error, func(*testing.T, *muster.AuditEvent)) {
				var in *service.SignedIn
				return func() (err error) { in, err = f.acceptLink(lt.link); return err },
					func(t *testing.T, e *muster.AuditEvent) {
						wantEvent(t, e, muster.ActionUserActivated, lt.user, "user", lt.user.ID)
						wantChange(t, e, "status", P, A)
						if in.User.Status != A || in.Token == "" {
							t.Fatalf("accepted: %s, token %q; want active and signed in", in.User.Status, in.Token)
						}
						if me, err := f.svc.Me(f.as(lt.user)); err != nil || me.Status != A {
							t.Fatalf("Me after accept: %v, %v", me, err)
						}
					}
			}},
	}

	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 1000)
		for _, a := range actions {
			for _, from := range lifeStatuses {
				want := a.want[from]
				verdict := "allowed"
				if want != "" {
					verdict = "refused"
				}
				t.Run(fmt.Sprintf("%s from %s %s", a.name, from.Label(), verdict), func(t *testing.T) {
					f := f.on(t)
					lt := makeTarget(t, f, from, muster.RoleBasic)
					call, check := a.run(t, f, lt)
					switch {
					case want != "":
						err := f.refused(t, want, call)
						if r := a.reason[from]; r != "" {
							wantGone(t, err, r)
						}
						if u := f.user(t, lt.user.ID); u.Status != from {
							t.Fatalf("status after refusal = %s; want %s", u.Status, from)
						}
					case a.readOnly:
						before := f.state(t)
						if err := call(); err != nil {
							t.Fatal(err)
						}
						if d := diffStates(before, f.state(t)); d != "" {
							t.Fatalf("reading changed the org:\n%s", d)
						}
					default:
						check(t, f.changed(t, call))
					}
				})
			}
		}
	})
}

// Deactivate's effects: access ends at once (sessions, API tokens, links),
// Send As grants go, the seat is freed, and memberships stay with the teams.
func TestDeactivateEffects(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 10)
		sales, support := f.team(t, "Sales"), f.team(t, "Support")
		_, link := f.inviteInto(t, "Dee", muster.RoleAdmin, sales.ID, support.ID)
		in, err := f.acceptLink(link)
		if err != nil {
			t.Fatal(err)
		}
		dee := in.User
		if _, err := f.svc.SetEmailAtScale(f.as(f.owner), true); err != nil {
			t.Fatal(err)
		}
		perm, err := f.svc.CreateSendAs(f.as(f.owner), service.SendAsInput{FromName: "Sales", FromEmail: uniqueEmail("sales"),
			UserIDs: []int64{dee.ID}})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := f.svc.CreateAPIToken(f.as(dee), "Dee's script", f.clock.Now().AddDate(1, 0, 0))
		if err != nil {
			t.Fatal(err)
		}
		used, _ := f.seats(t)
		before := auditTrail(t, f, muster.AuditFilter{})

		if _, err := f.svc.Deactivate(f.as(f.owner), dee.ID); err != nil {
			t.Fatal(err)
		}

		after := auditTrail(t, f, muster.AuditFilter{})
		added := after[:len(after)-len(before)]
		var deactivations, unassigned int
		for _, e := range added {
			switch {
			case e.Action == muster.ActionUserDeactivated && e.TargetID == dee.ID:
				deactivations++
			case e.Action == muster.ActionSendAsRevoked && e.TargetID == dee.ID:
				unassigned++
			default:
				t.Errorf("unexpected audit event %s on %s #%d", e.Action, e.TargetType, e.TargetID)
			}
		}
		if deactivations != 1 || unassigned != 1 {
			t.Fatalf("deactivation wrote %d deactivated and %d send-as revoked events; want 1 and 1", deactivations, unassigned)
		}
		if _, _, err := f.svc.Authenticate(context.Background(), in.Token); muster.ErrorCode(err) != muster.EUNAUTHORIZED {
			t.Fatalf("session after deactivation: %v; want unauthorized", err)
		}
		if _, err := f.svc.AuthenticateAPIToken(context.Background(), tok.Secret); muster.ErrorCode(err) != muster.EUNAUTHORIZED {
			t.Fatalf("API token after deactivation: %v; want unauthorized", err)
		}
		if _, err := f.svc.Me(f.as(dee)); muster.ErrorCode(err) != muster.EUNAUTHORIZED {
			t.Fatalf("context after deactivation: %v; want unauthorized", err)
		}
		p, err := f.svc.SendAs(f.as(f.owner), perm.ID)
		if err != nil || len(p.UserIDs) != 0 {
			t.Fatalf("Send As users after deactivation = %v, %v; want none", p.UserIDs, err)
		}
		if now, _ := f.seats(t); now != used-1 {
			t.Fatalf("seats %d → %d; want one freed", used, now)
		}
		u := f.user(t, dee.ID)
		if u.Status != muster.StatusDeactivated || u.PrimaryTeamID != sales.ID ||
			len(u.SecondaryTeamIDs) != 1 || u.SecondaryTeamIDs[0] != support.ID {
			t.Fatalf("after deactivation: %s, primary %d, secondary %v; want deactivated, teams kept (%d, [%d])",
				u.Status, u.PrimaryTeamID, u.SecondaryTeamIDs, sales.ID, support.ID)
		}
		// Teams count only Pending and Active users, but the deactivated
		// user still shows up under the team filter of the Users tab.
		page, err := f.svc.FindUsers(f.as(f.owner), service.UserQuery{TeamID: sales.ID})
		if err != nil || len(page.Users) != 1 || page.Users[0].ID != dee.ID {
			t.Fatalf("Users filtered by Sales = %v, %v; want Dee", page.Users, err)
		}
		if team := findTeam(t, f, sales.ID); team.PrimaryCount != 0 {
			t.Fatalf("Sales counts %d primary users; want 0 once Dee is deactivated", team.PrimaryCount)
		}
	})
}

// Invite again (SPEC §3): a deactivated email, in any case, brings back the
// same record with its history; the form is pre-filled with the previous
// role and teams.
func TestInviteAgain(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 3)
		ops, hr := f.team(t, "Ops"), f.team(t, "HR")
		u, link := f.inviteInto(t, "Reggie", muster.RoleManager, ops.ID, hr.ID, f.defaultTeam().ID)
		u = f.accept(link)
		if _, err := f.svc.Deactivate(f.as(f.owner), u.ID); err != nil {
			t.Fatal(err)
		}

		draft, err := f.svc.InviteAgainDraft(f.as(f.owner), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantSecondaries := fmt.Sprint(sortedIDs(hr.ID, f.defaultTeam().ID))
		if draft.Email != u.Email || draft.FirstName != "Reggie" || draft.LastName != "Tester" ||
			draft.Role != muster.RoleManager || draft.PrimaryTeamID != ops.ID || fmt.Sprint(draft.SecondaryTeamIDs) != wantSecondaries {
			t.Fatalf("draft = %+v; want Reggie Tester %s, manager, primary %d, secondary %s", draft, u.Email, ops.ID, wantSecondaries)
		}

		variations := []string{strings.ToUpper(u.Email), "  " + u.Email + " ", strings.ToUpper(u.Email[:1]) + u.Email[1:],
			strings.Replace(u.Email, "example.com", "EXAMPLE.com", 1)}
		for i, email := range variations {
			in := *draft
			in.Email = email
			res, err := f.svc.Invite(f.as(f.owner), in)
			if err != nil {
				t.Fatalf("invite again as %q: %v", email, err)
			}
			if res.User.ID != u.ID || !res.Again || res.User.Status != muster.StatusPending {
				t.Fatalf("invite again as %q = #%d %s (again %v); want the same user #%d, pending", email, res.User.ID,
					res.User.Status, res.Again, u.ID)
			}
			got := f.user(t, u.ID)
			if got.Role != muster.RoleManager || got.PrimaryTeamID != ops.ID || fmt.Sprint(got.SecondaryTeamIDs) != wantSecondaries {
				t.Fatalf("user after invite again = %+v; want the previous role and teams", got)
			}
			if n := f.countStatus(t, ""); n != 2 {
				t.Fatalf("%d users on the list; want 2 (the Owner and Reggie, once)", n)
			}
			// An email differing only in case is the same login name: it
			// can't be invited while the user is Pending.
			f.refused(t, muster.ECONFLICT, func() error {
				_, err := f.svc.Invite(f.as(f.owner), service.InviteInput{FirstName: "Dup", LastName: "Licate",
					Email: strings.ToLower(email), Role: muster.RoleBasic, PrimaryTeamID: f.defaultTeam().ID})
				return err
			})
			if i%2 == 0 {
				// Back to Deactivated through Active.
				f.accept(res.Link)
				if _, err := f.svc.Deactivate(f.as(f.owner), u.ID); err != nil {
					t.Fatal(err)
				}
			} else if _, err := f.svc.Withdraw(f.as(f.owner), u.ID); err != nil {
				t.Fatal(err)
			}
		}

		// The history of the one record is all there, oldest first.
		events := auditTrail(t, f, muster.AuditFilter{TargetType: "user", TargetID: u.ID})
		var actions []string
		for i := len(events) - 1; i >= 0; i-- {
			actions = append(actions, strings.TrimPrefix(events[i].Action, "user."))
		}
		want := "invited activated deactivated invited_again activated deactivated invited_again invite_withdrawn " +
			"invited_again activated deactivated invited_again invite_withdrawn"
		if got := strings.Join(actions, " "); got != want {
			t.Fatalf("history of the user:\n got %s\nwant %s", got, want)
		}
	})
}

func sortedIDs(ids ...int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

// TestInviteAgainWithChanges: InviteAgain brings a deactivated user back
// Pending with their previous name and teams and the changes given, taking
// a seat, under the same rules as Invite: a stale version, an Active user,
// a role above the actor's ceiling and a full org are refused and change
// nothing (SPEC §3).
func TestInviteAgainWithChanges(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 3)
		admin := f.active("Ada", muster.RoleAdmin)
		ops := f.team(t, "Ops")
		u := f.active("Reggie", muster.RoleBasic)
		gone, err := f.svc.Deactivate(f.as(f.owner), u.ID)
		if err != nil {
			t.Fatal(err)
		}

		manager, admins := muster.RoleManager, muster.RoleAdmin
		f.refused(t, muster.ECONFLICT, func() error {
			_, err := f.svc.InviteAgain(f.as(f.owner), admin.ID, service.UserUpdate{})
			return err
		})
		f.refused(t, muster.ESTALE, func() error {
			_, err := f.svc.InviteAgain(f.as(f.owner), u.ID, service.UserUpdate{IfVersion: gone.Version - 1})
			return err
		})
		f.refused(t, muster.EFORBIDDEN, func() error {
			_, err := f.svc.InviteAgain(f.as(admin), u.ID, service.UserUpdate{Role: &admins})
			return err
		})
		// An Admin brings a former Admin back as nothing: not as an
		// Admin, and not as a Manager either (a demotion, SPEC §2).
		formerAdmin := f.active("Abe", muster.RoleAdmin)
		if _, err := f.svc.Deactivate(f.as(f.owner), formerAdmin.ID); err != nil {
			t.Fatal(err)
		}
		f.refused(t, muster.EFORBIDDEN, func() error {
			_, err := f.svc.InviteAgain(f.as(admin), formerAdmin.ID, service.UserUpdate{Role: &manager})
			return err
		})
		f.refused(t, muster.EFORBIDDEN, func() error {
			_, err := f.svc.FindInviteForm(f.as(admin), formerAdmin.ID)
			return err
		})
		// Nor by inviting their email, which brings the same record back.
		f.refused(t, muster.EFORBIDDEN, func() error {
			_, err := f.svc.Invite(f.as(admin), service.InviteInput{FirstName: "Abe", LastName: "Tester",
				Email: formerAdmin.Email, Role: muster.RoleBasic, PrimaryTeamID: f.defaultTeam().ID})
			return err
		})
		if _, err := f.svc.SetLicenseTotal(f.as(f.owner), 3, 0); err != nil {
			t.Fatal(err)
		}
		f.active("Filler", muster.RoleBasic)
		f.refused(t, muster.ESEATS, func() error {
			_, err := f.svc.InviteAgain(f.as(f.owner), u.ID, service.UserUpdate{})
			return err
		})
		if _, err := f.svc.SetLicenseTotal(f.as(f.owner), 4, 0); err != nil {
			t.Fatal(err)
		}

		primary := ops.ID
		res, err := f.svc.InviteAgain(f.as(admin), u.ID, service.UserUpdate{IfVersion: gone.Version, Role: &manager,
			PrimaryTeamID: &primary})
		if err != nil {
			t.Fatal(err)
		}
		got := f.user(t, u.ID)
		if !res.Again || got.ID != u.ID || got.Status != muster.StatusPending || got.Role != muster.RoleManager ||
			got.PrimaryTeamID != ops.ID || got.FirstName != "Reggie" || res.Link == "" {
			t.Fatalf("invited again: %+v (again %v); want Reggie back Pending, a Manager in Ops, with a new link", got, res.Again)
		}
		if used, total := f.seats(t); used != total {
			t.Fatalf("%d of %d seats used; want the last one taken", used, total)
		}
	})
}

// TestAdminEditsOwnName: an Admin edits their own name (and teams) but not
// their own role, nor another Admin (ROLE-2).
func TestAdminEditsOwnName(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		ada, abe := f.active("Ada", muster.RoleAdmin), f.active("Abe", muster.RoleAdmin)
		first, last := "Adelaide", "Admin-Smith"
		got, err := f.svc.UpdateUser(f.as(ada), ada.ID, service.UserUpdate{FirstName: &first, LastName: &last})
		if err != nil || got.Name() != "Adelaide Admin-Smith" {
			t.Fatalf("Ada renames herself: %+v, %v; want Adelaide Admin-Smith", got, err)
		}
		basic := muster.RoleBasic
		f.refused(t, muster.EFORBIDDEN, func() error {
			_, err := f.svc.UpdateUser(f.as(ada), ada.ID, service.UserUpdate{Role: &basic})
			return err
		})
		f.refused(t, muster.EFORBIDDEN, func() error {
			_, err := f.svc.UpdateUser(f.as(ada), abe.ID, service.UserUpdate{FirstName: &first})
			return err
		})
	})
}
