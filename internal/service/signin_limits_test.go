package service_test

// The sign-in limits (AUTH-1) under the attacks of issue 16: sign-ins sent
// together, a flood of sign-ins, failures meant to lock someone out, and
// several instances (or a restart) multiplying the budget. Each test holds
// sign-ins at a point of their path with the service's test hooks, never
// with sleeps, and moves the settable clock for waits and windows.
//
// The budgets the tests hold the service to:
//   - per account and client address: 3 failures free, then a wait of 1 s
//     that doubles with each further failure, up to 15 minutes;
//   - per account, from every address together: 50 failures in 15 minutes;
//   - per client address, over every account: 100 failures in 15 minutes;
//   - an address that has signed in to the account before is held only to
//     the first of these;
//   - password hashing: one hash per CPU at once and a short, bounded queue.

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

const wrongPassword = "wrong password!"

// from is a browser at the client address ip.
func from(ip string) service.Client {
	return service.Client{IP: ip, UserAgent: "test", Origin: "web " + ip}
}

// addr is the i-th of a range of test addresses (198.18.0.0/15, for
// benchmarks), one per attacker.
func addr(block, i int) string { return fmt.Sprintf("198.%d.%d.%d", 18+block/256, block%256, i+1) }

// signInsAtOnce sends n sign-ins at once, attempt(i) saying who sends the
// i-th and to which instance. Every sign-in that passes the limits is held
// there until each of the n has either passed them or been refused; then
// they go on. It returns the n outcomes.
func signInsAtOnce(t *testing.T, n int, svcs []*service.Service,
	attempt func(i int) (svc *service.Service, email, password string, c service.Client)) []error {
	t.Helper()
	admitted, release := make(chan struct{}, n), make(chan struct{})
	for _, s := range svcs {
		service.SetSignInHooks(s, func() { admitted <- struct{}{}; <-release }, nil)
	}
	results := make(chan error, n)
	for i := range n {
		s, email, password, c := attempt(i)
		go func() {
			_, err := s.SignIn(context.Background(), email, password, c)
			results <- err
		}()
	}
	var outcomes []error
	passed := 0
	watchdog := time.NewTimer(time.Minute)
	defer watchdog.Stop()
	for passed+len(outcomes) < n {
		select {
		case <-admitted:
			passed++
		case err := <-results:
			outcomes = append(outcomes, err)
		case <-watchdog.C:
			close(release)
			t.Fatalf("after a minute, %d of %d sign-ins passed the limits and %d were answered", passed, n, len(outcomes))
		}
	}
	close(release)
	for len(outcomes) < n {
		outcomes = append(outcomes, <-results)
	}
	for _, s := range svcs {
		service.SetSignInHooks(s, nil, nil)
	}
	return outcomes
}

// checked counts the outcomes whose password was checked (signed in, or
// refused as a wrong password) and fails on any outcome but those and
// ETOOMANY.
func checked(t *testing.T, outcomes []error) int {
	t.Helper()
	n := 0
	for _, err := range outcomes {
		switch muster.ErrorCode(err) {
		case "", muster.EUNAUTHORIZED:
			n++
		case muster.ETOOMANY:
		default:
			t.Fatalf("sign-in: %v; want signed in, refused (%s) or limited (%s)", err, muster.EUNAUTHORIZED, muster.ETOOMANY)
		}
	}
	return n
}

// Attack 1: 50 sign-ins for one account sent together (49 wrong passwords,
// then the right one) all had their password checked. The limit holds for
// attempts in flight: no more passwords are checked than the budget.
func TestSignInConcurrentAttemptsStayWithinBudget(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		svcs := []*service.Service{f.svc}
		// Room for every sign-in in the hashing queue: only the limits
		// stand in the way.
		service.SetHashQueue(f.svc, 200)

		attacker := from("203.0.113.50")
		outcomes := signInsAtOnce(t, 50, svcs, func(i int) (*service.Service, string, string, service.Client) {
			if i == 49 {
				return f.svc, f.owner.Email, password, attacker
			}
			return f.svc, f.owner.Email, wrongPassword, attacker
		})
		if n := checked(t, outcomes); n > 3 {
			t.Fatalf("50 sign-ins at once from one address: %d passwords checked; want at most 3", n)
		}

		// Spread over 120 addresses, the account's own ceiling holds.
		victim := f.active("Vic", muster.RoleBasic)
		outcomes = signInsAtOnce(t, 120, svcs, func(i int) (*service.Service, string, string, service.Client) {
			return f.svc, victim.Email, wrongPassword, from(addr(1, i))
		})
		if n := checked(t, outcomes); n > 50 {
			t.Fatalf("120 sign-ins at once for one account from 120 addresses: %d passwords checked; want at most 50", n)
		}
	})
}

