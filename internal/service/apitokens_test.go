package service_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
)

func TestAPITokens(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 10)
		ctx := context.Background()
		admin := f.active("Ada", muster.RoleAdmin)
		tok, err := f.svc.CreateAPIToken(f.as(admin), "HR sync", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(tok.Secret, muster.APITokenPrefix) || len(tok.Secret) < 40 {
			t.Fatalf("secret %q: want a long mst_ token", tok.Secret)
		}
		found, err := f.svc.AuthenticateAPIToken(ctx, tok.Secret)
		if err != nil || found.UserID != admin.ID || found.OrgID != f.org.ID {
			t.Fatalf("AuthenticateAPIToken = %+v, %v; want Ada's token", found, err)
		}
		p := muster.Principal{UserID: found.UserID, OrgID: found.OrgID, Origin: "test"}
		// The token acts with its creator's ceiling: an Admin can't invite an Admin.
		_, err = f.svc.Invite(muster.NewContext(ctx, p), service.InviteInput{FirstName: "X", LastName: "Y",
			Email: uniqueEmail("x"), Role: muster.RoleAdmin, PrimaryTeamID: f.defaultTeam().ID})
		wantCode(t, err, muster.EFORBIDDEN)

		_, err = f.svc.AuthenticateAPIToken(ctx, tok.Secret+"x")
		wantCode(t, err, muster.EUNAUTHORIZED)

		// Demoted below Admin: the very next call fails.
		role := muster.RoleManager
		if _, err := f.svc.UpdateUser(f.as(f.owner), admin.ID, service.UserUpdate{Role: &role}); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.AuthenticateAPIToken(ctx, tok.Secret)
		wantCode(t, err, muster.EUNAUTHORIZED)

		// Deactivated: revoked for good, even if reinstated later.
		owned, err := f.svc.CreateAPIToken(f.as(f.owner), "Owner's", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		second := f.active("Bo", muster.RoleAdmin)
		bos, err := f.svc.CreateAPIToken(f.as(second), "Bo's", f.clock.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Deactivate(f.as(f.owner), second.ID); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.AuthenticateAPIToken(ctx, bos.Secret)
		wantCode(t, err, muster.EUNAUTHORIZED)
		tokens, err := f.svc.APITokens(f.as(f.owner))
		if err != nil || len(tokens) != 2 {
			t.Fatalf("APITokens = %d, %v; want the Owner's and Ada's (Bo's was revoked)", len(tokens), err)
		}

		// Expiry.
		third := f.active("Cy", muster.RoleAdmin)
		cys, err := f.svc.CreateAPIToken(f.as(third), "Cy's", f.clock.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(2 * time.Hour)
		_, err = f.svc.AuthenticateAPIToken(ctx, cys.Secret)
		wantCode(t, err, muster.EUNAUTHORIZED)

		// Revocation: an Admin only their own; the Owner any.
		wantCode(t, f.svc.RevokeAPIToken(f.as(third), owned.Token.ID), muster.EFORBIDDEN)
		if err := f.svc.RevokeAPIToken(f.as(f.owner), owned.Token.ID); err != nil {
			t.Fatal(err)
		}
		_, err = f.svc.AuthenticateAPIToken(ctx, owned.Secret)
		wantCode(t, err, muster.EUNAUTHORIZED)

		// Managers can't make tokens; names are checked.
		mgr := f.active("Max", muster.RoleManager)
		_, err = f.svc.CreateAPIToken(f.as(mgr), "mine", time.Time{})
		wantCode(t, err, muster.EFORBIDDEN)
		_, err = f.svc.CreateAPIToken(f.as(f.owner), "  ", time.Time{})
		wantCode(t, err, muster.EINVALID)
		_, err = f.svc.CreateAPIToken(f.as(f.owner), "past", f.clock.Now().Add(-time.Minute))
		wantCode(t, err, muster.EINVALID)
	})
}
