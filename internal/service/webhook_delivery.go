package service

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"

	"github.com/muster-app/muster/internal/mail"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/resource"
	"github.com/muster-app/muster/internal/webhook"
)

// Webhook delivery (EVT-1). The sender (internal/worker) claims due
// deliveries with LeaseWebhooks, sends each with AttemptWebhook and records
// what came back with RecordWebhookOutcomes, which decides what follows:
// success, a retry, a failed delivery, or a disabled endpoint.
const (
	// WebhookLease is how long a claimed delivery is kept from other
	// senders: long beside an attempt (webhook.Timeout), so that a sender
	// that waits for a slow endpoint's turn still sends within it. A sender
	// that dies releases its claims when it ends.
	WebhookLease = 2 * time.Minute
	// WebhookFailingLimit is how long an endpoint may fail every attempt
	// before it is disabled and its Owner and Admins are told.
	WebhookFailingLimit = 5 * 24 * time.Hour
	// WebhookRetention is how long finished deliveries stay in the log.
	WebhookRetention = 30 * 24 * time.Hour
)

// webhookRetries are the waits after each failed attempt: the first
// attempt is made at once, then after 5 seconds, 5 minutes… in all ten
// attempts over about three days.
var webhookRetries = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
	5 * time.Hour, 10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour}

// WebhookAttempts is the number of attempts a delivery gets.
var WebhookAttempts = len(webhookRetries) + 1

// WebhookRetryDelay is the wait after the attempts-th failed attempt of a
// delivery, spread by jitter (from -1 to 1) over ±10% so that the retries
// of many events that failed together do not arrive together; ok is false
// after the last attempt.
func WebhookRetryDelay(attempts int, jitter float64) (d time.Duration, ok bool) {
	if attempts < 1 || attempts > len(webhookRetries) {
		return 0, false
	}
	d = webhookRetries[attempts-1]
	return d + time.Duration(float64(d)*0.1*jitter), true
}

// WebhookDispatch is a claimed delivery, ready to send.
type WebhookDispatch struct {
	Delivery *muster.WebhookDelivery
	Message  webhook.Message
	// test marks a test event: no retries, no effect on the endpoint.
	test bool
	// err says why the delivery cannot be signed (a secret sealed with
	// another key); the attempt fails with it.
	err error
}

// WebhookOutcome is what one attempt of a dispatch got.
type WebhookOutcome struct {
	Dispatch *WebhookDispatch
	Attempt  muster.WebhookAttempt
	// RetryAfter is the wait a 429 or 503 answer asked for.
	RetryAfter time.Duration
}

// LeaseWebhooks claims due deliveries until WebhookLease from now: for
// each endpoint with due deliveries, up to free(endpoint) of them, so that
// a sender bounds what it holds for each endpoint. It returns them ready
// to send.
func (s *Service) LeaseWebhooks(ctx context.Context, free func(endpointID int64) int) ([]*WebhookDispatch, error) {
	var leased []*muster.WebhookDelivery
	err := s.update(ctx, func(tx *txn) error {
		leased = nil // a transaction run again leases afresh
		ids, err := tx.FindDueWebhookEndpoints(ctx, tx.now)
		if err != nil {
			return err
		}
		for _, id := range ids {
			n := free(id)
			if n <= 0 {
				continue
			}
			ds, err := tx.LeaseWebhookDeliveries(ctx, id, tx.now, tx.now.Add(WebhookLease), n)
			if err != nil {
				return err
			}
			leased = append(leased, ds...)
		}
		return nil
	})
	if err != nil || len(leased) == 0 {
		return nil, err
	}
	return s.dispatches(ctx, leased)
}

// dispatches reads what claimed deliveries need to be sent: their events
// and their endpoints' URLs and keys.
func (s *Service) dispatches(ctx context.Context, leased []*muster.WebhookDelivery) ([]*WebhookDispatch, error) {
	out := make([]*WebhookDispatch, 0, len(leased))
	err := s.view(ctx, func(tx *txn) error {
		ids := make([]int64, len(leased))
		for i, d := range leased {
			ids[i] = d.EventID
		}
		found, err := tx.FindWebhookEvents(ctx, ids)
		if err != nil {
			return err
		}
		events := make(map[int64]*muster.WebhookEvent, len(found))
		for _, ev := range found {
			events[ev.ID] = ev
		}
		endpoints := map[int64]*muster.WebhookEndpoint{}
		for _, d := range leased {
			e, ok := endpoints[d.EndpointID]
			if !ok {
				if e, err = tx.FindWebhookEndpoint(ctx, d.OrgID, d.EndpointID); err != nil && muster.ErrorCode(err) != muster.ENOTFOUND {
					return err
				}
				endpoints[d.EndpointID] = e
			}
			ev := events[d.EventID]
			if e == nil || ev == nil {
				continue // deleted a moment ago; its claim runs out
			}
			d.EventType, d.MsgID = ev.Type, ev.MsgID
			out = append(out, s.dispatch(e, d, ev, tx.now))
		}
		return nil
	})
	return out, err
}

