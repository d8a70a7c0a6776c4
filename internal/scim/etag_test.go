package scim_test

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/secret"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport"
	"github.com/muster-app/muster/internal/testsupport/storetest"
	"github.com/muster-app/muster/internal/web"
)

// TestGroupVersionFollowsMembers: a group's members are part of it, so a
// change of its members gives it a new version (ETag and meta.version), and
// a write with the If-Match read before that change is refused with 412,
// rather than replacing the members another write just set.
func TestGroupVersionFollowsMembers(t *testing.T) {
	t.Parallel()
	storetest.RunParallel(t, func(t *testing.T, db *sqlstore.DB) {
		o := newOrg(t, db, 20)
		idp := o.idp
		group := idp.do("POST", "/Groups", map[string]any{"displayName": "Support"}).want(http.StatusCreated)
		path := "/Groups/" + group.str("id")
		ann := idp.do("POST", "/Users", newUser(email("Ann.Added"), "Ann", "Added")).want(http.StatusCreated).str("id")
		bob := idp.do("POST", "/Users", newUser(email("Bob.Other"), "Bob", "Other")).want(http.StatusCreated).str("id")

		read := idp.get(path).want(http.StatusOK)
		before := read.header.Get("ETag")
		if before == "" || read.str("meta.version") != before {
			t.Fatalf("ETag %q, meta.version %q", before, read.str("meta.version"))
		}

		added := idp.do("PATCH", path, patch(op("add", "members", []any{map[string]any{"value": ann}}))).
			want(http.StatusNoContent)
		after := added.header.Get("ETag")
		if after == before {
			t.Fatalf("the group's ETag is still %q after a member joined", after)
		}
		again := idp.get(path).want(http.StatusOK).wantEqual("members.0.value", ann)
		if again.header.Get("ETag") != after || again.str("meta.version") != after {
			t.Fatalf("GET answers ETag %q, meta.version %q; the PATCH answered %q", again.header.Get("ETag"),
				again.str("meta.version"), after)
		}

		// A PUT made from the group as it was read before Ann joined would
		// drop her: refused.
		idp.do("PUT", path, map[string]any{"displayName": "Support", "members": []any{map[string]any{"value": bob}}},
			"If-Match", before).wantError(http.StatusPreconditionFailed, "")
		idp.get(path).want(http.StatusOK).wantEqual("members.0.value", ann).wantEqual("members.1", nil)

		// Removing her is a change too; a PATCH that changes nothing is not.
		removed := idp.do("PATCH", path, patch(op("remove", `members[value eq "`+ann+`"]`, nil)), "If-Match", after).
			want(http.StatusNoContent)
		if removed.header.Get("ETag") == after {
			t.Fatalf("the group's ETag is still %q after its member left", after)
		}
		unchanged := idp.do("PATCH", path, patch(op("remove", `members[value eq "`+ann+`"]`, nil))).
			want(http.StatusNoContent)
		if unchanged.header.Get("ETag") != removed.header.Get("ETag") {
			t.Fatalf("a PATCH that changed nothing moved the ETag from %q to %q", removed.header.Get("ETag"),
				unchanged.header.Get("ETag"))
		}
	})
}

// TestGroupLastModified: a group's meta.lastModified is when it last
// changed (its name, its external ID, its members through the group), not
// when it was created; meta.created stays.
func TestGroupLastModified(t *testing.T) {
	t.Parallel()
	storetest.RunParallel(t, func(t *testing.T, db *sqlstore.DB) {
		var clock atomic.Int64 // seconds since the epoch
		clock.Store(time.Now().Unix())
		svc := service.New(db, service.Config{BaseURL: "https://muster.example.com",
			Links: web.NewLinks("https://muster.example.com"), PasswordParams: secret.TestParams,
			Now: func() time.Time { return time.Unix(clock.Load(), 0) }})
		o := &org{t: t, db: db, svc: svc, log: &testsupport.Buffer{}}
		o.srv = serve(t, svc, db, o.log)
		o.create(20)
		idp := o.idp
		created := time.Unix(clock.Load(), 0).UTC().Format(time.RFC3339)
		path := "/Groups/" + idp.do("POST", "/Groups", map[string]any{"displayName": "Field"}).
			want(http.StatusCreated).wantEqual("meta.lastModified", created).str("id")
		ann := idp.do("POST", "/Users", newUser(email("Ann.Field"), "Ann", "Field")).want(http.StatusCreated).str("id")

		for _, change := range []map[string]any{
			op("add", "members", []any{map[string]any{"value": ann}}),
			op("replace", "displayName", "Field Sales"),
			op("replace", "externalId", "okta-field"),
			op("remove", "members", nil),
		} {
			clock.Add(3600)
			idp.do("PATCH", path, patch(change)).want(http.StatusNoContent)
			idp.get(path).want(http.StatusOK).wantEqual("meta.created", created).
				wantEqual("meta.lastModified", time.Unix(clock.Load(), 0).UTC().Format(time.RFC3339))
		}
		// A PATCH that changes nothing leaves it.
		was := time.Unix(clock.Load(), 0).UTC().Format(time.RFC3339)
		clock.Add(3600)
		idp.do("PATCH", path, patch(op("replace", "displayName", "Field Sales"))).want(http.StatusNoContent)
		idp.get(path).want(http.StatusOK).wantEqual("meta.lastModified", was)
	})
}
