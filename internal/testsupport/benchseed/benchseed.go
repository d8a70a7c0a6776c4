// Package benchseed writes a large organization straight into a Muster
// database, for benchmarks and for tests that need an org too large to
// invite person by person (inviting 100,000 people through the service
// takes two minutes on SQLite and five on PostgreSQL).
//
// The organization ("Acme Bench"), its Active Owner (OwnerEmail, password
// OwnerPassword) and its 20 teams are created through the service, so they
// obey every rule; the other users, their memberships and the Pending users'
// invitations are generated the same way every time (Generate) and written
// with bulk SQL: one prepared INSERT transaction on SQLite, COPY on
// PostgreSQL. seats_used is set to match.
//
// A seeded SQLite file is cached in os.TempDir, keyed by the size, Version
// and the migrations (SQLiteFile); callers copy it (SQLite) rather than
// write to it.
package benchseed

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
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/postgres"
	"github.com/muster-app/muster/internal/store/sqlite"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/web"
)

// Version changes whenever the generated data changes, so that an older
// cached SQLite file is not reused.
const Version = 7

const (
	// OwnerEmail is the seeded organization's Owner, who has accepted with
	// OwnerPassword.
	OwnerEmail    = "olive.owner@acme-bench.example"
	OwnerPassword = "a long enough secret"
	// Domain is the domain of every other seeded user's email.
	Domain = "acme-bench.example"
)

// Service is the service over db as the benchmarks and the seeding run it.
func Service(db *sqlstore.DB) *service.Service {
	return service.New(db, service.Config{BaseURL: "https://muster.example.com", Links: web.NewLinks("https://muster.example.com")})
}

// SQLite writes a seeded database of n users (Owner included) to path, a
// copy of the cached file (seeded first unless an earlier run did). path
// must not exist yet.
func SQLite(ctx context.Context, path string, n int) error {
	cached, err := SQLiteFile(ctx, n)
	if err != nil {
		return err
	}
	return CopyFile(path, cached)
}

// Postgres seeds n users (Owner included) into the empty (migrated or not)
// database or schema at url.
func Postgres(ctx context.Context, url string, n int) error {
	db, err := postgres.Open(ctx, url)
	if err != nil {
		return err
	}
	defer db.Close()
	return Seed(ctx, db, n, PostgresSink(url))
}

// Owner returns the seeded organization's Owner and a context in which
// they act.
func Owner(ctx context.Context, db *sqlstore.DB) (context.Context, *muster.User, error) {
	var owner *muster.User
	err := db.View(ctx, func(tx muster.Tx) error {
		var err error
		owner, err = tx.FindLiveUserByEmail(ctx, OwnerEmail)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("benchseed: the seeded Owner: %w", err)
	}
	return muster.NewContext(ctx, muster.Principal{UserID: owner.ID, OrgID: owner.OrgID, Origin: "bench"}), owner, nil
}

// SQLiteFile returns the path of a seeded SQLite file of n users, seeding
// it first unless an earlier run did. The file is never written after it is
// renamed into place; use copies.
func SQLiteFile(ctx context.Context, n int) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "seed v%d n=%d\n", Version, n)
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
		return "", err
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("muster-bench-%d-%s.db", n, hex.EncodeToString(h.Sum(nil))[:12]))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	tmp := fmt.Sprintf("%s.tmp-%d", path, os.Getpid())
	for _, p := range []string{tmp, tmp + "-wal", tmp + "-shm"} {
		os.Remove(p)
	}
	db, err := sqlite.Open(ctx, tmp)
	if err != nil {
		return "", err
	}
	err = Seed(ctx, db, n, SQLiteSink(tmp))
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// One self-contained file: fold the WAL in and stop using it.
		err = sqliteExec(tmp, `PRAGMA journal_mode = DELETE`)
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return "", err
	}
	return path, nil
}

