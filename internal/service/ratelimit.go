package service

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"math"
	"strconv"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/secret"
)

// Sign-in limits (AUTH-1). They slow a password guesser down without
// handing anyone a way to lock someone else out, and they hold across every
// instance over the database and across restarts: the counts live in the
// database (RateLimitTx), and each attempt is counted before its password
// is checked, so attempts sent together cannot pass a limit that none of
// them has yet counted against. docs/security.md explains the choices.
var (
	// signInPair limits the failures of one client address at one account
	// (an email, whether or not it has an account): 3 free, then a wait
	// of 1 s before the next, doubling with each failure up to 15
	// minutes. The failures are forgotten an hour after the last attempt,
	// or at once when the right password signs in.
	signInPair = backoffLimit{kind: "signin-pair", free: 3, first: time.Second, max: 15 * time.Minute,
		forget: time.Hour}
	// signInAccount is the ceiling of one account's failures from every
	// address together, against guessing spread over many addresses.
	signInAccount = windowLimit{kind: "signin-account", max: 50, window: 15 * time.Minute}
	// signInAddress is the ceiling of one address's failures over every
	// account, against one address trying many accounts. Everyone behind
	// one NAT or proxy shares it, so it is high.
	signInAddress = windowLimit{kind: "signin-address", max: 100, window: 15 * time.Minute}
	// knownAddressFor is how long an address that signed in to an account
	// stays known for it. A known address is held to signInPair only, so
	// that neither ceiling, which an attacker can fill, keeps the account's
	// owner out from where they usually sign in.
	knownAddressFor = 30 * 24 * time.Hour
	// resetRequests limits the password reset emails per account.
	resetRequests = windowLimit{kind: "reset", max: 3, window: time.Hour}
	// ownPasswordChecks limits the wrong passwords a signed-in person
	// gives where Muster asks again for theirs (changing it, transferring
	// ownership), so that a session in other hands cannot guess it
	// without end.
	ownPasswordChecks = windowLimit{kind: "own-password", max: 10, window: 15 * time.Minute}
)

// sweepBatch is how many expired limiter rows each sign-in deletes: more
// than the 3 it can create, so that the table holds little more than live
// rows without a sweeper of its own.
const sweepBatch = 8

