package postgres_test

import (
	"context"
	"sync"
	"testing"

	"github.com/muster-app/muster/internal/store/postgres"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestInstancesStartTogether: instances started at once on an empty
// database (a deployment's first rollout) all come up on one schema: one
// migrates it, and the others wait for it rather than fail on tables that
// another just created.
func TestInstancesStartTogether(t *testing.T) {
	url := storetest.PostgresSchema(t)
	const instances = 4
	var wg sync.WaitGroup
	errs := make([]error, instances)
	for i := range instances {
		wg.Go(func() {
			db, err := postgres.Open(context.Background(), url)
			if err == nil {
				var version int64
				version, err = db.Version(context.Background())
				if err == nil && version == 0 {
					t.Errorf("instance %d sees schema version 0", i)
				}
				db.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("instance %d: %v", i, err)
		}
	}
}
