package web_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/pquerna/otp/totp"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

// TestSignInSecurityForm is the Owner's sign-in security on Settings →
// Organization: refused values are shown beside their inputs, a saved
// policy is said and shown, and an Admin sees it but cannot change it.
func TestSignInSecurityForm(t *testing.T) {
	s := newSite(t)
	_, ownerCtx := s.org()
	owner := s.browser()
	owner.signIn(s.ownerEmail, ownerPassword)
	want(t, owner.get("/settings/organization"), 200, "Sign-in security", "Not required", `value="7"`)
	want(t, owner.post("/settings/organization/sign-in-security", url.Values{"two_step": {"admins"}, "grace_days": {"x"}}),
		422, "Enter a number of days from 0 to 90.")
	want(t, owner.post("/settings/organization/sign-in-security", url.Values{"grace_days": {"3"}}),
		422, "Choose whom two-step verification is required of.")
	want(t, owner.follow(owner.post("/settings/organization/sign-in-security", url.Values{"two_step": {"admins"},
		"grace_days": {"3"}, "remember_browser": {"on"}})), 200,
		"Two-step verification is required of Owners and Admins for password sign-in.", `value="admins" checked`, `value="3"`, `name="remember_browser" checked`)

	// A new Admin, under the policy, is led from the invitation to
	// setting up two-step verification, which the grace period lets them
	// put off.
	s.invite(ownerCtx, "Adam", "Admin", "adam@example.com", muster.RoleAdmin)
	admin := s.browser()
	link := s.deliver("adam@example.com").Link("/invitations/")
	accepted := admin.post(link, url.Values{"password": {"adam's long password"}})
	wantRedirect(t, accepted, "/signin/two-step?next=%2Fwelcome")
	want(t, admin.follow(accepted), 200, "Not now")
	wantRedirect(t, admin.post("/signin/two-step/skip", url.Values{"next": {"/welcome"}}), "/welcome")
	want(t, admin.get("/settings/organization"), 200, "Required for Owners and Admins")
	p := admin.post("/settings/organization/sign-in-security", url.Values{"two_step": {"off"}, "grace_days": {"3"}})
	if p.StatusCode != http.StatusForbidden {
		t.Fatalf("an Admin's change of the policy: %d; want 403", p.StatusCode)
	}
}

// TestEnrolmentAtSignIn: past the grace period, the password leads only to
// setting up an authenticator app, which then completes the sign-in.
func TestEnrolmentAtSignIn(t *testing.T) {
	s := newSite(t)
	_, ownerCtx := s.org()
	if _, err := s.svc.SetTwoStepPolicy(ownerCtx, service.TwoStepPolicyInput{Scope: muster.TwoStepEveryone}); err != nil {
		t.Fatal(err)
	}
	b := s.browser()
	p := b.signIn(s.ownerEmail, ownerPassword)
	wantRedirect(t, p, "/signin/two-step")
	p = b.follow(p)
	want(t, p, 200, "your organization requires two-step verification", "Set it up to finish signing in.")
	if strings.Contains(p.body, "Not now") {
		t.Fatal("past the grace period, the page offers to skip enrolment")
	}
	if p := b.get("/settings/organization"); p.StatusCode != http.StatusSeeOther {
		t.Fatalf("with the password alone, Settings answered %d; want a redirect to sign in", p.StatusCode)
	}
	want(t, b.post("/signin/two-step/skip", nil), 403, "requires two-step verification")
	p = b.follow(b.post("/signin/two-step/totp", nil))
	m := regexp.MustCompile(`class="secret-value"[^>]*>([A-Z2-7 ]+)<`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("the set-up page shows no key:\n%s", p.body)
	}
	code, err := totp.GenerateCode(strings.ReplaceAll(m[1], " ", ""), s.now0())
	if err != nil {
		t.Fatal(err)
	}
	want(t, b.post("/signin/two-step/totp/confirm", url.Values{"code": {"000000"}}), 422, "That code is not right")
	want(t, b.post("/signin/two-step/totp/confirm", url.Values{"code": {code}}), 200, "Save these codes now")
	want(t, b.get("/settings/organization"), 200, "Sign-in security")
}

// TestResetTwoStepPage: the person's page offers an Admin the reset of a
// Manager's two-step verification, not of the Owner's nor their own.
func TestResetTwoStepPage(t *testing.T) {
	s := newSite(t)
	owner, ownerCtx := s.org()
	s.invite(ownerCtx, "Adam", "Admin", "adam@example.com", muster.RoleAdmin)
	admin := s.join("adam@example.com", "adam's long password")
	mary := s.invite(ownerCtx, "Mary", "Manager", "mary@example.com", muster.RoleManager)
	s.join("mary@example.com", "mary's long password")
	enrol := func(id, org int64) {
		ctx := muster.NewContext(context.Background(), muster.Principal{UserID: id, OrgID: org, Origin: "test"})
		en, err := s.svc.StartTOTP(ctx, "", service.Client{Origin: "test"})
		if err != nil {
			t.Fatal(err)
		}
		code, err := totp.GenerateCode(en.Secret, s.now0())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.svc.ConfirmTOTP(ctx, "", code, service.Client{Origin: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	enrol(owner.ID, owner.OrgID)
	enrol(mary.ID, owner.OrgID)

	marysPage := "/settings/roles-access/users/" + strconv.FormatInt(mary.ID, 10)
	want(t, admin.get(marysPage), 200, "Two-step verification", "Authenticator app", "Reset two-step verification")
	p := admin.get("/settings/roles-access/users/" + strconv.FormatInt(owner.ID, 10))
	want(t, p, 200, "Authenticator app")
	if strings.Contains(p.body, "Reset two-step verification") {
		t.Fatal("an Admin is offered to reset the Owner's two-step verification")
	}
	want(t, admin.get(marysPage+"/two-step-reset"), 200, "Reset Mary Manager&#39;s two-step verification?")
	want(t, admin.follow(admin.post(marysPage+"/two-step-reset", nil)), 200,
		"Mary Manager&#39;s two-step verification is reset; they were told by email.", "Off.")
	if msg := s.deliver("mary@example.com"); !strings.Contains(msg.Text, "reset your two-step verification") {
		t.Fatalf("Mary's email: %q", msg.Text)
	}
	p = admin.post("/settings/roles-access/users/"+strconv.FormatInt(owner.ID, 10)+"/two-step-reset", nil)
	if p.StatusCode != http.StatusForbidden {
		t.Fatalf("an Admin's reset of the Owner: %d; want 403", p.StatusCode)
	}
}