// Attack 2: a flood of sign-ins (unknown emails, each from its own
// address) queued for the password hash without limit, and a real sign-in
// sent during it waited for all of them. Hashes run one per CPU at once; the
// rest are answered at once.
func TestSignInFloodIsAnsweredAtOnce(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		ctx := context.Background()
		// Hold every hash until the flood has been answered.
		hashing, release := make(chan struct{}, 200), make(chan struct{})
		service.SetSignInHooks(f.svc, nil, func() { hashing <- struct{}{}; <-release })
		released := false
		defer func() {
			if !released {
				close(release)
			}
		}()

		const flood = 150
		results := make(chan error, flood)
		for i := range flood {
			go func() {
				_, err := f.svc.SignIn(ctx, fmt.Sprintf("flood%d@example.com", i), wrongPassword, from(addr(2, i)))
				results <- err
			}()
		}
		held := 0
		var answered []error
		watchdog := time.NewTimer(time.Minute)
		defer watchdog.Stop()
		for held+len(answered) < flood {
			select {
			case <-hashing:
				held++
			case err := <-results:
				answered = append(answered, err)
			case <-watchdog.C:
				t.Fatalf("after a minute, %d of %d sign-ins were hashing and %d were answered: they queue without bound",
					held, flood, len(answered))
			}
		}
		if cpus := runtime.GOMAXPROCS(0); held > cpus {
			t.Fatalf("%d passwords hashing at once; want at most one per CPU (%d)", held, cpus)
		}
		for _, err := range answered {
			wantCode(t, err, muster.ETOOMANY)
		}

		// A real sign-in during the flood is answered (asked to come back
		// shortly) rather than queued behind it.
		_, err := f.svc.SignIn(ctx, f.owner.Email, password, browser)
		wantRetryAfter(t, err, time.Second)

		close(release)
		released = true
		for range held {
			wantCode(t, <-results, muster.EUNAUTHORIZED)
		}
		service.SetSignInHooks(f.svc, nil, nil)
		if _, err := f.svc.SignIn(ctx, f.owner.Email, password, browser); err != nil {
			t.Fatalf("sign-in after the flood: %v", err)
		}
	})
}

// Attack 3: 5 wrong passwords from anywhere locked the Owner out for 15
// minutes. Failures slow down their own address, with waits that double;
// the Owner, from an address with no failures, still signs in.
func TestSignInFailuresSlowDownWithoutLockingOut(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		ctx := context.Background()
		attacker := from("203.0.113.9")
		signIn := func(email, pw string, c service.Client) error {
			_, err := f.svc.SignIn(ctx, email, pw, c)
			return err
		}
		for range 3 {
			wantCode(t, signIn(f.owner.Email, wrongPassword, attacker), muster.EUNAUTHORIZED)
		}
		// The 4th comes too soon, whatever its password, and is told when
		// to come back.
		wantRetryAfter(t, signIn(f.owner.Email, wrongPassword, attacker), time.Second)
		wantRetryAfter(t, signIn(f.owner.Email, password, attacker), time.Second)
		// The Owner is not locked out.
		if err := signIn(f.owner.Email, password, browser); err != nil {
			t.Fatalf("the Owner's sign-in from another address after 3 failures elsewhere: %v", err)
		}
		// Each further failure doubles the wait.
		for _, wait := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second} {
			f.clock.Advance(wait - time.Millisecond)
			wantRetryAfter(t, signIn(f.owner.Email, wrongPassword, attacker), time.Millisecond)
			f.clock.Advance(time.Millisecond)
			wantCode(t, signIn(f.owner.Email, wrongPassword, attacker), muster.EUNAUTHORIZED)
		}
		// Up to 15 minutes at most: the attacker keeps trying for an hour.
		for range 12 {
			f.clock.Advance(15 * time.Minute)
			wantCode(t, signIn(f.owner.Email, wrongPassword, attacker), muster.EUNAUTHORIZED)
		}
		if err := signIn(f.owner.Email, password, browser); err != nil {
			t.Fatalf("the Owner's sign-in during a slow attack from elsewhere: %v", err)
		}

		// An unknown email is slowed down the same way, so that limits do
		// not reveal which emails exist.
		for range 3 {
			wantCode(t, signIn("ghost@example.com", wrongPassword, attacker), muster.EUNAUTHORIZED)
		}
		wantCode(t, signIn("ghost@example.com", wrongPassword, attacker), muster.ETOOMANY)

		// The right password, once the wait is over, signs in and forgets
		// the address's failures.
		f.clock.Advance(15 * time.Minute)
		if err := signIn(f.owner.Email, password, attacker); err != nil {
			t.Fatalf("the right password after the wait: %v", err)
		}
		for range 3 {
			wantCode(t, signIn(f.owner.Email, wrongPassword, attacker), muster.EUNAUTHORIZED)
		}
	})
}

