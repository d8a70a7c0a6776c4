package scim_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/scim"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestGroupsAreTeams: members added become secondary members (a primary
// team stays primary), a member removed from their primary team moves to
// the Default Team, a full list replaces the members, a team that is
// someone's primary team is not removed (TEAM-3), and the Default Team is
// listed but neither renamed nor removed (TEAM-4).
func TestGroupsAreTeams(t *testing.T) {
	t.Parallel()
	storetest.RunParallel(t, func(t *testing.T, db *sqlstore.DB) {
		o := newOrg(t, db, 20)
		idp := o.idp
		eng := idp.do("POST", "/Groups", map[string]any{"displayName": "Engineering"}).want(http.StatusCreated)
		engID := eng.str("id")
		idp.do("POST", "/Groups", map[string]any{"displayName": "engineering"}).
			wantError(http.StatusConflict, scim.TypeUniqueness, "already exists")

		body := newUser(email("Pat.Primary"), "Pat", "Primary")
		body[scim.SchemaMuster] = map[string]any{"primaryTeam": engID}
		pat := idp.do("POST", "/Users", body).want(http.StatusCreated).wantEqual("groups.0.display", "Engineering").str("id")
		sam := idp.do("POST", "/Users", newUser(email("Sam.Second"), "Sam", "Second")).want(http.StatusCreated).str("id")
		kim := idp.do("POST", "/Users", newUser(email("Kim.Kept"), "Kim", "Kept")).want(http.StatusCreated).str("id")

		// Adding Pat (primary already) and Sam: Sam gets a secondary team.
		idp.do("PATCH", "/Groups/"+engID, patch(op("add", "members", []any{
			map[string]any{"value": pat}, map[string]any{"value": sam}}))).want(http.StatusNoContent)
		if u := o.user(sam); u.PrimaryTeamID != o.defaultTeam().ID || len(u.SecondaryTeamIDs) != 1 {
			t.Fatalf("Sam after joining: primary %d, secondaries %v", u.PrimaryTeamID, u.SecondaryTeamIDs)
		}
		members := idp.get("/Groups/" + engID).want(http.StatusOK)
		if got := len(members.get("members").([]any)); got != 2 {
			t.Fatalf("%d members; want Pat and Sam: %s", got, members.raw)
		}

		// The team is Pat's primary team: it can't be removed.
		idp.do("DELETE", "/Groups/"+engID, nil).wantError(http.StatusConflict, "", "1 user has it as their primary team")

		// Removing Pat moves them to the Default Team; then the team goes.
		idp.do("PATCH", "/Groups/"+engID, patch(op("remove", `members[value eq "`+pat+`"]`, nil))).want(http.StatusNoContent)
		if u := o.user(pat); u.PrimaryTeamID != o.defaultTeam().ID {
			t.Fatalf("Pat's primary team after leaving it: %d", u.PrimaryTeamID)
		}

		// A full list replaces the members: Kim in, Sam out.
		idp.do("PUT", "/Groups/"+engID, map[string]any{"displayName": "Engineering", "members": []any{
			map[string]any{"value": kim}}}).want(http.StatusOK).wantEqual("members.0.value", kim).
			wantEqual("members.1", nil)
		if u := o.user(sam); len(u.SecondaryTeamIDs) != 0 {
			t.Fatalf("Sam's secondary teams after the replace: %v", u.SecondaryTeamIDs)
		}
		idp.do("DELETE", "/Groups/"+engID, nil).want(http.StatusNoContent)
		if u := o.user(kim); len(u.SecondaryTeamIDs) != 0 {
			t.Fatalf("Kim keeps the removed team: %v", u.SecondaryTeamIDs)
		}

		def := o.defaultTeam()
		defID := id(def.ID)
		idp.get("/Groups"+filterQuery(`displayName eq "Default Team"`)).want(http.StatusOK).wantEqual("Resources.0.id", defID)
		idp.do("PATCH", "/Groups/"+defID, patch(op("replace", "displayName", "Everyone"))).
			wantError(http.StatusForbidden, "", "Default Team can't be renamed")
		idp.do("DELETE", "/Groups/"+defID, nil).wantError(http.StatusForbidden, "", "Default Team can't be removed")
		// Leaving the Default Team when it is one's primary team is refused.
		idp.do("PATCH", "/Groups/"+defID, patch(op("remove", `members[value eq "`+sam+`"]`, nil))).
			wantError(http.StatusConflict, "", "Default Team")
		// A member who is no user of the organization is refused first,
		// whatever else the change holds.
		idp.do("PATCH", "/Groups/"+defID, patch(op("remove", `members[value eq "`+sam+`"]`, nil),
			op("add", "members", []any{map[string]any{"value": "99999999"}}))).
			wantError(http.StatusNotFound, "", "no user with the id 99999999")
		// A withdrawn user is there (SCIM shows them inactive) but in no
		// team: a conflict, not a user not found.
		wes := idp.do("POST", "/Users", newUser(email("Wes.Withdrawn"), "Wes", "Withdrawn")).want(http.StatusCreated).str("id")
		idp.do("PATCH", "/Users/"+wes, patch(op("replace", "active", false))).want(http.StatusOK)
		idp.get("/Users/"+wes).want(http.StatusOK).wantEqual("active", false)
		idp.do("PATCH", "/Groups/"+defID, patch(op("add", "members", []any{map[string]any{"value": wes}}))).
			wantError(http.StatusConflict, "", "withdrawn")
		// The Owner's teams are not SCIM's to change (OWN-1).
		idp.do("POST", "/Groups", map[string]any{"displayName": "Leads", "members": []any{
			map[string]any{"value": id(o.owner.ID)}}}).wantError(http.StatusForbidden, "", o.owner.Email, "Ownership")
		idp.get("/Groups"+filterQuery(`displayName eq "Leads"`)).want(http.StatusOK).wantEqual("totalResults", 0)
	})
}

