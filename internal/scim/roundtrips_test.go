package scim_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestReadRoundTrips: on PostgreSQL an identity provider's reads (the
// lookup by userName that Okta and Entra ID make before every change, or
// one user by id) send three statements: the token's check, the users and
// the org's teams, which name their groups. The read acts as the token its
// check read, as an API token's reads act as its user, rather than read it
// again; a change still reads it in its transaction.
func TestReadRoundTrips(t *testing.T) {
	// SQLite runs in the process: it has no round trips to count.
	db := storetest.OpenPostgres(t)
	o := newOrg(t, db, 10)
	userName := email("Rita.Reads")
	id := o.idp.do("POST", "/Users", newUser(userName, "Rita", "Reads")).want(http.StatusCreated).str("id")
	for _, path := range []string{
		"/Users?filter=" + url.QueryEscape(`userName eq "`+userName+`"`),
		"/Users/" + id,
	} {
		before := db.RoundTrips()
		o.idp.get(path).want(http.StatusOK)
		if n := db.RoundTrips() - before; n != 3 {
			t.Errorf("GET %s sent %d statements; want 3", path, n)
		}
	}
}
