package service_test

// Bad input (INV-2): every malformed or out-of-place value is refused with a
// typed error, names the field where a form has one, and writes nothing —
// in the actor's organization or any other.

import (
	"context"
	"strings"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
)

func TestInviteValidation(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 20)
		g := secondOrg(t, f)
		admin := f.active("Ada", muster.RoleAdmin)
		taken, _ := f.invite("Tak", muster.RoleBasic)
		elsewhere, _ := g.invite("Els", muster.RoleBasic)
		sales := f.team(t, "Sales")

		good := func() service.InviteInput {
			return service.InviteInput{FirstName: "Gina", LastName: "Good", Email: uniqueEmail("gina"),
				Role: muster.RoleBasic, PrimaryTeamID: f.defaultTeam().ID}
		}
		long := strings.Repeat("a", 300)
		cases := []struct {
			name  string
			actor *muster.User
			edit  func(in *service.InviteInput)
			code  string
			field string
		}{
			{"empty first name", nil, func(in *service.InviteInput) { in.FirstName = "" }, muster.EINVALID, "first_name"},
			{"blank first name", nil, func(in *service.InviteInput) { in.FirstName = "  \t " }, muster.EINVALID, "first_name"},
			{"empty last name", nil, func(in *service.InviteInput) { in.LastName = "" }, muster.EINVALID, "last_name"},
			{"300-character first name", nil, func(in *service.InviteInput) { in.FirstName = long }, muster.EINVALID, "first_name"},
			{"300-character last name", nil, func(in *service.InviteInput) { in.LastName = long }, muster.EINVALID, "last_name"},
			{"101-character first name", nil, func(in *service.InviteInput) { in.FirstName = strings.Repeat("b", 101) }, muster.EINVALID, "first_name"},
			{"control character in name", nil, func(in *service.InviteInput) { in.LastName = "Null\x00Byte" }, muster.EINVALID, "last_name"},
			{"empty email", nil, func(in *service.InviteInput) { in.Email = "" }, muster.EINVALID, "email"},
			{"email without @", nil, func(in *service.InviteInput) { in.Email = "plainaddress" }, muster.EINVALID, "email"},
			{"email without local part", nil, func(in *service.InviteInput) { in.Email = "@example.com" }, muster.EINVALID, "email"},
			{"email without dot in domain", nil, func(in *service.InviteInput) { in.Email = "gina@localhost" }, muster.EINVALID, "email"},
			{"email with two @", nil, func(in *service.InviteInput) { in.Email = "gina@@example.com" }, muster.EINVALID, "email"},
			{"email with a space", nil, func(in *service.InviteInput) { in.Email = "gina good@example.com" }, muster.EINVALID, "email"},
			{"email with display name", nil, func(in *service.InviteInput) { in.Email = "Gina <gina@example.com>" }, muster.EINVALID, "email"},
			{"two emails", nil, func(in *service.InviteInput) { in.Email = "a@example.com, b@example.com" }, muster.EINVALID, "email"},
			{"email with double dot", nil, func(in *service.InviteInput) { in.Email = "gina@example..com" }, muster.EINVALID, "email"},
			{"email domain starts with dot", nil, func(in *service.InviteInput) { in.Email = "gina@.example.com" }, muster.EINVALID, "email"},
			{"email domain ends with dot", nil, func(in *service.InviteInput) { in.Email = "gina@example.com." }, muster.EINVALID, "email"},
			{"300-character email", nil, func(in *service.InviteInput) { in.Email = long + "@example.com" }, muster.EINVALID, "email"},
			{"no role", nil, func(in *service.InviteInput) { in.Role = "" }, muster.EINVALID, "role"},
			{"unknown role", nil, func(in *service.InviteInput) { in.Role = "superuser" }, muster.EINVALID, "role"},
			{"role above the Admin's ceiling", admin, func(in *service.InviteInput) { in.Role = muster.RoleAdmin }, muster.EFORBIDDEN, "role"},
			{"Owner role", nil, func(in *service.InviteInput) { in.Role = muster.RoleOwner }, muster.EFORBIDDEN, "role"},
			{"no primary team", nil, func(in *service.InviteInput) { in.PrimaryTeamID = 0 }, muster.EINVALID, muster.FieldPrimaryTeamID},
			{"unknown primary team", nil, func(in *service.InviteInput) { in.PrimaryTeamID = 987_654 }, muster.EINVALID, muster.FieldPrimaryTeamID},
			{"primary team of another org", nil, func(in *service.InviteInput) { in.PrimaryTeamID = g.defaultTeam().ID }, muster.EINVALID, muster.FieldPrimaryTeamID},
			{"unknown secondary team", nil, func(in *service.InviteInput) { in.SecondaryTeamIDs = []int64{sales.ID, 987_654} }, muster.EINVALID, muster.FieldSecondaryTeamIDs},
			{"secondary team of another org", nil, func(in *service.InviteInput) { in.SecondaryTeamIDs = []int64{g.defaultTeam().ID} }, muster.EINVALID, muster.FieldSecondaryTeamIDs},
			{"email Pending in this org", nil, func(in *service.InviteInput) { in.Email = taken.Email }, muster.ECONFLICT, "email"},
			{"email Pending in this org, other case", nil, func(in *service.InviteInput) { in.Email = strings.ToUpper(taken.Email) }, muster.ECONFLICT, "email"},
			{"email Active in this org", nil, func(in *service.InviteInput) { in.Email = f.owner.Email }, muster.ECONFLICT, "email"},
			{"email Pending in another org", nil, func(in *service.InviteInput) { in.Email = elsewhere.Email }, muster.ECONFLICT, "email"},
			{"email Active in another org", admin, func(in *service.InviteInput) { in.Email = " " + strings.ToUpper(g.owner.Email) }, muster.ECONFLICT, "email"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				f := f.on(t)
				actor := c.actor
				if actor == nil {
					actor = f.owner
				}
				in := good()
				c.edit(&in)
				err := f.refused(t, c.code, func() error { _, err := f.svc.Invite(f.as(actor), in); return err }, g)
				fields := muster.ErrorFields(err)
				if len(fields) == 0 || fields[0].Field != c.field {
					t.Fatalf("fields = %v; want the %s field first", fields, c.field)
				}
				if muster.ErrorMessage(err) == "" || strings.Contains(muster.ErrorMessage(err), "Something went wrong") {
					t.Fatalf("message %q does not say what is wrong", muster.ErrorMessage(err))
				}
			})
		}

		// Several problems at once are reported together.
		err := f.refused(t, muster.EINVALID, func() error {
			_, err := f.svc.Invite(f.as(f.owner), service.InviteInput{Email: "nope", Role: "x"})
			return err
		})
		if n := len(muster.ErrorFields(err)); n != 5 {
			t.Fatalf("fields = %v; want 5 problems (first name, last name, email, role, primary team)", muster.ErrorFields(err))
		}

		// And the good input, for contrast, works.
		if _, err := f.svc.Invite(f.as(f.owner), good()); err != nil {
			t.Fatalf("the valid invitation failed: %v", err)
		}
	})
}

