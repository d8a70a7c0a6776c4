package service_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestHotStatementsKeepGenericPlans: on PostgreSQL, every statement of the
// commonest requests (invitations and their acceptance, role and team
// changes, the list and one user, deactivations, an identity provider's
// lookups and creations of users and groups) keeps its generic plan
// after its first five runs on a connection. A statement planned at every
// run had cost more to plan than to run (docs/benchmarks.md, rounds 5 and
// 8); the statements meant to be planned for their values are unnamed and
// not among those looked at.
func TestHotStatementsKeepGenericPlans(t *testing.T) {
	db, session := storetest.OpenPostgresSession(t)
	f := setup(t, db, 100)
	ctx := f.as(f.owner)
	team, err := f.svc.CreateTeam(ctx, "Plans")
	if err != nil {
		t.Fatal(err)
	}
	// PostgreSQL weighs a generic plan against the plans for values by
	// their costs, which a table of a few rows makes all alike: the org
	// has 20,000 users more, with statistics, as a running server keeps.
	now := f.clock.Now()
	var crowd []*muster.User
	for i := range 20000 {
		crowd = append(crowd, &muster.User{OrgID: f.org.ID, Email: fmt.Sprintf("crowd%05d@example.com", i),
			FirstName: "Crowd", LastName: fmt.Sprintf("N%05d", i), Role: muster.RoleBasic, Status: muster.StatusActive,
			InvitedAt: now, UpdatedAt: now, PrimaryTeamID: team.ID})
	}
	if err := db.Update(context.Background(), func(tx muster.Tx) error { return tx.CreateUsers(context.Background(), crowd) }); err != nil {
		t.Fatal(err)
	}
	if _, err := db.AnalyzeStale(context.Background()); err != nil {
		t.Fatal(err)
	}
	const runs = 12
	var users []*muster.User
	for i := range runs {
		users = append(users, f.active(fmt.Sprint("Plan", i), muster.RoleBasic))
	}
	manager := muster.RoleManager
	for _, u := range users {
		if _, err := f.svc.UpdateUser(ctx, u.ID, service.UserUpdate{Role: &manager, SecondaryTeamIDs: &[]int64{team.ID}}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.FindUser(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
		page, err := f.svc.FindUsers(ctx, service.UserQuery{Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.FindUsers(ctx, service.UserQuery{Limit: 5, Cursor: page.NextCursor}); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range users {
		if _, err := f.svc.Deactivate(ctx, u.ID); err != nil {
			t.Fatal(err)
		}
	}
	// An identity provider looks each person up, then creates them.
	idp, _ := f.scim(t)
	for i := range runs {
		email := uniqueEmail(fmt.Sprint("Scim", i))
		for _, where := range []muster.Condition{{Attr: muster.AttrEmail, Op: muster.CondEqual, Value: email},
			{Attr: muster.AttrExternalID, Op: muster.CondEqual, Value: email}} {
			found, err := f.svc.FindProvisionedUsers(idp, service.ProvisionQuery{Where: &where, Limit: 10})
			if err != nil || found.Total != 0 {
				t.Fatalf("%s before its creation: %+v, %v", where.Attr, found, err)
			}
		}
		created, err := f.svc.ProvisionUser(idp, service.UserDraft{Email: email, FirstName: "Scim", LastName: "Person",
			ExternalID: email, Active: true})
		if err != nil {
			t.Fatal(err)
		}
		// And each of its groups, before it pushes the group.
		group := fmt.Sprint("Pushed ", i)
		found, err := f.svc.FindProvisionedTeams(idp, service.ProvisionQuery{Limit: 10,
			Where: &muster.Condition{Attr: muster.AttrName, Op: muster.CondEqual, Value: group}})
		if err != nil || found.Total != 0 {
			t.Fatalf("group %s before its creation: %+v, %v", group, found, err)
		}
		if _, err := f.svc.ProvisionTeam(idp, service.TeamDraft{Name: group, ExternalID: group,
			Members: []int64{created.User.ID}}); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := session.QueryContext(context.Background(), `SELECT statement, generic_plans, custom_plans
		FROM pg_prepared_statements WHERE generic_plans + custom_plans >= $1`, runs)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	checked := 0
	for rows.Next() {
		var statement string
		var generic, custom int64
		if err := rows.Scan(&statement, &generic, &custom); err != nil {
			t.Fatal(err)
		}
		checked++
		if custom > 5 {
			t.Errorf("planned for its values at %d of its %d runs:\n%s", custom, generic+custom, statement)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// An invitation alone runs more than ten statements twelve times.
	if checked < 10 {
		t.Errorf("%d statements ran %d times or more on the connection; want the requests' (at least 10)", checked, runs)
	}
}
