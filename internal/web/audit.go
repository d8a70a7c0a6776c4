package web

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/muster-app/muster/internal/download"
	"github.com/muster-app/muster/internal/httperr"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

// auditPage is the audit log (LOG-1): each event as a sentence with the
// fields it changed, newest first, filtered by action, actor, target and
// dates, in keyset pages.
type auditPage struct {
	Page
	Actions             []option
	Actor, Target       personPicker
	From, To            string
	Events              []auditRow
	Next, ExportURL     string
	Message             string
	FromError, ToError  string
	ActorID, TargetID   int64
	ActionFilter        string
	Filtered            bool
	ClearURL, FilterURL string
}

// personPicker is the audit log's filter by a person: a search box that
// takes a name or an email, the person chosen, and, when the search
// matched several, links that choose each.
type personPicker struct {
	ID, Label, Value, Error string
	Chosen                  string
	Choices                 []personChoice
}

type personChoice struct{ Label, URL string }

// auditRow is one event: when, who did what to whom in a sentence, and the
// fields it changed, before → after.
type auditRow struct {
	Time, Machine, Sentence, Origin string
	Changes                         []string
}

// auditActions are the actions the filter offers, in words.
var auditActions = []struct{ action, label string }{
	{muster.ActionUserInvited, "User invited"},
	{muster.ActionUserReinvited, "User invited again"},
	{muster.ActionInviteResent, "Invitation resent"},
	{muster.ActionInviteLinkCopied, "Invitation link copied"},
	{muster.ActionInviteWithdrawn, "Invitation withdrawn"},
	{muster.ActionUserActivated, "Invitation accepted"},
	{muster.ActionUserUpdated, "User edited"},
	{muster.ActionUserDeactivated, "User deactivated"},
	{muster.ActionSessionsEnded, "Signed out everywhere"},
	{muster.ActionSessionRevoked, "Session signed out"},
	{muster.ActionPasswordChanged, "Password changed"},
	{muster.ActionPasswordReset, "Password reset"},
	{muster.ActionTeamCreated, "Team created"},
	{muster.ActionTeamRenamed, "Team renamed"},
	{muster.ActionTeamRemoved, "Team removed"},
	{muster.ActionSendAsCreated, "Send As permission created"},
	{muster.ActionSendAsUpdated, "Send As permission edited"},
	{muster.ActionSendAsAssigned, "Send As users added"},
	{muster.ActionSendAsUnassigned, "Send As users removed"},
	{muster.ActionSendAsDeleted, "Send As permission deleted"},
	{muster.ActionSendAsRevoked, "Send As removed on deactivation"},
	{muster.ActionAPITokenCreated, "API token created"},
	{muster.ActionAPITokenRevoked, "API token revoked"},
	{muster.ActionReportRequested, "User list downloaded"},
	{muster.ActionLicenseTotalChanged, "License total changed"},
	{muster.ActionEmailAtScaleChanged, "Email at Scale turned on or off"},
	{muster.ActionOwnershipMoved, "Ownership transferred"},
	{muster.ActionUserSCIMDeleted, "User deleted through SCIM"},
	{muster.ActionTeamExternalIDChanged, "Team linked to the identity provider"},
	{muster.ActionSCIMTokenCreated, "SCIM token created"},
	{muster.ActionSCIMTokenRevoked, "SCIM token revoked"},
	{muster.ActionOrgCreated, "Organization created"},
	{muster.ActionTwoStepFactorAdded, "Two-step factor turned on"},
	{muster.ActionTwoStepFactorRemoved, "Two-step factor turned off"},
	{muster.ActionTwoStepFailed, "Two-step verification failed"},
	{muster.ActionTwoStepRecoveryCodesMade, "Two-step recovery codes made"},
	{muster.ActionTwoStepRecoveryCodeUsed, "Two-step recovery code used"},
	{muster.ActionTwoStepReset, "Two-step verification reset"},
	{muster.ActionTwoStepPolicyChanged, "Two-step policy changed"},
	{muster.ActionPasskeyRenamed, "Passkey renamed"},
}

