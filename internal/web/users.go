package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

// usersPath is Settings → Roles & Access, whose first tab is Users.
const usersPath = "/settings/roles-access"

func userPath(id int64, action string) string {
	p := usersPath + "/users/" + strconv.FormatInt(id, 10)
	if action != "" {
		p += "/" + action
	}
	return p
}

// pageSizes are the Users tab's choices of users per page.
var pageSizes = []int{25, 50, 100}

// usersPage is the Users tab (CON-2, CON-3): a page of users in one of six
// orders, with its position in the whole ("1–50 of 308"), filters, bulk
// actions and each row's "…" menu.
type usersPage struct {
	Page
	Search  string
	Status  string
	Role    string
	TeamID  int64
	TwoStep string
	// Teams are the team filter's choices, BulkTeams the bulk actions'.
	Teams     []option
	BulkTeams []option
	Statuses  []option
	Roles     []option
	TwoSteps  []option
	Sizes     []option
	// Order is the current order, kept by the filter form.
	Sort, Dir string
	Columns   map[string]sortColumn
	Rows      []userRow
	// Range says which users the page shows of how many ("1–50 of 308").
	Range      string
	Prev, Next string
	// Total counts the users the filters select; AllMatching offers to
	// select them all for a bulk action.
	Total       int
	AllMatching string
	BulkActions []option
	Report      *muster.Report
	Reports     []reportLink
	Filtered    bool
	// Guide shows the Owner of a new organization what to do first.
	Guide   bool
	Mailbox bool
	// Back is this page's address, where a bulk action returns.
	Back string
}

// PagerLabel names the pager's pages.
func (usersPage) PagerLabel() string { return "Pages of users" }

// sortColumn is a column header that sorts the list: its link, and its
// aria-sort when the list is in its order.
type sortColumn struct {
	URL, AriaSort, Arrow string
}

// option is one choice of a select, rendered by the template function
// options.
type option struct {
	Value, Label string
	Selected     bool
	// Hidden keeps a choice in the list but out of sight: "Add a secondary
	// team" holds the primary team, for the script that offers it once
	// another team is primary.
	Hidden bool
}

// defaultTeamID is the id of the Default Team among teams, 0 if it is not
// among them.
func defaultTeamID(teams []muster.TeamName) int64 {
	if i := slices.IndexFunc(teams, func(t muster.TeamName) bool { return t.IsDefault }); i >= 0 {
		return teams[i].ID
	}
	return 0
}

// teamOptions are the org's teams as a select's choices, the team selected
// chosen (none for 0).
func teamOptions(teams []muster.TeamName, selected int64) []option {
	opts := make([]option, len(teams))
	for i, t := range teams {
		opts[i] = option{Value: strconv.FormatInt(t.ID, 10), Label: t.Name, Selected: t.ID == selected}
	}
	return opts
}

// reportLink is a finished user list its requester can download.
type reportLink struct{ URL, Label string }

// userRow is a user as the Users tab (and the user page) shows them, with
// the actions the signed-in user may take.
type userRow struct {
	ID             int64
	Name           string
	Email          string
	Role           string
	Status         muster.Status
	Expired        bool
	TwoStep        bool
	Invited        timeLabel
	LastSignIn     timeLabel
	PrimaryTeam    string
	SecondaryTeams []string
	DetailURL      string
	ResendURL      string
	CopyLinkURL    string
	WithdrawURL    string
	EditURL        string
	DeactivateURL  string
	InviteAgainURL string
}

// HasActions reports whether the row's "…" menu has anything in it.
func (r userRow) HasActions() bool {
	return r.ResendURL != "" || r.CopyLinkURL != "" || r.WithdrawURL != "" || r.EditURL != "" ||
		r.DeactivateURL != "" || r.InviteAgainURL != ""
}

// timeLabel is a time as a table shows it: a short date, with the full
// time for the datetime attribute and the tooltip.
type timeLabel struct {
	Short, Full, Machine string
}

func newTimeLabel(t, now time.Time) timeLabel {
	if t.IsZero() {
		return timeLabel{Short: "Never"}
	}
	return timeLabel{Short: shortDate(t, now), Full: humanTime(t), Machine: t.UTC().Format(time.RFC3339)}
}

// shortDate is t's day, its year left out when it is now's.
func shortDate(t, now time.Time) string {
	if t.UTC().Year() == now.UTC().Year() {
		return t.UTC().Format("Jan 2")
	}
	return t.UTC().Format("Jan 2, 2006")
}

