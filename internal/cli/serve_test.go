package cli_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/cli"
	"github.com/muster-app/muster/internal/testsupport"
)

// logBuffer collects a server's log lines while it runs.
type logBuffer struct{ testsupport.Buffer }

// lines returns the JSON log lines.
func (l *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(l.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		out = append(out, m)
	}
	return out
}

// find returns the first log line with msg.
func (l *logBuffer) find(t *testing.T, msg string) map[string]any {
	for _, m := range l.lines(t) {
		if m["msg"] == msg {
			return m
		}
	}
	return nil
}

func TestServe(t *testing.T) {
	clearEnv(t)
	for name, newDB := range databases(t) {
		t.Run(name, func(t *testing.T) {
			dbURL := newDB(t)
			if strings.HasPrefix(dbURL, "postgres") {
				// A password the server must not log (the test server trusts
				// 127.0.0.1 and ignores it).
				u, err := url.Parse(dbURL)
				if err != nil {
					t.Fatal(err)
				}
				u.User = url.UserPassword(u.User.Username(), "s3cret-pw")
				dbURL = u.String()
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			logs := &logBuffer{}
			done := make(chan int, 1)
			go func() {
				done <- cli.Run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--db", dbURL}, io.Discard, logs)
			}()

			var listening map[string]any
			for deadline := time.Now().Add(20 * time.Second); listening == nil; {
				select {
				case code := <-done:
					t.Fatalf("serve exited %d before listening:\n%s", code, logs)
				default:
				}
				if time.Now().After(deadline) {
					t.Fatalf("serve did not start listening:\n%s", logs)
				}
				time.Sleep(20 * time.Millisecond)
				listening = logs.find(t, "muster is listening")
			}
			addr, _ := listening["addr"].(string)
			if listening["base_url"] != "http://"+addr {
				t.Errorf("base_url = %v; want http://%s", listening["base_url"], addr)
			}
			if db, _ := listening["database"].(string); strings.HasPrefix(dbURL, "postgres") && !strings.Contains(db, ":xxxxx@") {
				t.Errorf("database = %q; want the URL with its password redacted", db)
			}
			if logs.find(t, "no SMTP server set (--smtp): mail is kept in a local mailbox, which the Owner reads in the console") == nil {
				t.Errorf("the server does not say that mail stays in the local mailbox:\n%s", logs)
			}

			client := &http.Client{Timeout: 5 * time.Second,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			// SCIM is served, and asks for its token.
			for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/": 303, "/metrics": 200,
				"/scim/v2/ServiceProviderConfig": 401} {
				resp, err := client.Get("http://" + addr + path)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != want {
					t.Errorf("GET %s = %d; want %d", path, resp.StatusCode, want)
				}
			}

			cancel()
			select {
			case code := <-done:
				if code != 0 {
					t.Fatalf("serve exited %d; want 0\n%s", code, logs)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("serve did not stop")
			}
			if strings.Contains(logs.String(), "s3cret-pw") {
				t.Fatalf("the log shows the database password:\n%s", logs)
			}
			if logs.find(t, "request") == nil || logs.find(t, "muster stopped") == nil {
				t.Fatalf("no request log lines or no stop line:\n%s", logs)
			}
		})
	}
}

func TestServeAddressInUse(t *testing.T) {
	clearEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := &logBuffer{}
	dir := t.TempDir()
	done := make(chan int, 1)
	go func() {
		done <- cli.Run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "a.db")}, io.Discard, first)
	}()
	var addr string
	for deadline := time.Now().Add(20 * time.Second); addr == ""; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("first server did not start:\n%s", first)
		}
		if m := first.find(t, "muster is listening"); m != nil {
			addr, _ = m["addr"].(string)
		}
	}
	var stderr logBuffer
	code := cli.Run(context.Background(), []string{"serve", "--addr", addr, "--db", filepath.Join(dir, "b.db")}, io.Discard, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "address already in use") {
		t.Fatalf("second server on %s: exit %d\n%s", addr, code, stderr.String())
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("first server exited %d", code)
	}
}
