package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestGenericPlansKept: PostgreSQL keeps, after its first five runs on a
// connection, the generic plan of a list page by its cursor, of an
// invitation's lookup of one email and of its link (with the user's
// expiry), and of SCIM's lookups by userName and externalId, rather than
// planning them at every run (planning them took longer than running
// them: docs/benchmarks.md, rounds 5 and 8). The org has 20,000 users: at
// 3,000, PostgreSQL kept the page's generic plan even with its size a
// parameter.
func TestGenericPlansKept(t *testing.T) {
	db, session := storetest.OpenPostgresSession(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
	var org *muster.Org
	var users []*muster.User
	err := db.Update(ctx, func(tx muster.Tx) error {
		var team *muster.Team
		var err error
		if org, team, err = createOrg(ctx, tx, "Plans", 20000, now); err != nil {
			return err
		}
		for i := range 20000 {
			users = append(users, &muster.User{OrgID: org.ID, Email: fmt.Sprintf("p%05d@example.com", i),
				FirstName: "Person", LastName: fmt.Sprintf("N%05d", i), Role: muster.RoleBasic,
				Status: muster.StatusPending, InvitedAt: now, UpdatedAt: now, PrimaryTeamID: team.ID,
				ExternalID: fmt.Sprintf("idp-%05d", i)})
		}
		return tx.CreateUsers(ctx, users)
	})
	if err != nil {
		t.Fatal(err)
	}
	// With statistics, as a running server keeps them: the generic plan of
	// a page whose size were a parameter would be costed for a tenth of
	// the org, and never kept.
	if _, err := db.AnalyzeStale(ctx); err != nil {
		t.Fatal(err)
	}
	const runs = 12
	// scimLookup finds the ith user as an identity provider does, by attr
	// equal to value's of them.
	scimLookup := func(attr string, value func(*muster.User) string) func(tx muster.Tx, i int) error {
		return func(tx muster.Tx, i int) error {
			found, err := tx.SelectUsers(ctx, muster.Selection{OrgID: org.ID, Limit: 100,
				Where: &muster.Condition{Attr: attr, Op: muster.CondEqual, Value: value(users[i])}})
			if err == nil && (len(found) != 1 || found[0].ID != users[i].ID) {
				err = fmt.Errorf("%s %s: %d users", attr, value(users[i]), len(found))
			}
			return err
		}
	}
	for name, c := range map[string]struct {
		match string
		run   func(tx muster.Tx, i int) error
	}{
		"page by cursor": {"(u.sort_key, u.id) >", func(tx muster.Tx, i int) error {
			u := users[i*1500]
			after := &muster.UserCursor{SortKey: muster.SearchKey(u.FirstName + " " + u.LastName), ID: u.ID}
			page, err := tx.FindUsers(ctx, muster.UserFilter{OrgID: org.ID, After: after, Limit: 11})
			if err == nil && len(page) == 0 {
				err = fmt.Errorf("an empty page after %s", u.Email)
			}
			return err
		}},
		"one email": {"u.email_key = $1", func(tx muster.Tx, i int) error {
			found, err := tx.FindUsersByEmails(ctx, org.ID, []string{users[i].Email})
			if err == nil && len(found) != 1 {
				err = fmt.Errorf("%s: %d users", users[i].Email, len(found))
			}
			return err
		}},
		"an invitation's link": {"INSERT INTO invitations", func(tx muster.Tx, i int) error {
			inv := &muster.Invitation{OrgID: org.ID, UserID: users[i].ID, TokenHash: []byte(fmt.Sprint("link ", i)),
				CreatedAt: now, ExpiresAt: now.Add(72 * time.Hour)}
			if err := tx.CreateInvitation(ctx, inv); err != nil {
				return err
			}
			u, err := tx.FindUser(ctx, org.ID, users[i].ID)
			if err == nil && !u.InvitationExpiresAt.Equal(inv.ExpiresAt) {
				err = fmt.Errorf("%s: the link expires at %v, the user says %v", u.Email, inv.ExpiresAt, u.InvitationExpiresAt)
			}
			return err
		}},
		"SCIM's userName": {"scim_deleted_at IS NULL AND u.email_key =",
			scimLookup(muster.AttrEmail, func(u *muster.User) string { return u.Email })},
		"SCIM's externalId": {"u.external_id =",
			scimLookup(muster.AttrExternalID, func(u *muster.User) string { return u.ExternalID })},
	} {
		err := db.Update(ctx, func(tx muster.Tx) error {
			for i := range runs {
				if err := c.run(tx, i); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		// How many times PostgreSQL ran the statements prepared on the
		// store's one connection whose text holds c.match with their
		// generic plan, and with a plan made for their values.
		var generic, custom int64
		if err := session.QueryRowContext(ctx, `SELECT coalesce(sum(generic_plans), 0), coalesce(sum(custom_plans), 0)
			FROM pg_prepared_statements WHERE strpos(statement, $1) > 0`, c.match).Scan(&generic, &custom); err != nil {
			t.Fatal(err)
		}
		if generic+custom != runs || custom > 5 {
			t.Errorf("%s: %d runs with the generic plan and %d planned for their values; want at most 5 of %d planned",
				name, generic, custom, runs)
		}
	}
}
