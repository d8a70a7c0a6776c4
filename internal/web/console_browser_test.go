package web_test

// Browser tests of the console's second round (issue 15): the row menus
// as WAI-ARIA menu buttons, bulk actions with and without JavaScript, the
// phone layout, and an accessibility audit of every main page.

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/testsupport/browsertest"
)

// TestBrowserRowMenus: with JavaScript, each row's "…" is a button named
// "Actions for FIRST LAST" that opens a menu: focus moves into it, the
// arrow keys move between its items, Escape closes it and gives the focus
// back, one menu is open at a time, a click outside closes it, and an open
// menu never covers another row's button (a click on the next row's "…"
// lands there, not on the menu above it).
func TestBrowserRowMenus(t *testing.T) {
	b := browsertest.Chromium(t)
	s := newSite(t)
	_, ownerCtx := s.org()
	for _, name := range []string{"Ann", "Bob", "Cy"} {
		s.invite(ownerCtx, name, "Tester", strings.ToLower(name)+"@example.com", muster.RoleBasic)
	}
	b.SignIn(s.srv.URL, s.ownerEmail, ownerPassword)
	b.Open("users", s.srv.URL+"/settings/roles-access")

	if roles := b.Roles("Actions for Ann Tester"); !slices.Contains(roles, "button") {
		t.Fatalf("Ann's actions control has the roles %v; want a button named \"Actions for Ann Tester\"", roles)
	}
	ann, bob := byButton("Actions for Ann Tester"), byButton("Actions for Bob Tester")
	b.Do("open Ann's menu", chromedp.Click(ann), chromedp.WaitVisible(openMenu))
	if got := b.Focused(); !strings.Contains(got, "Resend invite") {
		t.Fatalf("after opening the menu the focus is on %q; want its first item, Resend invite", got)
	}
	b.Press("arrow down", kb.ArrowDown)
	second := b.Focused()
	if strings.Contains(second, "Resend invite") || second == "" {
		t.Fatalf("ArrowDown left the focus on %q; want the next item", second)
	}
	b.Press("arrow up", kb.ArrowUp)
	if got := b.Focused(); !strings.Contains(got, "Resend invite") {
		t.Fatalf("ArrowUp put the focus on %q; want Resend invite again", got)
	}
	b.Press("escape", kb.Escape)
	if n := openMenus(b); n != 0 {
		t.Fatalf("%d menus open after Escape; want none", n)
	}
	if got := b.Focused(); !strings.Contains(got, "Actions for Ann Tester") {
		t.Fatalf("after Escape the focus is on %q; want Ann's button", got)
	}

	// Ann's menu open, Bob's button must still be the thing under the
	// pointer where it is drawn.
	b.Do("open Ann's menu again", chromedp.Click(ann), chromedp.WaitVisible(openMenu))
	under := browsertest.Eval[string](b, `(function () {
		var btn = document.querySelector('[aria-label="Actions for Bob Tester"]');
		var r = btn.getBoundingClientRect();
		var hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
		return hit && (hit === btn || btn.contains(hit)) ? "bob" : (hit ? hit.outerHTML.slice(0, 120) : "nothing");
	})()`)
	if under != "bob" {
		t.Fatalf("with Ann's menu open, a click on Bob's \"…\" lands on %s", under)
	}
	b.Do("open Bob's menu", chromedp.Click(bob), chromedp.WaitVisible(openMenu))
	if n := openMenus(b); n != 1 {
		t.Fatalf("%d menus open after opening Bob's; want one", n)
	}
	if got := browsertest.Eval[string](b, `document.querySelector('[aria-label="Actions for Bob Tester"]').getAttribute("aria-expanded")`); got != "true" {
		t.Fatalf("Bob's button has aria-expanded=%q; want true", got)
	}
	b.Do("click outside", chromedp.Click(`//h1`))
	if n := openMenus(b); n != 0 {
		t.Fatalf("%d menus open after a click outside; want none", n)
	}
	// The menu's items still work: Edit opens Cy's form.
	b.Do("open Cy's menu", chromedp.Click(byButton("Actions for Cy Tester")), chromedp.WaitVisible(openMenu))
	b.Click("Cy's edit form", browsertest.InRow("cy@example.com", "Edit"))
	b.Sees("edit form", "Edit Cy Tester")
}

// openMenu finds the row menu that is open.
const openMenu = `//*[@role="menu" and not(@hidden)]`

// openMenus counts the row menus shown.
func openMenus(b *browsertest.Tab) int {
	return browsertest.Eval[int](b, `[...document.querySelectorAll('[role="menu"]')].filter(m => m.offsetParent !== null).length`)
}

