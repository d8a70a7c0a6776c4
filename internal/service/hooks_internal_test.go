package service

import (
	"context"

	"github.com/muster-app/muster/internal/muster"
)

// ApplyImportBatch applies rows as the job of imp applies the batch of its
// plan that starts at from.
func ApplyImportBatch(ctx context.Context, s *Service, imp *muster.Import, rows []*ImportRow, from int) error {
	return s.applyImportBatch(importContext(ctx, imp), imp, rows, from)
}

// SetSignInHooks makes s call admitted when a sign-in has passed the limits
// (before it waits for its turn to hash) and hashing just before it hashes,
// so that a test can hold sign-ins there. Either may be nil.
func SetSignInHooks(s *Service, admitted, hashing func()) {
	s.hooks = signInHooks{admitted: admitted, hashing: hashing}
}

// RateLimitKeys are the keys of the limits a sign-in of email from ip
// counts against: the address at the account, the account, the address.
func RateLimitKeys(email, ip string) (pair, account, address string) {
	a := newSignInAttempt(email, ip)
	return a.pair, a.account, a.address
}

// SetHashQueue gives s's password hashing queue room for queue sign-ins,
// so that a test of the limits is not cut short by the queue.
func SetHashQueue(s *Service, queue int) {
	slots := cap(s.hashes.slots)
	s.hashes = newHashGate(slots, queue)
}
