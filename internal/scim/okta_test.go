package scim_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/scim"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestOktaSpecTests runs, in Go, the sequence of Okta's "SCIM 2.0 Spec
// Test" (the Runscope suite Okta asks SCIM servers to pass), step by step,
// with the same checks.
func TestOktaSpecTests(t *testing.T) {
	t.Parallel()
	storetest.RunParallel(t, func(t *testing.T, db *sqlstore.DB) {
		o := newOrg(t, db, 10)
		idp := o.idp

		// 1. Required test: a page of one user from the first.
		list := idp.get("/Users?count=1&startIndex=1").want(http.StatusOK)
		if !list.hasSchema(scim.MessageList) {
			t.Fatalf("the list lacks the ListResponse schema: %s", list.raw)
		}
		if list.num("itemsPerPage") != 1 || list.num("startIndex") != 1 || list.num("totalResults") != 1 ||
			len(list.resources()) != 1 {
			t.Fatalf("a page of one of the Owner alone: %s", list.raw)
		}
		first := list.str("Resources.0.id")

		// 2. Get that user by id.
		idp.get("/Users/"+first).want(http.StatusOK).wantEqual("userName", o.owner.Email).
			wantEqual("name.givenName", "Olive").wantEqual("active", true).wantEqual("roles.0.value", "Owner")

		// 3. A filter on a userName nobody has finds nothing, in a list.
		none := idp.get(`/Users?filter=userName%20eq%20%22nobody-f7a3@example.com%22`).want(http.StatusOK)
		if none.num("totalResults") != 0 || len(none.resources()) != 0 {
			t.Fatalf("filter on an unknown userName: %s", none.raw)
		}

		// 4. An unknown id: 404 in the Error schema.
		idp.get("/Users/010101010101010").wantError(http.StatusNotFound, "", "not found")
		idp.get("/Users/2819c223-7f76-453a-919d-413861904646").wantError(http.StatusNotFound, "")

		// 5. Create a user: 201, the fields echoed.
		userName := email("Runscope.User")
		created := idp.do("POST", "/Users", newUser(userName, "Runscope", "User")).want(http.StatusCreated).
			wantEqual("userName", userName).wantEqual("name.givenName", "Runscope").
			wantEqual("name.familyName", "User").wantEqual("active", true).wantEqual("emails.0.value", userName).
			wantEqual("roles.0.value", "Basic User").wantEqual("meta.resourceType", "User")
		id := created.str("id")
		if id == "" || created.header.Get("Location") != created.str("meta.location") ||
			!strings.HasSuffix(created.str("meta.location"), "/scim/v2/Users/"+id) {
			t.Fatalf("created user's id and location: %s; Location %q", created.raw, created.header.Get("Location"))
		}
		if created.header.Get("ETag") == "" || created.header.Get("ETag") != created.str("meta.version") {
			t.Fatalf("ETag %q; meta.version %q", created.header.Get("ETag"), created.str("meta.version"))
		}
		// It is Invite a User: Pending, a seat, the invitation email.
		if u := o.user(id); u.Status != muster.StatusPending || o.seats() != 2 {
			t.Fatalf("the created user is %s with %d seats used; want Pending and 2", u.Status, o.seats())
		}

		// 6. Get it back.
		idp.get("/Users/"+id).want(http.StatusOK).wantEqual("id", id).wantEqual("userName", userName)

		// 7. The same userName again: 409 uniqueness.
		idp.do("POST", "/Users", newUser(userName, "Runscope", "User")).wantError(http.StatusConflict, scim.TypeUniqueness)

		// 8. A filter on the userName in upper case finds it.
		upper := idp.get(`/Users?filter=userName%20eq%20%22` + strings.ToUpper(userName) + `%22`).want(http.StatusOK)
		if upper.num("totalResults") != 1 || upper.str("Resources.0.id") != id {
			t.Fatalf("filter on the upper-cased userName: %s", upper.raw)
		}

		// 9. The groups list.
		groups := idp.get("/Groups").want(http.StatusOK)
		if !groups.hasSchema(scim.MessageList) || groups.num("totalResults") != 1 ||
			groups.str("Resources.0.displayName") != muster.DefaultTeamName {
			t.Fatalf("groups: %s", groups.raw)
		}

		// 10. A bad token: 401 in the Error schema, status a string.
		(&client{t: t, base: idp.base, token: "mscim_not-a-token"}).get("/Users").
			wantError(http.StatusUnauthorized, "", "SCIM token")
		(&client{t: t, base: idp.base}).get("/Users").wantError(http.StatusUnauthorized, "")
	})
}

