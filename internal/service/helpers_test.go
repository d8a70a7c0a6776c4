package service_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/secret"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
	"github.com/muster-app/muster/internal/web"
)

// fixture is an organization set up for a test: a service on a real store,
// an Active Owner and helpers to act as anyone.
type fixture struct {
	t     *testing.T
	db    *sqlstore.DB
	svc   *service.Service
	clock *clock
	org   *muster.Org
	owner *muster.User
}

// clock is a settable time source.
type clock struct{ now atomic.Int64 }

func (c *clock) Now() time.Time          { return time.UnixMicro(c.now.Load()) }
func (c *clock) Advance(d time.Duration) { c.now.Add(d.Microseconds()) }

var emailSeq atomic.Int64

// uniqueEmail returns an email no other test uses, so that tests sharing a
// PostgreSQL database never collide.
func uniqueEmail(name string) string {
	return fmt.Sprintf("%s.%d@example.com", strings.ToLower(name), emailSeq.Add(1))
}

func newService(db *sqlstore.DB, c *clock) *service.Service { return newServiceOn(db, c) }

// newServiceOn is newService over any store: one that wraps a database's.
func newServiceOn(store muster.Store, c *clock) *service.Service {
	return service.New(store, service.Config{BaseURL: "https://muster.example.com", Links: web.NewLinks("https://muster.example.com"), Now: c.Now, PasswordParams: secret.TestParams})
}

// instances are f's service and one service on each of others, databases
// another instance of Muster shares with f's (the two-instance races).
func (f *fixture) instances(others ...*sqlstore.DB) []*service.Service {
	services := []*service.Service{f.svc}
	for _, o := range others {
		services = append(services, newService(o, f.clock))
	}
	return services
}

// setup creates an org with licenses seats whose Owner has accepted.
func setup(t *testing.T, db *sqlstore.DB, licenses int) *fixture {
	t.Helper()
	c := newClock()
	return setupWith(t, db, newService(db, c), c, licenses, uniqueEmail("owner"))
}

// newClock is a clock at the fixtures' start.
func newClock() *clock {
	c := &clock{}
	c.now.Store(time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC).UnixMicro())
	return c
}

// setupWith is setup through svc, a service on db that reads the time
// from c, with the Owner's email ownerEmail.
func setupWith(t *testing.T, db *sqlstore.DB, svc *service.Service, c *clock, licenses int, ownerEmail string) *fixture {
	t.Helper()
	f := &fixture{t: t, db: db, svc: svc, clock: c}
	res, err := f.svc.CreateOrg(operator(0), service.NewOrg{Name: "Acme", LicenseTotal: licenses,
		OwnerEmail: ownerEmail, OwnerFirstName: "Olive", OwnerLastName: "Owner"})
	if err != nil {
		t.Fatalf("CreateOrg: %v", err)
	}
	f.org = res.Org
	f.owner = f.accept(res.SetupURL)
	return f
}

func operator(orgID int64) context.Context {
	return muster.NewContext(context.Background(), muster.Principal{OrgID: orgID, Origin: "test"})
}

// as returns a context in which u acts.
func (f *fixture) as(u *muster.User) context.Context {
	return muster.NewContext(context.Background(), muster.Principal{UserID: u.ID, OrgID: u.OrgID, Origin: "test"})
}

func (f *fixture) defaultTeam() *muster.Team {
	f.t.Helper()
	listed, err := f.svc.Teams(f.as(f.owner), service.TeamListQuery{})
	if err != nil {
		f.t.Fatal(err)
	}
	teams := listed.Teams
	return teams[0]
}

// invite invites a user as the Owner and returns the Pending user and link.
func (f *fixture) invite(first string, role muster.Role) (*muster.User, string) {
	f.t.Helper()
	res, err := f.svc.Invite(f.as(f.owner), service.InviteInput{FirstName: first, LastName: "Tester",
		Email: uniqueEmail(first), Role: role, PrimaryTeamID: f.defaultTeam().ID})
	if err != nil {
		f.t.Fatalf("Invite %s: %v", first, err)
	}
	return res.User, res.Link
}

// active invites a user who then accepts.
func (f *fixture) active(first string, role muster.Role) *muster.User {
	f.t.Helper()
	_, link := f.invite(first, role)
	return f.accept(link)
}

func (f *fixture) accept(link string) *muster.User {
	f.t.Helper()
	token := link[strings.LastIndex(link, "/")+1:]
	in, err := f.svc.AcceptInvitation(context.Background(), token, "a long enough secret",
		service.Client{IP: "192.0.2.1", UserAgent: "test", Origin: "web " + "192.0.2.1"})
	if err != nil {
		f.t.Fatalf("AcceptInvitation: %v", err)
	}
	return in.User
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := muster.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v); want %q", got, err, code)
	}
}

func runStores(t *testing.T, fn func(t *testing.T, db *sqlstore.DB)) {
	storetest.Run(t, fn)
}

func runStoresParallel(t *testing.T, fn func(t *testing.T, db *sqlstore.DB)) {
	storetest.RunParallel(t, fn)
}