// auditQuery reads the filters: actor and target are user ids, or searches
// (actor_q, target_q) the service resolves; dates are days in UTC. It
// returns the problems with the dates, by input.
func auditQuery(q url.Values) (service.AuditLogQuery, string, string) {
	var aq service.AuditLogQuery
	aq.Action = strings.TrimSpace(q.Get("action"))
	aq.ActorID, _ = strconv.ParseInt(q.Get("actor"), 10, 64)
	aq.TargetID, _ = strconv.ParseInt(q.Get("target"), 10, 64)
	if aq.TargetID != 0 {
		aq.TargetType = muster.TargetUser
	}
	if aq.ActorID == 0 {
		aq.ActorSearch = strings.TrimSpace(q.Get("actor_q"))
	}
	if aq.TargetID == 0 {
		aq.TargetSearch = strings.TrimSpace(q.Get("target_q"))
	}
	var fromErr, toErr string
	if v := q.Get("from"); v != "" {
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			fromErr = "Enter a date like 2026-01-31."
		}
		aq.Since = t
	}
	if v := q.Get("to"); v != "" {
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			toErr = "Enter a date like 2026-01-31."
		} else {
			aq.Until = t.Add(24 * time.Hour)
		}
	}
	aq.BeforeID, _ = strconv.ParseInt(q.Get("before"), 10, 64)
	return aq, fromErr, toErr
}

func (s *Server) handleAuditLog(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	q := r.Form
	aq, fromErr, toErr := auditQuery(q)
	log, err := s.svc.FindAuditLog(r.Context(), aq)
	status := http.StatusOK
	p := auditPage{Page: s.page(w, r, "Audit log"), From: q.Get("from"), To: q.Get("to"), FromError: fromErr,
		ToError: toErr, ActionFilter: aq.Action,
		Actor:  personPicker{ID: "actor_q", Label: "Actor", Value: q.Get("actor_q")},
		Target: personPicker{ID: "target_q", Label: "Target", Value: q.Get("target_q")}}
	p.Section = "audit"
	switch muster.ErrorCode(err) {
	case "":
	case muster.EINVALID:
		showFieldErrors(err, map[string]*string{"actor": &p.Actor.Error, "target": &p.Target.Error})
		p.Message, status = "Please correct the problem marked below.", httperr.Status(err)
		log = &service.AuditLog{}
	default:
		s.refused(w, r, err)
		return
	}
	if fromErr != "" || toErr != "" {
		p.Message, status = "Please correct the problem marked below.", http.StatusBadRequest
	}
	for _, a := range auditActions {
		p.Actions = append(p.Actions, option{Value: a.action, Label: a.label, Selected: a.action == aq.Action})
	}
	// The filters as the service resolved them: people by id.
	filters := url.Values{}
	for _, k := range []string{"action", "from", "to"} {
		if v := q.Get(k); v != "" {
			filters.Set(k, v)
		}
	}
	pickPerson(&p.Actor, "actor", log.Actor, log.ActorChoices, q, filters)
	pickPerson(&p.Target, "target", log.Target, log.TargetChoices, q, filters)
	p.Filtered = len(filters) > 0
	names := teamNames(log.Teams)
	for _, e := range log.Events {
		p.Events = append(p.Events, describeEvent(e, names, log.People))
	}
	p.ExportURL = "/settings/audit-log.csv"
	if len(filters) > 0 {
		p.ExportURL += "?" + filters.Encode()
	}
	if log.NextBeforeID != 0 {
		next := url.Values{}
		for k, v := range filters {
			next[k] = v
		}
		next.Set("before", strconv.FormatInt(log.NextBeforeID, 10))
		p.Next = "/settings/audit-log?" + next.Encode()
	}
	s.render(w, r, status, "audit", p)
}

// pickPerson fills a person filter from what the service found for it:
// the person chosen (kept in filters by id), or links that choose one of
// several matches.
func pickPerson(p *personPicker, key string, chosen *muster.User, choices []*muster.User, q, filters url.Values) {
	if chosen != nil {
		p.Chosen = chosen.Name() + " <" + chosen.Email + ">"
		p.Value = chosen.Name()
		filters.Set(key, strconv.FormatInt(chosen.ID, 10))
	}
	for _, u := range choices {
		v := url.Values{}
		for k, vs := range q {
			if k != key+"_q" && k != "before" {
				v[k] = vs
			}
		}
		v.Set(key, strconv.FormatInt(u.ID, 10))
		p.Choices = append(p.Choices, personChoice{Label: u.Name() + " <" + u.Email + ">",
			URL: "/settings/audit-log?" + v.Encode()})
	}
}