func teamNames(teams []muster.TeamName) map[int64]string {
	names := make(map[int64]string, len(teams))
	for _, t := range teams {
		names[t.ID] = t.Name
	}
	return names
}

// newUserRow is u as a row for actor, with the actions the policy allows
// them, so that nobody is offered an action that is always refused, such
// as deactivating themselves or the Owner.
func newUserRow(actor, u *muster.User, names map[int64]string, now time.Time) userRow {
	row := userRow{ID: u.ID, Name: u.Name(), Email: u.Email, Role: u.Role.Label(), Status: u.Status,
		Expired: u.InvitationExpired(now), PrimaryTeam: names[u.PrimaryTeamID], Invited: newTimeLabel(u.InvitedAt, now),
		LastSignIn: newTimeLabel(u.LastSignInAt, now), DetailURL: userPath(u.ID, "")}
	for _, id := range u.SecondaryTeamIDs {
		row.SecondaryTeams = append(row.SecondaryTeams, names[id])
	}
	allowed := func(action string) bool { return muster.CheckUserAction(action, actor.Role, actor.ID, u) == nil }
	if muster.CheckEditUser(actor.Role, actor.ID, u, false) == nil {
		row.EditURL = userPath(u.ID, "edit")
	}
	if allowed(muster.ActionInviteResent) {
		row.ResendURL = userPath(u.ID, "resend")
	}
	if allowed(muster.ActionInviteLinkCopied) {
		row.CopyLinkURL = userPath(u.ID, "invite-link")
	}
	if allowed(muster.ActionInviteWithdrawn) {
		row.WithdrawURL = userPath(u.ID, "withdraw")
	}
	if allowed(muster.ActionUserDeactivated) {
		row.DeactivateURL = userPath(u.ID, "deactivate")
	}
	if muster.CheckTransition(muster.ActionUserReinvited, u.Status) == nil &&
		muster.CheckGrantRole(actor.Role, u.Role) == nil {
		row.InviteAgainURL = usersPath + "/users/invite?again=" + strconv.FormatInt(u.ID, 10)
	}
	return row
}

// usersQuery reads the Users tab's query: filters, order, page size and
// cursor.
func usersQuery(q url.Values) service.UserQuery {
	team, _ := strconv.ParseInt(q.Get("team"), 10, 64)
	size, _ := strconv.Atoi(q.Get("size"))
	if size <= 0 {
		size = service.DefaultPageSize
	}
	return service.UserQuery{Search: strings.TrimSpace(q.Get("q")), Status: q.Get("status"), Role: q.Get("role"),
		TeamID: team, TwoStep: q.Get("two_step"), Sort: q.Get("sort"), Desc: q.Get("dir") == "desc", Cursor: q.Get("after"), Limit: size, Count: true}
}

// thousands writes n with commas between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// plural is "1 user" or "2 users".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return thousands(n) + " " + many
}

// userRange says which users a page shows of how many: "1–50 of 308".
func userRange(page *service.UserPage) string {
	if len(page.Users) == 0 {
		return ""
	}
	total := thousands(page.Total)
	if page.Total >= service.MaxUserCount {
		total = "more than " + total
	}
	return pageRange(page.Offset, len(page.Users), total)
}

// pageRange says which rows a page of n shows after offset others, of total:
// "51–100 of 308".
func pageRange(offset, n int, total string) string {
	return thousands(offset+1) + "–" + thousands(offset+n) + " of " + total
}

