package muster

import (
	"context"
	"slices"
	"time"
)

// Webhook event types (EVT-1): what an endpoint subscribes to. Every event
// is derived from an audit event in the transaction that writes it.
const (
	EventUserInvited          = "user.invited"
	EventUserActivated        = "user.activated"
	EventUserUpdated          = "user.updated" // role or names
	EventUserTeamsChanged     = "user.teams_changed"
	EventUserDeactivated      = "user.deactivated"
	EventUserReinvited        = "user.reinvited"
	EventInvitationWithdrawn  = "user.invitation_withdrawn"
	EventTeamCreated          = "team.created"
	EventTeamRenamed          = "team.renamed"
	EventTeamRemoved          = "team.removed"
	EventSendAsGranted        = "send_as.granted"
	EventSendAsRevoked        = "send_as.revoked"
	EventLicenseTotalChanged  = "license.total_changed"
	EventLicenseExhausted     = "license.exhausted" // the last seat was taken
	EventOwnershipTransferred = "ownership.transferred"
	// EventAuditEvent carries every audit event, to stream the audit log
	// (to a SIEM, say).
	EventAuditEvent = "audit.event"
	// EventTest is what "Send test event" sends; nobody subscribes to it.
	EventTest = "webhook.test"
)

// EventTypes are the event types an endpoint can subscribe to, in the
// order the console lists them.
var EventTypes = []string{
	EventUserInvited, EventUserActivated, EventUserUpdated, EventUserTeamsChanged, EventUserDeactivated,
	EventUserReinvited, EventInvitationWithdrawn, EventTeamCreated, EventTeamRenamed, EventTeamRemoved,
	EventSendAsGranted, EventSendAsRevoked, EventLicenseTotalChanged, EventLicenseExhausted,
	EventOwnershipTransferred, EventAuditEvent,
}

// IsEventType reports whether t is a type an endpoint can subscribe to.
func IsEventType(t string) bool { return slices.Contains(EventTypes, t) }

// WebhookEndpoint is a URL that an organization's events are sent to.
type WebhookEndpoint struct {
	ID          int64
	OrgID       int64
	URL         string
	Description string
	// EventTypes are the types it receives; empty for every type.
	EventTypes []string
	Enabled    bool
	// DisabledReason says why an endpoint is disabled: WebhookDisabledBy…
	DisabledReason string
	DisabledAt     time.Time
	// Secret is the signing secret, sealed with the server's key; it is
	// never encoded (into an idempotency record's outcome).
	Secret []byte `json:"-"`
	// PreviousSecret, sealed, also signs until PreviousSecretUntil: the
	// overlap of a rotation.
	PreviousSecret      []byte `json:"-"`
	PreviousSecretUntil time.Time
	// FailingSince is when the attempts that have failed since the last
	// success began; zero when the last attempt succeeded.
	FailingSince time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// Version increases with every change made through the service; it
	// backs the API's If-Match.
	Version int64
}

// Wants reports whether the endpoint subscribes to events of type t.
func (e *WebhookEndpoint) Wants(t string) bool {
	return len(e.EventTypes) == 0 || slices.Contains(e.EventTypes, t)
}

// Why an endpoint is disabled.
const (
	WebhookDisabledManually = "manual"  // by an Owner or Admin
	WebhookDisabledGone     = "gone"    // the endpoint answered 410 Gone
	WebhookDisabledFailing  = "failing" // every attempt failed for WebhookFailingLimit
)

// WebhookSubscriber is an enabled endpoint as the transactions that write
// events see it: which types it wants.
type WebhookSubscriber struct {
	ID         int64
	EventTypes []string // empty: every type
}

// Wants reports whether the subscriber wants events of type t.
func (s *WebhookSubscriber) Wants(t string) bool {
	return len(s.EventTypes) == 0 || slices.Contains(s.EventTypes, t)
}

// WebhookEvent is one event, written in the transaction of the change it
// reports; its MsgID is the webhook-id of every attempt to deliver it.
type WebhookEvent struct {
	ID        int64
	OrgID     int64
	MsgID     string
	Type      string
	Payload   []byte
	CreatedAt time.Time
}

// Delivery states.
const (
	DeliveryPending   = "pending"
	DeliverySucceeded = "succeeded"
	DeliveryFailed    = "failed"
)

// WebhookDelivery is one event on its way to one endpoint.
type WebhookDelivery struct {
	ID         int64
	OrgID      int64
	EndpointID int64
	EventID    int64
	// Subject orders deliveries: an endpoint gets the events of one
	// subject (a user: "user:12") one after another, in the order they
	// were written.
	Subject string
	State   string
	// Attempts counts the attempts since the delivery was queued or last
	// redelivered; the retry schedule follows it.
	Attempts      int
	NextAttemptAt time.Time
	// LeaseUntil is when a sender's claim ends; LeaseSeq counts claims, so
	// that a sender whose claim ran out records nothing over another's.
	LeaseUntil    time.Time
	LeaseSeq      int64
	CreatedAt     time.Time
	LastAttemptAt time.Time
	FinishedAt    time.Time
	LastStatus    int
	LastError     string

	// The event's, for listings.
	EventType string
	MsgID     string
}

// WebhookAttempt is one HTTP request of a delivery, for the delivery log.
type WebhookAttempt struct {
	ID          int64
	DeliveryID  int64
	EndpointID  int64
	AttemptedAt time.Time
	// StatusCode is 0 when no response came (a refused connection, a
	// timeout).
	StatusCode int
	Latency    time.Duration
	// Response is the first bytes of the response body.
	Response string
	Error    string
}

