package service_test

// LOG-1: every change is one audit event naming the actor, the action, the
// target and the values before and after, with the request's origin.

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
)

func TestAuditEventContents(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 10)
		admin := f.active("Ada", muster.RoleAdmin)
		sales := f.team(t, "Sales")
		adminCtx := muster.NewContext(context.Background(), muster.Principal{UserID: admin.ID, OrgID: f.org.ID, Origin: "web 192.0.2.7"})

		// Invite: no before, the whole user after.
		var res *service.Invited
		e := f.changed(t, func() (err error) {
			res, err = f.svc.Invite(adminCtx, service.InviteInput{FirstName: " Carl ", LastName: "Case", Email: uniqueEmail("carl"),
				Role: muster.RoleManager, PrimaryTeamID: sales.ID, SecondaryTeamIDs: []int64{f.defaultTeam().ID}})
			return err
		})
		u := res.User
		wantEvent(t, e, muster.ActionUserInvited, admin, "user", u.ID)
		if e.Origin != "web 192.0.2.7" || e.TargetLabel != u.Email || e.Before != nil {
			t.Fatalf("invite event origin %q, label %q, before %v; want the request's origin, the email, no before", e.Origin, e.TargetLabel, e.Before)
		}
		wantAfter := map[string]any{"email": u.Email, "first_name": "Carl", "last_name": "Case", "role": "manager",
			"status": "pending", "primary_team_id": sales.ID, "secondary_team_ids": []int64{f.defaultTeam().ID}}
		for k, v := range wantAfter {
			wantChange(t, e, k, nil, v)
		}

		// Edit: before and after differ in exactly what changed.
		e = f.changed(t, func() error {
			_, err := f.svc.UpdateUser(adminCtx, u.ID, service.UserUpdate{LastName: ptr("Casey"), Role: ptr(muster.RoleBasic)})
			return err
		})
		wantEvent(t, e, muster.ActionUserUpdated, admin, "user", u.ID)
		var changedKeys []string
		for k := range e.After {
			if fmt.Sprint(e.Before[k]) != fmt.Sprint(e.After[k]) {
				changedKeys = append(changedKeys, k)
			}
		}
		slices.Sort(changedKeys)
		if fmt.Sprint(changedKeys) != "[last_name role]" {
			t.Fatalf("edit event changes %v; want [last_name role]", changedKeys)
		}
		wantChange(t, e, "last_name", "Case", "Casey")
		wantChange(t, e, "role", "manager", "basic")

		// An operator's change is the operator's.
		e = f.changed(t, func() error { _, err := f.svc.SetLicenseTotal(operator(f.org.ID), 12, 0); return err })
		wantEvent(t, e, muster.ActionLicenseTotalChanged, nil, "org", f.org.ID)
		if e.ActorLabel != "Operator" || e.Origin != "test" {
			t.Fatalf("operator event label %q origin %q", e.ActorLabel, e.Origin)
		}

		// Accepting is the invitee's own act.
		_, link := f.invite("Ivo", muster.RoleBasic)
		var in *service.SignedIn
		e = f.changed(t, func() (err error) { in, err = f.acceptLink(link); return err })
		wantEvent(t, e, muster.ActionUserActivated, in.User, "user", in.User.ID)
		wantChange(t, e, "status", "pending", "active")

		// The log filters by target, actor and action.
		byTarget := auditTrail(t, f, muster.AuditFilter{TargetType: "user", TargetID: u.ID})
		if len(byTarget) != 2 || byTarget[0].Action != muster.ActionUserUpdated || byTarget[1].Action != muster.ActionUserInvited {
			t.Fatalf("events on Carl = %v; want updated, invited (newest first)", actionsOf(byTarget))
		}
		byActor := auditTrail(t, f, muster.AuditFilter{ActorID: admin.ID})
		if got := fmt.Sprint(actionsOf(byActor)); got != "[user.updated user.invited user.activated]" {
			t.Fatalf("events by Ada = %s; want her edit, her invitation and her own acceptance", got)
		}
		byAction := auditTrail(t, f, muster.AuditFilter{Action: muster.ActionTeamCreated})
		if len(byAction) != 1 || byAction[0].TargetID != sales.ID {
			t.Fatalf("team.created events = %v; want the one of Sales", actionsOf(byAction))
		}
		// Pages of the log join up without gaps or repeats.
		all := auditTrail(t, f, muster.AuditFilter{})
		var paged []*muster.AuditEvent
		q := service.AuditQuery{Limit: 3}
		for {
			page, err := f.svc.FindAuditEvents(f.as(f.owner), q)
			if err != nil {
				t.Fatal(err)
			}
			paged = append(paged, page.Events...)
			if page.NextBeforeID == 0 {
				break
			}
			q.BeforeID = page.NextBeforeID
		}
		if fmt.Sprint(idsOf(paged)) != fmt.Sprint(idsOf(all)) {
			t.Fatalf("paged log %v; want %v", idsOf(paged), idsOf(all))
		}
	})
}

// Calls that change nothing write nothing, not even an audit event.
func TestNoOpWritesNoAuditEvent(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 10)
		u := f.active("Nils", muster.RoleBasic)
		team := f.team(t, "Same")
		before := f.state(t)
		if _, err := f.svc.UpdateUser(f.as(f.owner), u.ID, service.UserUpdate{}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.UpdateUser(f.as(f.owner), u.ID, service.UserUpdate{FirstName: ptr("Nils"), PrimaryTeamID: &u.PrimaryTeamID}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.RenameTeam(f.as(f.owner), team.ID, "Same", 0); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.SetEmailAtScale(f.as(f.owner), false); err != nil {
			t.Fatal(err)
		}
		if d := diffStates(before, f.state(t)); d != "" {
			t.Fatalf("no-op calls changed the org:\n%s", d)
		}
	})
}

func actionsOf(events []*muster.AuditEvent) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.Action)
	}
	return out
}

func idsOf(events []*muster.AuditEvent) []int64 {
	var out []int64
	for _, e := range events {
		out = append(out, e.ID)
	}
	return out
}
