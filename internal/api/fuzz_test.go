package api_test

// Fuzz targets of the API's request bodies (invitation, user patch, team,
// license total, Send As) and of the user list's query. Each sends the
// fuzzer's bytes to the API on SQLite with the Owner's token and requires
// that nothing answers 5xx, that every refusal is a problem, that a body
// the API takes was valid text in every string (decode's promise), and that
// what was saved is a valid name.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/muster-app/muster/internal/api"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/secret"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/testsupport/storetest"
	"github.com/muster-app/muster/internal/web"
)

// fuzzAPI is the API on a fresh SQLite store with an Owner's token.
type fuzzAPI struct {
	h     http.Handler
	svc   *service.Service
	owner context.Context
	token string
	team  int64
	user  int64 // a Pending user to patch
}

func newFuzzAPI(tb testing.TB) *fuzzAPI {
	tb.Helper()
	db := storetest.OpenSQLite(tb)
	a := &fuzzAPI{svc: service.New(db, service.Config{BaseURL: "https://muster.example.com",
		Links: web.NewLinks("https://muster.example.com"), PasswordParams: secret.TestParams})}
	a.h = api.New(a.svc, slog.New(slog.DiscardHandler))
	setup, err := a.svc.CreateOrg(muster.NewContext(context.Background(), muster.Principal{Origin: "test"}),
		service.NewOrg{Name: "Acme", LicenseTotal: service.MaxLicenseTotal, OwnerEmail: "owner@example.com",
			OwnerFirstName: "Olive", OwnerLastName: "Owner"})
	if err != nil {
		tb.Fatal(err)
	}
	token := setup.SetupURL[strings.LastIndex(setup.SetupURL, "/")+1:]
	if _, err := a.svc.AcceptInvitation(context.Background(), token, "a long enough secret", service.Client{IP: "192.0.2.1", Origin: "test"}); err != nil {
		tb.Fatal(err)
	}
	a.owner = muster.NewContext(context.Background(), muster.Principal{UserID: setup.Owner.ID, OrgID: setup.Org.ID, Origin: "test"})
	if _, err := a.svc.SetEmailAtScale(a.owner, true); err != nil {
		tb.Fatal(err)
	}
	tok, err := a.svc.CreateAPIToken(a.owner, "fuzz", time.Time{})
	if err != nil {
		tb.Fatal(err)
	}
	a.token = tok.Secret
	listed, err := a.svc.Teams(a.owner, service.TeamListQuery{})
	if err != nil {
		tb.Fatal(err)
	}
	teams := listed.Teams
	a.team = teams[0].ID
	res, err := a.svc.Invite(a.owner, service.InviteInput{FirstName: "Tess", LastName: "Target", Email: "tess@example.com",
		Role: muster.RoleBasic, PrimaryTeamID: a.team})
	if err != nil {
		tb.Fatal(err)
	}
	a.user = res.User.ID
	return a
}

// send sends body to the API and checks what every answer must be: no
// 5xx, a refusal as a problem, and a body taken only if all its strings
// are valid text. It returns the status and the response body.
func (a *fuzzAPI) send(t *testing.T, method, target string, body []byte, header ...string) (int, []byte) {
	t.Helper()
	path, query, _ := strings.Cut(target, "?")
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.URL.RawQuery = query // as sent, whatever its bytes
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+a.token)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1]) // as sent, whatever its bytes
	}
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	switch {
	case rec.Code >= 500:
		t.Fatalf("%s %s %q: %d %s", method, target, body, rec.Code, rec.Body)
	case rec.Code >= 400:
		if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("%s %s %q: %d with Content-Type %q; want a problem", method, target, body, rec.Code, ct)
		}
	case body != nil:
		if !utf8.Valid(body) {
			t.Fatalf("%s %s %q: %d, but the body is not UTF-8", method, target, body, rec.Code)
		}
		var v any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("%s %s %q: %d, but the body is not JSON: %v", method, target, body, rec.Code, err)
		}
		if s, bad := badString(v); bad {
			t.Fatalf("%s %s %q: %d, but it holds %q", method, target, body, rec.Code, s)
		}
	}
	return rec.Code, rec.Body.Bytes()
}

