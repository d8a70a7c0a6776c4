package web

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/muster-app/muster/internal/httperr"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

const sendAsPath = usersPath + "/send-as"

// sendAsListPage is the Send As Permissions tab (SEND-1).
type sendAsListPage struct {
	Page
	Perms []sendAsRow
}

type sendAsRow struct {
	From, ReplyTo string
	Users         string // how many, "7,039"
	EditURL       string
	DeleteURL     string
}

func (s *Server) handleSendAsList(w http.ResponseWriter, r *http.Request) {
	perms, err := s.svc.SendAsSummaries(r.Context())
	if s.refused(w, r, err) {
		return
	}
	p := sendAsListPage{Page: s.page(w, r, "Send As Permissions")}
	p.Section = "send-as"
	for _, perm := range perms {
		row := sendAsRow{From: perm.FromName + " <" + perm.FromEmail + ">", Users: thousands(perm.UserCount),
			EditURL:   sendAsPath + "/" + strconv.FormatInt(perm.ID, 10) + "/edit",
			DeleteURL: sendAsPath + "/" + strconv.FormatInt(perm.ID, 10) + "/delete"}
		if perm.HasReplyTo() {
			row.ReplyTo = perm.ReplyToName + " <" + perm.ReplyToEmail + ">"
		}
		p.Perms = append(p.Perms, row)
	}
	s.render(w, r, http.StatusOK, "sendas_list", p)
}

// sendAsFormPage is both steps of New Permission (and of Edit): the
// details, then Assign Users. The details travel as hidden fields in the
// second step, and the users chosen in both, so every step works without
// JavaScript. An edit sends back the users it adds and those it takes off,
// not the thousands a permission can have (Keep).
type sendAsFormPage struct {
	Page
	Action string
	// Editing is set for the form of an existing permission, which its
	// details step calls Edit Permission rather than New Permission.
	Editing      bool
	Assign       bool // the second step
	Message      string
	FromName     Field
	FromEmail    Field
	DifferentTo  bool
	ReplyToName  Field
	ReplyToEmail Field
	Search       string
	Candidates   []userChoice
	Chosen       []userChoice
	// MoreChosen counts the users chosen beyond those shown: "7,038 more
	// users are"; empty for none.
	MoreChosen string
	Removed    []userChoice
	// The users chosen as the form sends them back: those added (all of
	// them for a new permission) and, for an edit that keeps the
	// permission's users (Keep), those taken off.
	AddedIDs, RemovedIDs []int64
	Keep                 bool
	SelectAll            bool
}

type userChoice struct {
	ID          int64
	Name, Email string
}

// sendAsState is what the form posts back.
type sendAsState struct {
	in   service.SendAsInput
	step string
}

func readSendAsForm(r *http.Request) sendAsState {
	f := r.PostForm
	st := sendAsState{step: f.Get("step"), in: service.SendAsInput{FromName: f.Get("from_name"), FromEmail: f.Get("from_email"),
		DifferentReplyTo: f.Get("different_reply_to") != "", ReplyToName: f.Get("reply_to_name"),
		ReplyToEmail: f.Get("reply_to_email"), UserIDs: formIDs(f["user_ids"]), SelectAll: f.Get("select_all") != "",
		KeepUsers: f.Get("keep") != "", RemoveUserIDs: formIDs(f["removed_ids"])}}
	in := &st.in
	if !in.KeepUsers {
		in.RemoveUserIDs = nil
	}
	is := func(id int64) func(int64) bool { return func(x int64) bool { return x == id } }
	// + puts a user taken off back, or adds one; × takes an added user
	// off the list, or one the permission keeps.
	if add, err := strconv.ParseInt(f.Get("add"), 10, 64); err == nil {
		if slices.Contains(in.RemoveUserIDs, add) {
			in.RemoveUserIDs = slices.DeleteFunc(in.RemoveUserIDs, is(add))
		} else if !slices.Contains(in.UserIDs, add) {
			in.UserIDs = append(in.UserIDs, add)
		}
	}
	if remove, err := strconv.ParseInt(f.Get("remove"), 10, 64); err == nil {
		if slices.Contains(in.UserIDs, remove) {
			in.UserIDs = slices.DeleteFunc(in.UserIDs, is(remove))
		} else if in.KeepUsers && !slices.Contains(in.RemoveUserIDs, remove) {
			in.RemoveUserIDs = append(in.RemoveUserIDs, remove)
		}
		in.SelectAll = false
	}
	switch f.Get("remove") {
	case "all":
		in.SelectAll = false
	case "kept":
		in.KeepUsers, in.RemoveUserIDs, in.SelectAll = false, nil, false
	}
	if f.Has("choose_all") {
		// Every Active user when saved: none taken off.
		in.SelectAll, in.RemoveUserIDs = true, nil
	}
	return st
}

