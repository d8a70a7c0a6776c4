package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/muster-app/muster/internal/httperr"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

// Settings → Webhooks (EVT-1): the org's endpoints, each with its delivery
// log. Every action is a form, so all of it works without JavaScript.

func (s *Server) webhookRoutes() {
	s.mux.HandleFunc("GET "+webhooksPath, s.requireUser(s.handleWebhooks))
	s.mux.HandleFunc("POST "+webhooksPath, s.requireUser(s.handleWebhookCreate))
	s.mux.HandleFunc("GET "+webhooksPath+"/{id}", s.requireUser(s.handleWebhook))
	s.mux.HandleFunc("GET "+webhooksPath+"/{id}/edit", s.requireUser(s.handleWebhookEditForm))
	s.mux.HandleFunc("POST "+webhooksPath+"/{id}/edit", s.requireUser(s.handleWebhookEdit))
	s.mux.HandleFunc("POST "+webhooksPath+"/{id}/enabled", s.requireUser(s.handleWebhookEnabled))
	s.mux.HandleFunc("POST "+webhooksPath+"/{id}/rotate", s.requireUser(s.handleWebhookRotate))
	s.mux.HandleFunc("POST "+webhooksPath+"/{id}/test", s.requireUser(s.handleWebhookTest))
	s.mux.HandleFunc("GET "+webhooksPath+"/{id}/delete", s.requireUser(s.handleWebhookDeleteConfirm))
	s.mux.HandleFunc("POST "+webhooksPath+"/{id}/delete", s.requireUser(s.handleWebhookDelete))
	s.mux.HandleFunc("POST "+webhooksPath+"/{id}/redeliver-failed", s.requireUser(s.handleWebhookRedeliverFailed))
	s.mux.HandleFunc("GET "+webhooksPath+"/{id}/deliveries/{delivery_id}", s.requireUser(s.handleWebhookDelivery))
	s.mux.HandleFunc("POST "+webhooksPath+"/{id}/deliveries/{delivery_id}/redeliver", s.requireUser(s.handleWebhookRedeliver))
}

// webhookPath is the page of the endpoint with id, and below it.
func webhookPath(id int64, rest ...string) string {
	return webhooksPath + "/" + strconv.FormatInt(id, 10) + strings.Join(rest, "")
}

// webhookForm is the form that makes or changes an endpoint.
type webhookForm struct {
	Action      string
	URL         Field
	Description Field
	// AllTypes sends every event type; otherwise Types says which.
	AllTypes   bool
	Types      []typeChoice
	TypesError string
	Button     string
}

type typeChoice struct {
	Value   string
	Checked bool
}

func newWebhookForm(action, button, url, description string, types []string, all bool) webhookForm {
	f := webhookForm{Action: action, Button: button, AllTypes: all,
		URL: Field{ID: "url", Label: "Endpoint URL", Type: "url", Value: url, Max: 2000,
			Hint: "Where Muster sends events: an https:// URL of the product that reacts to them."},
		Description: Field{ID: "description", Label: "Description", Type: "text", Value: description, Max: 500,
			Optional: true, Hint: "What receives them, for whoever reads this list later."}}
	for _, t := range muster.EventTypes {
		f.Types = append(f.Types, typeChoice{Value: t, Checked: slices.Contains(types, t)})
	}
	return f
}

// readWebhookForm reads the form's event types: nil for every type. A
// choice of some types with none ticked is refused here, since the service
// takes an empty list for every type.
func readWebhookForm(r *http.Request) (types []string, all bool, problem string) {
	if r.PostForm.Get("scope") != "some" {
		return nil, true, ""
	}
	types = r.PostForm["event_types"]
	if len(types) == 0 {
		return nil, false, "Tick the event types to send, or choose all of them."
	}
	return types, false, ""
}

// showWebhookErrors puts a refusal's messages beside the form's inputs and
// returns the message for the top of the form.
func showWebhookErrors(err error, f *webhookForm) string {
	return showFieldErrors(err, map[string]*string{muster.FieldURL: &f.URL.Error,
		muster.FieldDescription: &f.Description.Error, muster.FieldEventTypes: &f.TypesError})
}

type webhookRow struct {
	URL, Description, Types, Status, Link string
	Enabled                               bool
}

// typesLabel sums up the event types an endpoint receives.
func typesLabel(types []string) string {
	if len(types) == 0 {
		return "All event types"
	}
	return strings.Join(types, ", ")
}

