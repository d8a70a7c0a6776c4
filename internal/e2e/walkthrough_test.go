package e2e_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/muster-app/muster/internal/testsupport/browsertest"
	"github.com/muster-app/muster/internal/testsupport/mailtest"
)

var byButton, byCheckbox, inRow = browsertest.ByButton, browsertest.ByCheckbox, browsertest.InRow

// counter is the license counter in the console's upper right (CON-4).
func counter(used, total int) string {
	return fmt.Sprintf("%d used · %d total · %d remaining", used, total, total-used)
}

// mailFor waits for the nth email to rcpt (counting from 1) and returns it.
func mailFor(t *testing.T, smtp *mailtest.Server, rcpt string, nth int) *mailtest.Message {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		all := smtp.Messages()
		var to []*mailtest.Message
		for _, m := range all {
			for _, r := range m.To {
				if strings.EqualFold(r, rcpt) {
					to = append(to, m)
				}
			}
		}
		if len(to) >= nth {
			return to[nth-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("email %d to %s did not arrive; %d did", nth, rcpt, len(to))
		}
		smtp.WaitFor(t, len(all)+1, time.Until(deadline))
	}
}

// inviteThroughForm fills "Invite a User" and clicks Invite; role and
// primary are left as the form offers them when empty. It checks that the
// Secondary Teams leave out the Primary Team.
func inviteThroughForm(b *browsertest.Tab, first, last, email, role, primary string) {
	b.T.Helper()
	b.Click("invite form", byButton("Invite a User"))
	b.Type("fill the invitation", "First Name", first, "Last Name", last, "Email", email)
	if role != "" {
		b.Choose("Role", role)
	}
	b.Do("the Default Team, primary, is not offered as secondary", chromedp.WaitNotPresent(secondaryOption("Default Team")))
	if primary != "" {
		b.Choose("Primary Team", primary)
		b.Do(primary+", primary, is not offered as secondary", chromedp.WaitNotPresent(secondaryOption(primary)),
			chromedp.WaitReady(secondaryOption("Default Team")))
	}
	b.Click("invited "+first, byButton("Invite"))
}

// secondaryOption is the team offered by "Add a secondary team".
func secondaryOption(team string) chromedp.Search {
	return chromedp.Search(fmt.Sprintf(`//select[@id="add_secondary"]/option[normalize-space(.)=%q and not(@hidden)]`, team))
}

// userAction opens the "…" menu of the user whose row shows email and
// clicks item.
func userAction(b *browsertest.Tab, email, name, item string) {
	b.T.Helper()
	b.Do("open the actions of "+email, chromedp.Click(inRow(email, "Actions for "+name)))
	b.Click(item+" "+email, inRow(email, item))
}