// Succeeded reports whether the attempt got a 2xx answer.
func (a *WebhookAttempt) Succeeded() bool { return a.StatusCode >= 200 && a.StatusCode < 300 }

// WebhookDeliveryFilter selects an endpoint's deliveries, newest first.
type WebhookDeliveryFilter struct {
	OrgID      int64
	EndpointID int64
	State      string // empty for every state
	BeforeID   int64
	Limit      int
}

// WebhookTx reads and writes webhook endpoints, their events, deliveries
// and attempts (EVT-1).
type WebhookTx interface {
	CreateWebhookEndpoint(ctx context.Context, e *WebhookEndpoint) error
	// UpdateWebhookEndpoint writes every field of e and increments its
	// version.
	UpdateWebhookEndpoint(ctx context.Context, e *WebhookEndpoint) error
	// SetWebhookEndpointFailing records when the endpoint's failures began
	// (zero: it succeeded), without a new version.
	SetWebhookEndpointFailing(ctx context.Context, id int64, since time.Time) error
	// DeleteWebhookEndpoint removes the endpoint from its org; its
	// deliveries stop.
	DeleteWebhookEndpoint(ctx context.Context, orgID, id int64, now time.Time) error
	// FindWebhookEndpoint finds the org's endpoint; in a write transaction
	// it locks it until the commit, against other changes of the endpoint
	// but not against the transactions that add deliveries for it.
	FindWebhookEndpoint(ctx context.Context, orgID, id int64) (*WebhookEndpoint, error)
	// FindWebhookEndpoints lists the org's endpoints, oldest first.
	FindWebhookEndpoints(ctx context.Context, orgID int64) ([]*WebhookEndpoint, error)
	// FindWebhookSubscribers lists the org's enabled endpoints and the
	// types they want: one indexed read, empty for an org without any.
	FindWebhookSubscribers(ctx context.Context, orgID int64) ([]*WebhookSubscriber, error)

	// CreateWebhookEvent writes an event and, for each endpoint, a pending
	// delivery due at the event's time.
	CreateWebhookEvent(ctx context.Context, ev *WebhookEvent, subject string, endpointIDs []int64) error
	// FindWebhookEvents finds events by id.
	FindWebhookEvents(ctx context.Context, ids []int64) ([]*WebhookEvent, error)

	// FindDueWebhookEndpoints lists the enabled endpoints with deliveries
	// due at now and not claimed.
	FindDueWebhookEndpoints(ctx context.Context, now time.Time) ([]int64, error)
	// LeaseWebhookDeliveries claims up to limit of the endpoint's due
	// deliveries until until, oldest due first, leaving out any whose
	// subject has an earlier delivery still pending, and counts the
	// attempt. Two senders, on any instances, never claim the same
	// delivery at the same time.
	LeaseWebhookDeliveries(ctx context.Context, endpointID int64, now, until time.Time, limit int) ([]*WebhookDelivery, error)
	// ClaimWebhookDelivery claims, until until, the delivery of an event
	// that its transaction wrote for one endpoint (a test event, sent at
	// once rather than by a sender).
	ClaimWebhookDelivery(ctx context.Context, eventID int64, until time.Time) (*WebhookDelivery, error)
	// CreateWebhookAttempt adds an attempt to the delivery log.
	CreateWebhookAttempt(ctx context.Context, a *WebhookAttempt) error
	// FinishWebhookDelivery ends a delivery (succeeded or failed) if its
	// claim is still leaseSeq, and reports whether it did.
	FinishWebhookDelivery(ctx context.Context, id, leaseSeq int64, state string, a *WebhookAttempt) (bool, error)
	// RetryWebhookDelivery schedules a delivery's next attempt if its claim
	// is still leaseSeq, and reports whether it did.
	RetryWebhookDelivery(ctx context.Context, id, leaseSeq int64, next time.Time, a *WebhookAttempt) (bool, error)
	// ReleaseWebhookDelivery gives back a claim whose attempt was never
	// made, if it is still leaseSeq: the delivery is due again at once and
	// the attempt its claim counted is not counted.
	ReleaseWebhookDelivery(ctx context.Context, id, leaseSeq int64) (bool, error)
	// FailWebhookDeliveries ends the endpoint's pending deliveries as
	// failed, with reason as their last error.
	FailWebhookDeliveries(ctx context.Context, endpointID int64, now time.Time, reason string) error
	// RedeliverWebhook queues a finished delivery again, due at now.
	RedeliverWebhook(ctx context.Context, id int64, now time.Time) (bool, error)
	// RedeliverFailedWebhooks queues again the endpoint's failed
	// deliveries of events written at or after since, and counts them.
	RedeliverFailedWebhooks(ctx context.Context, endpointID int64, since, now time.Time) (int, error)

	FindWebhookDeliveries(ctx context.Context, filter WebhookDeliveryFilter) ([]*WebhookDelivery, error)
	FindWebhookDelivery(ctx context.Context, orgID, id int64) (*WebhookDelivery, error)
	// FindWebhookAttempts lists a delivery's attempts, oldest first.
	FindWebhookAttempts(ctx context.Context, deliveryID int64) ([]*WebhookAttempt, error)
	// DeleteExpiredWebhookDeliveries deletes deliveries that finished
	// before before, their attempts and the events left without any, and
	// counts the deliveries.
	DeleteExpiredWebhookDeliveries(ctx context.Context, before time.Time) (int, error)
}
