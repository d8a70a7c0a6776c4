package scim_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestGroupFilters: each filter an identity provider sends on /Groups
// selects the teams it names, in the team list's order (the Default Team
// first, then by name), and only the org's own: names ignoring case and
// with LIKE's wildcards taken as text, external IDs, ids, members (Pending
// and Active users only, not those deleted through SCIM), and "and" and
// "or" of them; pages by startIndex and count with the total of all; a
// page's members.
func TestGroupFilters(t *testing.T) {
	t.Parallel()
	storetest.RunParallel(t, func(t *testing.T, db *sqlstore.DB) {
		o := newOrg(t, db, 20)
		idp := o.idp
		user := func(name string) string {
			return idp.do("POST", "/Users", newUser(email(name), name, "Filter")).want(http.StatusCreated).str("id")
		}
		pat, dee, sid := user("Pat"), user("Dee"), user("Sid")
		group := func(name, externalID string, members ...string) string {
			body := map[string]any{"displayName": name, "externalId": externalID}
			var list []any
			for _, m := range members {
				list = append(list, map[string]any{"value": m})
			}
			body["members"] = list
			return idp.do("POST", "/Groups", body).want(http.StatusCreated).str("id")
		}
		emea := group("Sales EMEA", "okta-1", pat)
		group("Sales US", "okta-2", dee)
		group("50% Club", "")
		support := group("Support", "okta-4", pat, sid)
		idp.do("PATCH", "/Users/"+dee, patch(op("replace", "active", false))).want(http.StatusOK)
		idp.do("DELETE", "/Users/"+sid, nil).want(http.StatusNoContent)

		other := newOrg(t, db, 5)
		stranger := other.idp.do("POST", "/Users", newUser(email("Stan"), "Stan", "Stranger")).
			want(http.StatusCreated).str("id")
		other.idp.do("POST", "/Groups", map[string]any{"displayName": "Sales EMEA", "externalId": "okta-1",
			"members": []any{map[string]any{"value": stranger}}}).want(http.StatusCreated)

		for _, c := range []struct {
			filter string
			want   []string
		}{
			{`displayName eq "sales emea"`, []string{"Sales EMEA"}},
			{`displayName sw "SALES"`, []string{"Sales EMEA", "Sales US"}},
			{`displayName co "% c"`, []string{"50% Club"}},
			{`displayName co "%"`, []string{"50% Club"}},
			{`displayName co "_"`, nil},
			{`displayName sw ""`, []string{"Default Team", "50% Club", "Sales EMEA", "Sales US", "Support"}},
			{`externalId eq "okta-2"`, []string{"Sales US"}},
			{`externalId eq "OKTA-2"`, nil},
			{`externalId eq ""`, nil},
			{`id eq "` + support + `"`, []string{"Support"}},
			{`id eq "support"`, nil},
			{`members.value eq "` + pat + `"`, []string{"Default Team", "Sales EMEA", "Support"}},
			{`members eq "` + pat + `"`, []string{"Default Team", "Sales EMEA", "Support"}},
			{`members.value eq "` + dee + `"`, nil},
			{`members.value eq "` + sid + `"`, nil},
			{`members.value eq "` + stranger + `"`, nil},
			{`displayName sw "sales" and externalId eq "okta-1"`, []string{"Sales EMEA"}},
			{`displayName sw "sales" and externalId eq "okta-4"`, nil},
			{`displayName eq "50% club" or members.value eq "` + pat + `"`,
				[]string{"Default Team", "50% Club", "Sales EMEA", "Support"}},
			{`id eq "` + emea + `" or (externalId eq "okta-2" and displayName co "us")`, []string{"Sales EMEA", "Sales US"}},
		} {
			t.Run(c.filter, func(t *testing.T) {
				list := idp.in(t).get("/Groups"+filterQuery(c.filter)+"&excludedAttributes=members").
					want(http.StatusOK).wantEqual("totalResults", len(c.want))
				if got := groupNames(list.resources()); !slices.Equal(got, c.want) {
					t.Errorf("%s: %q; want %q", c.filter, got, c.want)
				}
			})
		}

		// Pages: the total is of every team the filter selects.
		page := idp.get("/Groups?startIndex=2&count=2&excludedAttributes=members").want(http.StatusOK).
			wantEqual("totalResults", 5).wantEqual("itemsPerPage", 2).wantEqual("startIndex", 2)
		if got, want := groupNames(page.resources()), []string{"50% Club", "Sales EMEA"}; !slices.Equal(got, want) {
			t.Errorf("page 2 of 2: %q; want %q", got, want)
		}
		idp.get("/Groups?count=0").want(http.StatusOK).wantEqual("totalResults", 5).wantEqual("itemsPerPage", 0)
		idp.get("/Groups?startIndex=9").want(http.StatusOK).wantEqual("totalResults", 5).wantEqual("itemsPerPage", 0)

		// A page's members: each team's own Pending and Active members.
		withMembers := idp.get("/Groups"+filterQuery(`displayName sw "s"`)).want(http.StatusOK).
			wantEqual("totalResults", 3)
		members := map[string][]string{}
		for _, r := range withMembers.resources() {
			g := r.(map[string]any)
			list, _ := g["members"].([]any)
			for _, m := range list {
				members[g["displayName"].(string)] = append(members[g["displayName"].(string)],
					m.(map[string]any)["value"].(string))
			}
		}
		want := map[string][]string{"Sales EMEA": {pat}, "Support": {pat}}
		if len(members) != len(want) || !slices.Equal(members["Sales EMEA"], want["Sales EMEA"]) ||
			!slices.Equal(members["Support"], want["Support"]) {
			t.Errorf("the members of the teams starting with s: %v; want %v", members, want)
		}
	})
}

// groupNames are the display names of a list's groups, in its order.
func groupNames(resources []any) []string {
	var names []string
	for _, r := range resources {
		names = append(names, r.(map[string]any)["displayName"].(string))
	}
	return names
}
