// Package browsertest drives Debian's chromium through chromedp for the
// console's browser tests: one Tab per person, elements found by label,
// role and visible text, and a screenshot of every page a Tab loads, kept
// when the test fails (and always under MUSTER_SCREENSHOTS=dir) so a person
// can look at what the test saw.
//
// It is a normal package so that internal/web and internal/e2e share it;
// only tests import it.
package browsertest

import (
	"context"
	_ "embed"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/muster-app/muster/internal/testsupport/storetest"
)

// StepTimeout bounds one step: an element that never appears fails the
// test after this long instead of at the test binary's deadline.
const StepTimeout = 20 * time.Second

// Chromium starts a browser for the test and returns its first tab. Without
// chromium the test skips, unless MUSTER_TEST_REQUIRE names chromium (or is
// all).
func Chromium(t *testing.T) *Tab {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if storetest.Required("chromium") {
			t.Fatal("chromium is required (MUSTER_TEST_REQUIRE) but not installed")
		}
		t.Skip("chromium is not installed")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.WindowSize(1366, 900))
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	// The first run starts the browser; it must not carry a step's timeout,
	// whose end would close the browser with it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	shots := &shots{t: t}
	t.Cleanup(shots.keep)
	tab := &Tab{T: t, Ctx: ctx, shots: shots}
	t.Cleanup(tab.atFailure) // before keep: cleanups run last first
	return tab
}

// atFailure records the page as it is when the test has failed, which may
// be later than the last page loaded.
func (b *Tab) atFailure() {
	if b.T.Failed() {
		b.Screenshot("at failure")
	}
}

// Tab is one browser tab driven by a test: one person.
type Tab struct {
	T   *testing.T
	Ctx context.Context
	// Name prefixes this tab's screenshots, to tell people apart.
	Name  string
	shots *shots
}

// Other is a second person: a new browser context with its own cookies, in
// the same browser. name prefixes its screenshots.
func (b *Tab) Other(name string) *Tab {
	b.T.Helper()
	ctx, cancel := chromedp.NewContext(b.Ctx, chromedp.WithNewBrowserContext())
	other := &Tab{T: b.T, Ctx: ctx, Name: name, shots: b.shots}
	b.T.Cleanup(func() { other.atFailure(); cancel() })
	if err := chromedp.Do(ctx); err != nil {
		b.T.Fatalf("opening a browser context for %s: %v", name, err)
	}
	return other
}

// DisableJavaScript turns scripts off for the tab; it holds across
// navigations. Call it before the first page.
func (b *Tab) DisableJavaScript() {
	b.T.Helper()
	if _, err := chromedp.Call(b.Ctx, emulation.SetScriptExecutionDisabled,
		emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		b.T.Fatal(err)
	}
}

func (b *Tab) step() (context.Context, context.CancelFunc) {
	return context.WithTimeout(b.Ctx, StepTimeout)
}

// Do runs actions that do not load a page, such as typing or opening a
// menu.
func (b *Tab) Do(name string, actions ...chromedp.Action[chromedp.Void]) {
	b.T.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.Screenshot(name + " (failed)")
		b.T.Fatalf("%s: %v", name, err)
	}
}

// Load runs actions that load a page, waits for it and records a
// screenshot of it named name.
func (b *Tab) Load(name string, actions ...chromedp.Action[chromedp.Void]) {
	b.T.Helper()
	ctx, cancel := b.step()
	defer cancel()
	_, err := chromedp.RunResponse(ctx, actions...)
	b.Screenshot(name)
	if err != nil {
		b.T.Fatalf("%s: %v", name, err)
	}
}

// Open loads url.
func (b *Tab) Open(name, url string) { b.T.Helper(); b.Load(name, chromedp.Navigate(url)) }

// Click clicks what sel finds and waits for the page it loads.
func (b *Tab) Click(name string, sel chromedp.Search) {
	b.T.Helper()
	b.Load(name, chromedp.Click(sel))
}

// Text is the page's visible text.
func (b *Tab) Text() string {
	b.T.Helper()
	ctx, cancel := b.step()
	defer cancel()
	body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		b.T.Fatal(err)
	}
	return body
}

// Sees fails unless the page shows every one of texts.
func (b *Tab) Sees(what string, texts ...string) {
	b.T.Helper()
	body := b.Text()
	for _, s := range texts {
		if !strings.Contains(body, s) {
			b.T.Fatalf("%s: the page does not show %q:\n%s", what, s, body)
		}
	}
}

