package web_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/testsupport/browsertest"
)

var (
	byLabel  = browsertest.ByLabel
	byButton = browsertest.ByButton
)

// withAndWithoutJS runs test in a browser with JavaScript, then in one
// without: every action must work both ways (CON-6).
func withAndWithoutJS(t *testing.T, test func(t *testing.T, b *browsertest.Tab, js bool)) {
	for _, js := range []bool{true, false} {
		t.Run(map[bool]string{true: "JavaScript", false: "NoJavaScript"}[js], func(t *testing.T) {
			b := browsertest.Chromium(t)
			if !js {
				// Set on the tab before the first page; it holds across
				// navigations.
				b.DisableJavaScript()
			}
			test(t, b, js)
		})
	}
}

func TestBrowserInviteAndWithdraw(t *testing.T) {
	for _, js := range []bool{true, false} {
		t.Run(map[bool]string{true: "JavaScript", false: "NoJavaScript"}[js], func(t *testing.T) {
			browserInviteAndWithdraw(t, js)
		})
	}
}

// browserInviteAndWithdraw follows the set-up link, opens Settings from the
// name menu, invites a Basic User and withdraws the invitation — with
// JavaScript on or off, since every action must work without it (CON-6).
func browserInviteAndWithdraw(t *testing.T, javascript bool) {
	b := browsertest.Chromium(t)
	if !javascript {
		// Set on the tab before the first page; it holds across navigations.
		b.DisableJavaScript()
	}
	s := newSite(t)
	res, err := s.svc.CreateOrg(muster.NewContext(context.Background(), muster.Principal{Origin: "test"}),
		service.NewOrg{Name: "Acme", LicenseTotal: 5, OwnerEmail: "olive@example.com", OwnerFirstName: "Olive", OwnerLastName: "Owner"})
	if err != nil {
		t.Fatal(err)
	}
	link := s.deliver("olive@example.com").Link("/invitations/")
	if link != res.SetupURL {
		t.Fatalf("emailed link %q; want the set-up link %q", link, res.SetupURL)
	}

	b.Open("accept", link)
	b.Type("type a password", "Password", "olive's long password")
	b.Click("profile", byButton("Set password and sign in"))
	b.Sees("after set-up", "Olive Owner", "1 used")

	b.Do("open the menu", chromedp.Click(byButton("Olive Owner")))
	b.Click("users", byButton("Settings"))
	b.Click("invite", byButton("Invite a User"))
	b.Type("fill the form", "First Name", "Bella", "Last Name", "Basic", "Email", "bella@example.com")
	b.Click("users invited", byButton("Invite"))
	b.Sees("after inviting", "Invitation sent to bella@example.com.", "2 used")

	b.Do("open Bella's actions", chromedp.Click(byButton("Actions for Bella Basic")))
	b.Click("withdraw confirm", byButton("Withdraw"))
	b.Sees("confirmation", "seat is freed")
	b.Click("withdrawn", byButton("Withdraw"))
	b.Sees("after withdrawing", "was withdrawn", "1 used")
	b.SeesNot("after withdrawing", "bella@example.com")
}

