package muster

import "time"

// IdempotencyRecord is the stored outcome of an API request sent with an
// Idempotency-Key (API-3).
type IdempotencyRecord struct {
	OrgID       int64
	UserID      int64
	Key         string
	RequestHash []byte
	StatusCode  int // 0 while the first request is still running
	ContentType string
	Body        []byte
	CreatedAt   time.Time
}
