package service_test

// Helpers of the contract tests (permissions, lifecycle, seats, teams,
// validation, ownership, invitations, audit): a snapshot of everything an
// administrator can see of an organization, and assertions that a refused
// call changed none of it and that a successful one wrote exactly one audit
// event.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// orgState is what an organization looks like from the outside: its users
// of every status (withdrawn ones too), license counter, teams, audit trail,
// queued emails, Send As permissions and API tokens.
type orgState struct {
	Users        []string
	LicenseTotal int
	SeatsUsed    int
	EmailAtScale bool
	Teams        []string
	AuditEvents  int
	LastAuditID  int64
	Outbox       int
	SendAs       []string
	APITokens    []string
}

// state snapshots the fixture's organization.
func (f *fixture) state(t *testing.T) orgState {
	t.Helper()
	ctx := operator(f.org.ID)
	var s orgState

	// Every user, withdrawn ones too, which no interface lists: straight
	// from the store.
	var users []*muster.User
	for _, status := range []muster.Status{"", muster.StatusWithdrawn} {
		err := f.db.View(ctx, func(tx muster.Tx) error {
			page, err := tx.FindUsers(ctx, muster.UserFilter{OrgID: f.org.ID, Status: status, Limit: 1 << 20})
			users = append(users, page...)
			return err
		})
		if err != nil {
			t.Fatalf("state: FindUsers: %v", err)
		}
	}
	slices.SortFunc(users, func(a, b *muster.User) int { return int(a.ID - b.ID) })
	for _, u := range users {
		s.Users = append(s.Users, fmt.Sprintf("#%d %s %q %q %s %s primary=%d secondary=%v version=%d",
			u.ID, u.Email, u.FirstName, u.LastName, u.Role, u.Status, u.PrimaryTeamID, u.SecondaryTeamIDs, u.Version))
	}

	org, err := f.svc.LicenseUsage(ctx)
	if err != nil {
		t.Fatalf("state: LicenseUsage: %v", err)
	}
	s.LicenseTotal, s.SeatsUsed, s.EmailAtScale = org.LicenseTotal, org.SeatsUsed, org.EmailAtScale

	listed, err := f.svc.Teams(ctx, service.TeamListQuery{})
	if err != nil {
		t.Fatalf("state: Teams: %v", err)
	}
	teams := listed.Teams
	for _, team := range teams {
		s.Teams = append(s.Teams, fmt.Sprintf("#%d %q default=%v primary=%d secondary=%d",
			team.ID, team.Name, team.IsDefault, team.PrimaryCount, team.SecondaryCount))
	}

	events := auditTrail(t, f, muster.AuditFilter{})
	s.AuditEvents = len(events)
	if len(events) > 0 {
		s.LastAuditID = events[0].ID
	}

	s.Outbox = len(storetest.Outbox(t, f.db, f.org.ID))

	if org.EmailAtScale {
		perms, err := f.svc.SendAsPermissions(ctx)
		if err != nil {
			t.Fatalf("state: SendAsPermissions: %v", err)
		}
		for _, p := range perms {
			s.SendAs = append(s.SendAs, fmt.Sprintf("#%d %s users=%v", p.ID, p.FromEmail, p.UserIDs))
		}
	}
	tokens, err := f.svc.APITokens(ctx)
	if err != nil {
		t.Fatalf("state: APITokens: %v", err)
	}
	for _, tok := range tokens {
		s.APITokens = append(s.APITokens, fmt.Sprintf("#%d %s", tok.ID, tok.Name))
	}
	return s
}

// auditTrail lists the org's audit events that match filter, newest first,
// every page of them.
func auditTrail(t *testing.T, f *fixture, filter muster.AuditFilter) []*muster.AuditEvent {
	t.Helper()
	var out []*muster.AuditEvent
	q := service.AuditQuery{ActorID: filter.ActorID, TargetType: filter.TargetType, TargetID: filter.TargetID,
		Action: filter.Action, Limit: service.MaxPageSize}
	for {
		page, err := f.svc.FindAuditEvents(operator(f.org.ID), q)
		if err != nil {
			t.Fatalf("FindAuditEvents: %v", err)
		}
		out = append(out, page.Events...)
		if page.NextBeforeID == 0 {
			return out
		}
		q.BeforeID = page.NextBeforeID
	}
}

