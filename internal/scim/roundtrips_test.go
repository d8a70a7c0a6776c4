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

// TestGroupLookupRoundTrips: on PostgreSQL an identity provider's lookup of
// a group before it pushes it (by displayName, by externalId, or a member's
// groups) sends two statements, the token's check and the teams, whatever
// the org's teams; a page of groups with their members one more, for all
// of the page's members.
func TestGroupLookupRoundTrips(t *testing.T) {
	db := storetest.OpenPostgres(t)
	o := newOrg(t, db, 10)
	member := o.idp.do("POST", "/Users", newUser(email("Gil.Groups"), "Gil", "Groups")).want(http.StatusCreated).str("id")
	for _, name := range []string{"Sales", "Support", "Sourcing"} {
		o.idp.do("POST", "/Groups", map[string]any{"displayName": name, "externalId": "okta-" + name,
			"members": []any{map[string]any{"value": member}}}).want(http.StatusCreated)
	}
	for _, c := range []struct {
		filter, query string
		groups        int
		trips         int64
	}{
		{`displayName eq "SALES"`, "&excludedAttributes=members", 1, 2},
		{`externalId eq "okta-Support"`, "&excludedAttributes=members", 1, 2},
		{`members.value eq "` + member + `"`, "&excludedAttributes=members", 4, 2},
		{`displayName sw "s"`, "", 3, 3},
	} {
		before := db.RoundTrips()
		list := o.idp.get("/Groups"+filterQuery(c.filter)+c.query).want(http.StatusOK).
			wantEqual("totalResults", c.groups)
		if n := db.RoundTrips() - before; n != c.trips {
			t.Errorf("GET /Groups?filter=%s%s sent %d statements; want %d", c.filter, c.query, n, c.trips)
		}
		if c.query == "" {
			for _, g := range list.resources() {
				if members, _ := g.(map[string]any)["members"].([]any); len(members) != 1 {
					t.Errorf("%s: %v; want its member", c.filter, g)
				}
			}
		}
	}
}
