package web_test

// Bad bytes at the console's edge (issue 16), on both stores: every form
// and every query the console reads refuses NUL and invalid UTF-8 with a
// 400 page (names also refuse text-direction and invisible characters,
// with a field error), never a 500 (PostgreSQL's 22021), and writes
// nothing; a User-Agent is recorded cut between characters with bad bytes
// replaced; the user list exported as CSV stays UTF-8 (SQLite stored a name
// with invalid bytes as it came).

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/secret"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/sqlstore"
	"github.com/muster-app/muster/internal/testsupport/storetest"
	"github.com/muster-app/muster/internal/web"
)

// usersPath is the console's Roles & Access.
const usersPath = "/settings/roles-access"

// attack is a bad value sent in place of a good one.
type attack struct{ name, value string }

var (
	// textAttacks are refused in every input.
	textAttacks = []attack{{"NUL", "\x00"}, {"NUL inside", "ab\x00cd"}, {"invalid UTF-8", "Bad\xff\xfeName"},
		{"cut UTF-8", "é"[:1]}, {"control", "x\x1by"}}
	// nameAttacks are refused in names besides.
	nameAttacks = []attack{{"bidi override", "Evil\u202eeman"}, {"zero-width space", "Default\u200bTeam"},
		{"line separator", "A\u2028B"}}
)

// isName reports whether a console input holds a name.
func isName(input string) bool {
	return strings.HasSuffix(input, "name") || input == "org"
}

// consoleForm is a form of the console: where it posts and a valid filling
// of it; ok is the status the valid form gets.
type consoleForm struct {
	path string
	form func() url.Values
	ok   int
	// undo, if set, puts things back after the valid form.
	undo func()
}

