// Package testsupport and the packages below it are tooling for tests and
// measurements, never imported by the server: benchseed (large orgs for
// benchmarks), browsertest (Chromium), loadtest (muster-load's phases),
// mailtest (an SMTP server), storetest (a store per test, on both
// databases). This package holds what is shared and fits none of them: a
// buffer that a server writes its log to while the test reads it, the
// muster binary, built once per test process for the tests that run it as a
// child process, and a server key for services that make webhook endpoints.
//
// It is a normal package so that those packages' tests can share it; only
// tests import it.
package testsupport

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/muster-app/muster/internal/secret"
)

// Buffer is a bytes.Buffer safe for one goroutine writing (a server's log,
// a child process's output) while another reads.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what has been written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Version is the version the binary built by Muster reports.
const Version = "v0.0.0-test"

var built struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// Muster returns the path of the muster command built from this module's
// ./cmd/muster, reporting Version. The first call in a test process builds
// it into a temporary directory (a few seconds with a warm build cache); the
// other calls, from any test of the process, reuse it. A package whose tests
// call Muster runs them through Main, which removes the directory at the
// end.
func Muster(tb testing.TB) string {
	tb.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "muster-bin")
		if built.err != nil {
			return
		}
		goBin, err := exec.LookPath("go")
		if err != nil {
			goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
		}
		built.path = filepath.Join(built.dir, "muster")
		cmd := exec.Command(goBin, "build", "-o", built.path,
			"-ldflags", "-X github.com/muster-app/muster/internal/cli.Version="+Version,
			"github.com/muster-app/muster/cmd/muster")
		if out, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Errorf("go build ./cmd/muster: %v\n%s", err, out)
		}
	})
	if built.err != nil {
		tb.Fatal(built.err)
	}
	return built.path
}

// Main runs the tests of m and removes the binary Muster built, if any:
//
//	func TestMain(m *testing.M) { testsupport.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		if err := os.RemoveAll(built.dir); err != nil {
			fmt.Fprintln(os.Stderr, "testsupport: removing the built binary:", err)
		}
	}
	os.Exit(code)
}

// Do sends an HTTP request whose body is body (nothing for nil, a string as
// it is, anything else as JSON) with header's name and value pairs (a pair
// with an empty value leaves the header out, whatever came before it), and
// reads the answer in full. The caller closes nothing.
func Do(tb testing.TB, method, url string, body any, header ...string) (*http.Response, []byte) {
	tb.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			tb.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		tb.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i]) // sent without it
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatalf("%s %s: reading the answer: %v", method, url, err)
	}
	return res, raw
}

// SecretBox returns a box sealing with a new random server key, for the
// services of tests that make webhook endpoints.
func SecretBox(tb testing.TB) *secret.Box {
	key := make([]byte, secret.KeySize)
	rand.Read(key)
	box, err := secret.NewBox(key)
	if err != nil {
		tb.Fatal(err)
	}
	return box
}
