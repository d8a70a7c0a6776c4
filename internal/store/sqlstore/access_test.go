package sqlstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestEndUserAccess: the user's live invitation, password reset link,
// sessions, API token and Send As grants all end, in one statement on
// PostgreSQL, which returns the permissions whose grants went, by From
// Email and with new versions; another user's stay as they were.
func TestEndUserAccess(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
		ended, kept := &access{}, &access{}
		err := db.Update(ctx, func(tx muster.Tx) error {
			org := &muster.Org{Name: "Acme", Region: "us", LicenseTotal: 5, CreatedAt: now}
			if err := tx.CreateOrg(ctx, org); err != nil {
				return err
			}
			team := &muster.Team{OrgID: org.ID, Name: "Everyone", IsDefault: true, CreatedAt: now}
			if err := tx.CreateTeam(ctx, team); err != nil {
				return err
			}
			for i, a := range []*access{ended, kept} {
				if err := a.create(ctx, tx, org.ID, team.ID, fmt.Sprint(i), now); err != nil {
					return err
				}
			}
			// Sales is shared; Billing is the ended user's alone.
			for _, p := range []*muster.SendAsPermission{
				{OrgID: org.ID, FromName: "Sales", FromEmail: "sales@example.com", UserIDs: []int64{ended.user.ID, kept.user.ID}},
				{OrgID: org.ID, FromName: "Billing", FromEmail: "billing@example.com", UserIDs: []int64{ended.user.ID}},
			} {
				p.CreatedAt, p.UpdatedAt = now, now
				if err := tx.CreateSendAs(ctx, p); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		before := db.RoundTrips()
		var revoked []*muster.SendAsPermission
		err = db.Update(ctx, func(tx muster.Tx) (err error) {
			revoked, err = tx.EndUserAccess(ctx, ended.user.ID, muster.LinkInactive, now.Add(time.Minute))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range revoked {
			got = append(got, fmt.Sprintf("%s v%d %v", p.FromEmail, p.Version, p.UserIDs))
		}
		if want := []string{"billing@example.com v2 []", "sales@example.com v2 []"}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("permissions revoked: %q; want %q", got, want)
		}
		// SQLite runs in the process: it counts no round trips.
		if n := db.RoundTrips() - before; db.RoundTrips() > 0 && n != 2 {
			t.Errorf("EndUserAccess took %d round trips; want 2: BEGIN with its one statement, and COMMIT", n)
		}
		err = db.View(ctx, func(tx muster.Tx) error {
			for _, a := range []*access{ended, kept} {
				if err := a.read(ctx, tx); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		err = db.View(ctx, func(tx muster.Tx) error {
			for _, a := range []*access{ended, kept} {
				perms, err := tx.FindUserSendAs(ctx, a.user.ID)
				if err != nil {
					return err
				}
				a.sendAs = len(perms)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if ended.invitation.RevokedReason != muster.LinkInactive || ended.invitation.RevokedAt.IsZero() ||
			ended.reset.UsedAt.IsZero() || ended.sessions != 0 || ended.token.RevokedAt.IsZero() || ended.sendAs != 0 {
			t.Errorf("after EndUserAccess: invitation revoked %v (%q), reset used %v, %d sessions, token revoked %v, "+
				"%d Send As grants; want all ended", ended.invitation.RevokedAt, ended.invitation.RevokedReason,
				ended.reset.UsedAt, ended.sessions, ended.token.RevokedAt, ended.sendAs)
		}
		if !kept.invitation.RevokedAt.IsZero() || !kept.reset.UsedAt.IsZero() || kept.sessions != 1 ||
			!kept.token.RevokedAt.IsZero() || kept.sendAs != 1 {
			t.Errorf("another user's access changed: invitation revoked %v, reset used %v, %d sessions, token revoked %v, "+
				"%d Send As grants", kept.invitation.RevokedAt, kept.reset.UsedAt, kept.sessions, kept.token.RevokedAt,
				kept.sendAs)
		}
	})
}

// access is one user's ways in, as created and as read back.
type access struct {
	user       *muster.User
	invitation *muster.Invitation
	reset      *muster.PasswordReset
	token      *muster.APIToken
	sessions   int
	sendAs     int // permissions granted
}

func (a *access) create(ctx context.Context, tx muster.Tx, orgID, teamID int64, tag string, now time.Time) error {
	a.user = &muster.User{OrgID: orgID, Email: "user" + tag + "@example.com", FirstName: "User", LastName: tag,
		Role: muster.RoleBasic, Status: muster.StatusActive, InvitedAt: now, ActivatedAt: now, UpdatedAt: now,
		PrimaryTeamID: teamID}
	if err := tx.CreateUser(ctx, a.user); err != nil {
		return err
	}
	later := now.Add(time.Hour)
	a.invitation = &muster.Invitation{OrgID: orgID, UserID: a.user.ID, TokenHash: []byte("invitation " + tag),
		CreatedAt: now, ExpiresAt: later}
	if err := tx.CreateInvitation(ctx, a.invitation); err != nil {
		return err
	}
	a.reset = &muster.PasswordReset{OrgID: orgID, UserID: a.user.ID, TokenHash: []byte("reset " + tag),
		CreatedAt: now, ExpiresAt: later}
	if err := tx.CreatePasswordReset(ctx, a.reset); err != nil {
		return err
	}
	a.token = &muster.APIToken{OrgID: orgID, UserID: a.user.ID, Name: "script", TokenHash: []byte("token " + tag),
		CreatedAt: now}
	if err := tx.CreateAPIToken(ctx, a.token); err != nil {
		return err
	}
	return tx.CreateSession(ctx, &muster.Session{OrgID: orgID, UserID: a.user.ID, TokenHash: []byte("session " + tag),
		CreatedAt: now, LastSeenAt: now, ExpiresAt: later, Method: "password"})
}

func (a *access) read(ctx context.Context, tx muster.Tx) error {
	var err error
	if a.invitation, err = tx.FindInvitationByTokenHash(ctx, a.invitation.TokenHash); err != nil {
		return err
	}
	if a.reset, err = tx.FindPasswordResetByTokenHash(ctx, a.reset.TokenHash); err != nil {
		return err
	}
	if a.token, err = tx.FindAPITokenByHash(ctx, a.token.TokenHash); err != nil {
		return err
	}
	sessions, err := tx.FindUserSessions(ctx, a.user.ID)
	a.sessions = len(sessions)
	return err
}
