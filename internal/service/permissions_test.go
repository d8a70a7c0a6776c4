package service_test

// SPEC §2 as table tests: every row of the roles and permissions table, for
// every role, allowed and refused. A refused call must say why (an error
// code and a message) and change nothing an administrator can see; an
// allowed call must do what it says and write exactly one audit event.

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
)

// permOrg is an organization with one Active user of every role, who act
// in the table tests. Each row makes the users it acts on afresh.
type permOrg struct {
	*fixture
	actors map[muster.Role]*muster.User
	team   *muster.Team // a team that rows may add users to
}

func newPermOrg(t *testing.T, db *sqlstore.DB) *permOrg {
	t.Helper()
	f := setup(t, db, 1000)
	p := &permOrg{fixture: f, actors: map[muster.Role]*muster.User{
		muster.RoleOwner:   f.owner,
		muster.RoleAdmin:   f.active("Adam", muster.RoleAdmin),
		muster.RoleManager: f.active("Mona", muster.RoleManager),
		muster.RoleBasic:   f.active("Bert", muster.RoleBasic),
	}}
	p.team = f.team(t, "Field Team")
	if _, err := f.svc.SetEmailAtScale(f.as(f.owner), true); err != nil {
		t.Fatal(err)
	}
	return p
}

// on returns the fixture bound to a subtest, so that its helpers fail the
// subtest that runs them.
func (f *fixture) on(t *testing.T) *fixture {
	g := *f
	g.t = t
	return &g
}

// permCase is one row: an actor of a role doing something.
type permCase struct {
	name  string
	actor muster.Role
	// want is the error code of a refusal; "" means allowed.
	want string
	// kind says what an allowed call writes.
	kind permKind
	// prepare makes what the call acts on and returns the call and, for an
	// allowed call, a check of its effect and audit event (nil for reads).
	prepare func(t *testing.T, f *fixture, o *permOrg, actor *muster.User) (call func() error, check func(t *testing.T, e *muster.AuditEvent))
}

type permKind int

const (
	writes   permKind = iota // exactly one audit event
	readOnly                 // nothing changes
	other                    // writes, but not always an audit event (e.g. a request joined to one already queued)
)

var adminRoles = []muster.Role{muster.RoleOwner, muster.RoleAdmin}

// allRoles are the four roles, highest first.
var allRoles = []muster.Role{muster.RoleOwner, muster.RoleAdmin, muster.RoleManager, muster.RoleBasic}

func roleIn(r muster.Role, rs []muster.Role) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

// spec2 answers the table of SPEC §2 for a row, written out rather than
// asking the code under test.
func spec2(actor muster.Role, allowed ...muster.Role) string {
	if roleIn(actor, allowed) {
		return ""
	}
	return muster.EFORBIDDEN
}

func runPermCases(t *testing.T, cases []permCase) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		o := newPermOrg(t, db)
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				f := o.on(t)
				actor := o.actors[c.actor]
				call, check := c.prepare(t, f, o, actor)
				if c.want != "" {
					f.refused(t, c.want, call)
					return
				}
				switch c.kind {
				case writes:
					e := f.changed(t, call)
					if check != nil {
						check(t, e)
					}
				case readOnly:
					before := f.state(t)
					if err := call(); err != nil {
						t.Fatalf("allowed call failed: %v", err)
					}
					if d := diffStates(before, f.state(t)); d != "" {
						t.Fatalf("reading changed the org:\n%s", d)
					}
				case other:
					if err := call(); err != nil {
						t.Fatalf("allowed call failed: %v", err)
					}
				}
			})
		}
	})
}

