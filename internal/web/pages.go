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
	"sendas_form", "organization", "provisioning", "webhooks", "webhook", "webhook_edit", "webhook_secret",
	"webhook_delivery", "sso_redirect", "signin_recovery", "sso_settings", "sso_domains", "sso_test"}

// pages holds the parsed templates, one per page.
type pages struct {
	byName map[string]*template.Template
}

// parsePages parses every page once, at start, and fails on a missing or
// broken template.
func parsePages() (*pages, error) {
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Option("missingkey=error").
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
	// Refresh, when set, sends the browser on to this URL at once (a meta
	// refresh, which needs no script): the page that leads to an identity
	// provider, which a form's redirect may not reach under the CSP's
	// form-action 'self'.
	Refresh string
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
}

// DescribedBy lists the ids of the field's hint and error, for
// aria-describedby.
func (f Field) DescribedBy() string {
	var ids []string
	if f.Error != "" {
		ids = append(ids, f.ID+"-error")
	}
	if f.Hint != "" {
		ids = append(ids, f.ID+"-hint")
	}
	return strings.Join(ids, " ")
}
