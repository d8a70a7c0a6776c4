package web

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/muster-app/muster/internal/httperr"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

// passkeysPath is the page of a person's passkeys and security keys
// (two-step verification). WebAuthn needs JavaScript (static/passkeys.js):
// the script asks the page's JSON endpoint for a ceremony's options, asks
// the browser's authenticator, and sends the answer with the page's own
// form. Without JavaScript, or in a browser without WebAuthn, the page
// says so, and everything else works as before.
const passkeysPath = "/account/security/passkeys"

func (s *Server) passkeyRoutes() {
	s.mux.HandleFunc("GET "+passkeysPath, s.requireUser(s.handlePasskeys))
	s.mux.HandleFunc("POST "+passkeysPath+"/options", s.requireUser(s.handlePasskeyOptions))
	s.mux.HandleFunc("POST "+passkeysPath, s.requireUser(s.handlePasskeyAdd))
	s.mux.HandleFunc("GET "+passkeysPath+"/{id}/rename", s.requireUser(s.handlePasskeyRenameForm))
	s.mux.HandleFunc("POST "+passkeysPath+"/{id}/rename", s.requireUser(s.handlePasskeyRename))
	s.mux.HandleFunc("GET "+passkeysPath+"/{id}/remove", s.requireUser(s.handlePasskeyRemoveForm))
	s.mux.HandleFunc("POST "+passkeysPath+"/{id}/remove", s.requireUser(s.handlePasskeyRemove))
	s.mux.HandleFunc("POST "+passkeysPath+"/confirm-options", s.requireUser(s.handlePasskeyConfirmOptions))
}

// passkeysPage lists the person's passkeys and adds one.
type passkeysPage struct {
	Page
	Passkeys []passkeyRow
	// Unavailable says why this server cannot use passkeys at all.
	Unavailable string
	// Full says the person has as many passkeys as one may.
	Full    bool
	Name    Field
	Message string
}

func (p passkeysPage) Errors() *errorSummary { return summarize(p.Message, p.Name) }

// passkeyRow is one passkey of the list.
type passkeyRow struct {
	Name      string
	Added     string
	LastUsed  string
	RenameURL string
	RemoveURL string
}

func passkeyURL(id int64, action string) string {
	return passkeysPath + "/" + strconv.FormatInt(id, 10) + "/" + action
}

// sentWithoutScript refuses a passkey form that came without the script's
// answer: no authenticator was asked (the page says that passkeys need
// JavaScript).
var sentWithoutScript = muster.Errorf(muster.EINVALID, "No passkey was asked: passkeys need JavaScript, which is off "+
	"or blocked in this browser.")

func (s *Server) renderPasskeys(w http.ResponseWriter, r *http.Request, status int, name string, err error) {
	p := passkeysPage{Page: s.page(w, r, "Passkeys and security keys"), Unavailable: s.svc.PasskeysUnavailable(),
		Name: Field{ID: "name", Label: "Name", Type: "text", Value: name, Max: muster.MaxNameLength,
			Hint: "To tell your passkeys apart, such as “YubiKey on my keyring” or “This laptop”."}}
	p.Message = showFieldErrors(err, map[string]*string{muster.FieldName: &p.Name.Error})
	keys, lerr := s.svc.Passkeys(r.Context())
	if s.refused(w, r, lerr) {
		return
	}
	p.Full = len(keys) >= muster.MaxPasskeys
	for _, k := range keys {
		row := passkeyRow{Name: k.Name, Added: humanTime(k.CreatedAt), LastUsed: "Never",
			RenameURL: passkeyURL(k.ID, "rename"), RemoveURL: passkeyURL(k.ID, "remove")}
		if !k.LastUsedAt.IsZero() {
			row.LastUsed = humanTime(k.LastUsedAt)
		}
		p.Passkeys = append(p.Passkeys, row)
	}
	s.render(w, r, status, "passkeys", p)
}

func (s *Server) handlePasskeys(w http.ResponseWriter, r *http.Request) {
	s.renderPasskeys(w, r, http.StatusOK, "", nil)
}

// passkeyOptionsJSON is the options endpoints' answer: the ceremony's token
// and navigator.credentials' publicKey options, or why there are none.
type passkeyOptionsJSON struct {
	Token     string          `json:"token,omitempty"`
	PublicKey json.RawMessage `json:"publicKey,omitempty"`
	Error     string          `json:"error,omitempty"`
	// Field names the form's input the error is about.
	Field string `json:"field,omitempty"`
}