// invite as Basic User or Manager; resend, withdraw, edit, deactivate them
// (Owner, Admin); invite as Admin, edit or deactivate an Admin (Owner only).
func TestPermissionsManageUsers(t *testing.T) {
	type manageAction struct {
		name    string
		status  muster.Status // the target's status before the call
		prepare func(t *testing.T, f *fixture, o *permOrg, actor, target *muster.User, link string) (func() error, func(t *testing.T, e *muster.AuditEvent))
	}
	actions := []manageAction{
		{"resend invite", muster.StatusPending, func(t *testing.T, f *fixture, o *permOrg, actor, target *muster.User, link string) (func() error, func(*testing.T, *muster.AuditEvent)) {
			var res *service.Invited
			call := func() (err error) { res, err = f.svc.ResendInvite(f.as(actor), target.ID); return err }
			return call, func(t *testing.T, e *muster.AuditEvent) {
				wantEvent(t, e, muster.ActionInviteResent, actor, "user", target.ID)
				_, err := f.svc.LookupInvitation(context.Background(), tokenOf(link))
				wantGone(t, err, muster.LinkSuperseded)
				if _, err := f.svc.LookupInvitation(context.Background(), tokenOf(res.Link)); err != nil {
					t.Fatalf("the new link does not work: %v", err)
				}
				if u := f.user(t, target.ID); u.Status != muster.StatusPending {
					t.Fatalf("status after resend = %s; want pending", u.Status)
				}
			}
		}},
		{"withdraw", muster.StatusPending, func(t *testing.T, f *fixture, o *permOrg, actor, target *muster.User, link string) (func() error, func(*testing.T, *muster.AuditEvent)) {
			used, _ := f.seats(t)
			return func() error { _, err := f.svc.Withdraw(f.as(actor), target.ID); return err }, func(t *testing.T, e *muster.AuditEvent) {
				wantEvent(t, e, muster.ActionInviteWithdrawn, actor, "user", target.ID)
				wantChange(t, e, "status", muster.StatusPending, muster.StatusWithdrawn)
				if f.listed(t, target.ID) {
					t.Fatal("a withdrawn user is still on the Users tab")
				}
				if now, _ := f.seats(t); now != used-1 {
					t.Fatalf("seats used %d → %d; want the seat freed", used, now)
				}
			}
		}},
		{"edit name", muster.StatusActive, func(t *testing.T, f *fixture, o *permOrg, actor, target *muster.User, link string) (func() error, func(*testing.T, *muster.AuditEvent)) {
			return func() error {
					_, err := f.svc.UpdateUser(f.as(actor), target.ID, service.UserUpdate{FirstName: ptr("Renamed")})
					return err
				}, func(t *testing.T, e *muster.AuditEvent) {
					wantEvent(t, e, muster.ActionUserUpdated, actor, "user", target.ID)
					wantChange(t, e, "first_name", target.FirstName, "Renamed")
					if u := f.user(t, target.ID); u.FirstName != "Renamed" {
						t.Fatalf("first name = %q; want Renamed", u.FirstName)
					}
				}
		}},
		{"edit teams", muster.StatusPending, func(t *testing.T, f *fixture, o *permOrg, actor, target *muster.User, link string) (func() error, func(*testing.T, *muster.AuditEvent)) {
			return func() error {
					_, err := f.svc.UpdateUser(f.as(actor), target.ID, service.UserUpdate{SecondaryTeamIDs: &[]int64{o.team.ID}})
					return err
				}, func(t *testing.T, e *muster.AuditEvent) {
					wantEvent(t, e, muster.ActionUserUpdated, actor, "user", target.ID)
					wantChange(t, e, "secondary_team_ids", []int64{}, []int64{o.team.ID})
					if u := f.user(t, target.ID); len(u.SecondaryTeamIDs) != 1 || u.SecondaryTeamIDs[0] != o.team.ID {
						t.Fatalf("secondary teams = %v; want [%d]", u.SecondaryTeamIDs, o.team.ID)
					}
				}
		}},
		{"deactivate", muster.StatusActive, func(t *testing.T, f *fixture, o *permOrg, actor, target *muster.User, link string) (func() error, func(*testing.T, *muster.AuditEvent)) {
			used, _ := f.seats(t)
			return func() error { _, err := f.svc.Deactivate(f.as(actor), target.ID); return err }, func(t *testing.T, e *muster.AuditEvent) {
				wantEvent(t, e, muster.ActionUserDeactivated, actor, "user", target.ID)
				wantChange(t, e, "status", muster.StatusActive, muster.StatusDeactivated)
				if now, _ := f.seats(t); now != used-1 {
					t.Fatalf("seats used %d → %d; want the seat freed", used, now)
				}
				_, err := f.svc.Me(f.as(target))
				wantCode(t, err, muster.EUNAUTHORIZED)
			}
		}},
	}
	var cases []permCase
	for _, actor := range allRoles {
		for _, a := range actions {
			for _, target := range []muster.Role{muster.RoleAdmin, muster.RoleManager, muster.RoleBasic} {
				want := spec2(actor, muster.RoleOwner, muster.RoleAdmin)
				if target == muster.RoleAdmin {
					want = spec2(actor, muster.RoleOwner)
				}
				cases = append(cases, permCase{
					name: actor.Label() + " " + a.name + " " + target.Label(), actor: actor, want: want,
					prepare: func(t *testing.T, f *fixture, o *permOrg, actorUser *muster.User) (func() error, func(*testing.T, *muster.AuditEvent)) {
						u, link := f.invite("Target", target)
						if a.status == muster.StatusActive {
							u = f.accept(link)
						}
						return a.prepare(t, f, o, actorUser, u, link)
					},
				})
			}
		}
	}
	runPermCases(t, cases)
}

