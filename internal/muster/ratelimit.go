package muster

import (
	"context"
	"time"
)

// RateLimit is the attempts counted under one limiter key (AUTH-1): a
// sign-in's account, client address or both, or a password reset's
// account. The service decides what is counted and how much is allowed;
// the store keeps the counts where every instance sees them.
type RateLimit struct {
	Key      string
	Attempts int
	// NextAt, when not zero, is the earliest time of the next attempt.
	NextAt time.Time
	// ExpiresAt is when the row is forgotten, its attempts with it.
	ExpiresAt time.Time
}

// RateLimitTx keeps rate limits.
type RateLimitTx interface {
	// TakeRateLimit counts one attempt under key at now and returns the
	// key's row with it, unless the key's row is live (it expires after
	// now) and either holds max attempts already or has a NextAt after
	// now: then it counts nothing and returns the row and false. A key
	// without a live row starts a new one with this attempt, expiring at
	// expires; a live row's expiry moves to extend when that is later.
	// Taking is one statement, so that concurrent takes, on any instance,
	// never count more than max.
	TakeRateLimit(ctx context.Context, key string, now time.Time, max int, expires, extend time.Time) (*RateLimit, bool, error)
	// DelayRateLimit sets the key's NextAt.
	DelayRateLimit(ctx context.Context, key string, next time.Time) error
	// ReturnRateLimit takes back one attempt counted under key.
	ReturnRateLimit(ctx context.Context, key string) error
	// FindRateLimit finds the key's row if it is live at now.
	FindRateLimit(ctx context.Context, key string, now time.Time) (*RateLimit, error)
	DeleteRateLimit(ctx context.Context, key string) error
	// DeleteExpiredRateLimits deletes up to limit rows that have expired
	// at now (skipping rows other transactions hold), and returns how many
	// it deleted.
	DeleteExpiredRateLimits(ctx context.Context, now time.Time, limit int) (int, error)
}
