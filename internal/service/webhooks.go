package service

import (
	"context"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/webhook"
)

// Limits of an endpoint's settings.
const (
	maxWebhookURL         = 2000
	maxWebhookDescription = 500
	// DefaultSecretOverlap is how long the old secret of a rotation still
	// signs when nobody says otherwise; MaxSecretOverlap bounds it.
	DefaultSecretOverlap = 24 * time.Hour
	MaxSecretOverlap     = 7 * 24 * time.Hour
)

// WebhookInput is what an endpoint is made of.
type WebhookInput struct {
	URL         string
	Description string
	// EventTypes are the types the endpoint receives; empty for every type.
	EventTypes []string
}

// WebhookUpdate changes some of an endpoint's settings; nil fields stay as
// they are.
type WebhookUpdate struct {
	// IfVersion, when not zero, refuses the update with ESTALE unless the
	// endpoint is still at this version (the API's If-Match).
	IfVersion   int64
	URL         *string
	Description *string
	EventTypes  *[]string
	Enabled     *bool
}

// WebhookSecret is an endpoint with its signing secret, shown once: when
// it is created and when its secret is rotated.
type WebhookSecret struct {
	Endpoint *muster.WebhookEndpoint
	// Secret is never encoded (into an idempotency record's outcome): a
	// repeat of the request gets the endpoint without it.
	Secret string `json:"-"`
}

// checkWebhookURL cleans and checks an endpoint URL: https (or http when
// the server allows private endpoints), a host that is not an address
// Muster refuses to send to, no credentials. Names are resolved only when
// sending, where every address is checked again.
func (s *Service) checkWebhookURL(v *muster.Validation, raw string) string {
	raw = strings.TrimSpace(raw)
	bad := func(msg string) string {
		v.Add(muster.FieldURL, msg)
		return raw
	}
	if raw == "" {
		return bad("The URL is required.")
	}
	if problem := muster.TextProblem(raw); problem != "" {
		return bad("The URL " + problem + ".")
	}
	if len(raw) > maxWebhookURL {
		return bad("The URL must be at most 2000 characters.")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return bad("Enter a URL like https://hooks.example.com/muster.")
	}
	allowPrivate := s.cfg.WebhooksAllowPrivate
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowPrivate:
	case u.Scheme == "http":
		return bad("The URL must start with https://; http:// is only for a server started with --webhooks-allow-private.")
	default:
		return bad("Enter a URL like https://hooks.example.com/muster.")
	}
	if u.User != nil {
		return bad("The URL must not contain a user name or password; verify the signature instead.")
	}
	if u.Fragment != "" {
		return bad("The URL must not have a #fragment.")
	}
	if allowPrivate {
		return raw
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return bad("The URL must be on a public host, not localhost.")
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		if reason := webhook.Blocked(addr); reason != "" {
			return bad(addr.String() + " is " + reason + "; webhook endpoints must be on public addresses.")
		}
	}
	return raw
}

func checkWebhookDescription(v *muster.Validation, d string) string {
	d = strings.TrimSpace(d)
	if problem := muster.TextProblem(d); problem != "" {
		v.Add(muster.FieldDescription, "The description "+problem+".")
	} else if utf8.RuneCountInString(d) > maxWebhookDescription {
		v.Add(muster.FieldDescription, "The description must be at most 500 characters.")
	}
	return d
}

// checkEventTypes returns the types in the order of muster.EventTypes,
// each once; empty stays empty (every type).
func checkEventTypes(v *muster.Validation, types []string) []string {
	var out []string
	for _, t := range muster.EventTypes {
		if slices.Contains(types, t) {
			out = append(out, t)
		}
	}
	for _, t := range types {
		if !muster.IsEventType(t) {
			v.Add(muster.FieldEventTypes, "There is no event type "+strconv.Quote(t)+".")
			break
		}
	}
	return out
}