func TestPermissionsInvite(t *testing.T) {
	var cases []permCase
	for _, actor := range allRoles {
		for _, role := range allRoles {
			var want string
			switch role {
			case muster.RoleOwner:
				want = muster.EFORBIDDEN // nobody: ownership moves only by transfer
			case muster.RoleAdmin:
				want = spec2(actor, muster.RoleOwner)
			default:
				want = spec2(actor, adminRoles...)
			}
			cases = append(cases, permCase{name: actor.Label() + " invites " + role.Label(), actor: actor, want: want,
				prepare: func(t *testing.T, f *fixture, o *permOrg, a *muster.User) (func() error, func(*testing.T, *muster.AuditEvent)) {
					var res *service.Invited
					used, _ := f.seats(t)
					return func() (err error) {
							res, err = f.svc.Invite(f.as(a), service.InviteInput{FirstName: "New", LastName: "Person",
								Email: uniqueEmail("new"), Role: role, PrimaryTeamID: f.defaultTeam().ID})
							return err
						}, func(t *testing.T, e *muster.AuditEvent) {
							wantEvent(t, e, muster.ActionUserInvited, a, "user", res.User.ID)
							wantChange(t, e, "status", nil, muster.StatusPending)
							wantChange(t, e, "role", nil, role)
							if u := f.user(t, res.User.ID); u.Status != muster.StatusPending || u.Role != role {
								t.Fatalf("invited user is %s %s; want pending %s", u.Status, u.Role, role)
							}
							if now, _ := f.seats(t); now != used+1 {
								t.Fatalf("seats used %d → %d; want one more", used, now)
							}
						}
				}})
		}
	}
	runPermCases(t, cases)
}