// eventWords names what an event's fields are about, and says their
// values, in the console's words.
type eventWords struct {
	teams  map[int64]string
	people map[int64]*muster.User
}

// person names the user with id, else label (an email, or an actor's
// "Name <email>"), shortened to the name.
func (w eventWords) person(id int64, label string) string {
	if u, ok := w.people[id]; ok && id != 0 {
		return u.Name()
	}
	if name, _, ok := strings.Cut(label, " <"); ok {
		return name
	}
	if label == "" {
		return "Someone"
	}
	return label
}

// team names a team id; a removed team has no name left.
func (w eventWords) team(v any) string {
	id, ok := number(v)
	if !ok {
		return fmt.Sprint(v)
	}
	if n, ok := w.teams[id]; ok {
		return n
	}
	return "a removed team"
}

// value says a field's value in words.
func (w eventWords) value(field string, v any) string {
	switch field {
	case "role":
		if s, ok := v.(string); ok {
			return muster.Role(s).Label()
		}
	case "status":
		if s, ok := v.(string); ok {
			return muster.Status(s).Label()
		}
	case "primary_team_id":
		return w.team(v)
	case "secondary_team_ids":
		list, _ := v.([]any)
		var names []string
		for _, id := range list {
			names = append(names, w.team(id))
		}
		if len(names) == 0 {
			return "none"
		}
		return strings.Join(names, ", ")
	case "email_at_scale":
		if b, ok := v.(bool); ok && b {
			return "on"
		}
		return "off"
	case "user_ids":
		list, _ := v.([]any)
		var names []string
		for _, id := range list[:min(len(list), service.NamedGrantees)] {
			if n, ok := number(id); ok {
				names = append(names, w.person(n, "a removed user"))
			}
		}
		if others := len(list) - service.NamedGrantees; others > 0 {
			return strings.Join(names, ", ") + " and " + plural(others, "other", "others")
		}
		return strings.Join(names, ", ")
	}
	switch x := v.(type) {
	case nil:
		return "none"
	case string:
		if x == "" {
			return "none"
		}
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

func number(v any) (int64, bool) {
	f, ok := v.(float64)
	return int64(f), ok
}

// fieldNames name the fields of users, teams, permissions and the org in
// the audit log.
var fieldNames = map[string]string{
	"email": "email", "first_name": "first name", "last_name": "last name", "role": "role", "status": "status",
	"primary_team_id": "primary team", "secondary_team_ids": "secondary teams", "name": "name",
	"license_total": "license total", "email_at_scale": "Email at Scale", "from_name": "From Name",
	"from_email": "From Email", "reply_to_name": "Reply-To Name", "reply_to_email": "Reply-To Email",
	"owner": "Owner",
}

// changes lists the fields an event changed, each "field: before → after"
// in words; a field only before or only after is shown as it was or is.
func (w eventWords) changes(before, after map[string]any) (out []change) {
	var keys []string
	for k := range before {
		keys = append(keys, k)
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b string) int { return fieldOrder(a) - fieldOrder(b) })
	for _, k := range keys {
		b, inBefore := before[k]
		a, inAfter := after[k]
		if inBefore && inAfter && fmt.Sprint(a) == fmt.Sprint(b) {
			continue
		}
		name := fieldNames[k]
		if name == "" {
			name = strings.ReplaceAll(k, "_", " ")
		}
		c := change{field: name}
		if inBefore {
			c.before = w.value(k, b)
		}
		if inAfter {
			c.after = w.value(k, a)
		}
		out = append(out, c)
	}
	return out
}

// fieldOrder puts a user's fields in the order a person reads them.
func fieldOrder(k string) int {
	order := []string{"first_name", "last_name", "email", "role", "status", "primary_team_id", "secondary_team_ids"}
	if i := slices.Index(order, k); i >= 0 {
		return i
	}
	return len(order)
}

type change struct{ field, before, after string }

func (c change) String() string {
	switch {
	case c.before == "":
		return capitalize(c.field) + ": " + c.after
	case c.after == "":
		return capitalize(c.field) + ": was " + c.before
	}
	return capitalize(c.field) + ": " + c.before + " → " + c.after
}

func capitalize(s string) string {
	if s == "" || strings.ToUpper(s[:1]) == s[:1] {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// describeEvent is an event as the audit log and the user page show it.
func describeEvent(e *muster.AuditEvent, teams map[int64]string, people map[int64]*muster.User) auditRow {
	w := eventWords{teams: teams, people: people}
	actor := w.person(e.ActorID, e.ActorLabel)
	if e.ActorID == 0 && e.ActorLabel == "Operator" {
		actor = "An operator"
	}
	target := e.TargetLabel
	if e.TargetType == muster.TargetUser {
		target = w.person(e.TargetID, e.TargetLabel)
		// The name the event recorded, for a user no longer readable.
		for _, m := range []map[string]any{e.After, e.Before} {
			if f, ok := m["first_name"].(string); ok && w.people[e.TargetID] == nil {
				l, _ := m["last_name"].(string)
				target = strings.TrimSpace(f + " " + l)
			}
		}
	}
	self := e.ActorID != 0 && e.ActorID == e.TargetID && e.TargetType == muster.TargetUser
	changes := w.changes(e.Before, e.After)
	row := auditRow{Time: humanTime(e.CreatedAt), Machine: e.CreatedAt.UTC().Format(time.RFC3339), Origin: e.Origin}
	var s string
	switch e.Action {
	case muster.ActionOrgCreated:
		s = actor + " created the organization " + target
		changes = nil
	case muster.ActionUserInvited:
		s = actor + " invited " + target
		if role, ok := e.After["role"].(string); ok {
			s += " as " + article(muster.Role(role).Label())
		}
		changes = nil
	case muster.ActionUserReinvited:
		s = actor + " invited " + target + " again"
		changes = slices.DeleteFunc(changes, func(c change) bool { return c.field == "status" })
	case muster.ActionInviteResent:
		s = actor + " sent " + target + " a new invitation"
	case muster.ActionInviteLinkCopied:
		s = actor + " copied the invitation link of " + target
	case muster.ActionInviteWithdrawn:
		s = actor + " withdrew the invitation of " + target
		changes = nil
	case muster.ActionUserActivated:
		s = target + " accepted the invitation and signed in"
		changes = nil
	case muster.ActionUserDeactivated:
		s = actor + " deactivated " + target
		changes = nil
	case muster.ActionUserUpdated:
		switch {
		case len(changes) == 1 && changes[0].before != "" && changes[0].after != "":
			whose := target + "'s"
			if self {
				whose = "their"
			}
			s = actor + " changed " + whose + " " + changes[0].field + " from " + changes[0].before + " to " + changes[0].after
			changes = nil
		case self:
			s = actor + " edited their details"
		default:
			s = actor + " edited " + target
		}
	case muster.ActionSessionsEnded:
		s = actor + " signed " + target + " out everywhere"
		if self {
			s = actor + " signed out everywhere"
		}
	case muster.ActionSessionRevoked:
		s, changes = actor+" signed out one of their sessions", nil
	case muster.ActionPasswordChanged:
		s = actor + " changed their password"
	case muster.ActionPasswordReset:
		s = target + " set a new password through a reset link"
	case muster.ActionTeamCreated:
		s, changes = actor+" created the team "+target, nil
	case muster.ActionTeamRenamed:
		s = actor + " renamed the team " + w.value("name", e.Before["name"]) + " to " + w.value("name", e.After["name"])
		changes = nil
	case muster.ActionTeamRemoved:
		s, changes = actor+" removed the team "+target, nil
	case muster.ActionSendAsCreated:
		s, changes = actor+" created the Send As permission "+target, nil
	case muster.ActionSendAsUpdated:
		s = actor + " edited the Send As permission " + target
	case muster.ActionSendAsAssigned:
		s, changes = actor+" let "+w.value("user_ids", e.After["user_ids"])+" send as "+target, nil
	case muster.ActionSendAsUnassigned:
		s, changes = actor+" stopped "+w.value("user_ids", e.Before["user_ids"])+" sending as "+target, nil
	case muster.ActionSendAsDeleted:
		s, changes = actor+" deleted the Send As permission "+target, nil
	case muster.ActionSendAsRevoked:
		emails, _ := e.Before["from_emails"].([]any)
		var list []string
		for _, v := range emails {
			list = append(list, fmt.Sprint(v))
		}
		s = target + "'s Send As addresses were removed on deactivation: " + strings.Join(list, ", ")
		changes = nil
	case muster.ActionAPITokenCreated:
		s, changes = actor+" created the API token “"+target+"”", nil
	case muster.ActionAPITokenRevoked:
		s = actor + " revoked the API token “" + target + "”"
	case muster.ActionReportRequested:
		s = actor + " asked for the user list"
	case muster.ActionLicenseTotalChanged:
		s = actor + " changed the license total from " + w.value("", e.Before["license_total"]) + " to " +
			w.value("", e.After["license_total"])
		changes = nil
	case muster.ActionEmailAtScaleChanged:
		s, changes = actor+" turned Email at Scale "+w.value("email_at_scale", e.After["email_at_scale"]), nil
	case muster.ActionOwnershipMoved:
		s, changes = actor+" made "+target+" the Owner", nil
	case muster.ActionUserSCIMDeleted:
		s, changes = actor+" deleted "+target+" through SCIM", nil
	case muster.ActionTeamExternalIDChanged:
		s = actor + " changed the team " + target + "'s link to the identity provider"
	case muster.ActionSCIMTokenCreated:
		s, changes = actor+" created the SCIM token “"+target+"”", nil
	case muster.ActionSCIMTokenRevoked:
		s = actor + " revoked the SCIM token “" + target + "”"
	case muster.ActionTwoStepFactorAdded:
		s, changes = actor+" turned on "+factorWords(e.After["kind"], e.After["name"])+" for two-step verification", nil
	case muster.ActionTwoStepFactorRemoved:
		s, changes = actor+" turned off "+factorWords(e.Before["kind"], e.Before["name"])+" for two-step verification", nil
	case muster.ActionTwoStepFailed:
		s, changes = target+" failed a second step of sign-in", nil
		if reason, ok := e.After["reason"].(string); ok {
			s += ": " + reason
		}
	case muster.ActionTwoStepRecoveryCodesMade:
		s, changes = actor+" made new two-step recovery codes", nil
	case muster.ActionTwoStepRecoveryCodeUsed:
		s, changes = target+" signed in with a two-step recovery code ("+w.value("", e.After["codes_left"])+" left)", nil
	case muster.ActionTwoStepReset:
		s, changes = actor+" reset the two-step verification of "+target, nil
	case muster.ActionTwoStepPolicyChanged:
		s = actor + " changed the sign-in security policy"
	case muster.ActionPasskeyRenamed:
		s = actor + " renamed the passkey “" + w.value("", e.Before["passkey"]) + "” to “" + w.value("", e.After["passkey"]) + "”"
		changes = nil
	default:
		s = actor + " " + strings.ReplaceAll(e.Action, "_", " ") + " " + e.TargetType + " " + target
	}
	row.Sentence = s
	for _, c := range changes {
		row.Changes = append(row.Changes, c.String())
	}
	return row
}

// factorWords names a factor kind in a sentence.
func factorWords(kind, name any) string {
	switch k, _ := kind.(string); muster.FactorKind(k) {
	case muster.FactorTOTP:
		return "an authenticator app"
	case muster.FactorPasskey:
		if n, ok := name.(string); ok && n != "" {
			return "the passkey “" + n + "”"
		}
		return "a passkey"
	}
	return "a factor"
}

// article puts "a" or "an" before a role's label.
func article(label string) string {
	if strings.ContainsRune("AEIOU", rune(label[0])) {
		return "an " + label
	}
	return "a " + label
}

func (s *Server) handleAuditExport(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	aq, _, _ := auditQuery(r.Form)
	aq.BeforeID = 0
	csv := download.NewAttachment(w, r, "text/csv; charset=utf-8", "audit-log.csv")
	err := s.svc.ExportAuditEvents(r.Context(), csv, aq.AuditQuery)
	switch {
	case err != nil && !csv.Started():
		// Refused before the first byte: a page says why.
		s.refused(w, r, err)
	case err != nil:
		// The status is sent; all that is left is to log and cut the file short.
		s.log.Error("web: exporting the audit log", "err", err)
	}
}