// TestOktaCRUD is Okta's provisioning cycle for one user: create, change
// the first name (Okta's PUT of the whole user, read-only attributes sent
// back), deactivate with a path-less replace, reactivate, and unassign,
// which deactivates and never deletes.
func TestOktaCRUD(t *testing.T) {
	t.Parallel()
	storetest.RunParallel(t, func(t *testing.T, db *sqlstore.DB) {
		o := newOrg(t, db, 10)
		idp := o.idp
		userName := email("Dana.Crud")
		created := idp.do("POST", "/Users", newUser(userName, "Dana", "Crud")).want(http.StatusCreated)
		id := created.str("id")

		// Okta PUTs the user as it read it, first name changed.
		put := created.body
		put["name"] = map[string]any{"givenName": "Daniela", "familyName": "Crud"}
		updated := idp.do("PUT", "/Users/"+id, put).want(http.StatusOK).wantEqual("name.givenName", "Daniela").
			wantEqual("displayName", "Daniela Crud").wantEqual("active", true)
		if updated.str("meta.version") == created.str("meta.version") {
			t.Fatal("meta.version did not change with the user")
		}
		if u := o.user(id); u.FirstName != "Daniela" || u.Status != muster.StatusPending {
			t.Fatalf("after the PUT the console has %q, %s", u.FirstName, u.Status)
		}

		deactivate := patch(op("replace", "", map[string]any{"active": false}))
		idp.do("PATCH", "/Users/"+id, deactivate).want(http.StatusOK).wantEqual("active", false)
		// Pending, so the invitation is withdrawn: the seat is free again.
		if o.seats() != 1 {
			t.Fatalf("%d seats used after deactivating; want 1 (the Owner's)", o.seats())
		}
		idp.get("/Users/"+id).want(http.StatusOK).wantEqual("active", false)

		idp.do("PATCH", "/Users/"+id, patch(op("replace", "", map[string]any{"active": true}))).
			want(http.StatusOK).wantEqual("active", true).wantEqual("id", id).wantEqual("name.givenName", "Daniela")
		if u := o.user(id); u.Status != muster.StatusPending || o.seats() != 2 {
			t.Fatalf("reactivated: %s, %d seats; want Pending, 2", u.Status, o.seats())
		}

		// The invitee joins, then is unassigned in Okta: deactivated.
		o.acceptLatest(userName)
		idp.do("PATCH", "/Users/"+id, deactivate).want(http.StatusOK).wantEqual("active", false)
		u := o.user(id)
		if u.Status != muster.StatusDeactivated || o.seats() != 1 {
			t.Fatalf("unassigned: %s with %d seats; want Deactivated, 1", u.Status, o.seats())
		}
		idp.get("/Users/"+id).want(http.StatusOK).wantEqual("active", false).wantEqual("userName", userName)
		filtered := idp.get(`/Users?filter=userName+eq+%22` + userName + `%22`).want(http.StatusOK)
		if filtered.num("totalResults") != 1 || filtered.get("Resources.0.active") != false {
			t.Fatalf("the deactivated user by filter: %s", filtered.raw)
		}
	})
}

// acceptLatest follows the newest invitation link queued for addr and
// sets a password: the invitee joins.
func (o *org) acceptLatest(addr string) *muster.User {
	o.t.Helper()
	page, err := o.svc.Mailbox(o.ownerCtx, 0, 200)
	if err != nil {
		o.t.Fatal(err)
	}
	for _, m := range page.Messages {
		if !strings.EqualFold(m.To, addr) {
			continue
		}
		i := strings.Index(m.Text, "/invitations/")
		if i < 0 {
			continue
		}
		token := strings.Fields(m.Text[i+len("/invitations/"):])[0]
		in, err := o.svc.AcceptInvitation(o.ownerCtx, token, "a long enough secret", serviceClient())
		if err != nil {
			o.t.Fatalf("accepting %s's invitation: %v", addr, err)
		}
		return in.User
	}
	o.t.Fatalf("no invitation to %s", addr)
	return nil
}
