package web_test

// Fuzz targets of the console's forms: the invitation, the user edit, the
// Send As form's state and the first-run set-up. Each posts the fuzzer's
// body, as a browser would, to the console on SQLite with the Owner signed
// in, and requires that nothing answers 5xx, that a form the console takes
// held only valid text (muster.TextProblem: parseForm's promise), and that
// what was saved is valid text, names free of lookalike characters.

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/secret"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/testsupport"
	"github.com/muster-app/muster/internal/testsupport/storetest"
	"github.com/muster-app/muster/internal/web"
)

// fuzzConsole is the console on a fresh SQLite store, served in process.
type fuzzConsole struct {
	h       http.Handler
	svc     *service.Service
	owner   context.Context
	cookies []*http.Cookie
	team    int64
}

// newFuzzConsole opens the console; with an org, it has an Owner, signed
// in, and Email at Scale on.
func newFuzzConsole(tb testing.TB, withOrg bool) *fuzzConsole {
	tb.Helper()
	db := storetest.OpenSQLite(tb)
	c := &fuzzConsole{svc: service.New(db, service.Config{BaseURL: baseURL, Links: web.NewLinks(baseURL),
		PasswordParams: secret.TestParams, SecretBox: testsupport.SecretBox(tb)})}
	h, err := web.New(web.Config{Service: c.svc, DB: db, Log: slog.New(slog.DiscardHandler), Mailbox: true})
	if err != nil {
		tb.Fatal(err)
	}
	c.h = h
	if !withOrg {
		return c
	}
	setup, err := c.svc.CreateOrg(muster.NewContext(context.Background(), muster.Principal{Origin: "test"}),
		service.NewOrg{Name: "Acme", LicenseTotal: service.MaxLicenseTotal, OwnerEmail: "owner@example.com",
			OwnerFirstName: "Olive", OwnerLastName: "Owner"})
	if err != nil {
		tb.Fatal(err)
	}
	token := setup.SetupURL[strings.LastIndex(setup.SetupURL, "/")+1:]
	if _, err := c.svc.AcceptInvitation(context.Background(), token, ownerPassword, service.Client{IP: "192.0.2.1", Origin: "test"}); err != nil {
		tb.Fatal(err)
	}
	c.owner = muster.NewContext(context.Background(), muster.Principal{UserID: setup.Owner.ID, OrgID: setup.Org.ID, Origin: "test"})
	if _, err := c.svc.SetEmailAtScale(c.owner, true); err != nil {
		tb.Fatal(err)
	}
	listed, err := c.svc.Teams(c.owner, service.TeamListQuery{})
	if err != nil {
		tb.Fatal(err)
	}
	teams := listed.Teams
	c.team = teams[0].ID
	rec := c.post("/signin", url.Values{"email": {"owner@example.com"}, "password": {ownerPassword}}.Encode())
	if rec.Code != http.StatusSeeOther {
		tb.Fatalf("signing in: %d", rec.Code)
	}
	c.cookies = rec.Result().Cookies()
	return c
}

// post sends body, as it is, as a form.
func (c *fuzzConsole) post(path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", baseURL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, ck := range c.cookies {
		req.AddCookie(ck)
	}
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	return rec
}

// postChecked posts body and checks the edge's promise: no 5xx, and a form
// answered below 400 held only valid text. It returns the status.
func (c *fuzzConsole) postChecked(t *testing.T, path, body string) int {
	t.Helper()
	rec := c.post(path, body)
	if rec.Code >= 500 {
		t.Fatalf("POST %s %q: %d\n%s", path, body, rec.Code, rec.Body)
	}
	if rec.Code < 400 {
		form, err := url.ParseQuery(body)
		if err != nil {
			t.Fatalf("POST %s %q: %d, but the form does not parse: %v", path, body, rec.Code, err)
		}
		for name, vs := range form {
			for _, v := range append(vs, name) {
				if p := muster.TextProblem(v); p != "" {
					t.Fatalf("POST %s %q: %d, but %q %s", path, body, rec.Code, v, p)
				}
			}
		}
	}
	return rec.Code
}

// wantValidName fails unless each of names is a valid name.
func wantValidName(t *testing.T, what string, names ...string) {
	t.Helper()
	for _, n := range names {
		if p := muster.NameProblem(n); p != "" {
			t.Fatalf("%s saved %q, which %s", what, n, p)
		}
	}
}

// newest returns the newest audit event of action.
func (c *fuzzConsole) newest(t *testing.T, action string) *muster.AuditEvent {
	t.Helper()
	page, err := c.svc.FindAuditEvents(c.owner, service.AuditQuery{Action: action, Limit: 1})
	if err != nil || len(page.Events) == 0 {
		t.Fatalf("newest audit event: %v", err)
	}
	return page.Events[0]
}