// TestBrowserBulkActions: ticking users, choosing an action and confirming
// changes each of them, says how many and which were skipped, and reports
// per user; "select all matching" covers every page of the filter. With
// JavaScript and without.
func TestBrowserBulkActions(t *testing.T) {
	withAndWithoutJS(t, func(t *testing.T, b *browsertest.Tab, _ bool) {
		s := newSite(t)
		_, ownerCtx := s.org()
		ann := s.invite(ownerCtx, "Ann", "Early", "ann@example.com", muster.RoleBasic)
		bea := s.invite(ownerCtx, "Bea", "Active", "bea@example.com", muster.RoleBasic)
		s.join(bea.Email, "Bea's long password")
		if _, err := s.svc.SetLicenseTotal(ownerCtx, 100, 0); err != nil {
			t.Fatal(err)
		}
		var pending []*muster.User
		for i := range 30 {
			pending = append(pending, s.invite(ownerCtx, fmt.Sprintf("P%02d", i), "Waiting", fmt.Sprintf("p%02d@example.com", i), muster.RoleBasic))
		}
		b.SignIn(s.srv.URL, s.ownerEmail, ownerPassword)
		b.Open("users", s.srv.URL+"/settings/roles-access?q=a")

		// Deactivate Ann (Pending: skipped) and Bea (Active).
		b.Do("tick Ann and Bea", chromedp.Click(selectBox("Ann Early")), chromedp.Click(selectBox("Bea Active")))
		b.Choose("With the selected users", "Deactivate")
		b.Click("confirm", byButton("Continue"))
		b.Sees("confirmation", "Deactivate 1 user?", "1 Pending user is skipped")
		b.Click("results", byButton("Deactivate 1 user"))
		b.Sees("results", "Deactivated 1 user.", "Skipped 1.")
		if !strings.Contains(b.Row("bea@example.com"), "Deactivated") || !strings.Contains(b.Row("ann@example.com"), "Skipped") {
			t.Fatalf("results rows: %q, %q", b.Row("bea@example.com"), b.Row("ann@example.com"))
		}

		// Every Pending user of the filter, over two pages of 25.
		b.Open("pending users", s.srv.URL+"/settings/roles-access?status=pending&size=25&q=p")
		b.Sees("first page", "1–25 of 30")
		b.Do("select all matching", chromedp.Click(browsertest.ByCheckbox("Select all 30 matching users")))
		b.Choose("With the selected users", "Withdraw")
		b.Click("confirm all", byButton("Continue"))
		b.Sees("confirmation", "Withdraw 30 invitations?")
		b.Click("withdrawn", byButton("Withdraw 30 invitations"))
		b.Sees("results", "Withdrew 30 invitations.")
		for _, u := range append(pending, ann) {
			got, err := s.svc.FindUser(ownerCtx, u.ID)
			if u.ID == ann.ID {
				if err != nil || got.Status != muster.StatusPending {
					t.Fatalf("Ann, not selected: %v %v", got, err)
				}
				continue
			}
			if muster.ErrorCode(err) != muster.ENOTFOUND {
				t.Fatalf("%s after the bulk withdrawal: %v, %v; want withdrawn", u.Email, got, err)
			}
		}
		events, err := s.svc.FindAuditEvents(ownerCtx, service.AuditQuery{Action: muster.ActionInviteWithdrawn, Limit: 100})
		if err != nil || len(events.Events) != 30 {
			t.Fatalf("%d withdrawal events (%v); want one per user, 30", len(events.Events), err)
		}
	})
}

// selectBox is the checkbox that selects a user's row.
func selectBox(name string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//input[@type="checkbox" and @aria-label=%q]`, "Select "+name))
}