// renderSendAsForm shows either step of the form of the permission
// permissionID (0 for a new one).
func (s *Server) renderSendAsForm(w http.ResponseWriter, r *http.Request, action string, permissionID int64, st sendAsState,
	assign bool, err error) {
	in := st.in
	editing, title := permissionID != 0, "New Permission"
	if editing {
		title = "Edit Permission"
	}
	p := sendAsFormPage{Page: s.page(w, r, title), Action: action, Editing: editing, Assign: assign,
		DifferentTo: in.DifferentReplyTo,
		FromName:    Field{ID: "from_name", Label: "From Name", Type: "text", Value: in.FromName, Max: muster.MaxNameLength},
		FromEmail:   Field{ID: "from_email", Label: "From Email", Type: "email", Value: in.FromEmail, Max: muster.MaxEmailLength},
		ReplyToName: Field{ID: "reply_to_name", Label: "Reply-To Name", Type: "text", Value: in.ReplyToName,
			Max: muster.MaxNameLength, Optional: true},
		ReplyToEmail: Field{ID: "reply_to_email", Label: "Reply-To Email", Type: "email", Value: in.ReplyToEmail,
			Max: muster.MaxEmailLength, Optional: true},
		Search: r.PostForm.Get("q"), SelectAll: in.SelectAll, Keep: in.KeepUsers, AddedIDs: in.UserIDs,
		RemovedIDs: in.RemoveUserIDs}
	p.Section = "send-as"
	p.Message = showFieldErrors(err, map[string]*string{muster.FieldFromName: &p.FromName.Error,
		muster.FieldFromEmail: &p.FromEmail.Error, muster.FieldReplyToName: &p.ReplyToName.Error,
		muster.FieldReplyToEmail: &p.ReplyToEmail.Error})
	if p.FromName.Error != "" || p.FromEmail.Error != "" || p.ReplyToName.Error != "" || p.ReplyToEmail.Error != "" {
		// A problem with the details sends the admin back to them.
		p.Assign = false
	}
	if p.Assign {
		found, ferr := s.svc.FindSendAsAssignees(r.Context(), service.AssigneeQuery{PermissionID: permissionID, Chosen: in,
			Search: p.Search, Limit: sendAsCandidates})
		if s.refused(w, r, ferr) {
			return
		}
		p.Candidates, p.Chosen, p.Removed = userChoices(found.Candidates), userChoices(found.Chosen), userChoices(found.Removed)
		if more := found.ChosenTotal - len(found.Chosen); more > 0 {
			p.MoreChosen = plural(more, "more user is", "more users are")
		}
	}
	s.render(w, r, httperr.Status(err), "sendas_form", p)
}

// userChoices are the users as Assign Users lists them.
func userChoices(users []*muster.User) []userChoice {
	out := make([]userChoice, len(users))
	for i, u := range users {
		out[i] = userChoice{ID: u.ID, Name: u.Name(), Email: u.Email}
	}
	return out
}

// sendAsCandidates is how many Active users Assign Users offers at once,
// and how many of a permission's users it shows; the search finds the
// others.
const sendAsCandidates = 50

