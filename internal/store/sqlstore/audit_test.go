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

// TestCreateAuditEventsFindsSubscribers: asked for an org's webhook
// subscribers, CreateAuditEvents writes every event and returns the same
// endpoints FindWebhookSubscribers lists — the org's enabled ones, with
// their types —, whether the org has none, one or several, and for any
// number of events.
func TestCreateAuditEventsFindsSubscribers(t *testing.T) {
	storetest.RunParallel(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 30, 20, 0, 0, 0, time.UTC)
		var quiet, busy, other *muster.Org
		err := db.Update(ctx, func(tx muster.Tx) error {
			var err error
			for name, o := range map[string]**muster.Org{"Quiet": &quiet, "Busy": &busy, "Other": &other} {
				if *o, _, err = createOrg(ctx, tx, name, 10, now); err != nil {
					return err
				}
			}
			endpoints := []*muster.WebhookEndpoint{
				{OrgID: busy.ID, URL: "https://a.example/hook", EventTypes: []string{"user.invited", "user.deactivated"}, Enabled: true},
				{OrgID: busy.ID, URL: "https://b.example/hook", Enabled: true}, // every type
				{OrgID: busy.ID, URL: "https://c.example/hook", EventTypes: []string{"user.invited"}},
				{OrgID: busy.ID, URL: "https://d.example/hook", EventTypes: []string{"team.created"}, Enabled: true},
				{OrgID: other.ID, URL: "https://e.example/hook", Enabled: true},
			}
			for _, e := range endpoints {
				e.Secret, e.CreatedAt = []byte("sealed"), now
				if err := tx.CreateWebhookEndpoint(ctx, e); err != nil {
					return err
				}
			}
			return tx.DeleteWebhookEndpoint(ctx, busy.ID, endpoints[3].ID, now)
		})
		if err != nil {
			t.Fatal(err)
		}

		for _, c := range []struct {
			name   string
			org    *muster.Org
			events int
		}{
			{"no endpoints", quiet, 1},
			{"endpoints, one event", busy, 1},
			{"endpoints, many events", busy, 40},
			{"endpoints, no event", busy, 0},
		} {
			t.Run(c.name, func(t *testing.T) {
				events := make([]*muster.AuditEvent, c.events)
				for i := range events {
					events[i] = &muster.AuditEvent{OrgID: c.org.ID, ActorLabel: "Operator", Action: muster.ActionUserInvited,
						TargetType: muster.TargetUser, TargetID: int64(i + 1), TargetLabel: fmt.Sprintf("p%d@example.com", i),
						Origin: "test", CreatedAt: now}
				}
				var got, want []*muster.WebhookSubscriber
				err := db.Update(ctx, func(tx muster.Tx) error {
					var err error
					if got, err = tx.CreateAuditEvents(ctx, events, c.org.ID); err != nil {
						return err
					}
					want, err = tx.FindWebhookSubscribers(ctx, c.org.ID)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				if !sameSubscribers(got, want) {
					t.Errorf("subscribers %s; want %s", subscribersString(got), subscribersString(want))
				}
				if c.org == busy && len(got) != 2 {
					t.Errorf("%d subscribers; want the 2 enabled endpoints left", len(got))
				}
				logged := auditEventIDs(t, db, c.org.ID, events)
				for i, e := range events {
					if e.ID == 0 || !logged[e.ID] {
						t.Errorf("event %d has id %d, which the log does not hold", i, e.ID)
					}
				}
			})
		}

		t.Run("not asked", func(t *testing.T) {
			events := []*muster.AuditEvent{{OrgID: busy.ID, ActorLabel: "Operator", Action: muster.ActionUserInvited,
				TargetType: muster.TargetUser, TargetID: 1, TargetLabel: "p@example.com", Origin: "test", CreatedAt: now}}
			err := db.Update(ctx, func(tx muster.Tx) error {
				subs, err := tx.CreateAuditEvents(ctx, events, 0)
				if subs != nil {
					t.Errorf("subscribers %s; want none when not asked", subscribersString(subs))
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if !auditEventIDs(t, db, busy.ID, events)[events[0].ID] {
				t.Errorf("event %d is not in the log", events[0].ID)
			}
		})
	})
}

// auditEventIDs are the ids of the org's logged events.
func auditEventIDs(t *testing.T, db *sqlstore.DB, orgID int64, events []*muster.AuditEvent) map[int64]bool {
	t.Helper()
	ids := map[int64]bool{}
	err := db.View(context.Background(), func(tx muster.Tx) error {
		logged, err := tx.FindAuditEvents(context.Background(), muster.AuditFilter{OrgID: orgID, Limit: 1000})
		for _, e := range logged {
			ids[e.ID] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func sameSubscribers(a, b []*muster.WebhookSubscriber) bool {
	return slices.EqualFunc(a, b, func(x, y *muster.WebhookSubscriber) bool {
		return x.ID == y.ID && slices.Equal(x.EventTypes, y.EventTypes)
	})
}

func subscribersString(subs []*muster.WebhookSubscriber) string {
	s := "["
	for _, sub := range subs {
		s += fmt.Sprintf(" %d%v", sub.ID, sub.EventTypes)
	}
	return s + " ]"
}
