package service_test

// TestBenchQueryPlans prints the query plans of the listings that the
// benchmarks time, for docs/benchmarks.md. It runs only when
// MUSTER_BENCH_PLANS names a file to write (or is "-" for the test log):
//
//	MUSTER_BENCH_PLANS=/tmp/plans.md go test -run TestBenchQueryPlans ./internal/service/
//
// The queries are the ones the store really sends: a second store is opened
// on the seeded database through a database/sql driver that records every
// query with its arguments, the service runs each listing on it, and each
// recorded query is explained (SQLite EXPLAIN QUERY PLAN; PostgreSQL
// EXPLAIN ANALYZE, once with the arguments bound and once as the generic
// plan a cached prepared statement may switch to).

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/postgres"
	"github.com/muster-app/muster/internal/store/sqlite"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/benchseed"
	"github.com/muster-app/muster/internal/testsupport/sqliteplan"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

func TestBenchQueryPlans(t *testing.T) {
	out := os.Getenv("MUSTER_BENCH_PLANS")
	if out == "" {
		t.Skip("set MUSTER_BENCH_PLANS to a file name (or -) to print the query plans")
	}
	var doc strings.Builder
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			benchPlans(t, d, &doc)
		})
	}
	if out == "-" {
		t.Log("\n" + doc.String())
		return
	}
	if err := os.WriteFile(out, []byte(doc.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func benchPlans(t *testing.T, dialect string, doc *strings.Builder) {
	env := benchOpen(t, dialect)
	traced, raw := benchTracedStore(t, env)
	svc := benchseed.Service(traced)
	var version string
	if err := raw.QueryRow(map[string]string{"sqlite": `SELECT 'SQLite ' || sqlite_version()`,
		"postgres": `SELECT version()`}[dialect]).Scan(&version); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(doc, "## %s, %d users\n\n%s\n\n", map[string]string{"sqlite": "SQLite", "postgres": "PostgreSQL"}[dialect], env.n, version)

	// Each case explains the last query it sent that contains one of its
	// pieces (loading the actor comes first); FindUsers may count a
	// search's or team's matches before its main query.
	const (
		findUsersMain  = "ORDER BY u.sort_key, u.id LIMIT"
		findUsersCount = "SELECT count(*) FROM (SELECT 1 FROM"
	)
	type planCase struct {
		name    string
		run     func() error
		matches []string
	}
	var cases []planCase
	for _, c := range benchCases(t, env) {
		cases = append(cases, planCase{"FindUsers " + c.name, func() error {
			_, err := svc.FindUsers(env.owner, c.q)
			return err
		}, []string{findUsersCount, findUsersMain}})
	}
	cases = append(cases,
		planCase{"Teams (the API's first page of teams, with their counts)", func() error {
			_, err := svc.Teams(env.owner, service.TeamListQuery{})
			return err
		}, []string{"FROM teams t"}},
	)
	// SCIM's lookups of groups, in an org with pushGroups' 2,000 more.
	idp, members := pushGroups(t, env)
	for _, c := range []struct {
		name string
		q    service.ProvisionQuery
	}{
		{"displayName eq", service.ProvisionQuery{Where: &muster.Condition{Op: muster.CondEqual,
			Attr: muster.AttrName, Value: "Pushed group 1234"}, Limit: 100}},
		{"externalId eq", service.ProvisionQuery{Where: &muster.Condition{Op: muster.CondEqual,
			Attr: muster.AttrExternalID, Value: "okta-1234"}, Limit: 100}},
		{"members.value eq", service.ProvisionQuery{Where: &muster.Condition{Op: muster.CondEqual,
			Attr: muster.AttrMember, Value: strconv.FormatInt(members[0], 10)}, Limit: 100}},
		{"displayName sw, a page with members", service.ProvisionQuery{Where: &muster.Condition{Op: muster.CondPrefix,
			Attr: muster.AttrName, Value: "Pushed group 00"}, Limit: 100, Members: true}},
		{"the last page (startIndex 2001)", service.ProvisionQuery{Offset: pushedGroups, Limit: 100}},
	} {
		cases = append(cases, planCase{"FindProvisionedTeams " + c.name, func() error {
			_, err := svc.FindProvisionedTeams(idp, c.q)
			return err
		}, []string{"SELECT count(*) FROM teams t", "ORDER BY t.is_default DESC, t.name_key, t.id LIMIT",
			"SELECT m.team_id, u.id"}})
	}
	// The console's reads of those teams: the forms' choices, and the
	// Teams tab's last page and a search.
	teamPage := func(q service.TeamQuery) func() error {
		return func() error { _, err := svc.FindTeamPage(env.owner, q); return err }
	}
	teamPageSQL := []string{"SELECT count(*) FROM teams t", "ORDER BY t.is_default DESC, t.name_key, t.id LIMIT"}
	cases = append(cases,
		planCase{"FindTeamNames (the forms' team choices)", func() error {
			_, err := svc.TeamNames(env.owner)
			return err
		}, []string{"SELECT t.id, t.name, t.is_default FROM teams t"}},
		planCase{"FindTeamPage, the Teams tab's last page", teamPage(service.TeamQuery{
			Page: (pushedGroups + service.TeamsPerPage) / service.TeamsPerPage}), teamPageSQL},
		planCase{"FindTeamPage, a search", teamPage(service.TeamQuery{Search: "group 12"}), teamPageSQL},
	)
	// Assign Users of an edit of a permission granted with Select All: how
	// many it keeps, a page of them, and the Active users it does not
	// have (none), without and with a search.
	if _, err := env.svc.SetEmailAtScale(env.owner, true); err != nil {
		t.Fatal(err)
	}
	perm, err := env.svc.CreateSendAs(env.owner, service.SendAsInput{FromName: "News", FromEmail: "news@example.com",
		SelectAll: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, search := range []string{"", "mar"} {
		cases = append(cases, planCase{fmt.Sprintf("FindSendAsAssignees, Select All kept, search %q", search), func() error {
			_, err := svc.FindSendAsAssignees(env.owner, service.AssigneeQuery{PermissionID: perm.ID,
				Chosen: service.SendAsInput{KeepUsers: true}, Search: search, Limit: 50})
			return err
		}, []string{"SELECT count(*) FROM send_as_grants", "AND EXISTS (SELECT 1 FROM send_as_grants",
			"NOT EXISTS (SELECT 1 FROM send_as_grants"}})
	}
	// The API's page of 50 teams by its cursor, after 1,950 of them.
	_, cursors := allTeams(t, env, 50)
	cases = append(cases, planCase{"Teams, the API's page by cursor after 1,950 teams", func() error {
		_, err := svc.Teams(env.owner, service.TeamListQuery{Cursor: cursors[len(cursors)-2], Limit: 50})
		return err
	}, []string{"ORDER BY t.name_key LIMIT"}})
	for _, c := range cases {
		benchTrace.start()
		err := c.run()
		queries := benchTrace.stop()
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		fmt.Fprintf(doc, "### %s\n\n", c.name)
		explained := 0
		for _, m := range c.matches {
			var q *benchQuery
			for i := range queries {
				if strings.Contains(queries[i].sql, m) {
					q = &queries[i]
				}
			}
			if q == nil {
				continue
			}
			explained++
			fmt.Fprintf(doc, "```sql\n%s\n```\n\nArguments: %s\n\n", benchShowSQL(q.sql), benchShowArgs(q.args))
			switch dialect {
			case "sqlite":
				plan, err := benchSQLitePlan(raw, q)
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				fmt.Fprintf(doc, "```\n%s```\n\n", plan)
			case "postgres":
				plan, err := benchPostgresPlan(raw, q, false)
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				generic, err := benchPostgresPlan(raw, q, true)
				if err != nil {
					t.Fatalf("%s (generic): %v", c.name, err)
				}
				fmt.Fprintf(doc, "```\n%s```\n\n<details><summary>Generic plan</summary>\n\n```\n%s```\n\n</details>\n\n",
					plan, generic)
			}
		}
		if explained == 0 {
			t.Fatalf("%s: none of %q among %d queries", c.name, c.matches, len(queries))
		}
	}
}

// benchQuery is a query the store sent.
type benchQuery struct {
	sql  string
	args []any
}

// benchTracer records the queries sent through the bench-trace drivers
// between start and stop.
type benchTracer struct {
	mu      sync.Mutex
	on      bool
	queries []benchQuery
}

var benchTrace benchTracer

func (r *benchTracer) start() {
	r.mu.Lock()
	r.on, r.queries = true, nil
	r.mu.Unlock()
}

func (r *benchTracer) stop() []benchQuery {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.on = false
	return r.queries
}

func (r *benchTracer) add(query string, args []driver.NamedValue) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.on {
		return
	}
	q := benchQuery{sql: query}
	for _, a := range args {
		// How pgx is to run the query (Dialect.PlanEachRun) is not one
		// of its parameters; EXPLAIN shows the plan for the values.
		if _, option := a.Value.(pgx.QueryExecMode); !option {
			q.args = append(q.args, a.Value)
		}
	}
	r.queries = append(r.queries, q)
}

var benchRegisterDrivers = sync.OnceFunc(func() {
	db, err := sql.Open("sqlite", "")
	if err != nil {
		panic(err)
	}
	sql.Register("bench-trace-sqlite", benchTraceDriver{db.Driver()})
	db.Close()
	sql.Register("bench-trace-pgx", benchTraceDriver{stdlib.GetDefaultDriver()})
})

// benchTracedStore opens a second, read-only store on env's database
// through a recording driver, and a plain connection pool for EXPLAIN.
func benchTracedStore(t *testing.T, env *benchEnv) (traced *sqlstore.DB, raw *sql.DB) {
	benchRegisterDrivers()
	var (
		dsn          = env.dsn
		driverName   = "pgx"
		dialect      = postgres.Dialect()
		tracedDriver = "bench-trace-pgx"
	)
	if env.dialect == "sqlite" {
		dsn = "file:" + env.dsn + "?_pragma=busy_timeout(10000)&_pragma=query_only(1)"
		driverName, dialect, tracedDriver = "sqlite", sqlite.Dialect(), "bench-trace-sqlite"
	}
	pool, err := sql.Open(tracedDriver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	traced = sqlstore.New(sqlstore.Pools{Write: pool, Read: pool}, dialect)
	t.Cleanup(func() { traced.Close() })
	raw, err = sql.Open(driverName, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return traced, raw
}

func benchSQLitePlan(db *sql.DB, q *benchQuery) (string, error) {
	steps, err := sqliteplan.Explain(context.Background(), db, q.sql, q.args...)
	depth := map[int]int{0: -1}
	var b strings.Builder
	for _, s := range steps {
		depth[s.ID] = depth[s.Parent] + 1
		fmt.Fprintf(&b, "%s%s\n", strings.Repeat("   ", depth[s.ID]), s.Detail)
	}
	return b.String(), err
}

// benchPostgresPlan runs EXPLAIN ANALYZE on one connection: with the
// arguments bound (the custom plan of the first executions) or, generic,
// through PREPARE and EXECUTE with plan_cache_mode = force_generic_plan.
func benchPostgresPlan(db *sql.DB, q *benchQuery, generic bool) (string, error) {
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	const explain = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "
	var rows *sql.Rows
	if !generic {
		// A few runs first, so that the timed one reads cached pages as the
		// benchmark does.
		for range 3 {
			if _, err := conn.ExecContext(ctx, explain+q.sql, q.args...); err != nil {
				return "", err
			}
		}
		rows, err = conn.QueryContext(ctx, explain+q.sql, q.args...)
	} else {
		literals := make([]string, len(q.args))
		for i, a := range q.args {
			literals[i] = benchLiteral(a)
		}
		for _, s := range []string{`SET plan_cache_mode = force_generic_plan`, `PREPARE bench_plan AS ` + q.sql} {
			if _, err := conn.ExecContext(ctx, s); err != nil {
				return "", err
			}
		}
		rows, err = conn.QueryContext(ctx, explain+`EXECUTE bench_plan (`+strings.Join(literals, ", ")+`)`)
	}
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return "", err
		}
		// The search's upper bound ends in U+10FFFF, which no font shows.
		b.WriteString(strings.ReplaceAll(line, "\U0010FFFF", "<U+10FFFF>") + "\n")
	}
	if err := rows.Err(); err != nil {
		return "", err
	}
	if generic {
		// The connection goes back to the pool: leave it as it was.
		for _, s := range []string{`DEALLOCATE bench_plan`, `RESET plan_cache_mode`} {
			if _, err := conn.ExecContext(ctx, s); err != nil {
				return "", err
			}
		}
	}
	return b.String(), nil
}

func benchLiteral(v any) string {
	switch v := v.(type) {
	case int64:
		return strconv.FormatInt(v, 10)
	case string:
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	default:
		return fmt.Sprintf("'%v'", v)
	}
}

var (
	benchUserColumnsRE = regexp.MustCompile(`SELECT u\.id, .*?u\.version FROM`)
	benchSpaceRE       = regexp.MustCompile(`\s+`)
)

// benchShowSQL shortens a query for the document: the users' column list
// becomes <user columns> and white space folds.
func benchShowSQL(q string) string {
	q = benchSpaceRE.ReplaceAllString(strings.TrimSpace(q), " ")
	return benchUserColumnsRE.ReplaceAllString(q, "SELECT <user columns> FROM")
}

func benchShowArgs(args []any) string {
	s := make([]string, len(args))
	for i, a := range args {
		if str, ok := a.(string); ok {
			s[i] = strconv.QuoteToASCII(str)
		} else {
			s[i] = fmt.Sprint(a)
		}
	}
	if len(s) > 8 {
		s = append(s[:4], fmt.Sprintf("… (%d in all)", len(args)))
	}
	return "$1.. = " + strings.Join(s, ", ")
}

// benchTraceDriver wraps a database/sql driver to record queries.
type benchTraceDriver struct{ inner driver.Driver }

func (d benchTraceDriver) Open(name string) (driver.Conn, error) {
	c, err := d.inner.Open(name)
	if err != nil {
		return nil, err
	}
	return &benchTraceConn{c}, nil
}

type benchTraceConn struct{ driver.Conn }

func (c *benchTraceConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	benchTrace.add(query, args)
	if qc, ok := c.Conn.(driver.QueryerContext); ok {
		return qc.QueryContext(ctx, query, args)
	}
	return nil, driver.ErrSkip
}

func (c *benchTraceConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	benchTrace.add(query, args)
	if ec, ok := c.Conn.(driver.ExecerContext); ok {
		return ec.ExecContext(ctx, query, args)
	}
	return nil, driver.ErrSkip
}

// PrepareContext returns a statement that records each run: the store
// keeps its SQLite queries prepared.
func (c *benchTraceConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	var s driver.Stmt
	var err error
	if pc, ok := c.Conn.(driver.ConnPrepareContext); ok {
		s, err = pc.PrepareContext(ctx, query)
	} else {
		s, err = c.Conn.Prepare(query)
	}
	if err != nil {
		return nil, err
	}
	return &benchTraceStmt{s, query}, nil
}

type benchTraceStmt struct {
	driver.Stmt
	query string
}

func (s *benchTraceStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	benchTrace.add(s.query, args)
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}

func (s *benchTraceStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	benchTrace.add(s.query, args)
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (c *benchTraceConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if bc, ok := c.Conn.(driver.ConnBeginTx); ok {
		return bc.BeginTx(ctx, opts)
	}
	return c.Conn.Begin() //nolint:staticcheck // the fallback database/sql itself uses
}

func (c *benchTraceConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *benchTraceConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *benchTraceConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *benchTraceConn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.Conn.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}
