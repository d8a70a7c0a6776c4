package web

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are the Prometheus collectors /metrics serves, in a registry of
// their own rather than the package-global default one.
type metrics struct {
	registry *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// commitStatser is a store that groups commits (sqlstore on SQLite).
type commitStatser interface {
	CommitStats() (writes, commits int64)
}

func newMetrics(db Pinger) *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "muster_http_requests_total",
			Help: "HTTP requests answered, by route pattern and status code.",
		}, []string{"route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "muster_http_request_duration_seconds",
			Help:    "Time taken to answer HTTP requests, by route pattern and status code.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "status"}),
	}
	m.registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests,
		m.duration,
	)
	if db, ok := db.(interface{ RoundTrips() int64 }); ok {
		m.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "muster_store_round_trips_total",
			Help: "Network round trips to the database server that ran statements, COMMIT included (a transaction's BEGIN goes with its first statement; PostgreSQL; 0 on SQLite).",
		}, func() float64 { return float64(db.RoundTrips()) }))
	}
	if db, ok := db.(interface{ Reruns() int64 }); ok {
		m.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "muster_store_transaction_reruns_total",
			Help: "Write transactions run again because PostgreSQL ended them in a deadlock or a serialization failure (each waited deadlock_timeout first).",
		}, func() float64 { return float64(db.Reruns()) }))
	}
	if db, ok := db.(commitStatser); ok {
		m.registry.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "muster_store_grouped_writes_total",
				Help: "Write transactions committed in a group commit (SQLite).",
			}, func() float64 { w, _ := db.CommitStats(); return float64(w) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "muster_store_group_commits_total",
				Help: "Database commits of grouped write transactions (SQLite); writes per commit is the group size.",
			}, func() float64 { _, c := db.CommitStats(); return float64(c) }),
		)
	}
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// unmatchedRoute labels requests no route pattern matched (404, 405, and
// cross-origin requests refused before routing).
const unmatchedRoute = "unmatched"

// observe counts, times and logs every request, and turns a panic into a
// logged 500.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("http: handler panicked", "method", r.Method, "route", r.Pattern,
					"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if sw.status == 0 {
					http.Error(sw, "Something went wrong on our side. Please try again.", http.StatusInternalServerError)
				}
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			// ServeMux records the matched pattern on the request it was given,
			// which is r: the handlers in between pass it on unchanged.
			route := r.Pattern
			if route == "" {
				route = unmatchedRoute
			}
			elapsed := time.Since(start)
			code := strconv.Itoa(status)
			s.metrics.requests.WithLabelValues(route, code).Inc()
			s.metrics.duration.WithLabelValues(route, code).Observe(elapsed.Seconds())
			s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("method", r.Method),
				slog.String("route", route),
				slog.String("path", redactPath(r.URL.Path)),
				slog.Int("status", status),
				slog.Int64("bytes", sw.bytes),
				slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
				slog.String("remote", s.clientIP(r)),
			)
		}()
		next.ServeHTTP(sw, r)
	})
}

// redactPath hides path segments that may be secrets: invitation, password
// reset and similar links carry their token in the path. The query string is
// never logged.
func redactPath(p string) string {
	segs := strings.Split(p, "/")
	for i, seg := range segs {
		if len(seg) >= 16 {
			segs[i] = "REDACTED"
		}
	}
	return strings.Join(segs, "/")
}

// statusWriter records the status code and body size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Flush lets streamed responses (report downloads) flush through.
func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
