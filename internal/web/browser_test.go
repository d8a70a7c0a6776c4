package web_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/store/storetest"
)

// chromium is the browser for the console's browser tests. Without it the
// tests skip, unless MUSTER_TEST_REQUIRE names chromium (or is all).
func chromium(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if storetest.Required("chromium") {
			t.Fatal("chromium is required (MUSTER_TEST_REQUIRE) but not installed")
		}
		t.Skip("chromium is not installed")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.WindowSize(1280, 900))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	return ctx
}

// screenshot writes the page to MUSTER_SCREENSHOTS (when set) or, when the
// test has failed, to the test's log directory, so a person can look.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("MUSTER_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return
	}
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
}

// byLabel finds the input, select or textarea a <label> names.
func byLabel(label string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//*[@id=//label[normalize-space(.)=%q]/@for]`, label))
}

// byButton finds a button or link by its visible text or accessible name.
func byButton(name string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//*[(self::button or self::a or self::summary) and (normalize-space(.)=%q or @aria-label=%q)]`, name, name))
}

// tab is one browser tab driven by a test.
type tab struct {
	t   *testing.T
	ctx context.Context
}

// do runs actions that do not load a page.
func (b tab) do(name string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", name, err)
	}
}

// load runs actions that load a page and waits for it.
func (b tab) load(name string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if _, err := chromedp.RunResponse(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", name, err)
	}
}

// text is the page's visible text.
func (b tab) text() string {
	b.t.Helper()
	body, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		b.t.Fatal(err)
	}
	return body
}

// sees fails unless the page shows every one of texts.
func (b tab) sees(what string, texts ...string) {
	b.t.Helper()
	body := b.text()
	for _, s := range texts {
		if !strings.Contains(body, s) {
			b.t.Fatalf("%s: the page does not show %q:\n%s", what, s, body)
		}
	}
}

// signIn signs in through the sign-in page.
func (b tab) signIn(base, email, password string) {
	b.t.Helper()
	b.load("sign-in page", chromedp.Navigate(base+"/signin"))
	b.do("type", chromedp.SendKeys(byLabel("Email"), email), chromedp.SendKeys(byLabel("Password"), password))
	b.load("sign in", chromedp.Click(byButton("Sign in")))
}

// otherBrowser is a second person: a browser context with its own cookies.
func otherBrowser(t *testing.T, ctx context.Context) tab {
	other, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	return tab{t: t, ctx: other}
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
	ctx := chromium(t)
	if !javascript {
		// Set on the tab before the first page; it holds across navigations.
		if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled,
			emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatal(err)
		}
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
	defer func() {
		if t.Failed() {
			os.Setenv("MUSTER_SCREENSHOTS", t.TempDir())
			screenshot(t, ctx, "failure")
			t.Logf("failure screenshot in %s", os.Getenv("MUSTER_SCREENSHOTS"))
		}
	}()

	b := tab{t: t, ctx: ctx}
	step, navigate, text := b.do, b.load, b.text
	navigate("open the set-up link", chromedp.Navigate(link))
	screenshot(t, ctx, "accept")
	step("type a password", chromedp.SendKeys(byLabel("Password"), "olive's long password"))
	navigate("set it", chromedp.Click(byButton("Set password and sign in")))
	if body := text(); !strings.Contains(body, "Olive Owner") || !strings.Contains(body, "1 used") {
		t.Fatalf("after set-up:\n%s", body)
	}
	screenshot(t, ctx, "profile")

	step("open the menu", chromedp.Click(byButton("Olive Owner")))
	navigate("Settings", chromedp.Click(byButton("Settings")))
	screenshot(t, ctx, "users")
	navigate("Invite a User", chromedp.Click(byButton("Invite a User")))
	step("fill the form",
		chromedp.SendKeys(byLabel("First Name"), "Bella"),
		chromedp.SendKeys(byLabel("Last Name"), "Basic"),
		chromedp.SendKeys(byLabel("Email"), "bella@example.com"))
	screenshot(t, ctx, "invite")
	navigate("Invite", chromedp.Click(byButton("Invite")))
	if body := text(); !strings.Contains(body, "Invitation sent to bella@example.com.") || !strings.Contains(body, "2 used") {
		t.Fatalf("after inviting:\n%s", body)
	}
	screenshot(t, ctx, "users-invited")

	step("open Bella's actions", chromedp.Click(byButton("Actions for Bella Basic")))
	navigate("Withdraw", chromedp.Click(byButton("Withdraw")))
	if body := text(); !strings.Contains(body, "seat is freed") {
		t.Fatalf("confirmation:\n%s", body)
	}
	screenshot(t, ctx, "withdraw-confirm")
	navigate("confirm", chromedp.Click(byButton("Withdraw")))
	body := text()
	if !strings.Contains(body, "was withdrawn") || strings.Contains(body, "bella@example.com") || !strings.Contains(body, "1 used") {
		t.Fatalf("after withdrawing:\n%s", body)
	}
}