// dispatch is d of ev to e, signed with e's keys as they are at now.
func (s *Service) dispatch(e *muster.WebhookEndpoint, d *muster.WebhookDelivery, ev *muster.WebhookEvent, now time.Time) *WebhookDispatch {
	out := &WebhookDispatch{Delivery: d, Message: webhook.Message{URL: e.URL, ID: ev.MsgID, Body: ev.Payload}}
	out.Message.Keys, out.err = s.signingKeys(e, now)
	return out
}

// signingKeys opens the endpoint's secret and, during a rotation's
// overlap, its previous one.
func (s *Service) signingKeys(e *muster.WebhookEndpoint, now time.Time) ([][]byte, error) {
	if s.cfg.SecretBox == nil {
		return nil, fmt.Errorf("the server has no secret key (--secret-key) to open the signing secret with")
	}
	key, err := s.cfg.SecretBox.Open(e.Secret, secretAAD(e.OrgID))
	if err != nil {
		return nil, fmt.Errorf("the signing secret can't be opened: was the server's secret key changed? %w", err)
	}
	keys := [][]byte{key}
	if len(e.PreviousSecret) > 0 && now.Before(e.PreviousSecretUntil) {
		if prev, err := s.cfg.SecretBox.Open(e.PreviousSecret, secretAAD(e.OrgID)); err == nil {
			keys = append(keys, prev)
		}
	}
	return keys, nil
}

// webhookClient is the client webhook requests go through.
func (s *Service) webhookClient() *webhook.Client {
	if s.cfg.Webhooks == nil {
		return defaultWebhookClient
	}
	return s.cfg.Webhooks
}

var defaultWebhookClient = webhook.NewClient(webhook.Options{})

// AttemptWebhook makes one attempt of d, timestamped now.
func (s *Service) AttemptWebhook(ctx context.Context, d *WebhookDispatch) *WebhookOutcome {
	now := s.now()
	out := &WebhookOutcome{Dispatch: d, Attempt: muster.WebhookAttempt{DeliveryID: d.Delivery.ID,
		EndpointID: d.Delivery.EndpointID, AttemptedAt: now}}
	if d.err != nil {
		out.Attempt.Error = d.err.Error()
		return out
	}
	m := d.Message
	m.Timestamp = now
	res := s.webhookClient().Send(ctx, m)
	out.Attempt.StatusCode, out.Attempt.Latency, out.Attempt.Response = res.Status, res.Latency, res.Body
	out.RetryAfter = res.RetryAfter
	switch {
	case res.Err != nil:
		out.Attempt.Error = res.Err.Error()
	case res.Status >= 300 && res.Status < 400:
		out.Attempt.Error = "A redirect (" + http.StatusText(res.Status) + ") is a failure: Muster follows none. Use the URL it points to."
	case !out.Attempt.Succeeded():
		out.Attempt.Error = fmt.Sprintf("The endpoint answered %d %s; only 2xx is a success.", res.Status, http.StatusText(res.Status))
	}
	return out
}

// WebhookClaimed says whether d is still pending under its claim: not
// ended meanwhile with its endpoint, disabled or deleted.
func (s *Service) WebhookClaimed(ctx context.Context, d *WebhookDispatch) (bool, error) {
	var ok bool
	err := s.read(ctx, func(tx *txn) error {
		cur, err := tx.FindWebhookDelivery(ctx, d.Delivery.OrgID, d.Delivery.ID)
		if muster.ErrorCode(err) == muster.ENOTFOUND {
			return nil
		} else if err != nil {
			return err
		}
		ok = cur.State == muster.DeliveryPending && cur.LeaseSeq == d.Delivery.LeaseSeq
		return nil
	})
	return ok, err
}

