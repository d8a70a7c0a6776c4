package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/muster-app/muster/internal/api"
	"github.com/muster-app/muster/internal/config"
	"github.com/muster-app/muster/internal/mail"
	"github.com/muster-app/muster/internal/scim"
	"github.com/muster-app/muster/internal/secret"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/sso"
	"github.com/muster-app/muster/internal/store"
	"github.com/muster-app/muster/internal/web"
	"github.com/muster-app/muster/internal/webhook"
	"github.com/muster-app/muster/internal/worker"
)

const serveDescription = `
Runs Muster: the web console, the JSON API under /api/v1, SCIM 2.0 for
identity providers under /scim/v2, single sign-on, the mail outbox, the
report jobs, webhook delivery and the daily re-check of SSO domains.
Migrations run at start. On an empty database the console opens with a
first-run page that creates the first organization.

Health: /healthz (the process is up), /readyz (the database answers),
/metrics (Prometheus). Logs are JSON lines on stderr. SIGTERM or SIGINT
stops the server gracefully.
`

// ShutdownTimeout bounds how long a stopping server waits for requests in
// flight.
const ShutdownTimeout = 20 * time.Second

// The server's fixed limits; --read-timeout and --write-timeout set the
// others. A client has this long to send a request's headers, and an idle
// kept-alive connection is closed after idleTimeout.
const (
	readHeaderTimeout = 10 * time.Second
	idleTimeout       = 2 * time.Minute
)

// reportPoll is how often the report runner looks for queued reports when
// nobody wakes it.
const reportPoll = 15 * time.Second

func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("serve")
	fs.config()
	if err := fs.parse(e, args, "serve [flags]", serveDescription); err != nil {
		return err
	}
	cfg, err := fs.load(e)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(e.stderr, nil))
	tuneGC(e)
	if err := serve(ctx, cfg, log); err != nil {
		log.Error("muster stopped on an error", "err", err)
		return &reportedError{err}
	}
	return nil
}

// The server's garbage collector settings unless GOGC or GOMEMLIMIT say
// otherwise. The live heap is small (about 20 MiB under load), so the
// default GOGC=100 collects very often: at 200 the collector's share of a
// read's CPU halves. The soft limit keeps the rarer large heaps (each
// argon2id hash holds 64 MiB while it runs) from letting the heap goal grow
// past it.
const (
	serveGCPercent   = 200
	serveMemoryLimit = 120 << 20
)

func tuneGC(e *env) {
	if e.getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
	if e.getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(serveMemoryLimit)
	}
}

// serveDebug serves Go's profiles on a listener of their own at addr
// (--debug-addr), apart from the server people reach. Profiles take up to a
// minute to record, so there is no write timeout.
func serveDebug(addr string, log *slog.Logger) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--debug-addr: %w", err)
	}
	srv := &http.Server{Handler: web.Debug(), ReadHeaderTimeout: readHeaderTimeout, IdleTimeout: idleTimeout,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go srv.Serve(ln)
	log.Info("profiles are served at /debug/pprof/", "debug_addr", ln.Addr().String())
	if ip := ln.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
		log.Warn("--debug-addr is not a loopback address: anyone who reaches it can read the server's profiles",
			"debug_addr", ln.Addr().String())
	}
	return srv, nil
}

// secretBox is what seals the secrets Muster must read back (webhook
// signing secrets, SSO client secrets): the key --secret-key gives or, with
// SQLite, the key file kept beside the database (created on the first
// start). With PostgreSQL and no key, webhook endpoints and SSO connections
// cannot be saved: instances sharing the database need one key, which only
// the operator can give them all.
func secretBox(cfg *config.Config, log *slog.Logger) (*secret.Box, error) {
	key := cfg.SecretKey
	if key == nil && !store.IsPostgres(cfg.DatabaseURL) {
		path := filepath.Join(filepath.Dir(store.SQLitePath(cfg.DatabaseURL)), secretKeyFile)
		var created bool
		var err error
		if key, created, err = secret.LoadOrCreateKeyFile(path); err != nil {
			return nil, fmt.Errorf("the server key (--secret-key): %w", err)
		}
		if created {
			log.Info("created the server key that encrypts webhook and SSO client secrets; back it up with the database", "path", path)
		}
	}
	if key == nil {
		log.Warn("no --secret-key (MUSTER_SECRET_KEY): webhook endpoints and single sign-on cannot be set up until every instance " +
			"is started with the same key (openssl rand -base64 32)")
		return nil, nil
	}
	return secret.NewBox(key)
}

// secretKeyFile is the name of the server key's file beside a SQLite
// database.
const secretKeyFile = "secret.key"