// badString finds a string in a decoded JSON value (keys too) that is not
// valid text.
func badString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, muster.TextProblem(x) != ""
	case []any:
		for _, e := range x {
			if s, bad := badString(e); bad {
				return s, true
			}
		}
	case map[string]any:
		for k, e := range x {
			if muster.TextProblem(k) != "" {
				return k, true
			}
			if s, bad := badString(e); bad {
				return s, true
			}
		}
	}
	return "", false
}

// saved decodes a resource the API answered with and checks its names.
func saved(t *testing.T, body []byte, names ...string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("answer %s: %v", body, err)
	}
	for _, n := range names {
		if s, ok := v[n].(string); ok {
			if p := muster.NameProblem(s); p != "" {
				t.Fatalf("saved %s %q, which %s", n, s, p)
			}
		}
	}
	return v
}

// bodySeeds are a valid body and, in each of its string properties, the
// issue's bad bytes (raw and escaped) and lookalikes.
func bodySeeds(f *testing.F, valid map[string]any) {
	j, err := json.Marshal(valid)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(j)
	for k, v := range valid {
		if _, ok := v.(string); !ok {
			continue
		}
		for _, bad := range []string{`\u0000`, "Bad\xff\xfeName", `Default\u200bTeam`, `Evil\u202eeman`, `a\u2028b`, `\ud800`, "x\xc3"} {
			b := map[string]any{}
			for k2, v2 := range valid {
				b[k2] = v2
			}
			b[k] = "\u2603"
			j, err := json.Marshal(b)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(bytes.Replace(j, []byte("\u2603"), []byte(bad), 1))
		}
	}
	for _, s := range []string{"", "{}", "null", "[]", `{"x":1}`, "{\"first_name\":\"a\"} {}", `{"first_name":1}`,
		`{"first_name":null}`, `{"FIRST_NAME":"a"}`, `{"first_name":"a","first_name":"b"}`, `{"a":{"b":null}}`} {
		f.Add([]byte(s))
	}
}

