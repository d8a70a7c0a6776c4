package web_test

// Benchmarks of the Users tab (Settings → Roles & Access) as the server
// renders it for an organization of 100,000 users (MUSTER_BENCH_USERS
// changes the size), on both stores: the handler's whole work for one
// request (session check, the service's queries, the template), without
// the network. They run only with -bench; results are in
// docs/benchmarks.md.

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/postgres"
	"github.com/muster-app/muster/internal/store/sqlite"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/benchseed"
	"github.com/muster-app/muster/internal/testsupport/storetest"
	"github.com/muster-app/muster/internal/web"
)

func BenchmarkUsersTab(b *testing.B) {
	n := 100_000
	if v := os.Getenv("MUSTER_BENCH_USERS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	for _, dialect := range []string{"sqlite", "postgres"} {
		b.Run(dialect, func(b *testing.B) {
			db := benchStore(b, dialect, n)
			svc := service.New(db, service.Config{BaseURL: "https://muster.example.com", Links: web.NewLinks("https://muster.example.com")})
			h, err := web.New(web.Config{Service: svc, DB: db, Log: slog.New(slog.DiscardHandler),
				BaseURL: "https://muster.example.com"})
			if err != nil {
				b.Fatal(err)
			}
			in, err := svc.SignIn(context.Background(), benchseed.OwnerEmail, benchseed.OwnerPassword, service.Client{IP: "192.0.2.1", Origin: "web " + "192.0.2.1"})
			if err != nil {
				b.Fatal(err)
			}
			cookie := &http.Cookie{Name: "muster_session", Value: in.Token}
			cases := []struct{ name, target, want string }{
				{"page", "/settings/roles-access", "Actions for "},
				{"search_3_letters", "/settings/roles-access?q=mar", "Actions for "},
				{"search_no_match", "/settings/roles-access?q=qzx", "No users match"},
				{"status_filter", "/settings/roles-access?status=active", "Actions for "},
			}
			// Every order, both ways, on its first page and on a page from
			// the middle, reached by its cursor; and a search in another
			// order than by name.
			for _, o := range muster.UserSorts {
				for _, dir := range []string{"asc", "desc"} {
					target := "/settings/roles-access?sort=" + string(o) + "&dir=" + dir
					cases = append(cases, struct{ name, target, want string }{"sort_" + string(o) + "_" + dir, target, "Actions for "})
				}
				cases = append(cases, struct{ name, target, want string }{"sort_" + string(o) + "_middle",
					middlePage(b, db, svc, string(o), n), "Actions for "})
			}
			cases = append(cases, struct{ name, target, want string }{"search_by_last_sign_in",
				"/settings/roles-access?q=mar&sort=last_sign_in&dir=desc", "Actions for "},
				struct{ name, target, want string }{"search_rare_by_email", "/settings/roles-access?q=zim&sort=email", "Actions for "})
			for _, c := range cases {
				b.Run(c.name, func(b *testing.B) {
					render := func() *httptest.ResponseRecorder {
						req := httptest.NewRequest("GET", c.target, nil)
						req.AddCookie(cookie)
						rec := httptest.NewRecorder()
						h.ServeHTTP(rec, req)
						return rec
					}
					if rec := render(); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), c.want) {
						b.Fatalf("GET %s: %d, want 200 showing %q:\n%.2000s", c.target, rec.Code, c.want, rec.Body.String())
					}
					b.ReportAllocs()
					for b.Loop() {
						render()
					}
				})
			}
		})
	}
}

// middlePage is the Users tab's address of the page from the middle of
// the list in order sort: its cursor found by paging, 200 at a time, through
// the first half.
func middlePage(b *testing.B, db *sqlstore.DB, svc *service.Service, sort string, n int) string {
	ctx, _, err := benchseed.Owner(context.Background(), db)
	if err != nil {
		b.Fatal(err)
	}
	q := service.UserQuery{Sort: sort, Limit: service.MaxPageSize}
	for seen := 0; seen < n/2; seen += service.MaxPageSize {
		page, err := svc.FindUsers(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		if page.NextCursor == "" {
			break
		}
		q.Cursor = page.NextCursor
	}
	// The cursor of a page of 200 opens a page of 50 as well: it is where
	// the next page starts, whatever its size.
	return "/settings/roles-access?" + url.Values{"sort": {sort}, "after": {q.Cursor}}.Encode()
}

// benchStore opens a store of the dialect holding benchseed's org of n
// users; it skips when PostgreSQL is unreachable, as the store tests do.
func benchStore(b *testing.B, dialect string, n int) *sqlstore.DB {
	ctx := context.Background()
	var (
		db  *sqlstore.DB
		err error
	)
	switch dialect {
	case "sqlite":
		path := filepath.Join(b.TempDir(), "muster.db")
		if err := benchseed.SQLite(ctx, path, n); err != nil {
			b.Fatal(err)
		}
		db, err = sqlite.Open(ctx, path)
	default:
		url := storetest.PostgresSchema(b)
		if err := benchseed.Postgres(ctx, url, n); err != nil {
			b.Fatal(err)
		}
		db, err = postgres.Open(ctx, url)
	}
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}