// webhookSnapshot is how an endpoint appears in audit events: never its
// secret.
func webhookSnapshot(e *muster.WebhookEndpoint) map[string]any {
	types := "all"
	if len(e.EventTypes) > 0 {
		types = strings.Join(e.EventTypes, " ")
	}
	return map[string]any{"url": e.URL, "description": e.Description, "event_types": types, "enabled": e.Enabled}
}

// secretAAD binds a sealed signing secret to its organization.
func secretAAD(orgID int64) []byte {
	return []byte("muster webhook secret, org " + strconv.FormatInt(orgID, 10))
}

// newSecret makes a signing secret and seals it for the org.
func (s *Service) newSecret(orgID int64) (sealed []byte, shown string, err error) {
	if s.cfg.SecretBox == nil {
		return nil, "", muster.Errorf(muster.ECONFLICT, "Webhooks need the server's secret key, which encrypts "+
			"their signing secrets: start Muster with --secret-key (see docs/webhooks.md).")
	}
	key, shown := webhook.NewSecret()
	return s.cfg.SecretBox.Seal(key, secretAAD(orgID)), shown, nil
}

// loadWebhook resolves an Owner or Admin and the endpoint of their org
// with id, locked for a change.
func loadWebhook(ctx context.Context, tx *txn, id int64) (*actor, *muster.WebhookEndpoint, error) {
	a, err := loadAdmin(ctx, tx)
	if err != nil {
		return nil, nil, err
	}
	e, err := tx.FindWebhookEndpoint(ctx, a.orgID, id)
	if err != nil {
		return nil, nil, err
	}
	return a, e, nil
}