func statusLabel(e *muster.WebhookEndpoint) string {
	switch {
	case e.Enabled && !e.FailingSince.IsZero():
		return "Enabled, failing since " + humanTime(e.FailingSince)
	case e.Enabled:
		return "Enabled"
	}
	return "Disabled"
}

// webhooksPage lists the org's endpoints and makes new ones.
type webhooksPage struct {
	Page
	Endpoints []webhookRow
	Form      webhookForm
	Message   string
}

func (s *Server) renderWebhooks(w http.ResponseWriter, r *http.Request, status int, p webhooksPage) {
	endpoints, err := s.svc.Webhooks(r.Context())
	if s.refused(w, r, err) {
		return
	}
	p.Page = s.page(w, r, "Webhooks")
	p.Section = "webhooks"
	for _, e := range endpoints {
		p.Endpoints = append(p.Endpoints, webhookRow{URL: e.URL, Description: e.Description, Types: typesLabel(e.EventTypes),
			Status: statusLabel(e), Link: webhookPath(e.ID), Enabled: e.Enabled})
	}
	if p.Form.Action == "" {
		p.Form = newWebhookForm(webhooksPath, "Add endpoint", "", "", nil, true)
	}
	s.render(w, r, status, "webhooks", p)
}

func (s *Server) handleWebhooks(w http.ResponseWriter, r *http.Request) {
	s.renderWebhooks(w, r, http.StatusOK, webhooksPage{})
}

// webhookSecretPage shows a signing secret once: after an endpoint is made
// or its secret rotated.
type webhookSecretPage struct {
	Page
	Heading string
	URL     string
	Secret  string
	Link    string
	// PreviousUntil is when the old secret stops signing, after a rotation
	// with an overlap.
	PreviousUntil string
}

func (s *Server) renderWebhookSecret(w http.ResponseWriter, r *http.Request, heading string, out *service.WebhookSecret) {
	p := webhookSecretPage{Page: s.page(w, r, heading), Heading: heading, URL: out.Endpoint.URL, Secret: out.Secret,
		Link: webhookPath(out.Endpoint.ID)}
	p.Section = "webhooks"
	if !out.Endpoint.PreviousSecretUntil.IsZero() {
		p.PreviousUntil = humanTime(out.Endpoint.PreviousSecretUntil)
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "webhook_secret", p)
}

func (s *Server) handleWebhookCreate(w http.ResponseWriter, r *http.Request) {
	if !s.parseFormBack(w, r, webhooksPath, "Back to Webhooks") {
		return
	}
	types, all, problem := readWebhookForm(r)
	form := newWebhookForm(webhooksPath, "Add endpoint", r.PostForm.Get("url"), r.PostForm.Get("description"), types, all)
	if problem != "" {
		form.TypesError = problem
		s.renderWebhooks(w, r, http.StatusUnprocessableEntity, webhooksPage{Form: form, Message: "Please correct the problem marked below."})
		return
	}
	out, err := s.svc.CreateWebhook(r.Context(), service.WebhookInput{URL: form.URL.Value,
		Description: form.Description.Value, EventTypes: types})
	if err == nil {
		s.renderWebhookSecret(w, r, "Endpoint added", out)
		return
	}
	msg := showWebhookErrors(err, &form)
	if form.URL.Error == "" && form.Description.Error == "" && form.TypesError == "" && muster.ErrorCode(err) != muster.ECONFLICT {
		s.refused(w, r, err)
		return
	}
	s.renderWebhooks(w, r, httperr.Status(err), webhooksPage{Form: form, Message: msg})
}

// webhookPage is an endpoint with a page of its delivery log.
type webhookPage struct {
	Page
	ID                                  int64
	URL, Description, Types, Status     string
	Enabled                             bool
	DisabledBecause                     string
	PreviousUntil                       string
	Link, EditLink, DeleteLink          string
	States                              []stateLink
	Deliveries                          []deliveryRow
	Next                                string
	Overlaps                            []option
	SinceDefault                        string
	RotateAction, TestAction, SinceForm string
	EnabledAction, RedeliverAction      string
}

type stateLink struct {
	Label, URL string
	Current    bool
}

type deliveryRow struct {
	Link, Created, EventType, MsgID, State, Attempts, LastStatus, Next, Redeliver string
	Failed                                                                        bool
}

