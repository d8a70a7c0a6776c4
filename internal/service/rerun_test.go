package service_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/secret"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport"
	"github.com/muster-app/muster/internal/testsupport/storetest"
	"github.com/muster-app/muster/internal/web"
)

// rerunStore runs every write transaction twice: once rolled back after fn
// has done all its work, as if the database had then ended it in a
// deadlock, and once for real, as sqlstore's Update runs a transaction
// again after a transient error (muster.Store.Update).
type rerunStore struct {
	*sqlstore.DB
	reruns atomic.Int64
}

var errRunAgain = errors.New("rolled back, to be run again")

func (s *rerunStore) Update(ctx context.Context, fn func(muster.Tx) error) error {
	err := s.DB.Update(ctx, func(tx muster.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		return errRunAgain
	})
	if !errors.Is(err, errRunAgain) {
		return err
	}
	s.reruns.Add(1)
	return s.DB.Update(ctx, fn)
}

// TestChangesRunTwice makes the same changes on a store that runs every
// write transaction twice as on one that runs it once: what each change
// returns, and the organization it leaves (users, seats, teams, audit
// trail, outbox, Send As, tokens), are the same. A change that kept
// anything from a run rolled back would double it: a webhook delivery sent
// twice, a team named "" (it once consumed its name on the first run).
func TestChangesRunTwice(t *testing.T) {
	once, onceTranscript := changeEverything(t, storetest.OpenSQLite(t), false)
	twice, twiceTranscript := changeEverything(t, storetest.OpenSQLite(t), true)
	if !reflect.DeepEqual(onceTranscript, twiceTranscript) {
		t.Errorf("run twice, the changes returned\n%s\nwant, as run once,\n%s",
			strings.Join(twiceTranscript, "\n"), strings.Join(onceTranscript, "\n"))
	}
	if !reflect.DeepEqual(once, twice) {
		t.Errorf("run twice, the org is\n%+v\nwant, as run once,\n%+v", twice, once)
	}
}

// changeEverything makes one of most kinds of change to a new org, on db
// or on a rerunStore over it, and returns the org's state and what each
// change returned.
func changeEverything(t *testing.T, db *sqlstore.DB, rerun bool) (orgState, []string) {
	t.Helper()
	var store muster.Store = db
	rs := &rerunStore{DB: db}
	if rerun {
		store = rs
	}
	c := newClock()
	svc := service.New(store, service.Config{BaseURL: "https://muster.example.com",
		Links: web.NewLinks("https://muster.example.com"), Now: c.Now, PasswordParams: secret.TestParams,
		SecretBox: testsupport.SecretBox(t), WebhooksAllowPrivate: true})
	// One Owner email in both runs: their states are compared.
	f := setupWith(t, db, svc, c, 20, "olive@example.com")
	owner := f.as(f.owner)

	var transcript []string
	note := func(format string, args ...any) { transcript = append(transcript, fmt.Sprintf(format, args...)) }
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	if _, err := svc.CreateWebhook(owner, service.WebhookInput{URL: "https://hooks.example.com/muster"}); err != nil {
		t.Fatal(err)
	}
	sales, err := svc.CreateTeam(owner, "Sales")
	must("CreateTeam", err)
	note("team %q", sales.Name)
	sales, err = svc.RenameTeam(owner, sales.ID, "Sales EMEA", 0)
	must("RenameTeam", err)
	note("renamed %q version %d", sales.Name, sales.Version)

	def := f.defaultTeam().ID
	ann, err := svc.Invite(owner, service.InviteInput{FirstName: "Ann", LastName: "Tester", Email: "ann@example.com",
		Role: muster.RoleManager, PrimaryTeamID: sales.ID, SecondaryTeamIDs: []int64{def}})
	must("Invite", err)
	annUser := f.accept(ann.Link)
	note("Ann %s", annUser.Status)
	bob, err := svc.Invite(owner, service.InviteInput{FirstName: "Bob", LastName: "Tester", Email: "bob@example.com",
		Role: muster.RoleBasic, PrimaryTeamID: def})
	must("Invite", err)
	withdrawn, err := svc.Withdraw(owner, bob.User.ID)
	must("Withdraw", err)
	note("Bob %s", withdrawn.Status)
	basic := muster.RoleBasic
	updated, err := svc.UpdateUser(owner, annUser.ID, service.UserUpdate{Role: &basic})
	must("UpdateUser", err)
	note("Ann %s version %d", updated.Role, updated.Version)

	_, err = svc.SetEmailAtScale(owner, true)
	must("SetEmailAtScale", err)
	perm, err := svc.CreateSendAs(owner, service.SendAsInput{FromName: "Support", FromEmail: "support@example.com",
		UserIDs: []int64{annUser.ID}})
	must("CreateSendAs", err)
	note("send as %s for %v", perm.FromEmail, len(perm.UserIDs))
	token, err := svc.CreateAPIToken(owner, "CI", time.Time{})
	must("CreateAPIToken", err)
	note("token %q", token.Token.Name)

	deactivated, err := svc.Deactivate(owner, annUser.ID)
	must("Deactivate", err)
	note("Ann %s", deactivated.Status)
	again, err := svc.InviteAgain(owner, annUser.ID, service.UserUpdate{PrimaryTeamID: &def})
	must("InviteAgain", err)
	note("Ann %s", again.User.Status)
	removed, err := svc.RemoveTeam(owner, sales.ID, 0)
	must("RemoveTeam", err)
	note("removed %q", removed.Name)

	plan, err := svc.PlanImport(owner, service.ImportInput{FileName: "people.csv", CreateTeams: true, Commit: true,
		File: strings.NewReader("Email,First Name,Last Name,Role,Primary Team,Secondary Teams\n" +
			"cy@example.com,Cy,One,Basic,Research,\n" +
			"olive@example.com,Olive,Owner,,,\n")})
	must("PlanImport", err)
	note("import %s, %d seats, committed %v, result %q", plan.Status, plan.SeatsReserved,
		!plan.CommittedAt.IsZero(), plan.Import.Result)
	runImports(t, svc)

	dispatches, err := svc.LeaseWebhooks(context.Background(), func(int64) int { return 1000 })
	must("LeaseWebhooks", err)
	leased := map[int64]bool{}
	for _, d := range dispatches {
		leased[d.Delivery.ID] = true
	}
	note("%d webhook dispatches, %d deliveries", len(dispatches), len(leased))

	if rerun && rs.reruns.Load() < 15 {
		t.Fatalf("only %d transactions were run twice", rs.reruns.Load())
	}
	return f.state(t), transcript
}
