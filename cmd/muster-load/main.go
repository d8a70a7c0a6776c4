// Command muster-load seeds an org and drives a Muster server through its
// JSON API with concurrent clients, then prints per-phase throughput,
// latency and the server's peak memory and CPU time.
//
//	go build -o /tmp/muster ./cmd/muster
//	go run ./cmd/muster-load --db /tmp/load.db --spawn /tmp/muster --users 10000 --clients 8
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/muster-app/muster/internal/loadtest"
	"github.com/muster-app/muster/internal/secret"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store"
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
	flag.IntVar(&cfg.ServerPID, "server-pid", 0, "PID of a running server to sample (set by --spawn)")
	pprof := flag.Bool("pprof", false, "start the spawned server with /debug/pprof")
	flag.Parse()
	if *dbURL == "" {
		return fmt.Errorf("--db is required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	db, err := store.Open(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	started := time.Now()
	// The seeded users never sign in during the run, so their passwords
	// are hashed cheaply: production's argon2id costs would make seeding
	// 100,000 users take many minutes.
	seeder := service.New(db, service.Config{BaseURL: "http://load.invalid", PasswordParams: secret.TestParams})
	seed, err := loadtest.NewSeed(ctx, seeder, cfg)
	if err != nil {
		return fmt.Errorf("seeding: %w", err)
	}
	fmt.Printf("seeded %d users (%d active) in %s\n", len(seed.Users), len(seed.Active), time.Since(started).Round(time.Millisecond))

	if *spawn != "" {
		addr, err := freeAddr()
		if err != nil {
			return err
		}
		args := []string{"serve", "--db", *dbURL, "--addr", addr}
		if *pprof {
			args = append(args, "--pprof", "true")
			fmt.Printf("profiles at http://%s/debug/pprof/\n", addr)
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
		cfg.URL, cfg.ServerPID = "http://"+addr, cmd.Process.Pid
		if err := waitReady(ctx, cfg.URL); err != nil {
			return err
		}
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