// Promote to or demote from Admin: Owner only. Between Basic User and
// Manager: Owner and Admin. Nobody makes anyone Owner.
func TestPermissionsChangeRole(t *testing.T) {
	changes := []struct{ from, to muster.Role }{
		{muster.RoleBasic, muster.RoleManager}, {muster.RoleManager, muster.RoleBasic},
		{muster.RoleBasic, muster.RoleAdmin}, {muster.RoleManager, muster.RoleAdmin},
		{muster.RoleAdmin, muster.RoleManager}, {muster.RoleAdmin, muster.RoleBasic},
		{muster.RoleBasic, muster.RoleOwner}, {muster.RoleAdmin, muster.RoleOwner},
	}
	var cases []permCase
	for _, actor := range allRoles {
		for _, ch := range changes {
			var want string
			switch {
			case ch.to == muster.RoleOwner:
				want = muster.EFORBIDDEN
			case ch.from == muster.RoleAdmin || ch.to == muster.RoleAdmin:
				want = spec2(actor, muster.RoleOwner)
			default:
				want = spec2(actor, adminRoles...)
			}
			cases = append(cases, permCase{name: actor.Label() + " changes " + ch.from.Label() + " to " + ch.to.Label(),
				actor: actor, want: want,
				prepare: func(t *testing.T, f *fixture, o *permOrg, a *muster.User) (func() error, func(*testing.T, *muster.AuditEvent)) {
					target := f.active("Target", ch.from)
					return func() error {
							_, err := f.svc.UpdateUser(f.as(a), target.ID, service.UserUpdate{Role: ptr(ch.to)})
							return err
						}, func(t *testing.T, e *muster.AuditEvent) {
							wantEvent(t, e, muster.ActionUserUpdated, a, "user", target.ID)
							wantChange(t, e, "role", ch.from, ch.to)
							if u := f.user(t, target.ID); u.Role != ch.to {
								t.Fatalf("role = %s; want %s", u.Role, ch.to)
							}
						}
				}})
		}
	}
	runPermCases(t, cases)
}

// Change the Owner's role, deactivate or withdraw the Owner: nobody, not
// even the Owner (ownership moves only by transfer, OWN-1).
func TestPermissionsOwnerIsUntouchable(t *testing.T) {
	calls := []struct {
		name string
		call func(f *fixture, ctx context.Context) error
	}{
		{"changes the Owner's role to Admin", func(f *fixture, ctx context.Context) error {
			_, err := f.svc.UpdateUser(ctx, f.owner.ID, service.UserUpdate{Role: ptr(muster.RoleAdmin)})
			return err
		}},
		{"changes the Owner's role to Basic User", func(f *fixture, ctx context.Context) error {
			_, err := f.svc.UpdateUser(ctx, f.owner.ID, service.UserUpdate{Role: ptr(muster.RoleBasic)})
			return err
		}},
		{"deactivates the Owner", func(f *fixture, ctx context.Context) error { _, err := f.svc.Deactivate(ctx, f.owner.ID); return err }},
		{"withdraws the Owner", func(f *fixture, ctx context.Context) error { _, err := f.svc.Withdraw(ctx, f.owner.ID); return err }},
	}
	var cases []permCase
	for _, actor := range allRoles {
		for _, c := range calls {
			cases = append(cases, permCase{name: actor.Label() + " " + c.name, actor: actor, want: muster.EFORBIDDEN,
				prepare: func(t *testing.T, f *fixture, o *permOrg, a *muster.User) (func() error, func(*testing.T, *muster.AuditEvent)) {
					return func() error { return c.call(f, f.as(a)) }, nil
				}})
		}
		// Editing the Owner's name: the Owner themself only.
		cases = append(cases, permCase{name: actor.Label() + " edits the Owner's name", actor: actor,
			want: spec2(actor, muster.RoleOwner),
			prepare: func(t *testing.T, f *fixture, o *permOrg, a *muster.User) (func() error, func(*testing.T, *muster.AuditEvent)) {
				name := "Olivia"
				return func() error {
						_, err := f.svc.UpdateUser(f.as(a), f.owner.ID, service.UserUpdate{FirstName: &name})
						return err
					}, func(t *testing.T, e *muster.AuditEvent) {
						wantEvent(t, e, muster.ActionUserUpdated, a, "user", f.owner.ID)
						if u := f.user(t, f.owner.ID); u.FirstName != name || u.Role != muster.RoleOwner {
							t.Fatalf("Owner is %q %s; want Olivia, still Owner", u.FirstName, u.Role)
						}
					}
			}})
	}
	runPermCases(t, cases)
}

