package api_test

import (
	"fmt"
	"testing"
)

// TestWritesMustBeJSON: a write whose body is not declared JSON is refused
// with 415, as a problem, before it changes anything or claims its
// Idempotency-Key; a JSON one, in any of its spellings, goes through.
func TestWritesMustBeJSON(t *testing.T) {
	runStores(t, func(t *testing.T, e *env) {
		o := e.org
		teams := func() int {
			var list struct{ Data []any }
			e.do("GET", "/api/v1/teams", o.ownerToken, nil).want(t, 200).decode(t, &list)
			return len(list.Data)
		}
		before := teams()
		if before == 0 {
			t.Fatal("no teams listed; want the Default Team")
		}
		team := fmt.Sprintf("/api/v1/teams/%d", o.defaultTeam)
		for _, c := range []struct {
			method, path, contentType, body, accept string
		}{
			{"POST", "/api/v1/teams", "text/plain", `{"name":"Plain"}`, "Accept-Post"},
			{"POST", "/api/v1/teams", "application/x-www-form-urlencoded", `name=Form`, "Accept-Post"},
			{"POST", "/api/v1/teams", "multipart/form-data; boundary=x", "--x\r\n\r\n--x--", "Accept-Post"},
			{"POST", "/api/v1/teams", "", `{"name":"None"}`, "Accept-Post"},
			{"POST", "/api/v1/teams", "application/json; charset=iso-8859-1", `{"name":"Latin"}`, "Accept-Post"},
			{"POST", "/api/v1/teams", "application/jsonp", `{"name":"P"}`, "Accept-Post"},
			{"PATCH", team, "text/plain", `{"name":"Renamed"}`, "Accept-Patch"},
			{"PUT", "/api/v1/license", "text/plain", `{"license_total":3}`, ""},
		} {
			res := e.do(c.method, c.path, o.ownerToken, c.body, "Content-Type", c.contentType,
				"Idempotency-Key", "ct-"+c.contentType)
			res.want(t, 415)
			if code := res.problemCode(t); code != "unsupported_media_type" || res.header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s %s as %q: code %q, %s; want an unsupported_media_type problem", c.method, c.path, c.contentType,
					code, res.header.Get("Content-Type"))
			}
			if c.accept != "" && res.header.Get(c.accept) != "application/json" {
				t.Errorf("%s %s as %q: %s %q; want application/json", c.method, c.path, c.contentType, c.accept, res.header.Get(c.accept))
			}
		}
		if n := teams(); n != before {
			t.Fatalf("%d teams after the refused writes; want %d", n, before)
		}
		var renamed struct{ Name string }
		e.do("GET", team, o.ownerToken, nil).want(t, 200).decode(t, &renamed)
		if renamed.Name == "Renamed" {
			t.Fatal("a text/plain PATCH renamed the team")
		}

		// The refused request did not claim its key: the JSON one runs.
		e.do("POST", "/api/v1/teams", o.ownerToken, `{"name":"Plain"}`, "Idempotency-Key", "ct-text/plain").want(t, 201)
		for i, ct := range []string{"application/json; charset=utf-8", "Application/JSON", "application/vnd.muster+json"} {
			e.do("POST", "/api/v1/teams", o.ownerToken, fmt.Sprintf(`{"name":"JSON %d"}`, i), "Content-Type", ct).want(t, 201)
		}
		// A write without a body needs no Content-Type.
		e.do("POST", "/api/v1/reports", o.ownerToken, nil).want(t, 202)
	})
}