// SeesNot fails if the page shows any of texts.
func (b *Tab) SeesNot(what string, texts ...string) {
	b.T.Helper()
	body := b.Text()
	for _, s := range texts {
		if strings.Contains(body, s) {
			b.T.Fatalf("%s: the page shows %q:\n%s", what, s, body)
		}
	}
}

// Value is the current value of the field a label names.
func (b *Tab) Value(label string) string {
	b.T.Helper()
	ctx, cancel := b.step()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Value(ByLabel(label)))
	if err != nil {
		b.T.Fatalf("value of %q: %v", label, err)
	}
	return v
}

// Selected is the visible text of the chosen option of the select a label
// names.
func (b *Tab) Selected(label string) string {
	b.T.Helper()
	value := b.Value(label)
	ctx, cancel := b.step()
	defer cancel()
	text, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.Search(
		fmt.Sprintf(`//select[@id=//label[normalize-space(.)=%q]/@for]/option[@value=%q]`, label, value))))
	if err != nil {
		b.T.Fatalf("chosen option of %q: %v", label, err)
	}
	return strings.TrimSpace(text)
}

// Checked reports whether the checkbox a label wraps is ticked.
func (b *Tab) Checked(label string) bool {
	b.T.Helper()
	ctx, cancel := b.step()
	defer cancel()
	on, err := chromedp.Run(ctx, chromedp.JavascriptAttribute[bool](ByCheckbox(label), "checked"))
	if err != nil {
		b.T.Fatalf("checkbox %q: %v", label, err)
	}
	return on
}

// Href is where the link with the visible text name leads.
func (b *Tab) Href(name string) string {
	b.T.Helper()
	ctx, cancel := b.step()
	defer cancel()
	res, err := chromedp.Run(ctx, chromedp.AttributeValue(ByButton(name), "href"))
	if err != nil || !res.Exists {
		b.T.Fatalf("link %q: %v", name, err)
	}
	return res.Value
}

// Type types into fields given as label, text, label, text…
func (b *Tab) Type(what string, labelText ...string) {
	b.T.Helper()
	var actions []chromedp.Action[chromedp.Void]
	for i := 0; i+1 < len(labelText); i += 2 {
		actions = append(actions, chromedp.SendKeys(ByLabel(labelText[i]), labelText[i+1]))
	}
	b.Do(what, actions...)
}

// Retype replaces what fields given as label, text, label, text… hold, as a
// person selecting all of a field's text and typing over it would.
func (b *Tab) Retype(what string, labelText ...string) {
	b.T.Helper()
	var actions []chromedp.Action[chromedp.Void]
	for i := 0; i+1 < len(labelText); i += 2 {
		actions = append(actions, chromedp.Clear(ByLabel(labelText[i])), chromedp.SendKeys(ByLabel(labelText[i]), labelText[i+1]))
	}
	b.Do(what, actions...)
}

// Choose picks the option with the visible text option in the select a
// label names, as a person would with the keyboard or mouse.
func (b *Tab) Choose(label, option string) {
	b.T.Helper()
	ctx, cancel := b.step()
	defer cancel()
	res, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.Search(
		fmt.Sprintf(`//select[@id=//label[normalize-space(.)=%q]/@for]/option[normalize-space(.)=%q]`, label, option)), "value"))
	if err != nil || !res.Exists {
		b.Screenshot("choose " + option + " (failed)")
		b.T.Fatalf("%s has no option %q: %v", label, option, err)
	}
	// SetValue alone fires no event; a person's choice fires change.
	b.Do("choose "+option+" as "+label, chromedp.SetValue(ByLabel(label), res.Value),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`[...document.querySelectorAll("label")]
			.filter(l => l.textContent.trim() === %q && l.htmlFor)
			.forEach(l => document.getElementById(l.htmlFor).dispatchEvent(new Event("change", {bubbles: true})))`, label)))
}

// SignIn signs in through the sign-in page: the email, Continue, then the
// password.
func (b *Tab) SignIn(base, email, password string) {
	b.T.Helper()
	b.Open("sign-in page", base+"/signin")
	b.Type("type the email", "Email", email)
	b.Click("the password step", ByButton("Continue"))
	b.Type("type the password", "Password", password)
	b.Click("sign in", ByButton("Sign in"))
}

// Screenshot records the page as name: written at once under
// MUSTER_SCREENSHOTS, and otherwise kept until the test ends and written
// only if it failed.
func (b *Tab) Screenshot(name string) {
	b.T.Helper()
	if b.Name != "" {
		name = b.Name + " " + name
	}
	ctx, cancel := b.step()
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.T.Logf("screenshot %s: %v", name, err)
		return
	}
	b.shots.add(name, png)
}

