package cli_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/cli"
)

// startServe runs muster serve on a port of its choosing with args added,
// on a fresh SQLite file, until the test ends. It returns the address the
// server listens on and its log.
func startServe(t *testing.T, args ...string) (addr string, logs *logBuffer) {
	t.Helper()
	clearEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	logs = &logBuffer{}
	done := make(chan int, 1)
	args = append([]string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(t.TempDir(), "muster.db")}, args...)
	go func() { done <- cli.Run(ctx, args, io.Discard, logs) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d:\n%s", code, logs)
		}
	})
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		select {
		case code := <-done:
			done <- code
			t.Fatalf("serve exited %d before listening:\n%s", code, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not start listening:\n%s", logs)
		}
		if m := logs.find(t, "muster is listening"); m != nil {
			addr, _ = m["addr"].(string)
			return addr, logs
		}
	}
}

// TestServeCutsOffSlowBodies: connections that send their headers and then
// trickle a body a byte at a time are closed by the server once the read
// timeout has passed, all of them, and the server still answers others.
func TestServeCutsOffSlowBodies(t *testing.T) {
	const (
		conns       = 50
		readTimeout = 500 * time.Millisecond
		// held is how long the test waits for the server to close a
		// connection before it counts it as held for ever.
		held = 15 * time.Second
	)
	addr, _ := startServe(t, "--read-timeout", readTimeout.String())

	type result struct {
		after time.Duration
		err   error
	}
	results := make(chan result, conns)
	for i := range conns {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		start := time.Now()
		if _, err := fmt.Fprintf(c, "POST /signin HTTP/1.1\r\nHost: %s\r\n"+
			"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nemail=slow%d", addr, i); err != nil {
			t.Fatal(err)
		}
		// The attack: a byte now and then, never the whole body.
		go func() {
			for {
				if _, err := c.Write([]byte("x")); err != nil {
					return
				}
				time.Sleep(50 * time.Millisecond)
			}
		}()
		// Whatever the server answers, the connection ends when it closes
		// it: reading then ends with EOF or a reset.
		go func() {
			c.SetReadDeadline(start.Add(held))
			_, err := io.Copy(io.Discard, c)
			results <- result{time.Since(start), err}
			c.Close()
		}()
	}
	var stillHeld int
	for range conns {
		r := <-results
		if errors.Is(r.err, os.ErrDeadlineExceeded) {
			stillHeld++
		} else if r.after > readTimeout+5*time.Second {
			t.Errorf("a slow body held its connection for %v with a read timeout of %v", r.after, readTimeout)
		}
	}
	if stillHeld > 0 {
		t.Fatalf("%d of %d connections trickling a body are still held after %v (read timeout %v)", stillHeld, conns, held, readTimeout)
	}

	res, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /healthz after the attack: %d", res.StatusCode)
	}
}

// TestServeDebugAddr: Go's profiles are served on --debug-addr only, never
// on the address people reach, and neither serves the command line, whose
// --db may hold the database password.
func TestServeDebugAddr(t *testing.T) {
	addr, logs := startServe(t, "--debug-addr", "127.0.0.1:0", "--write-timeout", "1s")
	m := logs.find(t, "profiles are served at /debug/pprof/")
	if m == nil {
		t.Fatalf("no log line says where the profiles are:\n%s", logs)
	}
	debugAddr, _ := m["debug_addr"].(string)
	if debugAddr == "" || debugAddr == addr {
		t.Fatalf("profiles at %q, the server at %q; want a listener of their own", debugAddr, addr)
	}
	for _, tc := range []struct {
		addr, path string
		want       int
	}{
		{addr, "/debug/pprof/", 404}, {addr, "/debug/pprof/cmdline", 404}, {addr, "/debug/pprof/heap", 404},
		{debugAddr, "/debug/pprof/", 200}, {debugAddr, "/debug/pprof/heap", 200},
		{debugAddr, "/debug/pprof/cmdline", 404},
		// A profile outlasts the main server's write timeout (1s here).
		{debugAddr, "/debug/pprof/profile?seconds=2", 200},
	} {
		res, err := http.Get("http://" + tc.addr + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil || res.StatusCode != tc.want {
			t.Errorf("GET %s%s = %d (%v); want %d\n%s", tc.addr, tc.path, res.StatusCode, err, tc.want, body)
		}
	}
}

// TestFlagErrorsHideSecrets: a value that holds a password, given to the
// wrong flag or left over as an argument, is never printed with it.
func TestFlagErrorsHideSecrets(t *testing.T) {
	clearEnv(t)
	const secretURL = "postgres://muster:s3cret@db.internal:5432/muster"
	for _, args := range [][]string{
		{"serve", "--pprof", secretURL},
		{"serve", "--debug-addr", secretURL},
		{"serve", "--debug-addr", "--db", secretURL},
		{"serve", "--addr", secretURL},
		{"serve", "--base-url", secretURL},
		{"serve", "--base-url", "https://muster:s3cret@muster.example.com"},
		{"serve", "--smtp", "smtp://u:s3cret@mail.example.com:99999", "--mail-from", "a@example.com"},
		{"serve", "--mail-from", secretURL},
		{"serve", "--region", secretURL},
		{"serve", "--regions", "eu=" + secretURL},
		{"serve", "--invitation-ttl", secretURL},
		{"serve", "--read-timeout", secretURL},
		{"serve", "--db", "mysql://muster:s3cret@db/muster"},
		{"serve", "--db", "postgres://muster:s3c/ret@db.internal/muster"},
		{"serve", "--db", "postgres://muster@db.internal/muster?password=s3cret&sslmode=x", "--addr", "x"},
		{"init", "--json=" + secretURL},
		{"migrate", secretURL},
		{secretURL},
	} {
		r := run(t, args...)
		if r.code == 0 || strings.Contains(r.stderr+r.stdout, "s3c") {
			t.Errorf("muster %s: exit %d, printed\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
		}
	}
}