// TestOwnerIsReadOnly: SCIM reads the Owner but never deactivates, demotes,
// renames or deletes them, and says why (OWN-1); a PUT that sends the Owner
// back unchanged, as Okta does, succeeds.
func TestOwnerIsReadOnly(t *testing.T) {
	t.Parallel()
	storetest.RunParallel(t, func(t *testing.T, db *sqlstore.DB) {
		o := newOrg(t, db, 10)
		owner := "/Users/" + id(o.owner.ID)
		read := o.idp.get(owner).want(http.StatusOK).wantEqual("roles.0.value", "Owner")
		o.idp.do("PUT", owner, read.body).want(http.StatusOK)
		for name, body := range map[string]any{
			"deactivate": patch(op("replace", "active", false)),
			"demote":     patch(op("replace", "roles", []any{map[string]any{"value": "Admin"}})),
			"rename":     patch(op("replace", "name.givenName", "Olivia")),
		} {
			t.Run(name, func(t *testing.T) {
				o.idp.in(t).do("PATCH", owner, body).wantError(http.StatusForbidden, "", "Owner")
			})
		}
		o.idp.do("DELETE", owner, nil).wantError(http.StatusForbidden, "", "Ownership must be transferred")
		// Nobody is made Owner either.
		userID := o.idp.do("POST", "/Users", newUser(email("Ann.Admin"), "Ann", "Admin")).want(http.StatusCreated).str("id")
		o.idp.do("PATCH", "/Users/"+userID, patch(op("replace", "roles", "Owner"))).
			wantError(http.StatusForbidden, "", "Nobody can be made Owner")
		u := o.user(id(o.owner.ID))
		if u.Role != muster.RoleOwner || u.Status != muster.StatusActive || u.FirstName != "Olive" {
			t.Fatalf("the Owner after SCIM's attempts: %s %s %s", u.Role, u.Status, u.FirstName)
		}
		// An Admin is SCIM's to manage, up to deactivation.
		o.idp.do("PATCH", "/Users/"+userID, patch(op("replace", "roles", "Admin"))).want(http.StatusOK).
			wantEqual("roles.0.value", "Admin")
	})
}

