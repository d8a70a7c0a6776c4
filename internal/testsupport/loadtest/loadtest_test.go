package loadtest_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
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
	// Two instances on one database, each counting what it answers, and
	// both the 304s they answer.
	var answered [2]atomic.Int64
	var notModified atomic.Int64
	instance := func(i int) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			answered[i].Add(1)
			mux.ServeHTTP(notModifiedCounter{w, &notModified}, r)
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	srv, other := instance(0), instance(1)
	cfg := loadtest.Config{URL: srv.URL + "," + other.URL, Users: 140, Clients: 4, Invites: 30, Reads: 60, DeactivateP: 10,
		SCIMCreates: 20, SCIMGroups: 12, Orgs: 3, ServerPID: os.Getpid()}
	seed, err := loadtest.NewSeed(context.Background(), svc, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(seed.Users) != 140 || len(seed.Active) != 14 {
		t.Fatalf("seeded %d users, %d active; want 140 and 14", len(seed.Users), len(seed.Active))
	}
	// 141 people with the Owner: two full pages of 50 before the last.
	if len(seed.Cursors) != 2 || len(seed.Orgs) != 3 {
		t.Fatalf("seeded %d cursors and %d orgs; want 2 and 3", len(seed.Cursors), len(seed.Orgs))
	}
	results := loadtest.Run(context.Background(), cfg, seed)
	if a, b := answered[0].Load(), answered[1].Load(); a < 50 || b < 50 {
		t.Errorf("the instances answered %d and %d requests; want both to take their turns", a, b)
	}
	want := map[string]int{"invite": 30, "read": 60, "deactivate": 14}
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
	cfg.Phases = []string{"search", "get", "page", "scim-create", "scim-filter", "scim-groups", "cursor", "deep-read",
		"poll", "invite-orgs"}
	results = loadtest.Run(context.Background(), cfg, seed)
	// poll read each of the two deep pages once per client at most; the
	// rest of its 60 requests were answered 304 (no user changed).
	if n := notModified.Load(); n < int64(cfg.Reads-2*cfg.Clients) {
		t.Errorf("%d requests were answered 304; want the poll phase's %d but the first reads", n, cfg.Reads)
	}
	if len(results) != len(cfg.Phases) {
		t.Fatalf("phases %v gave %d results", cfg.Phases, len(results))
	}
	for i, r := range results {
		ops := cfg.Reads
		switch r.Phase {
		case "scim-create":
			ops = cfg.SCIMCreates
		case "scim-groups":
			ops = cfg.SCIMGroups
		case "invite-orgs":
			ops = cfg.Invites
		}
		if r.Phase != cfg.Phases[i] || r.Errors != 0 || r.Ops != ops {
			t.Errorf("phase %+v; want %s with %d operations, no errors", r, cfg.Phases[i], ops)
		}
	}
	// scim-groups pushed its 12 groups, each with its member.
	var groups struct {
		TotalResults int
		Resources    []struct{ Members []json.RawMessage }
	}
	err = getJSON(srv.URL+`/scim/v2/Groups?filter=displayName+sw+%22Load+group%22`, seed.SCIMToken, &groups)
	if err != nil || groups.TotalResults != cfg.SCIMGroups || len(groups.Resources) != cfg.SCIMGroups ||
		len(groups.Resources[0].Members) != 1 {
		t.Errorf("the pushed groups: %+v (%v); want %d, each with its member", groups, err, cfg.SCIMGroups)
	}
	// invite-orgs spread its 30 invitations evenly: each other org has its
	// Owner and 10 invitees.
	for _, org := range seed.Orgs[1:] {
		var page struct{ Data []json.RawMessage }
		err := getJSON(srv.URL+"/api/v1/users?limit=50", org.Token, &page)
		if err != nil || len(page.Data) != 11 {
			t.Errorf("another org lists %d users (%v); want its Owner and 10 invitees", len(page.Data), err)
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

// notModifiedCounter counts the 304s a handler answers.
type notModifiedCounter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c notModifiedCounter) WriteHeader(status int) {
	if status == http.StatusNotModified {
		c.n.Add(1)
	}
	c.ResponseWriter.WriteHeader(status)
}

// getJSON decodes into v what a GET of url with the bearer token answers.
func getJSON(url, token string, v any) error {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	return json.NewDecoder(res.Body).Decode(v)
}