func TestBadBytesConsole(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			s := newSiteOn(t, storetest.Open(t, dialect))
			password := "owner's long password"
			ownerEmail := fmt.Sprintf("owner.%s@example.com", dialect)
			owner, b := s.createOrg("Acme", "Olive", "Owner", ownerEmail, password)
			ctx := muster.NewContext(context.Background(), muster.Principal{UserID: owner.ID, OrgID: owner.OrgID, Origin: "test"})
			if _, err := s.svc.SetEmailAtScale(ctx, true); err != nil {
				t.Fatal(err)
			}
			def := s.defaultTeam(ctx)
			sales, err := s.svc.CreateTeam(ctx, "Sales")
			if err != nil {
				t.Fatal(err)
			}
			tess := s.invite(ctx, "Tess", "Target", "tess@example.com", muster.RoleBasic)
			perm, err := s.svc.CreateSendAs(ctx, service.SendAsInput{FromName: "News", FromEmail: "news@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			ada := s.invite(ctx, "Ada", "Admin", "ada@example.com", muster.RoleAdmin)
			s.join("ada@example.com", "ada's long password")
			s.invite(ctx, "Nina", "New", "nina@example.com", muster.RoleBasic)
			invitationLink := s.deliver("nina@example.com").Link("/invitations/")

			hook, err := s.svc.CreateWebhook(ctx, service.WebhookInput{URL: "https://hooks.example.com/muster"})
			if err != nil {
				t.Fatal(err)
			}
			seq := 0
			unique := func(prefix string) string { seq++; return fmt.Sprintf("%s%d", prefix, seq) }
			forms := []consoleForm{
				{usersPath + "/users/invite", func() url.Values {
					return url.Values{"first_name": {"Ivy"}, "last_name": {"Invitee"}, "email": {unique("ivy") + "@example.com"},
						"role": {"basic"}, "primary_team": {fmt.Sprint(def.ID)}, "secondary_teams": {fmt.Sprint(sales.ID)}}
				}, http.StatusSeeOther, nil},
				{fmt.Sprintf("%s/users/%d/edit", usersPath, tess.ID), func() url.Values {
					return url.Values{"first_name": {"Tessa"}, "last_name": {"Target"}, "role": {"basic"},
						"primary_team": {fmt.Sprint(def.ID)}}
				}, http.StatusSeeOther, nil},
				{usersPath + "/teams", func() url.Values { return url.Values{"name": {unique("Team ")}} }, http.StatusSeeOther, nil},
				{fmt.Sprintf("%s/teams/%d/rename", usersPath, sales.ID), func() url.Values {
					return url.Values{"name": {unique("Sales ")}}
				}, http.StatusSeeOther, nil},
				{usersPath + "/send-as/new", func() url.Values {
					return url.Values{"step": {"save"}, "from_name": {"Support"}, "from_email": {unique("support") + "@example.com"},
						"different_reply_to": {"on"}, "reply_to_name": {"Help"}, "reply_to_email": {"help@example.com"}, "q": {"te"}}
				}, http.StatusSeeOther, nil},
				{fmt.Sprintf("%s/send-as/%d/edit", usersPath, perm.ID), func() url.Values {
					return url.Values{"step": {"save"}, "from_name": {unique("News ")}, "from_email": {"news@example.com"}}
				}, http.StatusSeeOther, nil},
				{"/settings/api-tokens", func() url.Values { return url.Values{"name": {unique("Sync ")}, "expires": {"30"}} }, http.StatusOK, nil},
				{"/settings/provisioning/tokens", func() url.Values { return url.Values{"name": {unique("Okta ")}} }, http.StatusOK, nil},
				{"/settings/organization/licenses", func() url.Values { return url.Values{"licenses": {"30"}} }, http.StatusSeeOther, nil},
				{"/settings/sso", func() url.Values {
					return url.Values{"issuer": {"https://idp.example.com"}, "client_id": {unique("muster-")},
						"client_secret": {"s3cret"}, "scopes": {"groups"}}
				}, http.StatusSeeOther, nil},
				{"/settings/sso/jit", func() url.Values { return url.Values{"jit": {"on"}} }, http.StatusSeeOther, nil},
				{"/settings/domains", func() url.Values { return url.Values{"domain": {unique("d") + ".example.com"}} }, http.StatusSeeOther, nil},
				// The email step of sign-in, and the recovery-code sign-in
				// (no code is right: SSO is not required).
				{"/signin", func() url.Values { return url.Values{"email": {ownerEmail}, "next": {"/settings"}} }, http.StatusOK, nil},
				{"/signin/recovery", func() url.Values {
					return url.Values{"email": {ownerEmail}, "password": {password}, "recovery_code": {"abcd-efgh-jkmn-pqrs"}}
				}, http.StatusUnauthorized, nil},
				{"/password-reset", func() url.Values { return url.Values{"email": {ownerEmail}} }, http.StatusOK, nil},
				{"/signin", func() url.Values {
					return url.Values{"email": {ownerEmail}, "password": {password}, "next": {"/settings"}}
				}, http.StatusSeeOther, nil},
				{"/settings/organization/transfer", func() url.Values {
					return url.Values{"to": {fmt.Sprint(ada.ID)}, "password": {password}}
				}, http.StatusSeeOther, func() {
					// Olive is the Owner again for the forms that follow.
					adaCtx := muster.NewContext(context.Background(), muster.Principal{UserID: ada.ID, OrgID: ada.OrgID, Origin: "test"})
					if _, err := s.svc.TransferOwnership(adaCtx, owner.ID, "ada's long password"); err != nil {
						t.Fatal(err)
					}
				}},
				{"/settings/webhooks", func() url.Values {
					return url.Values{"url": {"https://hooks.example.com/" + unique("muster")}, "description": {"HR sync"},
						"scope": {"some"}, "event_types": {"user.invited", "user.deactivated"}}
				}, http.StatusOK, nil},
				{fmt.Sprintf("/settings/webhooks/%d/edit", hook.Endpoint.ID), func() url.Values {
					return url.Values{"url": {"https://hooks.example.com/" + unique("muster")}, "description": {unique("HR ")},
						"scope": {"all"}}
				}, http.StatusSeeOther, nil},
				{fmt.Sprintf("/settings/webhooks/%d/redeliver-failed", hook.Endpoint.ID), func() url.Values {
					return url.Values{"since": {"2026-01-01T00:00"}}
				}, http.StatusSeeOther, nil},
				{fmt.Sprintf("/settings/webhooks/%d/rotate", hook.Endpoint.ID), func() url.Values {
					return url.Values{"overlap": {"24"}}
				}, http.StatusOK, nil},
				{"/account/password", func() url.Values {
					return url.Values{"current_password": {password}, "password": {password}}
				}, http.StatusSeeOther, nil},
				// Last: accepting uses the link up.
				{invitationLink, func() url.Values { return url.Values{"password": {"nina's long password"}} }, http.StatusSeeOther, nil},
			}
			attackForm := func(b *client, f consoleForm) {
				t.Helper()
				path := strings.TrimPrefix(f.path, s.srv.URL)
				for input := range f.form() {
					attacks := textAttacks
					if isName(input) {
						attacks = append(attacks[:len(attacks):len(attacks)], nameAttacks...)
					}
					for _, a := range attacks {
						form := f.form()
						form.Set(input, form.Get(input)+a.value)
						before := newestEvent(t, s, ctx)
						p := b.post(f.path, form)
						if p.StatusCode != http.StatusBadRequest && p.StatusCode != http.StatusUnprocessableEntity {
							t.Errorf("POST %s with %s in %s: %d; want 400 or 422\n%s", path, a.name, input, p.StatusCode, p.body)
						}
						if after := newestEvent(t, s, ctx); after.ID != before.ID {
							t.Errorf("POST %s with %s in %s wrote %s", path, a.name, input, after.Action)
						}
					}
					// A bad query refuses the form as well.
					if p := b.post(f.path+"?x=%00", f.form()); p.StatusCode != http.StatusBadRequest {
						t.Errorf("POST %s?x=%%00: %d; want 400", path, p.StatusCode)
					}
				}
				// The same form, valid, is taken.
				if p := b.post(f.path, f.form()); p.StatusCode != f.ok {
					t.Errorf("POST %s with a valid form: %d; want %d\n%s", path, p.StatusCode, f.ok, p.body)
				}
				if f.undo != nil {
					f.undo()
				}
			}
			for _, f := range forms {
				attackForm(b, f)
			}
			// The reset link's form ends every session: last, in a browser
			// of its own, with the newest link (the mail before it sent
			// first, so that it is the last email).
			s.deliver(ownerEmail)
			want(t, s.browser().post("/password-reset", url.Values{"email": {ownerEmail}}), http.StatusOK)
			attackForm(s.browser(), consoleForm{s.deliver(ownerEmail).Link("/password-reset/"), func() url.Values {
				return url.Values{"password": {password}}
			}, http.StatusSeeOther, nil})

			// What the console reads from a query.
			b = s.browser()
			want(t, b.signIn(ownerEmail, password), http.StatusSeeOther)
			for _, path := range []string{usersPath + "?q=", usersPath + "?status=", usersPath + "?role=", usersPath + "?after=",
				"/settings/audit-log?action=", "/settings/audit-log?actor=", "/settings/audit-log?from=",
				"/settings/audit-log.csv?action=", "/signin?next=/", "/signin/region?region=", "/settings/mailbox?before=",
				usersPath + "/users/invite?again=", "/account/sessions?notice=", "/settings/api-tokens?notice=", "/settings/provisioning?notice=",
				"/settings/organization/transfer?to=", fmt.Sprintf("/settings/webhooks/%d?state=", hook.Endpoint.ID),
				fmt.Sprintf("/settings/webhooks/%d?before=", hook.Endpoint.ID)} {
				for _, a := range textAttacks {
					target := path + url.QueryEscape(a.value)
					p := b.get(target)
					want(t, p, http.StatusBadRequest)
				}
			}
			// The page says which input and what is wrong with it.
			want(t, b.get(usersPath+"?q=%00"), http.StatusBadRequest, "The input “q” must not contain control characters.")
			want(t, b.post(usersPath+"/teams", url.Values{"name": {"T\xff"}}), http.StatusBadRequest,
				"The input “name” is not valid UTF-8 text.")
			// A name's lookalike characters get a field error on the form.
			want(t, b.post(usersPath+"/teams", url.Values{"name": {"Default\u200bTeam"}}), http.StatusUnprocessableEntity,
				"Team name must not contain invisible or text-direction characters (it holds U&#43;200B).")
			// The cursors, which decode to NUL and invalid UTF-8.
			for _, cursor := range []string{"MToA_w", "MTr_"} {
				if p := b.get(usersPath + "?after=" + cursor); p.StatusCode != http.StatusUnprocessableEntity {
					t.Errorf("users after=%s: %d; want 422", cursor, p.StatusCode)
				}
			}
		})
	}
}

