// Command muster-load seeds an org and drives a Muster server through its
// JSON API with concurrent clients, then prints per-phase throughput,
// latency and the server's peak memory and CPU time.
//
//	go build -o /tmp/muster ./cmd/muster
//	go run ./cmd/muster-load --db /tmp/load.db --spawn /tmp/muster --users 10000 --clients 8
//
// --phases scim-create,scim-filter,scim-groups measures SCIM instead: an
// identity provider's creations (POST /scim/v2/Users), lookups by userName,
// and pushes of groups (a lookup by displayName, then POST /scim/v2/Groups).
// --instances 2 starts two servers on the database, which the requests take
// in turn. --phases invite-orgs,deep-read,cursor measures invitations into --orgs
// orgs at once, and reads whose list pages are fetched by their cursors at
// random depths of the list.
//
// With --export it measures the user-list export instead (AUD-5): it seeds
// the org in bulk (internal/benchseed) unless the database already holds it,
// starts the server, notes its idle RSS, then runs --runs reports through
// the API, one after another, each followed by its download, and as many
// runs of the operator command muster users export:
//
//	go run ./cmd/muster-load --export --db /tmp/export.db --spawn /tmp/muster --users 1000000 --runs 3
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/muster-app/muster/internal/secret"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store"
	"github.com/muster-app/muster/internal/testsupport/benchseed"
	"github.com/muster-app/muster/internal/testsupport/loadtest"
	"github.com/muster-app/muster/internal/web"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "muster-load:", err)
		os.Exit(1)
	}
}