func TestBrowserSendAs(t *testing.T) {
	ctx := chromium(t)
	s := newSite(t)
	_, ownerCtx := s.org()
	if _, err := s.svc.SetEmailAtScale(ownerCtx, true); err != nil {
		t.Fatal(err)
	}
	teams, _ := s.svc.Teams(ownerCtx)
	people := map[string]*muster.User{}
	for _, name := range []string{"Ann", "Bob"} {
		res, err := s.svc.Invite(ownerCtx, service.InviteInput{FirstName: name, LastName: "Sender",
			Email: strings.ToLower(name) + "@example.com", Role: muster.RoleBasic, PrimaryTeamID: teams[0].ID})
		if err != nil {
			t.Fatal(err)
		}
		s.browser().acceptInvitation(s.deliver(res.User.Email).Link("/invitations/"), name+"'s long password")
		people[name] = res.User
	}
	b := tab{t: t, ctx: ctx}
	defer func() {
		if t.Failed() {
			os.Setenv("MUSTER_SCREENSHOTS", t.TempDir())
			screenshot(t, ctx, "failure")
			t.Logf("failure screenshot in %s", os.Getenv("MUSTER_SCREENSHOTS"))
		}
	}()
	b.signIn(s.srv.URL, s.ownerEmail, "owner's long password")
	b.load("Send As tab", chromedp.Navigate(s.srv.URL+"/settings/roles-access"))
	b.load("open it", chromedp.Click(byButton("Send As Permissions")))
	b.load("New Permission", chromedp.Click(byButton("New Permission")))
	b.do("details",
		chromedp.SendKeys(byLabel("From Name"), "Acme News"),
		chromedp.SendKeys(byLabel("From Email"), "news@acme.example"),
		chromedp.Click(chromedp.Search(`//input[@name="different_reply_to"]`)),
		chromedp.SendKeys(byLabel("Reply-To Name"), "Comms Team"),
		chromedp.SendKeys(byLabel("Reply-To Email"), "comms@acme.example"))
	screenshot(t, ctx, "sendas-details")
	b.load("Next: Assign Users", chromedp.Click(byButton("Next: Assign Users")))
	b.load("+ Ann", chromedp.Click(byButton("Add Ann Sender")))
	b.load("+ Bob", chromedp.Click(byButton("Add Bob Sender")))
	screenshot(t, ctx, "sendas-assign")
	b.load("Save Permission", chromedp.Click(byButton("Save Permission")))
	b.sees("after saving", "Remind each user to also add news@acme.example", "Acme News <news@acme.example>", "Comms Team <comms@acme.example>")
	screenshot(t, ctx, "sendas-list")

	ann := otherBrowser(t, ctx)
	ann.signIn(s.srv.URL, "ann@example.com", "Ann's long password")
	ann.sees("Ann's profile", "My sender addresses", "news@acme.example", "replies go to Comms Team")

	if err := s.svc.Deactivate(ownerCtx, people["Bob"].ID); err != nil {
		t.Fatal(err)
	}
	perms, _ := s.svc.SendAsPermissions(ownerCtx)
	if len(perms) != 1 || len(perms[0].UserIDs) != 1 || perms[0].UserIDs[0] != people["Ann"].ID {
		t.Fatalf("grants after Bob's deactivation: %+v", perms)
	}
	// The console shows the grant gone too.
	b.load("list again", chromedp.Navigate(s.srv.URL+"/settings/roles-access/send-as"))
	b.do("open the actions", chromedp.Click(byButton("Actions for Acme News <news@acme.example>")))
	b.load("Edit", chromedp.Click(byButton("Edit")))
	b.load("to the users", chromedp.Click(byButton("Next: Assign Users")))
	b.sees("assigned after Bob's deactivation", "Ann Sender")
	if body := b.text(); strings.Contains(body, "Bob Sender") {
		t.Fatalf("Bob, deactivated, is still assigned or offered:\n%s", body)
	}
}
