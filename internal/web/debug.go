package web

import (
	"net/http"
	"net/http/pprof"
)

// Debug serves Go's profiles at /debug/pprof/, for a listener of its own
// (muster serve --debug-addr), never the one people and API clients reach:
// profiles show the program's insides to anyone who can fetch them.
//
// The command line (/debug/pprof/cmdline) is not served: its --db or --smtp
// may hold a password. go tool pprof does not need it.
func Debug() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "The command line is not served: it may hold passwords.", http.StatusNotFound)
	})
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}