// sinceLayout is how a datetime-local input sends a time, taken as UTC.
const sinceLayout = "2006-01-02T15:04"

func (s *Server) handleWebhook(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	if !s.parseFormBack(w, r, webhooksPath, "Back to Webhooks") {
		return
	}
	q := service.WebhookDeliveryQuery{State: r.Form.Get("state")}
	q.BeforeID, _ = strconv.ParseInt(r.Form.Get("before"), 10, 64)
	log, err := s.svc.FindWebhookLog(r.Context(), id, q)
	if s.refused(w, r, err) {
		return
	}
	e := log.Endpoint
	p := webhookPage{Page: s.page(w, r, e.URL), ID: e.ID, URL: e.URL, Description: e.Description,
		Types: typesLabel(e.EventTypes), Status: statusLabel(e), Enabled: e.Enabled,
		Link: webhookPath(e.ID), EditLink: webhookPath(e.ID, "/edit"), DeleteLink: webhookPath(e.ID, "/delete"),
		RotateAction: webhookPath(e.ID, "/rotate"), TestAction: webhookPath(e.ID, "/test"),
		SinceForm: webhookPath(e.ID, "/redeliver-failed"), EnabledAction: webhookPath(e.ID, "/enabled"),
		SinceDefault: s.svc.Now().Add(-24 * time.Hour).Format(sinceLayout)}
	p.Section = "webhooks"
	if !e.Enabled {
		p.DisabledBecause = service.DisabledReasonText(e)
	}
	if len(e.PreviousSecret) > 0 && s.svc.Now().Before(e.PreviousSecretUntil) {
		p.PreviousUntil = humanTime(e.PreviousSecretUntil)
	}
	for _, st := range []struct{ value, label string }{{"", "All"}, {muster.DeliveryFailed, "Failed"},
		{muster.DeliveryPending, "Pending"}, {muster.DeliverySucceeded, "Succeeded"}} {
		link := p.Link
		if st.value != "" {
			link += "?state=" + st.value
		}
		p.States = append(p.States, stateLink{Label: st.label, URL: link, Current: st.value == q.State})
	}
	for _, o := range []struct {
		hours int
		label string
	}{{0, "None: the old secret stops at once"}, {1, "1 hour"}, {24, "24 hours"}, {168, "7 days"}} {
		p.Overlaps = append(p.Overlaps, option{Value: strconv.Itoa(o.hours), Label: o.label, Selected: o.hours == 24})
	}
	for _, d := range log.Deliveries {
		row := deliveryRow{Link: webhookPath(e.ID, "/deliveries/", strconv.FormatInt(d.ID, 10)), Created: humanTime(d.CreatedAt),
			EventType: d.EventType, MsgID: d.MsgID, State: deliveryState(d), Attempts: strconv.Itoa(d.Attempts),
			Failed: d.State == muster.DeliveryFailed}
		if d.LastStatus != 0 {
			row.LastStatus = strconv.Itoa(d.LastStatus)
		}
		if d.State == muster.DeliveryPending {
			row.Next = humanTime(d.NextAttemptAt)
		} else if e.Enabled {
			row.Redeliver = row.Link + "/redeliver"
		}
		p.Deliveries = append(p.Deliveries, row)
	}
	if log.NextBeforeID != 0 {
		v := url.Values{"before": {strconv.FormatInt(log.NextBeforeID, 10)}}
		if q.State != "" {
			v.Set("state", q.State)
		}
		p.Next = p.Link + "?" + v.Encode()
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "webhook", p)
}

func deliveryState(d *muster.WebhookDelivery) string {
	switch d.State {
	case muster.DeliverySucceeded:
		return "Succeeded"
	case muster.DeliveryFailed:
		return "Failed"
	}
	return "Pending"
}

type webhookEditPage struct {
	Page
	Heading string
	Form    webhookForm
	Message string
	Cancel  string
}

func (s *Server) renderWebhookEdit(w http.ResponseWriter, r *http.Request, status int, id int64, form webhookForm, msg string) {
	p := webhookEditPage{Page: s.page(w, r, "Edit endpoint"), Heading: "Edit endpoint", Form: form, Message: msg,
		Cancel: webhookPath(id)}
	p.Section = "webhooks"
	s.render(w, r, status, "webhook_edit", p)
}

