package scim_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/scim"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// entraUser is the body of Entra ID's POST /Users: the enterprise
// extension's schema, an externalId, active as the string "True", a work
// email that need not be the userName, empty roles.
func entraUser(userName, externalID string) map[string]any {
	return map[string]any{
		"schemas":    []string{scim.SchemaUser, scim.SchemaEnterprise},
		"externalId": externalID,
		"userName":   userName,
		"active":     "True",
		"emails":     []any{map[string]any{"primary": true, "type": "work", "value": "other." + userName}},
		"meta":       map[string]any{"resourceType": "User"},
		"name":       map[string]any{"formatted": "Erin Entra", "familyName": "Entra", "givenName": "Erin"},
		"roles":      []any{},
		scim.SchemaEnterprise: map[string]any{"department": "Sales", "employeeNumber": "42",
			"manager": map[string]any{"value": "mgr"}},
		"title":        "Engineer",
		"phoneNumbers": []any{map[string]any{"type": "work", "value": "+1 555 0100"}},
		"addresses":    []any{map[string]any{"type": "work", "locality": "Paris"}},
	}
}

func filterQuery(f string) string { return "?filter=" + url.QueryEscape(f) }

// TestEntraDefaultShapes sends Entra ID's provisioning requests as it sends
// them by default: "Replace" ops, one per attribute path (URN-prefixed
// ones too), booleans as the strings "True" and "False", group members
// removed with a value list.
func TestEntraDefaultShapes(t *testing.T) {
	t.Parallel()
	storetest.RunParallel(t, func(t *testing.T, db *sqlstore.DB) {
		o := newOrg(t, db, 20)
		idp := o.idp
		sales := idp.do("POST", "/Groups", map[string]any{
			"schemas":     []string{scim.SchemaGroup, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/Group"},
			"externalId":  "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
			"displayName": "Sales",
			"meta":        map[string]any{"resourceType": "Group"},
		}).want(http.StatusCreated).wantEqual("displayName", "Sales")
		salesID := sales.str("id")

		userName := email("Erin.Entra")
		// Entra looks the user up before it creates them.
		idp.get("/Users"+filterQuery(`userName eq "`+userName+`"`)).want(http.StatusOK).wantEqual("totalResults", 0)
		created := idp.do("POST", "/Users", entraUser(userName, "ext-erin")).want(http.StatusCreated).
			wantEqual("active", true).wantEqual("externalId", "ext-erin").wantEqual("emails.0.value", userName).
			wantEqual("roles.0.value", "Basic User")
		id := created.str("id")
		for _, unkept := range []string{"title", "phoneNumbers", "addresses", scim.SchemaEnterprise} {
			if created.get(unkept) != nil {
				t.Fatalf("%s is not kept, yet the user shows it: %s", unkept, created.raw)
			}
		}
		idp.get("/Users"+filterQuery(`externalId eq "ext-erin"`)).want(http.StatusOK).
			wantEqual("totalResults", 1).wantEqual("Resources.0.id", id)
		idp.get("/Users"+filterQuery(`emails[type eq "work"].value eq "`+userName+`"`)).want(http.StatusOK).
			wantEqual("totalResults", 1)

		// Attribute changes, one Replace per path, in one PATCH.
		idp.do("PATCH", "/Users/"+id, patch(
			op("Replace", `emails[type eq "work"].value`, "whatever@example.com"),
			op("Replace", "name.familyName", "Entrada"),
			op("Replace", "urn:ietf:params:scim:schemas:core:2.0:User:name.givenName", "Erina"),
			op("Replace", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "Marketing"),
			op("Replace", "urn:ietf:params:scim:schemas:extension:muster:2.0:User:primaryTeam", "sales"),
			op("Replace", `roles[primary eq "True"].value`, "Manager"),
			op("Add", "externalId", "ext-erin-2"),
		)).want(http.StatusOK).wantEqual("name.familyName", "Entrada").wantEqual("name.givenName", "Erina").
			wantEqual("roles.0.value", "Manager").wantEqual("externalId", "ext-erin-2").
			wantEqual("groups.0.value", salesID).wantEqual("emails.0.value", userName).
			wantEqual(scim.SchemaMuster+".primaryTeam", "Sales")
		if u := o.user(id); u.Role != muster.RoleManager || u.PrimaryTeamID == o.defaultTeam().ID {
			t.Fatalf("after the PATCH the console has %s in team %d", u.Role, u.PrimaryTeamID)
		}

		// An empty string clears an optional attribute.
		idp.do("PATCH", "/Users/"+id, patch(op("Replace", "externalId", ""),
			op("Replace", "urn:ietf:params:scim:schemas:extension:muster:2.0:User:primaryTeam", ""))).
			want(http.StatusOK).wantEqual("externalId", nil).
			wantEqual(scim.SchemaMuster+".primaryTeam", muster.DefaultTeamName)

		// The userName follows the directory's address.
		renamed := email("Erin.Renamed")
		idp.do("PATCH", "/Users/"+id, patch(op("Replace", "userName", renamed))).want(http.StatusOK).
			wantEqual("userName", renamed).wantEqual("emails.0.value", renamed)

		// Membership: added with a list, removed with a list whose $ref is null.
		member := []any{map[string]any{"$ref": nil, "value": id}}
		idp.do("PATCH", "/Groups/"+salesID, patch(op("Add", "members", member))).want(http.StatusNoContent)
		idp.get("/Groups/"+salesID).want(http.StatusOK).wantEqual("members.0.value", id)
		idp.get("/Groups"+filterQuery(`members.value eq "`+id+`"`)).want(http.StatusOK).
			wantEqual("totalResults", 2) // the Default Team (primary) and Sales
		idp.do("PATCH", "/Groups/"+salesID, patch(op("Remove", "members", member))).want(http.StatusNoContent)
		idp.get("/Groups/"+salesID).want(http.StatusOK).wantEqual("members", nil)

		// Deactivation: "False" as a string; the user stays, inactive.
		o.acceptLatest(renamed)
		idp.do("PATCH", "/Users/"+id, patch(op("Replace", "active", "False"))).want(http.StatusOK).
			wantEqual("active", false)
		if u := o.user(id); u.Status != muster.StatusDeactivated {
			t.Fatalf("after active False the user is %s", u.Status)
		}
		idp.get("/Users"+filterQuery(`userName eq "`+renamed+`"`)).want(http.StatusOK).
			wantEqual("totalResults", 1).wantEqual("Resources.0.active", false)

		// Entra's group lookups leave the members out.
		idp.get("/Groups"+filterQuery(`displayName eq "sales"`)+"&excludedAttributes=members").want(http.StatusOK).
			wantEqual("totalResults", 1).wantEqual("Resources.0.id", salesID).wantEqual("Resources.0.members", nil)
		idp.do("PATCH", "/Groups/"+salesID, patch(op("Replace", "displayName", "Sales EMEA"))).want(http.StatusNoContent)
		idp.get("/Groups/"+salesID+"?excludedAttributes=members").want(http.StatusOK).wantEqual("displayName", "Sales EMEA")
		idp.do("DELETE", "/Groups/"+salesID, nil).want(http.StatusNoContent)
		idp.get("/Groups/"+salesID).wantError(http.StatusNotFound, "")
	})
}

// TestEntraFixedShapes sends the requests of Entra ID's SCIM behaviour
// under the aadOptscim062020 flag: real booleans, a path-less replace
// whose keys are dotted and URN-prefixed, and members removed with a
// filtered path.
func TestEntraFixedShapes(t *testing.T) {
	t.Parallel()
	storetest.RunParallel(t, func(t *testing.T, db *sqlstore.DB) {
		o := newOrg(t, db, 20)
		q := "?aadOptscim062020"
		idp := o.idp
		userName := email("Fay.Fixed")
		id := idp.do("POST", "/Users"+q, entraUser(userName, "ext-fay")).want(http.StatusCreated).str("id")
		team := idp.do("POST", "/Groups"+q, map[string]any{"displayName": "Fixers", "externalId": "g-1",
			"members": []any{map[string]any{"value": id, "$ref": nil}}}).want(http.StatusCreated)
		teamID := team.str("id")
		team.wantEqual("members.0.value", id).wantEqual("externalId", "g-1")

		idp.do("PATCH", "/Users/"+id+q, patch(op("replace", "", map[string]any{
			"name.givenName":  "Faye",
			"name.familyName": "Fixed",
			"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "7",
			"urn:ietf:params:scim:schemas:core:2.0:User:externalId":                     "ext-faye",
			"displayName": "ignored, made from the name",
			"active":      true,
			"roles":       []any{map[string]any{"value": "Admin", "primary": true}},
			"id":          "ignored",
			"meta":        map[string]any{"resourceType": "User"},
			"groups":      []any{},
		}))).want(http.StatusOK).wantEqual("name.givenName", "Faye").wantEqual("externalId", "ext-faye").
			wantEqual("displayName", "Faye Fixed").wantEqual("roles.0.value", "Admin").wantEqual("id", id)
		// A remove of roles she does not hold leaves hers; of hers, makes
		// her a Basic User.
		idp.do("PATCH", "/Users/"+id+q, patch(op("remove", "roles", []any{map[string]any{"value": "Manager"}}))).
			want(http.StatusOK).wantEqual("roles.0.value", "Admin")
		idp.do("PATCH", "/Users/"+id+q, patch(op("remove", `roles[value eq "Manager"]`, nil))).
			want(http.StatusOK).wantEqual("roles.0.value", "Admin")
		idp.do("PATCH", "/Users/"+id+q, patch(op("remove", "roles", []any{map[string]any{"value": "Manager"},
			map[string]any{"value": "Admin"}}))).want(http.StatusOK).wantEqual("roles.0.value", "Basic User")
		idp.do("PATCH", "/Users/"+id+q, patch(op("add", "roles", []any{map[string]any{"value": "Admin"}}))).
			want(http.StatusOK).wantEqual("roles.0.value", "Admin")
		idp.do("PATCH", "/Users/"+id+q, patch(op("remove", "roles", nil))).
			want(http.StatusOK).wantEqual("roles.0.value", "Basic User")

		idp.do("PATCH", "/Groups/"+teamID+q, patch(op("remove", `members[value eq "`+id+`"]`, nil))).
			want(http.StatusNoContent)
		idp.get("/Groups/"+teamID+q).want(http.StatusOK).wantEqual("members", nil)

		idp.do("PATCH", "/Users/"+id+q, patch(op("replace", "active", false))).want(http.StatusOK).wantEqual("active", false)
		idp.get("/Users"+filterQuery(`userName eq "`+userName+`"`)).want(http.StatusOK).
			wantEqual("Resources.0.active", false)
		// Entra's validator deletes the user last: then SCIM finds nothing.
		idp.do("DELETE", "/Users/"+id+q, nil).want(http.StatusNoContent)
		idp.get("/Users/"+id).wantError(http.StatusNotFound, "")
		idp.get("/Users"+filterQuery(`userName eq "`+userName+`"`)).want(http.StatusOK).wantEqual("totalResults", 0)
	})
}

// TestPagination: Entra pages through users five at a time and checks that
// each page's startIndex is the one it asked for; count=0 asks only for the
// total; Resources is always a list.
func TestPagination(t *testing.T) {
	t.Parallel()
	storetest.RunParallel(t, func(t *testing.T, db *sqlstore.DB) {
		o := newOrg(t, db, 20)
		for i := range 11 {
			o.idp.do("POST", "/Users", newUser(email(fmt.Sprintf("Page%d", i)), "Page", fmt.Sprint(i))).want(http.StatusCreated)
		}
		seen := map[string]bool{}
		for _, start := range []int{1, 6, 11} {
			p := o.idp.get(fmt.Sprintf("/Users?startIndex=%d&count=5", start)).want(http.StatusOK)
			want := min(5, 12-start+1)
			if p.num("startIndex") != start || p.num("totalResults") != 12 || p.num("itemsPerPage") != want ||
				len(p.resources()) != want {
				t.Fatalf("page at %d: %s", start, p.raw)
			}
			for _, r := range p.resources() {
				seen[lookup(r, "id").(string)] = true
			}
		}
		if len(seen) != 12 {
			t.Fatalf("the pages held %d distinct users; want all 12", len(seen))
		}
		past := o.idp.get("/Users?startIndex=40&count=5").want(http.StatusOK)
		if past.num("totalResults") != 12 || past.num("itemsPerPage") != 0 || len(past.resources()) != 0 {
			t.Fatalf("a page past the end: %s", past.raw)
		}
		only := o.idp.get("/Users?count=0").want(http.StatusOK)
		if only.num("totalResults") != 12 || len(only.resources()) != 0 {
			t.Fatalf("count=0: %s", only.raw)
		}
		capped := o.idp.get("/Users?count=100000").want(http.StatusOK)
		if capped.num("itemsPerPage") != 12 {
			t.Fatalf("count above the maximum: %s", capped.raw)
		}
		o.idp.get("/Users?count=five").wantError(http.StatusBadRequest, scim.TypeInvalidValue, "count")
		o.idp.get("/Users"+filterQuery(`userName sw "page"`)+"&count=3").want(http.StatusOK).
			wantEqual("totalResults", 11).wantEqual("itemsPerPage", 3)
	})
}
