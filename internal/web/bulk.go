package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/muster-app/muster/internal/httperr"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

// bulkWording is how the console words a bulk action: its choice in the
// Users tab, the statuses it is for, and its confirmation and outcome.
type bulkWording struct {
	action   service.BulkAction
	label    string
	eligible []muster.Status
	// reason says why users of other statuses are skipped.
	reason string
	// noun counts what the action makes: "invitation", "user".
	one, many string
	// verb and past say what it does to count of noun, in team (for the
	// team actions): "Withdraw 3 invitations", "Withdrew 3 invitations".
	verb, past func(count, team string) string
	// row is a changed user's outcome.
	row func(team string) string
	// ends says the action ends people's access or invitations: its
	// button is the red of the single-user confirmations.
	ends bool
}

var bulkActions = []bulkWording{
	{action: service.BulkResend, label: "Resend invite", eligible: []muster.Status{muster.StatusPending},
		reason: "only Pending users have an invitation to resend", one: "invitation", many: "invitations",
		verb: func(n, _ string) string { return "Resend " + n },
		past: func(n, _ string) string { return "Resent " + n },
		row:  func(string) string { return "New invitation sent" }},
	{action: service.BulkWithdraw, label: "Withdraw", eligible: []muster.Status{muster.StatusPending},
		reason: "only Pending users have an invitation to withdraw", one: "invitation", many: "invitations",
		verb: func(n, _ string) string { return "Withdraw " + n },
		past: func(n, _ string) string { return "Withdrew " + n },
		row:  func(string) string { return "Withdrawn" }, ends: true},
	{action: service.BulkDeactivate, label: "Deactivate", eligible: []muster.Status{muster.StatusActive},
		reason: "only Active users can be deactivated", one: "user", many: "users",
		verb: func(n, _ string) string { return "Deactivate " + n },
		past: func(n, _ string) string { return "Deactivated " + n },
		row:  func(string) string { return "Deactivated" }, ends: true},
	{action: service.BulkInviteAgain, label: "Invite again", eligible: []muster.Status{muster.StatusDeactivated},
		reason: "only Deactivated users can be invited again", one: "user", many: "users",
		verb: func(n, _ string) string { return "Invite " + n + " again" },
		past: func(n, _ string) string { return "Invited " + n + " again" },
		row:  func(string) string { return "Invited again" }},
	{action: service.BulkAddSecondary, label: "Add a secondary team", eligible: []muster.Status{muster.StatusPending, muster.StatusActive},
		reason: "only Pending and Active users' teams can be changed", one: "user", many: "users",
		verb: func(n, team string) string { return "Add " + n + " to " + team },
		past: func(n, team string) string { return "Added " + n + " to " + team },
		row:  func(team string) string { return "Added to " + team }},
	{action: service.BulkSetPrimary, label: "Set the primary team", eligible: []muster.Status{muster.StatusPending, muster.StatusActive},
		reason: "only Pending and Active users' teams can be changed", one: "user", many: "users",
		verb: func(n, team string) string { return "Make " + team + " the primary team of " + n },
		past: func(n, team string) string { return "Made " + team + " the primary team of " + n },
		row:  func(team string) string { return "Primary team is now " + team }},
}

func bulkWordingOf(a service.BulkAction) bulkWording {
	for _, w := range bulkActions {
		if w.action == a {
			return w
		}
	}
	return bulkActions[0]
}

// bulkPage is the confirmation of a bulk action, or, once confirmed, what
// it did to each user.
type bulkPage struct {
	Page
	Heading string
	Lines   []string
	// Confirm: the form that applies the action.
	Confirm bool
	Action  string
	TeamID  int64
	UserIDs []int64
	Button  string
	// Danger marks a Button that ends access or invitations.
	Danger bool
	Back   string
	// Results: one row per user.
	Results []bulkRow
}

type bulkRow struct {
	Name, Email, Outcome string
	Done, Refused        bool
}

// bulkInput reads the Users tab's bulk form: the action, its team, and the
// users ticked or, with "select all matching", the filters.
func bulkInput(r *http.Request) service.BulkInput {
	f := r.PostForm
	team, _ := strconv.ParseInt(f.Get("team_id"), 10, 64)
	in := service.BulkInput{Action: service.BulkAction(f.Get("action")), TeamID: team,
		UserIDs: formIDs(f["user_ids"]), All: f.Get("all") == "1"}
	if in.All {
		in.Query = usersQuery(r.PostForm)
		in.Query.Cursor, in.Query.Count = "", false
	}
	return in
}

