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

func TestBrowserInviteAndWithdraw(t *testing.T) {
	ctx := chromium(t)
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

	step := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	navigate := func(name string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if _, err := chromedp.RunResponse(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	text := func() string {
		t.Helper()
		body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		if err != nil {
			t.Fatal(err)
		}
		return body
	}

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
