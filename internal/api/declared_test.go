package api_test

import (
	"fmt"
	"net/http"
	"testing"
)

// TestRotateOverlapOutOfRange: an overlap_hours beyond the largest the API
// takes (168) is refused with 422 on overlap_hours, however large, and the
// endpoint's secret is not rotated. 5124096 hours is 2^64 ns and 25 minutes
// once multiplied into a time.Duration.
func TestRotateOverlapOutOfRange(t *testing.T) {
	runStores(t, func(t *testing.T, e *env) {
		o := e.org
		var hook struct{ ID, Version int64 }
		e.do("POST", "/api/v1/webhooks", o.ownerToken, map[string]any{"url": "http://127.0.0.1:1/x"}).want(t, 201).decode(t, &hook)
		for _, hours := range []int64{169, 2562048, 5124096, 1 << 40} {
			res := e.do("POST", fmt.Sprintf("/api/v1/webhooks/%d/rotate-secret", hook.ID), o.ownerToken,
				map[string]any{"overlap_hours": hours})
			if res.status != http.StatusUnprocessableEntity {
				t.Errorf("overlap_hours %d: %d %s; want 422", hours, res.status, res.body)
			}
		}
		var after struct{ Version int64 }
		e.do("GET", fmt.Sprintf("/api/v1/webhooks/%d", hook.ID), o.ownerToken, nil).want(t, 200).decode(t, &after)
		if after.Version != hook.Version {
			t.Errorf("the endpoint went from version %d to %d: a refused rotation rotated it", hook.Version, after.Version)
		}
	})
}

// TestBodyPropertiesAsDeclared: a body the OpenAPI document declares
// invalid is refused with 400 bad_request and changes nothing: a null where
// the property is not nullable (a PATCH would otherwise answer 200 and keep
// the value the client meant to clear), a property named in another case
// than the document's (encoding/json matches names case-insensitively), or a
// property given twice.
func TestBodyPropertiesAsDeclared(t *testing.T) {
	runStores(t, func(t *testing.T, e *env) {
		o := e.org
		var team struct{ ID int64 }
		e.do("POST", "/api/v1/teams", o.ownerToken, map[string]any{"name": "Second"}).want(t, 201).decode(t, &team)
		path := fmt.Sprintf("/api/v1/users/%d", o.manager.ID)
		e.do("PATCH", path, o.ownerToken, map[string]any{"secondary_team_ids": []int64{team.ID}}).want(t, 200)
		before := string(e.do("GET", path, o.ownerToken, nil).want(t, 200).body)
		for _, body := range []string{
			`{"secondary_team_ids": null}`,
			`{"first_name": null}`,
			`{"First_Name": "Case"}`,
			`{"ROLE": "basic"}`,
			`{"first_name": "Ann", "first_name": "Bea"}`,
		} {
			res := e.do("PATCH", path, o.ownerToken, body)
			if res.status != http.StatusBadRequest || res.problemCode(t) != "bad_request" {
				t.Errorf("PATCH %s: %d %s; want 400 bad_request", body, res.status, res.body)
			}
		}
		if after := string(e.do("GET", path, o.ownerToken, nil).want(t, 200).body); after != before {
			t.Errorf("refused bodies changed the user:\nbefore %s\nafter  %s", before, after)
		}
		// The same on a create.
		res := e.do("POST", "/api/v1/teams", o.ownerToken, `{"Name": "Third"}`)
		if res.status != http.StatusBadRequest {
			t.Errorf(`POST /api/v1/teams {"Name": …}: %d %s; want 400`, res.status, res.body)
		}
	})
}
