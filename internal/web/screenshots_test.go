package web_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/testsupport/browsertest"
)

// TestBrowserScreenshots loads every main page of the console, as the Owner
// of an organization of 60 people, at 1366×900 and at 390×844 (a phone),
// for a person to look at: it runs only with MUSTER_SCREENSHOTS=dir, where
// the pictures go. At the phone's size no page may scroll sideways.
func TestBrowserScreenshots(t *testing.T) {
	if os.Getenv("MUSTER_SCREENSHOTS") == "" {
		t.Skip("set MUSTER_SCREENSHOTS=dir to take the screenshots")
	}
	s := newSite(t)
	_, ownerCtx := s.org()
	if _, err := s.svc.SetLicenseTotal(ownerCtx, 70, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.SetEmailAtScale(ownerCtx, true); err != nil {
		t.Fatal(err)
	}
	var teams []*muster.Team
	for _, name := range []string{"Engineering", "Sales", "Customer Success", "Finance"} {
		team, err := s.svc.CreateTeam(ownerCtx, name)
		if err != nil {
			t.Fatal(err)
		}
		teams = append(teams, team)
	}
	firsts := []string{"Ada", "Bea", "Cyrus", "Dana", "Elif", "Farouk", "Grace", "Hiroshi", "Ines", "Jonas", "Kemal",
		"Lena", "Marguerite", "Nnamdi", "Oksana"}
	lasts := []string{"Lovelace", "Basic", "Okonkwo-Smith", "Nakamura", "Featherstonehaugh"}
	var people []*muster.User
	for i := range 60 {
		first, last := firsts[i%len(firsts)], lasts[(i/len(firsts)+i)%len(lasts)]
		role := []muster.Role{muster.RoleBasic, muster.RoleBasic, muster.RoleManager, muster.RoleBasic, muster.RoleAdmin}[i%5]
		res, err := s.svc.Invite(ownerCtx, service.InviteInput{FirstName: first, LastName: last,
			Email: fmt.Sprintf("%s.%s%d@example.com", strings.ToLower(first), strings.ToLower(last), i), Role: role,
			PrimaryTeamID: teams[i%len(teams)].ID, SecondaryTeamIDs: []int64{teams[(i+1)%len(teams)].ID}})
		if err != nil {
			t.Fatal(err)
		}
		people = append(people, res.User)
		if i%3 != 2 {
			s.join(res.User.Email, "a long enough password")
			s.advance(37 * 60e9)
		}
	}
	var gone *muster.User
	for _, u := range people[:6] {
		if u.ID%2 == 0 {
			if _, err := s.svc.Deactivate(ownerCtx, u.ID); err != nil && muster.ErrorCode(err) != muster.ECONFLICT {
				t.Fatal(err)
			} else if err == nil {
				gone = u
			}
		}
	}
	if gone == nil {
		t.Fatal("nobody was deactivated")
	}
	if _, err := s.svc.UpdateUser(ownerCtx, people[3].ID, service.UserUpdate{Role: ptr(muster.RoleManager),
		PrimaryTeamID: &teams[2].ID}); err != nil {
		t.Fatal(err)
	}
	news, err := s.svc.CreateSendAs(ownerCtx, service.SendAsInput{FromName: "Acme News", FromEmail: "news@acme.example",
		UserIDs: []int64{people[1].ID, people[7].ID}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.CreateAPIToken(ownerCtx, "HR sync", s.now0().AddDate(0, 3, 0)); err != nil {
		t.Fatal(err)
	}
	active := people[1]
	// Groups an identity provider pushed, enough for the Teams tab to
	// page them and offer its search.
	for i := range 56 {
		if _, err := s.svc.CreateTeam(ownerCtx, fmt.Sprintf("Okta group %02d", i)); err != nil {
			t.Fatal(err)
		}
	}

	for _, size := range []struct {
		name string
		w, h int64
	}{{"desktop", 1366, 900}, {"phone", 390, 844}} {
		t.Run(size.name, func(t *testing.T) {
			b := browsertest.Chromium(t)
			b.Viewport(size.w, size.h, size.w < 500)
			b.Open("sign-in", s.srv.URL+"/signin")
			b.SignIn(s.srv.URL, s.ownerEmail, ownerPassword)
			fits := func(name string) {
				t.Helper()
				if w := browsertest.Eval[int](b, `document.documentElement.scrollWidth`) - int(size.w); w > 0 {
					t.Errorf("%s scrolls sideways by %d px", name, w)
				}
			}
			look := func(name, path string) {
				t.Helper()
				b.Open(name, s.srv.URL+path)
				fits(path)
			}
			look("profile", "/")
			look("sessions", "/account/sessions")
			look("users", "/settings/roles-access")
			look("users by last sign-in", "/settings/roles-access?sort=last_sign_in&dir=desc&size=25")
			b.Click("users page 2", byButton("Next"))
			look("user page", fmt.Sprintf("/settings/roles-access/users/%d", active.ID))
			look("edit", fmt.Sprintf("/settings/roles-access/users/%d/edit", active.ID))
			look("invite", "/settings/roles-access/users/invite")
			b.Type("fill the form", "First Name", "Cyrus", "Last Name", "Again", "Email", people[2].Email)
			b.Click("invite refused", byButton("Invite"))
			look("invite again", fmt.Sprintf("/settings/roles-access/users/invite?again=%d", gone.ID))
			look("users pending", "/settings/roles-access?status=pending")
			b.Do("select all matching", chromedp.Click(browsertest.ByCheckbox("Select all 20 matching users")))
			b.Choose("With the selected users", "Resend invite")
			b.Click("bulk confirm", byButton("Continue"))
			look("users open menu", "/settings/roles-access")
			b.Do("open a menu", chromedp.Click(`(//*[starts-with(@aria-label, "Actions for ")])[3]`))
			b.Screenshot("users open menu, open")
			look("teams", "/settings/roles-access/teams")
			b.Click("teams page 2", byButton("Next"))
			b.Type("find a team", "Find a team", "group 1")
			b.Click("teams found", byButton("Search"))
			look("team remove", fmt.Sprintf("/settings/roles-access/teams/%d/remove", teams[1].ID))
			look("send as", "/settings/roles-access/send-as")
			look("send as new", "/settings/roles-access/send-as/new")
			look("send as edit", fmt.Sprintf("/settings/roles-access/send-as/%d/edit", news.ID))
			b.Click("send as assign", byButton("Next: Assign Users"))
			b.Load("send as assign, one taken off", chromedp.Click(`(//*[starts-with(@aria-label, "Remove ")])[1]`))
			fits("Assign Users")
			look("organization", "/settings/organization")
			look("audit log", "/settings/audit-log")
			look("audit log picker", "/settings/audit-log?actor_q=ada")
			look("api tokens", "/settings/api-tokens")
			b.Type("name the token", "Token name", "Payroll export "+size.name)
			b.Click("api token created", byButton("Create token"))
			b.Click("api token revoke", browsertest.ByButton("Revoke HR sync"))
			look("provisioning", "/settings/provisioning")
			look("single sign-on", "/settings/sso")
			look("mailbox", "/settings/mailbox")
			b.Click("mail", chromedp.Search(`(//td/a)[1]`))
			look("welcome", "/welcome")

			// Two-step verification, as one of the people (each size its
			// own, since it stays on).
			person := map[string]*muster.User{"desktop": people[1], "phone": people[7]}[size.name]
			p := b.Other("two-step")
			p.Viewport(size.w, size.h, size.w < 500)
			p.SignIn(s.srv.URL, person.Email, "a long enough password")
			p.Open("security", s.srv.URL+"/account/security")
			p.Click("authenticator app", byButton("Set up an authenticator app"))
			if w := browsertest.Eval[int](p, `document.documentElement.scrollWidth`) - int(size.w); w > 0 {
				t.Errorf("the authenticator app's page scrolls sideways by %d px", w)
			}
			key := strings.ReplaceAll(browsertest.Eval[string](p, `document.querySelector(".secret-value").textContent`), " ", "")
			code, err := totp.GenerateCode(key, s.now0())
			if err != nil {
				t.Fatal(err)
			}
			p.Type("the code", "Code from the app", code)
			p.Click("recovery codes", byButton("Turn on"))
			p.Click("security, on", byButton("I have saved them"))
			q := b.Other("second step")
			q.Viewport(size.w, size.h, size.w < 500)
			q.SignIn(s.srv.URL, person.Email, "a long enough password")
			q.Type("a wrong code", "Code", "123456")
			q.Click("second step refused", byButton("Verify"))

			// Required of everyone: a person without a factor is led to
			// set one up first.
			if _, err := s.svc.SetTwoStepPolicy(ownerCtx, service.TwoStepPolicyInput{Scope: muster.TwoStepEveryone,
				GraceDays: 7}); err != nil {
				t.Fatal(err)
			}
			e := b.Other("enrolment")
			e.Viewport(size.w, size.h, size.w < 500)
			e.SignIn(s.srv.URL, map[string]*muster.User{"desktop": people[6], "phone": people[9]}[size.name].Email,
				"a long enough password")
			if _, err := s.svc.SetTwoStepPolicy(ownerCtx, service.TwoStepPolicyInput{Scope: muster.TwoStepOff,
				GraceDays: 7}); err != nil {
				t.Fatal(err)
			}
			e.Sees("enrolment first", "Not now")
			look("user page, two-step on", fmt.Sprintf("/settings/roles-access/users/%d", person.ID))
		})
	}
}

func ptr[T any](v T) *T { return &v }

// now0 is the site's clock.
func (s *site) now0() time.Time { return time.UnixMicro(s.now.Load()) }