// TestBrowserPhone: at 390×844 no page scrolls sideways, the Users tab's
// filters stack, each user's "…" is on the screen, and the Settings
// sidebar sits above the content.
func TestBrowserPhone(t *testing.T) {
	b := browsertest.Chromium(t)
	b.Viewport(390, 844, true)
	s := newSite(t)
	_, ownerCtx := s.org()
	for i, name := range []string{"Alexandra", "Bartholomew", "Constantine"} {
		s.invite(ownerCtx, name, "Featherstonehaugh-Wolfeschlegel", fmt.Sprintf("%s.featherstonehaugh%d@long-company-name.example", strings.ToLower(name), i), muster.RoleManager)
	}
	b.SignIn(s.srv.URL, s.ownerEmail, ownerPassword)
	for _, path := range []string{"/settings/roles-access", "/settings/roles-access/teams", "/settings/audit-log",
		"/settings/organization", "/settings/api-tokens", "/account/sessions", "/"} {
		b.Open(path, s.srv.URL+path)
		// Against the phone's width: a page wider than it makes a phone's
		// browser widen the layout viewport (innerWidth) and zoom out.
		if w := browsertest.Eval[int](b, `document.documentElement.scrollWidth - 390`); w > 0 {
			t.Errorf("%s scrolls sideways by %d px at 390 px", path, w)
		}
		if strings.HasPrefix(path, "/settings") {
			if above := browsertest.Eval[bool](b, `(function () {
				var nav = document.querySelector("nav.sidebar").getBoundingClientRect();
				var main = document.querySelector(".settings > section").getBoundingClientRect();
				return nav.bottom <= main.top + 1 })()`); !above {
				t.Errorf("%s: the Settings sidebar is not above the content", path)
			}
		}
	}
	b.Open("users", s.srv.URL+"/settings/roles-access")
	if stacked := browsertest.Eval[bool](b, `(function () {
		var a = document.getElementById("q").getBoundingClientRect(), b = document.getElementById("status").getBoundingClientRect();
		return b.top >= a.bottom })()`); !stacked {
		t.Error("the Users tab's filters do not stack")
	}
	btn := `document.querySelector('[aria-label="Actions for Constantine Featherstonehaugh-Wolfeschlegel"]').getBoundingClientRect()`
	if right := browsertest.Eval[float64](b, btn+`.right`); right > 390 {
		t.Errorf("Constantine's \"…\" ends at %.0f px, off the 390 px screen", right)
	}
	b.Do("open Constantine's menu", chromedp.Click(byButton("Actions for Constantine Featherstonehaugh-Wolfeschlegel")))
	b.Click("edit", browsertest.InRow("constantine.featherstonehaugh2@long-company-name.example", "Edit"))
	b.Sees("edit form", "Edit Constantine")
}

// TestBrowserAccessibility runs axe-core on every main page, as the Owner
// sees them, and wants no serious or critical violation; checks the skip
// link; and, after a form refused by the server, wants the focus on an
// error summary that links to each field and a title that says so.
func TestBrowserAccessibility(t *testing.T) {
	b := browsertest.Chromium(t)
	s := newSite(t)
	_, ownerCtx := s.sendAsOrg()
	bea := s.invite(ownerCtx, "Bea", "Basic", "bea@example.com", muster.RoleBasic)
	s.join(bea.Email, "Bea's long password")
	s.invite(ownerCtx, "Pat", "Pending", "pat@example.com", muster.RoleManager)
	if _, err := s.svc.CreateSendAs(ownerCtx, service.SendAsInput{FromName: "Acme News", FromEmail: "news@acme.example",
		UserIDs: []int64{bea.ID}}); err != nil {
		t.Fatal(err)
	}

	audit := func(name string) {
		t.Helper()
		if v := b.Audit(); len(v) > 0 {
			t.Errorf("%s: %d serious or critical accessibility violations:\n%s", name, len(v), strings.Join(v, "\n"))
		}
	}
	b.Open("sign-in", s.srv.URL+"/signin")
	audit("sign-in")
	b.SignIn(s.srv.URL, s.ownerEmail, ownerPassword)
	for _, path := range []string{"/", "/account/sessions", "/account/password", "/settings/roles-access",
		fmt.Sprintf("/settings/roles-access/users/%d", bea.ID), fmt.Sprintf("/settings/roles-access/users/%d/edit", bea.ID),
		"/settings/roles-access/users/invite", "/settings/roles-access/teams", "/settings/roles-access/send-as",
		"/settings/roles-access/send-as/new", "/settings/organization", "/settings/audit-log", "/settings/api-tokens",
		"/settings/provisioning", "/settings/webhooks", "/settings/mailbox"} {
		b.Open(path, s.srv.URL+path)
		audit(path)
	}

	// The skip link is the first stop of the keyboard and leads to the
	// content.
	b.Open("users", s.srv.URL+"/settings/roles-access")
	b.Press("tab", kb.Tab)
	if got := b.Focused(); !strings.Contains(got, "Skip to content") {
		t.Fatalf("the first Tab stops at %q; want the Skip to content link", got)
	}

	// A refusal by the server: Pat's email is taken.
	b.Open("invite", s.srv.URL+"/settings/roles-access/users/invite")
	b.Type("fill the form", "First Name", "Pat", "Last Name", "Again", "Email", "pat@example.com")
	b.Click("refused", byButton("Invite"))
	if title := browsertest.Eval[string](b, `document.title`); !strings.HasPrefix(title, "Error: ") {
		t.Fatalf("the refused form's title is %q; want it to start with \"Error: \"", title)
	}
	if got := b.Focused(); !strings.Contains(got, "There is a problem") {
		t.Fatalf("after the refusal the focus is on %q; want the error summary", got)
	}
	if href := browsertest.Eval[string](b, `document.querySelector(".error-summary a").getAttribute("href")`); href != "#email" {
		t.Fatalf("the error summary links to %q; want #email", href)
	}
	audit("invite, refused")
}

