package api_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/muster-app/muster/internal/muster"
)

// TestErrorFieldsAreRequestProperties provokes every field error of every
// operation with a request body and checks that each problem's
// errors[].field names a property of that body (env.validate checks the
// names of every problem of every test; this one makes sure each field the
// service can name is provoked).
func TestErrorFieldsAreRequestProperties(t *testing.T) {
	runStores(t, func(t *testing.T, e *env) {
		o := e.org
		ownerCtx := muster.NewContext(context.Background(), muster.Principal{UserID: o.owner.ID, OrgID: o.owner.OrgID, Origin: "test"})
		if _, err := e.svc.SetEmailAtScale(ownerCtx, true); err != nil {
			t.Fatal(err)
		}
		long := strings.Repeat("x", 101)
		var perm struct{ ID int64 }
		e.do("POST", "/api/v1/send-as", o.ownerToken, map[string]any{"from_name": "News", "from_email": email("news"),
			"user_ids": []int64{o.manager.ID}}).want(t, 201).decode(t, &perm)
		var withdrawn struct{ ID int64 }
		e.do("POST", "/api/v1/users", o.ownerToken, map[string]any{"first_name": "Wes", "last_name": "Gone",
			"email": email("wes"), "role": "basic", "primary_team_id": o.defaultTeam}).want(t, 201).decode(t, &withdrawn)
		e.do("POST", fmt.Sprintf("/api/v1/users/%d/withdraw", withdrawn.ID), o.ownerToken, nil).want(t, 204)
		cases := []struct {
			method, path, token string
			body                map[string]any
			want                []string // the fields named
		}{
			{"POST", "/api/v1/users", o.ownerToken, map[string]any{"first_name": "", "last_name": long, "email": "no at",
				"role": "chief", "primary_team_id": 0}, []string{"first_name", "last_name", "email", "role", "primary_team_id"}},
			{"POST", "/api/v1/users", o.ownerToken, map[string]any{"first_name": "A", "last_name": "B", "email": email("b"),
				"role": "basic", "primary_team_id": 987654}, []string{"primary_team_id"}},
			{"POST", "/api/v1/users", o.ownerToken, map[string]any{"first_name": "A", "last_name": "B", "email": email("b"),
				"role": "basic", "primary_team_id": o.defaultTeam, "secondary_team_ids": []int64{987654}}, []string{"secondary_team_ids"}},
			{"POST", "/api/v1/users", o.adminToken, map[string]any{"first_name": "A", "last_name": "B", "email": email("b"),
				"role": "admin", "primary_team_id": o.defaultTeam}, []string{"role"}},
			{"POST", "/api/v1/users", o.ownerToken, map[string]any{"first_name": "A", "last_name": "B", "email": o.admin.Email,
				"role": "basic", "primary_team_id": o.defaultTeam}, []string{"email"}},
			{"PATCH", fmt.Sprintf("/api/v1/users/%d", o.manager.ID), o.ownerToken, map[string]any{"first_name": "",
				"last_name": long, "role": "chief"}, []string{"first_name", "last_name", "role"}},
			{"PATCH", fmt.Sprintf("/api/v1/users/%d", o.manager.ID), o.ownerToken, map[string]any{"primary_team_id": 987654},
				[]string{"primary_team_id"}},
			{"PATCH", fmt.Sprintf("/api/v1/users/%d", o.manager.ID), o.ownerToken, map[string]any{"secondary_team_ids": []int64{987654}},
				[]string{"secondary_team_ids"}},
			{"POST", "/api/v1/teams", o.ownerToken, map[string]any{"name": " "}, []string{"name"}},
			{"POST", "/api/v1/teams", o.ownerToken, map[string]any{"name": "default team"}, []string{"name"}},
			{"PUT", "/api/v1/license", o.ownerToken, map[string]any{"total": 0}, []string{"total"}},
			{"PUT", "/api/v1/license", o.ownerToken, map[string]any{"total": 1}, []string{"total"}},
			{"POST", "/api/v1/send-as", o.ownerToken, map[string]any{"from_name": "", "from_email": "x", "reply_to_name": "",
				"reply_to_email": "y"}, []string{"from_name", "from_email", "reply_to_name", "reply_to_email"}},
			{"POST", "/api/v1/send-as", o.ownerToken, map[string]any{"from_name": "N", "from_email": email("n"),
				"user_ids": []int64{987654}}, []string{"user_ids"}},
			{"PUT", fmt.Sprintf("/api/v1/send-as/%d", perm.ID), o.ownerToken, map[string]any{"from_name": "N",
				"from_email": email("n"), "user_ids": []int64{withdrawn.ID}}, []string{"user_ids"}},
			{"POST", "/api/v1/ownership-transfers", o.ownerToken, map[string]any{"user_id": o.admin.ID, "password": "wrong"},
				[]string{"password"}},
		}
		for _, c := range cases {
			res := e.do(c.method, c.path, c.token, c.body)
			var p struct{ Errors []struct{ Field string } }
			res.decode(t, &p)
			got := map[string]bool{}
			for _, f := range p.Errors {
				got[f.Field] = true
			}
			for _, f := range c.want {
				if !got[f] {
					t.Errorf("%s %s %v: %d %s; want errors[].field %q", c.method, c.path, c.body, res.status, res.body, f)
				}
			}
		}
	})
}
