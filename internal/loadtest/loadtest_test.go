package loadtest_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/muster-app/muster/internal/api"
	"github.com/muster-app/muster/internal/loadtest"
	"github.com/muster-app/muster/internal/secret"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/storetest"
)

// TestRunSmallLoad runs every phase against an in-process API and checks
// that each operation succeeded and was counted.
func TestRunSmallLoad(t *testing.T) {
	db := storetest.OpenSQLite(t)
	svc := service.New(db, service.Config{BaseURL: "http://load.invalid", PasswordParams: secret.TestParams})
	srv := httptest.NewServer(api.New(svc, slog.New(slog.DiscardHandler)))
	defer srv.Close()
	cfg := loadtest.Config{URL: srv.URL, Users: 40, Clients: 4, Invites: 30, Reads: 60, DeactivateP: 10, ServerPID: os.Getpid()}
	seed, err := loadtest.NewSeed(context.Background(), svc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(seed.Users) != 40 || len(seed.Active) != 4 {
		t.Fatalf("seeded %d users, %d active; want 40 and 4", len(seed.Users), len(seed.Active))
	}
	results := loadtest.Run(context.Background(), cfg, seed)
	want := map[string]int{"invite": 30, "read": 60, "deactivate": 4}
	for _, r := range results {
		if r.Errors != 0 || r.Ops != want[r.Phase] || r.OpsPerSec <= 0 || r.Maxms < r.P50ms || r.PeakRSSMiB <= 0 {
			t.Errorf("phase %+v; want %d operations, no errors, sane figures", r, want[r.Phase])
		}
	}
	var table strings.Builder
	loadtest.WriteTable(&table, results)
	if !strings.Contains(table.String(), "deactivate") {
		t.Errorf("table:\n%s", table.String())
	}
}
