package scim

// Fuzz targets of SCIM's filters and PATCH bodies: each input is parsed
// (the parse's own properties) and then sent to SCIM on SQLite with the
// org's token, where nothing may answer 5xx and what was saved stays
// valid.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/secret"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/testsupport/storetest"
	"github.com/muster-app/muster/internal/web"
)

// fuzzSCIM is SCIM on a fresh SQLite store: an org, its SCIM token, a
// Pending user and a team with them as a member, and teams whose names and
// external IDs hold what a filter's SQL must take as text (LIKE's
// wildcards, letters that fold).
type fuzzSCIM struct {
	h           http.Handler
	svc         *service.Service
	owner       context.Context // an operator of the org
	scim        context.Context // the org's SCIM token
	token       string
	user, group int64
}

func newFuzzSCIM(tb testing.TB) *fuzzSCIM {
	tb.Helper()
	db := storetest.OpenSQLite(tb)
	z := &fuzzSCIM{svc: service.New(db, service.Config{BaseURL: "https://muster.example.com",
		Links: web.NewLinks("https://muster.example.com"), PasswordParams: secret.TestParams})}
	z.h = New(z.svc, slog.New(slog.DiscardHandler), "https://muster.example.com")
	setup, err := z.svc.CreateOrg(muster.NewContext(context.Background(), muster.Principal{Origin: "test"}),
		service.NewOrg{Name: "Acme", LicenseTotal: service.MaxLicenseTotal, OwnerEmail: "owner@example.com",
			OwnerFirstName: "Olive", OwnerLastName: "Owner"})
	if err != nil {
		tb.Fatal(err)
	}
	// An operator reads what was saved.
	z.owner = muster.NewContext(context.Background(), muster.Principal{OrgID: setup.Org.ID, Origin: "test"})
	tok, err := z.svc.CreateSCIMToken(z.owner, "fuzz")
	if err != nil {
		tb.Fatal(err)
	}
	z.token = tok.Secret
	scim := muster.NewContext(context.Background(), muster.Principal{OrgID: setup.Org.ID, SCIMTokenID: tok.Token.ID, Origin: "test"})
	u, err := z.svc.ProvisionUser(scim, service.UserDraft{Email: "tess@example.com", FirstName: "Tess", LastName: "Target", Active: true})
	if err != nil {
		tb.Fatal(err)
	}
	t, err := z.svc.ProvisionTeam(scim, service.TeamDraft{Name: "Fuzzers", Members: []int64{u.User.ID}})
	if err != nil {
		tb.Fatal(err)
	}
	for _, d := range []service.TeamDraft{{Name: "50% Club", ExternalID: "okta_50%"}, {Name: "Straße Ünïcode"},
		{Name: "sales_emea", ExternalID: "Sales-EMEA"}} {
		if _, err := z.svc.ProvisionTeam(scim, d); err != nil {
			tb.Fatal(err)
		}
	}
	z.scim, z.user, z.group = scim, u.User.ID, t.Team.ID
	return z
}

