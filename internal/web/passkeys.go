package web

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/muster-app/muster/internal/httperr"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/service"
)

// Passkeys and security keys (WebAuthn), a two-step factor: added and
// renamed from the Security page, turned off like any factor, and a choice
// of the sign-in's second step. WebAuthn needs JavaScript
// (static/passkeys.js): a button marked data-passkey asks its data-options
// endpoint (JSON, under the console's cross-origin protection) for a
// ceremony's options, asks the browser's authenticator, and sends the
// answer with the button's own form, in its passkey_token and
// passkey_response inputs. Without JavaScript, or in a browser without
// WebAuthn, the page says so, and codes keep working.
const passkeysPath = securityPath + "/passkeys"

func (s *Server) passkeyRoutes() {
	s.mux.HandleFunc("POST "+passkeysPath+"/options", s.requireUser(s.handlePasskeyOptions))
	s.mux.HandleFunc("POST "+passkeysPath, s.requireUser(s.handlePasskeyAdd))
	s.mux.HandleFunc("GET "+passkeysPath+"/{id}/rename", s.requireUser(s.handlePasskeyRenameForm))
	s.mux.HandleFunc("POST "+passkeysPath+"/{id}/rename", s.requireUser(s.handlePasskeyRename))
	s.mux.HandleFunc("POST "+passkeysPath+"/confirm-options", s.requireUser(s.handlePasskeyConfirmOptions))
	s.mux.HandleFunc("POST "+secondStepPath+"/passkey/options", s.handleSecondStepPasskeyOptions)
	s.mux.HandleFunc("POST "+secondStepPath+"/passkey", s.handleSecondStepPasskey)
	s.mux.HandleFunc("POST "+secondStepPath+"/passkey/enrol-options", s.handleEnrolPasskeyOptions)
	s.mux.HandleFunc("POST "+secondStepPath+"/passkey/enrol", s.handleEnrolPasskey)
}

// sentWithoutScript refuses a passkey form that came without the script's
// answer: no authenticator was asked (the page says that passkeys need
// JavaScript).
var sentWithoutScript = &muster.Error{Code: muster.EINVALID, Message: "No passkey was asked: passkeys need " +
	"JavaScript, which is off or blocked in this browser.",
	Fields: []muster.FieldError{{Field: muster.FieldPasskey, Message: "Passkeys need JavaScript, which is off or blocked in this browser."}}}

// passkeyAnswer is the ceremony's token and the browser's answer, which
// the script puts in the form.
func passkeyAnswer(r *http.Request) (token string, response []byte) {
	return r.PostForm.Get("passkey_token"), []byte(r.PostForm.Get("passkey_response"))
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

// handlePasskeyAdd adds the passkey the browser answered with.
func (s *Server) handlePasskeyAdd(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	name := r.PostForm.Get("name")
	token, response := passkeyAnswer(r)
	if token == "" || len(response) == 0 {
		s.renderSecurityWith(w, r, http.StatusBadRequest, securityForm{PasskeyName: name, PasskeyErr: sentWithoutScript})
		return
	}
	_, sess := current(r)
	added, err := s.svc.FinishPasskeyRegistration(r.Context(), token, response, sess.ID)
	switch muster.ErrorCode(err) {
	case "":
		s.flash(w, "Passkey “"+added.Passkey.Name+"” added. Signing in with your password now asks for a second step.")
		if added.RecoveryCodes != nil {
			s.renderRecoveryCodes(w, r, added.RecoveryCodes.Codes, securityPath)
			return
		}
		http.Redirect(w, r, securityPath, http.StatusSeeOther)
	case muster.EINTERNAL:
		s.serverError(w, r, err)
	default:
		s.renderSecurityWith(w, r, httperr.Status(err), securityForm{PasskeyName: name, PasskeyErr: err})
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

func passkeyURL(id int64, action string) string {
	return passkeysPath + "/" + strconv.FormatInt(id, 10) + "/" + action
}

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
		s.redirectWith(w, r, securityPath, "The passkey is now called “"+renamed.Name+"”.")
	case muster.EINVALID, muster.ECONFLICT:
		s.renderPasskeyRename(w, r, httperr.Status(err), k, name, err)
	default:
		s.refused(w, r, err)
	}
}

// handlePasskeyConfirmOptions begins a confirmation with one of the
// person's passkeys, for turning off their last factor.
func (s *Server) handlePasskeyConfirmOptions(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	_, sess := current(r)
	begun, err := s.svc.BeginPasskeyConfirmation(r.Context(), sess.ID)
	s.writePasskeyOptions(w, r, begun, err)
}

// handleSecondStepPasskeyOptions begins the second step of the pending
// sign-in with a passkey.
func (s *Server) handleSecondStepPasskeyOptions(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	begun, err := s.svc.BeginPasskeySecondStep(r.Context(), pendingToken(r))
	s.writePasskeyOptions(w, r, begun, err)
}

// handleSecondStepPasskey completes the pending sign-in with the passkey's
// answer.
func (s *Server) handleSecondStepPasskey(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	token, response := passkeyAnswer(r)
	if token == "" || len(response) == 0 {
		s.renderSecondStep(w, r, http.StatusBadRequest, sentWithoutScript)
		return
	}
	done, err := s.svc.VerifySecondStepPasskey(r.Context(), pendingToken(r), token, response,
		r.PostForm.Get("remember") == "on", s.client(r))
	switch code := muster.ErrorCode(err); {
	case code == "":
		s.secondStepDone(w, r, done, safeNext(r.FormValue("next")))
	case code == muster.EINTERNAL:
		s.serverError(w, r, err)
	case muster.ErrorFields(err) != nil || code == muster.ETOOMANY || code == muster.EGONE:
		// Refused, or a prompt answered late: the page again, to try
		// again or use a code.
		s.renderSecondStep(w, r, httperr.Status(err), err)
	default:
		s.pendingEnded(w, r, err)
	}
}

// handleEnrolPasskeyOptions begins adding the first passkey inside the
// pending sign-in, where the organization requires two-step verification.
func (s *Server) handleEnrolPasskeyOptions(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	begun, err := s.svc.BeginPasskeyEnrolment(r.Context(), pendingToken(r), r.PostForm.Get("name"))
	s.writePasskeyOptions(w, r, begun, err)
}

// handleEnrolPasskey adds the passkey and completes the pending sign-in.
func (s *Server) handleEnrolPasskey(w http.ResponseWriter, r *http.Request) {
	if !s.parseForm(w, r) {
		return
	}
	token, response := passkeyAnswer(r)
	if token == "" || len(response) == 0 {
		s.renderSecondStep(w, r, http.StatusBadRequest, sentWithoutScript)
		return
	}
	done, err := s.svc.FinishPasskeyEnrolment(r.Context(), pendingToken(r), token, response, s.client(r))
	switch code := muster.ErrorCode(err); {
	case code == "":
		s.secondStepDone(w, r, done, safeNext(r.FormValue("next")))
	case code == muster.EINTERNAL:
		s.serverError(w, r, err)
	case code == muster.EUNAUTHORIZED && muster.ErrorFields(err) == nil:
		// The pending sign-in has ended.
		s.pendingEnded(w, r, err)
	default:
		s.renderSecondStep(w, r, httperr.Status(err), err)
	}
}
