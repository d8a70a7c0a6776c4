package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/muster-app/muster/internal/service"
)

// TestConditionalUserList: a client that sends back a list page's ETag in
// If-None-Match is answered 304 with no body while no user of the org
// changed, and the page again once one did: a role change, an invitation,
// a sign-in; the ETag is the page's own (another query gets its page), and
// a user's GET answers 304 the same way until the user changes.
func TestConditionalUserList(t *testing.T) {
	runStores(t, func(t *testing.T, e *env) {
		o := e.org
		const page = "/api/v1/users?status=active&limit=2"
		first := e.do("GET", page, o.ownerToken, nil).want(t, http.StatusOK)
		etag := first.header.Get("ETag")
		if !strings.HasPrefix(etag, `W/"l`) {
			t.Fatalf("list ETag = %q; want a weak list version", etag)
		}
		unchanged := func(step string) {
			t.Helper()
			res := e.do("GET", page, o.ownerToken, nil, "If-None-Match", `"other", `+etag).want(t, http.StatusNotModified)
			if len(res.body) != 0 || res.header.Get("ETag") != etag {
				t.Fatalf("%s: 304 with body %q, ETag %q; want none, %q", step, res.body, res.header.Get("ETag"), etag)
			}
		}
		changed := func(step string) {
			t.Helper()
			res := e.do("GET", page, o.ownerToken, nil, "If-None-Match", etag).want(t, http.StatusOK)
			if res.header.Get("ETag") == etag || len(res.body) == 0 {
				t.Fatalf("%s: the page came back with the ETag %q it had before the change", step, etag)
			}
			etag = res.header.Get("ETag")
		}
		unchanged("no change")

		// Another query: its own page, even with this one's ETag.
		e.do("GET", "/api/v1/users?status=active&limit=1", o.ownerToken, nil, "If-None-Match", etag).want(t, http.StatusOK)
		// A change refused (before it writes) changes nothing.
		e.do("PATCH", fmt.Sprintf("/api/v1/users/%d", o.owner.ID), o.adminToken, map[string]any{"role": "basic"}).
			want(t, http.StatusForbidden)
		unchanged("refused role change")

		e.do("PATCH", fmt.Sprintf("/api/v1/users/%d", o.manager.ID), o.ownerToken, map[string]any{"role": "basic"}).
			want(t, http.StatusOK)
		changed("role change")
		unchanged("after the role change")

		// A user who is not on the page (a Pending invitee) still changes
		// the list's version: the version is the org's, not the page's.
		e.invite(o.ownerToken, "basic").want(t, http.StatusCreated)
		changed("invitation")

		// A sign-in writes the user's last sign-in time, which pages show.
		user := e.do("GET", fmt.Sprintf("/api/v1/users/%d", o.admin.ID), o.ownerToken, nil).want(t, http.StatusOK)
		userETag := user.header.Get("ETag")
		res := e.do("GET", fmt.Sprintf("/api/v1/users/%d", o.admin.ID), o.ownerToken, nil, "If-None-Match", userETag).
			want(t, http.StatusNotModified)
		if len(res.body) != 0 {
			t.Fatalf("user 304 with a body: %q", res.body)
		}
		if _, err := e.svc.SignIn(context.Background(), o.admin.Email, "a long enough secret",
			service.Client{IP: "192.0.2.1", Origin: "web 192.0.2.1"}); err != nil {
			t.Fatal(err)
		}
		changed("sign-in")
		e.do("GET", fmt.Sprintf("/api/v1/users/%d", o.admin.ID), o.ownerToken, nil, "If-None-Match", userETag).
			want(t, http.StatusOK)

		// Another org's changes are not this list's.
		other := e.newOrg()
		e.do("PATCH", fmt.Sprintf("/api/v1/users/%d", other.manager.ID), other.ownerToken, map[string]any{"role": "basic"}).
			want(t, http.StatusOK)
		unchanged("another org's change")

		// Another org's page of the same query is another page: versions
		// are counted per org, so its ETag must name the org, or two lists
		// at the same version would answer for each other.
		otherETag := e.do("GET", page, other.ownerToken, nil).want(t, http.StatusOK).header.Get("ETag")
		key := func(etag string) string { return etag[strings.LastIndex(etag, "-"):] }
		if key(otherETag) == key(etag) {
			t.Errorf("two orgs' pages of %s have ETags %s and %s, alike but for the version", page, etag, otherETag)
		}
		e.do("GET", page, o.ownerToken, nil, "If-None-Match", otherETag).want(t, http.StatusOK)
		e.do("GET", page, other.ownerToken, nil, "If-None-Match", etag).want(t, http.StatusOK)

		// "*" matches any page, and the page's ETag among others matches.
		e.do("GET", page, o.ownerToken, nil, "If-None-Match", "*").want(t, http.StatusNotModified)
		stale := strings.Replace(etag, `"l`, `"l99`, 1)
		e.do("GET", page, o.ownerToken, nil, "If-None-Match", stale+", "+etag).want(t, http.StatusNotModified)
		e.do("GET", fmt.Sprintf("/api/v1/users/%d", o.admin.ID), o.ownerToken, nil, "If-None-Match", "*").
			want(t, http.StatusNotModified)

		// Several header lines are one list of ETags.
		req, err := http.NewRequest("GET", e.srv.URL+page, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+o.ownerToken)
		req.Header.Add("If-None-Match", `"other"`)
		req.Header.Add("If-None-Match", etag)
		lines, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		lines.Body.Close()
		if lines.StatusCode != http.StatusNotModified {
			t.Errorf("If-None-Match in two lines, the second the page's ETag: %d; want 304", lines.StatusCode)
		}
	})
}
