package service

import (
	"context"
	"time"

	"github.com/muster-app/muster/internal/muster"
)

// IdempotencyTTL is how long the first response to a keyed request is
// replayed (API-3).
const IdempotencyTTL = 24 * time.Hour

func principalUser(ctx context.Context) (muster.Principal, error) {
	p, ok := muster.PrincipalFrom(ctx)
	if !ok || p.IsOperator() {
		return p, muster.Errorf(muster.EUNAUTHORIZED, "Please sign in.")
	}
	return p, nil
}

// ClaimIdempotencyKey records that the principal's request with key and
// requestHash has started. It returns nil when this request is the first
// with the key; otherwise the earlier request's record, whose StatusCode is 0
// while it still runs.
func (s *Service) ClaimIdempotencyKey(ctx context.Context, key string, requestHash []byte) (*muster.IdempotencyRecord, error) {
	p, err := principalUser(ctx)
	if err != nil {
		return nil, err
	}
	if key == "" || len(key) > 255 {
		return nil, muster.Errorf(muster.EINVALID, "The Idempotency-Key header must be 1 to 255 characters.")
	}
	now := s.now()
	var old *muster.IdempotencyRecord
	err = s.update(ctx, func(tx *txn) error {
		var err error
		old, err = tx.ClaimIdempotencyKey(ctx, &muster.IdempotencyRecord{OrgID: p.OrgID, UserID: p.UserID, Key: key,
			RequestHash: requestHash, CreatedAt: now}, now.Add(-IdempotencyTTL))
		return err
	})
	return old, err
}

// CompleteIdempotencyKey stores the response to replay for the key.
func (s *Service) CompleteIdempotencyKey(ctx context.Context, key string, status int, contentType string, body []byte) error {
	p, err := principalUser(ctx)
	if err != nil {
		return err
	}
	return s.update(ctx, func(tx *txn) error {
		return tx.CompleteIdempotencyKey(ctx, &muster.IdempotencyRecord{OrgID: p.OrgID, UserID: p.UserID, Key: key,
			StatusCode: status, ContentType: contentType, Body: body})
	})
}

// ReleaseIdempotencyKey forgets a key whose request failed on the server's
// side, so that a retry runs again.
func (s *Service) ReleaseIdempotencyKey(ctx context.Context, key string) error {
	p, err := principalUser(ctx)
	if err != nil {
		return err
	}
	return s.update(ctx, func(tx *txn) error { return tx.DeleteIdempotencyKey(ctx, p.OrgID, p.UserID, key) })
}