// Attack 3, behind one address: 30 failures from one address (a NAT, a
// proxy) locked every account out from it. Colleagues behind it still sign
// in; past 100 failures in 15 minutes the address is held off, except for
// the accounts that have signed in from it before.
func TestSignInSharedAddressIsNotLockedOut(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		ctx := context.Background()
		office := from("192.0.2.200")
		ann, bob := f.active("Ann", muster.RoleBasic), f.active("Bob", muster.RoleBasic)
		guess := 0
		fail := func(n int) {
			t.Helper()
			for range n {
				// 3 guesses per email: none of them is slowed down.
				_, err := f.svc.SignIn(ctx, fmt.Sprintf("guess%d@example.com", guess/3), wrongPassword, office)
				wantCode(t, err, muster.EUNAUTHORIZED)
				guess++
			}
		}
		fail(30)
		if _, err := f.svc.SignIn(ctx, ann.Email, password, office); err != nil {
			t.Fatalf("a colleague's sign-in after 30 failures from the shared address: %v", err)
		}
		fail(70)
		// 100 failures: the address is held off for accounts that never
		// signed in from it, until the window ends…
		_, err := f.svc.SignIn(ctx, bob.Email, password, office)
		wantRetryAfter(t, err, 15*time.Minute)
		// …but not for those that did, nor from other addresses.
		if _, err := f.svc.SignIn(ctx, ann.Email, password, office); err != nil {
			t.Fatalf("a colleague who signed in from the shared address before: %v", err)
		}
		if _, err := f.svc.SignIn(ctx, bob.Email, password, browser); err != nil {
			t.Fatalf("sign-in from another address: %v", err)
		}
		f.clock.Advance(15 * time.Minute)
		if _, err := f.svc.SignIn(ctx, bob.Email, password, office); err != nil {
			t.Fatalf("sign-in from the shared address 15 minutes later: %v", err)
		}
	})
}

// Attack 3, spread out: an attacker with many addresses reaches the
// account's own ceiling (50 failures in 15 minutes). Addresses the account
// signed in from before still sign in; others wait for the window to end.
func TestSignInDistributedAttackSparesKnownAddresses(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		ctx := context.Background()
		if _, err := f.svc.SignIn(ctx, f.owner.Email, password, browser); err != nil {
			t.Fatal(err)
		}
		for i := range 50 {
			_, err := f.svc.SignIn(ctx, f.owner.Email, wrongPassword, from(addr(3, i/3)))
			wantCode(t, err, muster.EUNAUTHORIZED)
		}
		_, err := f.svc.SignIn(ctx, f.owner.Email, wrongPassword, from(addr(4, 0)))
		wantCode(t, err, muster.ETOOMANY)
		f.clock.Advance(5 * time.Minute)
		_, err = f.svc.SignIn(ctx, f.owner.Email, password, from("192.0.2.77"))
		wantRetryAfter(t, err, 10*time.Minute)
		if _, err := f.svc.SignIn(ctx, f.owner.Email, password, browser); err != nil {
			t.Fatalf("the Owner from an address they signed in from before, during the attack: %v", err)
		}
		f.clock.Advance(10 * time.Minute)
		if _, err := f.svc.SignIn(ctx, f.owner.Email, password, from("192.0.2.77")); err != nil {
			t.Fatalf("a new address once the window is over: %v", err)
		}
	})
}

// wantRetryAfter checks that err is a refusal as ETOOMANY that says to come
// back after wait.
func wantRetryAfter(t *testing.T, err error, wait time.Duration) {
	t.Helper()
	wantCode(t, err, muster.ETOOMANY)
	if got := muster.ErrorRetryAfter(err); got != wait {
		t.Fatalf("%v: retry after %s; want %s", err, got, wait)
	}
}

