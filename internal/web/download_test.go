package web_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/api"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/testsupport/benchseed"
	"github.com/muster-app/muster/internal/web"
)

// The server's WriteTimeout in TestDownloadOutlastsWriteTimeout, and how
// long each write of a response waits there, as on a slow link: a download
// of 21 chunks takes twice the WriteTimeout, while each chunk takes a tenth.
const (
	downloadWriteTimeout = 500 * time.Millisecond
	slowLinkPerWrite     = 50 * time.Millisecond
)

// slowLink is a response writer on a slow link: each write waits before it
// reaches the connection, as a write does whose client reads slowly.
type slowLink struct{ http.ResponseWriter }

func (w slowLink) Write(b []byte) (int, error) {
	time.Sleep(slowLinkPerWrite)
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w slowLink) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// TestDownloadOutlastsWriteTimeout: a user list that takes twice the
// server's WriteTimeout to reach a client on a slow link still arrives
// whole, from the console and from the API, since each chunk gets its own
// write deadline.
func TestDownloadOutlastsWriteTimeout(t *testing.T) {
	ctx := context.Background()
	db := seededSQLite(t, 5000)
	svc := service.New(db, service.Config{BaseURL: baseURL, Links: web.NewLinks(baseURL)})
	ownerCtx, _, err := benchseed.Owner(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := svc.RequestUserList(ownerCtx)
	if err != nil {
		t.Fatal(err)
	}
	if ran, err := svc.RunNextReport(ctx); err != nil || !ran {
		t.Fatalf("RunNextReport = %v, %v; want the report run", ran, err)
	}
	_, rc, err := svc.OpenReport(ownerCtx, rep.ID)
	if err != nil {
		t.Fatal(err)
	}
	csv, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	session, err := svc.SignIn(ctx, benchseed.OwnerEmail, benchseed.OwnerPassword, service.Client{IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	token, err := svc.CreateAPIToken(ownerCtx, "download test", time.Time{})
	if err != nil {
		t.Fatal(err)
	}

	log := slog.New(slog.DiscardHandler)
	h, err := web.New(web.Config{Service: svc, DB: db, Log: log, API: api.New(svc, log), BaseURL: baseURL})
	if err != nil {
		t.Fatal(err)
	}
	took := make(chan time.Duration, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		h.ServeHTTP(slowLink{w}, r)
		took <- time.Since(start)
	}))
	srv.Config.WriteTimeout = downloadWriteTimeout
	srv.Start()
	t.Cleanup(srv.Close)

	for name, tc := range map[string]struct {
		path   string
		header http.Header
	}{
		"Console": {fmt.Sprintf("/reports/%d/download", rep.ID), http.Header{"Cookie": {"muster_session=" + session.Token}}},
		"API":     {fmt.Sprintf("/api/v1/reports/%d/download", rep.ID), http.Header{"Authorization": {"Bearer " + token.Secret}}},
	} {
		t.Run(name, func(t *testing.T) {
			req, err := http.NewRequest("GET", srv.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header = tc.header
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			handler := <-took
			if res.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: status %d; want 200\n%s", tc.path, res.StatusCode, body)
			}
			if err != nil || !bytes.Equal(body, csv) {
				t.Fatalf("after %v: %d of %d bytes (%v); want the whole user list past the WriteTimeout %v",
					handler, len(body), len(csv), err, downloadWriteTimeout)
			}
			if handler <= downloadWriteTimeout {
				t.Fatalf("the download took %v, no longer than the WriteTimeout %v: the test proves nothing", handler, downloadWriteTimeout)
			}
			t.Logf("%d bytes in %v with a WriteTimeout of %v", len(body), handler, downloadWriteTimeout)
		})
	}
}