func TestUpdateUserValidation(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 20)
		g := secondOrg(t, f)
		u := f.active("Uma", muster.RoleBasic)
		long := strings.Repeat("z", 300)
		cases := []struct {
			name string
			upd  service.UserUpdate
			code string
		}{
			{"empty first name", service.UserUpdate{FirstName: ptr("")}, muster.EINVALID},
			{"blank last name", service.UserUpdate{LastName: ptr("   ")}, muster.EINVALID},
			{"300-character first name", service.UserUpdate{FirstName: &long}, muster.EINVALID},
			{"300-character last name", service.UserUpdate{LastName: &long}, muster.EINVALID},
			{"unknown role", service.UserUpdate{Role: ptr(muster.Role("root"))}, muster.EINVALID},
			{"Owner role", service.UserUpdate{Role: ptr(muster.RoleOwner)}, muster.EFORBIDDEN},
			{"unknown primary team", service.UserUpdate{PrimaryTeamID: ptr(int64(987_654))}, muster.EINVALID},
			{"primary team of another org", service.UserUpdate{PrimaryTeamID: ptr(g.defaultTeam().ID)}, muster.EINVALID},
			{"unknown secondary team", service.UserUpdate{SecondaryTeamIDs: &[]int64{987_654}}, muster.EINVALID},
			{"secondary team of another org", service.UserUpdate{SecondaryTeamIDs: &[]int64{g.defaultTeam().ID}}, muster.EINVALID},
			{"good name, bad team", service.UserUpdate{FirstName: ptr("Ursula"), PrimaryTeamID: ptr(int64(987_654))}, muster.EINVALID},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				f := f.on(t)
				f.refused(t, c.code, func() error { _, err := f.svc.UpdateUser(f.as(f.owner), u.ID, c.upd); return err }, g)
			})
		}

		// A secondary team equal to the primary is folded away, duplicates
		// too: a team is never both kinds for one user.
		def := f.defaultTeam().ID
		sales := f.team(t, "Sales")
		got, err := f.svc.UpdateUser(f.as(f.owner), u.ID, service.UserUpdate{SecondaryTeamIDs: &[]int64{def, sales.ID, sales.ID}})
		if err != nil || got.PrimaryTeamID != def || len(got.SecondaryTeamIDs) != 1 || got.SecondaryTeamIDs[0] != sales.ID {
			t.Fatalf("update = %+v, %v; want primary %d and secondary [%d]", got, err, def, sales.ID)
		}
		// An edit that changes nothing writes nothing.
		before := f.state(t)
		if _, err := f.svc.UpdateUser(f.as(f.owner), u.ID, service.UserUpdate{FirstName: ptr(" Uma "), Role: ptr(muster.RoleBasic)}); err != nil {
			t.Fatal(err)
		}
		if d := diffStates(before, f.state(t)); d != "" {
			t.Fatalf("an edit that changes nothing changed the org:\n%s", d)
		}
	})
}

