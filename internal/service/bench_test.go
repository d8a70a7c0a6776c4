package service_test

// Benchmarks of inviting and listing users in an organization that already
// holds 100,000 users, on both stores. They run only with -bench:
//
//	go test -run '^$' -bench . -benchtime 200x ./internal/service/
//
// MUSTER_BENCH_USERS changes the size of the organization. The fixture is
// internal/benchseed: bulk SQL, not Invite. The seeded SQLite file is cached
// in os.TempDir and copied for each benchmark; PostgreSQL is seeded into a
// fresh schema for each benchmark with COPY.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/benchseed"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

const benchPageSize = 50

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

// benchOpen opens a seeded store of the dialect for one benchmark (or
// test); it skips when PostgreSQL is unreachable, as the store tests do.
func benchOpen(tb testing.TB, dialect string) *benchEnv {
	tb.Helper()
	ctx := context.Background()
	n := benchseed.Users(tb)
	env := &benchEnv{dialect: dialect, n: n}
	env.db, env.dsn = benchseed.Open(tb, dialect, n)
	env.svc = benchseed.Service(env.db)
	owner, u, err := benchseed.Owner(ctx, env.db)
	if err != nil {
		tb.Fatal(err)
	}
	env.owner, env.orgID = owner, u.OrgID
	listed, err := env.svc.Teams(env.owner, service.TeamListQuery{})
	if err != nil {
		tb.Fatal(err)
	}
	env.teams = listed.Teams
	return env
}

// benchInviteInput is a new person for the Invite benchmarks; seq makes the
// email unique.
func benchInviteInput(rng *rand.Rand, teams []*muster.Team, seq int64) service.InviteInput {
	first := benchseed.FirstNames[rng.IntN(len(benchseed.FirstNames))]
	last := benchseed.LastNames[rng.IntN(len(benchseed.LastNames))]
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
		{"next_page", service.UserQuery{Limit: benchPageSize, Cursor: benchCursorAt(tb, env, env.n/2)}, true},
		{"page_100", service.UserQuery{Limit: benchPageSize, Cursor: benchCursorAt(tb, env, 99*benchPageSize)}, true},
		{"last_page", service.UserQuery{Limit: benchPageSize, Cursor: benchCursorAt(tb, env, env.n-benchPageSize)}, false},
		{"search_3_letters", service.UserQuery{Limit: benchPageSize, Search: "mar"}, true},
		{"search_1_letter", service.UserQuery{Limit: benchPageSize, Search: "s"}, true},
		{"search_rare", service.UserQuery{Limit: benchPageSize, Search: "zim"}, false},
		{"search_no_match", service.UserQuery{Limit: benchPageSize, Search: "qzx"}, false},
		{"status_filter", service.UserQuery{Limit: benchPageSize, Status: string(muster.StatusDeactivated)}, true},
		{"role_filter", service.UserQuery{Limit: benchPageSize, Role: string(muster.RoleAdmin)}, true},
		{"team_filter", service.UserQuery{Limit: benchPageSize, TeamID: env.teams[5].ID}, true},
		{"team_filter_tiny", service.UserQuery{Limit: benchPageSize, TeamID: last.ID}, false},
	}
}