func (s *Server) handleWebhookEditForm(w http.ResponseWriter, r *http.Request) {
	e, ok := pathTarget(s, w, r, s.svc.Webhook)
	if !ok {
		return
	}
	s.renderWebhookEdit(w, r, http.StatusOK, e.ID, newWebhookForm(webhookPath(e.ID, "/edit"), "Save", e.URL, e.Description,
		e.EventTypes, len(e.EventTypes) == 0), "")
}

func (s *Server) handleWebhookEdit(w http.ResponseWriter, r *http.Request) {
	id, ok := s.webhookPost(w, r)
	if !ok {
		return
	}
	types, all, problem := readWebhookForm(r)
	form := newWebhookForm(webhookPath(id, "/edit"), "Save", r.PostForm.Get("url"), r.PostForm.Get("description"), types, all)
	if problem != "" {
		form.TypesError = problem
		s.renderWebhookEdit(w, r, http.StatusUnprocessableEntity, id, form, "Please correct the problem marked below.")
		return
	}
	if types == nil {
		types = []string{}
	}
	e, err := s.svc.UpdateWebhook(r.Context(), id, service.WebhookUpdate{URL: &form.URL.Value,
		Description: &form.Description.Value, EventTypes: &types})
	if err == nil {
		s.redirectWith(w, r, webhookPath(e.ID), "Saved the endpoint.")
		return
	}
	msg := showWebhookErrors(err, &form)
	if form.URL.Error == "" && form.Description.Error == "" && form.TypesError == "" {
		s.refused(w, r, err)
		return
	}
	s.renderWebhookEdit(w, r, httperr.Status(err), id, form, msg)
}

func (s *Server) handleWebhookEnabled(w http.ResponseWriter, r *http.Request) {
	id, ok := s.webhookPost(w, r)
	if !ok {
		return
	}
	on := r.PostForm.Get("enabled") == "true"
	e, err := s.svc.UpdateWebhook(r.Context(), id, service.WebhookUpdate{Enabled: &on})
	if s.refused(w, r, err) {
		return
	}
	msg := "Disabled the endpoint: no events are queued for it, and those waiting failed."
	if e.Enabled {
		msg = "Enabled the endpoint. Events from now on are sent to it; to send failed ones again, use Redeliver."
	}
	s.redirectWith(w, r, webhookPath(e.ID), msg)
}

func (s *Server) handleWebhookRotate(w http.ResponseWriter, r *http.Request) {
	id, ok := s.webhookPost(w, r)
	if !ok {
		return
	}
	hours, err := strconv.Atoi(r.PostForm.Get("overlap"))
	if err != nil {
		hours = int(service.DefaultSecretOverlap.Hours())
	}
	out, err := s.svc.RotateWebhookSecret(r.Context(), id, service.SecretOverlapHours(hours))
	if s.refused(w, r, err) {
		return
	}
	s.renderWebhookSecret(w, r, "Secret rotated", out)
}

func (s *Server) handleWebhookTest(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	a, err := s.svc.SendTestWebhook(r.Context(), id)
	if s.refused(w, r, err) {
		return
	}
	s.redirectWith(w, r, webhookPath(id), attemptSummary("Test event", a))
}

// attemptSummary says in a sentence what an attempt got.
func attemptSummary(what string, a *muster.WebhookAttempt) string {
	took := formatLatency(a.Latency)
	switch {
	case a.Succeeded():
		return fmt.Sprintf("%s delivered: the endpoint answered %d %s in %s.", what, a.StatusCode, http.StatusText(a.StatusCode), took)
	case a.StatusCode != 0:
		return fmt.Sprintf("%s failed: the endpoint answered %d %s in %s. %s", what, a.StatusCode, http.StatusText(a.StatusCode), took, a.Error)
	}
	return fmt.Sprintf("%s failed after %s: %s", what, took, a.Error)
}

func formatLatency(d time.Duration) string {
	if d < time.Second {
		return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
}

func (s *Server) handleWebhookDeleteConfirm(w http.ResponseWriter, r *http.Request) {
	e, ok := pathTarget(s, w, r, s.svc.Webhook)
	if !ok {
		return
	}
	s.renderConfirm(w, r, "Delete the endpoint?", "webhooks", confirmPage{
		Heading: "Delete the endpoint " + e.URL + "?",
		Lines:   []string{"No more events are sent to it, and those waiting are dropped.", "Its delivery log goes with it."},
		Action:  webhookPath(e.ID, "/delete"), Button: "Delete", Cancel: webhookPath(e.ID)})
}

func (s *Server) handleWebhookDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	e, err := s.svc.DeleteWebhook(r.Context(), id, 0)
	if s.refused(w, r, err) {
		return
	}
	s.redirectWith(w, r, webhooksPath, "Deleted the endpoint "+e.URL+".")
}