// TestBrowserWalkthrough follows the seed pages in a real browser against a
// real muster serve on SQLite whose mail goes to an in-process SMTP server:
// first run, set-up link, invitations and their emails, teams, resend,
// withdraw, a second person accepting, edit, deactivate, invite again and a
// full license.
func TestBrowserWalkthrough(t *testing.T) {
	olive := browsertest.Chromium(t)
	smtp := mailtest.Start(t)
	srv := serve(t, "--db", filepath.Join(t.TempDir(), "muster.db"), "--smtp", smtp.URL(), "--mail-from", "muster@example.com")

	// First run: an empty database shows the set-up page.
	olive.Open("first run", srv.URL+"/")
	olive.Sees("first-run page", "Set up Muster")
	olive.Type("the organization and its Owner", "Organization name", "Acme", "License total", "3",
		"First Name", "Olive", "Last Name", "Owner", "Email", "olive@example.com")
	olive.Click("set up", byButton("Create organization"))
	olive.Sees("after set-up", "Acme is ready", "You, Olive Owner (olive@example.com), are its Owner.")
	setupMail := mailFor(t, smtp, "olive@example.com", 1)
	link := setupMail.Link("/invitations/")
	if link == "" || olive.Href(link) != link {
		t.Fatalf("the set-up email's link %q is not the one on the page:\n%s", link, setupMail.Text)
	}
	olive.Click("set-up link", byButton(link))
	olive.Sees("set-up link", "Join Acme", "olive@example.com")
	olive.Type("choose a password", "Password", "olive's long password")
	olive.Click("profile", byButton("Set password and sign in"))
	olive.Sees("Olive's profile", "Olive Owner", "Default Team", counter(1, 3))

	// Settings → Roles & Access → Invite a User: a Basic User in the
	// Default Team, as the form offers.
	olive.Do("open the name menu", chromedp.Click(byButton("Olive Owner")))
	olive.Click("roles and access", byButton("Settings"))
	olive.Sees("Settings", "Roles & Access", "Users", "Teams", "Olive Owner")
	olive.Click("invite form", byButton("Invite a User"))
	if role, team := olive.Selected("Role"), olive.Selected("Primary Team"); role != "Basic User" || team != "Default Team" {
		t.Fatalf("the invitation form offers %q in %q; want Basic User in Default Team", role, team)
	}
	olive.Type("fill the invitation", "First Name", "Bella", "Last Name", "Basic", "Email", "bella@example.com")
	olive.Click("invited Bella", byButton("Invite"))
	olive.Sees("after inviting Bella", "Invitation sent to bella@example.com.", counter(2, 3))
	if row := olive.Row("bella@example.com"); !strings.Contains(row, "Basic User") || !strings.Contains(row, "Pending") ||
		!strings.Contains(row, "Default Team") {
		t.Fatalf("Bella's row: %q", row)
	}
	invitation := mailFor(t, smtp, "bella@example.com", 1)
	if invitation.Subject != "Olive Owner invited you to join Acme on Muster" ||
		!strings.Contains(invitation.Text, "Your email address is your username: bella@example.com") {
		t.Fatalf("Bella's invitation: %q\n%s", invitation.Subject, invitation.Text)
	}
	bellaFirstLink := invitation.Link("/invitations/")

	// Teams: create one and invite a Manager into it.
	olive.Click("teams", byButton("Teams"))
	olive.Type("name the team", "Team name", "Comms")
	olive.Click("team created", byButton("Create"))
	olive.Sees("after creating", "Created the team Comms.")
	olive.Click("users", byButton("Users"))
	inviteThroughForm(olive, "Max", "Miller", "max@example.com", "Manager", "Comms")
	olive.Sees("after inviting Max", "Invitation sent to max@example.com.", counter(3, 3))
	if row := olive.Row("max@example.com"); !strings.Contains(row, "Manager") || !strings.Contains(row, "Comms") {
		t.Fatalf("Max's row: %q", row)
	}

	// Remove team says up front who has it as primary team, with the count
	// and a link to them.
	olive.Click("teams", byButton("Teams"))
	olive.Do("open the actions of Comms", chromedp.Click(byButton("Actions for Comms")))
	olive.Click("remove Comms?", byButton("Remove"))
	olive.Sees("confirmation", "Remove Comms?", "Comms is the primary team of 1 pending or active user", "Max Miller",
		"Move them and remove Comms")
	olive.Click("the team's users", byButton("See everyone in Comms on the Users tab"))
	olive.Sees("Comms's users", "Max Miller")
	olive.SeesNot("Comms's users", "Bella Basic")

	// Resend: the old link is dead.
	olive.Click("users", byButton("Users"))
	userAction(olive, "bella@example.com", "Bella Basic", "Resend invite")
	olive.Sees("after resending", "A new invitation was sent to bella@example.com. Earlier links no longer work.")
	bellaLink := mailFor(t, smtp, "bella@example.com", 2).Link("/invitations/")
	if bellaLink == "" || bellaLink == bellaFirstLink {
		t.Fatalf("the resent link %q; the first was %q", bellaLink, bellaFirstLink)
	}
	bella := olive.Other("bella")
	bella.Open("old link", bellaFirstLink)
	bella.Sees("the first link after a resend", "A newer invitation was sent", "Use the link in the most recent email.")

	// Withdraw: the seat is freed and the row is gone.
	userAction(olive, "bella@example.com", "Bella Basic", "Withdraw")
	olive.Sees("confirmation", "Withdraw the invitation of Bella Basic?", "The license seat is freed")
	olive.Click("withdrawn", byButton("Withdraw"))
	olive.Sees("after withdrawing", "The invitation of Bella Basic was withdrawn. A license seat is free.", counter(2, 3))
	olive.SeesNot("after withdrawing", "bella@example.com")
	bella.Open("withdrawn link", bellaLink)
	bella.Sees("the newest link after withdrawal", "This invitation was withdrawn")

	// Max accepts in a browser of his own.
	max := olive.Other("max")
	max.Open("invitation", mailFor(t, smtp, "max@example.com", 1).Link("/invitations/"))
	max.Sees("Max's invitation", "Join Acme", "max@example.com")
	max.Type("choose a password", "Password", "max's long password")
	max.Click("profile", byButton("Set password and sign in"))
	max.Sees("Max's profile", "Max Miller", "Manager", "Comms")
	olive.Click("users", byButton("Users"))
	if row := olive.Row("max@example.com"); !strings.Contains(row, "Active") {
		t.Fatalf("Max's row after accepting: %q", row)
	}

	// Edit role and teams.
	userAction(olive, "max@example.com", "Max Miller", "Edit")
	olive.Sees("edit", "Edit Max Miller")
	olive.Choose("Role", "Admin")
	olive.Choose("Add a secondary team", "Default Team")
	olive.Click("secondary team added", byButton("Add"))
	olive.Sees("after adding", "Default Team")
	if role := olive.Selected("Role"); role != "Admin" {
		t.Fatalf("after adding a team the form shows the role %q; want the chosen Admin", role)
	}
	olive.Click("saved", byButton("Save"))
	olive.Sees("after saving", "Saved the changes to Max Miller.")
	if row := olive.Row("max@example.com"); !strings.Contains(row, "Admin") || !strings.Contains(row, "Comms") ||
		!strings.Contains(row, "Default Team") {
		t.Fatalf("Max's row after editing: %q", row)
	}
	// Olive's own menu offers Edit but not to deactivate herself (ROLE-2).
	ownMenu := inRow("olive@example.com", "Actions for Olive Owner")
	olive.Do("open Olive's own actions", chromedp.Click(ownMenu))
	if row := olive.Row("olive@example.com"); !strings.Contains(row, "Edit") || strings.Contains(row, "Deactivate") {
		t.Fatalf("Olive's own menu: %q", row)
	}
	olive.Do("close it", chromedp.Click(ownMenu))
	// The new role holds from Max's next request (ROLE-3).
	max.Do("open the name menu", chromedp.Click(byButton("Max Miller")))
	max.Click("profile as admin", byButton("Your profile"))
	max.Sees("Max's profile after the edit", "Admin", "Default Team")

	// Deactivate: Max is signed out on his next click.
	userAction(olive, "max@example.com", "Max Miller", "Deactivate")
	olive.Sees("confirmation", "Deactivate Max Miller?")
	olive.Click("deactivated", byButton("Deactivate"))
	olive.Sees("after deactivating", "Max Miller was deactivated. A license seat is free.", counter(1, 3))
	if row := olive.Row("max@example.com"); !strings.Contains(row, "Deactivated") {
		t.Fatalf("Max's row after deactivating: %q", row)
	}
	max.Do("open the name menu", chromedp.Click(byButton("Max Miller")))
	max.Click("signed out", byButton("Settings"))
	max.Sees("Max's next click", "Sign in", "Your session has ended. Please sign in again.")

	// Invite again: the form holds the previous role and teams.
	userAction(olive, "max@example.com", "Max Miller", "Invite again")
	olive.Sees("invite again", "Invite again", "The form holds their previous role and teams.")
	if first, email := olive.Value("First Name"), olive.Value("Email"); first != "Max" || email != "max@example.com" {
		t.Fatalf("invite again holds %q %q", first, email)
	}
	if role, team := olive.Selected("Role"), olive.Selected("Primary Team"); role != "Admin" || team != "Comms" {
		t.Fatalf("invite again offers %q in %q; want Admin in Comms", role, team)
	}
	olive.Sees("invite again", "Default Team")
	olive.Do("Secondary Teams hold Default Team", chromedp.WaitReady(byButton("Remove Default Team")))
	olive.Do("and not Comms, the primary team", chromedp.WaitNotPresent(byButton("Remove Comms")))
	olive.Click("invited again", byButton("Invite"))
	olive.Sees("after inviting again", "Invitation sent to max@example.com.", counter(2, 3))
	mailFor(t, smtp, "max@example.com", 2)

	// Fill the seats; one more invitation is refused in the spec's words
	// and the form keeps what was typed.
	inviteThroughForm(olive, "Cid", "Cole", "cid@example.com", "", "")
	olive.Sees("after the last seat", "Invitation sent to cid@example.com.", counter(3, 3))
	inviteThroughForm(olive, "Dot", "Dale", "dot@example.com", "", "")
	olive.Sees("no seat left",
		"No licenses remaining: 3 of 3 in use. Withdraw a pending invitation or deactivate a user to free one.", counter(3, 3))
	if first, email := olive.Value("First Name"), olive.Value("Email"); first != "Dot" || email != "dot@example.com" {
		t.Fatalf("after the refusal the form holds %q %q", first, email)
	}
}