// TestExportedCSVStaysUTF8: the invitation, first_name=Bad%ff%feName,
// is refused, and the user list exported afterwards is UTF-8 (SQLite
// stored the name as it came, and the CSV could not be read as UTF-8).
func TestExportedCSVStaysUTF8(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			s := newSiteOn(t, storetest.Open(t, dialect))
			owner, ctx := s.org()
			b := s.browser()
			want(t, b.signIn(owner.Email, ownerPassword), http.StatusSeeOther)
			body := "first_name=Bad%ff%feName&last_name=Name&email=bad%40example.com&role=basic&primary_team=" +
				fmt.Sprint(s.defaultTeam(ctx).ID)
			// As a browser sends it, without url.Values repairing anything.
			res, err := b.hc.Post(s.srv.URL+usersPath+"/users/invite", "application/x-www-form-urlencoded", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusBadRequest {
				t.Errorf("invite with first_name=Bad%%ff%%feName: %d; want 400", res.StatusCode)
			}
			if csv := userListCSV(t, s, ctx); !utf8.Valid(csv) {
				t.Fatalf("the user list is not UTF-8:\n%q", csv)
			}
		})
	}
}

// userListCSV runs a user-list report and returns the file.
func userListCSV(t *testing.T, s *site, ctx context.Context) []byte {
	t.Helper()
	rep, err := s.svc.RequestUserList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.RunNextReport(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, rc, err := s.svc.OpenReport(ctx, rep.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestBadBytesSetupForm: the first-run form refuses bad text in each input
// and creates nothing.
func TestBadBytesSetupForm(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			db := storetest.Open(t, dialect)
			srv := consoleOn(t, db)
			c := newClient(t, srv.URL, nil)
			for input := range validSetup() {
				attacks := textAttacks
				if isName(input) {
					attacks = append(attacks[:len(attacks):len(attacks)], nameAttacks...)
				}
				for _, a := range attacks {
					form := validSetup()
					form.Set(input, form.Get(input)+a.value)
					p := c.post("/setup", form)
					if p.StatusCode != http.StatusBadRequest && p.StatusCode != http.StatusUnprocessableEntity {
						t.Errorf("setup with %s in %s: %d; want 400 or 422\n%s", a.name, input, p.StatusCode, p.body)
					}
				}
			}
			if n := countOrgs(t, db); n != 0 {
				t.Fatalf("%d organizations after refused set-ups; want none", n)
			}
			want(t, c.post("/setup", validSetup()), http.StatusOK, "Muster is set up")
		})
	}
}

