package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

// TestConsoleWalkthrough follows the help pages without JavaScript: invite,
// teams, resend, withdraw, edit, deactivate, invite again, seats.
func TestConsoleWalkthrough(t *testing.T) {
	s := newSite(t)
	owner, ownerCtx := s.org()
	if _, err := s.svc.SetLicenseTotal(ownerCtx, 4, 0); err != nil {
		t.Fatal(err)
	}
	b := s.browser()
	want(t, b.signIn(owner.Email, ownerPassword), http.StatusSeeOther)
	home := b.get("/")
	want(t, home, 200, `<summary>Olive Owner</summary>`, `href="/settings">Settings</a>`, "<strong>1</strong> used", "<strong>4</strong> total", "<strong>3</strong> remaining")
	p := b.follow(b.get("/settings"))
	want(t, p, 200, "Roles &amp; Access", ">Users</a>", ">Teams</a>", "Invite a User", `aria-label="Download user list"`, "User Management")
	if strings.Contains(p.body, "Send As Permissions") {
		t.Fatal("the Send As tab shows without Email at Scale")
	}

	invite := func(first, email, role, primary string, secondaries ...string) page {
		f := url.Values{"first_name": {first}, "last_name": {"Tester"}, "email": {email}, "role": {role}, "primary_team": {primary}}
		f["secondary_teams"] = secondaries
		return b.post("/settings/roles-access/users/invite", f)
	}
	def := fmt.Sprint(s.defaultTeam(ownerCtx).ID)
	want(t, b.get("/settings/roles-access/users/invite"), 200, `<label for="first_name">First Name</label>`,
		`<label for="primary_team">Primary Team</label>`, "Secondary Teams", "Basic User", "Default Team")
	// Errors beside their fields, the form keeping what was typed.
	p = invite("", "not-an-email", "basic", def)
	want(t, p, 422, "First name is required.", "Enter an email address like name@example.com.", `value="not-an-email"`)
	p = b.follow(invite("Bella", "bella@example.com", "basic", def))
	want(t, p, 200, "Invitation sent to bella@example.com.", "Bella Tester", "Pending", `aria-label="Actions for Bella Tester"`, "Resend invite", "Withdraw")

	// Create Team; invite a Manager into it; Remove refused with the count.
	p = b.follow(b.post("/settings/roles-access/teams", url.Values{"name": {"Marketing"}}))
	want(t, p, 200, "Created the team Marketing.")
	marketing := findTeam(t, s, ownerCtx, "Marketing")
	if marketing == nil {
		t.Fatal("the team Marketing was not created")
	}
	want(t, b.post("/settings/roles-access/teams", url.Values{"name": {"marketing"}}), 409, "A team named &#34;Marketing&#34; already exists.")
	b.follow(invite("Max", "max@example.com", "manager", fmt.Sprint(marketing.ID)))
	want(t, b.get(fmt.Sprintf("/settings/roles-access/teams/%d/remove", marketing.ID)), 200, "Remove Marketing?")
	p = b.post(fmt.Sprintf("/settings/roles-access/teams/%d/remove", marketing.ID), nil)
	want(t, p, 409, "Marketing can&#39;t be removed: 1 user has it as their primary team.",
		fmt.Sprintf(`href="/settings/roles-access?team=%d"`, marketing.ID))

	// Resend: the old link dies.
	bella := findUser(t, s, ownerCtx, "bella@example.com")
	oldLink := s.deliver("bella@example.com").Link("/invitations/")
	p = b.follow(b.post(fmt.Sprintf("/settings/roles-access/users/%d/resend", bella.ID), nil))
	want(t, p, 200, "A new invitation was sent to bella@example.com.")
	want(t, s.browser().get(oldLink), http.StatusGone)

	// Withdraw, confirmed: seat freed, row gone.
	want(t, b.get(fmt.Sprintf("/settings/roles-access/users/%d/withdraw", bella.ID)), 200, "Withdraw the invitation of Bella Tester?", "seat is freed")
	p = b.follow(b.post(fmt.Sprintf("/settings/roles-access/users/%d/withdraw", bella.ID), nil))
	want(t, p, 200, "was withdrawn", "<strong>2</strong> used")
	if strings.Contains(p.body, "bella@example.com") {
		t.Fatal("a withdrawn user is still listed")
	}

	// Edit: role and teams, with × and Add.
	max := findUser(t, s, ownerCtx, "max@example.com")
	edit := fmt.Sprintf("/settings/roles-access/users/%d/edit", max.ID)
	want(t, b.get(edit), 200, `<label for="role">Role</label>`, `<label for="primary_team">Primary Team</label>`, "Add a secondary team")
	p = b.post(edit, url.Values{"role": {"basic"}, "primary_team": {fmt.Sprint(marketing.ID)}, "add_secondary": {def}, "add": {"1"}})
	want(t, p, 200, `aria-label="Remove Default Team"`)
	p = b.post(edit, url.Values{"role": {"basic"}, "primary_team": {fmt.Sprint(marketing.ID)}, "secondary_teams": {def}, "remove_secondary": {def}})
	if strings.Contains(p.body, `aria-label="Remove Default Team"`) {
		t.Fatal("× did not remove the secondary team")
	}
	p = b.follow(b.post(edit, url.Values{"role": {"basic"}, "primary_team": {fmt.Sprint(marketing.ID)}, "secondary_teams": {def}, "save": {"1"}}))
	want(t, p, 200, "Saved the changes to Max Tester.")
	if got := findUser(t, s, ownerCtx, "max@example.com"); got.Role != muster.RoleBasic || len(got.SecondaryTeamIDs) != 1 {
		t.Fatalf("after Save: %+v", got)
	}

	// Deactivate, confirmed; the person's next click lands on sign-in.
	maxBrowser := s.join("max@example.com", "max's long password")
	want(t, maxBrowser.get("/"), 200, "Max Tester")
	want(t, maxBrowser.get("/settings/roles-access"), http.StatusForbidden)
	want(t, b.get(fmt.Sprintf("/settings/roles-access/users/%d/deactivate", max.ID)), 200, "Deactivate Max Tester?", "sessions")
	p = b.follow(b.post(fmt.Sprintf("/settings/roles-access/users/%d/deactivate", max.ID), nil))
	want(t, p, 200, "Max Tester was deactivated.", "Invite again")
	if p := maxBrowser.get("/"); p.StatusCode != http.StatusSeeOther {
		t.Fatalf("deactivated user's next click: %d", p.StatusCode)
	}

	// Invite again: pre-filled with the previous role and teams.
	p = b.get(fmt.Sprintf("/settings/roles-access/users/invite?again=%d", max.ID))
	want(t, p, 200, "Invite again", `value="max@example.com" required class="w-l" autocomplete="off" maxlength="254" readonly`, `<option value="basic" selected>`,
		fmt.Sprintf(`<option value="%d" selected>Marketing</option>`, marketing.ID),
		fmt.Sprintf(`<input type="hidden" name="secondary_teams" value="%s">Default Team`, def))

	// Fill the seats and see the exact message.
	b.follow(invite("Cy", "cy@example.com", "basic", def))
	b.follow(invite("Di", "di@example.com", "basic", def))
	b.follow(invite("Ed", "ed@example.com", "basic", def))
	p = invite("Fay", "fay@example.com", "basic", def)
	want(t, p, http.StatusConflict, "No licenses remaining: 4 of 4 in use. Withdraw a pending invitation or deactivate a user to free one.",
		`value="fay@example.com"`, `<title>Error: Invite a User · Muster</title>`, `href="/settings/organization#licenses">Change license total</a>`)
	// At the limit, the counter and the form say so before the form is filled.
	want(t, b.get("/settings/roles-access/users/invite"), 200, `class="licenses full"`, "No licenses left",
		"this invitation will be refused until one is free")

	// Download user list: queued, and the page it was asked from, its
	// search kept, says it will be emailed.
	filtered := "/settings/roles-access?q=fay&status=pending"
	want(t, b.get(filtered), 200, `<input type="hidden" name="back" value="`+html.EscapeString(filtered)+`">`)
	res := b.post("/settings/roles-access/users/download", url.Values{"back": {filtered}})
	wantRedirect(t, res, filtered)
	want(t, b.follow(res), 200, "will be emailed to "+owner.Email)
}