// send sends a request and checks what every answer must be: never 5xx,
// SCIM's JSON (an Error with a detail for a refusal). It returns the
// status.
func (z *fuzzSCIM) send(t *testing.T, method, path string, body []byte) int {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+z.token)
	req.Header.Set("Content-Type", ContentType)
	rec := httptest.NewRecorder()
	z.h.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("%s %s %q: %d\n%s", method, path, body, rec.Code, rec.Body)
	}
	if rec.Code == http.StatusNoContent {
		return rec.Code
	}
	var answer map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &answer); err != nil || rec.Header().Get("Content-Type") != ContentType {
		t.Fatalf("%s %s %q: %d answered %q, %q", method, path, body, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	if rec.Code >= 400 && (answer["detail"] == "" || answer["status"] != fmt.Sprint(rec.Code)) {
		t.Fatalf("%s %s %q: %d without a SCIM error: %s", method, path, body, rec.Code, rec.Body)
	}
	return rec.Code
}

// filterSeeds are filters the providers send, and some they should not.
var filterSeeds = []string{
	`userName eq "ada@example.com"`,
	`UserName EQ "ADA@EXAMPLE.COM"`,
	`externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"`,
	`id eq "12"`,
	`emails[type eq "work"].value eq "ada@example.com"`,
	`emails[type eq "work" and value eq "ada@example.com"]`,
	`emails.value eq "ada@example.com"`,
	`(userName eq "a@x.io" or userName eq "b@x.io") and externalId eq "e"`,
	`userName sw "ada"`,
	`userName co "@example"`,
	`displayName eq "Sales \"EMEA\""`,
	`members.value eq "12"`,
	`members[value eq "12"]`,
	`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "x@y.z"`,
	`not (userName eq "a")`,
	`title pr`,
	`emails[type eq "work" or type eq "home"].value eq "a"`,
	`emails[type eq "work"].value pr`,
	`userName eq`,
	`]].[`,
	`userName eq "\u00e9"`,
	`displayName co "%"`,
	`displayName sw "STRASSE"`,
	`displayName eq "straße ünïcode" or externalId eq "okta_50%"`,
	`externalId eq "sales-emea"`,
	`members.value eq " 2"`,
}

// FuzzFilter: whatever a filter holds, parseFilter never panics; it
// returns a condition made only of the comparisons the resource allows, or
// a 400 invalidFilter error.
func FuzzFilter(f *testing.F) {
	for _, s := range filterSeeds {
		f.Add(s)
	}
	z := newFuzzSCIM(f)
	f.Fuzz(func(t *testing.T, raw string) {
		for _, path := range []string{"/scim/v2/Users", "/scim/v2/Groups"} {
			if status := z.send(t, "GET", path+"?filter="+url.QueryEscape(raw), nil); status != 200 && status != 400 {
				t.Fatalf("GET %s?filter=%q: %d; want 200 or 400", path, raw, status)
			}
		}
		for _, res := range []struct {
			schema string
			attrs  map[string]filterAttr
		}{{SchemaUser, userFilterable}, {SchemaGroup, groupFilterable}} {
			cond, err := parseFilter(raw, res.schema, res.attrs)
			if err != nil {
				var se *Error
				if !errors.As(err, &se) || se.Status != http.StatusBadRequest || se.ScimType != TypeInvalidFilter || se.Detail == "" {
					t.Fatalf("parseFilter(%q): %v; want a 400 invalidFilter", raw, err)
				}
				continue
			}
			if cond != nil {
				checkCond(t, raw, *cond, res.attrs)
			}
			if res.schema == SchemaGroup {
				z.checkGroupSelection(t, raw, cond)
			}
		}
	})
}

// checkGroupSelection checks that the groups cond selects through the store
// are those a reading of every team in Go selects, in the same order.
func (z *fuzzSCIM) checkGroupSelection(t *testing.T, raw string, cond *muster.Condition) {
	t.Helper()
	got, err := z.svc.FindProvisionedTeams(z.scim, service.ProvisionQuery{Where: cond, Limit: 100})
	if muster.ErrorCode(err) == muster.EINVALID {
		return // a value the service refuses (a control character): the request's 400
	} else if err != nil {
		t.Fatalf("FindProvisionedTeams(%q): %v", raw, err)
	}
	listed, err := z.svc.Teams(z.owner, service.TeamListQuery{})
	if err != nil {
		t.Fatal(err)
	}
	teams := listed.Teams
	// A member is a Pending or Active user SCIM shows.
	teamsOf := func(userID int64) []*muster.Team {
		p, err := z.svc.FindProvisionedUser(z.scim, userID)
		if muster.ErrorCode(err) == muster.ENOTFOUND || err == nil && !p.User.Status.HoldsSeat() {
			return nil
		} else if err != nil {
			t.Fatal(err)
		}
		return p.Teams
	}
	var want, names []string
	for _, team := range teams {
		if cond == nil || teamMatches(team, *cond, teamsOf) {
			want = append(want, team.Name)
		}
	}
	for _, p := range got.Teams {
		names = append(names, p.Team.Name)
	}
	if !slices.Equal(names, want) || got.Total != len(want) {
		t.Fatalf("filter %q selects %q (total %d); a reading in Go selects %q", raw, names, got.Total, want)
	}
}

// teamMatches is the model of a group filter's comparisons: whether team
// meets c, teamsOf giving the teams of which a user is a member.
func teamMatches(team *muster.Team, c muster.Condition, teamsOf func(userID int64) []*muster.Team) bool {
	switch c.Op {
	case muster.CondAnd, muster.CondOr:
		for _, p := range c.Of {
			if teamMatches(team, p, teamsOf) == (c.Op == muster.CondOr) {
				return c.Op == muster.CondOr
			}
		}
		return c.Op == muster.CondAnd
	}
	id, err := strconv.ParseInt(strings.TrimSpace(c.Value), 10, 64)
	switch c.Attr {
	case muster.AttrID:
		return err == nil && id == team.ID
	case muster.AttrExternalID:
		return team.ExternalID != "" && team.ExternalID == c.Value
	case muster.AttrMember:
		return err == nil && id > 0 && slices.ContainsFunc(teamsOf(id), func(t *muster.Team) bool { return t.ID == team.ID })
	case muster.AttrName:
		name, v := muster.SearchKey(team.Name), muster.SearchKey(c.Value)
		switch c.Op {
		case muster.CondPrefix:
			return strings.HasPrefix(name, v)
		case muster.CondContains:
			return strings.Contains(name, v)
		}
		return name == v
	}
	return false
}

func checkCond(t *testing.T, raw string, c muster.Condition, attrs map[string]filterAttr) {
	t.Helper()
	switch c.Op {
	case muster.CondAnd, muster.CondOr:
		if len(c.Of) < 2 {
			t.Fatalf("parseFilter(%q): %s of %d conditions", raw, c.Op, len(c.Of))
		}
		for _, p := range c.Of {
			checkCond(t, raw, p, attrs)
		}
		return
	}
	for _, a := range attrs {
		if a.attr == c.Attr && slices.Contains(a.ops, c.Op) {
			return
		}
	}
	t.Fatalf("parseFilter(%q) compares %s with %s, which is not allowed", raw, c.Attr, c.Op)
}

// patchSeeds are PATCH bodies as Okta and Entra ID send them.
var patchSeeds = []string{
	`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`,
	`{"Operations":[{"op":"Replace","path":"active","value":"False"}]}`,
	`{"Operations":[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"a@b.c"},{"op":"Replace","path":"name.familyName","value":"F"}]}`,
	`{"Operations":[{"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Sales"}]}`,
	`{"Operations":[{"op":"replace","value":{"name.givenName":"G","urn:ietf:params:scim:schemas:core:2.0:User:externalId":"e","urn:ietf:params:scim:schemas:extension:muster:2.0:User":{"primaryTeam":"Sales"}}}]}`,
	`{"Operations":[{"op":"Replace","path":"roles[primary eq \"True\"].value","value":"Admin"}]}`,
	`{"Operations":[{"op":"remove","path":"roles[value eq \"Admin\"]"}]}`,
	`{"Operations":[{"op":"Add","path":"members","value":[{"$ref":null,"value":"12"}]}]}`,
	`{"Operations":[{"op":"Remove","path":"members","value":[{"value":"12"}]}]}`,
	`{"Operations":[{"op":"remove","path":"members[value eq \"12\" or value eq \"13\"]"}]}`,
	`{"Operations":[{"op":"replace","path":"members","value":[{"value":"12"},{"value":"13"}]},{"op":"replace","path":"displayName","value":"D"}]}`,
	`{"Operations":[{"op":"remove"}]}`,
	`{"Operations":[{"op":"add","path":"name[","value":1}]}`,
	`{"Operations":[]}`,
	`[1,2]`,
}

// FuzzPatch: whatever a PATCH body holds, reading it and applying it to a
// user's draft and a team's draft never panics; a refusal is a SCIM error
// of the 4xx kind (or a service refusal of a member), and a draft that is
// accepted holds a role Muster has and positive member ids. Sent to SCIM on
// SQLite, for a user and a team, nothing answers 5xx, and the user and team
// saved keep valid names.
func FuzzPatch(f *testing.F) {
	for _, s := range patchSeeds {
		f.Add([]byte(s))
	}
	z := newFuzzSCIM(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		z.send(t, "PATCH", fmt.Sprintf("/scim/v2/Users/%d", z.user), body)
		z.send(t, "PATCH", fmt.Sprintf("/scim/v2/Groups/%d", z.group), body)
		p, err := z.svc.FindProvisionedUser(z.owner, z.user)
		if err != nil {
			t.Fatal(err)
		}
		u := p.User
		for _, name := range []string{u.FirstName, u.LastName, u.Email} {
			if problem := muster.NameProblem(name); problem != "" || strings.TrimSpace(name) == "" {
				t.Fatalf("after %q the user has the name %q (%s)", body, name, problem)
			}
		}
		saved, err := z.svc.Team(z.owner, z.group)
		if err != nil {
			t.Fatal(err)
		}
		if problem := muster.NameProblem(saved.Name); problem != "" || saved.Name == "" {
			t.Fatalf("after %q the team is named %q (%s)", body, saved.Name, problem)
		}

		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) != nil {
			return
		}
		obj, ok := v.(map[string]any)
		if !ok {
			return
		}
		ops, err := readPatch(obj)
		if err != nil {
			wantRefusal(t, body, err)
			return
		}
		user := service.UserDraft{Email: "ada@example.com", FirstName: "Ada", LastName: "L", Role: muster.RoleBasic, Active: true}
		if err := userPatch(ops)(&user); err != nil {
			wantRefusal(t, body, err)
		} else if _, ok := muster.ParseRole(string(user.Role)); !ok {
			t.Fatalf("%s left the role %q", body, user.Role)
		}
		team := service.TeamDraft{Name: "T", Members: []int64{12, 13}}
		if err := groupPatch(ops)(&team); err != nil {
			wantRefusal(t, body, err)
		} else {
			for _, m := range team.Members {
				if m <= 0 {
					t.Fatalf("%s left the member id %d", body, m)
				}
			}
		}
	})
}