// TestUserAgentOfSignIn: the User-Agents, 299 ASCII bytes and "é"
// (cut in its middle at byte 300) and one with a raw 0xFF byte, sign in,
// and the session keeps valid text.
func TestUserAgentOfSignIn(t *testing.T) {
	long := strings.Repeat("a", 299)
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			t.Parallel()
			s := newSiteOn(t, storetest.Open(t, dialect))
			owner, ctx := s.org()
			for ua, stored := range map[string]string{long + "é": long, "Mozilla/5.0 \xff (X11; Linux)": "Mozilla/5.0 \uFFFD (X11; Linux)"} {
				b := s.browser()
				p := b.do("POST", "/signin", url.Values{"email": {owner.Email}, "password": {ownerPassword}},
					http.Header{"User-Agent": {ua}})
				want(t, p, http.StatusSeeOther)
				sessions, err := s.svc.Sessions(ctx)
				if err != nil {
					t.Fatal(err)
				}
				newest := sessions[0]
				for _, sess := range sessions {
					if sess.ID > newest.ID {
						newest = sess
					}
				}
				if newest.UserAgent != stored {
					t.Errorf("User-Agent %q stored as %q; want %q", ua, newest.UserAgent, stored)
				}
				want(t, b.get("/account/sessions"), http.StatusOK)
			}
		})
	}
}

// consoleOn serves the console on db, in mailbox mode.
func consoleOn(t *testing.T, db *sqlstore.DB) *httptest.Server {
	t.Helper()
	h, err := web.New(web.Config{
		Service: service.New(db, service.Config{BaseURL: baseURL, Links: web.NewLinks(baseURL), PasswordParams: secret.TestParams}),
		DB:      db, Log: slog.New(slog.DiscardHandler), Mailbox: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func countOrgs(t *testing.T, db *sqlstore.DB) int {
	t.Helper()
	var n int
	err := db.View(context.Background(), func(tx muster.Tx) error {
		var err error
		n, err = tx.CountOrgs(context.Background())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
