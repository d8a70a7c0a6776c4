package sqlstore_test

import (
	"context"
	"slices"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestListWalksItsIndex: on SQLite a page of the list in name order, first
// or by its cursor, either way round, is read from users_org_sort alone
// (migrations 00026, 00027), not from the table a user at a time; and a page of a
// status or a role, or in another order, walks that index, and a lookup of
// users by email or id uses its own index or the primary key, rather than
// the whole org through users_org_sort, which SQLite, without statistics,
// would take for the cheapest (Dialect.IndexedBy, Dialect.OrgInIDOrder).
// A column added to what a listing reads (FindUserListing) but not to the
// index fails here; FindUsers, which reads every column, walks the same
// index and reads each user's row.
func TestListWalksItsIndex(t *testing.T) {
	db := storetest.OpenSQLite(t)
	ctx := context.Background()
	after := &muster.UserCursor{SortKey: "mar", ID: 5}
	page := func(f muster.UserFilter) func(muster.Tx) error {
		f.OrgID, f.Limit = 1, 51
		return func(tx muster.Tx) error { _, err := tx.FindUserListing(ctx, f); return err }
	}
	for name, c := range map[string]struct {
		read  func(muster.Tx) error
		plans []string
	}{
		"first page":           {page(muster.UserFilter{}), []string{"SEARCH u USING COVERING INDEX users_org_sort (org_id=?)"}},
		"page by cursor":       {page(muster.UserFilter{After: after}), []string{"SEARCH u USING COVERING INDEX users_org_sort (org_id=? AND sort_key>?)"}},
		"last page":            {page(muster.UserFilter{Desc: true}), []string{"SEARCH u USING COVERING INDEX users_org_sort (org_id=?)"}},
		"page before a cursor": {page(muster.UserFilter{After: after, Desc: true}), []string{"SEARCH u USING COVERING INDEX users_org_sort (org_id=? AND sort_key<?)"}},
		"two-step filter":      {page(muster.UserFilter{TwoStep: "on"}), []string{"SEARCH u USING COVERING INDEX users_org_sort (org_id=?)"}},
		"every column": {func(tx muster.Tx) error {
			_, err := tx.FindUsers(ctx, muster.UserFilter{OrgID: 1, Limit: 51, After: after})
			return err
		}, []string{"SEARCH u USING INDEX users_org_sort (org_id=? AND sort_key>?)"}},
		"status filter": {page(muster.UserFilter{Status: muster.StatusDeactivated}), []string{"SEARCH u USING INDEX users_org_status_sort (org_id=? AND status=?)"}},
		"role filter":   {page(muster.UserFilter{Role: muster.RoleAdmin, After: after}), []string{"SEARCH u USING INDEX users_org_role_sort (org_id=? AND role=? AND sort_key>?)"}},
		"role order":    {page(muster.UserFilter{Sort: muster.SortRole, Role: muster.RoleAdmin}), []string{"SEARCH u USING INDEX users_org_role_sort (org_id=? AND role=?)"}},
		"status order":  {page(muster.UserFilter{Sort: muster.SortStatus, Status: muster.StatusActive}), []string{"SEARCH u USING INDEX users_org_status_sort (org_id=? AND status=?)"}},
		"email order":   {page(muster.UserFilter{Sort: muster.SortEmail, Status: muster.StatusActive}), []string{"SEARCH u USING INDEX users_org_email_order (org_id=?)"}},
		"users by id": {func(tx muster.Tx) error {
			_, err := tx.FindUsersByID(ctx, 1, []int64{2, 3, 5, 7, 11, 13, 17, 19, 23, 29})
			return err
		},
			[]string{"SEARCH u USING INTEGER PRIMARY KEY (rowid=?)"}},
		"users by email": {func(tx muster.Tx) error {
			_, err := tx.FindUsersByEmails(ctx, 1, []string{"ada@example.com", "bo@example.com"})
			return err
		}, []string{"COMPOUND QUERY\nLEFT-MOST SUBQUERY\nSEARCH u USING INDEX users_org_email_order (org_id=? AND email_key=?)\n" +
			"LIST SUBQUERY 1\nSCAN json_each VIRTUAL TABLE INDEX 1:\nUNION ALL\nSEARCH u USING INDEX users_live_email (email_key=?)\n" +
			"LIST SUBQUERY 3\nSCAN json_each VIRTUAL TABLE INDEX 1:"}},
	} {
		plans, err := sqlstore.ReadPlans(ctx, db, c.read)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !slices.Equal(plans, c.plans) {
			t.Errorf("%s: SQLite's plans are\n%q\nwant\n%q", name, plans, c.plans)
		}
	}
}