func FuzzInviteJSON(f *testing.F) {
	a := newFuzzAPI(f)
	bodySeeds(f, map[string]any{"first_name": "Ivy", "last_name": "Invitee", "email": "ivy@example.com", "role": "basic",
		"primary_team_id": a.team, "secondary_team_ids": []int64{a.team}})
	f.Fuzz(func(t *testing.T, body []byte) {
		status, res := a.send(t, "POST", "/api/v1/users", body)
		if status != http.StatusCreated {
			return
		}
		u := saved(t, res, "first_name", "last_name", "email")
		if _, err := a.svc.Withdraw(a.owner, int64(u["id"].(float64))); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzUserPatchJSON(f *testing.F) {
	a := newFuzzAPI(f)
	bodySeeds(f, map[string]any{"first_name": "Tessa", "last_name": "Target", "role": "manager",
		"primary_team_id": a.team, "secondary_team_ids": []int64{}})
	path := fmt.Sprintf("/api/v1/users/%d", a.user)
	f.Fuzz(func(t *testing.T, body []byte) {
		if status, res := a.send(t, "PATCH", path, body); status == http.StatusOK {
			saved(t, res, "first_name", "last_name")
		}
	})
}

func FuzzTeamJSON(f *testing.F) {
	a := newFuzzAPI(f)
	bodySeeds(f, map[string]any{"name": "Sales"})
	f.Fuzz(func(t *testing.T, body []byte) {
		status, res := a.send(t, "POST", "/api/v1/teams", body)
		if status != http.StatusCreated {
			return
		}
		team := saved(t, res, "name")
		if _, err := a.svc.RemoveTeam(a.owner, int64(team["id"].(float64)), 0); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzLicenseJSON(f *testing.F) {
	a := newFuzzAPI(f)
	bodySeeds(f, map[string]any{"total": 25})
	for _, s := range []string{`{"total":0}`, `{"total":-1}`, `{"total":1e3}`, `{"total":"25"}`, `{"total":99999999999999999999}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		a.send(t, "PUT", "/api/v1/license", body)
	})
}

func FuzzSendAsJSON(f *testing.F) {
	a := newFuzzAPI(f)
	bodySeeds(f, map[string]any{"from_name": "Support", "from_email": "support@example.com", "reply_to_name": "Help",
		"reply_to_email": "help@example.com", "user_ids": []int64{}, "select_all": true})
	f.Fuzz(func(t *testing.T, body []byte) {
		status, res := a.send(t, "POST", "/api/v1/send-as", body)
		if status != http.StatusCreated {
			return
		}
		p := saved(t, res, "from_name", "from_email", "reply_to_name", "reply_to_email")
		if _, err := a.svc.DeleteSendAs(a.owner, int64(p["id"].(float64)), 0); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzUserListQuery sends the fuzzer's query string to the user list:
// every parameter it reads (q, cursor, status, role, team_id, limit) is
// checked before the service sees it.
func FuzzUserListQuery(f *testing.F) {
	a := newFuzzAPI(f)
	for _, q := range []string{"", "q=ol", "q=%00", "q=ab%00cd", "q=%ff", "cursor=MToA_w", "cursor=MTr_", "cursor=MTpvbGl2ZSBvd25lcg",
		"status=active&role=owner&team_id=1&limit=2", "limit=-1", "team_id=x", "q=%E2%80%AE", "q=a&q=%00", "%zz"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, query string) {
		a.send(t, "GET", "/api/v1/users?"+query, nil)
	})
}

// FuzzTeamListQuery sends the fuzzer's query string to the team list:
// every parameter it reads (q, cursor, limit) is checked before the
// service sees it.
func FuzzTeamListQuery(f *testing.F) {
	a := newFuzzAPI(f)
	for _, q := range []string{"", "q=eng", "q=%00", "q=%ff", "cursor=e30", "cursor=eyJkIjp0cnVlfQ", "cursor=eyJrIjoiYSJ9&limit=1",
		"cursor=!!!", "limit=-1", "limit=x", "limit=99999999999999999999", "q=%E2%80%AE", "q=a&q=%00", "%zz"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, query string) {
		a.send(t, "GET", "/api/v1/teams?"+query, nil)
	})
}

// FuzzUserListIfNoneMatch sends the fuzzer's If-None-Match with a page of
// the user list, which nothing changes meanwhile: no 5xx, refusals are
// problems, and a 304 (with no body) only to a header that holds the
// page's ETag as the API wrote it, or "*".
func FuzzUserListIfNoneMatch(f *testing.F) {
	a := newFuzzAPI(f)
	const page = "/api/v1/users?limit=2"
	req := httptest.NewRequest("GET", page, nil)
	req.Header.Set("Authorization", "Bearer "+a.token)
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, req)
	etag := rec.Header().Get("ETag")
	tag := strings.TrimPrefix(etag, "W/")
	if rec.Code != http.StatusOK || !strings.HasPrefix(tag, `"l`) {
		f.Fatalf("GET %s: %d, ETag %q; want 200 and a list ETag", page, rec.Code, etag)
	}
	for _, s := range []string{"", etag, tag, `"x", ` + etag, etag + "," + etag, "*", `"v1"`, `"l0` + tag[2:],
		`"l+` + tag[2:], `"l99999999999999999999` + tag[strings.Index(tag, "-"):], tag + "\x00", "W/\xff" + tag, "W/*", " * "} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		status, body := a.send(t, "GET", page, nil, "If-None-Match", header)
		star := slices.ContainsFunc(strings.Split(header, ","), func(t string) bool { return strings.TrimSpace(t) == "*" })
		if status == http.StatusNotModified && (len(body) != 0 || !(strings.Contains(header, tag) || star)) {
			t.Fatalf("If-None-Match %q: 304 with %q; want 304 only to the page's ETag %s, and no body", header, body, etag)
		}
	})
}
