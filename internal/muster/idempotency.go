package muster

import "time"

// IdempotencyRecord is the outcome of a change made under an idempotency key
// (API-3): written in the same transaction as the change, so that a change
// committed always has its outcome, and a change rolled back (refused, or
// cut short by a crash) leaves no trace of the key.
type IdempotencyRecord struct {
	OrgID int64
	// UserID is whom the key belongs to: the API token's creator.
	UserID int64
	Key    string
	// RequestHash identifies the request the key was first used with; the
	// key with another request is refused.
	RequestHash []byte
	// Outcome is the change's result, encoded by the service, which a
	// repeat of the request gets back.
	Outcome   []byte
	CreatedAt time.Time
}

// ReasonIdempotencyKeyReused refines EINVALID: the key was used before with
// another request.
const ReasonIdempotencyKeyReused = "idempotency_key_reused"