// Old counts are deleted as sign-ins go on, so that a flood of emails that
// never come back does not grow the table for ever.
func TestSignInLimitRowsAreSwept(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		ctx := context.Background()
		start := f.clock.Now()
		// 2 failures leave 6 rows; a sign-in deletes up to 8 expired ones.
		for i := range 2 {
			_, err := f.svc.SignIn(ctx, fmt.Sprintf("gone%d@example.com", i), wrongPassword, from(addr(6, i)))
			wantCode(t, err, muster.EUNAUTHORIZED)
		}
		live := func(key string) bool {
			t.Helper()
			var found bool
			err := db.View(ctx, func(tx muster.Tx) error {
				// As seen from the time they were written.
				_, err := tx.FindRateLimit(ctx, key, start)
				found = err == nil
				if muster.ErrorCode(err) == muster.ENOTFOUND {
					err = nil
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return found
		}
		pair, account, address := service.RateLimitKeys("gone0@example.com", addr(6, 0))
		for _, k := range []string{pair, account, address} {
			if !live(k) {
				t.Fatalf("no row for %s after a failure", k)
			}
		}
		f.clock.Advance(time.Hour)
		if _, err := f.svc.SignIn(ctx, f.owner.Email, password, browser); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			pair, account, address := service.RateLimitKeys(fmt.Sprintf("gone%d@example.com", i), addr(6, i))
			for _, k := range []string{pair, account, address} {
				if live(k) {
					t.Fatalf("the row %s, expired an hour ago, is still there after a sign-in", k)
				}
			}
		}
	})
}

// Attack 4: each instance kept its own counts, so N instances allowed N
// times the budget, and a restart forgot them. The counts live in the
// database that the instances share.
func TestSignInLimitsSharedByInstances(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		ctx := context.Background()
		second := newService(db, f.clock)
		attacker := from("203.0.113.60")
		for _, s := range []*service.Service{f.svc, second, f.svc} {
			_, err := s.SignIn(ctx, f.owner.Email, wrongPassword, attacker)
			wantCode(t, err, muster.EUNAUTHORIZED)
		}
		for _, s := range []*service.Service{second, f.svc, newService(db, f.clock)} {
			_, err := s.SignIn(ctx, f.owner.Email, wrongPassword, attacker)
			wantCode(t, err, muster.ETOOMANY)
		}
	})
}

// Attack 4 with two instances, each with its own connections, over one
// PostgreSQL schema: sign-ins sent together to both share one budget.
func TestSignInLimitsTwoInstancesPostgres(t *testing.T) {
	url := storetest.PostgresSchema(t)
	open := func() *sqlstore.DB { return storetest.OpenPostgresAt(t, url) }
	db1, db2 := open(), open()
	f := setup(t, db1, 5)
	second := newService(db2, f.clock)
	svcs := []*service.Service{f.svc, second}
	for _, s := range svcs {
		service.SetHashQueue(s, 200)
	}

	attacker := from("203.0.113.70")
	outcomes := signInsAtOnce(t, 40, svcs, func(i int) (*service.Service, string, string, service.Client) {
		return svcs[i%2], f.owner.Email, wrongPassword, attacker
	})
	if n := checked(t, outcomes); n > 3 {
		t.Fatalf("40 sign-ins at once from one address to two instances: %d passwords checked; want at most 3", n)
	}
	victim := f.active("Vic", muster.RoleBasic)
	outcomes = signInsAtOnce(t, 120, svcs, func(i int) (*service.Service, string, string, service.Client) {
		return svcs[i%2], victim.Email, wrongPassword, from(addr(5, i))
	})
	if n := checked(t, outcomes); n > 50 {
		t.Fatalf("120 sign-ins at once for one account, to two instances: %d passwords checked; want at most 50", n)
	}

	// Password reset requests too.
	u := f.active("Rita", muster.RoleBasic)
	before := outboxCount(t, db1, f.org.ID)
	done := make(chan error, 8)
	for i := range 8 {
		go func() { done <- svcs[i%2].RequestPasswordReset(context.Background(), u.Email, browser) }()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if n := outboxCount(t, db1, f.org.ID) - before; n != 3 {
		t.Fatalf("8 reset requests at once to two instances sent %d emails; want 3", n)
	}
}

// Attack 5: password reset requests per account were limited per instance
// too. Both instances, and a restarted one, share 3 an hour.
func TestPasswordResetRequestsSharedByInstances(t *testing.T) {
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		f := setup(t, db, 5)
		ctx := context.Background()
		u := f.active("Rita", muster.RoleBasic)
		second := newService(db, f.clock)
		before := outboxCount(t, db, f.org.ID)
		for _, s := range []*service.Service{f.svc, second, f.svc, second, newService(db, f.clock)} {
			if err := s.RequestPasswordReset(ctx, u.Email, browser); err != nil {
				t.Fatal(err)
			}
		}
		if n := outboxCount(t, db, f.org.ID) - before; n != 3 {
			t.Fatalf("5 reset requests to two instances and a restarted one sent %d emails; want 3", n)
		}
		f.clock.Advance(time.Hour)
		if err := second.RequestPasswordReset(ctx, u.Email, browser); err != nil {
			t.Fatal(err)
		}
		if n := outboxCount(t, db, f.org.ID) - before; n != 4 {
			t.Fatalf("after an hour, %d emails in all; want 4", n)
		}
	})
}
