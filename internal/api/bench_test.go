package api_test

// Benchmarks of the API's reads as muster-load's deep-read mix sends them
// (a page of the user list by its cursor from the middle of the list, a
// three-letter search, a user by id), for an organization of 100,000
// users (MUSTER_BENCH_USERS changes the size), on both stores: the
// handler's whole work for one request (the token's check, the service's
// queries, the JSON), without the network. They run only with -bench;
// results are in docs/benchmarks.md.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/api"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/benchseed"
)

func BenchmarkDeepRead(b *testing.B) {
	benchseed.EachStore(b, func(b *testing.B, db *sqlstore.DB, svc *service.Service, n int) {
		owner, _, err := benchseed.Owner(context.Background(), db)
		if err != nil {
			b.Fatal(err)
		}
		token, err := svc.CreateAPIToken(owner, "bench", time.Time{})
		if err != nil {
			b.Fatal(err)
		}
		cursor, err := benchseed.MiddleCursor(owner, svc, string(muster.SortName), n)
		if err != nil {
			b.Fatal(err)
		}
		h := api.New(svc, slog.New(slog.DiscardHandler))
		get := func(target string) *httptest.ResponseRecorder {
			req := httptest.NewRequest("GET", target, nil)
			req.Header.Set("Authorization", "Bearer "+token.Secret)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			return rec
		}
		var page struct {
			Data []struct{ ID int64 }
		}
		first := get("/api/v1/users?limit=50")
		if err := json.Unmarshal(first.Body.Bytes(), &page); first.Code != http.StatusOK || err != nil || len(page.Data) == 0 {
			b.Fatalf("the first page: %d %v %.500s", first.Code, err, first.Body.String())
		}
		for _, c := range []struct{ name, target string }{
			{"cursor_middle", "/api/v1/users?limit=50&cursor=" + url.QueryEscape(cursor)},
			{"search_3_letters", "/api/v1/users?limit=50&q=mar"},
			{"get", "/api/v1/users/" + strconv.FormatInt(page.Data[len(page.Data)-1].ID, 10)},
		} {
			b.Run(c.name, func(b *testing.B) {
				if rec := get(c.target); rec.Code != http.StatusOK || rec.Body.Len() < 100 {
					b.Fatalf("GET %s: %d %.500s; want 200 with a user or a page", c.target, rec.Code, rec.Body.String())
				}
				b.ReportAllocs()
				for b.Loop() {
					get(c.target)
				}
			})
		}
	})
}

// BenchmarkTeamList reads the org's teams as an API client does, once an
// identity provider has pushed 2,000 groups: the first page
// (GET /api/v1/teams?limit=50) and every team, page after page by
// next_cursor, 200 a page.
func BenchmarkTeamList(b *testing.B) {
	benchseed.EachStore(b, func(b *testing.B, db *sqlstore.DB, svc *service.Service, n int) {
		owner, _, err := benchseed.Owner(context.Background(), db)
		if err != nil {
			b.Fatal(err)
		}
		const groups = 2000
		for i := range groups {
			if _, err := svc.CreateTeam(owner, fmt.Sprintf("Okta group %04d", i)); err != nil {
				b.Fatal(err)
			}
		}
		token, err := svc.CreateAPIToken(owner, "bench", time.Time{})
		if err != nil {
			b.Fatal(err)
		}
		h := api.New(svc, slog.New(slog.DiscardHandler))
		get := func(b *testing.B, target string) *httptest.ResponseRecorder {
			req := httptest.NewRequest("GET", target, nil)
			req.Header.Set("Authorization", "Bearer "+token.Secret)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				b.Fatalf("GET %s: %d %.500s", target, rec.Code, rec.Body.String())
			}
			return rec
		}
		// teams reads every page from target on, returning the number of
		// teams and of bytes read.
		teams := func(b *testing.B, target string) (count, size int) {
			for target != "" {
				rec := get(b, target)
				var page struct {
					Data       []struct{ ID int64 }
					NextCursor *string `json:"next_cursor"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
					b.Fatalf("GET %s: %v", target, err)
				}
				count, size, target = count+len(page.Data), size+rec.Body.Len(), ""
				if page.NextCursor != nil {
					target = "/api/v1/teams?limit=200&cursor=" + url.QueryEscape(*page.NextCursor)
				}
			}
			return count, size
		}
		want := len(benchseed.TeamNames) + 1 + groups
		b.Run("first_page", func(b *testing.B) {
			b.ReportAllocs()
			var size int
			for b.Loop() {
				size = get(b, "/api/v1/teams?limit=50").Body.Len()
			}
			b.ReportMetric(float64(size), "bytes/response")
		})
		b.Run("every_team", func(b *testing.B) {
			b.ReportAllocs()
			var size int
			for b.Loop() {
				var count int
				if count, size = teams(b, "/api/v1/teams?limit=200"); count != want {
					b.Fatalf("read %d teams; want %d", count, want)
				}
			}
			b.ReportMetric(float64(size), "bytes/walk")
		})
	})
}