// diffStates describes how two snapshots differ, line by line.
func diffStates(before, after orgState) string {
	b, a := fmt.Sprintf("%+v", before), fmt.Sprintf("%+v", after)
	if a == b {
		return ""
	}
	var out []string
	fields := func(s orgState) map[string]string {
		return map[string]string{
			"users":   strings.Join(s.Users, "\n    "),
			"license": fmt.Sprintf("%d of %d in use, email at scale %v", s.SeatsUsed, s.LicenseTotal, s.EmailAtScale),
			"teams":   strings.Join(s.Teams, "\n    "),
			"audit":   fmt.Sprintf("%d events, newest #%d", s.AuditEvents, s.LastAuditID),
			"outbox":  fmt.Sprintf("%d emails", s.Outbox),
			"send as": strings.Join(s.SendAs, "\n    "),
			"tokens":  strings.Join(s.APITokens, "\n    "),
		}
	}
	fb, fa := fields(before), fields(after)
	for _, k := range []string{"users", "license", "teams", "audit", "outbox", "send as", "tokens"} {
		if fb[k] != fa[k] {
			out = append(out, fmt.Sprintf("  %s before:\n    %s\n  %s after:\n    %s", k, fb[k], k, fa[k]))
		}
	}
	return strings.Join(out, "\n")
}

// refused calls call, requires it to fail with code, and requires that the
// organizations of fs (the fixture's own when none are given) look exactly
// as before. It returns the error for further checks.
func (f *fixture) refused(t *testing.T, code string, call func() error, others ...*fixture) error {
	t.Helper()
	orgs := append([]*fixture{f}, others...)
	before := make([]orgState, len(orgs))
	for i, o := range orgs {
		before[i] = o.state(t)
	}
	err := call()
	if got := muster.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v); want %q", got, err, code)
	}
	if msg := muster.ErrorMessage(err); msg == "" {
		t.Errorf("refusal %q has no message saying why", code)
	}
	for i, o := range orgs {
		if d := diffStates(before[i], o.state(t)); d != "" {
			t.Fatalf("refused call (%v) changed org %d:\n%s", err, o.org.ID, d)
		}
	}
	return err
}

// changed calls call, requires it to succeed and to write exactly one audit
// event, and returns that event.
func (f *fixture) changed(t *testing.T, call func() error) *muster.AuditEvent {
	t.Helper()
	before := auditTrail(t, f, muster.AuditFilter{})
	if err := call(); err != nil {
		t.Fatalf("call failed: %v", err)
	}
	after := auditTrail(t, f, muster.AuditFilter{})
	added := len(after) - len(before)
	if added != 1 {
		var actions []string
		for _, e := range after[:max(added, 0)] {
			actions = append(actions, e.Action)
		}
		t.Fatalf("successful call wrote %d audit events %v; want exactly 1", added, actions)
	}
	return after[0]
}

// wantEvent checks an audit event's action, actor and target.
func wantEvent(t *testing.T, e *muster.AuditEvent, action string, actor *muster.User, targetType string, targetID int64) {
	t.Helper()
	var actorID int64
	if actor != nil {
		actorID = actor.ID
	}
	if e.Action != action || e.ActorID != actorID || e.TargetType != targetType || e.TargetID != targetID {
		t.Fatalf("audit event = %s by #%d on %s #%d; want %s by #%d on %s #%d",
			e.Action, e.ActorID, e.TargetType, e.TargetID, action, actorID, targetType, targetID)
	}
	if e.CreatedAt.IsZero() || e.Origin == "" || e.ActorLabel == "" {
		t.Fatalf("audit event lacks time, origin or actor label: %+v", e)
	}
}

// wantChange checks that an audit event's before and after record key
// changing from from to to (nil for a side that has no value).
func wantChange(t *testing.T, e *muster.AuditEvent, key string, from, to any) {
	t.Helper()
	got := func(m map[string]any) any {
		if m == nil {
			return nil
		}
		return m[key]
	}
	if fmt.Sprint(got(e.Before)) != fmt.Sprint(from) || fmt.Sprint(got(e.After)) != fmt.Sprint(to) {
		t.Fatalf("audit %s %s: before %v, after %v; want %v → %v", e.Action, key, got(e.Before), got(e.After), from, to)
	}
}

// user re-reads a user from the store, withdrawn ones included.
func (f *fixture) user(t *testing.T, id int64) *muster.User {
	t.Helper()
	var u *muster.User
	err := f.db.View(context.Background(), func(tx muster.Tx) error {
		var err error
		u, err = tx.PeekUser(context.Background(), f.org.ID, id)
		return err
	})
	if err != nil {
		t.Fatalf("user %d: %v", id, err)
	}
	return u
}

