package scim_test

import (
	"net/http"
	"sync"
	"testing"

	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// raceForSeats sends 50 POST /Users at once into o, an org of 6 seats (the
// Owner and 5 free), spread over the identity provider's clients (one per
// instance): exactly 5 users are created and the other 45 are told that no
// license is left (LIC-1).
func raceForSeats(t *testing.T, o *org, clients ...*client) {
	t.Helper()
	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		statuses = map[int]int{}
		details  = map[string]bool{}
		start    = make(chan struct{})
	)
	for i := range 50 {
		c := clients[i%len(clients)]
		wg.Go(func() {
			<-start
			res := c.do("POST", "/Users", newUser(email("racer"), "Racer", "Tester"))
			mu.Lock()
			defer mu.Unlock()
			statuses[res.status]++
			if res.status != http.StatusCreated {
				details[res.str("detail")] = true
			}
		})
	}
	close(start)
	wg.Wait()
	const want = "No licenses remaining: 6 of 6 in use. Withdraw a pending invitation or deactivate a user to free one."
	if statuses[http.StatusCreated] != 5 || statuses[http.StatusForbidden] != 45 || len(statuses) != 2 ||
		len(details) != 1 || !details[want] {
		t.Fatalf("50 creations at once on %d instances: statuses %v, details %v; want 5 × 201 and 45 × 403 saying %q",
			len(clients), statuses, details, want)
	}
	if o.seats() != 6 {
		t.Fatalf("%d seats used; want 6 of 6", o.seats())
	}
	o.idp.get("/Users?count=0").want(http.StatusOK).wantEqual("totalResults", 6)
}

func TestSeatsUnderSCIM(t *testing.T) {
	t.Parallel()
	storetest.RunParallel(t, func(t *testing.T, db *sqlstore.DB) {
		o := newOrg(t, db, 6)
		raceForSeats(t, o, o.idp)
	})
}

// Two Muster instances, each with its own pool and server, over one
// PostgreSQL schema: half of the creations go to each.
func TestSeatsUnderSCIMTwoInstancesPostgres(t *testing.T) {
	t.Parallel()
	url := storetest.PostgresSchema(t)
	open := func() *sqlstore.DB { return storetest.OpenPostgresAt(t, url) }
	o := newOrg(t, open(), 6)
	db2 := open()
	second := serve(t, newService(db2), db2, &testsupport.Buffer{})
	raceForSeats(t, o, o.idp, &client{t: t, base: second.URL + "/scim/v2", token: o.token})
}