// An operator acts with the Owner's powers, and the Owner's are not enough
// to withdraw a Pending Owner or change the Owner's role.
func TestPermissionsOperatorCannotUnseatOwner(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		g, setupURL := pendingOwnerOrg(t, f)
		op := operator(g.org.ID)
		ownerID := g.owner.ID
		g.refused(t, muster.EFORBIDDEN, func() error { _, err := g.svc.Withdraw(op, ownerID); return err })
		g.refused(t, muster.EFORBIDDEN, func() error {
			_, err := g.svc.UpdateUser(op, ownerID, service.UserUpdate{Role: ptr(muster.RoleAdmin)})
			return err
		})
		// Once the Owner is Active, the operator can't deactivate them either.
		g.owner = g.accept(setupURL)
		g.refused(t, muster.EFORBIDDEN, func() error { _, err := g.svc.Deactivate(op, ownerID); return err })
		if owners := g.owners(t); len(owners) != 1 || owners[0].ID != ownerID {
			t.Fatalf("owners = %v; want exactly the original Owner", owners)
		}
	})
}

// Create, rename, remove teams (not the Default Team): Owner and Admin.
func TestPermissionsTeams(t *testing.T) {
	var cases []permCase
	for _, actor := range allRoles {
		want := spec2(actor, adminRoles...)
		cases = append(cases,
			permCase{name: actor.Label() + " creates a team", actor: actor, want: want,
				prepare: func(t *testing.T, f *fixture, o *permOrg, a *muster.User) (func() error, func(*testing.T, *muster.AuditEvent)) {
					var team *muster.Team
					name := "Team of " + a.FirstName + " " + uniqueEmail("t")
					return func() (err error) { team, err = f.svc.CreateTeam(f.as(a), name); return err },
						func(t *testing.T, e *muster.AuditEvent) {
							wantEvent(t, e, muster.ActionTeamCreated, a, "team", team.ID)
							wantChange(t, e, "name", nil, name)
							if findTeam(t, f, team.ID) == nil {
								t.Fatal("the new team is not listed")
							}
						}
				}},
			permCase{name: actor.Label() + " renames a team", actor: actor, want: want,
				prepare: func(t *testing.T, f *fixture, o *permOrg, a *muster.User) (func() error, func(*testing.T, *muster.AuditEvent)) {
					team := f.team(t, "Old "+uniqueEmail("t"))
					name := "New " + uniqueEmail("t")
					return func() error { _, err := f.svc.RenameTeam(f.as(a), team.ID, name, 0); return err },
						func(t *testing.T, e *muster.AuditEvent) {
							wantEvent(t, e, muster.ActionTeamRenamed, a, "team", team.ID)
							wantChange(t, e, "name", team.Name, name)
							if got := findTeam(t, f, team.ID); got == nil || got.Name != name {
								t.Fatalf("team after rename = %+v; want %q", got, name)
							}
						}
				}},
			permCase{name: actor.Label() + " removes a team", actor: actor, want: want,
				prepare: func(t *testing.T, f *fixture, o *permOrg, a *muster.User) (func() error, func(*testing.T, *muster.AuditEvent)) {
					team := f.team(t, "Doomed "+uniqueEmail("t"))
					return func() error { _, err := f.svc.RemoveTeam(f.as(a), team.ID, 0); return err },
						func(t *testing.T, e *muster.AuditEvent) {
							wantEvent(t, e, muster.ActionTeamRemoved, a, "team", team.ID)
							wantChange(t, e, "name", team.Name, nil)
							if findTeam(t, f, team.ID) != nil {
								t.Fatal("the removed team is still listed")
							}
						}
				}},
			// TEAM-4: nobody renames or removes the Default Team.
			permCase{name: actor.Label() + " renames the Default Team", actor: actor, want: muster.EFORBIDDEN,
				prepare: func(t *testing.T, f *fixture, o *permOrg, a *muster.User) (func() error, func(*testing.T, *muster.AuditEvent)) {
					return func() error { _, err := f.svc.RenameTeam(f.as(a), f.defaultTeam().ID, "Everyone", 0); return err }, nil
				}},
			permCase{name: actor.Label() + " removes the Default Team", actor: actor, want: muster.EFORBIDDEN,
				prepare: func(t *testing.T, f *fixture, o *permOrg, a *muster.User) (func() error, func(*testing.T, *muster.AuditEvent)) {
					return func() error { _, err := f.svc.RemoveTeam(f.as(a), f.defaultTeam().ID, 0); return err }, nil
				}},
		)
	}
	runPermCases(t, cases)
}