// listed reports whether the user is on the Users tab (every status but
// withdrawn).
func (f *fixture) listed(t *testing.T, id int64) bool {
	t.Helper()
	page, err := f.svc.FindUsers(operator(f.org.ID), service.UserQuery{Limit: service.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range page.Users {
		if u.ID == id {
			return true
		}
	}
	return false
}

// seats returns the org's used seats and total.
func (f *fixture) seats(t *testing.T) (used, total int) {
	t.Helper()
	org, err := f.svc.LicenseUsage(operator(f.org.ID))
	if err != nil {
		t.Fatal(err)
	}
	return org.SeatsUsed, org.LicenseTotal
}

// countStatus counts the org's users in status (withdrawn included when
// asked for).
func (f *fixture) countStatus(t *testing.T, status muster.Status) int {
	t.Helper()
	n := 0
	cursor := ""
	for {
		page, err := f.svc.FindUsers(operator(f.org.ID), service.UserQuery{Status: string(status), Cursor: cursor, Limit: service.MaxPageSize})
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Users)
		if cursor = page.NextCursor; cursor == "" {
			return n
		}
	}
}

// owners counts the org's Owners, whatever their status.
func (f *fixture) owners(t *testing.T) []*muster.User {
	t.Helper()
	page, err := f.svc.FindUsers(operator(f.org.ID), service.UserQuery{Role: string(muster.RoleOwner), Limit: service.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	return page.Users
}

// team creates a team as the Owner.
func (f *fixture) team(t *testing.T, name string) *muster.Team {
	t.Helper()
	team, err := f.svc.CreateTeam(f.as(f.owner), name)
	if err != nil {
		t.Fatalf("CreateTeam %q: %v", name, err)
	}
	return team
}

// inviteInto invites a user as the Owner with the given teams.
func (f *fixture) inviteInto(t *testing.T, first string, role muster.Role, primary int64, secondaries ...int64) (*muster.User, string) {
	t.Helper()
	res, err := f.svc.Invite(f.as(f.owner), service.InviteInput{FirstName: first, LastName: "Tester",
		Email: uniqueEmail(first), Role: role, PrimaryTeamID: primary, SecondaryTeamIDs: secondaries})
	if err != nil {
		t.Fatalf("Invite %s: %v", first, err)
	}
	return res.User, res.Link
}

// deactivated makes an Active user of role and deactivates them.
func (f *fixture) deactivated(t *testing.T, first string, role muster.Role) *muster.User {
	t.Helper()
	u := f.active(first, role)
	if _, err := f.svc.Deactivate(f.as(f.owner), u.ID); err != nil {
		t.Fatalf("Deactivate %s: %v", first, err)
	}
	u.Status = muster.StatusDeactivated
	return u
}

// withdrawn invites a user of role and withdraws the invitation; it returns
// the user and the dead link.
func (f *fixture) withdrawn(t *testing.T, first string, role muster.Role) (*muster.User, string) {
	t.Helper()
	u, link := f.invite(first, role)
	if _, err := f.svc.Withdraw(f.as(f.owner), u.ID); err != nil {
		t.Fatalf("Withdraw %s: %v", first, err)
	}
	u.Status = muster.StatusWithdrawn
	return u, link
}

// tokenOf returns the token at the end of an invitation link.
func tokenOf(link string) string { return link[strings.LastIndex(link, "/")+1:] }

// acceptLink accepts an invitation link with a good password.
func (f *fixture) acceptLink(link string) (*service.SignedIn, error) {
	return f.svc.AcceptInvitation(context.Background(), tokenOf(link), password, browser)
}

// pendingOwnerOrg creates another organization in f's database whose Owner
// has not used the set-up link yet, as after muster init; it returns the
// org, acted on with f's service and clock, and the Owner's set-up link.
func pendingOwnerOrg(t *testing.T, f *fixture) (g *fixture, setupURL string) {
	t.Helper()
	res, err := f.svc.CreateOrg(operator(0), service.NewOrg{Name: "Pending Owner Inc", LicenseTotal: 5,
		OwnerEmail: uniqueEmail("pendingowner"), OwnerFirstName: "Pat", OwnerLastName: "Pending"})
	if err != nil {
		t.Fatalf("CreateOrg: %v", err)
	}
	if res.Owner.Status != muster.StatusPending {
		t.Fatalf("a new org's Owner is %s; want Pending", res.Owner.Status)
	}
	return &fixture{t: t, db: f.db, svc: f.svc, clock: f.clock, org: res.Org, owner: res.Owner}, res.SetupURL
}

// secondOrg creates another organization in the same database, with its
// own Active Owner.
func secondOrg(t *testing.T, f *fixture) *fixture {
	t.Helper()
	return setup(t, f.db, 10)
}

func ptr[T any](v T) *T { return &v }

func asError(err error, target **muster.Error) bool { return errors.As(err, target) }