// shots are a test's screenshots, numbered in the order they were taken.
type shots struct {
	t    *testing.T
	mu   sync.Mutex
	n    int
	kept []shot // without MUSTER_SCREENSHOTS, until the test ends
	dir  string // under MUSTER_SCREENSHOTS
}

type shot struct {
	name string
	png  []byte
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func fileName(n int, name string) string {
	name = strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(name), "-"), "-")
	return fmt.Sprintf("%02d-%s.png", n, name)
}

func (s *shots) add(name string, png []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	if root := os.Getenv("MUSTER_SCREENSHOTS"); root != "" {
		if s.dir == "" {
			s.dir = filepath.Join(root, unsafeName.ReplaceAllString(s.t.Name(), "-"))
			// An earlier run's pictures would mislead.
			if err := os.RemoveAll(s.dir); err != nil {
				s.t.Logf("screenshots: %v", err)
			}
			if err := os.MkdirAll(s.dir, 0o755); err != nil {
				s.t.Logf("screenshots: %v", err)
			}
			s.t.Logf("screenshots in %s", s.dir)
		}
		if err := os.WriteFile(filepath.Join(s.dir, fileName(s.n, name)), png, 0o644); err != nil {
			s.t.Logf("screenshot %s: %v", name, err)
		}
		return
	}
	s.kept = append(s.kept, shot{fileName(s.n, name), png})
}

// keep writes the kept screenshots to a directory that outlives the test,
// if it failed.
func (s *shots) keep() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.t.Failed() || len(s.kept) == 0 {
		return
	}
	dir, err := os.MkdirTemp("", "muster-screenshots-")
	if err != nil {
		s.t.Logf("screenshots: %v", err)
		return
	}
	for _, sh := range s.kept {
		if err := os.WriteFile(filepath.Join(dir, sh.name), sh.png, 0o644); err != nil {
			s.t.Logf("screenshot %s: %v", sh.name, err)
		}
	}
	s.t.Logf("%d screenshots of the pages this test loaded are in %s; the last ones show where it failed", len(s.kept), dir)
}

// ByLabel finds the input, select or textarea a <label for> names.
func ByLabel(label string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//*[@id=//label[normalize-space(.)=%q]/@for]`, label))
}

// ByCheckbox finds the checkbox a wrapping <label> names.
func ByCheckbox(label string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//label[normalize-space(.)=%q]//input[@type="checkbox"]`, label))
}

// ByButton finds a button, link or menu (summary) by its visible text or
// accessible name.
func ByButton(name string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//*[(self::button or self::a or self::summary) and (normalize-space(.)=%q or @aria-label=%q)]`, name, name))
}

// InRow narrows ByButton to the table row that shows text, such as a
// user's email.
func InRow(text, name string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//tr[td[normalize-space(.)=%q]]//*[(self::button or self::a or self::summary) and (normalize-space(.)=%q or @aria-label=%q)]`,
		text, name, name))
}

// Row is the visible text of the table row with a cell that reads cell,
// such as a user's email.
func (b *Tab) Row(cell string) string {
	b.T.Helper()
	ctx, cancel := b.step()
	defer cancel()
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.Search(fmt.Sprintf(`//tr[td[normalize-space(.)=%q]]`, cell))))
	if err != nil {
		b.T.Fatalf("no row shows %q: %v", cell, err)
	}
	return text
}

// Viewport makes the tab's window w×h CSS pixels; mobile emulates a phone
// (its viewport meta tag honoured, touch). A phone: 390×844, mobile.
func (b *Tab) Viewport(w, h int64, mobile bool) {
	b.T.Helper()
	opts := []chromedp.EmulateViewportOption{chromedp.EmulatePortrait}
	if mobile {
		opts = append(opts, chromedp.EmulateMobile, chromedp.EmulateTouch)
	}
	b.Do(fmt.Sprintf("viewport %d×%d", w, h), chromedp.EmulateViewport(w, h, opts...))
}

