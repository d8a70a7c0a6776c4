package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/muster-app/muster/internal/muster"
)

//go:embed templates
var templateFS embed.FS

// pageNames are the pages; each is templates/NAME.html rendered inside
// templates/layout.html.
var pageNames = []string{"profile", "setup", "setup_done", "message", "signin", "password", "reset_request",
	"sessions", "change_password", "mailbox", "mail", "api_tokens", "users", "invite", "confirm", "edit", "teams", "team_rename", "audit", "sendas_list",
	"sendas_form", "organization"}

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
			ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html")
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

// showFieldErrors puts each of err's field messages beside the input it is
// about: inputs maps the service's field names (muster.Field…) to the Error
// of the input that shows them. It returns what the top of the form says:
// err's own message when no input shows one, else a summary.
func showFieldErrors(err error, inputs map[string]*string) string {
	if err == nil {
		return ""
	}
	shown := 0
	for _, fe := range muster.ErrorFields(err) {
		if msg, ok := inputs[fe.Field]; ok && *msg == "" {
			*msg = fe.Message
			shown++
		}
	}
	switch shown {
	case 0:
		return muster.ErrorMessage(err)
	case 1:
		return "Please correct the problem marked below."
	}
	return "Please correct the " + strconv.Itoa(shown) + " problems marked below."
}

// messagePage is a page with one message and an optional link.
type messagePage struct {
	Page
	Heading  string
	Message  string
	Link     string
	LinkText string
}

// render writes a page with status. The page is rendered in full before
// anything is sent, so a template error becomes a plain 500.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	t, ok := s.pages.byName[name]
	if !ok {
		s.log.Error("web: no such page", "page", name)
		http.Error(w, "Something went wrong on our side. Please try again.", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		s.log.Error("web: rendering failed", "page", name, "err", err)
		http.Error(w, "Something went wrong on our side. Please try again.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// serverError logs an internal error and shows a page that says nothing
// about it.
func (s *Server) serverError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("web: internal error", "method", r.Method, "route", r.Pattern, "err", err)
	s.render(w, r, http.StatusInternalServerError, "message", messagePage{
		Page:    Page{Title: "Something went wrong"},
		Heading: "Something went wrong",
		Message: "Something went wrong on our side. Please try again.",
	})
}