func wantRefusal(t *testing.T, body []byte, err error) {
	t.Helper()
	e := toError(err)
	if e.Status < 400 || e.Status >= 500 || e.Detail == "" {
		t.Fatalf("%s: %v answers %d %q; want a 4xx with a detail", body, err, e.Status, e.Detail)
	}
}

// FuzzProjection: whatever attributes= and excludedAttributes= hold, a
// resource shaped by them keeps schemas and id, and holds nothing the
// resource did not: no attribute or sub-attribute is made up, and one
// excluded by its name (or its qualified name) is gone.
func FuzzProjection(f *testing.F) {
	for _, s := range [][2]string{{"userName,name.givenName", ""}, {"", "groups,emails"},
		{"", "name.givenName"}, {SchemaUser + ":userName," + SchemaMuster + ":primaryTeam", ""},
		{"", SchemaMuster + ":primaryTeam"}, {"NAME.familyname, ,", "id,schemas"}, {"urn:x:y", "name."}} {
		f.Add(s[0], s[1])
	}
	resource := map[string]any{"schemas": []any{SchemaUser}, "id": "7", "userName": "ada@example.com",
		"name": map[string]any{"givenName": "Ada", "familyName": "Lovelace"}, "emails": []any{map[string]any{"value": "ada@example.com"}},
		SchemaMuster: map[string]any{"primaryTeam": "Engineering"}}
	f.Fuzz(func(t *testing.T, attributes, excluded string) {
		p := readProjection(url.Values{"attributes": {attributes}, "excludedAttributes": {excluded}}, SchemaUser)
		shaped, err := p.apply(resource)
		if err != nil {
			t.Fatal(err)
		}
		m, ok := shaped.(map[string]any)
		if !ok {
			t.Fatalf("apply gave %T", shaped)
		}
		if m["id"] != "7" || m["schemas"] == nil {
			t.Fatalf("attributes=%q excludedAttributes=%q dropped id or schemas: %v", attributes, excluded, m)
		}
		for k, v := range m {
			orig, ok := resource[k]
			if !ok {
				t.Fatalf("attribute %q made up: %v", k, m)
			}
			if sub, ok := v.(map[string]any); ok {
				for sk := range sub {
					if _, ok := orig.(map[string]any)[sk]; !ok {
						t.Fatalf("sub-attribute %s.%s made up: %v", k, sk, m)
					}
				}
			}
		}
		for _, name := range p.excluded {
			if _, ok := m[name]; ok && name != "id" && name != "schemas" {
				t.Fatalf("excludedAttributes=%q kept %q", excluded, name)
			}
		}
	})
}