func TestBrowserSendAs(t *testing.T) {
	b := browsertest.Chromium(t)
	s := newSite(t)
	_, ownerCtx := s.sendAsOrg()
	people := map[string]*muster.User{}
	for _, name := range []string{"Ann", "Bob"} {
		people[name] = s.invite(ownerCtx, name, "Sender", strings.ToLower(name)+"@example.com", muster.RoleBasic)
		s.join(people[name].Email, name+"'s long password")
	}
	b.SignIn(s.srv.URL, s.ownerEmail, ownerPassword)
	b.Open("roles and access", s.srv.URL+"/settings/roles-access")
	b.Click("send as", byButton("Send As Permissions"))
	b.Click("sendas details", byButton("New Permission"))
	b.Type("details", "From Name", "Acme News", "From Email", "news@acme.example")
	b.Do("a different Reply-To", chromedp.Click(chromedp.Search(`//input[@name="different_reply_to"]`)))
	b.Type("reply-to", "Reply-To Name", "Comms Team", "Reply-To Email", "comms@acme.example")
	b.Click("sendas assign", byButton("Next: Assign Users"))
	b.Click("+ Ann", byButton("Add Ann Sender"))
	b.Click("+ Bob", byButton("Add Bob Sender"))
	b.Click("sendas list", byButton("Save Permission"))
	b.Sees("after saving", "Remind each user to also add news@acme.example", "Acme News <news@acme.example>", "Comms Team <comms@acme.example>")

	ann := b.Other("ann")
	ann.SignIn(s.srv.URL, "ann@example.com", "Ann's long password")
	ann.Sees("Ann's profile", "My sender addresses", "news@acme.example", "replies go to Comms Team")

	if _, err := s.svc.Deactivate(ownerCtx, people["Bob"].ID); err != nil {
		t.Fatal(err)
	}
	perms, err := s.svc.SendAsPermissions(ownerCtx)
	if err != nil || len(perms) != 1 || len(perms[0].UserIDs) != 1 || perms[0].UserIDs[0] != people["Ann"].ID {
		t.Fatalf("grants after Bob's deactivation: %+v, %v; want Ann's only", perms, err)
	}
	// The console shows the grant gone too.
	b.Open("list again", s.srv.URL+"/settings/roles-access/send-as")
	b.Do("open the actions", chromedp.Click(byButton("Actions for Acme News <news@acme.example>")))
	b.Click("edit", byButton("Edit"))
	b.Click("to the users", byButton("Next: Assign Users"))
	b.Sees("assigned after Bob's deactivation", "Ann Sender")
	b.SeesNot("Bob, deactivated, is still assigned or offered", "Bob Sender")
}

