package resource

import "time"

// Event is the body of a webhook request (Standard Webhooks): the event's
// type, when the change it reports was made, and its data, one of the
// types below (an AuditEvent for audit.event, an OwnershipTransfer for
// ownership.transferred).
type Event struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      any       `json:"data"`
}

// UserEvent is the data of the user.* events: the user after the change
// and, for user.updated and user.teams_changed, what the changed fields
// were before.
type UserEvent struct {
	User     User           `json:"user"`
	Previous map[string]any `json:"previous,omitempty"`
}

// TeamEvent is the data of the team.* events; Previous holds the name
// before a rename.
type TeamEvent struct {
	Team     Team           `json:"team"`
	Previous map[string]any `json:"previous,omitempty"`
}

// SendAsEvent is the data of send_as.granted and send_as.revoked: the
// permission after the change and the users it was granted to or revoked
// from. Reason says why a grant ended: "unassigned", "deleted" (the
// permission) or "deactivated" (the user).
type SendAsEvent struct {
	SendAs  SendAs  `json:"send_as"`
	UserIDs []int64 `json:"user_ids"`
	Reason  string  `json:"reason,omitempty"`
}

// LicenseEvent is the data of license.total_changed (with the previous
// total) and license.exhausted.
type LicenseEvent struct {
	License  License        `json:"license"`
	Previous map[string]any `json:"previous,omitempty"`
}

// TestEvent is the data of webhook.test, which "Send test event" sends.
type TestEvent struct {
	EndpointID int64  `json:"endpoint_id"`
	Message    string `json:"message"`
}

// TruncatedEvent replaces data that would make a request larger than the
// limit (20 kB): the object it is about, to read through the API.
type TruncatedEvent struct {
	Truncated  bool   `json:"truncated"`
	TargetType string `json:"target_type"`
	TargetID   int64  `json:"target_id"`
}
