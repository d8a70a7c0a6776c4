package loadtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// ExportConfig is one measurement of the user-list export as the server
// runs it (AUD-5): requested through the API, run by the server's report
// runner, then downloaded.
type ExportConfig struct {
	URL   string // the server
	Token string // an API token of an Owner or Admin of the org
	// Users is the number of rows the list must have.
	Users int
	// Runs is how many reports to run, one after another.
	Runs int
	// ServerPID, if not 0, is sampled for RSS and CPU time.
	ServerPID int
	// Poll is how often the report's progress is read; 100 ms if zero.
	Poll time.Duration
}

// ExportResult is one report run or one download.
type ExportResult struct {
	Phase string `json:"phase"` // "report" or "download"
	Run   int    `json:"run"`
	Rows  int    `json:"rows"`
	Bytes int64  `json:"bytes,omitempty"` // the CSV's size (download)
	// Seconds is the wall time seen by the client: from the request to
	// the first poll that saw the report done, or the whole download.
	Seconds float64 `json:"seconds"`
	// ServerSeconds is, for a report, finished_at - created_at as the
	// server recorded them.
	ServerSeconds float64 `json:"server_seconds,omitempty"`
	IdleRSSMiB    float64 `json:"server_idle_rss_mib"` // before the first run
	PeakRSSMiB    float64 `json:"server_peak_rss_mib"`
	CPUSeconds    float64 `json:"server_cpu_seconds"`
	// Progress counts the distinct rows_written values polls saw while the
	// report ran: more than one means the progress is visible.
	Progress int `json:"progress_steps,omitempty"`
}

// AboveIdleMiB is the peak RSS above the idle server's.
func (r ExportResult) AboveIdleMiB() float64 { return r.PeakRSSMiB - r.IdleRSSMiB }

type reportJSON struct {
	ID          int64      `json:"id"`
	Status      string     `json:"status"`
	RowsWritten int        `json:"rows_written"`
	RowsTotal   int        `json:"rows_total"`
	CreatedAt   time.Time  `json:"created_at"`
	FinishedAt  *time.Time `json:"finished_at"`
}

// MeasureExport runs cfg.Runs reports one after another, each followed by
// its download, and checks that every one lists cfg.Users users.
func MeasureExport(ctx context.Context, cfg ExportConfig) ([]ExportResult, error) {
	if cfg.Poll == 0 {
		cfg.Poll = 100 * time.Millisecond
	}
	c := &Client{URL: strings.TrimRight(cfg.URL, "/"), Token: cfg.Token, HTTP: &http.Client{}}
	idle := 0.0
	if cfg.ServerPID != 0 {
		idle = rssMiB(cfg.ServerPID)
	}
	var results []ExportResult
	for run := 1; run <= cfg.Runs; run++ {
		s := startSampler(cfg.ServerPID)
		start := time.Now()
		var rep reportJSON
		if err := c.call(ctx, "POST", "/api/v1/reports", nil, http.StatusAccepted, &rep); err != nil {
			s.stop()
			return results, err
		}
		seen := map[int]bool{}
		for rep.Status != "done" {
			if rep.Status == "failed" {
				s.stop()
				return results, fmt.Errorf("report %d failed", rep.ID)
			}
			seen[rep.RowsWritten] = true
			select {
			case <-ctx.Done():
				s.stop()
				return results, ctx.Err()
			case <-time.After(cfg.Poll):
			}
			if err := c.call(ctx, "GET", fmt.Sprintf("/api/v1/reports/%d", rep.ID), nil, http.StatusOK, &rep); err != nil {
				s.stop()
				return results, err
			}
		}
		elapsed := time.Since(start)
		use := s.stop()
		r := ExportResult{Phase: "report", Run: run, Rows: rep.RowsWritten, Seconds: elapsed.Seconds(),
			IdleRSSMiB: idle, PeakRSSMiB: use.peakRSS, CPUSeconds: use.cpu, Progress: len(seen)}
		if rep.FinishedAt != nil {
			r.ServerSeconds = rep.FinishedAt.Sub(rep.CreatedAt).Seconds()
		}
		results = append(results, r)
		if rep.RowsWritten != cfg.Users {
			return results, fmt.Errorf("report %d has %d rows; want %d", rep.ID, rep.RowsWritten, cfg.Users)
		}

		s = startSampler(cfg.ServerPID)
		start = time.Now()
		rows, size, err := c.download(ctx, fmt.Sprintf("/api/v1/reports/%d/download", rep.ID))
		elapsed = time.Since(start)
		use = s.stop()
		if err != nil {
			return results, err
		}
		results = append(results, ExportResult{Phase: "download", Run: run, Rows: rows, Bytes: size,
			Seconds: elapsed.Seconds(), IdleRSSMiB: idle, PeakRSSMiB: use.peakRSS, CPUSeconds: use.cpu})
		if rows != cfg.Users {
			return results, fmt.Errorf("the download of report %d has %d rows; want %d", rep.ID, rows, cfg.Users)
		}
	}
	return results, nil
}

// download reads a CSV and counts its records by line (the generated
// users have no line breaks in their cells), the header excepted.
func (c *Client) download(ctx context.Context, path string) (int, int64, error) {
	res, err := c.request(ctx, "GET", path, nil)
	if err != nil {
		return 0, 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(res.Body)
		return 0, 0, fmt.Errorf("GET %s: %d %s", path, res.StatusCode, bytes.TrimSpace(b))
	}
	buf := make([]byte, 256<<10)
	var lines int
	var size int64
	for {
		n, err := res.Body.Read(buf)
		lines += bytes.Count(buf[:n], []byte{'\n'})
		size += int64(n)
		if err == io.EOF {
			return lines - 1, size, nil
		} else if err != nil {
			return 0, size, err
		}
	}
}

// WriteExportTable writes export results as a table a person reads.
func WriteExportTable(w io.Writer, results []ExportResult) {
	fmt.Fprintf(w, "%-9s %4s %9s %10s %9s %9s %10s %10s %8s %9s\n", "phase", "run", "rows", "bytes", "seconds",
		"server s", "idle RSS", "peak RSS", "above", "CPU s")
	for _, r := range results {
		fmt.Fprintf(w, "%-9s %4d %9d %10d %9.2f %9.2f %8.1fMi %8.1fMi %6.1fMi %9.2f\n", r.Phase, r.Run, r.Rows, r.Bytes,
			r.Seconds, r.ServerSeconds, r.IdleRSSMiB, r.PeakRSSMiB, r.AboveIdleMiB(), r.CPUSeconds)
	}
}
