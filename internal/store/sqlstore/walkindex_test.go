package sqlstore_test

import (
	"context"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestListWalksItsIndex: on SQLite a page of the list in name order, first
// or by its cursor, either way round, is read from users_org_sort alone
// (migration 00026), not from the table a user at a time; and a page of a
// status or a role, or in another order, walks that index rather than the
// whole org through users_org_sort, which SQLite, without statistics,
// would take for the cheapest (Dialect.IndexedBy). A column added to what
// FindUsers reads but not to the index fails here.
func TestListWalksItsIndex(t *testing.T) {
	db := storetest.OpenSQLite(t)
	ctx := context.Background()
	after := &muster.UserCursor{SortKey: "mar", ID: 5}
	for name, c := range map[string]struct {
		filter muster.UserFilter
		plan   string
	}{
		"first page":           {muster.UserFilter{}, "SEARCH u USING COVERING INDEX users_org_sort (org_id=?)"},
		"page by cursor":       {muster.UserFilter{After: after}, "SEARCH u USING COVERING INDEX users_org_sort (org_id=? AND sort_key>?)"},
		"last page":            {muster.UserFilter{Desc: true}, "SEARCH u USING COVERING INDEX users_org_sort (org_id=?)"},
		"page before a cursor": {muster.UserFilter{After: after, Desc: true}, "SEARCH u USING COVERING INDEX users_org_sort (org_id=? AND sort_key<?)"},
		"two-step filter":      {muster.UserFilter{TwoStep: "on"}, "SEARCH u USING COVERING INDEX users_org_sort (org_id=?)"},
		"status filter":        {muster.UserFilter{Status: muster.StatusDeactivated}, "SEARCH u USING INDEX users_org_status_sort (org_id=? AND status=?)"},
		"role filter":          {muster.UserFilter{Role: muster.RoleAdmin, After: after}, "SEARCH u USING INDEX users_org_role_sort (org_id=? AND role=? AND sort_key>?)"},
		"role order":           {muster.UserFilter{Sort: muster.SortRole, Role: muster.RoleAdmin}, "SEARCH u USING INDEX users_org_role_sort (org_id=? AND role=?)"},
		"status order":         {muster.UserFilter{Sort: muster.SortStatus, Status: muster.StatusActive}, "SEARCH u USING INDEX users_org_status_sort (org_id=? AND status=?)"},
		"email order":          {muster.UserFilter{Sort: muster.SortEmail, Status: muster.StatusActive}, "SEARCH u USING INDEX users_org_email_order (org_id=?)"},
	} {
		f := c.filter
		f.OrgID, f.Limit = 1, 51
		plan, err := sqlstore.FindUsersPlan(ctx, db, f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if plan != c.plan {
			t.Errorf("%s: SQLite's plan is\n%s\nwant %s", name, plan, c.plan)
		}
	}
}