// TestBrowserPhoneLongEmail: at a 375 px phone, the pages about one person
// whose email is long and has no place to break (dots and an @, no spaces
// or hyphens) do not scroll sideways: the email wraps; so does a button
// naming a team whose name has no space.
func TestBrowserPhoneLongEmail(t *testing.T) {
	b := browsertest.Chromium(t)
	b.Viewport(375, 812, true)
	s := newSite(t)
	_, ownerCtx := s.org()
	u := s.invite(ownerCtx, "Alexandra", "Featherstonehaugh", "alexandra.featherstonehaugh.wolfeschlegel@subsidiary.company.example",
		muster.RoleBasic)
	// A team whose name has no space, someone's primary team: its removal
	// names it on the button that moves them.
	team, err := s.svc.CreateTeam(ownerCtx, "InternationalCustomerSuccessAndPartnerEnablement")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.Invite(ownerCtx, service.InviteInput{FirstName: "Bo", LastName: "Member", Email: "bo@example.com",
		Role: muster.RoleBasic, PrimaryTeamID: team.ID}); err != nil {
		t.Fatal(err)
	}
	b.SignIn(s.srv.URL, s.ownerEmail, ownerPassword)
	for _, path := range []string{fmt.Sprintf("/settings/roles-access/users/%d", u.ID),
		fmt.Sprintf("/settings/roles-access/users/%d/edit", u.ID), fmt.Sprintf("/settings/roles-access/users/%d/withdraw", u.ID),
		"/settings/roles-access", fmt.Sprintf("/settings/roles-access/teams/%d/remove", team.ID)} {
		b.Open(path, s.srv.URL+path)
		if w := browsertest.Eval[int](b, `document.documentElement.scrollWidth - 375`); w > 0 {
			t.Errorf("%s scrolls sideways by %d px at 375 px", path, w)
		}
	}
}

// TestBrowserRowMenuButtonsInSight: on a 1366 px desktop the Users tab's
// table is wider than its card and scrolls sideways in its box, whose
// scroll bar is below the last row; each row's "…" (CON-3, "click the
// ellipses next to their name") stays in sight at the box's right edge
// rather than past it.
func TestBrowserRowMenuButtonsInSight(t *testing.T) {
	b := browsertest.Chromium(t)
	b.Viewport(1366, 900, false)
	s := newSite(t)
	_, ownerCtx := s.org()
	sales, err := s.svc.CreateTeam(ownerCtx, "Customer Success")
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.svc.Invite(ownerCtx, service.InviteInput{FirstName: "Marguerite", LastName: "Featherstonehaugh",
		Email: "marguerite.featherstonehaugh42@example.com", Role: muster.RoleManager, PrimaryTeamID: sales.ID,
		SecondaryTeamIDs: []int64{s.defaultTeam(ownerCtx).ID}})
	if err != nil {
		t.Fatal(err)
	}
	b.SignIn(s.srv.URL, s.ownerEmail, ownerPassword)
	b.Open("users", s.srv.URL+"/settings/roles-access")
	if !browsertest.Eval[bool](b, `(function () { var box = document.querySelector(".table-box"); return box.scrollWidth > box.clientWidth })()`) {
		t.Skip("the table fits its box at 1366 px: nothing to scroll")
	}
	name := res.User.Name()
	out := browsertest.Eval[float64](b, fmt.Sprintf(`(function () {
		var box = document.querySelector(".table-box").getBoundingClientRect();
		var btn = document.querySelector('[aria-label="Actions for %s"]').getBoundingClientRect();
		return btn.right - box.right })()`, name))
	if out > 0 {
		t.Fatalf("%s's \"…\" ends %.0f px past the right edge of the table's box: out of sight until it is scrolled", name, out)
	}
	b.Do("open the menu", chromedp.Click(byButton("Actions for "+name)))
	b.Click("edit", browsertest.InRow(res.User.Email, "Edit"))
	b.Sees("edit form", "Edit "+name)
}
