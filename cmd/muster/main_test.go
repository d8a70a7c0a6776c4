package main_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/testsupport"
)

func TestMain(m *testing.M) { testsupport.Main(m) }

// build returns the muster binary, built once for the package's tests.
func build(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	return testsupport.Muster(t)
}

// environ is the test's environment without MUSTER_* settings.
func environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MUSTER_") {
			env = append(env, kv)
		}
	}
	return env
}

func TestBinary(t *testing.T) {
	bin := build(t)
	dir := t.TempDir()

	t.Run("Version", func(t *testing.T) {
		out, err := exec.Command(bin, "version").Output()
		if err != nil || !strings.HasPrefix(string(out), "muster "+testsupport.Version+" ") {
			t.Fatalf("muster version = %q, %v", out, err)
		}
	})

	t.Run("ServeStopsOnSIGTERM", func(t *testing.T) {
		cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--db", filepath.Join(dir, "muster.db"))
		cmd.Env = environ()
		cmd.Dir = dir
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer cmd.Process.Kill()

		// The server logs the address it listens on; the rest of the log is
		// kept for failure messages.
		addrc := make(chan string, 1)
		var logged testsupport.Buffer
		logDone := make(chan struct{})
		go func() {
			defer close(logDone)
			sc := bufio.NewScanner(stderr)
			for sc.Scan() {
				fmt.Fprintln(&logged, sc.Text())
				var line struct{ Msg, Addr string }
				if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "muster is listening" {
					addrc <- line.Addr
				}
			}
		}()
		var addr string
		select {
		case addr = <-addrc:
		case <-time.After(30 * time.Second):
			t.Fatal("the server did not say where it listens")
		}

		client := &http.Client{Timeout: 2 * time.Second}
		var healthy bool
		for deadline := time.Now().Add(10 * time.Second); !healthy && time.Now().Before(deadline); {
			resp, err := client.Get("http://" + addr + "/healthz")
			if err == nil {
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				healthy = err == nil && resp.StatusCode == http.StatusOK && string(body) == "ok"
			}
			if !healthy {
				time.Sleep(50 * time.Millisecond)
			}
		}
		if !healthy {
			t.Fatal("/healthz never answered ok")
		}

		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		waited := make(chan error, 1)
		go func() {
			<-logDone
			waited <- cmd.Wait()
		}()
		select {
		case err := <-waited:
			if err != nil {
				t.Fatalf("after SIGTERM: %v\n%s", err, logged.String())
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("the server did not stop within 30s of SIGTERM\n%s", logged.String())
		}
		if !strings.Contains(logged.String(), `"msg":"muster stopped"`) {
			t.Fatalf("no clean stop in the log:\n%s", logged.String())
		}
	})
}