// IDs of another org's users and teams are not found: nothing reveals that
// they exist, and nothing changes in either org.
func TestOtherOrgIDs(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 20)
		g := secondOrg(t, f)
		if _, err := g.svc.SetEmailAtScale(g.as(g.owner), true); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.SetEmailAtScale(f.as(f.owner), true); err != nil {
			t.Fatal(err)
		}
		theirPending, _ := g.invite("Theo", muster.RoleBasic)
		theirActive := g.active("Tina", muster.RoleBasic)
		theirAdmin := g.active("Tom", muster.RoleAdmin)
		theirGone := g.deactivated(t, "Tess", muster.RoleBasic)
		theirTeam := g.team(t, "Their Team")
		theirPerm, err := g.svc.CreateSendAs(g.as(g.owner), service.SendAsInput{FromName: "Theirs", FromEmail: uniqueEmail("theirs")})
		if err != nil {
			t.Fatal(err)
		}
		mine := f.active("Mia", muster.RoleAdmin)

		calls := map[string]func(ctx context.Context) error{
			"resend":   func(ctx context.Context) error { _, err := f.svc.ResendInvite(ctx, theirPending.ID); return err },
			"withdraw": func(ctx context.Context) error { _, err := f.svc.Withdraw(ctx, theirPending.ID); return err },
			"edit": func(ctx context.Context) error {
				_, err := f.svc.UpdateUser(ctx, theirActive.ID, service.UserUpdate{FirstName: ptr("Hijacked")})
				return err
			},
			"change role": func(ctx context.Context) error {
				_, err := f.svc.UpdateUser(ctx, theirActive.ID, service.UserUpdate{Role: ptr(muster.RoleManager)})
				return err
			},
			"deactivate":   func(ctx context.Context) error { _, err := f.svc.Deactivate(ctx, theirActive.ID); return err },
			"invite again": func(ctx context.Context) error { _, err := f.svc.InviteAgainDraft(ctx, theirGone.ID); return err },
			"open user":    func(ctx context.Context) error { _, err := f.svc.FindUser(ctx, theirActive.ID); return err },
			"transfer": func(ctx context.Context) error {
				_, err := f.svc.TransferOwnership(ctx, theirAdmin.ID, password)
				return err
			},
			"rename team":    func(ctx context.Context) error { _, err := f.svc.RenameTeam(ctx, theirTeam.ID, "Ours", 0); return err },
			"remove team":    func(ctx context.Context) error { _, err := f.svc.RemoveTeam(ctx, theirTeam.ID, 0); return err },
			"open send as":   func(ctx context.Context) error { _, err := f.svc.SendAs(ctx, theirPerm.ID); return err },
			"delete send as": func(ctx context.Context) error { _, err := f.svc.DeleteSendAs(ctx, theirPerm.ID, 0); return err },
			"edit send as": func(ctx context.Context) error {
				_, err := f.svc.UpdateSendAs(ctx, theirPerm.ID, service.SendAsInput{FromName: "Ours", FromEmail: uniqueEmail("ours")})
				return err
			},
		}
		actors := map[string]func() context.Context{
			"Owner":    func() context.Context { return f.as(f.owner) },
			"Admin":    func() context.Context { return f.as(mine) },
			"operator": func() context.Context { return operator(f.org.ID) },
		}
		for actorName, ctx := range actors {
			for name, call := range calls {
				if name == "transfer" && actorName == "Admin" {
					continue // refused earlier, for not being the Owner
				}
				t.Run(actorName+" "+name, func(t *testing.T) {
					f := f.on(t)
					err := f.refused(t, muster.ENOTFOUND, func() error { return call(ctx()) }, g.on(t))
					if strings.Contains(muster.ErrorMessage(err), theirActive.Email) {
						t.Fatalf("refusal %q reveals the other org's user", muster.ErrorMessage(err))
					}
				})
			}
		}

		// Granting Send As to another org's user is refused as bad input.
		f.refused(t, muster.EINVALID, func() error {
			_, err := f.svc.CreateSendAs(f.as(f.owner), service.SendAsInput{FromName: "Ours", FromEmail: uniqueEmail("ours"),
				UserIDs: []int64{theirActive.ID}})
			return err
		}, g)

		// A principal whose org is not the user's own is no one.
		forged := muster.NewContext(context.Background(), muster.Principal{UserID: theirAdmin.ID, OrgID: f.org.ID, Origin: "test"})
		f.refused(t, muster.EUNAUTHORIZED, func() error { _, err := f.svc.FindUsers(forged, service.UserQuery{}); return err }, g)
		f.refused(t, muster.EUNAUTHORIZED, func() error { _, err := f.svc.Deactivate(forged, mine.ID); return err }, g)
		// No principal at all.
		f.refused(t, muster.EUNAUTHORIZED, func() error { _, err := f.svc.Deactivate(context.Background(), mine.ID); return err }, g)
	})
}