// TestBrowserSearchAsYouType: typing in the Users tab's search box shows
// the matching users without a page load, keeps the caret in the box and
// puts the search in the address; without JavaScript the same form finds
// them by a plain submit (CON-2, CON-6).
func TestBrowserSearchAsYouType(t *testing.T) {
	withAndWithoutJS(t, func(t *testing.T, b *browsertest.Tab, js bool) {
		s := newSite(t)
		_, ownerCtx := s.org()
		for _, name := range []string{"Bella", "Bertram", "Cid"} {
			s.invite(ownerCtx, name, "Searcher", strings.ToLower(name)+"@example.com", muster.RoleBasic)
		}
		b.SignIn(s.srv.URL, s.ownerEmail, ownerPassword)
		b.Open("users", s.srv.URL+"/settings/roles-access")
		b.Sees("every user", "bella@example.com", "bertram@example.com", "cid@example.com")
		cell := func(email string) chromedp.Search {
			return chromedp.Search(`//td[normalize-space(.)="` + email + `"]`)
		}
		if !js {
			b.Type("search", "Search", "bel")
			b.Click("users found", byButton("Search"))
			b.Sees("after searching", "bella@example.com")
			b.SeesNot("after searching", "bertram@example.com", "cid@example.com")
			return
		}
		b.Do("no Clear before a search", chromedp.WaitNotVisible(byButton("Clear")))
		// A page load would lose this.
		b.Do("mark the page", chromedp.Evaluate[chromedp.Void](`window.stillHere = true`))
		b.Do("type, and wait for the others to go",
			chromedp.SendKeys(byLabel("Search"), "be"),
			chromedp.WaitNotPresent(cell("cid@example.com")))
		b.Sees("after typing be", "bella@example.com", "bertram@example.com")
		b.Do("type on, and wait for Bertram to go",
			chromedp.SendKeys(byLabel("Search"), "l"),
			chromedp.WaitNotPresent(cell("bertram@example.com")))
		b.Screenshot("users found as you type")
		b.Sees("after typing bel", "bella@example.com", "1 user shown")
		ctx, cancel := context.WithTimeout(b.Ctx, browsertest.StepTimeout)
		defer cancel()
		same, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.stillHere === true && document.activeElement.id === "q"`))
		if err != nil || !same {
			t.Fatalf("the page was reloaded or the search box lost focus (%v)", err)
		}
		if loc, err := chromedp.Run(ctx, chromedp.Location()); err != nil || !strings.Contains(loc, "q=bel") {
			t.Fatalf("the address after searching is %q (%v); want it to hold the search", loc, err)
		}
		// Clear appears with the search, as it does after a page load.
		b.Do("Clear is offered", chromedp.WaitVisible(byButton("Clear")))
	})
}

// TestBrowserSendAsEditKeepsUsers: editing a permission's details keeps its
// users unless the admin removes them, and so do "Back to details" and
// Select All on the way (SEND-1). Before, the details step dropped them and
// Save Permission removed every grant.
func TestBrowserSendAsEditKeepsUsers(t *testing.T) {
	b := browsertest.Chromium(t)
	s := newSite(t)
	_, ownerCtx := s.sendAsOrg()
	bob := s.invite(ownerCtx, "Bob", "Sender", "bob@example.com", muster.RoleBasic)
	s.join(bob.Email, "Bob's long password")
	if _, err := s.svc.CreateSendAs(ownerCtx, service.SendAsInput{FromName: "Acme News", FromEmail: "news@acme.example",
		UserIDs: []int64{bob.ID}}); err != nil {
		t.Fatal(err)
	}
	b.SignIn(s.srv.URL, s.ownerEmail, ownerPassword)
	b.Open("send as", s.srv.URL+"/settings/roles-access/send-as")
	b.Do("open the actions", chromedp.Click(byButton("Actions for Acme News <news@acme.example>")))
	b.Click("edit", byButton("Edit"))
	b.Retype("new From Name", "From Name", "Acme Weekly")
	b.Click("to the users", byButton("Next: Assign Users"))
	b.Do("Bob still assigned", chromedp.WaitVisible(byButton("Remove Bob Sender")))
	b.Click("back to details", byButton("Back to details"))
	b.Click("to the users again", byButton("Next: Assign Users"))
	b.Do("Bob assigned after going back", chromedp.WaitVisible(byButton("Remove Bob Sender")))
	b.Click("save", byButton("Save Permission"))
	b.Sees("saved", "Acme Weekly <news@acme.example>")
	perms, err := s.svc.SendAsPermissions(ownerCtx)
	if err != nil || len(perms) != 1 || len(perms[0].UserIDs) != 1 || perms[0].UserIDs[0] != bob.ID {
		t.Fatalf("after editing the From Name: %+v, %v; want Bob still granted", perms, err)
	}

	// New Permission: Select All, back to details, on: still every user.
	b.Click("new permission", byButton("New Permission"))
	b.Type("details", "From Name", "Acme Alerts", "From Email", "alerts@acme.example")
	b.Click("assign", byButton("Next: Assign Users"))
	b.Click("select all", byButton("Select All"))
	b.Click("back to details", byButton("Back to details"))
	b.Click("assign again", byButton("Next: Assign Users"))
	b.Sees("select all kept", "Every active user when you save")
}

// TestBrowserSendAsWithoutReplyTo: with "Replies go to a different address"
// unticked, the Reply-To fields are not required, so the details step goes
// on and the permission saves without a Reply-To (SEND-1). Before, the
// browser stopped on "Please fill out this field".
func TestBrowserSendAsWithoutReplyTo(t *testing.T) {
	b := browsertest.Chromium(t)
	s := newSite(t)
	_, ownerCtx := s.sendAsOrg()
	b.SignIn(s.srv.URL, s.ownerEmail, ownerPassword)
	b.Open("new permission", s.srv.URL+"/settings/roles-access/send-as/new")
	b.Type("details", "From Name", "Acme News", "From Email", "news@acme.example")
	b.Click("assign", byButton("Next: Assign Users"))
	b.Sees("on the assign step", "Assign Users")
	b.Click("save", byButton("Save Permission"))
	b.Sees("saved", "Saved the permission for news@acme.example")
	perms, err := s.svc.SendAsPermissions(ownerCtx)
	if err != nil || len(perms) != 1 || perms[0].HasReplyTo() {
		t.Fatalf("saved: %+v, %v; want one permission without a Reply-To", perms, err)
	}
}
