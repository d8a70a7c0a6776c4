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
	Users         int
	EditURL       string
	DeleteURL     string
}

func (s *Server) handleSendAsList(w http.ResponseWriter, r *http.Request) {
	perms, err := s.svc.SendAsPermissions(r.Context())
	if s.refused(w, r, err) {
		return
	}
	p := sendAsListPage{Page: s.page(w, r, "Send As Permissions")}
	p.Section = "send-as"
	for _, perm := range perms {
		row := sendAsRow{From: perm.FromName + " <" + perm.FromEmail + ">", Users: len(perm.UserIDs),
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
// second step, so every step works without JavaScript.
type sendAsFormPage struct {
	Page
	Action       string
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
	ChosenIDs    []int64 // the chosen users, which the details step passes on
	SelectAll    bool
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
		ReplyToEmail: f.Get("reply_to_email"), UserIDs: formIDs(f["user_ids"]), SelectAll: f.Get("select_all") != ""}}
	if add, err := strconv.ParseInt(f.Get("add"), 10, 64); err == nil && !slices.Contains(st.in.UserIDs, add) {
		st.in.UserIDs = append(st.in.UserIDs, add)
	}
	if remove, err := strconv.ParseInt(f.Get("remove"), 10, 64); err == nil {
		st.in.UserIDs = slices.DeleteFunc(st.in.UserIDs, func(id int64) bool { return id == remove })
		st.in.SelectAll = false
	}
	if f.Get("remove") == "all" {
		st.in.SelectAll = false
	}
	if f.Has("choose_all") {
		st.in.SelectAll = true
	}
	return st
}

func (s *Server) renderSendAsForm(w http.ResponseWriter, r *http.Request, action string, st sendAsState, assign bool, err error) {
	in := st.in
	p := sendAsFormPage{Page: s.page(w, r, "Send As Permission"), Action: action, Assign: assign, DifferentTo: in.DifferentReplyTo,
		FromName:  Field{ID: "from_name", Label: "From Name", Type: "text", Value: in.FromName, Max: muster.MaxNameLength},
		FromEmail: Field{ID: "from_email", Label: "From Email", Type: "email", Value: in.FromEmail, Max: muster.MaxEmailLength},
		ReplyToName: Field{ID: "reply_to_name", Label: "Reply-To Name", Type: "text", Value: in.ReplyToName,
			Max: muster.MaxNameLength, Optional: true},
		ReplyToEmail: Field{ID: "reply_to_email", Label: "Reply-To Email", Type: "email", Value: in.ReplyToEmail,
			Max: muster.MaxEmailLength, Optional: true},
		Search: r.PostForm.Get("q"), SelectAll: in.SelectAll}
	p.Section = "send-as"
	p.Message = showFieldErrors(err, map[string]*string{muster.FieldFromName: &p.FromName.Error,
		muster.FieldFromEmail: &p.FromEmail.Error, muster.FieldReplyToName: &p.ReplyToName.Error,
		muster.FieldReplyToEmail: &p.ReplyToEmail.Error})
	if p.FromName.Error != "" || p.FromEmail.Error != "" || p.ReplyToName.Error != "" || p.ReplyToEmail.Error != "" {
		// A problem with the details sends the admin back to them.
		p.Assign = false
	}
	// The details step carries the chosen users on, unseen, to the next.
	p.ChosenIDs = in.UserIDs
	if p.Assign {
		found, ferr := s.svc.FindSendAsAssignees(r.Context(), p.Search, in.UserIDs, sendAsCandidates)
		if s.refused(w, r, ferr) {
			return
		}
		for _, u := range found.Candidates {
			p.Candidates = append(p.Candidates, userChoice{ID: u.ID, Name: u.Name(), Email: u.Email})
		}
		for _, u := range found.Chosen {
			p.Chosen = append(p.Chosen, userChoice{ID: u.ID, Name: u.Name(), Email: u.Email})
		}
	}
	s.render(w, r, httperr.Status(err), "sendas_form", p)
}

// sendAsCandidates is how many Active users Assign Users offers at once;
// the search finds the others.
const sendAsCandidates = 50

func (s *Server) handleSendAsNew(w http.ResponseWriter, r *http.Request) {
	if s.refused(w, r, s.svc.SendAsAccess(r.Context())) {
		return
	}
	s.renderSendAsForm(w, r, sendAsPath+"/new", sendAsState{}, false, nil)
}

// sendAsStep handles a post of either step: moving between steps, "+",
// "×" and Select All re-render; Save Permission calls save.
func (s *Server) sendAsStep(w http.ResponseWriter, r *http.Request, action string,
	save func(service.SendAsInput) (*muster.SendAsPermission, error)) {
	if !s.parseForm(w, r) {
		return
	}
	st := readSendAsForm(r)
	if st.step != "save" {
		s.renderSendAsForm(w, r, action, st, st.step != "details", nil)
		return
	}
	p, err := save(st.in)
	if err != nil {
		if muster.ErrorCode(err) == muster.EINTERNAL || muster.ErrorCode(err) == muster.EFORBIDDEN {
			s.refused(w, r, err)
			return
		}
		s.renderSendAsForm(w, r, action, st, true, err)
		return
	}
	// SEND-3: the grant alone does not make a mail client send as the address.
	s.redirectWith(w, r, sendAsPath, "Saved the permission for "+p.FromEmail+". Remind each user to also add "+
		p.FromEmail+" as a \"send as\" address in their mail client.")
}

func (s *Server) handleSendAsCreate(w http.ResponseWriter, r *http.Request) {
	s.sendAsStep(w, r, sendAsPath+"/new", func(in service.SendAsInput) (*muster.SendAsPermission, error) {
		return s.svc.CreateSendAs(r.Context(), in)
	})
}

// targetSendAs returns the permission the path's {id} names, of the
// actor's org, and answers a refusal itself.
func (s *Server) targetSendAs(w http.ResponseWriter, r *http.Request) (*muster.SendAsPermission, bool) {
	return pathTarget(s, w, r, s.svc.SendAs)
}

func (s *Server) handleSendAsEditForm(w http.ResponseWriter, r *http.Request) {
	perm, ok := s.targetSendAs(w, r)
	if !ok {
		return
	}
	id := perm.ID
	st := sendAsState{in: service.SendAsInput{FromName: perm.FromName, FromEmail: perm.FromEmail,
		DifferentReplyTo: perm.HasReplyTo(), ReplyToName: perm.ReplyToName, ReplyToEmail: perm.ReplyToEmail, UserIDs: perm.UserIDs}}
	s.renderSendAsForm(w, r, sendAsPath+"/"+strconv.FormatInt(id, 10)+"/edit", st, false, nil)
}

func (s *Server) handleSendAsEdit(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	s.sendAsStep(w, r, sendAsPath+"/"+strconv.FormatInt(id, 10)+"/edit", func(in service.SendAsInput) (*muster.SendAsPermission, error) {
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
		Lines:   []string{strconv.Itoa(len(perm.UserIDs)) + " users will no longer be allowed to send as " + perm.FromEmail + "."},
		Action:  sendAsPath + "/" + strconv.FormatInt(perm.ID, 10) + "/delete", Button: "Delete", Cancel: sendAsPath})
}

func (s *Server) handleSendAsDelete(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r)
	if !ok {
		s.notFound(w, r)
		return
	}
	perm, err := s.svc.DeleteSendAs(r.Context(), id)
	if s.refused(w, r, err) {
		return
	}
	s.redirectWith(w, r, sendAsPath, "Deleted the permission for "+perm.FromEmail+".")
}