func (s *Server) handleSendAsNew(w http.ResponseWriter, r *http.Request) {
	if s.refused(w, r, s.svc.SendAsAccess(r.Context())) {
		return
	}
	s.renderSendAsForm(w, r, sendAsPath+"/new", 0, sendAsState{}, false, nil)
}

// sendAsStep handles a post of either step: moving between steps, "+",
// "×" and Select All re-render; Save Permission calls save.
func (s *Server) sendAsStep(w http.ResponseWriter, r *http.Request, action string, permissionID int64,
	save func(service.SendAsInput) (*muster.SendAsPermission, error)) {
	if !s.parseForm(w, r) {
		return
	}
	st := readSendAsForm(r)
	if st.step != "save" {
		s.renderSendAsForm(w, r, action, permissionID, st, st.step != "details", nil)
		return
	}
	p, err := save(st.in)
	if err != nil {
		if muster.ErrorCode(err) == muster.EINTERNAL || muster.ErrorCode(err) == muster.EFORBIDDEN {
			s.refused(w, r, err)
			return
		}
		s.renderSendAsForm(w, r, action, permissionID, st, true, err)
		return
	}
	// SEND-3: the grant alone does not make a mail client send as the address.
	s.redirectWith(w, r, sendAsPath, "Saved the permission for "+p.FromEmail+". Remind each user to also add "+
		p.FromEmail+" as a \"send as\" address in their mail client.")
}

func (s *Server) handleSendAsCreate(w http.ResponseWriter, r *http.Request) {
	s.sendAsStep(w, r, sendAsPath+"/new", 0, func(in service.SendAsInput) (*muster.SendAsPermission, error) {
		return s.svc.CreateSendAs(r.Context(), in)
	})
}

// targetSendAs returns the permission the path's {id} names, of the
// actor's org, and answers a refusal itself.
func (s *Server) targetSendAs(w http.ResponseWriter, r *http.Request) (*muster.SendAsPermission, bool) {
	return pathTarget(s, w, r, s.svc.SendAsSummary)
}

func (s *Server) handleSendAsEditForm(w http.ResponseWriter, r *http.Request) {
	perm, ok := s.targetSendAs(w, r)
	if !ok {
		return
	}
	id := perm.ID
	st := sendAsState{in: service.SendAsInput{FromName: perm.FromName, FromEmail: perm.FromEmail,
		DifferentReplyTo: perm.HasReplyTo(), ReplyToName: perm.ReplyToName, ReplyToEmail: perm.ReplyToEmail, KeepUsers: true}}
	s.renderSendAsForm(w, r, sendAsPath+"/"+strconv.FormatInt(id, 10)+"/edit", id, st, false, nil)
}

func (s *Server) handleSendAsEdit(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	s.sendAsStep(w, r, sendAsPath+"/"+strconv.FormatInt(id, 10)+"/edit", id, func(in service.SendAsInput) (*muster.SendAsPermission, error) {
		return s.svc.UpdateSendAs(r.Context(), id, in)
	})
}

func (s *Server) handleSendAsDeleteConfirm(w http.ResponseWriter, r *http.Request) {
	perm, ok := s.targetSendAs(w, r)
	if !ok {
		return
	}
	s.renderConfirm(w, r, "Delete "+perm.FromEmail+"?", "send-as", confirmPage{
		Heading: "Delete the permission for " + perm.FromEmail + "?",
		Lines:   []string{plural(perm.UserCount, "user", "users") + " will no longer be allowed to send as " + perm.FromEmail + "."},
		Action:  sendAsPath + "/" + strconv.FormatInt(perm.ID, 10) + "/delete", Button: "Delete", Cancel: sendAsPath})
}

func (s *Server) handleSendAsDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	perm, err := s.svc.DeleteSendAs(r.Context(), id, 0)
	if s.refused(w, r, err) {
		return
	}
	s.redirectWith(w, r, sendAsPath, "Deleted the permission for "+perm.FromEmail+".")
}