// handleBulk shows what a bulk action will do and asks to confirm it; once
// confirmed, it applies it and shows what it did to each user.
func (s *Server) handleBulk(w http.ResponseWriter, r *http.Request) {
	if !s.parseFormBack(w, r, usersPath, "Back to Users") {
		return
	}
	in := bulkInput(r)
	confirmed := r.PostForm.Get("confirm") == "1"
	var plan *service.BulkPlan
	var err error
	if confirmed {
		plan, err = s.svc.ApplyBulk(r.Context(), in)
	} else {
		plan, err = s.svc.PlanBulk(r.Context(), in)
	}
	switch muster.ErrorCode(err) {
	case "":
	case muster.EINVALID:
		u, _ := current(r)
		s.message(w, r, httperr.Status(err), messagePage{Page: Page{Title: "Not done", User: u},
			Heading: "Nothing was changed", Message: muster.ErrorMessage(err), Link: back(r), LinkText: "Back to Users"})
		return
	default:
		s.refused(w, r, err)
		return
	}
	wording := bulkWordingOf(plan.Action)
	team := ""
	if plan.Team != nil {
		team = plan.Team.Name
	}
	p := bulkPage{Page: s.page(w, r, wording.label), Back: back(r), Action: string(plan.Action), TeamID: in.TeamID}
	p.Section = "users"
	todo := plan.Todo()
	if !confirmed {
		p.Confirm = true
		p.Heading = wording.verb(plural(todo, wording.one, wording.many), team) + "?"
		p.Button, p.Danger = wording.verb(plural(todo, wording.one, wording.many), team), wording.ends
		p.Lines = append(whoLine(plan), skippedLines(plan, wording)...)
		if plan.Action == service.BulkInviteAgain && plan.Org.SeatsFree() < todo {
			p.Lines = append(p.Lines, "Only "+plural(plan.Org.SeatsFree(), "license seat is", "license seats are")+
				" free: once they are taken, the others are refused.")
		}
		for _, it := range plan.Items {
			p.UserIDs = append(p.UserIDs, it.User.ID)
		}
		if todo == 0 {
			p.Heading, p.Button = "Nothing to do", ""
		}
		s.render(w, r, http.StatusOK, "bulk", p)
		return
	}
	var done, skipped, refused int
	for _, it := range plan.Items {
		row := bulkRow{Name: it.User.Name(), Email: it.User.Email}
		switch {
		case it.Done:
			done++
			row.Outcome, row.Done = wording.row(team), true
		case it.Skip != nil:
			skipped++
			row.Outcome = "Skipped: " + muster.ErrorMessage(it.Skip)
		default:
			refused++
			row.Outcome, row.Refused = "Refused: "+muster.ErrorMessage(it.Err), true
		}
		p.Results = append(p.Results, row)
	}
	p.Heading = wording.past(plural(done, wording.one, wording.many), team) + "."
	if skipped > 0 {
		p.Heading += " Skipped " + strconv.Itoa(skipped) + "."
	}
	if refused > 0 {
		p.Heading += " Refused " + strconv.Itoa(refused) + "."
	}
	s.render(w, r, http.StatusOK, "bulk", p)
}

// bulkNamed is how many of the users a bulk action changes its
// confirmation names.
const bulkNamed = 10

// whoLine names the users a bulk action is for, the first bulkNamed of
// them.
func whoLine(plan *service.BulkPlan) []string {
	var names []string
	n := 0
	for _, it := range plan.Items {
		if it.Skip == nil {
			if n < bulkNamed {
				names = append(names, it.User.Name())
			}
			n++
		}
	}
	if n == 0 {
		return nil
	}
	line := "For " + strings.Join(names, ", ")
	if n > len(names) {
		line += " and " + plural(n-len(names), "other", "others")
	}
	return []string{line + "."}
}

// skippedLines say, before a bulk action, which users it skips and why:
// those of the statuses it is not for, counted by status, and the others
// by reason (the actor's powers, a team they already have).
func skippedLines(plan *service.BulkPlan, wording bulkWording) []string {
	type group struct {
		n      int
		status muster.Status
		msg    string
	}
	var groups []*group
	find := func(status muster.Status, msg string) *group {
		for _, g := range groups {
			if g.status == status && g.msg == msg {
				return g
			}
		}
		g := &group{status: status, msg: msg}
		groups = append(groups, g)
		return g
	}
	for _, it := range plan.Items {
		switch {
		case it.Skip == nil:
		case !slices.Contains(wording.eligible, it.User.Status):
			find(it.User.Status, "").n++
		default:
			find("", muster.ErrorMessage(it.Skip)).n++
		}
	}
	var lines []string
	for _, g := range groups {
		verb := " are skipped: "
		if g.n == 1 {
			verb = " is skipped: "
		}
		if g.status != "" {
			label := g.status.Label() + " user"
			lines = append(lines, plural(g.n, label, label+"s")+verb+wording.reason+".")
		} else {
			lines = append(lines, plural(g.n, "user", "users")+verb+g.msg)
		}
	}
	return lines
}
