package web

import (
	"embed"
	"fmt"
	"html/template"
	"strings"

	"github.com/muster-app/muster/internal/muster"
)

//go:embed templates
var templateFS embed.FS

// pageNames are the pages; each is templates/NAME.html rendered inside
// templates/layout.html, with the partials that templates/partial_*.html
// define for several pages.
var pageNames = []string{"profile", "setup", "setup_done", "message", "signin", "password", "reset_request",
	"sessions", "change_password", "mailbox", "mail", "api_tokens", "users", "invite", "confirm", "edit", "teams", "team_rename", "audit", "sendas_list",
	"sendas_form", "organization", "user", "bulk", "invite_link", "team_remove", "welcome", "provisioning", "webhooks", "webhook", "webhook_edit",
	"webhook_secret", "webhook_delivery", "sso_redirect", "signin_recovery", "sso_settings", "sso_domains", "sso_test",
	"security", "totp_setup", "signin_two_step", "recovery_codes", "factor_remove", "imports", "import",
	"passkey_rename"}

// templateFuncs are the functions templates call.
var templateFuncs = template.FuncMap{
	"summary": summarize,
	// email lets a long email break before its @ only.
	"email": func(e string) template.HTML {
		local, domain, ok := strings.Cut(e, "@")
		if !ok {
			return template.HTML(template.HTMLEscapeString(e))
		}
		return template.HTML(template.HTMLEscapeString(local) + "<wbr>@" + template.HTMLEscapeString(domain))
	},
	"options":    renderOptions,
	"timeLabel":  newTimeLabel,
	"groupRefOf": func(id, label, msg string) groupRef { return groupRef{id, label, msg} },
	"sortHead": func(label string, col sortColumn) any {
		return struct {
			Label string
			Col   sortColumn
		}{label, col}
	},
}

// renderOptions is a select's options as HTML, each value and label
// escaped. Built here rather than by a range in the template: a team select
// can hold thousands of teams, and the template's escapers and comparisons,
// called through reflection, cost microseconds an option (the Users tab of an
// org of 2,020 teams took 18 ms on SQLite, more than half of it its two team
// selects).
func renderOptions(opts []option) template.HTML {
	var b strings.Builder
	for _, o := range opts {
		b.WriteString(`<option value="`)
		b.WriteString(template.HTMLEscapeString(o.Value))
		b.WriteByte('"')
		if o.Selected {
			b.WriteString(" selected")
		}
		if o.Hidden {
			b.WriteString(" hidden disabled")
		}
		b.WriteByte('>')
		b.WriteString(template.HTMLEscapeString(o.Label))
		b.WriteString("</option>")
	}
	return template.HTML(b.String())
}

// pages holds the parsed templates, one per page.
type pages struct {
	byName map[string]*template.Template
}