func (s *Server) handleUsers(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	q := r.Form
	uq := usersQuery(q)
	p := usersPage{Page: s.page(w, r, "Roles & Access"), Search: uq.Search, Status: uq.Status, Role: uq.Role, TwoStep: uq.TwoStep,
		TeamID: uq.TeamID, Sort: q.Get("sort"), Dir: q.Get("dir"), Mailbox: s.mailbox, Back: r.URL.RequestURI()}
	p.Section = "users"
	p.Filtered = p.Search != "" || p.Status != "" || p.Role != "" || p.TeamID != 0 || p.TwoStep != ""
	users, err := s.svc.FindUserDirectory(r.Context(), uq)
	if s.refused(w, r, err) {
		return
	}
	p.Report, p.Total = users.Report, users.Total
	p.Teams, p.BulkTeams = teamOptions(users.Teams, p.TeamID), teamOptions(users.Teams, 0)
	for _, rep := range users.Reports {
		p.Reports = append(p.Reports, reportLink{URL: reportPath + strconv.FormatInt(rep.ID, 10) + "/download",
			Label: "User list of " + humanTime(rep.FinishedAt) + " (" + plural(rep.RowsTotal, "user", "users") + ")"})
	}
	for _, st := range []muster.Status{muster.StatusPending, muster.StatusActive, muster.StatusDeactivated} {
		p.Statuses = append(p.Statuses, option{Value: string(st), Label: st.Label(), Selected: string(st) == p.Status})
	}
	for _, role := range muster.Roles {
		p.Roles = append(p.Roles, option{Value: string(role), Label: role.Label(), Selected: string(role) == p.Role})
	}
	p.TwoSteps = []option{{Value: "on", Label: "On", Selected: p.TwoStep == "on"},
		{Value: "off", Label: "Off", Selected: p.TwoStep == "off"}}
	for _, n := range pageSizes {
		p.Sizes = append(p.Sizes, option{Value: strconv.Itoa(n), Label: strconv.Itoa(n), Selected: n == uq.Limit})
	}
	for _, a := range bulkActions {
		p.BulkActions = append(p.BulkActions, option{Value: string(a.action), Label: a.label})
	}
	p.Columns = sortColumns(q)
	names := teamNames(users.Teams)
	now := s.svc.Now()
	actor, _ := current(r)
	// The rows' actions return to this page of the tab, its search,
	// filters and order kept, as the bulk actions do.
	backHere := ""
	if p.Back != usersPath {
		backHere = "?" + url.Values{"back": {p.Back}}.Encode()
	}
	for _, u := range users.Users {
		row := newUserRow(actor, u, names, now)
		row.TwoStep = u.TwoStep
		for _, link := range []*string{&row.WithdrawURL, &row.EditURL, &row.DeactivateURL} {
			if *link != "" {
				*link += backHere
			}
		}
		p.Rows = append(p.Rows, row)
	}
	p.Range = userRange(&users.UserPage)
	if p.Total > 0 {
		p.AllMatching = "Select all " + plural(p.Total, "matching user", "matching users")
	}
	p.Guide = !p.Filtered && p.Total <= 1 && actor.Role == muster.RoleOwner
	page := func(cursor string) string {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Set("after", cursor)
		return usersPath + "?" + v.Encode()
	}
	if users.NextCursor != "" {
		p.Next = page(users.NextCursor)
	}
	if users.PrevCursor != "" {
		p.Prev = page(users.PrevCursor)
	}
	s.render(w, r, http.StatusOK, "users", p)
}

// sortColumns are the Users tab's sortable headers: each links to its
// order, ascending (dates newest first) or the other way round when the
// list is already in it; the list starts again from the first page.
func sortColumns(q url.Values) map[string]sortColumn {
	cur, desc := q.Get("sort"), q.Get("dir") == "desc"
	if cur == "" {
		cur = string(muster.SortName)
	}
	cols := map[string]sortColumn{}
	for _, o := range muster.UserSorts {
		v := url.Values{}
		for k, vs := range q {
			if k != "after" && k != "sort" && k != "dir" {
				v[k] = vs
			}
		}
		dates := o == muster.SortInvited || o == muster.SortLastSignIn
		c := sortColumn{}
		nextDesc := dates
		if string(o) == cur {
			nextDesc = !desc
			c.AriaSort, c.Arrow = "ascending", "▲"
			if desc {
				c.AriaSort, c.Arrow = "descending", "▼"
			}
		}
		if o != muster.SortName {
			v.Set("sort", string(o))
		}
		if nextDesc {
			v.Set("dir", "desc")
		}
		c.URL = usersPath
		if len(v) > 0 {
			c.URL += "?" + v.Encode()
		}
		cols[string(o)] = c
	}
	return cols
}

func (s *Server) handleDownloadUsers(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	rep, err := s.svc.RequestUserList(r.Context())
	if s.refused(w, r, err) {
		return
	}
	u, _ := current(r)
	msg := "Your user list is being prepared. It will be emailed to " + u.Email + " when it is ready."
	if s.mailbox {
		msg = "Your user list is being prepared. No email server is set up, so its download link will be listed " +
			"on this tab when it is ready."
	}
	if rep.Status == muster.ReportRunning || rep.RequestedBy != u.ID {
		msg = "A user list is already being prepared; it will be sent to whoever asked for it."
	}
	// Back to the page it was asked from, its search and filters kept.
	s.redirectWith(w, r, back(r), msg)
}