func sqliteExec(path, query string) error {
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer raw.Close()
	_, err = raw.Exec(query)
	return err
}

// CopyFile copies the file src to dst, which it creates.
func CopyFile(dst, src string) error {
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

// Data is the bulk part of the fixture, as table rows in column order.
type Data struct {
	OrgID       int64
	SeatsUsed   int64
	Users       [][]any
	Memberships [][]any
	Invitations [][]any
}

// The columns of Data's rows.
var (
	UserColumns = []string{"id", "org_id", "email", "email_key", "first_name", "last_name", "sort_key",
		"last_key", "role", "status", "password_hash", "invited_at", "invited_by", "activated_at",
		"deactivated_at", "last_sign_in_at", "updated_at", "version", "invitation_expires_at", "teams"}
	MembershipColumns = []string{"user_id", "team_id", "kind"}
	InvitationColumns = []string{"org_id", "user_id", "token_hash", "created_at", "expires_at"}
)

// Sink writes Data into the store's database.
type Sink func(ctx context.Context, d *Data) error

// Seed creates the organization, its Active Owner and 19 more teams
// through the service, then has sink write n-1 more users.
func Seed(ctx context.Context, db *sqlstore.DB, n int, sink Sink) error {
	svc := Service(db)
	op := muster.NewContext(ctx, muster.Principal{Origin: "bench"})
	setup, err := svc.CreateOrg(op, service.NewOrg{Name: "Acme Bench", LicenseTotal: service.MaxLicenseTotal,
		OwnerEmail: OwnerEmail, OwnerFirstName: "Olive", OwnerLastName: "Owner"})
	if err != nil {
		return fmt.Errorf("CreateOrg: %w", err)
	}
	token := setup.SetupURL[strings.LastIndex(setup.SetupURL, "/")+1:]
	in, err := svc.AcceptInvitation(ctx, token, OwnerPassword, service.Client{IP: "192.0.2.1", UserAgent: "bench"})
	if err != nil {
		return fmt.Errorf("AcceptInvitation: %w", err)
	}
	owner := muster.NewContext(ctx, muster.Principal{UserID: in.User.ID, OrgID: in.User.OrgID, Origin: "bench"})
	for _, name := range TeamNames {
		if _, err := svc.CreateTeam(owner, name); err != nil {
			return fmt.Errorf("CreateTeam: %w", err)
		}
	}
	teams, err := svc.TeamNames(owner)
	if err != nil {
		return err
	}
	teamIDs := make([]int64, len(teams))
	for i, t := range teams {
		teamIDs[i] = t.ID
	}
	return sink(ctx, Generate(n, in.User, teamIDs))
}

var TeamNames = []string{"Engineering", "Sales", "Marketing", "Support", "Finance", "Legal", "Operations",
	"Product", "Design", "Research", "Security", "Facilities", "People", "Data", "Infrastructure", "Partnerships",
	"Procurement", "Quality", "Training"}

// Generate makes n-1 users besides the Owner, the same ones every time:
// names drawn from about 200 first and 200 last names, unique emails in a
// few common shapes, 70% Active, 20% Pending and 10% Deactivated, roles
// mostly Basic, a primary team each and 0 to 2 secondary teams, the teams
// of very different sizes. Pending users have a live
// invitation.
func Generate(n int, owner *muster.User, teamIDs []int64) *Data {
	rng := rand.New(rand.NewPCG(20261123, Version))
	d := &Data{OrgID: owner.OrgID, SeatsUsed: 1}
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	const day = int64(24 * time.Hour / time.Microsecond)
	emails := map[string]bool{OwnerEmail: true}
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
		first := FirstNames[rng.IntN(len(FirstNames))]
		last := LastNames[rng.IntN(len(LastNames))]
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
		email := local + "@" + Domain
		for k := 2; emails[email]; k++ {
			email = local + strconv.Itoa(k) + "@" + Domain
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
			d.SeatsUsed++
		}
		var invitationExpiresAt any
		if status == muster.StatusPending {
			invitationExpiresAt = invitedAt + 7*day
		}
		// Users who accepted signed in last some time after, spread by
		// their id (not the generator, whose sequence the rest follows).
		var lastSignIn any
		if a, ok := activatedAt.(int64); ok {
			last := a + (id*7919)%(200*day)
			if x, ok := deactivatedAt.(int64); ok && last > x {
				last = x
			}
			lastSignIn = last
		}
		primary := pickTeam()
		d.Memberships = append(d.Memberships, []any{id, primary, "primary"})
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
			d.Memberships = append(d.Memberships, []any{id, t, "secondary"})
		}
		d.Users = append(d.Users, []any{id, owner.OrgID, email, muster.NormalizeEmail(email), first, last,
			muster.SearchKey(first + " " + last), muster.SearchKey(last), string(role), string(status), "",
			invitedAt, owner.ID, activatedAt, deactivatedAt, lastSignIn, updatedAt, int64(1), invitationExpiresAt,
			sqlstore.TeamList(&muster.User{PrimaryTeamID: primary, SecondaryTeamIDs: taken})})

		if status == muster.StatusPending {
			hash := sha256.Sum256([]byte("bench invitation " + strconv.FormatInt(id, 10)))
			d.Invitations = append(d.Invitations, []any{owner.OrgID, id, hash[:], invitedAt, invitedAt + 7*day})
		}
	}
	return d
}

