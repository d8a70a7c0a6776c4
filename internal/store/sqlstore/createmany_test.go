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

// TestCreateMany: the multi-row writes of an import's batch give every row
// its own id (in chunks of several sizes: 300 rows), write the users'
// memberships and member counts, the links' expiries on their users, and
// the audit events as they were.
func TestCreateMany(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
		expires := now.Add(72 * time.Hour)
		const n = 300
		org := &muster.Org{Name: "Many", Region: "us", LicenseTotal: n, CreatedAt: now}
		var main, side *muster.Team
		users := make([]*muster.User, n)
		err := db.Update(ctx, func(tx muster.Tx) error {
			if err := tx.CreateOrg(ctx, org); err != nil {
				return err
			}
			main = &muster.Team{OrgID: org.ID, Name: "Main", IsDefault: true, CreatedAt: now}
			side = &muster.Team{OrgID: org.ID, Name: "Side", CreatedAt: now}
			for _, team := range []*muster.Team{main, side} {
				if err := tx.CreateTeam(ctx, team); err != nil {
					return err
				}
			}
			for i := range users {
				users[i] = &muster.User{OrgID: org.ID, Email: fmt.Sprintf("person%d@example.com", i),
					FirstName: "Person", LastName: fmt.Sprint(i), Role: muster.RoleBasic, Status: muster.StatusPending,
					InvitedAt: now, UpdatedAt: now, PrimaryTeamID: main.ID}
				if i%2 == 0 {
					users[i].SecondaryTeamIDs = []int64{side.ID}
				}
				if i%3 != 0 {
					users[i].InvitationExpiresAt = expires // the rest get theirs from their links
				}
			}
			return tx.CreateUsers(ctx, users)
		})
		if err != nil {
			t.Fatal(err)
		}

		// Text that JSON escapes, which the events keep as written (on
		// PostgreSQL many events go as one JSON parameter).
		const note = "Zoë \"Q\" O'Brien \\ 🎉 \u2028"
		invs := make([]*muster.Invitation, n)
		msgs := make([]*muster.OutboxMessage, n)
		events := make([]*muster.AuditEvent, n)
		for i, u := range users {
			invs[i] = &muster.Invitation{OrgID: org.ID, UserID: u.ID, TokenHash: []byte(fmt.Sprintf("hash-%d", i)),
				CreatedAt: now, ExpiresAt: expires}
			msgs[i] = &muster.OutboxMessage{OrgID: org.ID, MessageID: fmt.Sprintf("<%d@many>", i), To: u.Email,
				Subject: "Join", Text: "text", HTML: "html", CreatedAt: now, Bulk: true}
			events[i] = &muster.AuditEvent{OrgID: org.ID, ActorLabel: "Operator", Action: muster.ActionUserInvited,
				TargetType: muster.TargetUser, TargetID: u.ID, TargetLabel: u.Email,
				After: map[string]any{"email": u.Email, "note": note}, Origin: "import 1", CreatedAt: now}
		}
		err = db.Update(ctx, func(tx muster.Tx) error {
			if err := tx.CreateInvitations(ctx, invs); err != nil {
				return err
			}
			if err := tx.CreateOutboxMessages(ctx, msgs); err != nil {
				return err
			}
			_, err := tx.CreateAuditEvents(ctx, events, 0)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}

		err = db.View(ctx, func(tx muster.Tx) error {
			emails := make([]string, n)
			for i, u := range users {
				emails[i] = u.Email
			}
			found, err := tx.FindUsersByEmails(ctx, org.ID, emails)
			if err != nil {
				return err
			}
			byEmail := map[string]*muster.User{}
			for _, u := range found {
				byEmail[u.Email] = u
			}
			for i, want := range users {
				got := byEmail[want.Email]
				if got == nil || got.ID != want.ID || got.LastName != fmt.Sprint(i) || got.PrimaryTeamID != main.ID ||
					len(got.SecondaryTeamIDs) != len(want.SecondaryTeamIDs) || !got.InvitationExpiresAt.Equal(expires) {
					t.Fatalf("user %d: %+v; want %+v with its link's expiry", i, got, want)
				}
			}
			teams, err := tx.FindTeams(ctx, org.ID)
			if err != nil {
				return err
			}
			for _, team := range teams {
				if (team.ID == main.ID && team.PrimaryCount != n) || (team.ID == side.ID && team.SecondaryCount != n/2) {
					t.Errorf("team %s: %d primary and %d secondary members", team.Name, team.PrimaryCount, team.SecondaryCount)
				}
			}
			for i, inv := range invs {
				got, err := tx.FindInvitationByTokenHash(ctx, inv.TokenHash)
				if err != nil {
					return err
				}
				if got.UserID != users[i].ID || !got.ExpiresAt.Equal(inv.ExpiresAt) {
					t.Fatalf("link %d: %+v; want one of user %d expiring at %v", i, got, users[i].ID, inv.ExpiresAt)
				}
			}
			queued, err := tx.FindOutboxMessages(ctx, muster.OutboxFilter{OrgID: org.ID, Limit: n + 1})
			if err != nil {
				return err
			}
			byMessageID := map[string]*muster.OutboxMessage{}
			for _, m := range queued {
				byMessageID[m.MessageID] = m
			}
			for i, m := range msgs {
				if got := byMessageID[m.MessageID]; len(queued) != n || got == nil || got.To != users[i].Email || !got.Bulk {
					t.Fatalf("message %d: %+v among %d; want to %s", i, got, len(queued), users[i].Email)
				}
			}
			logged, err := tx.FindAuditEvents(ctx, muster.AuditFilter{OrgID: org.ID, Limit: n + 1})
			if err != nil {
				return err
			}
			for _, e := range logged {
				i := int(e.ID - events[0].ID)
				if len(logged) != n || i < 0 || i >= n || events[i].ID != e.ID || e.TargetID != users[i].ID ||
					e.After["email"] != users[i].Email || e.After["note"] != note {
					t.Fatalf("audit event %+v among %d; want the events' ids in their order", e, len(logged))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		t.Run("ErrConflict", func(t *testing.T) {
			err := db.Update(ctx, func(tx muster.Tx) error {
				return tx.CreateUsers(ctx, []*muster.User{
					{OrgID: org.ID, Email: "new@example.com", FirstName: "New", LastName: "One", Role: muster.RoleBasic,
						Status: muster.StatusPending, InvitedAt: now, UpdatedAt: now, PrimaryTeamID: main.ID},
					{OrgID: org.ID, Email: "PERSON7@example.com", FirstName: "Same", LastName: "Email", Role: muster.RoleBasic,
						Status: muster.StatusPending, InvitedAt: now, UpdatedAt: now, PrimaryTeamID: main.ID},
				})
			})
			if muster.ErrorCode(err) != muster.ECONFLICT {
				t.Fatalf("err = %v; want ECONFLICT", err)
			}
		})
	})
}