// CreateWebhook creates an enabled endpoint and returns its signing
// secret, shown this once (EVT-1). Owners and Admins may.
func (s *Service) CreateWebhook(ctx context.Context, in WebhookInput) (*WebhookSecret, error) {
	var v muster.Validation
	in.URL = s.checkWebhookURL(&v, in.URL)
	in.Description = checkWebhookDescription(&v, in.Description)
	in.EventTypes = checkEventTypes(&v, in.EventTypes)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out WebhookSecret
	err := change(ctx, s, &out, func(tx *txn) error {
		a, err := loadAdmin(ctx, tx)
		if err != nil {
			return err
		}
		sealed, shown, err := s.newSecret(a.orgID)
		if err != nil {
			return err
		}
		e := &muster.WebhookEndpoint{OrgID: a.orgID, URL: in.URL, Description: in.Description,
			EventTypes: in.EventTypes, Enabled: true, Secret: sealed, CreatedAt: tx.now}
		if err := tx.CreateWebhookEndpoint(ctx, e); err != nil {
			return err
		}
		tx.hooks = nil // the org's subscribers changed
		out = WebhookSecret{Endpoint: e, Secret: shown}
		return tx.audit(ctx, a, muster.ActionWebhookCreated, muster.TargetWebhook, e.ID, e.URL, nil, webhookSnapshot(e))
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Webhooks lists the org's endpoints for Owners and Admins.
func (s *Service) Webhooks(ctx context.Context) ([]*muster.WebhookEndpoint, error) {
	return readAs(ctx, s, loadAdmin, func(tx *txn, a *actor) ([]*muster.WebhookEndpoint, error) {
		return tx.FindWebhookEndpoints(ctx, a.orgID)
	})
}

// Webhook returns one of the org's endpoints.
func (s *Service) Webhook(ctx context.Context, id int64) (*muster.WebhookEndpoint, error) {
	return readAs(ctx, s, loadAdmin, func(tx *txn, a *actor) (*muster.WebhookEndpoint, error) {
		return tx.FindWebhookEndpoint(ctx, a.orgID, id)
	})
}

// UpdateWebhook changes an endpoint's URL, description, event types or
// whether it is enabled. Enabling an endpoint that Muster disabled starts
// it afresh; its failed deliveries can be sent again with
// RedeliverFailedWebhooks.
func (s *Service) UpdateWebhook(ctx context.Context, id int64, upd WebhookUpdate) (*muster.WebhookEndpoint, error) {
	var v muster.Validation
	if upd.URL != nil {
		*upd.URL = s.checkWebhookURL(&v, *upd.URL)
	}
	if upd.Description != nil {
		*upd.Description = checkWebhookDescription(&v, *upd.Description)
	}
	if upd.EventTypes != nil {
		*upd.EventTypes = checkEventTypes(&v, *upd.EventTypes)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var e *muster.WebhookEndpoint
	err := s.update(ctx, func(tx *txn) error {
		a, found, err := loadWebhook(ctx, tx, id)
		if err != nil {
			return err
		}
		e = found
		if err := checkVersion("webhook endpoint", upd.IfVersion, e.Version); err != nil {
			return err
		}
		before := webhookSnapshot(e)
		if upd.URL != nil {
			e.URL = *upd.URL
		}
		if upd.Description != nil {
			e.Description = *upd.Description
		}
		if upd.EventTypes != nil {
			e.EventTypes = *upd.EventTypes
		}
		if upd.Enabled != nil && *upd.Enabled != e.Enabled {
			e.Enabled = *upd.Enabled
			if e.Enabled {
				e.DisabledReason, e.DisabledAt, e.FailingSince = "", time.Time{}, time.Time{}
			} else {
				e.DisabledReason, e.DisabledAt = muster.WebhookDisabledManually, tx.now
			}
		}
		after := webhookSnapshot(e)
		if equalSnapshots(before, after) {
			return nil
		}
		e.UpdatedAt = tx.now
		if err := tx.UpdateWebhookEndpoint(ctx, e); err != nil {
			return err
		}
		if !e.Enabled {
			if err := tx.FailWebhookDeliveries(ctx, e.ID, tx.now, "The endpoint was disabled."); err != nil {
				return err
			}
		}
		tx.hooks = nil
		return tx.audit(ctx, a, muster.ActionWebhookUpdated, muster.TargetWebhook, e.ID, e.URL, before, after)
	})
	return e, err
}

// SecretOverlapHours is an overlap of hours for RotateWebhookSecret: one it
// refuses when hours is out of its range, rather than what time.Duration's
// multiplication would wrap a large number round to (5124096 hours is 25
// minutes).
func SecretOverlapHours(hours int) time.Duration {
	if hours < 0 || hours > int(MaxSecretOverlap/time.Hour) {
		return -1
	}
	return time.Duration(hours) * time.Hour
}

// RotateWebhookSecret gives an endpoint a new signing secret, shown this
// once. For overlap after the rotation the old secret signs too (the
// webhook-signature header carries both), so that receivers can switch
// without losing an event; zero ends the old secret at once.
func (s *Service) RotateWebhookSecret(ctx context.Context, id int64, overlap time.Duration) (*WebhookSecret, error) {
	if overlap < 0 || overlap > MaxSecretOverlap {
		return nil, muster.FieldErrorf(muster.EINVALID, muster.FieldOverlapHours,
			"The overlap must be from 0 to %d hours.", int(MaxSecretOverlap.Hours()))
	}
	var out WebhookSecret
	err := change(ctx, s, &out, func(tx *txn) error {
		a, e, err := loadWebhook(ctx, tx, id)
		if err != nil {
			return err
		}
		sealed, shown, err := s.newSecret(a.orgID)
		if err != nil {
			return err
		}
		e.PreviousSecret, e.PreviousSecretUntil = nil, time.Time{}
		if overlap > 0 {
			e.PreviousSecret, e.PreviousSecretUntil = e.Secret, tx.now.Add(overlap)
		}
		e.Secret, e.UpdatedAt = sealed, tx.now
		if err := tx.UpdateWebhookEndpoint(ctx, e); err != nil {
			return err
		}
		out = WebhookSecret{Endpoint: e, Secret: shown}
		return tx.audit(ctx, a, muster.ActionWebhookSecretRotated, muster.TargetWebhook, e.ID, e.URL, nil,
			map[string]any{"previous_secret_until": formatTime(e.PreviousSecretUntil)})
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteWebhook deletes an endpoint; its pending deliveries stop. A
// non-zero ifVersion refuses it with ESTALE unless the endpoint is still at
// that version.
func (s *Service) DeleteWebhook(ctx context.Context, id, ifVersion int64) (*muster.WebhookEndpoint, error) {
	var e *muster.WebhookEndpoint
	err := s.update(ctx, func(tx *txn) error {
		a, found, err := loadWebhook(ctx, tx, id)
		if err != nil {
			return err
		}
		e = found
		if err := checkVersion("webhook endpoint", ifVersion, e.Version); err != nil {
			return err
		}
		if err := tx.DeleteWebhookEndpoint(ctx, a.orgID, e.ID, tx.now); err != nil {
			return err
		}
		tx.hooks = nil
		return tx.audit(ctx, a, muster.ActionWebhookDeleted, muster.TargetWebhook, e.ID, e.URL, webhookSnapshot(e), nil)
	})
	return e, err
}

// WebhookDeliveryQuery selects a page of an endpoint's delivery log.
type WebhookDeliveryQuery struct {
	// State is empty for every state, else pending, succeeded or failed.
	State string
	// BeforeID is the ID of the last delivery of the previous page.
	BeforeID int64
	Limit    int
}

// WebhookLog is a page of an endpoint's delivery log.
type WebhookLog struct {
	Endpoint   *muster.WebhookEndpoint
	Deliveries []*muster.WebhookDelivery
	// NextBeforeID is the BeforeID of the next page; 0 on the last.
	NextBeforeID int64
}

// FindWebhookLog returns an endpoint with a page of its deliveries, newest
// first.
func (s *Service) FindWebhookLog(ctx context.Context, id int64, q WebhookDeliveryQuery) (*WebhookLog, error) {
	switch q.State {
	case "", muster.DeliveryPending, muster.DeliverySucceeded, muster.DeliveryFailed:
	default:
		return nil, muster.Errorf(muster.EINVALID, "The state must be pending, succeeded or failed.")
	}
	limit := pageLimit(q.Limit)
	return readAs(ctx, s, loadAdmin, func(tx *txn, a *actor) (*WebhookLog, error) {
		e, err := tx.FindWebhookEndpoint(ctx, a.orgID, id)
		if err != nil {
			return nil, err
		}
		ds, err := tx.FindWebhookDeliveries(ctx, muster.WebhookDeliveryFilter{OrgID: a.orgID, EndpointID: e.ID,
			State: q.State, BeforeID: q.BeforeID, Limit: limit + 1})
		if err != nil {
			return nil, err
		}
		out := &WebhookLog{Endpoint: e, Deliveries: ds}
		if len(ds) > limit {
			out.Deliveries = ds[:limit]
			out.NextBeforeID = ds[limit-1].ID
		}
		return out, nil
	})
}

// WebhookDeliveryDetail is one delivery with its event and every attempt.
type WebhookDeliveryDetail struct {
	Endpoint *muster.WebhookEndpoint
	Delivery *muster.WebhookDelivery
	Event    *muster.WebhookEvent
	Attempts []*muster.WebhookAttempt
}

// FindWebhookDelivery returns one of an endpoint's deliveries with its
// event's payload and its attempts.
func (s *Service) FindWebhookDelivery(ctx context.Context, endpointID, deliveryID int64) (*WebhookDeliveryDetail, error) {
	var out *WebhookDeliveryDetail
	err := s.view(ctx, func(tx *txn) error {
		_, e, d, err := loadDelivery(ctx, tx, endpointID, deliveryID)
		if err != nil {
			return err
		}
		out = &WebhookDeliveryDetail{Endpoint: e, Delivery: d}
		events, err := tx.FindWebhookEvents(ctx, []int64{d.EventID})
		if err != nil || len(events) == 0 {
			return orNotFound(err, "Delivery")
		}
		out.Event = events[0]
		out.Attempts, err = tx.FindWebhookAttempts(ctx, d.ID)
		return err
	})
	return out, err
}

func orNotFound(err error, what string) error {
	if err != nil {
		return err
	}
	return muster.Errorf(muster.ENOTFOUND, "%s not found.", what)
}

// loadDelivery resolves an Owner or Admin, an endpoint of their org and
// one of its deliveries.
func loadDelivery(ctx context.Context, tx *txn, endpointID, deliveryID int64) (*actor, *muster.WebhookEndpoint, *muster.WebhookDelivery, error) {
	a, e, err := loadWebhook(ctx, tx, endpointID)
	if err != nil {
		return nil, nil, nil, err
	}
	d, err := tx.FindWebhookDelivery(ctx, a.orgID, deliveryID)
	if err != nil {
		return nil, nil, nil, err
	}
	if d.EndpointID != e.ID {
		return nil, nil, nil, muster.Errorf(muster.ENOTFOUND, "Delivery not found.")
	}
	return a, e, d, nil
}

// checkEnabled refuses to queue deliveries for a disabled endpoint, which
// would only wait.
func checkEnabled(e *muster.WebhookEndpoint) error {
	if !e.Enabled {
		return muster.Errorf(muster.ECONFLICT, "The endpoint is disabled. Enable it first, then redeliver.")
	}
	return nil
}

// RedeliverWebhook sends a finished delivery again, with the same
// webhook-id and a new retry schedule.
func (s *Service) RedeliverWebhook(ctx context.Context, endpointID, deliveryID int64) (*muster.WebhookDelivery, error) {
	var d *muster.WebhookDelivery
	err := change(ctx, s, &d, func(tx *txn) error {
		a, e, found, err := loadDelivery(ctx, tx, endpointID, deliveryID)
		if err != nil {
			return err
		}
		d = found
		if err := checkEnabled(e); err != nil {
			return err
		}
		if ok, err := tx.RedeliverWebhook(ctx, d.ID, tx.now); err != nil {
			return err
		} else if !ok {
			return muster.Errorf(muster.ECONFLICT, "This delivery is still on its way; it can be sent again once it has succeeded or failed.")
		}
		tx.queued |= QueueWebhooks
		d.State, d.Attempts, d.NextAttemptAt, d.FinishedAt = muster.DeliveryPending, 0, tx.now, time.Time{}
		return tx.audit(ctx, a, muster.ActionWebhookRedelivered, muster.TargetWebhook, e.ID, e.URL, nil,
			map[string]any{"delivery_id": d.ID, "webhook_id": d.MsgID, "event_type": d.EventType})
	})
	return d, err
}

// RedeliverFailedWebhooks sends again every failed delivery to an endpoint
// of the events written since then, and counts them.
func (s *Service) RedeliverFailedWebhooks(ctx context.Context, endpointID int64, since time.Time) (int, error) {
	if since.IsZero() {
		return 0, muster.FieldErrorf(muster.EINVALID, muster.FieldSince, "Say since when: failed deliveries of events written since then are sent again.")
	}
	var n int
	err := change(ctx, s, &n, func(tx *txn) error {
		a, e, err := loadWebhook(ctx, tx, endpointID)
		if err != nil {
			return err
		}
		if err := checkEnabled(e); err != nil {
			return err
		}
		if n, err = tx.RedeliverFailedWebhooks(ctx, e.ID, since, tx.now); err != nil || n == 0 {
			return err
		}
		tx.queued |= QueueWebhooks
		return tx.audit(ctx, a, muster.ActionWebhookRedelivered, muster.TargetWebhook, e.ID, e.URL, nil,
			map[string]any{"failed_since": formatTime(since), "deliveries": n})
	})
	return n, err
}
