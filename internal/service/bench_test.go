package service_test

// Benchmarks of inviting and listing users in an organization that already
// holds 100,000 users, on both stores. They run only with -bench:
//
//	go test -run '^$' -bench . -benchtime 200x ./internal/service/
//
// MUSTER_BENCH_USERS changes the size of the organization. The fixture is
// written with bulk SQL, not through Invite (which would take two minutes
// on SQLite and five on PostgreSQL): the users, their memberships and the
// Pending users' invitations go straight into the tables, and seats_used is
// set to match.
// The organization, its Owner and its teams are created through the service.
// The seeded SQLite file is cached in os.TempDir, keyed by the size and the
// migrations, and copied for each benchmark; PostgreSQL is seeded into a
// fresh schema for each benchmark with COPY.

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/postgres"
	"github.com/muster-app/muster/internal/store/sqlite"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/store/storetest"
)

// benchSeedVersion changes whenever the generated data changes, so that an
// older cached SQLite file is not reused.
const benchSeedVersion = 2

const (
	benchOwnerEmail = "olive.owner@acme-bench.example"
	benchDomain     = "acme-bench.example"
	benchPageSize   = 50
)

// benchUsers is the number of users in the benchmark organization, Owner
// included: 100,000 unless MUSTER_BENCH_USERS says otherwise.
func benchUsers(tb testing.TB) int {
	s := os.Getenv("MUSTER_BENCH_USERS")
	if s == "" {
		return 100_000
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1000 {
		tb.Fatalf("MUSTER_BENCH_USERS=%q: want a number of at least 1000", s)
	}
	return n
}

// benchEnv is a store holding one organization of n users, the service over
// it and a context in which the Owner acts.
type benchEnv struct {
	dialect string
	n       int
	db      *sqlstore.DB
	svc     *service.Service
	owner   context.Context
	orgID   int64
	teams   []*muster.Team // the Default Team first
	// Where the database is: a SQLite file path or a PostgreSQL URL.
	dsn string
}

func benchService(db *sqlstore.DB) *service.Service {
	return service.New(db, service.Config{BaseURL: "https://muster.example.com"})
}

// benchOpen opens a seeded store of the dialect for one benchmark (or
// test); it skips when PostgreSQL is unreachable, as the store tests do.
func benchOpen(tb testing.TB, dialect string) *benchEnv {
	tb.Helper()
	ctx := context.Background()
	n := benchUsers(tb)
	env := &benchEnv{dialect: dialect, n: n}
	switch dialect {
	case "sqlite":
		cached := benchSQLiteCache(tb, n)
		env.dsn = filepath.Join(tb.TempDir(), "muster.db")
		if err := benchCopyFile(env.dsn, cached); err != nil {
			tb.Fatal(err)
		}
		db, err := sqlite.Open(ctx, env.dsn)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { db.Close() })
		env.db = db
	case "postgres":
		env.dsn = storetest.PostgresSchema(tb)
		db, err := postgres.Open(ctx, env.dsn)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { db.Close() })
		env.db = db
		start := time.Now()
		if err := benchSeed(ctx, env.db, n, benchPostgresSink(env.dsn)); err != nil {
			tb.Fatal(err)
		}
		tb.Logf("seeded %d users into PostgreSQL in %v", n, time.Since(start).Round(time.Millisecond))
	default:
		tb.Fatalf("unknown dialect %q", dialect)
	}
	env.svc = benchService(env.db)
	err := env.db.View(ctx, func(tx muster.Tx) error {
		u, err := tx.FindLiveUserByEmail(ctx, benchOwnerEmail)
		if err != nil {
			return err
		}
		env.orgID = u.OrgID
		env.owner = muster.NewContext(ctx, muster.Principal{UserID: u.ID, OrgID: u.OrgID, Origin: "bench"})
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	if env.teams, err = env.svc.Teams(env.owner); err != nil {
		tb.Fatal(err)
	}
	return env
}

// benchSQLiteCache returns the path of a seeded SQLite file of n users,
// seeding it first unless an earlier run did. The file is never written
// after it is renamed into place; benchmarks use copies.
func benchSQLiteCache(tb testing.TB, n int) string {
	tb.Helper()
	h := sha256.New()
	fmt.Fprintf(h, "seed v%d n=%d\n", benchSeedVersion, n)
	migrations := sqlite.Dialect().Migrations
	err := fs.WalkDir(migrations, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations, path)
		fmt.Fprintf(h, "%s %d\n", path, len(b))
		h.Write(b)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("muster-bench-%d-%s.db", n, hex.EncodeToString(h.Sum(nil))[:12]))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	ctx := context.Background()
	tmp := fmt.Sprintf("%s.tmp-%d", path, os.Getpid())
	for _, p := range []string{tmp, tmp + "-wal", tmp + "-shm"} {
		os.Remove(p)
	}
	start := time.Now()
	db, err := sqlite.Open(ctx, tmp)
	if err != nil {
		tb.Fatal(err)
	}
	err = benchSeed(ctx, db, n, benchSQLiteSink(tmp))
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// One self-contained file: fold the WAL in and stop using it.
		err = benchSQLiteExec(tmp, `PRAGMA journal_mode = DELETE`)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		tb.Fatal(err)
	}
	tb.Logf("seeded %d users into %s in %v", n, path, time.Since(start).Round(time.Millisecond))
	return path
}

