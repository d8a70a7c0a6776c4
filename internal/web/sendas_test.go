package web_test

import (
	"context"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
	"github.com/muster-app/muster/internal/testsupport/benchseed"
)

// TestSendAsEditOfThousands: a permission granted with Select All in an org
// of thousands of Active users is edited in the console: the form sends
// back what the edit changes, not the users' ids (which outgrew the
// console's 64 KB forms, so that such a permission could not be saved),
// Assign Users shows a page of them with how many more, and the saved
// permission keeps every user but the one taken off (SEND-1).
func TestSendAsEditOfThousands(t *testing.T) {
	ctx := context.Background()
	db := seededSQLite(t, 8000)
	s := newSiteOn(t, db)
	ownerCtx, _, err := benchseed.Owner(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.svc.SetEmailAtScale(ownerCtx, true); err != nil {
		t.Fatal(err)
	}
	perm, err := s.svc.CreateSendAs(ownerCtx, service.SendAsInput{FromName: "Acme News", FromEmail: "news@acme.example",
		SelectAll: true})
	if err != nil {
		t.Fatal(err)
	}
	users := len(perm.UserIDs)
	if size := len(url.Values{"user_ids": make([]string, users)}.Encode()) + users*5; size < 64<<10 {
		t.Fatalf("%d users' ids make a form of %d bytes: too few to test a form of thousands", users, size)
	}
	b := s.browser()
	wantRedirect(t, b.signIn(benchseed.OwnerEmail, benchseed.OwnerPassword), "/")

	// The tab and the deletion's confirmation count the users.
	want(t, b.get("/settings/roles-access/send-as"), 200, fmt.Sprintf(`<td data-label="Users">%s</td>`, thousands(users)))
	want(t, b.get(fmt.Sprintf("/settings/roles-access/send-as/%d/delete", perm.ID)), 200,
		fmt.Sprintf("%s users will no longer be allowed to send as news@acme.example.", thousands(users)))
	// The audit log names the first ten and counts the others.
	p := b.get("/settings/audit-log?action=send_as.assigned")
	want(t, p, 200, fmt.Sprintf(" and %s others send as news@acme.example", thousands(users-10)))
	if len(p.body) > 64<<10 {
		t.Fatalf("the audit log of one grant to %d users is %d bytes; want it under 64 KB", users, len(p.body))
	}

	edit := fmt.Sprintf("/settings/roles-access/send-as/%d/edit", perm.ID)
	p = b.get(edit)
	want(t, p, 200, `<input type="hidden" name="keep" value="1">`)
	form := hiddenFields(p.body)
	if form.Has("user_ids") {
		t.Fatal("the edit form sends the permission's users back")
	}
	form.Set("from_name", "Acme Weekly")
	form.Set("from_email", perm.FromEmail)
	form.Set("step", "assign")
	p = b.post(edit, form)
	more := fmt.Sprintf("%s more users are assigned: search to find one.", thousands(users-50))
	want(t, p, 200, more, "No other active users match.")
	shown := removable.FindAllStringSubmatch(p.body, -1)
	if len(shown) != 50 || len(p.body) > 64<<10 {
		t.Fatalf("Assign Users shows %d users in %d bytes; want 50 of the %d in a page of less than 64 KB",
			len(shown), len(p.body), users)
	}

	// One taken off: listed apart, with + to put them back.
	id, name := shown[0][1], html.UnescapeString(shown[0][2])
	form = hiddenFields(p.body)
	form.Set("remove", id)
	form.Set("step", "assign")
	p = b.post(edit, form)
	want(t, p, 200, "Taken off", fmt.Sprintf(`<input type="hidden" name="removed_ids" value="%s">`, id),
		fmt.Sprintf(`name="add" value="%s"`, id), fmt.Sprintf("%s more users are assigned", thousands(users-51)))
	// + puts them back; "Remove everyone assigned before" leaves nobody,
	// and every Active user to choose from.
	back := hiddenFields(p.body)
	back.Set("add", id)
	back.Set("step", "assign")
	if p := b.post(edit, back); strings.Contains(p.body, `name="removed_ids"`) || strings.Contains(p.body, "Taken off") {
		t.Fatalf("%s put back is still taken off", name)
	}
	none := hiddenFields(p.body)
	none.Set("remove", "kept")
	none.Set("step", "assign")
	want(t, b.post(edit, none), 200, "Nobody yet.", fmt.Sprintf(`aria-label="Add %s"`, html.EscapeString(name)))
	// The search finds the users the permission keeps.
	kept := html.UnescapeString(shown[1][2])
	form = hiddenFields(p.body)
	form.Set("q", kept)
	form.Set("step", "assign")
	want(t, b.post(edit, form), 200, fmt.Sprintf(`aria-label="Remove %s"`, html.EscapeString(kept)),
		"whose names or emails do not match the search")

	form = hiddenFields(p.body)
	form.Set("step", "save")
	wantRedirect(t, b.post(edit, form), "/settings/roles-access/send-as")
	saved, err := s.svc.SendAs(ownerCtx, perm.ID)
	if err != nil {
		t.Fatal(err)
	}
	removed, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if saved.FromName != "Acme Weekly" || len(saved.UserIDs) != users-1 || slices.Contains(saved.UserIDs, removed) {
		t.Fatalf("saved %q with %d users; want Acme Weekly with the %d but %s", saved.FromName, len(saved.UserIDs),
			users, name)
	}
}

// removable finds Assign Users' chosen users: their ids and names.
var removable = regexp.MustCompile(`name="remove" value="(\d+)" aria-label="Remove ([^"]+)"`)

// hiddenFields are the hidden fields of the page's forms, as a browser
// sends them back.
func hiddenFields(body string) url.Values {
	form := url.Values{}
	for _, m := range regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`).FindAllStringSubmatch(body, -1) {
		form.Add(m[1], html.UnescapeString(m[2]))
	}
	return form
}

// thousands writes n as the console does, with commas.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// TestSendAsEditChoices: in an edit, Select All after a user was taken off
// is every Active user, and says so (the page no longer lists them as
// taken off); "Remove everyone assigned before" leaves the permission with
// nobody once saved, and is not offered while Select All is on.
func TestSendAsEditChoices(t *testing.T) {
	s := newSite(t)
	owner, ownerCtx := s.sendAsOrg()
	ann := s.invite(ownerCtx, "Ann", "Able", "ann@example.com", muster.RoleBasic)
	s.join(ann.Email, "Ann's long password")
	perm, err := s.svc.CreateSendAs(ownerCtx, service.SendAsInput{FromName: "News", FromEmail: "news@acme.example",
		SelectAll: true})
	if err != nil {
		t.Fatal(err)
	}
	b := s.browser()
	wantRedirect(t, b.signIn(s.ownerEmail, ownerPassword), "/")
	edit := fmt.Sprintf("/settings/roles-access/send-as/%d/edit", perm.ID)
	step := func(p page, field, value string) page {
		t.Helper()
		form := hiddenFields(p.body)
		form.Set("from_name", "News")
		form.Set("from_email", perm.FromEmail)
		form.Set("step", "assign")
		if field != "" {
			form.Set(field, value)
		}
		return b.post(edit, form)
	}
	assign := step(b.get(edit), "", "")
	takenOff := step(assign, "remove", strconv.FormatInt(ann.ID, 10))
	want(t, takenOff, 200, "Taken off", "Remove everyone assigned before")
	all := step(takenOff, "choose_all", "1")
	want(t, all, 200, "Every active user when you save")
	if strings.Contains(all.body, "Taken off") || strings.Contains(all.body, `name="removed_ids"`) ||
		strings.Contains(all.body, "Remove everyone assigned before") {
		t.Fatal("Select All still lists Ann as taken off, or offers to remove everyone assigned before")
	}
	form := hiddenFields(all.body)
	form.Set("step", "save")
	wantRedirect(t, b.post(edit, form), "/settings/roles-access/send-as")
	saved, err := s.svc.SendAs(ownerCtx, perm.ID)
	if err != nil || !slices.Equal(saved.UserIDs, []int64{owner.ID, ann.ID}) {
		t.Fatalf("saved with Select All: %v, %v; want the Owner and Ann", saved.UserIDs, err)
	}

	none := step(step(b.get(edit), "", ""), "remove", "kept")
	want(t, none, 200, "Nobody yet.")
	form = hiddenFields(none.body)
	form.Set("step", "save")
	wantRedirect(t, b.post(edit, form), "/settings/roles-access/send-as")
	if saved, err := s.svc.SendAs(ownerCtx, perm.ID); err != nil || len(saved.UserIDs) != 0 {
		t.Fatalf("saved after removing everyone: %v, %v; want nobody", saved.UserIDs, err)
	}
}

// TestSendAsEditIsNotNew: the form of an existing permission is headed and
// titled Edit Permission, not New Permission, which only the form of a new
// one says (SEND-1: New Permission, then Edit and delete).
func TestSendAsEditIsNotNew(t *testing.T) {
	s := newSite(t)
	_, ownerCtx := s.sendAsOrg()
	perm, err := s.svc.CreateSendAs(ownerCtx, service.SendAsInput{FromName: "News", FromEmail: "news@acme.example"})
	if err != nil {
		t.Fatal(err)
	}
	b := s.browser()
	wantRedirect(t, b.signIn(s.ownerEmail, ownerPassword), "/")
	want(t, b.get("/settings/roles-access/send-as/new"), 200, "<title>New Permission · Muster</title>",
		"<h1>New Permission</h1>")
	edit := fmt.Sprintf("/settings/roles-access/send-as/%d/edit", perm.ID)
	p := b.get(edit)
	want(t, p, 200, "<title>Edit Permission · Muster</title>", "<h1>Edit Permission</h1>", `value="news@acme.example"`)
	if strings.Contains(p.body, "<h1>New Permission</h1>") {
		t.Fatal("the form of the existing permission news@acme.example is headed New Permission")
	}
	// Back from Assign Users to the details: still the edit.
	form := hiddenFields(p.body)
	form.Set("from_name", "News")
	form.Set("from_email", perm.FromEmail)
	form.Set("step", "details")
	want(t, b.post(edit, form), 200, "<h1>Edit Permission</h1>")
}