// formSeeds are mutations of a valid form: the bad bytes and
// lookalikes in each of its inputs.
func formSeeds(f *testing.F, valid url.Values) {
	f.Add(valid.Encode())
	for input := range valid {
		for _, bad := range []string{"\x00", "Bad\xff\xfeName", "Default\u200bTeam", "Evil\u202eeman", "a\u2028b", "x\ty"} {
			v := url.Values{}
			for k, vs := range valid {
				v[k] = vs
			}
			v.Set(input, valid.Get(input)+bad)
			f.Add(v.Encode())
		}
	}
	f.Add("first_name=Bad%ff%feName")
	f.Add("%zz=1")
	f.Add("a=1;b=2")
}

func FuzzInviteForm(f *testing.F) {
	c := newFuzzConsole(f, true)
	formSeeds(f, url.Values{"first_name": {"Ivy"}, "last_name": {"Invitee"}, "email": {"ivy@example.com"},
		"role": {"basic"}, "primary_team": {fmt.Sprint(c.team)}})
	f.Fuzz(func(t *testing.T, body string) {
		if c.postChecked(t, "/settings/roles-access/users/invite", body) != http.StatusSeeOther {
			return
		}
		// The invitation's event: a new user, or a withdrawn one back.
		e := c.newest(t, "")
		if e.Action != muster.ActionUserInvited && e.Action != muster.ActionUserReinvited {
			t.Fatalf("POST %q: 303, newest event %s", body, e.Action)
		}
		u, err := c.svc.FindUser(c.owner, e.TargetID)
		if err != nil {
			t.Fatal(err)
		}
		wantValidName(t, "the invitation", u.FirstName, u.LastName, u.Email)
		// Withdrawn, so that the next invitation of the address is new.
		if _, err := c.svc.Withdraw(c.owner, u.ID); err != nil {
			t.Fatal(err)
		}
	})
}

func FuzzEditForm(f *testing.F) {
	c := newFuzzConsole(f, true)
	res, err := c.svc.Invite(c.owner, service.InviteInput{FirstName: "Tess", LastName: "Target", Email: "tess@example.com",
		Role: muster.RoleBasic, PrimaryTeamID: c.team})
	if err != nil {
		f.Fatal(err)
	}
	path := fmt.Sprintf("/settings/roles-access/users/%d/edit", res.User.ID)
	formSeeds(f, url.Values{"first_name": {"Tessa"}, "last_name": {"Target"}, "role": {"manager"},
		"primary_team": {fmt.Sprint(c.team)}, "secondary_teams": {fmt.Sprint(c.team)}})
	f.Add("first_name=A&last_name=B&remove_secondary=1")
	f.Add("first_name=A&last_name=B&add=1&add_secondary=" + fmt.Sprint(c.team))
	f.Fuzz(func(t *testing.T, body string) {
		if c.postChecked(t, path, body) >= 400 {
			return
		}
		u, err := c.svc.FindUser(c.owner, res.User.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantValidName(t, "the edit", u.FirstName, u.LastName)
	})
}

func FuzzSendAsForm(f *testing.F) {
	c := newFuzzConsole(f, true)
	formSeeds(f, url.Values{"step": {"save"}, "from_name": {"Support"}, "from_email": {"support@example.com"},
		"different_reply_to": {"on"}, "reply_to_name": {"Help"}, "reply_to_email": {"help@example.com"},
		"select_all": {"on"}, "q": {"ol"}})
	for _, step := range []string{"details", "assign", "save"} {
		f.Add("step=" + step + "&from_name=N&from_email=n%40example.com&q=ol&add=1&remove=all&choose_all=1")
	}
	f.Fuzz(func(t *testing.T, body string) {
		if c.postChecked(t, "/settings/roles-access/send-as/new", body) != http.StatusSeeOther {
			return
		}
		p, err := c.svc.SendAs(c.owner, c.newest(t, muster.ActionSendAsCreated).TargetID)
		if err != nil {
			t.Fatal(err)
		}
		wantValidName(t, "the permission", p.FromName, p.FromEmail, p.ReplyToName, p.ReplyToEmail)
		if _, err := c.svc.DeleteSendAs(c.owner, p.ID, 0); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzSetupForm posts the first-run form; once one has set Muster up, the
// others are refused after the same reading and checks.
func FuzzSetupForm(f *testing.F) {
	c := newFuzzConsole(f, false)
	formSeeds(f, validSetup())
	f.Fuzz(func(t *testing.T, body string) {
		if c.postChecked(t, "/setup", body) != http.StatusOK {
			return
		}
		form, _ := url.ParseQuery(body)
		wantValidName(t, "the set-up", muster.CleanName(form.Get("org")), muster.CleanName(form.Get("first_name")),
			muster.CleanName(form.Get("last_name")), strings.TrimSpace(form.Get("email")))
	})
}
