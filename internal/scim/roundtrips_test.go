package scim_test

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestReadRoundTrips: on PostgreSQL an identity provider's reads (the
// lookup by userName that Okta and Entra ID make before every change, or
// one user by id) send three statements: the token's check, the users and
// their teams, which are their groups (the primary team first). The read acts as the token its
// check read, as an API token's reads act as its user, rather than read it
// again; a change still reads it in its transaction.
func TestReadRoundTrips(t *testing.T) {
	// SQLite runs in the process: it has no round trips to count.
	db := storetest.OpenPostgres(t)
	o := newOrg(t, db, 10)
	userName := email("Rita.Reads")
	id := o.idp.do("POST", "/Users", newUser(userName, "Rita", "Reads")).want(http.StatusCreated).str("id")
	sales, err := o.svc.CreateTeam(o.ownerCtx, "Sales")
	if err != nil {
		t.Fatal(err)
	}
	userID, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.svc.UpdateUser(o.ownerCtx, userID, service.UserUpdate{SecondaryTeamIDs: &[]int64{sales.ID}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ path, user string }{
		{"/Users?filter=" + url.QueryEscape(`userName eq "`+userName+`"`), "Resources.0."},
		{"/Users/" + id, ""},
	} {
		before := db.RoundTrips()
		o.idp.get(c.path).want(http.StatusOK).
			wantEqual(c.user+"groups.0.display", muster.DefaultTeamName).wantEqual(c.user+"groups.1.display", "Sales")
		if n := db.RoundTrips() - before; n != 3 {
			t.Errorf("GET %s sent %d statements; want 3", c.path, n)
		}
	}
}
