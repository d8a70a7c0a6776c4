package benchseed_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"path/filepath"
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

// TestSeed seeds a small org on each store and reads it back as an Owner
// would: the user list export has one row per seeded user, each email once,
// every status present, and the seat counter and the Teams tab's member
// counts match the users who hold a seat and their teams.
func TestSeed(t *testing.T) {
	const n = 1500
	ctx := context.Background()
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			var db *sqlstore.DB
			var err error
			switch dialect {
			case "sqlite":
				path := filepath.Join(t.TempDir(), "muster.db")
				if err := benchseed.SQLite(ctx, path, n); err != nil {
					t.Fatal(err)
				}
				db, err = sqlite.Open(ctx, path)
			case "postgres":
				url := storetest.PostgresSchema(t)
				if err := benchseed.Postgres(ctx, url, n); err != nil {
					t.Fatal(err)
				}
				db, err = postgres.Open(ctx, url)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			owner, u, err := benchseed.Owner(ctx, db)
			if err != nil {
				t.Fatal(err)
			}
			if u.Status != muster.StatusActive || u.Role != muster.RoleOwner {
				t.Fatalf("the Owner is %s %s; want an Active Owner", u.Status, u.Role)
			}
			svc := service.New(db, service.Config{BaseURL: "https://muster.example.com", Links: web.NewLinks("https://muster.example.com")})
			var out bytes.Buffer
			if err := svc.ExportUsers(owner, &out, nil); err != nil {
				t.Fatal(err)
			}
			rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(out.Bytes(), []byte("\uFEFF")))).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != n+1 {
				t.Fatalf("the export has %d rows; want a header and %d users", len(rows), n)
			}
			emails := map[string]bool{}
			statuses := map[string]int{}
			seats := 0
			primary, secondary := map[string]int{}, map[string]int{}
			for _, r := range rows[1:] {
				emails[r[2]] = true
				statuses[r[4]]++
				if r[4] != "Deactivated" {
					seats++
					primary[r[5]]++
					for name := range strings.SplitSeq(r[6], ";") {
						if name = strings.TrimSpace(name); name != "" {
							secondary[name]++
						}
					}
				}
			}
			if len(emails) != n {
				t.Errorf("%d distinct emails; want %d", len(emails), n)
			}
			if len(statuses) != 3 {
				t.Errorf("statuses %v; want Active, Pending and Deactivated users", statuses)
			}
			org, err := svc.Org(owner)
			if err != nil {
				t.Fatal(err)
			}
			if org.SeatsUsed != seats {
				t.Errorf("seats_used = %d; want %d (every user but the Deactivated)", org.SeatsUsed, seats)
			}
			listed, err := svc.Teams(owner, service.TeamListQuery{})
			if err != nil {
				t.Fatal(err)
			}
			teams := listed.Teams
			for _, team := range teams {
				if team.PrimaryCount != primary[team.Name] || team.SecondaryCount != secondary[team.Name] {
					t.Errorf("team %s counts %d primary and %d secondary members; the export lists %d and %d",
						team.Name, team.PrimaryCount, team.SecondaryCount, primary[team.Name], secondary[team.Name])
				}
			}
		})
	}
}