func benchSQLiteExec(path, query string) error {
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer raw.Close()
	_, err = raw.Exec(query)
	return err
}

func benchCopyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// benchData is the bulk part of the fixture, as table rows in column order.
type benchData struct {
	orgID       int64
	seatsUsed   int64
	users       [][]any
	memberships [][]any
	invitations [][]any
}

var (
	benchUserColumns = []string{"id", "org_id", "email", "email_key", "first_name", "last_name", "sort_key",
		"last_key", "role", "status", "password_hash", "invited_at", "invited_by", "activated_at",
		"deactivated_at", "last_sign_in_at", "updated_at", "version"}
	benchMembershipColumns = []string{"user_id", "team_id", "kind"}
	benchInvitationColumns = []string{"org_id", "user_id", "token_hash", "created_at", "expires_at"}
)

// benchSink writes benchData into the store's database.
type benchSink func(ctx context.Context, d *benchData) error

// benchSeed creates the organization, its Active Owner and 19 more teams
// through the service, then has sink write n-1 more users.
func benchSeed(ctx context.Context, db *sqlstore.DB, n int, sink benchSink) error {
	svc := benchService(db)
	op := muster.NewContext(ctx, muster.Principal{Origin: "bench"})
	setup, err := svc.CreateOrg(op, service.NewOrg{Name: "Acme Bench", LicenseTotal: service.MaxLicenseTotal,
		OwnerEmail: benchOwnerEmail, OwnerFirstName: "Olive", OwnerLastName: "Owner"})
	if err != nil {
		return fmt.Errorf("CreateOrg: %w", err)
	}
	token := setup.SetupURL[strings.LastIndex(setup.SetupURL, "/")+1:]
	in, err := svc.AcceptInvitation(ctx, token, "a long enough secret", service.Client{IP: "192.0.2.1", UserAgent: "bench"})
	if err != nil {
		return fmt.Errorf("AcceptInvitation: %w", err)
	}
	owner := muster.NewContext(ctx, muster.Principal{UserID: in.User.ID, OrgID: in.User.OrgID, Origin: "bench"})
	for _, name := range benchTeamNames {
		if _, err := svc.CreateTeam(owner, name); err != nil {
			return fmt.Errorf("CreateTeam: %w", err)
		}
	}
	teams, err := svc.Teams(owner)
	if err != nil {
		return err
	}
	teamIDs := make([]int64, len(teams))
	for i, t := range teams {
		teamIDs[i] = t.ID
	}
	return sink(ctx, benchGenerate(n, in.User, teamIDs))
}