func run() error {
	var cfg loadtest.Config
	dbURL := flag.String("db", "", "database the server uses (SQLite path or postgres:// URL); seeding writes to it")
	spawn := flag.String("spawn", "", "path of a muster binary to start as the server after seeding")
	flag.StringVar(&cfg.URL, "url", "", "URL of a running server (default: the spawned one)")
	flag.IntVar(&cfg.Users, "users", 10_000, "users to seed")
	flag.IntVar(&cfg.Clients, "clients", 8, "concurrent clients")
	flag.IntVar(&cfg.Invites, "invites", 5_000, "invitations in the invite phase")
	flag.IntVar(&cfg.Reads, "reads", 30_000, "requests in the read phase")
	flag.IntVar(&cfg.DeactivateP, "deactivate-pct", 10, "percent of seeded users to deactivate")
	flag.IntVar(&cfg.SCIMCreates, "scim-creates", 10_000, "users created through SCIM in the scim-create phase")
	flag.IntVar(&cfg.SCIMGroups, "scim-groups", 2_000, "groups pushed through SCIM in the scim-groups phase")
	flag.IntVar(&cfg.Orgs, "orgs", 8, "orgs the invite-orgs phase spreads its invitations over (the seeded one and more)")
	flag.IntVar(&cfg.ServerPID, "server-pid", 0, "PID of a running server to sample (set by --spawn)")
	phases := flag.String("phases", strings.Join(loadtest.DefaultPhases, ","),
		"phases to run, in order, from "+strings.Join(loadtest.PhaseNames, ", ")+
			" (page, search and get are the read phase's kinds of request alone; scim-create and scim-filter"+
			" are SCIM's creations and lookups by userName, scim-groups its pushes of groups, each looked up by"+
			" name first; cursor fetches list pages by their cursors at random"+
			" depths, deep-read mixes them with searches and users by id; invite-orgs invites into --orgs orgs at once)")
	instances := flag.Int("instances", 1, "with --spawn: servers to start on the database, which the requests take in turn (the peak RSS and CPU columns are the first's)")
	pprof := flag.Bool("pprof", false, "start the spawned server with its profiles (/debug/pprof/) on a second local address (--debug-addr)")
	bulk := flag.Bool("bulk", false, "seed in bulk (internal/benchseed) instead of inviting every user through the service")
	export := flag.Bool("export", false, "measure the user-list export instead of the load phases (needs --spawn)")
	runs := flag.Int("runs", 3, "with --export: reports, downloads and CLI exports to time")
	idle := flag.Duration("idle", 3*time.Second, "with --export: wait after the server is ready before noting its idle RSS")
	flag.Parse()
	if *dbURL == "" {
		return fmt.Errorf("--db is required")
	}
	cfg.Phases = strings.Split(*phases, ",")
	for _, p := range cfg.Phases {
		if !slices.Contains(loadtest.PhaseNames, p) {
			return fmt.Errorf("--phases: unknown phase %q", p)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *export {
		if *spawn == "" {
			return fmt.Errorf("--export needs --spawn: the server's memory is measured")
		}
		return runExport(ctx, *dbURL, *spawn, cfg.Users, *runs, *idle)
	}

	started := time.Now()
	if *bulk {
		if err := bulkSeed(ctx, *dbURL, cfg.Users); err != nil {
			return err
		}
	}
	db, err := store.Open(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	// The seeded users never sign in during the run, so their passwords
	// are hashed cheaply: production's argon2id costs would make seeding
	// 100,000 users take many minutes.
	seeder := service.New(db, service.Config{BaseURL: "http://load.invalid", Links: web.NewLinks("http://load.invalid"), PasswordParams: secret.TestParams})
	var seed *loadtest.Seed
	if *bulk {
		var owner context.Context
		if owner, _, err = benchseed.Owner(ctx, db); err == nil {
			seed, err = loadtest.SeedExisting(owner, seeder, cfg)
		}
	} else {
		seed, err = loadtest.NewSeed(ctx, seeder, cfg)
	}
	if err != nil {
		return fmt.Errorf("seeding: %w", err)
	}
	fmt.Printf("seeded %d users (%d active) in %s\n", len(seed.Users), len(seed.Active), time.Since(started).Round(time.Millisecond))

	if *spawn != "" {
		var urls []string
		for i := range *instances {
			addr, err := freeAddr()
			if err != nil {
				return err
			}
			args := []string{"serve", "--db", *dbURL, "--addr", addr}
			if *pprof && i == 0 {
				debugAddr, err := freeAddr()
				if err != nil {
					return err
				}
				args = append(args, "--debug-addr", debugAddr)
				fmt.Printf("profiles at http://%s/debug/pprof/\n", debugAddr)
			}
			cmd := exec.CommandContext(ctx, *spawn, args...)
			cmd.Stderr = nil
			if err := cmd.Start(); err != nil {
				return err
			}
			defer func() {
				cmd.Process.Signal(syscall.SIGTERM)
				cmd.Wait()
			}()
			if i == 0 {
				cfg.ServerPID = cmd.Process.Pid
			}
			url := "http://" + addr
			if err := waitReady(ctx, url); err != nil {
				return err
			}
			urls = append(urls, url)
		}
		cfg.URL = strings.Join(urls, ",")
	}
	if cfg.URL == "" {
		return fmt.Errorf("give --url of a running server or --spawn a binary")
	}
	results := loadtest.Run(ctx, cfg, seed)
	loadtest.WriteTable(os.Stdout, results)
	line, _ := json.Marshal(map[string]any{"users": cfg.Users, "clients": cfg.Clients, "db": dialect(*dbURL), "phases": results})
	fmt.Println(string(line))
	return nil
}

// runExport seeds (unless done), then measures the export as the server
// and the CLI run it.
func runExport(ctx context.Context, dbURL, bin string, users, runs int, idle time.Duration) error {
	orgID, token, err := exportSeed(ctx, dbURL, users)
	if err != nil {
		return err
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, bin, "serve", "--db", dbURL, "--addr", addr)
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	url := "http://" + addr
	if err := waitReady(ctx, url); err != nil {
		return err
	}
	time.Sleep(idle)
	results, err := loadtest.MeasureExport(ctx, loadtest.ExportConfig{URL: url, Token: token, Users: users, Runs: runs,
		ServerPID: cmd.Process.Pid})
	loadtest.WriteExportTable(os.Stdout, results)
	if err != nil {
		return err
	}
	var cli []map[string]any
	for run := 1; run <= runs; run++ {
		r, err := timeCLIExport(ctx, bin, dbURL, orgID, users)
		if err != nil {
			return err
		}
		r["run"] = run
		fmt.Printf("cli       %4d %9d %10d %9.2f   max RSS %.1fMi  CPU %.2fs\n", run, r["rows"], r["bytes"], r["seconds"],
			r["max_rss_mib"], r["cpu_seconds"])
		cli = append(cli, r)
	}
	line, _ := json.Marshal(map[string]any{"users": users, "db": dialect(dbURL), "export": results, "cli": cli})
	fmt.Println(string(line))
	return nil
}

// exportSeed seeds the org unless the database already holds it, and
// returns its id and a new API token of its Owner.
func exportSeed(ctx context.Context, dbURL string, users int) (int64, string, error) {
	started := time.Now()
	if err := bulkSeed(ctx, dbURL, users); err != nil {
		return 0, "", err
	}
	db, err := store.Open(ctx, dbURL)
	if err != nil {
		return 0, "", err
	}
	defer db.Close()
	owner, u, err := benchseed.Owner(ctx, db)
	if err != nil {
		return 0, "", err
	}
	tok, err := service.New(db, service.Config{BaseURL: "http://load.invalid", Links: web.NewLinks("http://load.invalid")}).CreateAPIToken(owner, "export benchmark", time.Time{})
	if err != nil {
		return 0, "", err
	}
	fmt.Printf("seeded or found %d users in %s\n", users, time.Since(started).Round(time.Millisecond))
	return u.OrgID, tok.Secret, nil
}

// bulkSeed writes benchseed's org of n users into the database unless it
// holds it already.
func bulkSeed(ctx context.Context, dbURL string, n int) error {
	if store.IsPostgres(dbURL) {
		db, err := store.Open(ctx, dbURL)
		if err != nil {
			return err
		}
		_, _, err = benchseed.Owner(ctx, db)
		db.Close()
		if err == nil {
			return nil
		}
		if err := benchseed.Postgres(ctx, dbURL, n); err != nil {
			return fmt.Errorf("seeding: %w", err)
		}
	} else if _, err := os.Stat(dbURL); os.IsNotExist(err) {
		if err := benchseed.SQLite(ctx, dbURL, n); err != nil {
			return fmt.Errorf("seeding: %w", err)
		}
	}
	return nil
}

// timeCLIExport runs muster users export, counts the CSV's lines and
// reports the wall time and the process's peak RSS.
func timeCLIExport(ctx context.Context, bin, dbURL string, orgID int64, users int) (map[string]any, error) {
	cmd := exec.CommandContext(ctx, bin, "users", "export", "--org", strconv.FormatInt(orgID, 10), "--db", dbURL)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	// getrusage's ru_maxrss is no use here: the child starts in this
	// process's memory (vfork) and inherits its high-water mark, the seed
	// included. The child's own mark, VmHWM, is read until it exits.
	var hwm atomic.Int64
	stopHWM := make(chan struct{})
	go func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			if kb := vmHWM(cmd.Process.Pid); kb > 0 {
				hwm.Store(kb)
			}
			select {
			case <-stopHWM:
				return
			case <-tick.C:
			}
		}
	}()
	buf := make([]byte, 256<<10)
	var lines, size int
	for {
		n, err := out.Read(buf)
		lines += bytes.Count(buf[:n], []byte{'\n'})
		size += n
		if err != nil {
			break
		}
	}
	err = cmd.Wait()
	close(stopHWM)
	if err != nil {
		return nil, fmt.Errorf("muster users export: %w: %s", err, stderr.String())
	}
	elapsed := time.Since(start)
	if lines-1 != users {
		return nil, fmt.Errorf("muster users export wrote %d rows; want %d", lines-1, users)
	}
	maxRSS := float64(hwm.Load()) / 1024
	cpu := (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	return map[string]any{"rows": lines - 1, "bytes": size, "seconds": elapsed.Seconds(), "max_rss_mib": maxRSS,
		"cpu_seconds": cpu}, nil
}

// vmHWM reads a process's peak resident set size, in KiB, from
// /proc/PID/status; 0 once the process is gone.
func vmHWM(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb
		}
	}
	return 0
}

func dialect(url string) string {
	if store.IsPostgres(url) {
		return "postgres"
	}
	return "sqlite"
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitReady(ctx context.Context, url string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get(url + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("the server at %s did not become ready", url)
}