// Eval evaluates a JavaScript expression in the page and returns its value.
func Eval[T any](b *Tab, expr string) T {
	b.T.Helper()
	ctx, cancel := b.step()
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.T.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// Press sends keys (chromedp/kb names: kb.Escape, kb.ArrowDown…) to the
// element that has the focus.
func (b *Tab) Press(what, keys string) {
	b.T.Helper()
	b.Do(what, chromedp.KeyEvent(keys))
}

// Focused describes the element that has the focus: its tag, and its
// accessible name as its aria-label or text gives it.
func (b *Tab) Focused() string {
	b.T.Helper()
	return Eval[string](b, `(function (e) { return e ? e.tagName.toLowerCase() + " " +
		(e.getAttribute("aria-label") || e.textContent).trim().replace(/\s+/g, " ") : "" })(document.activeElement)`)
}

//go:embed testdata/axe-core/axe.min.js
var axeSource string

// Audit runs the axe-core accessibility engine (vendored in
// testdata/axe-core) on the page as it is and returns its violations of
// impact serious or critical, each as "rule: what it asks — where".
func (b *Tab) Audit() []string {
	b.T.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](axeSource)); err != nil {
		b.T.Fatalf("loading axe-core: %v", err)
	}
	found, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`axe.run(document, {resultTypes: ["violations"]})
		.then(r => r.violations.filter(v => v.impact === "serious" || v.impact === "critical")
			.map(v => v.id + " (" + v.impact + "): " + v.help + " — " +
				v.nodes.slice(0, 5).map(n => n.target.join(" ") + " " + n.failureSummary.replace(/\s+/g, " ")).join("; ")))`,
		chromedp.EvalAwaitPromise))
	if err != nil {
		b.T.Fatalf("running axe-core: %v", err)
	}
	return found
}

// Roles lists the roles the browser's accessibility tree gives to the
// elements whose accessible name is name, as a screen reader is told them
// ("button", "link", "menuitem"…).
func (b *Tab) Roles(name string) []string {
	b.T.Helper()
	ctx, cancel := b.step()
	defer cancel()
	// The document as a JavaScript object: DOM.getDocument would renumber
	// the nodes chromedp knows, and break its next query.
	doc, err := chromedp.Run(ctx, chromedp.Evaluate[*runtime.RemoteObject](`document`))
	if err != nil {
		b.T.Fatalf("reading the document: %v", err)
	}
	defer chromedp.Call(ctx, runtime.ReleaseObject, runtime.ReleaseObjectParams{ObjectID: doc.ObjectID})
	res, err := chromedp.Call(ctx, accessibility.QueryAXTree, accessibility.QueryAXTreeParams{ObjectID: doc.ObjectID,
		AccessibleName: name})
	if err != nil {
		b.T.Fatalf("reading the accessibility tree: %v", err)
	}
	var roles []string
	for _, n := range res.Nodes {
		if !n.Ignored && n.Role != nil {
			roles = append(roles, strings.Trim(string(n.Role.Value), `"`))
		}
	}
	return roles
}

// SecurityKey is Chromium's virtual authenticator in a tab (the DevTools
// protocol's WebAuthn domain): a security key with a PIN that is always
// plugged in and always touched, whose credentials a test can read.
type SecurityKey struct {
	tab *Tab
	ID  webauthn.AuthenticatorID
}

// AddSecurityKey plugs a virtual security key into the tab: CTAP2 over USB,
// with discoverable credentials and user verification. It holds across
// navigations.
func (b *Tab) AddSecurityKey() *SecurityKey {
	b.T.Helper()
	ctx, cancel := b.step()
	defer cancel()
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		b.T.Fatalf("WebAuthn.enable: %v", err)
	}
	res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{Protocol: webauthn.AuthenticatorProtocolCtap2,
			Ctap2version: webauthn.Ctap2versionCtap21, Transport: webauthn.AuthenticatorTransportUsb,
			HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true}})
	if err != nil {
		b.T.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}
	return &SecurityKey{tab: b, ID: res.AuthenticatorID}
}

// Credentials are the credentials the key holds.
func (k *SecurityKey) Credentials() []*webauthn.Credential {
	k.tab.T.Helper()
	ctx, cancel := k.tab.step()
	defer cancel()
	res, err := chromedp.Call(ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: k.ID})
	if err != nil {
		k.tab.T.Fatalf("WebAuthn.getCredentials: %v", err)
	}
	return res.Credentials
}

// Remove unplugs the key.
func (k *SecurityKey) Remove() {
	k.tab.T.Helper()
	ctx, cancel := k.tab.step()
	defer cancel()
	if _, err := chromedp.Call(ctx, webauthn.RemoveVirtualAuthenticator,
		webauthn.RemoveVirtualAuthenticatorParams{AuthenticatorID: k.ID}); err != nil {
		k.tab.T.Fatalf("WebAuthn.removeVirtualAuthenticator: %v", err)
	}
}