// writePasskeyOptions answers an options request with begun or err.
func (s *Server) writePasskeyOptions(w http.ResponseWriter, r *http.Request, begun *service.PasskeyOptions, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	out := passkeyOptionsJSON{}
	status := http.StatusOK
	if err != nil {
		if muster.ErrorCode(err) == muster.EINTERNAL {
			s.log.Error("web: beginning a passkey ceremony", "route", r.Pattern, "err", err)
		}
		httperr.SetRetryAfter(w.Header(), err)
		status, out.Error = httperr.Status(err), muster.ErrorMessage(err)
		if fe := muster.ErrorFields(err); len(fe) > 0 && fe[0].Field == muster.FieldName {
			out.Field = "name"
		}
	} else {
		out.Token, out.PublicKey = begun.Token, begun.Options
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(out)
}

// handlePasskeyOptions begins adding the passkey the form names.
func (s *Server) handlePasskeyOptions(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	_, sess := current(r)
	begun, err := s.svc.BeginPasskeyRegistration(r.Context(), r.PostForm.Get("name"), sess.ID)
	s.writePasskeyOptions(w, r, begun, err)
}

// passkeyAnswer is the ceremony's token and the browser's answer, which
// the script puts in the form.
func passkeyAnswer(r *http.Request) (token string, response []byte) {
	return r.PostForm.Get("passkey_token"), []byte(r.PostForm.Get("passkey_response"))
}

// handlePasskeyAdd adds the passkey the browser answered with.
func (s *Server) handlePasskeyAdd(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	name := r.PostForm.Get("name")
	token, response := passkeyAnswer(r)
	if token == "" || len(response) == 0 {
		// The form came without the script: nothing was asked of an
		// authenticator.
		s.renderPasskeys(w, r, http.StatusBadRequest, name, sentWithoutScript)
		return
	}
	_, sess := current(r)
	p, err := s.svc.FinishPasskeyRegistration(r.Context(), token, response, sess.ID)
	switch muster.ErrorCode(err) {
	case "":
		s.redirectWith(w, r, passkeysPath, "Passkey “"+p.Name+"” added. Muster asks for a passkey after your password when you sign in.")
	case muster.EINTERNAL:
		s.serverError(w, r, err)
	default:
		s.renderPasskeys(w, r, httperr.Status(err), name, err)
	}
}

// passkeyRenamePage renames a passkey.
type passkeyRenamePage struct {
	Page
	Current string
	Action  string
	Name    Field
	Message string
}

func (p passkeyRenamePage) Errors() *errorSummary { return summarize(p.Message, p.Name) }

func (s *Server) renderPasskeyRename(w http.ResponseWriter, r *http.Request, status int, k *muster.Passkey, name string, err error) {
	p := passkeyRenamePage{Page: s.page(w, r, "Rename "+k.Name), Current: k.Name, Action: passkeyURL(k.ID, "rename"),
		Name: Field{ID: "name", Label: "Name", Type: "text", Value: name, Max: muster.MaxNameLength}}
	p.Message = showFieldErrors(err, map[string]*string{muster.FieldName: &p.Name.Error})
	s.render(w, r, status, "passkey_rename", p)
}

func (s *Server) handlePasskeyRenameForm(w http.ResponseWriter, r *http.Request) {
	if k, ok := pathTarget(s, w, r, s.svc.Passkey); ok {
		s.renderPasskeyRename(w, r, http.StatusOK, k, k.Name, nil)
	}
}

func (s *Server) handlePasskeyRename(w http.ResponseWriter, r *http.Request) {
	k, ok := formTarget(s, w, r, s.svc.Passkey)
	if !ok {
		return
	}
	name := r.PostForm.Get("name")
	renamed, err := s.svc.RenamePasskey(r.Context(), k.ID, name)
	switch muster.ErrorCode(err) {
	case "":
		s.redirectWith(w, r, passkeysPath, "The passkey is now called “"+renamed.Name+"”.")
	case muster.EINVALID, muster.ECONFLICT:
		s.renderPasskeyRename(w, r, httperr.Status(err), k, name, err)
	default:
		s.refused(w, r, err)
	}
}

// passkeyRemovePage confirms a passkey's removal; the person's last factor
// asks for their password and a passkey (Last).
type passkeyRemovePage struct {
	Page
	Name     string
	Action   string
	Last     bool
	Password Field
	// PasskeyError is the message about the passkey's confirmation.
	PasskeyError string
	Message      string
}

func (p passkeyRemovePage) Errors() *errorSummary {
	return summarize(p.Message, p.Password, groupRef{ID: "confirm-passkey", Label: "Passkey", Error: p.PasskeyError})
}

func (s *Server) renderPasskeyRemove(w http.ResponseWriter, r *http.Request, status int, k *muster.Passkey, err error) {
	last, lerr := s.svc.RemovingLastFactor(r.Context())
	if s.refused(w, r, lerr) {
		return
	}
	p := passkeyRemovePage{Page: s.page(w, r, "Remove "+k.Name), Name: k.Name, Action: passkeyURL(k.ID, "remove"),
		Last: last, Password: Field{ID: "current_password", Label: "Your password", Type: "password",
			Autocomplete: "current-password", Max: muster.MaxPasswordLength}}
	p.Message = showFieldErrors(err, map[string]*string{muster.FieldCurrentPassword: &p.Password.Error,
		muster.FieldPasskey: &p.PasskeyError})
	s.render(w, r, status, "passkey_remove", p)
}

func (s *Server) handlePasskeyRemoveForm(w http.ResponseWriter, r *http.Request) {
	if k, ok := pathTarget(s, w, r, s.svc.Passkey); ok {
		s.renderPasskeyRemove(w, r, http.StatusOK, k, nil)
	}
}

func (s *Server) handlePasskeyRemove(w http.ResponseWriter, r *http.Request) {
	k, ok := formTarget(s, w, r, s.svc.Passkey)
	if !ok {
		return
	}
	token, response := passkeyAnswer(r)
	_, sess := current(r)
	err := s.svc.RemovePasskey(r.Context(), k.ID, service.FactorProof{Password: r.PostForm.Get("current_password"),
		PasskeyToken: token, PasskeyResponse: response}, sess.ID)
	switch muster.ErrorCode(err) {
	case "":
		s.redirectWith(w, r, passkeysPath, "Passkey “"+k.Name+"” removed.")
	case muster.ENOTFOUND, muster.EINTERNAL, muster.EFORBIDDEN:
		s.refused(w, r, err)
	default:
		s.renderPasskeyRemove(w, r, httperr.Status(err), k, err)
	}
}

// handlePasskeyConfirmOptions begins a confirmation with one of the
// person's passkeys.
func (s *Server) handlePasskeyConfirmOptions(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	_, sess := current(r)
	begun, err := s.svc.BeginPasskeyConfirmation(r.Context(), sess.ID)
	s.writePasskeyOptions(w, r, begun, err)
}