// TestPatchIsAtomic: a PATCH whose last operation is refused changes
// nothing, and bad input gets a clear SCIM error: each case leaves the
// user as it was.
func TestPatchIsAtomic(t *testing.T) {
	t.Parallel()
	storetest.RunParallel(t, func(t *testing.T, db *sqlstore.DB) {
		o := newOrg(t, db, 10)
		userName := email("Ada.Atomic")
		created := o.idp.do("POST", "/Users", newUser(userName, "Ada", "Atomic")).want(http.StatusCreated)
		path := "/Users/" + created.str("id")
		cases := []struct {
			name     string
			body     any
			status   int
			scimType string
			detail   string
		}{
			{"refused last op", patch(op("replace", "name.givenName", "Changed"), op("replace", "active", "maybe")),
				400, scim.TypeInvalidValue, "active must be true or false"},
			{"unknown team", patch(op("replace", "name.familyName", "Changed"),
				op("replace", scim.SchemaMuster+":primaryTeam", "No Such Team")), 400, scim.TypeInvalidValue, "No Such Team"},
			{"path-less remove", patch(op("replace", "name.givenName", "Changed"), op("remove", "", nil)), 400, scim.TypeNoTarget, "path"},
			{"unknown op", patch(op("merge", "active", false)), 400, scim.TypeInvalidSyntax, "add, replace or remove"},
			{"unknown attribute", patch(op("replace", "name.givenName", "Changed"), op("replace", "shoeSize", "9")),
				400, scim.TypeInvalidPath, "shoeSize"},
			{"bad path", patch(op("replace", "name[", "x")), 400, scim.TypeInvalidPath, "could not be read"},
			{"empty first name", patch(op("replace", "name.givenName", "")), 400, scim.TypeInvalidValue, "First name is required"},
			{"bad role", patch(op("replace", "roles", "Emperor")), 400, scim.TypeInvalidValue, "Emperor"},
			{"no operations", map[string]any{"schemas": []string{scim.MessagePatch}}, 400, scim.TypeInvalidSyntax, "Operations"},
			{"not JSON", "{op: replace", 400, scim.TypeInvalidSyntax, "not valid JSON"},
			{"not UTF-8", "{\"Operations\":[{\"op\":\"replace\",\"path\":\"name.givenName\",\"value\":\"A\xff\"}]}",
				400, scim.TypeInvalidSyntax, "UTF-8"},
			{"NUL in a name", patch(op("replace", "name.givenName", "A\x00da")), 400, scim.TypeInvalidValue, "control characters"},
			{"NUL in externalId", patch(op("replace", "externalId", "e\x00")), 400, scim.TypeInvalidValue, "externalId"},
			{"NUL in primaryTeam", patch(op("replace", scim.SchemaMuster+":primaryTeam", "Eng\x00")), 400,
				scim.TypeInvalidValue, "primary team"},
			{"taken email", patch(op("replace", "userName", o.owner.Email)), 409, scim.TypeUniqueness, "another user of this organization"},
			{"malformed email", patch(op("replace", "userName", "not an email")), 400, scim.TypeInvalidValue, "name@example.com"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				o.idp.in(t).do("PATCH", path, c.body).wantError(c.status, c.scimType, c.detail)
				o.idp.in(t).get(path).want(http.StatusOK).wantEqual("name.givenName", "Ada").wantEqual("name.familyName", "Atomic").
					wantEqual("userName", userName).wantEqual("meta.version", created.str("meta.version"))
			})
		}
		// Nor is a new user created with bad text in a team's name.
		bad := newUser(email("nul"), "Nu", "L")
		bad[scim.SchemaMuster] = map[string]any{"primaryTeam": "Eng\x00"}
		o.idp.do("POST", "/Users", bad).wantError(http.StatusBadRequest, scim.TypeInvalidValue, "primary team")
		// A stale If-Match is refused with 412; the current one is honoured.
		o.idp.do("PATCH", path, patch(op("replace", "name.givenName", "Changed")), "If-Match", `W/"999"`).
			wantError(http.StatusPreconditionFailed, "")
		o.idp.do("PATCH", path, patch(op("replace", "name.givenName", "Adele")), "If-Match", created.header.Get("ETag")).
			want(http.StatusOK).wantEqual("name.givenName", "Adele")
		// A body that is not declared JSON is refused before anything.
		o.idp.do("PATCH", path, "active=false", "Content-Type", "application/x-www-form-urlencoded").
			wantError(http.StatusUnsupportedMediaType, "")
		// Filters beyond what Muster supports are refused, not guessed.
		// Bad text in a filter's value, raw or escaped, is refused.
		o.idp.get("/Users?filter=userName+eq+%22a%00%22").wantError(http.StatusBadRequest, scim.TypeInvalidFilter)
		o.idp.get("/Users"+filterQuery(`userName eq "a\u0000"`)).wantError(http.StatusBadRequest, scim.TypeInvalidValue, "control characters")
		o.idp.get("/Users?filter=userName+eq+%22a%ff%22").wantError(http.StatusBadRequest, scim.TypeInvalidFilter, "UTF-8")
		for _, f := range []string{`title eq "x"`, `userName gt "a"`, `not (userName eq "a")`, `userName eq`, `emails[type eq "work" or type eq "home"].value eq "a"`} {
			o.idp.get("/Users"+filterQuery(f)).wantError(http.StatusBadRequest, scim.TypeInvalidFilter, "The filter")
		}
	})
}