// limitKey is the key of kind's count for the parts (an email, an
// address): a hash, so that whatever is typed in the email field is never
// stored, and keys have one length.
func limitKey(kind string, parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return kind + ":" + base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// windowLimit allows max attempts per key in a fixed window that starts at
// the key's first attempt.
type windowLimit struct {
	kind   string
	max    int
	window time.Duration
}

// take counts an attempt under key at now, or returns how long until the
// window ends when it is full.
func (l windowLimit) take(ctx context.Context, tx muster.Tx, key string, now time.Time) (wait time.Duration, err error) {
	r, ok, err := tx.TakeRateLimit(ctx, key, now, l.max, now.Add(l.window), time.Time{})
	if err != nil || ok {
		return 0, err
	}
	return max(r.ExpiresAt.Sub(now), time.Second), nil
}

// backoffLimit lets free attempts per key through at once and makes each
// later one wait, first, then twice as long after each further attempt, up
// to max. A key is forgotten forget after its last attempt.
type backoffLimit struct {
	kind               string
	free               int
	first, max, forget time.Duration
}

// delay is the wait before the attempt after the n-th.
func (l backoffLimit) delay(n int) time.Duration {
	if n < l.free {
		return 0
	}
	d := l.first
	for i := l.free; i < n && d < l.max; i++ {
		d *= 2
	}
	return min(d, l.max)
}

// take counts an attempt under key at now, or returns how long until the
// next is allowed.
func (l backoffLimit) take(ctx context.Context, tx muster.Tx, key string, now time.Time) (wait time.Duration, err error) {
	forget := now.Add(l.forget)
	r, ok, err := tx.TakeRateLimit(ctx, key, now, math.MaxInt32, forget, forget)
	if err != nil {
		return 0, err
	}
	if !ok {
		return max(r.NextAt.Sub(now), time.Microsecond), nil
	}
	if d := l.delay(r.Attempts); d > 0 {
		return 0, tx.DelayRateLimit(ctx, key, now.Add(d))
	}
	return 0, nil
}

// signInAttempt is what a sign-in counted against the limits before
// checking its password: given back if the password is right or never
// checked.
type signInAttempt struct {
	pair, account, address, known string // keys
	// isKnown says the address has signed in to the account before: only
	// the pair counted.
	isKnown bool
}

func newSignInAttempt(email, ip string) *signInAttempt {
	email = muster.NormalizeEmail(email)
	return &signInAttempt{
		pair:    limitKey(signInPair.kind, email, ip),
		account: limitKey(signInAccount.kind, email),
		address: limitKey(signInAddress.kind, ip),
		known:   knownKey(email, ip),
	}
}

func knownKey(email, ip string) string {
	return limitKey("signin-known", muster.NormalizeEmail(email), ip)
}

// takeSignIn counts a sign-in attempt against every limit that applies, in
// one transaction: all or none. Its keys are taken in one order (pair,
// address, account), so that on PostgreSQL two sign-ins never wait for each
// other's rows in a cycle.
func (s *Service) takeSignIn(ctx context.Context, email, ip string) (*signInAttempt, error) {
	a := newSignInAttempt(email, ip)
	err := s.update(ctx, func(tx *txn) error {
		a.isKnown = false
		switch _, err := tx.FindRateLimit(ctx, a.known, tx.now); muster.ErrorCode(err) {
		case "":
			a.isKnown = true
		case muster.ENOTFOUND:
		default:
			return err
		}
		if wait, err := signInPair.take(ctx, tx, a.pair, tx.now); err != nil || wait > 0 {
			return tooManyAttempts(wait, err)
		}
		if !a.isKnown {
			if wait, err := signInAddress.take(ctx, tx, a.address, tx.now); err != nil || wait > 0 {
				return tooManyAttempts(wait, err)
			}
			if wait, err := signInAccount.take(ctx, tx, a.account, tx.now); err != nil || wait > 0 {
				return tooManyAttempts(wait, err)
			}
		}
		// Last, as it never waits for a row another transaction holds.
		_, err := tx.DeleteExpiredRateLimits(ctx, tx.now, sweepBatch)
		return err
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// giveBack returns the attempt of a sign-in whose password was never
// checked.
func (s *Service) giveBack(ctx context.Context, a *signInAttempt) {
	// Even for a client that has gone. A failure leaves the attempt
	// counted, which errs on the safe side; the sign-in's own answer says
	// what went wrong.
	ctx = context.WithoutCancel(ctx)
	_ = s.update(ctx, func(tx *txn) error { return a.giveBack(ctx, tx, false) })
}

// giveBack returns the attempt's counts in tx; forget, for the right
// password, also forgets the address's failures at the account.
func (a *signInAttempt) giveBack(ctx context.Context, tx *txn, forget bool) error {
	var err error
	if forget {
		err = tx.DeleteRateLimit(ctx, a.pair)
	} else {
		err = tx.ReturnRateLimit(ctx, a.pair)
	}
	if err != nil || a.isKnown {
		return err
	}
	if err := tx.ReturnRateLimit(ctx, a.address); err != nil {
		return err
	}
	return tx.ReturnRateLimit(ctx, a.account)
}

// checkOwnPassword checks password against the signed-in user u's, counted
// against ownPasswordChecks before the hash is checked; the right one is
// given back.
func (s *Service) checkOwnPassword(ctx context.Context, u *muster.User, password string) (bool, error) {
	key := limitKey(ownPasswordChecks.kind, strconv.FormatInt(u.ID, 10))
	err := s.update(ctx, func(tx *txn) error {
		wait, err := ownPasswordChecks.take(ctx, tx, key, tx.now)
		if err != nil || wait == 0 {
			return err
		}
		return &muster.Error{Code: muster.ETOOMANY, RetryAfter: wait,
			Message: "Too many wrong passwords. Try again in " + waitText(wait) + "."}
	})
	if err != nil {
		return false, err
	}
	// A hash that cannot be read matches no password.
	ok, _ := secret.CheckPassword(u.PasswordHash, password)
	if ok {
		// Even for a client that has gone; a failure leaves the check
		// counted, which errs on the safe side.
		ctx = context.WithoutCancel(ctx)
		_ = s.update(ctx, func(tx *txn) error { return tx.ReturnRateLimit(ctx, key) })
	}
	return ok, nil
}

// rememberAddress notes in tx that the client at ip signed in as email at
// now, so that its next sign-ins there are held to signInPair only.
func rememberAddress(ctx context.Context, tx muster.Tx, email, ip string, now time.Time) error {
	until := now.Add(knownAddressFor)
	_, _, err := tx.TakeRateLimit(ctx, knownKey(email, ip), now, math.MaxInt32, until, until)
	return err
}

// tooManyAttempts is the refusal of a sign-in that must wait; err, if set,
// wins.
func tooManyAttempts(wait time.Duration, err error) error {
	if err != nil {
		return err
	}
	return &muster.Error{Code: muster.ETOOMANY, RetryAfter: wait,
		Message: "Too many sign-in attempts. Try again in " + waitText(wait) + ", or reset your password."}
}

// waitText says how long wait is, rounded up to seconds under a minute and
// to minutes above.
func waitText(wait time.Duration) string {
	n, unit := int(math.Ceil(wait.Seconds())), "second"
	if n > 60 {
		n, unit = int(math.Ceil(wait.Minutes())), "minute"
	}
	if n <= 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// errBusy answers a sign-in that found the password hashing queue full.
var errBusy = &muster.Error{Code: muster.ETOOMANY, RetryAfter: time.Second,
	Message: "Muster is busy signing many people in at once. Please try again in a moment."}

// hashGate bounds the password hashes that sign-ins run: one per CPU at
// once (argon2id uses its 64 MiB for as long as it runs, and more at once
// would not finish sooner), and a short queue, each place of which waits
// for a bounded time. A sign-in takes its place in the queue before
// anything else, even counting its attempt, so that a flood past the queue
// is answered at once without costing the database anything, and the
// sign-ins that do get in are not queued behind it.
type hashGate struct {
	// places holds one token per sign-in between enter and leave: those
	// hashing and those in the queue.
	places chan struct{}
	// slots holds one token per sign-in hashing.
	slots chan struct{}
	// wait bounds how long a sign-in waits for a slot.
	wait time.Duration
}

// hashQueuePerCPU is the queue's length per CPU, beside the one sign-in per
// CPU that hashes: with 64 MiB hashes, about a second's work.
const hashQueuePerCPU = 4

func newHashGate(slots, queue int) *hashGate {
	return &hashGate{places: make(chan struct{}, slots+queue), slots: make(chan struct{}, slots), wait: time.Second}
}

// enter takes a place, or reports that there is none.
func (g *hashGate) enter() bool {
	select {
	case g.places <- struct{}{}:
		return true
	default:
		return false
	}
}

// leave gives the place back.
func (g *hashGate) leave() { <-g.places }

// hash waits for a slot, for at most the gate's wait, and returns the
// function that frees it, or errBusy.
func (g *hashGate) hash(ctx context.Context) (func(), error) {
	timer := time.NewTimer(g.wait)
	defer timer.Stop()
	select {
	case g.slots <- struct{}{}:
		return func() { <-g.slots }, nil
	case <-timer.C:
	case <-ctx.Done():
	}
	return nil, errBusy
}