var benchTeamNames = []string{"Engineering", "Sales", "Marketing", "Support", "Finance", "Legal", "Operations",
	"Product", "Design", "Research", "Security", "Facilities", "People", "Data", "Infrastructure", "Partnerships",
	"Procurement", "Quality", "Training"}

// benchGenerate makes n-1 users besides the Owner, the same ones every time:
// names drawn from about 200 first and 200 last names, unique emails in a
// few common shapes, 70% Active, 20% Pending and 10% Deactivated, roles
// mostly Basic, a primary team each and 0 to 2 secondary teams, the teams
// of very different sizes. Pending users have a live
// invitation.
func benchGenerate(n int, owner *muster.User, teamIDs []int64) *benchData {
	rng := rand.New(rand.NewPCG(20261123, benchSeedVersion))
	d := &benchData{orgID: owner.OrgID, seatsUsed: 1}
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	const day = int64(24 * time.Hour / time.Microsecond)
	emails := map[string]bool{benchOwnerEmail: true}
	asciiEmail := strings.NewReplacer("é", "e", "è", "e", "ë", "e", "ó", "o", "ö", "o", "ø", "o", "á", "a",
		"ä", "a", "å", "a", "í", "i", "ú", "u", "ü", "u", "ñ", "n", "ç", "c", "ß", "ss", "'", "", " ", "")
	// Team sizes: the Default Team 15%, the others by a Zipf-like law
	// (Data, first by name, about 25%; Support about 1.5%) except the last,
	// Training, which is tiny (one in 10,000).
	weights := make([]float64, len(teamIDs))
	weights[0] = 0.15
	var sum float64
	for i := 1; i < len(weights)-1; i++ {
		weights[i] = 1 / float64(i)
		sum += weights[i]
	}
	for i := 1; i < len(weights)-1; i++ {
		weights[i] *= (1 - weights[0] - 0.0001) / sum
	}
	weights[len(weights)-1] = 0.0001
	pickTeam := func() int64 {
		r := rng.Float64()
		for i, w := range weights {
			if r < w {
				return teamIDs[i]
			}
			r -= w
		}
		return teamIDs[0]
	}
	for i := 1; i < n; i++ {
		id := owner.ID + int64(i)
		first := benchFirstNames[rng.IntN(len(benchFirstNames))]
		last := benchLastNames[rng.IntN(len(benchLastNames))]
		f, l := asciiEmail.Replace(strings.ToLower(first)), asciiEmail.Replace(strings.ToLower(last))
		var local string
		switch rng.IntN(10) {
		case 0, 1, 2, 3, 4:
			local = f + "." + l
		case 5, 6:
			local = f[:1] + l
		case 7:
			local = f + "_" + l
		case 8:
			local = f + l[:1]
		default:
			local = l + "." + f
		}
		email := local + "@" + benchDomain
		for k := 2; emails[email]; k++ {
			email = local + strconv.Itoa(k) + "@" + benchDomain
		}
		emails[email] = true

		role := muster.RoleBasic
		switch r := rng.IntN(100); {
		case r < 3:
			role = muster.RoleAdmin
		case r < 10:
			role = muster.RoleManager
		}
		invitedAt := base + rng.Int64N(700*day)
		var activatedAt, deactivatedAt, updatedAt any = nil, nil, invitedAt
		status := muster.StatusActive
		switch r := rng.IntN(100); {
		case r < 70:
			a := invitedAt + rng.Int64N(5*day)
			activatedAt, updatedAt = a, a
		case r < 90:
			status = muster.StatusPending
		default:
			status = muster.StatusDeactivated
			a := invitedAt + rng.Int64N(5*day)
			x := a + rng.Int64N(300*day)
			activatedAt, deactivatedAt, updatedAt = a, x, x
		}
		if status != muster.StatusDeactivated {
			d.seatsUsed++
		}
		d.users = append(d.users, []any{id, owner.OrgID, email, muster.NormalizeEmail(email), first, last,
			muster.SearchKey(first + " " + last), muster.SearchKey(last), string(role), string(status), "",
			invitedAt, owner.ID, activatedAt, deactivatedAt, nil, updatedAt, int64(1)})

		primary := pickTeam()
		d.memberships = append(d.memberships, []any{id, primary, "primary"})
		secondaries := 0
		switch r := rng.IntN(100); {
		case r < 35:
			secondaries = 1
		case r < 50:
			secondaries = 2
		}
		var taken []int64
		for len(taken) < secondaries {
			t := pickTeam()
			if t == primary || (len(taken) > 0 && taken[0] == t) {
				continue
			}
			taken = append(taken, t)
			d.memberships = append(d.memberships, []any{id, t, "secondary"})
		}

		if status == muster.StatusPending {
			hash := sha256.Sum256([]byte("bench invitation " + strconv.FormatInt(id, 10)))
			d.invitations = append(d.invitations, []any{owner.OrgID, id, hash[:], invitedAt, invitedAt + 7*day})
		}
	}
	return d
}

