package service_test

// The sign-in limits under a burst, with production password hashing
// (argon2id, 64 MiB): the figures in docs/security.md, "Sign-in limits".
// It runs only when asked, as it takes seconds of every CPU:
//
//	MUSTER_SIGNIN_BURST=1 go test -run TestSignInBurst -v ./internal/service/
//
// (without -race, whose overhead would be measured too).

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/web"
)

func TestSignInBurst(t *testing.T) {
	if os.Getenv("MUSTER_SIGNIN_BURST") == "" {
		t.Skip("set MUSTER_SIGNIN_BURST=1 to measure the sign-in limits under a burst")
	}
	const burst = 200
	runStores(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := context.Background()
		// Production hashing and the real clock.
		svc := service.New(db, service.Config{BaseURL: "https://muster.example.com",
			Links: web.NewLinks("https://muster.example.com")})
		f := &fixture{t: t, db: db, svc: svc, clock: &clock{}}
		res, err := svc.CreateOrg(operator(0), service.NewOrg{Name: "Acme", LicenseTotal: 5,
			OwnerEmail: uniqueEmail("owner"), OwnerFirstName: "Olive", OwnerLastName: "Owner"})
		if err != nil {
			t.Fatal(err)
		}
		f.org = res.Org
		f.owner = f.accept(res.SetupURL) // from 192.0.2.1, which the Owner's account now knows
		owner := f.owner.Email

		var (
			hashes    atomic.Int64
			hashingMu sync.Mutex
			hashing   chan struct{} // closed by the burst's first hash
		)
		service.SetSignInHooks(svc, nil, func() {
			if hashes.Add(1) == 1 {
				hashingMu.Lock()
				close(hashing)
				hashingMu.Unlock()
			}
		})
		defer service.SetSignInHooks(svc, nil, nil)

		type outcome struct {
			code    string
			elapsed time.Duration
		}
		// run sends burst sign-ins at once, attempt(i) saying whose, and
		// the Owner's own sign-in (right password) from ownerIP once the
		// first of them hashes, and reports.
		run := func(name string, attempt func(i int) (email string, c service.Client), ownerIP string) {
			hashingMu.Lock()
			hashing = make(chan struct{})
			hashingMu.Unlock()
			hashes.Store(0)
			var (
				wg    sync.WaitGroup
				mu    sync.Mutex
				outs  []outcome
				start = make(chan struct{})
			)
			for i := range burst {
				email, c := attempt(i)
				wg.Go(func() {
					<-start
					t0 := time.Now()
					_, err := svc.SignIn(ctx, email, wrongPassword, c)
					mu.Lock()
					outs = append(outs, outcome{muster.ErrorCode(err), time.Since(t0)})
					mu.Unlock()
				})
			}
			t0 := time.Now()
			close(start)
			// The Owner's sign-in, sent once the burst is hashing; then, if
			// asked to come back, again after the wait it was given, until
			// in.
			hashingMu.Lock()
			began := hashing
			hashingMu.Unlock()
			<-began
			var first outcome
			tries := 0
			for {
				tries++
				t1 := time.Now()
				_, err := svc.SignIn(ctx, owner, password, from(ownerIP))
				if tries == 1 {
					first = outcome{muster.ErrorCode(err), time.Since(t1)}
				}
				if err == nil {
					break
				}
				if muster.ErrorCode(err) != muster.ETOOMANY || tries > 30 {
					t.Fatalf("the Owner's sign-in during the burst: %v", err)
				}
				time.Sleep(muster.ErrorRetryAfter(err)) // the client's wait, measured; not synchronisation
			}
			ownerIn := time.Since(t0)
			wg.Wait()
			total := time.Since(t0)
			counts := map[string]int{}
			var lat []time.Duration
			for _, o := range outs {
				counts[o.code]++
				lat = append(lat, o.elapsed)
			}
			slices.Sort(lat)
			firstCode := first.code
			if firstCode == "" {
				firstCode = "signed in"
			}
			t.Logf("%s: %d sign-ins: %d hashes, %d × 401, %d × 429, other %d; answered in median %s, max %s; all in %s. "+
				"Owner's sign-in during it: %s in %s; signed in %s after the burst began (%d tries)",
				name, burst, hashes.Load(), counts[muster.EUNAUTHORIZED], counts[muster.ETOOMANY],
				burst-counts[muster.EUNAUTHORIZED]-counts[muster.ETOOMANY],
				lat[len(lat)/2].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond),
				total.Round(time.Millisecond), firstCode, first.elapsed.Round(time.Millisecond),
				ownerIn.Round(time.Millisecond), tries)
		}

		// Unknown emails, each from its own address: only the hashing
		// queue stands in the way.
		run("flood", func(i int) (string, service.Client) {
			return fmt.Sprintf("flood%d@example.com", i), from(addr(10, i))
		}, "192.0.2.1")
		// Wrong passwords for the Owner from one address; the Owner signs
		// in from an address with no failures.
		run("one account, one address", func(int) (string, service.Client) {
			return owner, from("203.0.113.80")
		}, "192.0.2.99")
		// Wrong passwords for the Owner from 200 addresses: the account's
		// ceiling; the Owner signs in from the address they know.
		run("one account, 200 addresses", func(i int) (string, service.Client) {
			return owner, from(addr(11, i))
		}, "192.0.2.1")
	})
}
