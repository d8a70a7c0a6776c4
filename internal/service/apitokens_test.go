package service_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
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

// TestAPITokenCreationRacesDeactivationPostgres: a token whose creation
// overlaps its creator's deactivation is revoked with their other tokens
// (or refused): it never outlives the deactivation to work again once the
// person is invited back and accepts (DEA-1). The deactivation runs on
// another instance in the middle of the creation, just before the token is
// written; only PostgreSQL runs the two at once.
func TestAPITokenCreationRacesDeactivationPostgres(t *testing.T) {
	t.Parallel()
	url := storetest.PostgresSchema(t)
	db := storetest.OpenPostgresAt(t, url)
	// The deactivating instance's connections are told apart by name, so
	// that the test sees them wait for a lock.
	leaver := fmt.Sprintf("muster_leaver_%d", emailSeq.Add(1))
	other := storetest.OpenPostgresAt(t, url+"&application_name="+leaver)
	raw := storetest.OpenSQL(t, url)
	c := newClock()
	racing := &raceAtTokenStore{DB: db}
	f := setupWith(t, db, newServiceOn(racing, c), c, 10, uniqueEmail("owner"))
	admin := f.active("Ada", muster.RoleAdmin)

	deactivated := make(chan error, 1)
	racing.atToken = func() {
		go func() {
			_, err := newService(other, c).Deactivate(f.as(f.owner), admin.ID)
			deactivated <- err
		}()
		// Until the deactivation has committed, or waits for a lock the
		// creation holds.
		for waiting := 0; waiting == 0; {
			select {
			case err := <-deactivated:
				deactivated <- err
				return
			default:
			}
			err := raw.QueryRow(`SELECT count(*) FROM pg_stat_activity
				WHERE application_name = $1 AND wait_event_type = 'Lock'`, leaver).Scan(&waiting)
			if err != nil {
				t.Error(err)
				return
			}
		}
	}
	tok, createErr := f.svc.CreateAPIToken(f.as(admin), "Racing", time.Time{})
	if err := <-deactivated; err != nil {
		t.Fatalf("Deactivate: %v", err)
	}
	if createErr != nil {
		wantCode(t, createErr, muster.EUNAUTHORIZED)
		return
	}
	if _, err := f.svc.AuthenticateAPIToken(context.Background(), tok.Secret); muster.ErrorCode(err) != muster.EUNAUTHORIZED {
		t.Fatalf("the token of a deactivated Admin authenticates (%v)", err)
	}
	// Invited back, Ada gets back none of the tokens her deactivation ended.
	again, err := f.svc.InviteAgain(f.as(f.owner), admin.ID, service.UserUpdate{})
	if err != nil {
		t.Fatal(err)
	}
	f.accept(again.Link)
	if found, err := f.svc.AuthenticateAPIToken(context.Background(), tok.Secret); err == nil {
		t.Fatalf("token %d, made as its creator was deactivated, works again once she is back", found.ID)
	}
	tokens, err := f.svc.APITokens(f.as(f.owner))
	if err != nil {
		t.Fatal(err)
	}
	for _, live := range tokens {
		if live.ID == tok.Token.ID {
			t.Fatalf("token %d, made as its creator was deactivated, is listed live", live.ID)
		}
	}
}

// raceAtTokenStore is a store whose transactions run atToken, once, just
// before an API token is written.
type raceAtTokenStore struct {
	*sqlstore.DB
	atToken func()
}

func (s *raceAtTokenStore) Update(ctx context.Context, fn func(muster.Tx) error) error {
	return s.DB.Update(ctx, func(tx muster.Tx) error { return fn(raceAtTokenTx{Tx: tx, s: s}) })
}

type raceAtTokenTx struct {
	muster.Tx
	s *raceAtTokenStore
}

func (tx raceAtTokenTx) CreateAPIToken(ctx context.Context, t *muster.APIToken) error {
	if f := tx.s.atToken; f != nil {
		tx.s.atToken = nil
		f()
	}
	return tx.Tx.CreateAPIToken(ctx, t)
}