// Open Settings → Roles & Access; see the license counter; download the user
// list; manage Send As permissions: Owner and Admin. Change the license
// total: Owner only. See one's own profile, teams and Send As addresses:
// everyone.
func TestPermissionsSettings(t *testing.T) {
	type row struct {
		name    string
		allowed []muster.Role
		kind    permKind
		prepare func(t *testing.T, f *fixture, o *permOrg, a *muster.User) (func() error, func(*testing.T, *muster.AuditEvent))
	}
	read := func(call func(f *fixture, ctx context.Context, a *muster.User) error) func(*testing.T, *fixture, *permOrg, *muster.User) (func() error, func(*testing.T, *muster.AuditEvent)) {
		return func(t *testing.T, f *fixture, o *permOrg, a *muster.User) (func() error, func(*testing.T, *muster.AuditEvent)) {
			return func() error { return call(f, f.as(a), a) }, nil
		}
	}
	rows := []row{
		{"lists users", adminRoles, readOnly, read(func(f *fixture, ctx context.Context, a *muster.User) error {
			_, err := f.svc.FindUsers(ctx, service.UserQuery{})
			return err
		})},
		{"opens another user", adminRoles, readOnly, func(t *testing.T, f *fixture, o *permOrg, a *muster.User) (func() error, func(*testing.T, *muster.AuditEvent)) {
			someone, _ := f.invite("Someone", muster.RoleBasic)
			return func() error {
				u, err := f.svc.FindUser(f.as(a), someone.ID)
				if err == nil && u.Email != someone.Email {
					t.Errorf("FindUser = %s; want %s", u.Email, someone.Email)
				}
				return err
			}, nil
		}},
		{"sees the license counter", adminRoles, readOnly, read(func(f *fixture, ctx context.Context, a *muster.User) error {
			org, err := f.svc.LicenseUsage(ctx)
			if err == nil && (org.SeatsUsed < 4 || org.LicenseTotal < 1000) {
				f.t.Errorf("license counter = %d of %d; want at least the 4 actors of 1000", org.SeatsUsed, org.LicenseTotal)
			}
			return err
		})},
		{"reads the audit log", adminRoles, readOnly, read(func(f *fixture, ctx context.Context, a *muster.User) error {
			_, err := f.svc.FindAuditEvents(ctx, service.AuditQuery{})
			return err
		})},
		{"downloads the user list", adminRoles, readOnly, read(func(f *fixture, ctx context.Context, a *muster.User) error {
			return f.svc.ExportUsers(ctx, io.Discard, nil)
		})},
		{"asks for the user list by email", adminRoles, other, read(func(f *fixture, ctx context.Context, a *muster.User) error {
			_, err := f.svc.RequestUserList(ctx)
			return err
		})},
		{"pre-fills invite again", adminRoles, readOnly, func(t *testing.T, f *fixture, o *permOrg, a *muster.User) (func() error, func(*testing.T, *muster.AuditEvent)) {
			gone := f.deactivated(t, "Gone", muster.RoleBasic)
			return func() error { _, err := f.svc.InviteAgainDraft(f.as(a), gone.ID); return err }, nil
		}},
		{"lists Send As permissions", adminRoles, readOnly, read(func(f *fixture, ctx context.Context, a *muster.User) error {
			_, err := f.svc.SendAsPermissions(ctx)
			return err
		})},
		{"creates a Send As permission", adminRoles, writes, func(t *testing.T, f *fixture, o *permOrg, a *muster.User) (func() error, func(*testing.T, *muster.AuditEvent)) {
			var p *muster.SendAsPermission
			from := uniqueEmail("news")
			return func() (err error) {
					p, err = f.svc.CreateSendAs(f.as(a), service.SendAsInput{FromName: "News", FromEmail: from})
					return err
				}, func(t *testing.T, e *muster.AuditEvent) {
					wantEvent(t, e, muster.ActionSendAsCreated, a, "send_as", p.ID)
					wantChange(t, e, "from_email", nil, from)
				}
		}},
		{"creates an API token", adminRoles, writes, func(t *testing.T, f *fixture, o *permOrg, a *muster.User) (func() error, func(*testing.T, *muster.AuditEvent)) {
			var tok *service.NewAPIToken
			return func() (err error) { tok, err = f.svc.CreateAPIToken(f.as(a), "Sync", time.Time{}); return err },
				func(t *testing.T, e *muster.AuditEvent) {
					wantEvent(t, e, muster.ActionAPITokenCreated, a, "api_token", tok.Token.ID)
				}
		}},
		{"changes the license total", []muster.Role{muster.RoleOwner}, writes, func(t *testing.T, f *fixture, o *permOrg, a *muster.User) (func() error, func(*testing.T, *muster.AuditEvent)) {
			_, total := f.seats(t)
			return func() error { _, err := f.svc.SetLicenseTotal(f.as(a), total+1, 0); return err },
				func(t *testing.T, e *muster.AuditEvent) {
					wantEvent(t, e, muster.ActionLicenseTotalChanged, a, "org", f.org.ID)
					wantChange(t, e, "license_total", total, total+1)
					if _, now := f.seats(t); now != total+1 {
						t.Fatalf("license total = %d; want %d", now, total+1)
					}
				}
		}},
		{"sees their own profile", allRoles, readOnly, read(func(f *fixture, ctx context.Context, a *muster.User) error {
			me, err := f.svc.Me(ctx)
			if err == nil && me.ID != a.ID {
				f.t.Errorf("Me = #%d; want #%d", me.ID, a.ID)
			}
			if err == nil {
				_, err = f.svc.FindUser(ctx, a.ID)
			}
			return err
		})},
		{"sees their own teams", allRoles, readOnly, read(func(f *fixture, ctx context.Context, a *muster.User) error {
			primary, _, err := f.svc.MyTeams(ctx)
			if err == nil && primary.ID != a.PrimaryTeamID {
				f.t.Errorf("MyTeams primary = #%d; want #%d", primary.ID, a.PrimaryTeamID)
			}
			return err
		})},
		{"lists the teams with counts", adminRoles, readOnly, read(func(f *fixture, ctx context.Context, a *muster.User) error {
			listed, err := f.svc.Teams(ctx, service.TeamListQuery{})
			if err == nil && len(listed.Teams) == 0 {
				f.t.Error("no teams listed")
			}
			return err
		})},
		{"sees their own Send As addresses", allRoles, readOnly, read(func(f *fixture, ctx context.Context, a *muster.User) error {
			_, err := f.svc.MySenderAddresses(ctx)
			return err
		})},
	}
	var cases []permCase
	for _, actor := range allRoles {
		for _, r := range rows {
			cases = append(cases, permCase{name: actor.Label() + " " + r.name, actor: actor,
				want: spec2(actor, r.allowed...), kind: r.kind, prepare: r.prepare})
		}
	}
	runPermCases(t, cases)
}

