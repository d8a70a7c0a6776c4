package web_test

// Benchmarks of the Users tab (Settings → Roles & Access) as the server
// renders it for an organization of 100,000 users (MUSTER_BENCH_USERS
// changes the size), on both stores: the handler's whole work for one
// request (session check, the service's queries, the template), without
// the network. They run only with -bench; results are in
// docs/benchmarks.md.

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/benchseed"
	"github.com/muster-app/muster/internal/web"
)

func BenchmarkUsersTab(b *testing.B) {
	benchseed.EachStore(b, func(b *testing.B, db *sqlstore.DB, svc *service.Service, n int) {
		console := ownersConsole(b, db, svc)
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
			b.Run(c.name, func(b *testing.B) { console.bench(b, c.target, c.want) })
		}
	})
}

// BenchmarkTeamSelects renders the pages that list every team of the org
// in a select (the Users tab, twice; the invite and edit forms, twice)
// and the Teams page (its first and last pages, and a search), for the
// seeded org's teams and again once 2,000 more are there, as an identity
// provider that pushes its groups leaves them.
func BenchmarkTeamSelects(b *testing.B) {
	benchseed.EachStore(b, func(b *testing.B, db *sqlstore.DB, svc *service.Service, n int) {
		console := ownersConsole(b, db, svc)
		ctx, owner, err := benchseed.Owner(context.Background(), db)
		if err != nil {
			b.Fatal(err)
		}
		listed, err := svc.Teams(ctx, service.TeamListQuery{})
		if err != nil {
			b.Fatal(err)
		}
		seeded := listed.Teams
		pages := []struct{ name, target, want string }{
			{"users_tab", "/settings/roles-access", "Actions for "},
			{"invite_form", "/settings/roles-access/users/invite", "Add a secondary team"},
			{"edit_form", fmt.Sprintf("/settings/roles-access/users/%d/edit", owner.ID), "Add a secondary team"},
			{"teams_page", "/settings/roles-access/teams", "Create Team"},
			{"teams_search", "/settings/roles-access/teams?q=group+12", "Create Team"},
		}
		for _, teams := range []int{len(seeded), len(seeded) + 2000} {
			for i := len(seeded); i < teams; i++ {
				if _, err := svc.CreateTeam(ctx, fmt.Sprintf("Pushed group %04d", i)); err != nil {
					b.Fatal(err)
				}
			}
			last := (teams + service.TeamsPerPage - 1) / service.TeamsPerPage
			pages := append(pages, struct{ name, target, want string }{"teams_last_page",
				fmt.Sprintf("/settings/roles-access/teams?page=%d", last), "Create Team"})
			for _, p := range pages {
				b.Run(fmt.Sprintf("%s/teams=%d", p.name, teams), func(b *testing.B) { console.bench(b, p.target, p.want) })
			}
		}
	})
}

// console is the console's handler with the seeded Owner's session.
type console struct {
	handler http.Handler
	session *http.Cookie
}

// ownersConsole signs the seeded org's Owner in to the console.
func ownersConsole(b *testing.B, db *sqlstore.DB, svc *service.Service) console {
	h, err := web.New(web.Config{Service: svc, DB: db, Log: slog.New(slog.DiscardHandler),
		BaseURL: "https://muster.example.com"})
	if err != nil {
		b.Fatal(err)
	}
	in, err := svc.SignIn(context.Background(), benchseed.OwnerEmail, benchseed.OwnerPassword, service.Client{IP: "192.0.2.1", Origin: "web " + "192.0.2.1"})
	if err != nil {
		b.Fatal(err)
	}
	return console{handler: h, session: &http.Cookie{Name: "muster_session", Value: in.Token}}
}

// bench times GET target, after checking that it shows want; it reports the
// page's size.
func (c console) bench(b *testing.B, target, want string) {
	c.benchRequest(b, func() *http.Request { return httptest.NewRequest("GET", target, nil) }, want)
}

// benchPost times a POST of form to target, as bench does a GET.
func (c console) benchPost(b *testing.B, target string, form url.Values, want string) {
	body := form.Encode()
	c.benchRequest(b, func() *http.Request {
		req := httptest.NewRequest("POST", target, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return req
	}, want)
}

// benchRequest times the requests newRequest makes, signed in, after
// checking that the first is answered 200 showing want; it reports the
// page's size.
func (c console) benchRequest(b *testing.B, newRequest func() *http.Request, want string) {
	render := func() *httptest.ResponseRecorder {
		req := newRequest()
		req.AddCookie(c.session)
		rec := httptest.NewRecorder()
		c.handler.ServeHTTP(rec, req)
		return rec
	}
	rec := render()
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), want) {
		req := newRequest()
		b.Fatalf("%s %s: %d, want 200 showing %q:\n%.2000s", req.Method, req.URL, rec.Code, want, rec.Body.String())
	}
	b.ReportAllocs()
	for b.Loop() {
		render()
	}
	b.ReportMetric(float64(rec.Body.Len()), "B/page")
}

// BenchmarkSendAsPages renders the Send As pages of a permission granted
// with Select All (70% of the org): the tab, the edit form, Assign Users
// (with a search too), the delete confirmation, and the profile of a user
// granted it, which lists their sender addresses (SEND-4).
func BenchmarkSendAsPages(b *testing.B) {
	benchseed.EachStore(b, func(b *testing.B, db *sqlstore.DB, svc *service.Service, n int) {
		console := ownersConsole(b, db, svc)
		ctx, _, err := benchseed.Owner(context.Background(), db)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := svc.SetEmailAtScale(ctx, true); err != nil {
			b.Fatal(err)
		}
		perm, err := svc.CreateSendAs(ctx, service.SendAsInput{FromName: "Acme News", FromEmail: "news@acme.example",
			SelectAll: true})
		if err != nil {
			b.Fatal(err)
		}
		path := fmt.Sprintf("/settings/roles-access/send-as/%d", perm.ID)
		b.Run("tab", func(b *testing.B) { console.bench(b, "/settings/roles-access/send-as", "Acme News") })
		b.Run("edit_form", func(b *testing.B) { console.bench(b, path+"/edit", "Next: Assign Users") })
		assign := url.Values{"keep": {"1"}, "from_name": {"Acme News"}, "from_email": {"news@acme.example"}, "step": {"assign"}}
		b.Run("assign", func(b *testing.B) { console.benchPost(b, path+"/edit", assign, "more users are assigned") })
		search := url.Values{"q": {"mar"}}
		for k, v := range assign {
			search[k] = v
		}
		b.Run("assign_search", func(b *testing.B) { console.benchPost(b, path+"/edit", search, "more users are assigned") })
		b.Run("delete_confirm", func(b *testing.B) { console.bench(b, path+"/delete", "will no longer be allowed") })
		b.Run("profile", func(b *testing.B) { console.bench(b, "/", "news@acme.example") })
	})
}

// middlePage is the Users tab's address of the page from the middle of
// the list in order sort (benchseed.MiddleCursor).
func middlePage(b *testing.B, db *sqlstore.DB, svc *service.Service, sort string, n int) string {
	ctx, _, err := benchseed.Owner(context.Background(), db)
	if err != nil {
		b.Fatal(err)
	}
	cursor, err := benchseed.MiddleCursor(ctx, svc, sort, n)
	if err != nil {
		b.Fatal(err)
	}
	return "/settings/roles-access?" + url.Values{"sort": {sort}, "after": {cursor}}.Encode()
}
