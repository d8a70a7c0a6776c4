package service

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/resource"
)

// Webhook events are derived from audit events, in txn.audit: every change
// writes its audit event there, so every change that commits writes its
// webhook events in the same transaction (an outbox), and a change rolled
// back writes none (EVT-1).

// MaxWebhookPayload bounds an event's body; larger data is replaced by a
// resource.TruncatedEvent (an audit event keeps all but its before and
// after).
const MaxWebhookPayload = 20_000

// sendAsChunk bounds the users of one send_as event, so that it stays
// under MaxWebhookPayload.
const sendAsChunk = 1000

// orgHooks are an org's enabled endpoints, read once per transaction.
type orgHooks struct {
	orgID int64
	subs  []*muster.WebhookSubscriber
}

// subscribers returns the org's enabled endpoints, which the transaction's
// first audit event of the org read with it (auditAll), or else reads them
// now: an org without endpoints costs nothing more.
func (tx *txn) subscribers(ctx context.Context, orgID int64) ([]*muster.WebhookSubscriber, error) {
	if tx.hooks == nil || tx.hooks.orgID != orgID {
		subs, err := tx.FindWebhookSubscribers(ctx, orgID)
		if err != nil {
			return nil, err
		}
		tx.hooks = &orgHooks{orgID: orgID, subs: subs}
	}
	return tx.hooks.subs, nil
}

// wants reports whether any endpoint of the org wants events of type t.
func (tx *txn) wants(ctx context.Context, orgID int64, t string) (bool, error) {
	subs, err := tx.subscribers(ctx, orgID)
	for _, s := range subs {
		if s.Wants(t) {
			return true, err
		}
	}
	return false, err
}