// TestFilters: the filters the providers send, with and, or and
// parentheses, ignoring case where SCIM does.
func TestFilters(t *testing.T) {
	t.Parallel()
	storetest.RunParallel(t, func(t *testing.T, db *sqlstore.DB) {
		o := newOrg(t, db, 10)
		a, b := email("Alpha.Filter"), email("Beta.Filter")
		bodyA := newUser(a, "Alpha", "Filter")
		bodyA["externalId"] = "ext-A"
		idA := o.idp.do("POST", "/Users", bodyA).want(http.StatusCreated).str("id")
		idB := o.idp.do("POST", "/Users", newUser(b, "Beta", "Filter")).want(http.StatusCreated).str("id")
		for f, want := range map[string][]string{
			`userName eq "` + strings.ToUpper(a) + `"`:                                       {idA},
			`UserName Eq "` + a + `"`:                                                        {idA},
			`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "` + b + `"`:             {idB},
			`userName eq "` + a + `" or userName eq "` + b + `"`:                             {idA, idB},
			`(userName eq "` + a + `" or userName eq "` + b + `") and externalId eq "ext-A"`: {idA},
			`externalId eq "EXT-A"`:                                                          {},
			`externalId eq ""`:                                                               {}, // Beta and the Owner have none
			`id eq "` + idB + `"`:                                                            {idB},
			`emails.value eq "` + b + `"`:                                                    {idB},
			`emails[value eq "` + a + `"]`:                                                   {idA},
			`emails[type eq "home"].value eq "` + a + `"`:                                    {},
			`userName co "ha.filt"`:                                                          {idA},
			`userName sw "beta."`:                                                            {idB},
			// JSON's escapes, hex digits in either case.
			`userName eq "` + strings.Replace(a, ".", `\u002e`, 1) + `"`: {idA},
			`userName eq "` + strings.Replace(a, ".", `\u002E`, 1) + `"`: {idA},
		} {
			res := o.idp.get("/Users" + filterQuery(f)).want(http.StatusOK)
			var got []string
			for _, r := range res.resources() {
				got = append(got, lookup(r, "id").(string))
			}
			if strings.Join(got, ",") != strings.Join(want, ",") || res.num("totalResults") != len(want) {
				t.Errorf("filter %s found %v (total %d); want %v", f, got, res.num("totalResults"), want)
			}
		}
		// attributes= and excludedAttributes= shape the answer.
		only := o.idp.get("/Users" + filterQuery(`userName eq "`+a+`"`) + "&attributes=userName,name.givenName").want(http.StatusOK)
		r := only.resources()[0]
		if lookup(r, "userName") != a || lookup(r, "name.givenName") != "Alpha" || lookup(r, "name.familyName") != nil ||
			lookup(r, "emails") != nil || lookup(r, "id") != idA {
			t.Fatalf("attributes=userName,name.givenName: %v", r)
		}
		without := o.idp.get("/Users/" + idA + "?excludedAttributes=groups,emails").want(http.StatusOK)
		if without.get("groups") != nil || without.get("emails") != nil || without.str("userName") != a {
			t.Fatalf("excludedAttributes=groups,emails: %s", without.raw)
		}
		without = o.idp.get("/Users/" + idA + "?excludedAttributes=name.givenName").want(http.StatusOK)
		if without.get("name.givenName") != nil || without.str("name.familyName") != "Filter" {
			t.Fatalf("excludedAttributes=name.givenName: %s", without.raw)
		}
		// Fully qualified names, of the core schema and of an extension.
		team := o.idp.get("/Users/" + idA + "?attributes=" + scim.SchemaUser + ":userName," + scim.SchemaMuster +
			":primaryTeam").want(http.StatusOK)
		if team.str("userName") != a || team.get(scim.SchemaMuster+".primaryTeam") == nil || team.get("name") != nil {
			t.Fatalf("attributes=…:userName,…:primaryTeam: %s", team.raw)
		}
		without = o.idp.get("/Users/" + idA + "?excludedAttributes=" + scim.SchemaMuster + ":primaryTeam").want(http.StatusOK)
		if without.get(scim.SchemaMuster+".primaryTeam") != nil || without.str("userName") != a {
			t.Fatalf("excludedAttributes=…:primaryTeam: %s", without.raw)
		}
	})
}

