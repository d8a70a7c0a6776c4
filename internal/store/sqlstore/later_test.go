package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestWritesLeftForLater: a single link or email, which may wait for the
// transaction's next statement, is there for every statement after it; an
// audit event carries them on PostgreSQL (one round trip for the three);
// one that fails fails its transaction, or its savepoint alone, and
// leaves nothing written.
func TestWritesLeftForLater(t *testing.T) {
	storetest.RunParallel(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)
		org, team, _ := orgWithTeams(t, db, "Later", 10, now)
		u := &muster.User{OrgID: org.ID, Email: "ada@example.com", FirstName: "Ada", LastName: "Later",
			Role: muster.RoleBasic, Status: muster.StatusPending, InvitedAt: now, UpdatedAt: now, PrimaryTeamID: team.ID}
		if err := db.Update(ctx, func(tx muster.Tx) error { return tx.CreateUsers(ctx, []*muster.User{u}) }); err != nil {
			t.Fatal(err)
		}
		link := func(n int) *muster.Invitation {
			return &muster.Invitation{OrgID: org.ID, UserID: u.ID, TokenHash: fmt.Appendf(nil, "later %d", n),
				CreatedAt: now, ExpiresAt: now.Add(time.Duration(n) * time.Hour)}
		}
		email := func(id string) *muster.OutboxMessage {
			return &muster.OutboxMessage{OrgID: org.ID, MessageID: id, To: u.Email, Subject: "Join", Text: "Join",
				HTML: "<p>Join</p>", CreatedAt: now}
		}
		event := func() *muster.AuditEvent {
			return &muster.AuditEvent{OrgID: org.ID, ActorLabel: "Operator", Action: muster.ActionUserInvited,
				TargetType: muster.TargetUser, TargetID: u.ID, TargetLabel: u.Email, Origin: "test", CreatedAt: now}
		}

		// Seen by the statements after them in their transaction: a query
		// of rows, a query of one row, a write.
		first := link(1)
		err := db.Update(ctx, func(tx muster.Tx) error {
			if err := tx.CreateOutboxMessage(ctx, email("<first@later>")); err != nil {
				return err
			}
			queued, err := tx.FindOutboxMessages(ctx, muster.OutboxFilter{OrgID: org.ID, Limit: 10})
			if err != nil {
				return err
			}
			if len(queued) != 1 || queued[0].MessageID != "<first@later>" {
				return fmt.Errorf("the outbox in the email's transaction: %+v; want the email", queued)
			}
			if err := tx.CreateInvitation(ctx, first); err != nil {
				return err
			}
			got, err := tx.FindUser(ctx, org.ID, u.ID)
			if err != nil {
				return err
			}
			if !got.InvitationExpiresAt.Equal(first.ExpiresAt) {
				return fmt.Errorf("the user's link expires at %v in its transaction; want %v", got.InvitationExpiresAt, first.ExpiresAt)
			}
			revoked := link(0)
			if err := tx.CreateInvitation(ctx, revoked); err != nil {
				return err
			}
			if err := tx.RevokeInvitations(ctx, u.ID, muster.LinkSuperseded, now); err != nil {
				return err
			}
			found, err := tx.FindInvitationByTokenHash(ctx, revoked.TokenHash)
			if err != nil {
				return fmt.Errorf("the link, in its transaction: %w", err)
			}
			if found.RevokedAt.IsZero() {
				return fmt.Errorf("a link made, then the user's links revoked: %+v; want it revoked", found)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		// An invitation's writes: its link, its email and its audit event.
		invite := func(l *muster.Invitation, messageID string) error {
			return db.Update(ctx, func(tx muster.Tx) error {
				if err := tx.CreateInvitation(ctx, l); err != nil {
					return err
				}
				if err := tx.CreateOutboxMessage(ctx, email(messageID)); err != nil {
					return err
				}
				_, err := tx.CreateAuditEvents(ctx, []*muster.AuditEvent{event()}, org.ID)
				return err
			})
		}

		// Carried by the audit event: BEGIN with the event, and COMMIT.
		second := link(2)
		before := db.RoundTrips()
		if err := invite(second, "<second@later>"); err != nil {
			t.Fatal(err)
		}
		if n := db.RoundTrips() - before; db.RoundTrips() > 0 && n != 2 {
			t.Errorf("a link, an email and an audit event took %d round trips; want 2", n)
		}
		wantWritten(t, db, org.ID, u.ID, second, "<second@later>", 1)

		// An email whose Message-ID is taken fails the audit event that
		// carries it, and the link and event go with it.
		third := link(3)
		if err := invite(third, "<second@later>"); muster.ErrorCode(err) != muster.ECONFLICT {
			t.Fatalf("an email of a Message-ID taken: %v; want %s", err, muster.ECONFLICT)
		}
		wantWritten(t, db, org.ID, u.ID, second, "<second@later>", 1)
		if err := db.View(ctx, func(tx muster.Tx) error {
			_, err := tx.FindInvitationByTokenHash(ctx, third.TokenHash)
			return err
		}); muster.ErrorCode(err) != muster.ENOTFOUND {
			t.Errorf("the link of the failed transaction: %v; want it not found", err)
		}

		// In a savepoint (an import's row), the failure is the row's alone.
		var refused error
		err = db.Update(ctx, func(tx muster.Tx) error {
			refused = tx.Savepoint(ctx, func() error {
				if err := tx.CreateInvitation(ctx, third); err != nil {
					return err
				}
				return tx.CreateOutboxMessage(ctx, email("<first@later>"))
			})
			return tx.Savepoint(ctx, func() error { return tx.CreateOutboxMessage(ctx, email("<fourth@later>")) })
		})
		if err != nil {
			t.Fatal(err)
		}
		if muster.ErrorCode(refused) != muster.ECONFLICT {
			t.Errorf("the savepoint of an email of a Message-ID taken: %v; want %s", refused, muster.ECONFLICT)
		}
		var queued []string // newest first
		for _, m := range storetest.Outbox(t, db, org.ID) {
			queued = append(queued, m.MessageID)
		}
		if want := []string{"<fourth@later>", "<second@later>", "<first@later>"}; !slices.Equal(queued, want) {
			t.Errorf("outbox after the savepoints: %v; want %v", queued, want)
		}
		if err := db.View(ctx, func(tx muster.Tx) error {
			_, err := tx.FindInvitationByTokenHash(ctx, third.TokenHash)
			return err
		}); muster.ErrorCode(err) != muster.ENOTFOUND {
			t.Errorf("the link of the failed savepoint: %v; want it not found", err)
		}
	})
}

// wantWritten fails t unless the link is the user's latest (their
// expiry is its), the email is queued and the org has events audit events.
func wantWritten(t *testing.T, db *sqlstore.DB, orgID, userID int64, link *muster.Invitation, messageID string, events int) {
	t.Helper()
	ctx := context.Background()
	err := db.View(ctx, func(tx muster.Tx) error {
		if _, err := tx.FindInvitationByTokenHash(ctx, link.TokenHash); err != nil {
			return fmt.Errorf("the link: %w", err)
		}
		u, err := tx.FindUser(ctx, orgID, userID)
		if err != nil {
			return err
		}
		if !u.InvitationExpiresAt.Equal(link.ExpiresAt) {
			return fmt.Errorf("the user's link expires at %v; want %v", u.InvitationExpiresAt, link.ExpiresAt)
		}
		logged, err := tx.FindAuditEvents(ctx, muster.AuditFilter{OrgID: orgID, Limit: 10})
		if err != nil {
			return err
		}
		if len(logged) != events {
			return fmt.Errorf("%d audit events; want %d", len(logged), events)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range storetest.Outbox(t, db, orgID) {
		if m.MessageID == messageID {
			return
		}
	}
	t.Errorf("email %s not queued", messageID)
}

// TestAuditEventsQueued: audit events queued (no webhook endpoint wants
// their IDs) wait for the transaction's next statement like a link or an
// email: a seat taken carries all three on PostgreSQL (one round trip with
// its BEGIN, and the COMMIT), a read after them sees them, and a write
// that fails with them leaves none of them logged.
func TestAuditEventsQueued(t *testing.T) {
	storetest.RunParallel(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
		org, _, _ := orgWithTeams(t, db, "Queued", 10, now)
		event := func(target int64) *muster.AuditEvent {
			return &muster.AuditEvent{OrgID: org.ID, ActorLabel: "Operator", Action: muster.ActionUserInvited,
				TargetType: muster.TargetUser, TargetID: target, TargetLabel: fmt.Sprintf("p%d@example.com", target),
				After: map[string]any{"role": "basic"}, Origin: "test", CreatedAt: now}
		}
		email := func(id string) *muster.OutboxMessage {
			return &muster.OutboxMessage{OrgID: org.ID, MessageID: id, To: "p@example.com", Subject: "Join", Text: "Join",
				HTML: "<p>Join</p>", CreatedAt: now}
		}
		logged := func() []*muster.AuditEvent {
			t.Helper()
			var events []*muster.AuditEvent
			if err := db.View(ctx, func(tx muster.Tx) error {
				var err error
				events, err = tx.FindAuditEvents(ctx, muster.AuditFilter{OrgID: org.ID, Limit: 10})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return events
		}

		// An email, two events and a seat: one statement, then the COMMIT.
		queued := []*muster.AuditEvent{event(1), event(2)}
		before := db.RoundTrips()
		err := db.Update(ctx, func(tx muster.Tx) error {
			if err := tx.CreateOutboxMessage(ctx, email("<first@queued>")); err != nil {
				return err
			}
			if err := tx.QueueAuditEvents(ctx, queued); err != nil {
				return err
			}
			if ok, err := tx.TakeSeats(ctx, org.ID, 1); !ok || err != nil {
				return fmt.Errorf("taking a seat: %v, %w", ok, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := db.RoundTrips() - before; db.RoundTrips() > 0 && n != 2 {
			t.Errorf("an email, two audit events and a seat took %d round trips; want 2", n)
		}
		got := logged()
		if len(got) != 2 || got[0].TargetID != 2 || got[1].TargetID != 1 || got[0].After["role"] != "basic" {
			t.Errorf("logged %+v; want the two events queued, newest first, as written", got)
		}
		if queued[0].ID != 0 || queued[1].ID != 0 {
			t.Errorf("queued events' IDs %d and %d; want them left 0", queued[0].ID, queued[1].ID)
		}

		// Seen by a read after them in their transaction.
		err = db.Update(ctx, func(tx muster.Tx) error {
			if err := tx.QueueAuditEvents(ctx, []*muster.AuditEvent{event(3)}); err != nil {
				return err
			}
			in, err := tx.FindAuditEvents(ctx, muster.AuditFilter{OrgID: org.ID, Limit: 10})
			if err != nil {
				return err
			}
			if len(in) != 3 || in[0].TargetID != 3 {
				return fmt.Errorf("the log in the event's transaction: %d events, newest %+v; want 3, the queued one first", len(in), in[0])
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		// An email whose Message-ID is taken fails the statement that
		// carries the events, and they go with it.
		err = db.Update(ctx, func(tx muster.Tx) error {
			if err := tx.QueueAuditEvents(ctx, []*muster.AuditEvent{event(4)}); err != nil {
				return err
			}
			if err := tx.CreateOutboxMessage(ctx, email("<first@queued>")); err != nil {
				return err
			}
			_, err := tx.TakeSeats(ctx, org.ID, 1)
			return err
		})
		if muster.ErrorCode(err) != muster.ECONFLICT {
			t.Fatalf("an email of a Message-ID taken: %v; want %s", err, muster.ECONFLICT)
		}
		if n := len(logged()); n != 3 {
			t.Errorf("%d events logged after the failed transaction; want 3", n)
		}
	})
}