func (s *Server) handleWebhookRedeliverFailed(w http.ResponseWriter, r *http.Request) {
	id, ok := s.webhookPost(w, r)
	if !ok {
		return
	}
	since, err := time.Parse(sinceLayout, r.PostForm.Get("since"))
	if err != nil {
		s.redirectWith(w, r, webhookPath(id), "Give the time to redeliver from like 2026-01-31T09:00 (UTC).")
		return
	}
	n, err := s.svc.RedeliverFailedWebhooks(r.Context(), id, since)
	if s.refused(w, r, err) {
		return
	}
	msg := "No failed deliveries since " + humanTime(since) + "."
	if n > 0 {
		msg = fmt.Sprintf("Sending %d failed deliveries again, with their webhook-ids.", n)
	}
	s.redirectWith(w, r, webhookPath(id), msg)
}

// deliveryPage is one delivery: its event and each attempt.
type deliveryPage struct {
	Page
	Back, EventType, MsgID, State, Created, Next, Redeliver string
	Payload                                                 string
	Attempts                                                []attemptRow
}

type attemptRow struct {
	Time, Status, Latency, Response, Error string
	OK                                     bool
}

// pathDelivery is the path's {id} and {delivery_id}, answering a bad one
// itself.
func (s *Server) pathDelivery(w http.ResponseWriter, r *http.Request) (endpointID, deliveryID int64, ok bool) {
	endpointID, ok = pathID(r)
	deliveryID, err := strconv.ParseInt(r.PathValue("delivery_id"), 10, 64)
	if !ok || err != nil || deliveryID <= 0 {
		s.notFound(w, r)
		return 0, 0, false
	}
	return endpointID, deliveryID, true
}

// webhookPost is the path's {id} of a form posted about an endpoint, with
// the form read; it answers a bad id or form itself.
func (s *Server) webhookPost(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return 0, false
	}
	return id, s.parseFormBack(w, r, webhookPath(id), "Back to the endpoint")
}

func (s *Server) handleWebhookDelivery(w http.ResponseWriter, r *http.Request) {
	id, did, ok := s.pathDelivery(w, r)
	if !ok {
		return
	}
	detail, err := s.svc.FindWebhookDelivery(r.Context(), id, did)
	if s.refused(w, r, err) {
		return
	}
	d := detail.Delivery
	p := deliveryPage{Page: s.page(w, r, d.EventType+" delivery"), Back: webhookPath(id), EventType: d.EventType,
		MsgID: d.MsgID, State: deliveryState(d), Created: humanTime(d.CreatedAt)}
	p.Section = "webhooks"
	if d.State == muster.DeliveryPending {
		p.Next = humanTime(d.NextAttemptAt)
	} else if detail.Endpoint.Enabled {
		p.Redeliver = webhookPath(id, "/deliveries/", strconv.FormatInt(d.ID, 10), "/redeliver")
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, detail.Event.Payload, "", "  ") == nil {
		p.Payload = pretty.String()
	} else {
		p.Payload = string(detail.Event.Payload)
	}
	for _, a := range detail.Attempts {
		row := attemptRow{Time: a.AttemptedAt.UTC().Format("Jan 2, 2006 15:04:05 UTC"), Status: "No response",
			Latency: formatLatency(a.Latency), Response: a.Response, Error: a.Error, OK: a.Succeeded()}
		if a.StatusCode != 0 {
			row.Status = strconv.Itoa(a.StatusCode) + " " + http.StatusText(a.StatusCode)
		}
		p.Attempts = append(p.Attempts, row)
	}
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, r, http.StatusOK, "webhook_delivery", p)
}

func (s *Server) handleWebhookRedeliver(w http.ResponseWriter, r *http.Request) {
	id, did, ok := s.pathDelivery(w, r)
	if !ok {
		return
	}
	d, err := s.svc.RedeliverWebhook(r.Context(), id, did)
	if s.refused(w, r, err) {
		return
	}
	s.redirectWith(w, r, webhookPath(id), "Sending "+d.EventType+" "+d.MsgID+" again.")
}