// TestDiscovery: ServiceProviderConfig says what is supported, and
// ResourceTypes and Schemas describe exactly what Muster keeps, found in
// any case.
func TestDiscovery(t *testing.T) {
	t.Parallel()
	o := newOrg(t, storetest.OpenSQLite(t), 5)
	spc := o.idp.get("/ServiceProviderConfig").want(http.StatusOK)
	for path, want := range map[string]any{"patch.supported": true, "bulk.supported": false, "filter.supported": true,
		"filter.maxResults": float64(scim.MaxResults), "sort.supported": false, "etag.supported": true,
		"changePassword.supported": false, "authenticationSchemes.0.type": "oauthbearertoken"} {
		spc.wantEqual(path, want)
	}
	types := o.idp.get("/resourcetypes").want(http.StatusOK)
	if types.num("totalResults") != 2 || types.str("Resources.0.endpoint") != "/Users" {
		t.Fatalf("resource types: %s", types.raw)
	}
	o.idp.get("/ResourceTypes/group").want(http.StatusOK).wantEqual("schema", scim.SchemaGroup)
	schemas := o.idp.get("/Schemas").want(http.StatusOK)
	if schemas.num("totalResults") != 3 {
		t.Fatalf("schemas: %s", schemas.raw)
	}
	user := o.idp.get("/Schemas/" + strings.ToLower(scim.SchemaUser)).want(http.StatusOK)
	var names []string
	for _, a := range user.get("attributes").([]any) {
		names = append(names, lookup(a, "name").(string))
	}
	if strings.Join(names, ",") != "userName,name,displayName,emails,active,roles,groups" {
		t.Fatalf("the User schema lists %v", names)
	}
	o.idp.get("/Schemas/"+scim.SchemaEnterprise).wantError(http.StatusNotFound, "")
	o.idp.get("/Bulk").wantError(http.StatusNotFound, "")
	// A known endpoint with a method it does not take: 405, naming those
	// it takes.
	for _, c := range []struct{ method, path, allow string }{
		{"POST", "/Users/1", "GET, HEAD, PUT, PATCH, DELETE"},
		{"DELETE", "/Groups", "GET, HEAD, POST"},
		{"PUT", "/Schemas", "GET, HEAD"},
	} {
		res := o.idp.do(c.method, c.path, nil).wantError(http.StatusMethodNotAllowed, "")
		if got := res.header.Get("Allow"); got != c.allow {
			t.Errorf("%s %s: Allow %q; want %q", c.method, c.path, got, c.allow)
		}
	}
}

// TestTokensAreNotInterchangeable: a SCIM token does not work on the API,
// an API token not on SCIM, a revoked SCIM token not at all; the token's
// last use is recorded.
func TestTokensAreNotInterchangeable(t *testing.T) {
	t.Parallel()
	db := storetest.OpenSQLite(t)
	o := newOrg(t, db, 5)
	api, err := o.svc.CreateAPIToken(o.ownerCtx, "HR sync", timeZero)
	if err != nil {
		t.Fatal(err)
	}
	o.idp.get("/Users").want(http.StatusOK)
	(&client{t: t, base: o.idp.base, token: api.Secret}).get("/Users").wantError(http.StatusUnauthorized, "", "SCIM token")
	apiClient := &client{t: t, base: o.srv.URL + "/api/v1", token: o.token}
	if res := apiClient.doRaw("GET", "/users"); res != http.StatusUnauthorized {
		t.Fatalf("a SCIM token on the API: %d; want 401", res)
	}
	prov, err := o.svc.FindProvisioning(o.ownerCtx)
	if err != nil || len(prov.Tokens) != 1 || prov.Tokens[0].LastUsedAt.IsZero() {
		t.Fatalf("the token's last use is not recorded: %+v, %v", prov, err)
	}
	// A request past authentication when the token is revoked, as the SCIM
	// server makes its context: the token as its check read it.
	checked, err := o.svc.AuthenticateSCIMToken(context.Background(), o.token)
	if err != nil {
		t.Fatal(err)
	}
	inFlight := muster.NewContext(context.Background(), muster.Principal{OrgID: o.org.ID, SCIMTokenID: o.tokenID,
		Origin: muster.SCIMOrigin(o.tokenID), SCIMToken: checked})
	if err := o.svc.RevokeSCIMToken(o.ownerCtx, o.tokenID); err != nil {
		t.Fatal(err)
	}
	o.idp.get("/Users").wantError(http.StatusUnauthorized, "", "revoked")
	// Its changes read the token again in their transaction.
	if err := o.svc.DeleteProvisionedUser(inFlight, o.owner.ID, 0); muster.ErrorCode(err) != muster.EUNAUTHORIZED {
		t.Fatalf("a change of a revoked token's request already past authentication: %v; want unauthorized", err)
	}
	if _, err := o.svc.FindProvisionedUsers(o.scimCtx(), service.ProvisionQuery{Limit: 1}); muster.ErrorCode(err) != muster.EUNAUTHORIZED {
		t.Fatalf("a read of a revoked token without the token's check: %v; want unauthorized", err)
	}
}