// emit writes an event of type t about subject for the org's endpoints
// that want it, if any; data is built only then.
func (tx *txn) emit(ctx context.Context, orgID int64, t, subject string, data func() (any, error)) error {
	subs, err := tx.subscribers(ctx, orgID)
	if err != nil {
		return err
	}
	var ids []int64
	for _, s := range subs {
		if s.Wants(t) {
			ids = append(ids, s.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	d, err := data()
	if err != nil {
		return err
	}
	payload, err := eventPayload(t, tx.now, d, subject)
	if err != nil {
		return err
	}
	ev := &muster.WebhookEvent{OrgID: orgID, MsgID: newMsgID(), Type: t, Payload: payload, CreatedAt: tx.now}
	if err := tx.CreateWebhookEvent(ctx, ev, subject, ids); err != nil {
		return err
	}
	tx.queued |= QueueWebhooks
	return nil
}

// eventPayload is the body of an event: {"type", "timestamp", "data"}.
// Data past MaxWebhookPayload is cut down: an audit event loses its before
// and after, anything else becomes a resource.TruncatedEvent about subject.
func eventPayload(t string, now time.Time, data any, subject string) ([]byte, error) {
	b, err := json.Marshal(resource.Event{Type: t, Timestamp: now.UTC(), Data: data})
	if err != nil || len(b) <= MaxWebhookPayload {
		return b, err
	}
	if ae, ok := data.(resource.AuditEvent); ok {
		cut := map[string]any{"truncated": true}
		if ae.Before != nil {
			ae.Before = cut
		}
		if ae.After != nil {
			ae.After = cut
		}
		if b, err = json.Marshal(resource.Event{Type: t, Timestamp: now.UTC(), Data: ae}); err != nil || len(b) <= MaxWebhookPayload {
			return b, err
		}
	}
	targetType, id, _ := strings.Cut(subject, ":")
	targetID, _ := strconv.ParseInt(id, 10, 64)
	return json.Marshal(resource.Event{Type: t, Timestamp: now.UTC(),
		Data: resource.TruncatedEvent{Truncated: true, TargetType: targetType, TargetID: targetID}})
}

// newMsgID returns a new event id, the webhook-id of its every attempt.
func newMsgID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return "msg_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// subjectOf names what an event is about, for the order of deliveries.
func subjectOf(targetType string, id int64) string {
	return targetType + ":" + strconv.FormatInt(id, 10)
}

// webhookEvents writes the webhook events of the audit event e: audit.event
// for every one, and the lifecycle event its action and change make.
func (tx *txn) webhookEvents(ctx context.Context, e *muster.AuditEvent) error {
	subs, err := tx.subscribers(ctx, e.OrgID)
	if err != nil || len(subs) == 0 {
		return err
	}
	subject := subjectOf(e.TargetType, e.TargetID)
	err = tx.emit(ctx, e.OrgID, muster.EventAuditEvent, subject, func() (any, error) {
		return resource.FromAuditEvent(e), nil
	})
	if err != nil {
		return err
	}
	switch e.Action {
	case muster.ActionUserInvited, muster.ActionUserReinvited, muster.ActionInviteWithdrawn,
		muster.ActionUserActivated, muster.ActionUserDeactivated, muster.ActionSSOUserProvisioned:
		return tx.emitUser(ctx, e.OrgID, e.TargetID, userEvents[e.Action], nil)
	case muster.ActionUserUpdated:
		if prev := changed(e.Before, e.After, "role", "first_name", "last_name", "email"); len(prev) > 0 {
			if err := tx.emitUser(ctx, e.OrgID, e.TargetID, muster.EventUserUpdated, prev); err != nil {
				return err
			}
		}
		if len(changed(e.Before, e.After, "primary_team_id", "secondary_team_ids")) > 0 {
			prev := map[string]any{"primary_team_id": e.Before["primary_team_id"],
				"secondary_team_ids": int64s(e.Before["secondary_team_ids"])}
			return tx.emitUser(ctx, e.OrgID, e.TargetID, muster.EventUserTeamsChanged, prev)
		}
	case muster.ActionTeamCreated:
		return tx.emitTeam(ctx, e, muster.EventTeamCreated, nil)
	case muster.ActionTeamRenamed:
		return tx.emitTeam(ctx, e, muster.EventTeamRenamed, map[string]any{"name": e.Before["name"]})
	case muster.ActionTeamRemoved:
		return tx.emit(ctx, e.OrgID, muster.EventTeamRemoved, subject, func() (any, error) {
			name, _ := e.Before["name"].(string)
			return resource.TeamEvent{Team: resource.Team{ID: e.TargetID, Name: name}}, nil
		})
	case muster.ActionSendAsAssigned:
		return tx.emitSendAs(ctx, e.OrgID, e.TargetID, nil, muster.EventSendAsGranted, int64s(e.After["user_ids"]), "", subject)
	case muster.ActionSendAsUnassigned:
		return tx.emitSendAs(ctx, e.OrgID, e.TargetID, nil, muster.EventSendAsRevoked, int64s(e.Before["user_ids"]), "unassigned", subject)
	case muster.ActionSendAsDeleted:
		gone := sendAsFromSnapshot(e.TargetID, e.Before)
		return tx.emitSendAs(ctx, e.OrgID, e.TargetID, &gone, muster.EventSendAsRevoked, int64s(e.Before["user_ids"]), "deleted", subject)
	case muster.ActionSendAsRevoked:
		for _, id := range int64s(e.Before["send_as_ids"]) {
			if err := tx.emitSendAs(ctx, e.OrgID, id, nil, muster.EventSendAsRevoked, []int64{e.TargetID}, "deactivated", subject); err != nil {
				return err
			}
		}
	case muster.ActionLicenseTotalChanged:
		err := tx.emit(ctx, e.OrgID, muster.EventLicenseTotalChanged, subject, func() (any, error) {
			org, err := tx.FindOrg(ctx, e.OrgID)
			if err != nil {
				return nil, err
			}
			return resource.LicenseEvent{License: resource.FromOrg(org),
				Previous: map[string]any{"total": e.Before["license_total"]}}, nil
		})
		if err != nil {
			return err
		}
		return tx.licenseExhausted(ctx, e.OrgID)
	case muster.ActionOwnershipMoved:
		return tx.emitOwnership(ctx, e)
	}
	return nil
}

// userEvents are the user events of the audit actions that make one of
// them alone.
var userEvents = map[string]string{
	muster.ActionUserInvited:     muster.EventUserInvited,
	muster.ActionUserReinvited:   muster.EventUserReinvited,
	muster.ActionInviteWithdrawn: muster.EventInvitationWithdrawn,
	muster.ActionUserActivated:   muster.EventUserActivated,
	// A person single sign-on provisioned is Active at once (AUTH-6).
	muster.ActionSSOUserProvisioned: muster.EventUserActivated,
	muster.ActionUserDeactivated:    muster.EventUserDeactivated,
}

// changed returns the before values of the keys whose values differ.
func changed(before, after map[string]any, keys ...string) map[string]any {
	out := map[string]any{}
	for _, k := range keys {
		if fmt.Sprint(before[k]) != fmt.Sprint(after[k]) {
			out[k] = before[k]
		}
	}
	return out
}

// int64s reads a list of ids from an audit event's before or after.
func int64s(v any) []int64 {
	switch ids := v.(type) {
	case []int64:
		return ids
	case []any:
		out := make([]int64, 0, len(ids))
		for _, id := range ids {
			switch n := id.(type) {
			case int64:
				out = append(out, n)
			case float64:
				out = append(out, int64(n))
			}
		}
		return out
	}
	return []int64{}
}

// emitUser writes a user event about the user as this transaction leaves
// them.
func (tx *txn) emitUser(ctx context.Context, orgID, userID int64, t string, previous map[string]any) error {
	return tx.emit(ctx, orgID, t, subjectOf(muster.TargetUser, userID), func() (any, error) {
		u, err := tx.PeekUser(ctx, orgID, userID)
		if err != nil {
			return nil, err
		}
		return resource.UserEvent{User: resource.FromUser(u), Previous: previous}, nil
	})
}

func (tx *txn) emitTeam(ctx context.Context, e *muster.AuditEvent, t string, previous map[string]any) error {
	return tx.emit(ctx, e.OrgID, t, subjectOf(e.TargetType, e.TargetID), func() (any, error) {
		team, err := tx.FindTeamShared(ctx, e.OrgID, e.TargetID)
		if err != nil {
			return nil, err
		}
		return resource.TeamEvent{Team: resource.FromTeam(team), Previous: previous}, nil
	})
}

// sendAsFromSnapshot is a deleted permission as its audit event's before
// has it, granted to nobody any more.
func sendAsFromSnapshot(id int64, before map[string]any) muster.SendAsPermission {
	str := func(k string) string { s, _ := before[k].(string); return s }
	return muster.SendAsPermission{ID: id, FromName: str("from_name"), FromEmail: str("from_email"),
		ReplyToName: str("reply_to_name"), ReplyToEmail: str("reply_to_email")}
}

// emitSendAs writes a send_as event about the users of the permission
// with id (p when it is gone), in events of at most sendAsChunk users.
func (tx *txn) emitSendAs(ctx context.Context, orgID, id int64, p *muster.SendAsPermission, t string,
	users []int64, reason, subject string) error {
	for start := 0; start < len(users); start += sendAsChunk {
		chunk := users[start:min(start+sendAsChunk, len(users))]
		err := tx.emit(ctx, orgID, t, subject, func() (any, error) {
			if p == nil {
				var err error
				if p, err = tx.FindSendAs(ctx, orgID, id); err != nil {
					return nil, err
				}
			}
			return resource.SendAsEvent{SendAs: resource.FromSendAs(p), UserIDs: chunk, Reason: reason}, nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// licenseExhausted writes license.exhausted if the org has no seat left.
func (tx *txn) licenseExhausted(ctx context.Context, orgID int64) error {
	if ok, err := tx.wants(ctx, orgID, muster.EventLicenseExhausted); !ok || err != nil {
		return err
	}
	org, err := tx.FindOrg(ctx, orgID)
	if err != nil || org.SeatsFree() > 0 {
		return err
	}
	return tx.emit(ctx, orgID, muster.EventLicenseExhausted, subjectOf(muster.TargetOrg, orgID), func() (any, error) {
		return resource.LicenseEvent{License: resource.FromOrg(org)}, nil
	})
}

// TakeSeat takes a seat and, when it was the last one, writes
// license.exhausted (after the invitation's own events: the seat is taken
// last).
func (tx *txn) TakeSeat(ctx context.Context, orgID int64) (bool, error) {
	ok, err := tx.Tx.TakeSeat(ctx, orgID)
	return tx.seatsTaken(ctx, orgID, ok, err)
}

// TakeSeats is TakeSeat of n seats (invitations written together, an
// import's commit).
func (tx *txn) TakeSeats(ctx context.Context, orgID int64, n int) (bool, error) {
	ok, err := tx.Tx.TakeSeats(ctx, orgID, n)
	return tx.seatsTaken(ctx, orgID, ok, err)
}

// seatsTaken passes on whether seats were taken, after writing
// license.exhausted when they were the last.
func (tx *txn) seatsTaken(ctx context.Context, orgID int64, ok bool, err error) (bool, error) {
	if !ok || err != nil {
		return ok, err
	}
	return true, tx.licenseExhausted(ctx, orgID)
}

// emitOwnership writes ownership.transferred and user.updated for the two
// users whose roles swapped.
func (tx *txn) emitOwnership(ctx context.Context, e *muster.AuditEvent) error {
	transfer, err := tx.wants(ctx, e.OrgID, muster.EventOwnershipTransferred)
	if err != nil {
		return err
	}
	update, err := tx.wants(ctx, e.OrgID, muster.EventUserUpdated)
	if err != nil || !transfer && !update {
		return err
	}
	prevEmail, _ := e.Before["owner"].(string)
	prev, err := tx.FindUserByEmail(ctx, e.OrgID, prevEmail)
	if err != nil {
		return err
	}
	err = tx.emit(ctx, e.OrgID, muster.EventOwnershipTransferred, subjectOf(muster.TargetOrg, e.OrgID), func() (any, error) {
		owner, err := tx.PeekUser(ctx, e.OrgID, e.TargetID)
		if err != nil {
			return nil, err
		}
		return resource.OwnershipTransfer{Owner: resource.FromUser(owner), PreviousOwner: resource.FromUser(prev)}, nil
	})
	if err != nil {
		return err
	}
	if err := tx.emitUser(ctx, e.OrgID, prev.ID, muster.EventUserUpdated, map[string]any{"role": string(muster.RoleOwner)}); err != nil {
		return err
	}
	return tx.emitUser(ctx, e.OrgID, e.TargetID, muster.EventUserUpdated, map[string]any{"role": string(muster.RoleAdmin)})
}
