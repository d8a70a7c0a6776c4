package web

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/muster-app/muster/internal/bufpool"
	"github.com/muster-app/muster/internal/httperr"
	"github.com/muster-app/muster/internal/muster"
)

// render writes a page with status. The page is rendered in full before
// anything is sent, so a template error becomes a plain 500.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	t, ok := s.pages.byName[name]
	if !ok {
		s.log.Error("web: no such page", "page", name)
		http.Error(w, "Something went wrong on our side. Please try again.", http.StatusInternalServerError)
		return
	}
	if status >= 400 {
		data = failed(data)
	}
	buf := bufpool.Get()
	defer bufpool.Put(buf)
	if err := t.Execute(buf, data); err != nil {
		s.log.Error("web: rendering failed", "page", name, "err", err)
		http.Error(w, "Something went wrong on our side. Please try again.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// failed returns data, a page struct that embeds Page, with Failed set, so
// that the title of a page sent with an error status says so.
func failed(data any) any {
	v := reflect.New(reflect.TypeOf(data)).Elem()
	v.Set(reflect.ValueOf(data))
	if f := v.FieldByName("Failed"); f.IsValid() && f.CanSet() && f.Kind() == reflect.Bool {
		f.SetBool(true)
		return v.Interface()
	}
	return data
}

// messagePage is a page with one message and an optional link.
type messagePage struct {
	Page
	Heading  string
	Message  string
	Link     string
	LinkText string
}

// message renders the message page p with status; its title is its heading
// unless p sets one.
func (s *Server) message(w http.ResponseWriter, r *http.Request, status int, p messagePage) {
	if p.Title == "" {
		p.Title = p.Heading
	}
	s.render(w, r, status, "message", p)
}

// serverError logs an internal error and shows a page that says nothing
// about it.
func (s *Server) serverError(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("web: internal error", "method", r.Method, "route", r.Pattern, "err", err)
	s.message(w, r, http.StatusInternalServerError, messagePage{Heading: "Something went wrong",
		Message: "Something went wrong on our side. Please try again."})
}

// notFound says there is nothing at this address.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.message(w, r, http.StatusNotFound, messagePage{Heading: "Not found",
		Message: "There is nothing here. It may have been removed.", Link: "/", LinkText: "Go to Muster"})
}

// refused renders the page for a service refusal and reports whether there
// was one.
func (s *Server) refused(w http.ResponseWriter, r *http.Request, err error) bool {
	u, _ := current(r)
	switch code := muster.ErrorCode(err); code {
	case "":
		return false
	case muster.ENOTFOUND:
		s.notFound(w, r)
	case muster.EFORBIDDEN:
		s.message(w, r, http.StatusForbidden, messagePage{Page: Page{User: u}, Heading: "Not allowed",
			Message: muster.ErrorMessage(err), Link: "/", LinkText: "Back to your profile"})
	case muster.EINTERNAL:
		s.serverError(w, r, err)
	default:
		// Back to the form's back where the handler read its form
		// (parseForm); a body no handler read stays unread.
		link := "/"
		if r.Form != nil {
			link = backOr(r, link)
		}
		httperr.SetRetryAfter(w.Header(), err)
		s.message(w, r, httperr.Status(err), messagePage{Page: Page{Title: "Not done", User: u},
			Heading: "That could not be done", Message: muster.ErrorMessage(err), Link: link, LinkText: "Back"})
	}
	return true
}

// maxFormBytes bounds the body of a form.
const maxFormBytes = 64 << 10

// parseForm reads a bounded form body and the query into r.Form, answering
// a bad one itself. It is the console's one edge for text: every handler
// that reads a form or a query value calls it first, and it refuses a form
// whose names or values are not valid text (muster.TextProblem), so that
// nothing else reaches the service.
func (s *Server) parseForm(w http.ResponseWriter, r *http.Request) bool {
	return s.parseFormBack(w, r, "/", "Go to Muster")
}

// parseFormBack is parseForm whose answer to a bad form links to back,
// labelled backText.
func (s *Server) parseFormBack(w http.ResponseWriter, r *http.Request, back, backText string) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	msg := "The form could not be read. Go back and try again."
	err := r.ParseForm()
	if err == nil {
		if msg = formProblem(r.Form); msg == "" {
			return true
		}
	}
	s.message(w, r, http.StatusBadRequest, messagePage{Heading: "Bad request", Message: msg, Link: back,
		LinkText: backText})
	return false
}

// formProblem says which input of form (query and body) is not valid text
// and why, or "" when all are; names are checked like values.
func formProblem(form url.Values) string {
	for _, name := range slices.Sorted(maps.Keys(form)) {
		if problem := muster.TextProblem(name); problem != "" {
			return "An input's name " + problem + ". Go back and try again."
		}
		for _, v := range form[name] {
			if problem := muster.TextProblem(v); problem != "" {
				return "The input “" + name + "” " + problem + ". Go back, correct it and try again."
			}
		}
	}
	return ""
}

// pathID is the path's {id}: a positive number, else not ok.
func pathID(r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	return id, err == nil && id > 0
}

// pathTarget returns what find returns for the path's {id}, answering a
// bad id or a refusal itself.
func pathTarget[T any](s *Server, w http.ResponseWriter, r *http.Request,
	find func(ctx context.Context, id int64) (T, error)) (T, bool) {
	var zero T
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return zero, false
	}
	v, err := find(r.Context(), id)
	if s.refused(w, r, err) {
		return zero, false
	}
	return v, true
}

// formTarget is pathTarget for a handler that also reads the form or the
// query (such as where to go back to): it reads them first, through
// parseForm.
func formTarget[T any](s *Server, w http.ResponseWriter, r *http.Request,
	find func(ctx context.Context, id int64) (T, error)) (T, bool) {
	if !s.parseForm(w, r) {
		var zero T
		return zero, false
	}
	return pathTarget(s, w, r, find)
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

// flashCookie carries the outcome of a form to the page the browser is
// redirected to, once.
const flashCookie = "muster_flash"

// flash records a message for the next page this browser opens.
func (s *Server) flash(w http.ResponseWriter, msg string) {
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: url.QueryEscape(msg), Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.secureCookies, MaxAge: 60})
}

// takeFlash returns the pending message, if any, and clears it.
func (s *Server) takeFlash(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: "", Path: "/", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.secureCookies, MaxAge: -1})
	msg, err := url.QueryUnescape(c.Value)
	if err != nil {
		return ""
	}
	return msg
}

// redirectWith sends the browser to target with a flash message.
func (s *Server) redirectWith(w http.ResponseWriter, r *http.Request, target, msg string) {
	s.flash(w, msg)
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// humanTime shows a time on a page, in UTC to the minute.
func humanTime(t time.Time) string { return t.UTC().Format("Jan 2, 2006 15:04 UTC") }