// benchSQLiteSink inserts the rows in one transaction through a connection
// of its own.
func benchSQLiteSink(path string) benchSink {
	return func(ctx context.Context, d *benchData) error {
		raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_txlock=immediate")
		if err != nil {
			return err
		}
		defer raw.Close()
		tx, err := raw.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		insert := func(table string, columns []string, rows [][]any) error {
			stmt, err := tx.PrepareContext(ctx, `INSERT INTO `+table+` (`+strings.Join(columns, ", ")+
				`) VALUES (`+strings.TrimSuffix(strings.Repeat("?, ", len(columns)), ", ")+`)`)
			if err != nil {
				return err
			}
			defer stmt.Close()
			for _, r := range rows {
				if _, err := stmt.ExecContext(ctx, r...); err != nil {
					return fmt.Errorf("insert into %s: %w", table, err)
				}
			}
			return nil
		}
		if err := insert("users", benchUserColumns, d.users); err != nil {
			return err
		}
		if err := insert("memberships", benchMembershipColumns, d.memberships); err != nil {
			return err
		}
		if err := insert("invitations", benchInvitationColumns, d.invitations); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE orgs SET seats_used = ? WHERE id = ?`, d.seatsUsed, d.orgID); err != nil {
			return err
		}
		return tx.Commit()
	}
}

// benchPostgresSink copies the rows in, moves the users' identity past the
// ids it was given, and vacuums and analyzes as autovacuum would have done
// by the time an organization grew this large.
func benchPostgresSink(url string) benchSink {
	return func(ctx context.Context, d *benchData) error {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		tx, err := conn.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(ctx)
		copyIn := func(table string, columns []string, rows [][]any) error {
			_, err := tx.CopyFrom(ctx, pgx.Identifier{table}, columns, pgx.CopyFromRows(rows))
			if err != nil {
				return fmt.Errorf("copy into %s: %w", table, err)
			}
			return nil
		}
		if err := copyIn("users", benchUserColumns, d.users); err != nil {
			return err
		}
		if err := copyIn("memberships", benchMembershipColumns, d.memberships); err != nil {
			return err
		}
		if err := copyIn("invitations", benchInvitationColumns, d.invitations); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users))`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE orgs SET seats_used = $1 WHERE id = $2`, d.seatsUsed, d.orgID); err != nil {
			return err
		}
		if err := tx.Commit(ctx); err != nil {
			return err
		}
		_, err = conn.Exec(ctx, `VACUUM (ANALYZE) users, memberships, invitations, teams, orgs`)
		return err
	}
}

// benchInviteInput is a new person for the Invite benchmarks; seq makes the
// email unique.
func benchInviteInput(rng *rand.Rand, teams []*muster.Team, seq int64) service.InviteInput {
	first := benchFirstNames[rng.IntN(len(benchFirstNames))]
	last := benchLastNames[rng.IntN(len(benchLastNames))]
	in := service.InviteInput{FirstName: first, LastName: last, Role: muster.RoleBasic,
		Email:         fmt.Sprintf("invitee.%d@new-hires.example", seq),
		PrimaryTeamID: teams[rng.IntN(len(teams))].ID}
	for range rng.IntN(3) {
		in.SecondaryTeamIDs = append(in.SecondaryTeamIDs, teams[rng.IntN(len(teams))].ID)
	}
	return in
}

var benchInviteSeq atomic.Int64

func benchReportRate(b *testing.B) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(b.N)/s, "ops/s")
	}
}

// BenchmarkInvite invites one person at a time into the organization.
func BenchmarkInvite(b *testing.B) {
	for _, d := range storetest.Dialects {
		b.Run(d, func(b *testing.B) {
			env := benchOpen(b, d)
			rng := rand.New(rand.NewPCG(1, 2))
			for b.Loop() {
				in := benchInviteInput(rng, env.teams, benchInviteSeq.Add(1))
				if _, err := env.svc.Invite(env.owner, in); err != nil {
					b.Fatal(err)
				}
			}
			benchReportRate(b)
		})
	}
}

// BenchmarkInviteParallel invites from 8 goroutines at once (4 per core
// on 2 cores), as several administrators or an import would.
func BenchmarkInviteParallel(b *testing.B) {
	for _, d := range storetest.Dialects {
		b.Run(d, func(b *testing.B) {
			env := benchOpen(b, d)
			b.Run("goroutines=8", func(b *testing.B) {
				b.SetParallelism(max(1, 8/runtime.GOMAXPROCS(0)))
				b.RunParallel(func(pb *testing.PB) {
					seq := benchInviteSeq.Add(1)
					rng := rand.New(rand.NewPCG(uint64(seq), 3))
					for pb.Next() {
						in := benchInviteInput(rng, env.teams, benchInviteSeq.Add(1))
						if _, err := env.svc.Invite(env.owner, in); err != nil {
							b.Error(err)
							return
						}
					}
				})
				benchReportRate(b)
			})
		})
	}
}

// benchCase is a user listing the Users tab asks for; full says that it
// fills a page and has more.
type benchCase struct {
	name string
	q    service.UserQuery
	full bool
}

func benchCases(tb testing.TB, env *benchEnv) []benchCase {
	last := env.teams[len(env.teams)-1]
	if last.Name != "Training" {
		tb.Fatalf("the last team is %q; want the tiny Training", last.Name)
	}
	return []benchCase{
		{"first_page", service.UserQuery{Limit: benchPageSize}, true},
		{"next_page", service.UserQuery{Limit: benchPageSize, Cursor: benchMiddleCursor(tb, env)}, true},
		{"search_3_letters", service.UserQuery{Limit: benchPageSize, Search: "mar"}, true},
		{"search_1_letter", service.UserQuery{Limit: benchPageSize, Search: "s"}, true},
		{"search_rare", service.UserQuery{Limit: benchPageSize, Search: "zim"}, false},
		{"search_no_match", service.UserQuery{Limit: benchPageSize, Search: "qzx"}, false},
		{"status_filter", service.UserQuery{Limit: benchPageSize, Status: muster.StatusDeactivated}, true},
		{"role_filter", service.UserQuery{Limit: benchPageSize, Role: muster.RoleAdmin}, true},
		{"team_filter", service.UserQuery{Limit: benchPageSize, TeamID: env.teams[5].ID}, true},
		{"team_filter_tiny", service.UserQuery{Limit: benchPageSize, TeamID: last.ID}, false},
	}
}

// benchMiddleCursor pages through the list, 200 at a time, to its middle
// and returns the cursor of the page there.
func benchMiddleCursor(tb testing.TB, env *benchEnv) string {
	tb.Helper()
	cursor := ""
	for seen := 0; seen < env.n/2; {
		page, err := env.svc.FindUsers(env.owner, service.UserQuery{Cursor: cursor, Limit: service.MaxPageSize})
		if err != nil {
			tb.Fatal(err)
		}
		if page.NextCursor == "" {
			tb.Fatalf("the list ended after %d users", seen+len(page.Users))
		}
		seen += len(page.Users)
		cursor = page.NextCursor
	}
	return cursor
}

// BenchmarkFindUsers lists one page of 50 users, as the Users tab does.
func BenchmarkFindUsers(b *testing.B) {
	for _, d := range storetest.Dialects {
		b.Run(d, func(b *testing.B) {
			env := benchOpen(b, d)
			for _, c := range benchCases(b, env) {
				b.Run(c.name, func(b *testing.B) {
					page, err := env.svc.FindUsers(env.owner, c.q)
					if err != nil {
						b.Fatal(err)
					}
					if c.full && (len(page.Users) != benchPageSize || page.NextCursor == "") {
						b.Fatalf("got %d users, cursor %q; want a full page and more", len(page.Users), page.NextCursor)
					}
					for b.Loop() {
						if _, err := env.svc.FindUsers(env.owner, c.q); err != nil {
							b.Fatal(err)
						}
					}
					benchReportRate(b)
				})
			}
		})
	}
}

// BenchmarkTeams lists the teams with their member counts (list), and asks
// to remove a team that users still have as primary team, which counts them
// and refuses (remove_refused).
func BenchmarkTeams(b *testing.B) {
	for _, d := range storetest.Dialects {
		b.Run(d, func(b *testing.B) {
			env := benchOpen(b, d)
			b.Run("list", func(b *testing.B) {
				for b.Loop() {
					teams, err := env.svc.Teams(env.owner)
					if err != nil {
						b.Fatal(err)
					}
					if len(teams) != len(benchTeamNames)+1 || teams[1].PrimaryCount == 0 {
						b.Fatalf("got %d teams, the second with %d primaries", len(teams), teams[1].PrimaryCount)
					}
				}
				benchReportRate(b)
			})
			b.Run("remove_refused", func(b *testing.B) {
				for b.Loop() {
					err := env.svc.RemoveTeam(env.owner, env.teams[5].ID)
					if muster.ErrorCode(err) != muster.ECONFLICT {
						b.Fatalf("RemoveTeam = %v; want a refusal", err)
					}
				}
				benchReportRate(b)
			})
		})
	}
}

var benchFirstNames = []string{
	"Aaron", "Abigail", "Adam", "Adrian", "Ahmed", "Aisha", "Alan", "Albert", "Alejandro", "Alex",
	"Alexander", "Alice", "Alicia", "Amanda", "Amelia", "Amir", "Amy", "Ana", "Andrea", "Andrew",
	"Angela", "Anna", "Anthony", "Antonio", "Ariel", "Arjun", "Arthur", "Ashley", "Aurora", "Ava",
	"Barbara", "Beatriz", "Ben", "Benjamin", "Bernard", "Beth", "Bianca", "Brandon", "Brian", "Bruno",
	"Camila", "Carl", "Carla", "Carlos", "Carmen", "Caroline", "Catherine", "Charles", "Charlotte", "Chen",
	"Chloe", "Chris", "Christina", "Claire", "Clara", "Daniel", "Daniela", "David", "Deborah", "Dennis",
	"Diana", "Diego", "Dmitri", "Dorothy", "Dylan", "Edward", "Elena", "Eli", "Elijah", "Elizabeth",
	"Ella", "Emily", "Emma", "Eric", "Erik", "Ethan", "Eva", "Fatima", "Felix", "Fernando",
	"Fiona", "Francesca", "Frank", "Gabriel", "Gabriela", "George", "Grace", "Greg", "Hannah", "Harold",
	"Harper", "Hassan", "Heather", "Helen", "Henry", "Hiroshi", "Hugo", "Ian", "Ingrid", "Isaac",
	"Isabel", "Isabella", "Ivan", "Jack", "Jacob", "James", "Jan", "Jane", "Jason", "Javier",
	"Jennifer", "Jessica", "Joan", "John", "Jonathan", "Jorge", "José", "Joseph", "Joshua", "Juan",
	"Julia", "Julian", "Justin", "Karen", "Katherine", "Kenji", "Kevin", "Kim", "Laura", "Lauren",
	"Leo", "Liam", "Lily", "Linda", "Lisa", "Lucas", "Lucía", "Luis", "Luke", "Mahmoud",
	"Marco", "Marcus", "Margaret", "Maria", "Marie", "Mario", "Mark", "Marta", "Martin", "Mary",
	"Mason", "Matthew", "Maya", "Mei", "Michael", "Michelle", "Miguel", "Mohammed", "Nadia", "Natalie",
	"Nathan", "Nicholas", "Nicole", "Nina", "Noah", "Olga", "Oliver", "Olivia", "Omar", "Oscar",
	"Pablo", "Patricia", "Patrick", "Paul", "Pedro", "Peter", "Priya", "Rachel", "Rafael", "Rahul",
	"Rebecca", "Richard", "Robert", "Rosa", "Ryan", "Samantha", "Samuel", "Sara", "Sarah", "Sean",
	"Sofia", "Sophie", "Stephen", "Steven", "Susan", "Thomas", "Victoria", "William", "Yuki", "Zoë",
}

var benchLastNames = []string{
	"Abbott", "Adams", "Ahmed", "Alexander", "Ali", "Allen", "Alvarez", "Anderson", "Andersson", "Armstrong",
	"Arnold", "Bailey", "Baker", "Banerjee", "Barnes", "Becker", "Bell", "Bennett", "Berg", "Bernard",
	"Bianchi", "Black", "Brooks", "Brown", "Bryant", "Butler", "Campbell", "Carter", "Castillo", "Chen",
	"Clark", "Cohen", "Coleman", "Collins", "Cook", "Cooper", "Costa", "Cox", "Cruz", "Da Silva",
	"Davies", "Davis", "Diaz", "Dubois", "Edwards", "Evans", "Fernández", "Ferrari", "Fischer", "Fisher",
	"Flores", "Foster", "García", "Gomez", "Gonzalez", "Gordon", "Graham", "Gray", "Green", "Griffin",
	"Gupta", "Hall", "Hamilton", "Hansen", "Harris", "Hayes", "Henderson", "Hernandez", "Hill", "Hoffmann",
	"Howard", "Hughes", "Ivanov", "Jackson", "James", "Jansen", "Jenkins", "Jensen", "Johansson", "Johnson",
	"Jones", "Kaur", "Kelly", "Khan", "Kim", "King", "Klein", "Kowalski", "Kumar", "Larsen",
	"Lee", "Lewis", "Li", "Lin", "Lopez", "Marino", "Marsh", "Marshall", "Martin", "Martinez",
	"Mason", "Meyer", "Miller", "Mitchell", "Moore", "Morales", "Moreau", "Morgan", "Morris", "Müller",
	"Murphy", "Murray", "Nakamura", "Nelson", "Nguyen", "Nielsen", "Novak", "O'Brien", "Olsen", "Ortiz",
	"Owens", "Park", "Parker", "Patel", "Perez", "Perry", "Peters", "Petrov", "Phillips", "Powell",
	"Price", "Ramirez", "Reed", "Reyes", "Richardson", "Rivera", "Roberts", "Robinson", "Rodriguez", "Rogers",
	"Romano", "Rossi", "Russell", "Ruiz", "Sanchez", "Sanders", "Santos", "Sato", "Schmidt", "Schneider",
	"Scott", "Shah", "Silva", "Simmons", "Singh", "Smith", "Sokolov", "Stewart", "Sullivan", "Suzuki",
	"Tanaka", "Taylor", "Thomas", "Thompson", "Torres", "Turner", "Wagner", "Walker", "Wang", "Ward",
	"Watanabe", "Watson", "Weber", "White", "Williams", "Wilson", "Wood", "Wright", "Wu", "Yamamoto",
	"Yang", "Young", "Zhang", "Zhao", "Zimmermann", "Lambert", "Lefebvre", "Laurent", "Van Dijk", "De Jong",
	"Bauer", "Koch", "Richter", "Wolf", "Schulz", "Nowak", "Horvat", "Popescu", "Papadopoulos", "Yilmaz",
}
