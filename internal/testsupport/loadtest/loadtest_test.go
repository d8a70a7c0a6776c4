package loadtest_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/api"
	"github.com/muster-app/muster/internal/scim"
	"github.com/muster-app/muster/internal/secret"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/testsupport/loadtest"
	"github.com/muster-app/muster/internal/testsupport/storetest"
	"github.com/muster-app/muster/internal/web"
	"github.com/muster-app/muster/internal/worker"
)

// TestRunSmallLoad runs every phase against an in-process API and checks
// that each operation succeeded and was counted.
func TestRunSmallLoad(t *testing.T) {
	db := storetest.OpenSQLite(t)
	svc := service.New(db, service.Config{BaseURL: "http://load.invalid", Links: web.NewLinks("http://load.invalid"), PasswordParams: secret.TestParams})
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", api.New(svc, slog.New(slog.DiscardHandler)))
	mux.Handle("/scim/v2/", scim.New(svc, slog.New(slog.DiscardHandler), ""))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	cfg := loadtest.Config{URL: srv.URL, Users: 40, Clients: 4, Invites: 30, Reads: 60, DeactivateP: 10, SCIMCreates: 20,
		ServerPID: os.Getpid()}
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

	// Each kind of read alone, in the order asked, and SCIM's phases.
	cfg.Phases = []string{"search", "get", "page", "scim-create", "scim-filter"}
	results = loadtest.Run(context.Background(), cfg, seed)
	if len(results) != 5 {
		t.Fatalf("phases %v gave %d results", cfg.Phases, len(results))
	}
	for i, r := range results {
		ops := cfg.Reads
		if r.Phase == "scim-create" {
			ops = cfg.SCIMCreates
		}
		if r.Phase != cfg.Phases[i] || r.Errors != 0 || r.Ops != ops {
			t.Errorf("phase %+v; want %s with %d operations, no errors", r, cfg.Phases[i], ops)
		}
	}
}

// TestMeasureExport runs two reports and downloads against an in-process
// API whose runner starts when a report is requested, and checks that each
// listed every seeded user.
func TestMeasureExport(t *testing.T) {
	db := storetest.OpenSQLite(t)
	workers := &worker.Workers{}
	svc := service.New(db, service.Config{BaseURL: "http://load.invalid", Links: web.NewLinks("http://load.invalid"),
		PasswordParams: secret.TestParams, Waker: workers})
	log := slog.New(slog.DiscardHandler)
	workers.Reports = &worker.ReportRunner{Service: svc, Log: log, Poll: time.Hour}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { workers.Run(ctx); close(done) }()
	t.Cleanup(func() { stop(); <-done })
	a := api.New(svc, log)
	srv := httptest.NewServer(a)
	defer srv.Close()
	seed, err := loadtest.NewSeed(context.Background(), svc, loadtest.Config{Users: 30, Clients: 2})
	if err != nil {
		t.Fatal(err)
	}
	results, err := loadtest.MeasureExport(context.Background(), loadtest.ExportConfig{URL: srv.URL, Token: seed.Token,
		Users: 31, Runs: 2, ServerPID: os.Getpid(), Poll: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if len(results) != 4 {
		t.Fatalf("%d results; want a report and a download per run", len(results))
	}
	for _, r := range results {
		if r.Rows != 31 || r.Seconds <= 0 || r.PeakRSSMiB <= 0 || (r.Phase == "download") != (r.Bytes > 0) {
			t.Errorf("result %+v; want 31 rows and sane figures", r)
		}
	}
	var table strings.Builder
	loadtest.WriteExportTable(&table, results)
	if !strings.Contains(table.String(), "download") {
		t.Errorf("table:\n%s", table.String())
	}
}