// serve runs the server until ctx ends or a SIGTERM or SIGINT arrives.
func serve(ctx context.Context, cfg *config.Config, log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("opening the database %s: %w", cfg.RedactedDatabaseURL(), err)
	}
	defer db.Close()
	schema, err := db.Version(ctx)
	if err != nil {
		return err
	}
	dialect := "sqlite"
	if store.IsPostgres(cfg.DatabaseURL) {
		dialect = "postgres"
	}
	log.Info("database ready", "database", cfg.RedactedDatabaseURL(), "dialect", dialect, "schema_version", schema)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	if cfg.DebugAddr != "" {
		debug, err := serveDebug(cfg.DebugAddr, log)
		if err != nil {
			ln.Close()
			return err
		}
		defer debug.Close()
	}
	if cfg.BaseURLDerived {
		// With --addr :0 the port is known only now.
		if host, port, err := net.SplitHostPort(cfg.Addr); err == nil && port == "0" {
			cfg.BaseURL = config.DeriveBaseURL(host, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
		}
	}

	var transport mail.Transport = mail.Mailbox{}
	if cfg.SMTPURL != "" {
		if transport, err = mail.NewSMTP(cfg.SMTPURL, cfg.MailFrom); err != nil {
			ln.Close()
			return err
		}
	}

	box, err := secretBox(cfg, log)
	if err != nil {
		ln.Close()
		return err
	}

	workers := &worker.Workers{
		Mail: &worker.MailSender{Store: db, Transport: transport, Log: log, FirstRetry: cfg.MailRetry, Poll: time.Second},
	}
	svcCfg := serviceConfig(cfg)
	svcCfg.Waker = workers
	svcCfg.SecretBox, svcCfg.WebhooksAllowPrivate = box, cfg.WebhooksAllowPrivate
	svcCfg.Webhooks = webhook.NewClient(webhook.Options{AllowPrivate: cfg.WebhooksAllowPrivate,
		UserAgent: "Muster-Webhooks/" + version()})
	svcCfg.Resolver = sso.NewResolver(cfg.DNSResolver)
	svc := service.New(db, svcCfg)
	workers.Webhooks = &worker.WebhookSender{Service: svc, Log: log}
	workers.SSO = &worker.SSOChecker{Service: svc, Log: log, Every: time.Hour}
	if cfg.WebhooksAllowPrivate {
		log.Warn("--webhooks-allow-private is set: webhook endpoints may use http:// and loopback or private " +
			"addresses, so the console's Admins can make this server send requests into its own network; for local development only")
	}
	// A report whose runner died is taken over once its lease runs out, so
	// the runner looks at least that often.
	workers.Reports = &worker.ReportRunner{Service: svc, Log: log, Poll: min(reportPoll, cfg.ReportLease)}
	workers.Imports = &worker.ImportRunner{Service: svc, Log: log, Poll: min(reportPoll, cfg.ReportLease)}
	workers.Janitor = &worker.Janitor{Service: svc, Log: log, Every: time.Hour}
	workers.Statistics = &worker.StatisticsKeeper{Store: db, Log: log, Every: time.Minute}
	workers.Counts = &worker.CountFolder{Store: db, Log: log, Every: time.Second}
	apiServer := api.New(svc, log)
	scimServer := scim.New(svc, log, cfg.BaseURL)
	regions := make([]web.RegionLink, len(cfg.Regions))
	for i, r := range cfg.Regions {
		regions[i] = web.RegionLink{Code: r.Code, URL: r.URL}
	}
	handler, err := web.New(web.Config{Service: svc, DB: db, Log: log, API: apiServer, SCIM: scimServer,
		Mailbox: cfg.SMTPURL == "", BaseURL: cfg.BaseURL, Region: cfg.Region, Regions: regions,
		TrustedProxies: cfg.TrustedProxies})
	if err != nil {
		ln.Close()
		return err
	}
	// Every phase of a connection is bounded, so that clients that send
	// slowly (a body trickled a byte at a time) or read slowly cannot hold
	// connections, and the memory and file descriptors behind them, for ever.
	// Report downloads move their write deadline on per chunk (download.Copy).
	server := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: min(readHeaderTimeout, cfg.ReadTimeout),
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	// Background work stops after the server has answered its last request.
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	var work sync.WaitGroup
	work.Go(func() { workers.Run(workCtx) })

	log.Info("muster is listening", "addr", ln.Addr().String(), "base_url", cfg.BaseURL,
		"database", cfg.RedactedDatabaseURL(), "region", cfg.Region, "version", version())
	if cfg.SMTPURL == "" {
		log.Info("no SMTP server set (--smtp): mail is kept in a local mailbox, which the Owner reads in the console")
	} else {
		log.Info("mail goes out through SMTP", "smtp", cfg.RedactedSMTPURL(), "from", cfg.MailFrom)
	}

	served := make(chan error, 1)
	go func() { served <- server.Serve(ln) }()

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}
	stop() // a second signal ends the process at once
	log.Info("shutting down", "timeout", ShutdownTimeout.String())
	shutdownCtx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	shutdownErr := server.Shutdown(shutdownCtx)
	stopWork()
	work.Wait()
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	if shutdownErr != nil {
		return fmt.Errorf("shutting down: %w", shutdownErr)
	}
	log.Info("muster stopped")
	return nil
}