func findUser(t *testing.T, s *site, ctx context.Context, email string) *muster.User {
	t.Helper()
	page, err := s.svc.FindUsers(ctx, service.UserQuery{Search: email})
	if err != nil || len(page.Users) != 1 {
		t.Fatalf("find %s: %v %v", email, page, err)
	}
	return page.Users[0]
}

// findTeam returns the team of ctx's org named name, or nil.
func findTeam(t *testing.T, s *site, ctx context.Context, name string) *muster.Team {
	t.Helper()
	listed, err := s.svc.Teams(ctx, service.TeamListQuery{Search: name, Limit: service.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	for _, tm := range listed.Teams {
		if tm.Name == name {
			return tm
		}
	}
	return nil
}

// newestEvent returns the newest audit event of ctx's org.
func newestEvent(t *testing.T, s *site, ctx context.Context) *muster.AuditEvent {
	t.Helper()
	page, err := s.svc.FindAuditEvents(ctx, service.AuditQuery{Limit: 1})
	if err != nil || len(page.Events) != 1 {
		t.Fatalf("newest audit event: %v, %v", page, err)
	}
	return page.Events[0]
}

func TestAuditLogPage(t *testing.T) {
	s := newSite(t)
	owner, ownerCtx := s.org()
	if _, err := s.svc.CreateTeam(ownerCtx, "Marketing"); err != nil {
		t.Fatal(err)
	}
	b := s.browser()
	want(t, b.signIn(owner.Email, ownerPassword), http.StatusSeeOther)
	want(t, b.get("/settings/audit-log"), 200, "Olive Owner created the team Marketing",
		"Olive Owner accepted the invitation and signed in", "created the organization Acme")
	p := b.get("/settings/audit-log?action=team.created")
	want(t, p, 200, "Olive Owner created the team Marketing")
	if strings.Contains(p.body, "created the organization") {
		t.Fatal("the action filter let other actions through")
	}
	want(t, b.get("/settings/audit-log?from=2000-01-01&to=2000-01-02"), 200, "No events match.")
	csv := b.get("/settings/audit-log.csv?action=team.created")
	want(t, csv, 200, "Time,Actor,Action,Target Type,Target,Before,After,Origin", "team.created")
}

// TestSettingsRefuseManagersAndBasicUsers walks every Settings page and
// action as a Manager and as a Basic User: each is refused and changes
// nothing; their header has no Settings item.
func TestSettingsRefuseManagersAndBasicUsers(t *testing.T) {
	s := newSite(t)
	owner, ownerCtx := s.sendAsOrg()
	team, err := s.svc.CreateTeam(ownerCtx, "Ops")
	if err != nil {
		t.Fatal(err)
	}
	perm, err := s.svc.CreateSendAs(ownerCtx, service.SendAsInput{FromName: "News", FromEmail: "news@acme.example"})
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range []muster.Role{muster.RoleManager, muster.RoleBasic} {
		email := string(role) + "@example.com"
		me := s.invite(ownerCtx, "Some", role.Label(), email, role)
		b := s.join(email, "a long enough secret")
		home := b.get("/")
		want(t, home, 200, "Some "+role.Label())
		if strings.Contains(home.body, `href="/settings"`) || strings.Contains(home.body, "remaining") {
			t.Fatalf("%s sees Settings or the license counter:\n%s", role, home.body)
		}
		before := newestEvent(t, s, ownerCtx)
		ids := map[string]int64{"user": owner.ID, "team": team.ID, "perm": perm.ID}
		for _, c := range []struct{ method, path string }{
			{"GET", "/settings/roles-access"}, {"GET", "/settings/roles-access/users/invite"},
			{"POST", "/settings/roles-access/users/invite"}, {"POST", "/settings/roles-access/users/download"},
			{"POST", fmt.Sprintf("/settings/roles-access/users/%d/resend", ids["user"])},
			{"GET", fmt.Sprintf("/settings/roles-access/users/%d/withdraw", ids["user"])},
			{"POST", fmt.Sprintf("/settings/roles-access/users/%d/deactivate", ids["user"])},
			{"GET", fmt.Sprintf("/settings/roles-access/users/%d/edit", ids["user"])},
			{"POST", fmt.Sprintf("/settings/roles-access/users/%d/edit", ids["user"])},
			{"GET", "/settings/roles-access/teams"}, {"POST", "/settings/roles-access/teams"},
			{"GET", fmt.Sprintf("/settings/roles-access/teams/%d/rename", ids["team"])},
			{"POST", fmt.Sprintf("/settings/roles-access/teams/%d/remove", ids["team"])},
			{"GET", "/settings/roles-access/send-as"}, {"GET", "/settings/roles-access/send-as/new"},
			{"POST", "/settings/roles-access/send-as/new"},
			{"GET", fmt.Sprintf("/settings/roles-access/send-as/%d/edit", ids["perm"])},
			{"POST", fmt.Sprintf("/settings/roles-access/send-as/%d/delete", ids["perm"])},
			{"GET", "/settings/audit-log"}, {"GET", "/settings/audit-log.csv"},
			{"GET", "/settings/api-tokens"}, {"POST", "/settings/api-tokens"},
			{"GET", "/settings/provisioning"}, {"POST", "/settings/provisioning/tokens"},
			{"POST", "/settings/provisioning/tokens/1/revoke"},
			{"GET", "/settings/mailbox"},
			// The confirmation pages, even of oneself.
			{"GET", fmt.Sprintf("/settings/roles-access/users/%d/deactivate", me.ID)},
			{"GET", fmt.Sprintf("/settings/roles-access/users/%d/withdraw", me.ID)},
			{"GET", fmt.Sprintf("/settings/roles-access/users/%d/two-step-reset", me.ID)},
			{"GET", fmt.Sprintf("/settings/organization/transfer?to=%d", me.ID)},
		} {
			var p page
			if c.method == "GET" {
				p = b.get(c.path)
			} else {
				p = b.post(c.path, url.Values{"name": {"x"}, "step": {"save"}, "from_name": {"x"}, "from_email": {"x@y.example"}})
			}
			if p.StatusCode != http.StatusForbidden && p.StatusCode != http.StatusNotFound {
				t.Errorf("%s: %s %s: %d; want refused", role, c.method, c.path, p.StatusCode)
			}
		}
		if after := newestEvent(t, s, ownerCtx); after.ID != before.ID {
			t.Fatalf("%s changed something: %+v", role, after)
		}
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	s := newSite(t)
	owner, _ := s.org()
	b := s.browser()
	want(t, b.signIn(owner.Email, ownerPassword), http.StatusSeeOther)
	p := b.do("POST", "/settings/roles-access/teams", url.Values{"name": {"Evil"}},
		http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {"https://evil.example"}})
	want(t, p, http.StatusForbidden)
	ownerCtx := muster.NewContext(context.Background(), muster.Principal{UserID: owner.ID, OrgID: owner.OrgID})
	if findTeam(t, s, ownerCtx, "Evil") != nil {
		t.Fatal("the cross-site POST created a team")
	}
}

func TestOrganizationSettings(t *testing.T) {
	s := newSite(t)
	owner, ownerCtx := s.org()
	b := s.browser()
	want(t, b.signIn(owner.Email, ownerPassword), http.StatusSeeOther)
	want(t, b.get("/settings/organization"), 200, "License total", "Email at Scale")
	want(t, b.post("/settings/organization/licenses", url.Values{"licenses": {"0"}}), 422, "from 1 to")
	want(t, b.follow(b.post("/settings/organization/licenses", url.Values{"licenses": {"25"}})), 200, "The license total is now 25.", "<strong>25</strong> total")
	p := b.follow(b.post("/settings/organization/email-at-scale", url.Values{"email_at_scale": {"on"}}))
	want(t, p, 200, "Email at Scale is on.")
	want(t, b.get("/settings/roles-access"), 200, "Send As Permissions")
	want(t, b.follow(b.post("/settings/organization/email-at-scale", nil)), 200, "Email at Scale is off.")

	s.invite(ownerCtx, "Ada", "Admin", "ada@example.com", muster.RoleAdmin)
	ada := s.join("ada@example.com", "ada's long password")
	want(t, ada.get("/settings/organization"), 200, "Only the Owner changes these settings.")
	want(t, ada.post("/settings/organization/licenses", url.Values{"licenses": {"99"}}), http.StatusForbidden, "Only the Owner can change the license total.")
	want(t, ada.post("/settings/organization/email-at-scale", url.Values{"email_at_scale": {"on"}}), http.StatusForbidden)
}

// TestOwnershipTransferInConsole: on Settings → Organization the Owner
// chooses an Active Admin, reads what the transfer does and confirms with
// their password; a wrong one changes nothing. Afterwards the former Owner
// sees the page as an Admin does, and the new Owner as the Owner (OWN-1).
func TestOwnershipTransferInConsole(t *testing.T) {
	s := newSite(t)
	owner, ownerCtx := s.org()
	b := s.browser()
	want(t, b.signIn(owner.Email, ownerPassword), http.StatusSeeOther)
	want(t, b.get("/settings/organization"), 200, "Transfer ownership", "Make someone an Admin first")

	s.invite(ownerCtx, "Ada", "Admin", "ada@example.com", muster.RoleAdmin)
	ada := s.join("ada@example.com", "ada's long password")
	page := b.get("/settings/organization")
	want(t, page, 200, "Transfer ownership", "New Owner", "Ada Admin &lt;ada@example.com&gt;")
	heir := regexp.MustCompile(`<option value="(\d+)">Ada Admin`).FindStringSubmatch(page.body)
	if heir == nil {
		t.Fatalf("no Ada in the New Owner choices:\n%s", page.body)
	}
	want(t, b.get("/settings/organization/transfer?to="+heir[1]), 200, "Make Ada Admin the Owner?",
		"You become an Admin", "Your password")
	want(t, b.post("/settings/organization/transfer", url.Values{"to": {heir[1]}, "password": {"not my password"}}),
		http.StatusForbidden, "That password is not right.")
	want(t, ada.get("/settings/organization"), 200, "Only the Owner changes these settings.")

	done := b.follow(b.post("/settings/organization/transfer", url.Values{"to": {heir[1]}, "password": {ownerPassword}}))
	want(t, done, 200, "Ada Admin is now the Owner of Acme. You are an Admin.", "Only the Owner changes these settings.")
	want(t, ada.get("/settings/organization"), 200, "License total", "Transfer ownership")
}

// TestAuditLogSentences: each event reads as a sentence, with only the
// fields it changed, before → after, in words (team names, not ids); the
// actor and target filters take a name, and a name that several people
// share offers them.
func TestAuditLogSentences(t *testing.T) {
	s := newSite(t)
	owner, ownerCtx := s.org()
	sales, err := s.svc.CreateTeam(ownerCtx, "Sales")
	if err != nil {
		t.Fatal(err)
	}
	mark := s.invite(ownerCtx, "Mark", "Manager", "mark@example.com", muster.RoleBasic)
	bea := s.invite(ownerCtx, "Bea", "Basic", "bea@example.com", muster.RoleBasic)
	s.join(bea.Email, "Bea's long password")
	s.invite(ownerCtx, "Bea", "Other", "bea.other@example.com", muster.RoleBasic)
	if _, err := s.svc.UpdateUser(ownerCtx, mark.ID, service.UserUpdate{Role: ptr(muster.RoleManager)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.UpdateUser(ownerCtx, mark.ID, service.UserUpdate{PrimaryTeamID: &sales.ID,
		SecondaryTeamIDs: &[]int64{s.defaultTeam(ownerCtx).ID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.Deactivate(ownerCtx, bea.ID); err != nil {
		t.Fatal(err)
	}
	b := s.browser()
	want(t, b.signIn(owner.Email, ownerPassword), http.StatusSeeOther)
	p := b.get("/settings/audit-log")
	want(t, p, 200, "Olive Owner deactivated Bea Basic", "Olive Owner changed Mark Manager&#39;s role from Basic User to Manager",
		"Olive Owner edited Mark Manager", "Primary team: Default Team → Sales", "Secondary teams: none → Default Team",
		"Olive Owner invited Mark Manager as a Basic User", "Bea Basic accepted the invitation and signed in")
	if strings.Contains(p.body, fmt.Sprintf("Primary team: %d", sales.ID)) {
		t.Error("a team is shown by its id")
	}
	// One person by name: filtered by them, and the export keeps the id.
	p = b.get("/settings/audit-log?target_q=mark")
	want(t, p, 200, "Olive Owner edited Mark Manager", fmt.Sprintf(`href="/settings/audit-log.csv?target=%d"`, mark.ID))
	if strings.Contains(p.body, "Bea Basic") {
		t.Error("the target filter let events about others through")
	}
	// Two people called Bea: choose one.
	want(t, b.get("/settings/audit-log?target_q=bea"), 200, "Several people match",
		fmt.Sprintf(`href="/settings/audit-log?target=%d"`, bea.ID))
	want(t, b.get("/settings/audit-log?target_q=nobody"), 422, "Nobody&#39;s name or email starts with")
}

// TestMailboxModeAndUserPage: without an email server the console says
// where invitations and user lists went, offers Copy invite link (which
// is audited and replaces the emailed link), lists an Admin's user lists
// with their download links, and shows the Mailbox's links as links; the
// user page shows a person and signs them out everywhere.
func TestMailboxModeAndUserPage(t *testing.T) {
	s := newSiteMailbox(t)
	owner, ownerCtx := s.org()
	ada := s.invite(ownerCtx, "Ada", "Admin", "ada@example.com", muster.RoleAdmin)
	s.join(ada.Email, "Ada's long password")
	b := s.browser()
	want(t, b.signIn(ada.Email, "Ada's long password"), http.StatusSeeOther)

	p := b.post("/settings/roles-access/users/invite", url.Values{"first_name": {"Pat"}, "last_name": {"Pending"},
		"email": {"pat@example.com"}, "role": {"basic"}, "primary_team": {fmt.Sprint(s.defaultTeam(ownerCtx).ID)}})
	want(t, b.follow(p), 200, "The invitation to pat@example.com is waiting in the Mailbox", "Copy invite link")
	pat := findUser(t, s, ownerCtx, "pat@example.com")
	emailed := s.deliver("pat@example.com").Link("/invitations/")
	p = b.post(fmt.Sprintf("/settings/roles-access/users/%d/invite-link", pat.ID), nil)
	want(t, p, 200, "Invitation link of Pat Pending", `data-copy="invite-link"`, s.srv.URL+"/invitations/")
	if e := newestEvent(t, s, ownerCtx); e.Action != muster.ActionInviteLinkCopied || e.ActorID != ada.ID {
		t.Fatalf("newest event after Copy invite link: %s by %d", e.Action, e.ActorID)
	}
	want(t, s.browser().get(emailed), http.StatusGone)

	// The Admin's user list: listed with its link once done.
	want(t, b.follow(b.post("/settings/roles-access/users/download", nil)), 200,
		"its download link will be listed on this tab when it is ready")
	for {
		ran, err := s.svc.RunNextReport(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !ran {
			break
		}
	}
	p = b.get("/settings/roles-access")
	want(t, p, 200, "Your user lists", "Download the User list of")
	link := regexp.MustCompile(`href="(/reports/\d+/download)"`).FindStringSubmatch(p.body)
	if link == nil {
		t.Fatalf("no download link on the Users tab:\n%s", p.body)
	}
	want(t, b.get(link[1]), 200, "First Name,Last Name,Email")

	// The Owner's Mailbox shows the invitation's link as a link.
	olive := s.browser()
	want(t, olive.signIn(owner.Email, ownerPassword), http.StatusSeeOther)
	mailbox := olive.get("/settings/mailbox")
	msg := regexp.MustCompile(`href="(/settings/mailbox/\d+)"`).FindStringSubmatch(mailbox.body)
	want(t, olive.get(msg[1]), 200, `<a href="`+s.srv.URL+`/`)

	// The user page, and Sign out everywhere.
	adaOther := s.browser()
	want(t, adaOther.signIn(ada.Email, "Ada's long password"), http.StatusSeeOther)
	p = olive.get(fmt.Sprintf("/settings/roles-access/users/%d", ada.ID))
	want(t, p, 200, "Ada Admin", "Status history", "Olive Owner invited Ada Admin as an Admin", "Sign out everywhere",
		"Ada Admin invited Pat Pending as a Basic User", "Ada Admin copied the invitation link of Pat Pending")
	p = olive.follow(olive.post(fmt.Sprintf("/settings/roles-access/users/%d/sign-out", ada.ID), nil))
	want(t, p, 200, "Ada Admin is signed out everywhere", "Not signed in anywhere.")
	if p := adaOther.get("/"); p.StatusCode != http.StatusSeeOther {
		t.Fatalf("Ada's session survived Sign out everywhere: %d", p.StatusCode)
	}
	if e := newestEvent(t, s, ownerCtx); e.Action != muster.ActionSessionsEnded || e.TargetID != ada.ID {
		t.Fatalf("newest event: %s about %d", e.Action, e.TargetID)
	}
}

// TestTeamSelects: every select of teams (the Users tab's filter and bulk
// action, the invite and edit forms' Primary Team and "Add a secondary
// team", a removal's "Move them to") lists each team once with its name
// escaped, the chosen one selected, and the primary team hidden from the
// secondaries.
func TestTeamSelects(t *testing.T) {
	s := newSite(t)
	owner, ownerCtx := s.org()
	b := s.browser()
	want(t, b.signIn(owner.Email, ownerPassword), http.StatusSeeOther)
	labs, err := s.svc.CreateTeam(ownerCtx, `R&D "Labs" <east>`)
	if err != nil {
		t.Fatal(err)
	}
	def := s.defaultTeam(ownerCtx)
	escaped := `R&amp;D &#34;Labs&#34; &lt;east&gt;`
	option := func(team *muster.Team, name, attrs string) string {
		return fmt.Sprintf(`<option value="%d"%s>%s</option>`, team.ID, attrs, name)
	}
	count := func(p page, s string) int { return strings.Count(p.body, s) }
	// A member of the team, for the Users tab filtered by it to list
	// someone and offer its bulk actions.
	member := s.invite(ownerCtx, "Max", "Tester", "max@example.com", muster.RoleBasic)
	primary := labs.ID
	if _, err := s.svc.UpdateUser(ownerCtx, member.ID, service.UserUpdate{PrimaryTeamID: &primary}); err != nil {
		t.Fatal(err)
	}

	p := b.get(fmt.Sprintf("/settings/roles-access?team=%d", labs.ID))
	want(t, p, 200, option(labs, escaped, " selected"), option(labs, escaped, ""), option(def, "Default Team", ""))
	if n := count(p, `<option value="`+fmt.Sprint(labs.ID)+`"`); n != 2 {
		t.Fatalf("the Users tab lists the team %d times, want 2 (the filter's and the bulk action's)", n)
	}
	if strings.Contains(p.body, `R&D "Labs"`) {
		t.Fatal("the team's name is not escaped")
	}

	p = b.get("/settings/roles-access/users/invite")
	want(t, p, 200, option(def, "Default Team", " selected"), option(labs, escaped, ""),
		option(def, "Default Team", " hidden disabled"))

	p = b.get(fmt.Sprintf("/settings/roles-access/users/%d/edit", member.ID))
	want(t, p, 200, option(labs, escaped, " selected"), option(labs, escaped, " hidden disabled"),
		option(def, "Default Team", ""))

	// Removing the team, whose member blocks it, offers to move them to
	// the Default Team first.
	p = b.get(fmt.Sprintf("/settings/roles-access/teams/%d/remove", labs.ID))
	want(t, p, 200, option(def, "Default Team", " selected"))
	if n := count(p, `<option value="`+fmt.Sprint(labs.ID)+`"`); n != 0 {
		t.Fatal("the team being removed is offered as where to move its members")
	}
}

// TestTeamsTabPages: the Teams tab lists 50 teams a page with Previous and
// Next, and offers a search by name once the teams fill more than a page.
func TestTeamsTabPages(t *testing.T) {
	s := newSite(t)
	owner, ownerCtx := s.org()
	b := s.browser()
	want(t, b.signIn(owner.Email, ownerPassword), http.StatusSeeOther)
	teams := "/settings/roles-access/teams"
	p := b.get(teams)
	want(t, p, 200, "Default Team", "1–1 of 1")
	if strings.Contains(p.body, "Find a team") || strings.Contains(p.body, `rel="next"`) {
		t.Fatal("an org of one team is offered a search or pages")
	}
	for i := range 60 {
		if _, err := s.svc.CreateTeam(ownerCtx, fmt.Sprintf("Group %02d", i)); err != nil {
			t.Fatal(err)
		}
	}
	p = b.get(teams)
	want(t, p, 200, "1–50 of 61", `<label for="q">Find a team</label>`, `aria-label="Pages of teams"`,
		`<a href="/settings/roles-access/teams?page=2" rel="next">Next</a>`, ">Group 48</a>")
	if strings.Contains(p.body, ">Group 49</a>") {
		t.Fatal("the first page lists more than 50 teams")
	}
	p = b.get(teams + "?page=2")
	want(t, p, 200, "51–61 of 61", `<a href="/settings/roles-access/teams" rel="prev">Previous</a>`, ">Group 49</a>", ">Group 59</a>")
	p = b.get(teams + "?q=group+5")
	want(t, p, 200, "1–10 of 10", `value="group 5"`, ">Group 50</a>", ">Group 59</a>", `<a href="/settings/roles-access/teams">Clear</a>`)
	if strings.Contains(p.body, ">Group 05</a>") || strings.Contains(p.body, ">Default Team</a>") {
		t.Fatal("the search lists a team whose name does not contain it")
	}
	want(t, b.get(teams+"?q=nobody"), 200, "No team's name contains “nobody”.")
	want(t, b.get(teams+"?q=nobody&page=3"), 200, "No team's name contains “nobody”.")
	// A search of more than a page keeps itself in the pages' links.
	p = b.get(teams + "?q=group")
	want(t, p, 200, "1–50 of 60", `<a href="/settings/roles-access/teams?page=2&amp;q=group" rel="next">Next</a>`)
	p = b.get(teams + "?q=group&page=2")
	want(t, p, 200, "51–60 of 60", `<a href="/settings/roles-access/teams?q=group" rel="prev">Previous</a>`, ">Group 59</a>")
	if strings.Contains(p.body, `rel="next"`) {
		t.Fatal("the search's last page links to a next page")
	}
	want(t, b.get(teams+"?page=9"), 200, "No teams on this page.", `<a href="/settings/roles-access/teams?page=2">Go to the last page</a>`)

	// Rename and Remove return to the page and search they were started
	// from, never to another site.
	group50 := findTeam(t, s, ownerCtx, "Group 50")
	rename := fmt.Sprintf("/settings/roles-access/teams/%d/rename", group50.ID)
	remove := fmt.Sprintf("/settings/roles-access/teams/%d/remove", group50.ID)
	from := teams + "?page=2&q=group"
	want(t, b.get(from), 200, fmt.Sprintf(`href="%s?back=%s"`, rename, strings.ReplaceAll(url.QueryEscape(from), "&", "&amp;")))
	want(t, b.get(rename+"?back="+url.QueryEscape(from)), 200, `<input type="hidden" name="back" value="/settings/roles-access/teams?page=2&amp;q=group">`)
	wantRedirect(t, b.post(rename, url.Values{"name": {"Group 50 renamed"}, "back": {from}}), from)
	wantRedirect(t, b.post(rename, url.Values{"name": {"Group 50 again"}, "back": {"https://evil.example/teams"}}), teams)
	want(t, b.get(remove+"?back="+url.QueryEscape(from)), 200, `<a href="/settings/roles-access/teams?page=2&amp;q=group">Cancel</a>`)
	wantRedirect(t, b.post(remove, url.Values{"back": {from}}), from)
	want(t, b.get(teams+"?q=%07"), http.StatusUnprocessableEntity, "The search ")
}

// TestUserPageNamesFormerTeams: the user page names the teams its history
// mentions, those the user has left included.
func TestUserPageNamesFormerTeams(t *testing.T) {
	s := newSite(t)
	owner, ownerCtx := s.org()
	b := s.browser()
	want(t, b.signIn(owner.Email, ownerPassword), http.StatusSeeOther)
	squad, err := s.svc.CreateTeam(ownerCtx, "Sales Squad")
	if err != nil {
		t.Fatal(err)
	}
	member := s.invite(ownerCtx, "Max", "Tester", "max@example.com", muster.RoleBasic)
	for _, primary := range []int64{squad.ID, s.defaultTeam(ownerCtx).ID} {
		if _, err := s.svc.UpdateUser(ownerCtx, member.ID, service.UserUpdate{PrimaryTeamID: &primary}); err != nil {
			t.Fatal(err)
		}
	}
	p := b.get(fmt.Sprintf("/settings/roles-access/users/%d", member.ID))
	want(t, p, 200, "Sales Squad")
	if strings.Contains(p.body, "a removed team") {
		t.Fatal("the user page calls a team the user left a removed team")
	}
}

// TestAdminFormsOfWhatTheyMayNotChange: an Admin is not shown a form whose
// save would be refused: the edit form of the Owner or of another Admin,
// the rename form of the Default Team (TEAM-4); their own edit form and a
// Manager's show.
func TestAdminFormsOfWhatTheyMayNotChange(t *testing.T) {
	s := newSite(t)
	owner, ownerCtx := s.org()
	ada := s.invite(ownerCtx, "Ada", "Admin", "ada@example.com", muster.RoleAdmin)
	abe := s.invite(ownerCtx, "Abe", "Admin", "abe@example.com", muster.RoleAdmin)
	max := s.invite(ownerCtx, "Max", "Manager", "max@example.com", muster.RoleManager)
	b := s.join(ada.Email, "ada's long password")
	for _, id := range []int64{owner.ID, abe.ID} {
		want(t, b.get(fmt.Sprintf("/settings/roles-access/users/%d/edit", id)), http.StatusForbidden)
	}
	want(t, b.get(fmt.Sprintf("/settings/roles-access/teams/%d/rename", s.defaultTeam(ownerCtx).ID)), http.StatusForbidden,
		"The Default Team can&#39;t be renamed.")
	want(t, b.get(fmt.Sprintf("/settings/roles-access/users/%d/edit", ada.ID)), http.StatusOK, "Ada Admin")
	want(t, b.get(fmt.Sprintf("/settings/roles-access/users/%d/edit", max.ID)), http.StatusOK, "Max Manager")
}

// TestUserRowActionsKeepTheSearch follows the help pages: search the Users
// tab for a user, open their "…" menu and pick an action. Resend invite,
// Withdraw, Edit and Deactivate, and their Cancel, return to the search as
// it was (its filters and order kept), not to the whole unfiltered list.
func TestUserRowActionsKeepTheSearch(t *testing.T) {
	s, b, ownerCtx, bella, max := pendingAndActive(t)
	rowForm := regexp.MustCompile(`(?s)<form method="post" id="row-action"[^>]*>.*?</form>`)
	menuLink := func(p page, item string) string {
		t.Helper()
		m := regexp.MustCompile(`<a href="([^"]+)">` + item + `</a>`).FindStringSubmatch(p.body)
		if m == nil {
			t.Fatalf("%s: no %s in the row's menu:\n%s", p.Request.URL, item, p.body)
		}
		return html.UnescapeString(m[1])
	}
	formAction := regexp.MustCompile(`<form method="post" action="(/settings/roles-access/users/[^"]+)">`)

	// Resend invite, from the search for a Pending user.
	pending := "/settings/roles-access?q=bella&status=pending&sort=email"
	p := b.get(pending)
	want(t, p, 200, `aria-label="Actions for Bella Pending"`)
	resend := regexp.MustCompile(`formaction="([^"]+)">Resend invite`).FindStringSubmatch(p.body)
	if resend == nil {
		t.Fatal("no Resend invite in Bella's menu")
	}
	wantRedirect(t, b.post(resend[1], hiddenFields(rowForm.FindString(p.body))), pending)

	// Withdraw: its confirmation's Cancel and its outcome.
	confirm := b.get(menuLink(p, "Withdraw"))
	want(t, confirm, 200, "Withdraw the invitation of Bella Pending?", `<a href="`+html.EscapeString(pending)+`">Cancel</a>`)
	wantRedirect(t, b.post(html.UnescapeString(formAction.FindStringSubmatch(confirm.body)[1]), hiddenFields(confirm.body)), pending)
	if u, err := s.svc.FindManagedUser(ownerCtx, bella.ID); err == nil && u.Status == muster.StatusPending {
		t.Fatal("Bella's invitation was not withdrawn")
	}

	// Edit and Deactivate, from the search for an Active user.
	active := "/settings/roles-access?q=max&status=active"
	p = b.get(active)
	edit := b.get(menuLink(p, "Edit"))
	want(t, edit, 200, "Edit Max Active", `<a href="`+html.EscapeString(active)+`">Cancel</a>`)
	form := hiddenFields(edit.body)
	form.Set("first_name", "Maxine")
	form.Set("last_name", "Active")
	form.Set("role", "manager")
	form.Set("primary_team", fmt.Sprint(s.defaultTeam(ownerCtx).ID))
	form.Set("save", "1")
	wantRedirect(t, b.post(fmt.Sprintf("/settings/roles-access/users/%d/edit", max.ID), form), active)
	confirm = b.get(menuLink(b.get(active), "Deactivate"))
	want(t, confirm, 200, "Deactivate Maxine Active?")
	wantRedirect(t, b.post(html.UnescapeString(formAction.FindStringSubmatch(confirm.body)[1]), hiddenFields(confirm.body)), active)
}

// TestSecondaryTeamErrorTiedToItsField: a secondary team removed while the
// invite form was open is refused, and the words that say so are tied to
// the Secondary Teams control (aria-describedby, aria-invalid), so that a
// screen reader reading the group or the select hears them.
func TestSecondaryTeamErrorTiedToItsField(t *testing.T) {
	s := newSite(t)
	owner, ownerCtx := s.org()
	gone, err := s.svc.CreateTeam(ownerCtx, "Gone")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.CreateTeam(ownerCtx, "Staying"); err != nil {
		t.Fatal(err)
	}
	b := s.browser()
	want(t, b.signIn(owner.Email, ownerPassword), http.StatusSeeOther)
	want(t, b.get("/settings/roles-access/users/invite"), 200, ">Gone</option>")
	if _, err := s.svc.RemoveTeam(ownerCtx, gone.ID, 0); err != nil {
		t.Fatal(err)
	}
	p := b.post("/settings/roles-access/users/invite", url.Values{"first_name": {"Sam"}, "last_name": {"Second"},
		"email": {"sam@example.com"}, "role": {"basic"}, "primary_team": {fmt.Sprint(s.defaultTeam(ownerCtx).ID)},
		"secondary_teams": {fmt.Sprint(gone.ID)}})
	want(t, p, http.StatusUnprocessableEntity, `<p class="field-error" id="add_secondary-error">A chosen secondary team does not exist.`,
		`<fieldset class="secondaries has-error" aria-describedby="add_secondary-error">`,
		`<select id="add_secondary" name="add_secondary" aria-invalid="true" aria-describedby="add_secondary-error">`,
		`value="sam@example.com"`)
}

// TestTransferConfirmationOnlyForTheOwner: the page that asks for a
// password to confirm a transfer of ownership is shown only to the Owner,
// and only for an Active Admin (OWN-1). An Admin, or the Owner naming a
// Manager, is refused at once, in words, rather than asked for a password
// that cannot help; a refused transfer is not asked for again.
func TestTransferConfirmationOnlyForTheOwner(t *testing.T) {
	s := newSite(t)
	owner, ownerCtx := s.org()
	ada := s.invite(ownerCtx, "Ada", "Admin", "ada@example.com", muster.RoleAdmin)
	abe := s.invite(ownerCtx, "Abe", "Admin", "abe@example.com", muster.RoleAdmin)
	max := s.invite(ownerCtx, "Max", "Manager", "max@example.com", muster.RoleManager)
	s.join(max.Email, "max's long password")
	s.join(abe.Email, "abe's long password")
	adaBrowser := s.join(ada.Email, "ada's long password")
	b := s.browser()
	want(t, b.signIn(owner.Email, ownerPassword), http.StatusSeeOther)
	transfer := "/settings/organization/transfer"

	// The Admin: refused, and not asked for a password.
	for _, to := range []int64{abe.ID, max.ID} {
		p := adaBrowser.get(fmt.Sprintf("%s?to=%d", transfer, to))
		want(t, p, http.StatusForbidden, "Only the Owner can transfer ownership.")
		if strings.Contains(p.body, "Your password") {
			t.Fatalf("an Admin is asked for their password to make user %d the Owner", to)
		}
		p = adaBrowser.post(transfer, url.Values{"to": {fmt.Sprint(to)}, "password": {"ada's long password"}})
		want(t, p, http.StatusForbidden, "Only the Owner can transfer ownership.")
		if strings.Contains(p.body, "Your password") {
			t.Fatal("an Admin's refused transfer asks for their password again")
		}
	}
	// The Owner, naming a Manager: refused with why.
	p := b.get(fmt.Sprintf("%s?to=%d", transfer, max.ID))
	want(t, p, http.StatusConflict, "Ownership can only go to an Active Admin; max@example.com is a Manager and Active.")
	if strings.Contains(p.body, "Your password") {
		t.Fatal("the Owner is asked for their password to make a Manager the Owner")
	}
	// The Owner, naming an Active Admin: asked.
	want(t, b.get(fmt.Sprintf("%s?to=%d", transfer, abe.ID)), 200, "Make Abe Admin the Owner?", "Your password")
	if got := findUser(t, s, ownerCtx, owner.Email); got.Role != muster.RoleOwner {
		t.Fatalf("after the refusals, %s is %s; want the Owner", got.Email, got.Role)
	}
}

// TestStaleRowActionRefusedBeforeConfirming: a row's Withdraw or
// Deactivate, clicked on a list that was out of date (the invitation
// accepted, the user deactivated meanwhile), says at once that it can't be
// done and why, instead of asking to confirm what the service will refuse
// (CON-5: every action shows its outcome or its error).
func TestStaleRowActionRefusedBeforeConfirming(t *testing.T) {
	s := newSite(t)
	owner, ownerCtx := s.org()
	bella := s.invite(ownerCtx, "Bella", "Joined", "bella@example.com", muster.RoleBasic)
	pat := s.invite(ownerCtx, "Pat", "Pending", "pat@example.com", muster.RoleBasic)
	b := s.browser()
	want(t, b.signIn(owner.Email, ownerPassword), http.StatusSeeOther)
	withdraw := fmt.Sprintf("/settings/roles-access/users/%d/withdraw", bella.ID)
	deactivate := fmt.Sprintf("/settings/roles-access/users/%d/deactivate", pat.ID)
	want(t, b.get("/settings/roles-access"), 200, `href="`+withdraw+`"`)

	s.join(bella.Email, "bella's long password") // the list is now out of date
	p := b.get(withdraw)
	want(t, p, http.StatusConflict, "Only pending invitations can be withdrawn; this user is active.")
	if strings.Contains(p.body, "Withdraw the invitation of Bella Joined?") {
		t.Fatal("the confirmation asks to withdraw the invitation Bella accepted")
	}
	p = b.get(deactivate)
	want(t, p, http.StatusConflict, "this user is pending")
	if strings.Contains(p.body, "Deactivate Pat Pending?") {
		t.Fatal("the confirmation asks to deactivate Pat, who is Pending")
	}
	// The refusal's Back returns to the page the action was started from.
	want(t, b.get(withdraw+"?back="+url.QueryEscape("/settings/roles-access?q=bella")), http.StatusConflict,
		`<a href="/settings/roles-access?q=bella">Back</a>`)
	// Those the actions are for are still asked.
	want(t, b.get(fmt.Sprintf("/settings/roles-access/users/%d/withdraw", pat.ID)), 200, "Withdraw the invitation of Pat Pending?")
	want(t, b.get(fmt.Sprintf("/settings/roles-access/users/%d/deactivate", bella.ID)), 200, "Deactivate Bella Joined?")
}

// TestBulkEndingsConfirmInRed: the bulk Withdraw and Deactivate
// confirmations' buttons are the red of the single-user confirmations,
// since they end invitations and access as those do; Resend invite's
// stays the plain one.
func TestBulkEndingsConfirmInRed(t *testing.T) {
	_, b, _, bella, max := pendingAndActive(t)
	for _, c := range []struct {
		action string
		user   *muster.User
		button string
	}{
		{"withdraw", bella, `<button type="submit" class="danger">Withdraw 1 invitation</button>`},
		{"deactivate", max, `<button type="submit" class="danger">Deactivate 1 user</button>`},
		{"resend", bella, `<button type="submit" class="primary">Resend 1 invitation</button>`},
	} {
		p := b.post("/settings/roles-access/users/bulk", url.Values{"action": {c.action}, "user_ids": {strconv.FormatInt(c.user.ID, 10)}})
		want(t, p, http.StatusOK, c.button)
	}
}

// pendingAndActive is a site whose org has Bella, Pending, and Max, Active,
// both Basic Users, with its Owner signed in on b and acting in ownerCtx.
func pendingAndActive(t *testing.T) (s *site, b *client, ownerCtx context.Context, bella, max *muster.User) {
	t.Helper()
	s = newSite(t)
	var owner *muster.User
	owner, ownerCtx = s.org()
	bella = s.invite(ownerCtx, "Bella", "Pending", "bella@example.com", muster.RoleBasic)
	max = s.invite(ownerCtx, "Max", "Active", "max@example.com", muster.RoleBasic)
	s.join(max.Email, "max's long password")
	b = s.browser()
	want(t, b.signIn(owner.Email, ownerPassword), http.StatusSeeOther)
	return s, b, ownerCtx, bella, max
}

// TestInvitationExpiryByTheServiceClock: the Users tab and a user's page say
// an invitation expired when the service would refuse its link, by the
// service's clock (here the site's settable one), not the machine's.
func TestInvitationExpiryByTheServiceClock(t *testing.T) {
	s, b, _, bella, _ := pendingAndActive(t)
	paths := []string{"/settings/roles-access", fmt.Sprintf("/settings/roles-access/users/%d", bella.ID)}
	for _, path := range paths {
		p := b.get(path)
		if want(t, p, http.StatusOK, "Bella Pending"); strings.Contains(p.body, "Invitation expired") {
			t.Fatalf("%s: a fresh invitation is shown expired", path)
		}
	}
	s.now.Add((8 * 24 * time.Hour).Microseconds()) // past the invitation's 7 days
	want(t, b.signIn(s.ownerEmail, ownerPassword), http.StatusSeeOther)
	for _, path := range paths {
		want(t, b.get(path), http.StatusOK, "Invitation expired")
	}
}