// ReleaseWebhook gives back the claim of a dispatch that was never sent
// (its sender is stopping): no attempt is counted, and any sender may
// claim it at once rather than once its claim runs out.
func (s *Service) ReleaseWebhook(ctx context.Context, d *WebhookDispatch) error {
	return s.update(ctx, func(tx *txn) error {
		_, err := tx.ReleaseWebhookDelivery(ctx, d.Delivery.ID, d.Delivery.LeaseSeq)
		return err
	})
}

// RecordWebhookOutcomes writes the attempts' outcomes, in one transaction:
// each goes to the delivery log; a success ends its delivery and the
// endpoint's failures; a failure schedules the next attempt (after
// Retry-After when a 429 or 503 asked for one) or, after the last, fails
// the delivery. 410 Gone, or an endpoint that has failed every attempt for
// WebhookFailingLimit, disables the endpoint, and its Owner and Admins are
// emailed. An outcome whose claim ran out (another sender holds the
// delivery now) goes to the log only.
func (s *Service) RecordWebhookOutcomes(ctx context.Context, outcomes []*WebhookOutcome) error {
	if len(outcomes) == 0 {
		return nil
	}
	return s.update(ctx, func(tx *txn) error {
		// The endpoints are locked first, in one order, before any
		// delivery: a sender disabling an endpoint fails its pending
		// deliveries, which another sender may be recording.
		endpoints := map[int64]*muster.WebhookEndpoint{}
		var ids []int64
		for _, o := range outcomes {
			if d := o.Dispatch.Delivery; !slices.Contains(ids, d.EndpointID) {
				ids = append(ids, d.EndpointID)
				endpoints[d.EndpointID] = &muster.WebhookEndpoint{OrgID: d.OrgID}
			}
		}
		slices.Sort(ids)
		for _, id := range ids {
			e, err := tx.FindWebhookEndpoint(ctx, endpoints[id].OrgID, id)
			if muster.ErrorCode(err) == muster.ENOTFOUND {
				e = nil // deleted: its deliveries failed with it
			} else if err != nil {
				return err
			}
			endpoints[id] = e
		}
		for _, o := range outcomes {
			a := &o.Attempt
			a.Response = truncateUTF8(a.Response, webhook.ResponseExcerpt)
			if err := tx.CreateWebhookAttempt(ctx, a); err != nil {
				return err
			}
			if err := s.recordOutcome(ctx, tx, endpoints[o.Dispatch.Delivery.EndpointID], o); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Service) recordOutcome(ctx context.Context, tx *txn, e *muster.WebhookEndpoint, o *WebhookOutcome) error {
	d, a := o.Dispatch.Delivery, &o.Attempt
	finish := func(state string) error {
		_, err := tx.FinishWebhookDelivery(ctx, d.ID, d.LeaseSeq, state, a)
		return err
	}
	if a.Succeeded() {
		if e != nil && !e.FailingSince.IsZero() && !o.Dispatch.test {
			e.FailingSince = time.Time{}
			if err := tx.SetWebhookEndpointFailing(ctx, e.ID, time.Time{}); err != nil {
				return err
			}
		}
		return finish(muster.DeliverySucceeded)
	}
	if e == nil || o.Dispatch.test || !e.Enabled {
		return finish(muster.DeliveryFailed)
	}
	if e.FailingSince.IsZero() {
		e.FailingSince = a.AttemptedAt
		if err := tx.SetWebhookEndpointFailing(ctx, e.ID, e.FailingSince); err != nil {
			return err
		}
	}
	reason := ""
	switch {
	case a.StatusCode == http.StatusGone:
		reason = muster.WebhookDisabledGone
	case tx.now.Sub(e.FailingSince) >= WebhookFailingLimit:
		reason = muster.WebhookDisabledFailing
	}
	if reason != "" {
		if err := finish(muster.DeliveryFailed); err != nil {
			return err
		}
		return s.disableWebhook(ctx, tx, e, reason)
	}
	delay, ok := WebhookRetryDelay(d.Attempts, 2*rand.Float64()-1)
	if !ok {
		return finish(muster.DeliveryFailed)
	}
	if o.RetryAfter > 0 {
		delay = o.RetryAfter
	}
	_, err := tx.RetryWebhookDelivery(ctx, d.ID, d.LeaseSeq, tx.now.Add(delay), a)
	return err
}

// disableWebhook disables an endpoint that Muster gave up on, fails its
// pending deliveries, audits it and emails the org's Owner and Admins.
func (s *Service) disableWebhook(ctx context.Context, tx *txn, e *muster.WebhookEndpoint, reason string) error {
	before := webhookSnapshot(e)
	e.Enabled, e.DisabledReason, e.DisabledAt, e.UpdatedAt = false, reason, tx.now, tx.now
	if err := tx.UpdateWebhookEndpoint(ctx, e); err != nil {
		return err
	}
	why := DisabledReasonText(e)
	if err := tx.FailWebhookDeliveries(ctx, e.ID, tx.now, why); err != nil {
		return err
	}
	tx.hooks = nil
	a := &actor{orgID: e.OrgID, role: muster.RoleOwner, origin: "webhook delivery", system: "Muster"}
	after := webhookSnapshot(e)
	after["reason"] = reason
	if err := tx.audit(ctx, a, muster.ActionWebhookDisabled, muster.TargetWebhook, e.ID, e.URL, before, after); err != nil {
		return err
	}
	org, err := tx.FindOrg(ctx, e.OrgID)
	if err != nil {
		return err
	}
	for _, role := range []muster.Role{muster.RoleOwner, muster.RoleAdmin} {
		people, err := tx.FindUsers(ctx, muster.UserFilter{OrgID: e.OrgID, Role: role, Status: muster.StatusActive, Limit: MaxPageSize})
		if err != nil {
			return err
		}
		for _, u := range people {
			msg, err := mail.ComposeWebhookDisabled(mail.WebhookDisabled{OrgName: org.Name, FirstName: u.FirstName,
				URL: e.URL, Reason: why, Link: s.cfg.Links.Webhook(e.ID)})
			if err != nil {
				return err
			}
			if err := s.queueMail(ctx, tx, org.ID, u.Email, msg); err != nil {
				return err
			}
		}
	}
	return nil
}

// DisabledReasonText says in a sentence why an endpoint is disabled.
func DisabledReasonText(e *muster.WebhookEndpoint) string {
	switch e.DisabledReason {
	case muster.WebhookDisabledGone:
		return "The endpoint answered 410 Gone, which says it is gone for good."
	case muster.WebhookDisabledFailing:
		return fmt.Sprintf("Every attempt to deliver to it failed for %d days, since %s.",
			int(WebhookFailingLimit.Hours()/24), e.FailingSince.UTC().Format("January 2, 2006 15:04 UTC"))
	case muster.WebhookDisabledManually:
		return "An Owner or Admin disabled it."
	}
	return ""
}

// truncateUTF8 cuts s to at most n bytes of whole characters.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// SendTestWebhook sends a webhook.test event to an endpoint now, enabled
// or not, and returns the attempt, which the delivery log keeps. It is not
// retried and does not count as the endpoint failing.
func (s *Service) SendTestWebhook(ctx context.Context, endpointID int64) (*muster.WebhookAttempt, error) {
	var d *WebhookDispatch
	err := s.update(ctx, func(tx *txn) error {
		a, e, err := loadWebhook(ctx, tx, endpointID)
		if err != nil {
			return err
		}
		payload, err := eventPayload(muster.EventTest, tx.now, resource.TestEvent{EndpointID: e.ID,
			Message: "A test event from Muster, sent from the console or the API."}, subjectOf(muster.TargetWebhook, e.ID))
		if err != nil {
			return err
		}
		ev := &muster.WebhookEvent{OrgID: a.orgID, MsgID: newMsgID(), Type: muster.EventTest, Payload: payload, CreatedAt: tx.now}
		if err := tx.CreateWebhookEvent(ctx, ev, subjectOf(muster.TargetWebhook, e.ID), []int64{e.ID}); err != nil {
			return err
		}
		// Claimed before it commits: no sender sends it too.
		delivery, err := tx.ClaimWebhookDelivery(ctx, ev.ID, tx.now.Add(WebhookLease))
		if err != nil {
			return err
		}
		delivery.EventType, delivery.MsgID = ev.Type, ev.MsgID
		d = s.dispatch(e, delivery, ev, tx.now)
		d.test = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := s.AttemptWebhook(ctx, d)
	if err := s.RecordWebhookOutcomes(context.WithoutCancel(ctx), []*WebhookOutcome{out}); err != nil {
		return nil, err
	}
	return &out.Attempt, nil
}