// recountTeams set every team's member counts from its memberships, as
// the service keeps them (migration 00009): the sinks write memberships
// without them. The counts' changes not yet folded (migration 00024), which
// the org made through the service, are counted with the rest.
var recountTeams = []string{`UPDATE teams SET
    primary_count = (SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id
        WHERE m.team_id = teams.id AND m.kind = 'primary' AND u.status IN ('pending', 'active')),
    secondary_count = (SELECT count(*) FROM memberships m JOIN users u ON u.id = m.user_id
        WHERE m.team_id = teams.id AND m.kind = 'secondary' AND u.status IN ('pending', 'active'))`,
	`DELETE FROM team_count_changes`}

// SQLiteSink inserts the rows in one transaction through a connection
// of its own.
func SQLiteSink(path string) Sink {
	return func(ctx context.Context, d *Data) error {
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
		if err := insert("users", UserColumns, d.Users); err != nil {
			return err
		}
		if err := insert("memberships", MembershipColumns, d.Memberships); err != nil {
			return err
		}
		if err := insert("invitations", InvitationColumns, d.Invitations); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE org_seats SET seats_used = ? WHERE org_id = ?`, d.SeatsUsed, d.OrgID); err != nil {
			return err
		}
		for _, q := range recountTeams {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		return tx.Commit()
	}
}

// PostgresSink copies the rows in, moves the users' identity past the
// ids it was given, and vacuums and analyzes as autovacuum would have done
// by the time an organization grew this large.
func PostgresSink(url string) Sink {
	return func(ctx context.Context, d *Data) error {
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
		if err := copyIn("users", UserColumns, d.Users); err != nil {
			return err
		}
		if err := copyIn("memberships", MembershipColumns, d.Memberships); err != nil {
			return err
		}
		if err := copyIn("invitations", InvitationColumns, d.Invitations); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('users', 'id'), (SELECT max(id) FROM users))`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE org_seats SET seats_used = $1 WHERE org_id = $2`, d.SeatsUsed, d.OrgID); err != nil {
			return err
		}
		for _, q := range recountTeams {
			if _, err := tx.Exec(ctx, q); err != nil {
				return err
			}
		}
		if err := tx.Commit(ctx); err != nil {
			return err
		}
		_, err = conn.Exec(ctx, `VACUUM (ANALYZE) users, memberships, invitations, teams, orgs`)
		return err
	}
}

var FirstNames = []string{
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

var LastNames = []string{
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