// parsePages parses every page once, at start, and fails on a missing or
// broken template.
func parsePages() (*pages, error) {
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Option("missingkey=error").Funcs(templateFuncs).
			ParseFS(templateFS, "templates/layout.html", "templates/partial_*.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

// Page is what every page's data starts with.
type Page struct {
	Title string
	// User is the signed-in user, for the header; nil on public pages.
	User *muster.User
	// Admin is set for Owners and Admins, who see Settings and License.
	Admin   bool
	License *muster.Org
	// Flash is the outcome of the form sent before this page.
	Flash string
	// Section marks the Settings sidebar entry and tab that are open.
	Section string
	// Failed is set by render for a page sent with an error status: its
	// title starts with "Error: ".
	Failed bool
	// Wide pages use the console's width without a Settings sidebar.
	Wide bool
	// Refresh, when set, sends the browser on to this URL at once (a meta
	// refresh, which needs no script): the page that leads to an identity
	// provider, which a form's redirect may not reach under the CSP's
	// form-action 'self'.
	Refresh string
	// RefreshEvery, when set, reloads the page every so many seconds
	// without JavaScript (a page that shows a job's progress; the
	// console's script updates it in place instead).
	RefreshEvery int
}

// LicenseNear is the share of licenses in use from which the counter
// warns.
const LicenseNear = 0.9

// LicenseState says how close the org is to its license total: "full" at
// it, "near" from LicenseNear, else "".
func (p Page) LicenseState() string {
	switch l := p.License; {
	case l == nil:
		return ""
	case l.SeatsUsed >= l.LicenseTotal:
		return "full"
	case float64(l.SeatsUsed) >= LicenseNear*float64(l.LicenseTotal):
		return "near"
	}
	return ""
}

// IsOwner reports whether the signed-in user is the Owner.
func (p Page) IsOwner() bool { return p.User != nil && p.User.Role == muster.RoleOwner }

// errorSummary is the box at the top of a form the server refused: what
// went wrong, with a link to each input concerned. It takes the focus when
// the page loads, and the page's title says there is an error.
type errorSummary struct {
	Message string
	Links   []errorLink
}

type errorLink struct{ ID, Text string }

// fieldRef is an input that can be in an error summary.
type fieldRef interface {
	ref() (id, label, msg string)
}

func (f Field) ref() (string, string, string)        { return f.ID, f.Label, f.Error }
func (f selectField) ref() (string, string, string)  { return f.ID, f.Label, f.Error }
func (p personPicker) ref() (string, string, string) { return p.ID, p.Label, p.Error }

// groupRef is an input group (checkboxes, chips) in an error summary: its
// first control's id.
type groupRef struct{ ID, Label, Error string }

func (g groupRef) ref() (string, string, string) { return g.ID, g.Label, g.Error }

// summarize is the error summary of a form whose top says msg and whose
// fields may hold errors; nil when msg is empty.
func summarize(msg string, fields ...fieldRef) *errorSummary {
	if msg == "" {
		return nil
	}
	s := &errorSummary{Message: msg}
	for _, f := range fields {
		if id, label, m := f.ref(); m != "" {
			s.Links = append(s.Links, errorLink{ID: id, Text: label + ": " + m})
		}
	}
	return s
}

// Field is one labelled input of a form.
type Field struct {
	ID           string // the input's id and name
	Label        string
	Type         string // text, email, number
	Value        string // as the person typed it
	Error        string // the service's message about the field
	Hint         string
	Autocomplete string
	Max          int // maxlength, or max for numbers
	// Optional fields are not required by the browser; the service says
	// when one is needed (a Reply-To only when replies go elsewhere).
	Optional bool
	// ZeroOK lets a number field take 0; numbers start at 1 otherwise.
	ZeroOK bool
	// ReadOnly fields show a value the form does not change.
	ReadOnly bool
}

// Width is how wide the input is drawn, by what it holds: "s" for a
// number, "l" for an email, "m" otherwise.
func (f Field) Width() string {
	switch f.Type {
	case "number":
		return "s"
	case "email":
		return "l"
	}
	return "m"
}

// DescribedBy lists the ids of the field's hint and error, for
// aria-describedby.
func (f Field) DescribedBy() string { return describedBy(f.ID, f.Error != "", f.Hint != "", false) }

// describedBy lists, for aria-describedby, the ids of an input's error,
// hint and role help, those it has.
func describedBy(id string, hasError, hasHint, hasRoles bool) string {
	var ids []string
	for _, d := range []struct {
		has    bool
		suffix string
	}{{hasError, "-error"}, {hasHint, "-hint"}, {hasRoles, "-roles"}} {
		if d.has {
			ids = append(ids, id+d.suffix)
		}
	}
	return strings.Join(ids, " ")
}

// selectField is one labelled select of a form.
type selectField struct {
	ID, Label, Error, Hint string
	Options                []option
	// Roles, for a role select, says what each role offered can do.
	Roles []roleHelp
}

// DescribedBy lists the ids of the select's hint, role help and error, for
// aria-describedby.
func (f selectField) DescribedBy() string {
	return describedBy(f.ID, f.Error != "", f.Hint != "", len(f.Roles) > 0)
}

// roleHelp is one line of what a role can do (SPEC §2).
type roleHelp struct{ Label, Help string }

// roleHelps says what each role can do, in one line (SPEC §2).
var roleHelps = map[muster.Role]string{
	muster.RoleOwner: "everything an Admin can, and changes the license total, manages Admins and transfers ownership.",
	muster.RoleAdmin: "manages users, teams and Send As permissions, sees the license counter and downloads the user list; " +
		"invites and changes Managers and Basic Users.",
	muster.RoleManager: "sees their own profile, teams and sender addresses, as a Basic User does; no access to Settings.",
	muster.RoleBasic:   "sees their own profile, teams and sender addresses; no access to Settings.",
}

// roleSelect is the Role select offering roles, chosen the one selected,
// with what each can do.
func roleSelect(roles []muster.Role, chosen muster.Role) selectField {
	f := selectField{ID: "role", Label: "Role"}
	for _, rl := range roles {
		f.Options = append(f.Options, option{Value: string(rl), Label: rl.Label(), Selected: rl == chosen})
		f.Roles = append(f.Roles, roleHelp{rl.Label(), roleHelps[rl]})
	}
	return f
}

// Errors is the set-up form's error summary.
func (p setupPage) Errors() *errorSummary {
	return summarize(p.Message, p.Org, p.Licenses, p.FirstName, p.LastName, p.Email)
}

// Errors is the sign-in form's error summary.
func (p signInPage) Errors() *errorSummary { return summarize(p.Message) }

// Errors is the password form's error summary.
func (p passwordPage) Errors() *errorSummary {
	if p.Message == "" && p.Pass.Error != "" {
		return summarize("Please correct the problem marked below.", p.Pass)
	}
	return summarize(p.Message, p.Pass)
}

// Errors is the form's error summary.
func (p changePasswordPage) Errors() *errorSummary { return summarize(p.Message, p.Current, p.Pass) }

// Errors is the confirmation's error summary.
func (p confirmPage) Errors() *errorSummary {
	if p.Password != nil {
		return summarize(p.Message, *p.Password)
	}
	return summarize(p.Message)
}

// Errors is the form's error summary.
func (p sendAsFormPage) Errors() *errorSummary {
	return summarize(p.Message, p.FromName, p.FromEmail, p.ReplyToName, p.ReplyToEmail)
}