// benchCursorAt pages through the list, as the API does, to the page that
// follows its first users users and returns that page's cursor.
func benchCursorAt(tb testing.TB, env *benchEnv, users int) string {
	tb.Helper()
	cursor := ""
	for seen := 0; seen < users; {
		page, err := env.svc.FindUsers(env.owner, service.UserQuery{Cursor: cursor, Limit: min(service.MaxPageSize, users-seen)})
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

// BenchmarkTeams lists the teams with their member counts (list: the
// API's first page, every team of the seeded org), asks to remove a team
// that users still have as primary team, which counts them and refuses
// (remove_refused), and, once an identity provider has pushed its groups
// (pushGroups), reads every page of them all by its cursor (list_pushed,
// 200 a page) and one page of 50 deep in the list (page_by_cursor_pushed).
func BenchmarkTeams(b *testing.B) {
	for _, d := range storetest.Dialects {
		b.Run(d, func(b *testing.B) {
			env := benchOpen(b, d)
			b.Run("list", func(b *testing.B) {
				for b.Loop() {
					listed, err := env.svc.Teams(env.owner, service.TeamListQuery{})
					if err != nil {
						b.Fatal(err)
					}
					teams := listed.Teams
					if len(teams) != len(benchseed.TeamNames)+1 || teams[1].PrimaryCount == 0 {
						b.Fatalf("got %d teams, the second with %d primaries", len(teams), teams[1].PrimaryCount)
					}
				}
				benchReportRate(b)
			})
			b.Run("remove_refused", func(b *testing.B) {
				for b.Loop() {
					_, err := env.svc.RemoveTeam(env.owner, env.teams[5].ID, 0)
					if muster.ErrorCode(err) != muster.ECONFLICT {
						b.Fatalf("RemoveTeam = %v; want a refusal", err)
					}
				}
				benchReportRate(b)
			})
			pushGroups(b, env)
			wantTeams := len(benchseed.TeamNames) + 1 + pushedGroups
			b.Run("list_pushed", func(b *testing.B) {
				for b.Loop() {
					teams, _ := allTeams(b, env, service.MaxPageSize)
					i := slices.IndexFunc(teams, func(t *muster.Team) bool { return t.Name == "Pushed group 1999" })
					if len(teams) != wantTeams || i < 0 || teams[i].SecondaryCount != pushedMembers {
						b.Fatalf("got %d teams; want %d, the last pushed with %d secondary members",
							len(teams), wantTeams, pushedMembers)
					}
				}
				benchReportRate(b)
			})
			_, cursors := allTeams(b, env, 50)
			deep := cursors[len(cursors)-2] // opens the page after 1,950 teams
			b.Run("page_by_cursor_pushed", func(b *testing.B) {
				for b.Loop() {
					listed, err := env.svc.Teams(env.owner, service.TeamListQuery{Cursor: deep, Limit: 50})
					if err != nil {
						b.Fatal(err)
					}
					if len(listed.Teams) != 50 || listed.NextCursor == "" {
						b.Fatalf("got %d teams, next cursor %q; want 50 and a next page", len(listed.Teams), listed.NextCursor)
					}
				}
				benchReportRate(b)
			})
		})
	}
}

// allTeams reads every team of env's org a page of limit at a time, as an
// API client does, and the cursors that opened the pages after the first.
func allTeams(tb testing.TB, env *benchEnv, limit int) (teams []*muster.Team, cursors []string) {
	tb.Helper()
	for q := (service.TeamListQuery{Limit: limit}); ; {
		listed, err := env.svc.Teams(env.owner, q)
		if err != nil {
			tb.Fatal(err)
		}
		teams = append(teams, listed.Teams...)
		if listed.NextCursor == "" {
			return teams, cursors
		}
		q.Cursor = listed.NextCursor
		cursors = append(cursors, q.Cursor)
	}
}

// BenchmarkProvisionedUser reads one user as an identity provider does
// (SCIM's GET /Users/{id}), with their groups, in an org whose identity
// provider pushes its groups (pushGroups).
func BenchmarkProvisionedUser(b *testing.B) {
	for _, d := range storetest.Dialects {
		b.Run(d, func(b *testing.B) {
			env := benchOpen(b, d)
			idp, _ := pushGroups(b, env)
			page, err := env.svc.FindUsers(env.owner, service.UserQuery{Limit: 1})
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				p, err := env.svc.FindProvisionedUser(idp, page.Users[0].ID)
				if err != nil || len(p.Teams) == 0 {
					b.Fatalf("FindProvisionedUser: %v, %d teams; want the user with their teams", err, len(p.Teams))
				}
			}
			benchReportRate(b)
		})
	}
}

// pushedGroups is how many teams pushGroups adds, and pushedMembers how
// many members each has.
const pushedGroups, pushedMembers = 2000, 2

// pushGroups adds pushedGroups teams to env's org, "Pushed group 0000" and
// on, each with pushedMembers members of its own, as an identity provider
// that pushes its groups does. It returns a context in which a SCIM token
// acts and the users who are members, in the groups' order.
func pushGroups(b testing.TB, env *benchEnv) (context.Context, []int64) {
	b.Helper()
	idp := scimActor(b, env)
	members := userIDs(b, env, service.UserQuery{Status: string(muster.StatusActive)}, pushedGroups*pushedMembers)
	for i := range pushedGroups {
		d := service.TeamDraft{Name: fmt.Sprintf("Pushed group %04d", i), ExternalID: fmt.Sprintf("okta-%04d", i),
			Members: members[i*pushedMembers : (i+1)*pushedMembers]}
		if _, err := env.svc.ProvisionTeam(idp, d); err != nil {
			b.Fatal(err)
		}
	}
	// As the server's worker does within seconds (worker.CountFolder).
	if _, err := env.db.FoldTeamCounts(context.Background()); err != nil {
		b.Fatal(err)
	}
	return idp, members
}

// scimActor is a context in which a new SCIM token of env's org acts.
func scimActor(tb testing.TB, env *benchEnv) context.Context {
	tb.Helper()
	tok, err := env.svc.CreateSCIMToken(env.owner, "Okta")
	if err != nil {
		tb.Fatal(err)
	}
	return muster.NewContext(context.Background(), muster.Principal{OrgID: env.orgID, SCIMTokenID: tok.Token.ID,
		Origin: muster.SCIMOrigin(tok.Token.ID)})
}

// userIDs are the ids of the first n users q finds, in its order.
func userIDs(tb testing.TB, env *benchEnv, q service.UserQuery, n int) []int64 {
	tb.Helper()
	q.Limit = service.MaxPageSize
	var ids []int64
	for len(ids) < n {
		page, err := env.svc.FindUsers(env.owner, q)
		if err != nil {
			tb.Fatal(err)
		}
		for _, u := range page.Users {
			ids = append(ids, u.ID)
		}
		if page.NextCursor == "" && len(ids) < n {
			tb.Fatalf("%d users of %+v; want %d", len(ids), q, n)
		}
		q.Cursor = page.NextCursor
	}
	return ids[:n]
}

// BenchmarkProvisionedTeams selects teams as identity providers do (SCIM's
// GET /Groups with a filter) in an org whose identity provider pushes its
// groups: by name before each push (Okta, Entra ID), by external ID, by
// member, a page of 100 with their members, and the last page of them all.
func BenchmarkProvisionedTeams(b *testing.B) {
	for _, d := range storetest.Dialects {
		b.Run(d, func(b *testing.B) {
			env := benchOpen(b, d)
			idp, members := pushGroups(b, env)
			member, err := env.svc.FindProvisionedUser(idp, members[1234*pushedMembers])
			if err != nil {
				b.Fatal(err)
			}
			cases := []struct {
				name    string
				q       service.ProvisionQuery
				teams   int
				members int // of each team
				total   int // the teams the query selects, if more than teams
			}{
				{"name_eq", service.ProvisionQuery{Where: &muster.Condition{Op: muster.CondEqual,
					Attr: muster.AttrName, Value: "pushed GROUP 1234"}, Limit: 100}, 1, 0, 0},
				{"external_id_eq", service.ProvisionQuery{Where: &muster.Condition{Op: muster.CondEqual,
					Attr: muster.AttrExternalID, Value: "okta-1234"}, Limit: 100}, 1, 0, 0},
				{"member_eq", service.ProvisionQuery{Where: &muster.Condition{Op: muster.CondEqual,
					Attr: muster.AttrMember, Value: fmt.Sprint(member.User.ID)}, Limit: 100}, len(member.Teams), 0, 0},
				{"page_with_members", service.ProvisionQuery{Where: &muster.Condition{Op: muster.CondPrefix,
					Attr: muster.AttrName, Value: "Pushed group 00"}, Limit: 100, Members: true}, 100, pushedMembers, 0},
				// The last page of an identity provider's walk through
				// every group (startIndex 2,001): the seeded teams are the
				// 20 left.
				{"last_page", service.ProvisionQuery{Offset: pushedGroups, Limit: 100}, 20, 0, pushedGroups + 20},
			}
			for _, c := range cases {
				b.Run(c.name, func(b *testing.B) {
					for b.Loop() {
						got, err := env.svc.FindProvisionedTeams(idp, c.q)
						if err != nil {
							b.Fatal(err)
						}
						total := max(c.total, c.teams)
						if len(got.Teams) != c.teams || got.Total != total || len(got.Teams[0].Members) != c.members {
							b.Fatalf("%d of %d teams, the first with %d members; want %d of %d with %d each",
								len(got.Teams), got.Total, len(got.Teams[0].Members), c.teams, total, c.members)
						}
					}
					benchReportRate(b)
				})
			}
		})
	}
}

// bigGroup is how many users the benchmarks of many users' edits change
// at once (a group's members, a bulk action's users).
const bigGroup = 1000

// bigGroupMembers are bigGroup Active Basic Users of env's org.
func bigGroupMembers(tb testing.TB, env *benchEnv) []int64 {
	return userIDs(tb, env, service.UserQuery{Status: string(muster.StatusActive), Role: string(muster.RoleBasic)}, bigGroup)
}

// applyBulk makes the bulk action as the Owner, failing tb unless it is
// done for every user.
func applyBulk(tb testing.TB, env *benchEnv, in service.BulkInput) {
	tb.Helper()
	plan, err := env.svc.ApplyBulk(env.owner, in)
	if err == nil {
		err = bulkFailure(plan)
	}
	if err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkBigGroup pushes a group of bigGroup members as an identity
// provider does when it first pushes a department (SCIM's POST /Groups
// with its members), then takes every member out of it (a PUT with none).
func BenchmarkBigGroup(b *testing.B) {
	for _, d := range storetest.Dialects {
		b.Run(d, func(b *testing.B) {
			env := benchOpen(b, d)
			idp := scimActor(b, env)
			members := bigGroupMembers(b, env)
			var teams []int64
			b.Run("create", func(b *testing.B) {
				for b.Loop() {
					t, err := env.svc.ProvisionTeam(idp, service.TeamDraft{
						Name: fmt.Sprintf("Department %04d", len(teams)), Members: members})
					if err != nil || len(t.Members) != bigGroup {
						b.Fatalf("ProvisionTeam: %v; want a team of %d members", err, bigGroup)
					}
					teams = append(teams, t.Team.ID)
				}
			})
			b.Run("empty", func(b *testing.B) {
				i := 0
				for b.Loop() {
					if i == len(teams) {
						b.Fatalf("%d groups to empty; run as many as were created (-benchtime Nx)", len(teams))
					}
					t, err := env.svc.ChangeProvisionedTeam(idp, teams[i], 0, func(d *service.TeamDraft) error {
						d.Members = nil
						return nil
					})
					if err != nil || len(t.Members) != 0 {
						b.Fatalf("ChangeProvisionedTeam: %v; want no members", err)
					}
					i++
				}
			})
		})
	}
}

// BenchmarkMoveAndRemoveTeam removes a team that is the primary team of
// bigGroup users after moving them to the Default Team, in one step
// (MoveMembersAndRemoveTeam, the Teams page's "move them and remove").
// Each run's team gets its members through the Users tab's bulk action,
// outside the timing.
func BenchmarkMoveAndRemoveTeam(b *testing.B) {
	for _, d := range storetest.Dialects {
		b.Run(d, func(b *testing.B) {
			env := benchOpen(b, d)
			members := bigGroupMembers(b, env)
			runs := 0
			for b.Loop() {
				b.StopTimer()
				team, err := env.svc.CreateTeam(env.owner, fmt.Sprintf("Moving %d", runs))
				if err != nil {
					b.Fatal(err)
				}
				applyBulk(b, env, service.BulkInput{Action: service.BulkSetPrimary, TeamID: team.ID, UserIDs: members})
				b.StartTimer()
				if _, err := env.svc.MoveMembersAndRemoveTeam(env.owner, team.ID, env.teams[0].ID); err != nil {
					b.Fatal(err)
				}
				runs++
			}
		})
	}
}

// BenchmarkBulkTeamAction adds a new team to bigGroup users at once, as
// the Users tab's bulk action does.
func BenchmarkBulkTeamAction(b *testing.B) {
	for _, d := range storetest.Dialects {
		b.Run(d, func(b *testing.B) {
			env := benchOpen(b, d)
			users := bigGroupMembers(b, env)
			runs := 0
			for b.Loop() {
				b.StopTimer()
				team, err := env.svc.CreateTeam(env.owner, fmt.Sprintf("Bulk %d", runs))
				if err != nil {
					b.Fatal(err)
				}
				runs++
				b.StartTimer()
				applyBulk(b, env, service.BulkInput{Action: service.BulkAddSecondary, TeamID: team.ID, UserIDs: users})
			}
		})
	}
}

// BenchmarkSendAs grants a sender address to every Active user (Select
// All: 70% of the org) and then, as the console and the API do, lists the
// permissions (list), renames it keeping its users, whose ids the edit
// sends back (rename_keeping_users), saves it with Select All again
// (select_all_again), takes one user off and back on in turn
// (one_user_off_and_on), and creates a second such permission and deletes
// it (create_and_delete).
func BenchmarkSendAs(b *testing.B) {
	for _, d := range storetest.Dialects {
		b.Run(d, func(b *testing.B) {
			env := benchOpen(b, d)
			if _, err := env.svc.SetEmailAtScale(env.owner, true); err != nil {
				b.Fatal(err)
			}
			all := service.SendAsInput{FromName: "News", FromEmail: "news@example.com", SelectAll: true}
			p, err := env.svc.CreateSendAs(env.owner, all)
			if err != nil {
				b.Fatal(err)
			}
			users := p.UserIDs
			if len(users) < env.n/2 {
				b.Fatalf("Select All granted %d users of %d", len(users), env.n)
			}
			update := func(b *testing.B, in service.SendAsInput, want int) {
				got, err := env.svc.UpdateSendAs(env.owner, p.ID, in)
				if err != nil {
					b.Fatal(err)
				}
				if len(got.UserIDs) != want {
					b.Fatalf("the permission has %d users; want %d", len(got.UserIDs), want)
				}
			}
			b.Run("list", func(b *testing.B) {
				for b.Loop() {
					perms, err := env.svc.SendAsPermissions(env.owner)
					if err != nil {
						b.Fatal(err)
					}
					if len(perms) != 1 || len(perms[0].UserIDs) != len(users) {
						b.Fatalf("%d permissions; want 1 of %d users", len(perms), len(users))
					}
				}
				benchReportRate(b)
			})
			b.Run("rename_keeping_users", func(b *testing.B) {
				i := 0
				for b.Loop() {
					i++
					update(b, service.SendAsInput{FromName: fmt.Sprintf("News %d", i), FromEmail: all.FromEmail, UserIDs: users}, len(users))
				}
				benchReportRate(b)
			})
			b.Run("select_all_again", func(b *testing.B) {
				for b.Loop() {
					update(b, all, len(users))
				}
				benchReportRate(b)
			})
			b.Run("one_user_off_and_on", func(b *testing.B) {
				i := 0
				for b.Loop() {
					i++
					in, want := service.SendAsInput{FromName: all.FromName, FromEmail: all.FromEmail, UserIDs: users[1:]}, len(users)-1
					if i%2 == 0 {
						in.UserIDs, want = users, len(users)
					}
					update(b, in, want)
				}
				benchReportRate(b)
			})
			b.Run("create_and_delete", func(b *testing.B) {
				for b.Loop() {
					q, err := env.svc.CreateSendAs(env.owner, service.SendAsInput{FromName: "Billing", FromEmail: "billing@example.com",
						SelectAll: true})
					if err != nil {
						b.Fatal(err)
					}
					if _, err := env.svc.DeleteSendAs(env.owner, q.ID, 0); err != nil {
						b.Fatal(err)
					}
				}
				benchReportRate(b)
			})
		})
	}
}
