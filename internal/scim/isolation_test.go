package scim_test

import (
	"net/http"
	"testing"

	"github.com/muster-app/muster/internal/scim"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// TestTenantIsolation: org A's SCIM token, on every SCIM path, with org B's
// ids, gets 404 (never 403, never B's data), finds none of B's users or
// teams by any filter, and B is unchanged.
func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	storetest.RunParallel(t, func(t *testing.T, db *sqlstore.DB) {
		a := newOrg(t, db, 10)
		b := &org{t: t, db: db, svc: a.svc, srv: a.srv, log: a.log}
		b.create(10)

		bUserName := email("Bea.Other")
		body := newUser(bUserName, "Bea", "Other")
		body["externalId"] = "b-ext"
		bUser := b.idp.do("POST", "/Users", body).want(http.StatusCreated)
		bUserID := bUser.str("id")
		bGroup := b.idp.do("POST", "/Groups", map[string]any{"displayName": "B Team", "externalId": "b-group",
			"members": []any{map[string]any{"value": bUserID}}}).want(http.StatusCreated)
		bGroupID := bGroup.str("id")
		bUser = b.idp.get("/Users/" + bUserID).want(http.StatusOK) // as the membership left them
		bOwner := id(b.owner.ID)
		aGroupID := a.idp.do("POST", "/Groups", map[string]any{"displayName": "A Team"}).want(http.StatusCreated).str("id")
		seatsBefore := b.seats()

		userPaths := []string{"/Users/" + bUserID, "/Users/" + bOwner}
		for _, path := range userPaths {
			a.idp.get(path).wantError(http.StatusNotFound, "")
			a.idp.do("PUT", path, newUser(email("x"), "X", "X")).wantError(http.StatusNotFound, "")
			a.idp.do("PATCH", path, patch(op("replace", "active", false))).wantError(http.StatusNotFound, "")
			a.idp.do("DELETE", path, nil).wantError(http.StatusNotFound, "")
		}
		groupPath := "/Groups/" + bGroupID
		a.idp.get(groupPath).wantError(http.StatusNotFound, "")
		a.idp.do("PUT", groupPath, map[string]any{"displayName": "Taken", "members": []any{}}).wantError(http.StatusNotFound, "")
		a.idp.do("PATCH", groupPath, patch(op("remove", "members", nil))).wantError(http.StatusNotFound, "")
		a.idp.do("DELETE", groupPath, nil).wantError(http.StatusNotFound, "")
		// B's user as a member of A's team, added or by a new team.
		a.idp.do("PATCH", "/Groups/"+aGroupID, patch(op("add", "members", []any{map[string]any{"value": bUserID}}))).
			wantError(http.StatusNotFound, "")
		a.idp.do("POST", "/Groups", map[string]any{"displayName": "Poach", "members": []any{map[string]any{"value": bUserID}}}).
			wantError(http.StatusNotFound, "")
		// B's user's email is taken (in another org), without B's data.
		a.idp.do("POST", "/Users", newUser(bUserName, "Bea", "Other")).
			wantError(http.StatusConflict, scim.TypeUniqueness, "Another organization already has a user with this email.")

		for _, f := range []string{`userName eq "` + bUserName + `"`, `id eq "` + bUserID + `"`, `externalId eq "b-ext"`,
			`userName co "bea.other"`} {
			a.idp.get("/Users"+filterQuery(f)).want(http.StatusOK).wantEqual("totalResults", 0)
		}
		for _, f := range []string{`displayName eq "B Team"`, `id eq "` + bGroupID + `"`, `externalId eq "b-group"`,
			`members.value eq "` + bUserID + `"`} {
			a.idp.get("/Groups"+filterQuery(f)).want(http.StatusOK).wantEqual("totalResults", 0)
		}
		list := a.idp.get("/Users?count=200").want(http.StatusOK)
		for _, r := range list.resources() {
			if lookup(r, "id") == bUserID || lookup(r, "id") == bOwner {
				t.Fatalf("A's list shows B's user %v", r)
			}
		}

		// B is as it was.
		b.idp.get("/Users/"+bUserID).want(http.StatusOK).wantEqual("meta.version", bUser.str("meta.version")).
			wantEqual("active", true)
		b.idp.get(groupPath).want(http.StatusOK).wantEqual("meta.version", bGroup.str("meta.version")).
			wantEqual("displayName", "B Team").wantEqual("members.0.value", bUserID)
		if b.seats() != seatsBefore {
			t.Fatalf("B's seats went from %d to %d", seatsBefore, b.seats())
		}
	})
}