// ROLE-2: nobody changes their own role or deactivates themselves.
func TestPermissionsNobodyChangesThemselves(t *testing.T) {
	var cases []permCase
	for _, actor := range allRoles {
		for _, to := range allRoles {
			if to == actor {
				continue
			}
			cases = append(cases, permCase{name: actor.Label() + " makes themself " + to.Label(), actor: actor,
				want: muster.EFORBIDDEN,
				prepare: func(t *testing.T, f *fixture, o *permOrg, a *muster.User) (func() error, func(*testing.T, *muster.AuditEvent)) {
					return func() error { _, err := f.svc.UpdateUser(f.as(a), a.ID, service.UserUpdate{Role: ptr(to)}); return err }, nil
				}})
		}
		cases = append(cases, permCase{name: actor.Label() + " deactivates themself", actor: actor, want: muster.EFORBIDDEN,
			prepare: func(t *testing.T, f *fixture, o *permOrg, a *muster.User) (func() error, func(*testing.T, *muster.AuditEvent)) {
				return func() error { _, err := f.svc.Deactivate(f.as(a), a.ID); return err }, nil
			}})
	}
	runPermCases(t, cases)
}

// ROLE-3: a role change or deactivation applies to the user's very next
// call.
func TestRoleChangeAppliesToNextCall(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 20)
		admin := f.active("Adele", muster.RoleAdmin)
		victim := f.active("Vic", muster.RoleBasic)
		if _, err := f.svc.FindUsers(f.as(admin), service.UserQuery{}); err != nil {
			t.Fatalf("Admin can't list users before the demotion: %v", err)
		}
		if _, err := f.svc.UpdateUser(f.as(f.owner), admin.ID, service.UserUpdate{Role: ptr(muster.RoleManager)}); err != nil {
			t.Fatal(err)
		}
		f.refused(t, muster.EFORBIDDEN, func() error {
			_, err := f.svc.Invite(f.as(admin), service.InviteInput{FirstName: "Late", LastName: "Invite",
				Email: uniqueEmail("late"), Role: muster.RoleBasic, PrimaryTeamID: f.defaultTeam().ID})
			return err
		})
		f.refused(t, muster.EFORBIDDEN, func() error { _, err := f.svc.Deactivate(f.as(admin), victim.ID); return err })
		f.refused(t, muster.EFORBIDDEN, func() error { _, err := f.svc.FindUsers(f.as(admin), service.UserQuery{}); return err })

		// Promoted back: the next call works again.
		if _, err := f.svc.UpdateUser(f.as(f.owner), admin.ID, service.UserUpdate{Role: ptr(muster.RoleAdmin)}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.FindUsers(f.as(admin), service.UserQuery{}); err != nil {
			t.Fatalf("re-promoted Admin can't list users: %v", err)
		}

		// Deactivated: every call of the user's context is refused as
		// unauthenticated, even reading their own profile.
		if _, err := f.svc.Deactivate(f.as(f.owner), admin.ID); err != nil {
			t.Fatal(err)
		}
		ctx := f.as(admin)
		calls := map[string]func() error{
			"Me":    func() error { _, err := f.svc.Me(ctx); return err },
			"Teams": func() error { _, err := f.svc.Teams(ctx, service.TeamListQuery{}); return err },
			"FindUsers": func() error {
				_, err := f.svc.FindUsers(ctx, service.UserQuery{})
				return err
			},
			"Invite": func() error {
				_, err := f.svc.Invite(ctx, service.InviteInput{FirstName: "Ghost", LastName: "Invite",
					Email: uniqueEmail("ghost"), Role: muster.RoleBasic, PrimaryTeamID: f.defaultTeam().ID})
				return err
			},
			"Deactivate": func() error { _, err := f.svc.Deactivate(ctx, victim.ID); return err },
			"CreateTeam": func() error { _, err := f.svc.CreateTeam(ctx, "Ghosts"); return err },
			"UpdateUser": func() error {
				_, err := f.svc.UpdateUser(ctx, victim.ID, service.UserUpdate{FirstName: ptr("Haunted")})
				return err
			},
		}
		for name, call := range calls {
			t.Run(name, func(t *testing.T) { f.on(t).refused(t, muster.EUNAUTHORIZED, call) })
		}
	})
}

func findTeam(t *testing.T, f *fixture, id int64) *muster.Team {
	t.Helper()
	listed, err := f.svc.Teams(operator(f.org.ID), service.TeamListQuery{})
	if err != nil {
		t.Fatal(err)
	}
	teams := listed.Teams
	for _, team := range teams {
		if team.ID == id {
			return team
		}
	}
	return nil
}

// wantGone checks a dead-link refusal and its reason.
func wantGone(t *testing.T, err error, reason string) {
	t.Helper()
	wantCode(t, err, muster.EGONE)
	var e *muster.Error
	if !asError(err, &e) || e.Reason != reason {
		t.Fatalf("dead link reason = %q (%v); want %q", e.Reason, err, reason)
	}
}
