package sqlstore_test

import (
	"context"
	"slices"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/store/postgres"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestPlanEachRun: on PostgreSQL the list's shapes whose best plan depends
// on their values (a team's page, a search that is not walked in name
// order) are planned at every run; a page of the list, by its cursor or
// filtered by status, and a search walked in name order keep the plan
// PostgreSQL caches for them.
func TestPlanEachRun(t *testing.T) {
	db := storetest.OpenPostgres(t)
	ctx := context.Background()
	mark := postgres.Dialect().PlanEachRun
	for name, c := range map[string]struct {
		filter  muster.UserFilter
		eachRun bool
	}{
		"page":                  {muster.UserFilter{}, false},
		"page by cursor":        {muster.UserFilter{After: &muster.UserCursor{SortKey: "mar", ID: 5}}, false},
		"status":                {muster.UserFilter{Status: muster.StatusPending}, false},
		"3-letter search":       {muster.UserFilter{Query: "mar"}, false},
		"team":                  {muster.UserFilter{TeamID: 7}, true},
		"team search":           {muster.UserFilter{TeamID: 7, Query: "mar"}, true},
		"1-letter search":       {muster.UserFilter{Query: "m"}, true},
		"search in email order": {muster.UserFilter{Query: "mar", Sort: muster.SortEmail}, true},
	} {
		f := c.filter
		f.OrgID, f.Limit = 1, 51
		args, err := sqlstore.FindUsersArgs(ctx, db, f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if eachRun := len(args) >= len(mark) && slices.Equal(args[:len(mark)], mark); eachRun != c.eachRun {
			t.Errorf("%s: planned at every run %v; want %v", name, eachRun, c.eachRun)
		}
	}
}
