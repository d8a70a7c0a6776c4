package e2e_test

// BenchmarkImportServer measures a CSV import of 100,000 new people on a
// running muster serve, on each store: the dry run (POST /api/v1/imports),
// the commit until the job is done, the server's peak RSS above its idle
// RSS, and how long the invitation emails then take to drain to an SMTP
// server in the test. It is not run by go test (only with -bench):
//
//	go test -run '^$' -bench ImportServer -benchtime 1x -timeout 2h ./internal/e2e/
//
// MUSTER_BENCH_IMPORT_ROWS changes the file's size, and
// MUSTER_BENCH_IMPORT_DRY_RUN_ONLY=1 stops after the dry run.
// docs/benchmarks.md has the figures.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store"
	"github.com/muster-app/muster/internal/testsupport/mailtest"
	"github.com/muster-app/muster/internal/testsupport/storetest"
	"github.com/muster-app/muster/internal/web"
)

func BenchmarkImportServer(b *testing.B) {
	rows := 100_000
	if n, err := strconv.Atoi(os.Getenv("MUSTER_BENCH_IMPORT_ROWS")); err == nil && n > 0 {
		rows = n
	}
	for _, dialect := range storetest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			for range b.N {
				benchImportServer(b, dialect, rows)
			}
		})
	}
}

func benchImportServer(b *testing.B, dialect string, rows int) {
	ctx := context.Background()
	dbURL := filepath.Join(b.TempDir(), "muster.db")
	if dialect == "postgres" {
		dbURL = storetest.PostgresSchema(b)
	}
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	svc := service.New(db, service.Config{BaseURL: "http://muster.test", Links: web.NewLinks("http://muster.test")})
	res, err := svc.CreateOrg(muster.NewContext(ctx, muster.Principal{Origin: "bench"}), service.NewOrg{Name: "Bench", LicenseTotal: rows + 10,
		OwnerEmail: "owner@bench.example", OwnerFirstName: "O", OwnerLastName: "Owner"})
	if err != nil {
		b.Fatal(err)
	}
	owner, err := svc.AcceptInvitation(ctx, res.SetupURL[strings.LastIndex(res.SetupURL, "/")+1:], "a long enough secret",
		service.Client{Origin: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	tok, err := svc.CreateAPIToken(muster.NewContext(ctx, muster.Principal{UserID: owner.User.ID, OrgID: owner.User.OrgID, Origin: "bench"}), "bench", time.Time{})
	if err != nil {
		b.Fatal(err)
	}
	var file bytes.Buffer
	file.WriteString("Email,First Name,Last Name,Role,Primary Team,Secondary Teams\r\n")
	for i := range rows {
		fmt.Fprintf(&file, "p%d@example.com,First%d,Last%d,Basic User,Team %d,Team %d; Team %d\r\n", i, i, i, i%10, (i+1)%10, (i+2)%10)
	}
	smtp := mailtest.Start(b)
	srv := serve(b, "--db", dbURL, "--smtp", smtp.URL(), "--mail-from", "muster@example.com")
	defer srv.stop()
	idle := rss(b, srv.cmd.Process.Pid, "VmRSS")

	start, startCPU := time.Now(), cpuTime(b, srv.cmd.Process.Pid)
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/imports?dry_run=true&create_teams=true", bytes.NewReader(file.Bytes()))
	req.Header.Set("Authorization", "Bearer "+tok.Secret)
	req.Header.Set("Content-Type", "text/csv")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	var plan struct {
		ID     int64
		Counts struct{ Invite int }
	}
	err = json.NewDecoder(resp.Body).Decode(&plan)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 201 || plan.Counts.Invite != rows {
		b.Fatalf("dry run: %d %v %+v", resp.StatusCode, err, plan)
	}
	dryRun, dryRunCPU := time.Since(start), cpuTime(b, srv.cmd.Process.Pid)-startCPU
	dryRunPeak := rss(b, srv.cmd.Process.Pid, "VmHWM")
	b.ReportMetric(dryRun.Seconds(), "dry-run-s")
	b.ReportMetric(dryRunCPU.Seconds(), "dry-run-server-cpu-s")
	b.ReportMetric(float64(dryRunPeak-idle)/1024, "dry-run-peak-RSS-above-idle-MiB")
	b.ReportMetric(0, "ns/op")
	if os.Getenv("MUSTER_BENCH_IMPORT_DRY_RUN_ONLY") != "" {
		return
	}

	start = time.Now()
	req, _ = http.NewRequest("POST", fmt.Sprintf("%s/api/v1/imports/%d/commit", srv.URL, plan.ID), nil)
	req.Header.Set("Authorization", "Bearer "+tok.Secret)
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode != 202 {
		b.Fatalf("commit: %v %v", resp, err)
	}
	resp.Body.Close()
	for {
		req, _ = http.NewRequest("GET", fmt.Sprintf("%s/api/v1/imports/%d", srv.URL, plan.ID), nil)
		req.Header.Set("Authorization", "Bearer "+tok.Secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var p struct {
			Status   string
			RowsDone int `json:"rows_done"`
		}
		json.NewDecoder(resp.Body).Decode(&p)
		resp.Body.Close()
		if p.Status == "done" || p.Status == "failed" {
			if p.Status != "done" || p.RowsDone != rows {
				b.Fatalf("import %s at %d rows", p.Status, p.RowsDone)
			}
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	commit := time.Since(start)
	peak := rss(b, srv.cmd.Process.Pid, "VmHWM")
	smtp.WaitFor(b, rows+1, 2*time.Hour)
	drain := time.Since(start)
	b.ReportMetric(commit.Seconds(), "commit-s")
	b.ReportMetric(drain.Seconds(), "mail-drained-s")
	b.ReportMetric(float64(peak-idle)/1024, "peak-RSS-above-idle-MiB")
}

// cpuTime reads the CPU time the process has spent, user and system
// (/proc/PID/stat's utime and stime, in clock ticks of 1/100 s): the work
// of the server alone, which a loaded machine does not stretch as it does
// the wall time.
func cpuTime(tb testing.TB, pid int) time.Duration {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		tb.Fatal(err)
	}
	// The fields after the command's name, which is in parentheses: state
	// is the first, utime the 12th and stime the 13th.
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	utime, err1 := strconv.Atoi(fields[11])
	stime, err2 := strconv.Atoi(fields[12])
	if err1 != nil || err2 != nil {
		tb.Fatalf("/proc/%d/stat: %s", pid, stat)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// rss reads a size in KiB from /proc/PID/status (VmRSS, VmHWM).
func rss(tb testing.TB, pid int, field string) int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	tb.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