func TestOtherBadInput(t *testing.T) {
	t.Parallel()
	runStoresParallel(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 20)
		for _, cursor := range []string{"!!!", "bm90LWEtY3Vyc29y", "MDpub3RoaW5n"} {
			_, err := f.svc.FindUsers(f.as(f.owner), service.UserQuery{Cursor: cursor})
			wantCode(t, err, muster.EINVALID)
		}
		for _, id := range []int64{0, -1, 987_654} {
			f.refused(t, muster.ENOTFOUND, func() error { _, err := f.svc.Deactivate(f.as(f.owner), id); return err })
			f.refused(t, muster.ENOTFOUND, func() error { _, err := f.svc.Withdraw(f.as(f.owner), id); return err })
			f.refused(t, muster.ENOTFOUND, func() error { _, err := f.svc.RemoveTeam(f.as(f.owner), id, 0); return err })
		}

		// Creating an organization checks its fields too.
		bad := []service.NewOrg{
			{Name: "", LicenseTotal: 5, OwnerEmail: uniqueEmail("o"), OwnerFirstName: "O", OwnerLastName: "O"},
			{Name: strings.Repeat("o", 300), LicenseTotal: 5, OwnerEmail: uniqueEmail("o"), OwnerFirstName: "O", OwnerLastName: "O"},
			{Name: "Org", LicenseTotal: 0, OwnerEmail: uniqueEmail("o"), OwnerFirstName: "O", OwnerLastName: "O"},
			{Name: "Org", LicenseTotal: 5, OwnerEmail: "not an email", OwnerFirstName: "O", OwnerLastName: "O"},
			{Name: "Org", LicenseTotal: 5, OwnerEmail: uniqueEmail("o"), OwnerFirstName: "", OwnerLastName: "O"},
			{Name: "Org", Region: "Europe!", LicenseTotal: 5, OwnerEmail: uniqueEmail("o"), OwnerFirstName: "O", OwnerLastName: "O"},
		}
		orgs := countOrgs(t, f)
		for _, in := range bad {
			_, err := f.svc.CreateOrg(operator(0), in)
			wantCode(t, err, muster.EINVALID)
		}
		_, err := f.svc.CreateOrg(operator(0), service.NewOrg{Name: "Org", LicenseTotal: 5, OwnerEmail: strings.ToUpper(f.owner.Email),
			OwnerFirstName: "O", OwnerLastName: "O"})
		wantCode(t, err, muster.ECONFLICT)
		// Only an operator creates organizations.
		_, err = f.svc.CreateOrg(f.as(f.owner), service.NewOrg{Name: "Org", LicenseTotal: 5, OwnerEmail: uniqueEmail("o"),
			OwnerFirstName: "O", OwnerLastName: "O"})
		wantCode(t, err, muster.EFORBIDDEN)
		if n := countOrgs(t, f); n != orgs {
			t.Fatalf("refused organizations were created: %d → %d", orgs, n)
		}
	})
}

func countOrgs(t *testing.T, f *fixture) int {
	t.Helper()
	var n int
	err := f.db.View(context.Background(), func(tx muster.Tx) error {
		var err error
		n, err = tx.CountOrgs(context.Background())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
