package scim_test

import (
	"fmt"
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

// TestGroupPushRoundTrips: on PostgreSQL a group pushed with its members,
// its members replaced, and emptied, each send about as many statements
// for 40 members as for 4: the members are read, checked and written
// together, not one at a time (a push of 1,000 members sent about 5,000).
// Rows are inserted in chunks of powers of two (32 + 8 members), hence
// "about".
func TestGroupPushRoundTrips(t *testing.T) {
	db := storetest.OpenPostgres(t)
	o := newOrg(t, db, 90)
	var people []any
	for i := range 80 {
		id := o.idp.do("POST", "/Users", newUser(email(fmt.Sprintf("Pat.Push%02d", i)), "Pat", "Push")).
			want(http.StatusCreated).str("id")
		people = append(people, map[string]any{"value": id})
	}
	// trips pushes a group of size members, replaces them with as many
	// others and then with none, and returns the statements each sent.
	trips := func(name string, size int) [3]int64 {
		var n [3]int64
		before := db.RoundTrips()
		group := o.idp.do("POST", "/Groups", map[string]any{"displayName": name, "members": people[:size]}).
			want(http.StatusCreated)
		n[0] = db.RoundTrips() - before
		if got := len(group.get("members").([]any)); got != size {
			t.Fatalf("%s: %d members; want %d", name, got, size)
		}
		path := "/Groups/" + group.str("id")
		before = db.RoundTrips()
		o.idp.do("PUT", path, map[string]any{"displayName": name, "members": people[size : 2*size]}).
			want(http.StatusOK).wantEqual("members.0.value", people[size].(map[string]any)["value"])
		n[1] = db.RoundTrips() - before
		before = db.RoundTrips()
		o.idp.do("PATCH", path, patch(op("replace", "members", []any{}))).want(http.StatusNoContent)
		n[2] = db.RoundTrips() - before
		if members, _ := o.idp.get(path).want(http.StatusOK).get("members").([]any); len(members) != 0 {
			t.Fatalf("%s emptied: %d members; want none", name, len(members))
		}
		return n
	}
	small, big := trips("Four", 4), trips("Forty", 40)
	for i, step := range []string{"push", "replace", "empty"} {
		if big[i] > small[i]+5 {
			t.Errorf("%s: %d statements for 40 members, %d for 4; want at most 5 more", step, big[i], small[i])
		}
	}
	// Each member added or removed is audited, as an edit in the console
	// is: size added, size removed and size added, size removed.
	if n, want := len(o.auditTrail(muster.ActionUserUpdated)), 4*(4+40); n != want {
		t.Errorf("%d user.updated events; want one for each member added or removed, %d", n, want)
	}
}
