package service

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/secret"
)

// MaxPasskeyResponseBytes bounds what a browser may send as its answer to
// a ceremony: an attestation with a certificate chain fits many times over.
const MaxPasskeyResponseBytes = 32 << 10

// relyingParty is Muster as WebAuthn knows it: its ID is the base URL's
// host, and the one origin its passkeys answer is the base URL's. A base
// URL that names no host (an IP address, nothing) can have no passkeys,
// and unavailable says why.
type relyingParty struct {
	wa          *webauthn.WebAuthn
	id, origin  string
	unavailable string
}

func newRelyingParty(baseURL string) relyingParty {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Hostname() == "" {
		return relyingParty{unavailable: "Passkeys need Muster's base URL (--base-url) to be set to the address people use, such as https://muster.example.com."}
	}
	host := strings.ToLower(u.Hostname())
	if net.ParseIP(host) != nil {
		return relyingParty{unavailable: "Passkeys need Muster to be reached at a host name, not an IP address: set its base URL (--base-url) to the name people use, such as https://muster.example.com."}
	}
	// The origin as a browser writes it: no port when it is the scheme's.
	origin := u.Scheme + "://" + host
	if port := u.Port(); port != "" && !(u.Scheme == "https" && port == "443") && !(u.Scheme == "http" && port == "80") {
		origin += ":" + port
	}
	rp := relyingParty{id: host, origin: origin}
	rp.wa, err = webauthn.New(&webauthn.Config{
		RPID:          rp.id,
		RPDisplayName: "Muster",
		RPOrigins:     []string{rp.origin},
		// No attestation: Muster trusts any authenticator its person
		// chooses, and asks for nothing that identifies the device.
		AttestationPreference: protocol.PreferNoAttestation,
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			// Discoverable where the authenticator can, for passwordless
			// sign-in later; a PIN or fingerprint where it has one.
			ResidentKey:      protocol.ResidentKeyRequirementPreferred,
			UserVerification: protocol.VerificationPreferred,
		},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: muster.PasskeyCeremonyTTL, TimeoutUVD: muster.PasskeyCeremonyTTL},
			Registration: webauthn.TimeoutConfig{Timeout: muster.PasskeyCeremonyTTL, TimeoutUVD: muster.PasskeyCeremonyTTL},
		},
	})
	if err != nil {
		return relyingParty{unavailable: "Passkeys can't be used with Muster's base URL (--base-url): " + err.Error() + "."}
	}
	return rp
}

// PasskeysUnavailable says why this deployment cannot use passkeys, or ""
// when it can.
func (s *Service) PasskeysUnavailable() string { return s.rp.unavailable }

func (s *Service) passkeysAvailable() error {
	if s.rp.wa == nil {
		return muster.Errorf(muster.ECONFLICT, "%s", s.rp.unavailable)
	}
	return nil
}

// PasskeyOptions is a begun ceremony as the browser needs it: Options are
// the publicKey options of navigator.credentials.create or get, as JSON,
// and Token names the ceremony when the browser sends its answer.
type PasskeyOptions struct {
	Token   string
	Options json.RawMessage
}

// passkeyUser is a person as go-webauthn sees them.
type passkeyUser struct {
	u      *muster.User
	handle []byte
	keys   []*muster.Passkey
}

func (p passkeyUser) WebAuthnID() []byte          { return p.handle }
func (p passkeyUser) WebAuthnName() string        { return p.u.Email }
func (p passkeyUser) WebAuthnDisplayName() string { return p.u.Name() }
func (p passkeyUser) WebAuthnCredentials() []webauthn.Credential {
	out := make([]webauthn.Credential, len(p.keys))
	for i, k := range p.keys {
		out[i] = credentialOf(k)
	}
	return out
}

func credentialOf(k *muster.Passkey) webauthn.Credential {
	transports := make([]protocol.AuthenticatorTransport, len(k.Transports))
	for i, t := range k.Transports {
		transports[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{ID: k.CredentialID, PublicKey: k.PublicKey, AttestationFormat: k.AttestationFormat,
		Transport: transports, Flags: webauthn.CredentialFlagsFromMsgpByte(k.Flags),
		Authenticator: webauthn.Authenticator{AAGUID: k.AAGUID, SignCount: k.SignCount}}
}

// passkeysOf are the passkeys among factors, enabled or not (a passkey is
// enabled when it is added).
func passkeysOf(factors []*muster.Factor) ([]*muster.Passkey, error) {
	var out []*muster.Passkey
	for _, f := range factors {
		if f.Kind != muster.FactorPasskey {
			continue
		}
		p, err := muster.PasskeyOf(f)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// loadPasskeyUser reads u's user handle (making one on first use) and
// factors.
func loadPasskeyUser(ctx context.Context, tx *txn, u *muster.User) (passkeyUser, []*muster.Factor, error) {
	fresh := make([]byte, 32)
	rand.Read(fresh)
	handle, err := tx.PasskeyUserHandle(ctx, u.OrgID, u.ID, fresh, tx.now)
	if err != nil {
		return passkeyUser{}, nil, err
	}
	factors, err := tx.FindUserFactors(ctx, u.ID)
	if err != nil {
		return passkeyUser{}, nil, err
	}
	keys, err := passkeysOf(factors)
	return passkeyUser{u: u, handle: handle, keys: keys}, factors, err
}

// Passkeys lists the signed-in person's passkeys, oldest first.
func (s *Service) Passkeys(ctx context.Context) ([]*muster.Passkey, error) {
	return readAs(ctx, s, loadUser, func(tx *txn, a *actor) ([]*muster.Passkey, error) {
		factors, err := tx.FindUserFactors(ctx, a.user.ID)
		if err != nil {
			return nil, err
		}
		return passkeysOf(factors)
	})
}

// Passkey finds one of the signed-in person's passkeys.
func (s *Service) Passkey(ctx context.Context, id int64) (*muster.Passkey, error) {
	return readAs(ctx, s, loadUser, func(tx *txn, a *actor) (*muster.Passkey, error) {
		f, err := tx.FindFactor(ctx, a.user.ID, id)
		if err != nil {
			return nil, err
		}
		return muster.PasskeyOf(f)
	})
}

// checkPasskeyName validates a passkey's name that CleanName has cleaned.
func checkPasskeyName(name string) error {
	var v muster.Validation
	muster.CheckName(&v, muster.FieldName, "Passkey name", name)
	return v.Err()
}

var errPasskeyNameTaken = muster.FieldErrorf(muster.ECONFLICT, muster.FieldName,
	"You already have a passkey with this name. Choose another.")

var errTooManyPasskeys = muster.Errorf(muster.ECONFLICT, "You have %d passkeys, the most one person may have. Remove one first.",
	muster.MaxPasskeys)

// BeginPasskeyRegistration begins adding a passkey named name for the
// signed-in person, in the console session sessionID: the browser asks
// the authenticator with the options, and FinishPasskeyRegistration, from
// the same session, takes its answer once, within
// muster.PasskeyCeremonyTTL.
func (s *Service) BeginPasskeyRegistration(ctx context.Context, name string, sessionID int64) (*PasskeyOptions, error) {
	if err := s.passkeysAvailable(); err != nil {
		return nil, err
	}
	name = muster.CleanName(name)
	if err := checkPasskeyName(name); err != nil {
		return nil, err
	}
	var out *PasskeyOptions
	err := s.update(ctx, func(tx *txn) error {
		u, err := s.lockPasskeyOwner(ctx, tx)
		if err != nil {
			return err
		}
		pu, _, err := loadPasskeyUser(ctx, tx, u)
		if err != nil {
			return err
		}
		if len(pu.keys) >= muster.MaxPasskeys {
			return errTooManyPasskeys
		}
		for _, k := range pu.keys {
			if k.Name == name {
				return errPasskeyNameTaken
			}
		}
		// The authenticator refuses to make a second credential for
		// Muster on a device that holds one already.
		creation, data, err := s.rp.wa.BeginRegistration(pu,
			webauthn.WithExclusions(webauthn.Credentials(pu.WebAuthnCredentials()).CredentialDescriptors()))
		if err != nil {
			return err
		}
		out, err = s.startCeremony(ctx, tx, u, muster.PasskeyRegister, sessionID, name, creation.Response, data)
		return err
	})
	return out, err
}

// lockPasskeyOwner is the signed-in person, their row locked: their
// ceremonies and passkeys change one transaction at a time, so that the
// limits on them hold however many requests arrive together.
func (s *Service) lockPasskeyOwner(ctx context.Context, tx *txn) (*muster.User, error) {
	a, err := loadUser(ctx, tx)
	if err != nil {
		return nil, err
	}
	u, err := tx.FindUser(ctx, a.orgID, a.user.ID)
	if err != nil {
		return nil, err
	}
	if u.Status != muster.StatusActive {
		return nil, errSessionEnded
	}
	return u, nil
}

// startCeremony stores a begun ceremony and returns its options and the
// token that names it. The user's row must be locked (the limit).
func (s *Service) startCeremony(ctx context.Context, tx *txn, u *muster.User, purpose string, boundID int64, name string,
	options any, data *webauthn.SessionData) (*PasskeyOptions, error) {
	live, err := tx.CountLivePasskeyCeremonies(ctx, u.ID, tx.now)
	if err != nil {
		return nil, err
	}
	if live >= muster.MaxPasskeyCeremonies {
		return nil, &muster.Error{Code: muster.ETOOMANY, RetryAfter: muster.PasskeyCeremonyTTL,
			Message: "Too many passkey prompts were started at once. Wait a few minutes and try again."}
	}
	// Muster keeps the time itself (ExpiresAt, by its clock); the
	// library's own check would use the wall clock.
	data.Expires = time.Time{}
	stored, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	opts, err := json.Marshal(options)
	if err != nil {
		return nil, err
	}
	token, hash := secret.NewToken()
	c := &muster.PasskeyCeremony{OrgID: u.OrgID, UserID: u.ID, TokenHash: hash, Purpose: purpose, BoundID: boundID,
		Name: name, Data: stored, CreatedAt: tx.now, ExpiresAt: tx.now.Add(muster.PasskeyCeremonyTTL)}
	if err := tx.CreatePasskeyCeremony(ctx, c); err != nil {
		return nil, err
	}
	return &PasskeyOptions{Token: token, Options: opts}, nil
}

var errCeremonyGone = &muster.Error{Code: muster.EGONE, Reason: "expired",
	Message: "This passkey prompt has expired or was already answered. Please try again."}

// takeCeremony finds the ceremony token names, of purpose, bound to
// boundID, of user userID, and uses it up: whatever comes of the answer,
// its challenge is never answered again. The session data comes back with
// the library's wall-clock expiry cleared: Muster's clock decided.
func (s *Service) takeCeremony(ctx context.Context, tx *txn, token, purpose string, userID, boundID int64) (*muster.PasskeyCeremony, webauthn.SessionData, error) {
	var data webauthn.SessionData
	c, err := tx.FindPasskeyCeremony(ctx, secret.HashToken(token))
	if muster.ErrorCode(err) == muster.ENOTFOUND {
		return nil, data, errCeremonyGone
	} else if err != nil {
		return nil, data, err
	}
	if c.Purpose != purpose || c.UserID != userID || c.BoundID != boundID {
		return nil, data, errCeremonyGone
	}
	if !c.UsedAt.IsZero() {
		return nil, data, &muster.Error{Code: muster.EGONE, Reason: "used",
			Message: "This passkey prompt was already answered. Please try again."}
	}
	if !tx.now.Before(c.ExpiresAt) {
		return nil, data, errCeremonyGone
	}
	if ok, err := tx.UsePasskeyCeremony(ctx, c.ID, tx.now); err != nil {
		return nil, data, err
	} else if !ok {
		return nil, data, &muster.Error{Code: muster.EGONE, Reason: "used",
			Message: "This passkey prompt was already answered. Please try again."}
	}
	if err := json.Unmarshal(c.Data, &data); err != nil {
		return nil, data, err
	}
	data.Expires = time.Time{}
	return c, data, nil
}

// PasskeyAdded is a passkey just added and, when it is the person's first
// factor, their recovery codes, shown once.
type PasskeyAdded struct {
	Passkey       *muster.Passkey
	RecoveryCodes *RecoveryCodes
	factor        *muster.Factor
}

// FinishPasskeyRegistration checks the browser's answer to a registration
// begun in the console session sessionID and adds the passkey, a two-step
// factor from then on. The ceremony is used up even when the answer is
// refused.
func (s *Service) FinishPasskeyRegistration(ctx context.Context, token string, response []byte, sessionID int64) (*PasskeyAdded, error) {
	if err := s.passkeysAvailable(); err != nil {
		return nil, err
	}
	var (
		out     *PasskeyAdded
		refusal error
	)
	err := s.update(ctx, func(tx *txn) error {
		u, err := s.lockPasskeyOwner(ctx, tx)
		if err != nil {
			return err
		}
		a := &actor{user: u, orgID: u.OrgID, role: u.Role, origin: originOf(ctx)}
		out, refusal, err = s.addPasskey(ctx, tx, a, token, muster.PasskeyRegister, sessionID, response)
		return err
	})
	if err == nil && refusal != nil {
		return nil, refusal
	}
	return out, err
}

// addPasskey checks the answer to the registration ceremony token names (of
// purpose, bound to boundID) and adds a's passkey, whose row is locked.
// A refused answer comes back as refusal, the ceremony used up: the caller
// commits and then returns it. err is a fault.
func (s *Service) addPasskey(ctx context.Context, tx *txn, a *actor, token, purpose string, boundID int64,
	response []byte) (out *PasskeyAdded, refusal, err error) {
	u := a.user
	c, data, err := s.takeCeremony(ctx, tx, token, purpose, u.ID, boundID)
	if err != nil {
		return nil, nil, err
	}
	pu, factors, err := loadPasskeyUser(ctx, tx, u)
	if err != nil {
		return nil, nil, err
	}
	cred, refusal := s.verifyRegistration(pu, data, response)
	if refusal == nil {
		refusal = checkNewPasskey(pu.keys, cred, c.Name)
	}
	if refusal != nil {
		// The used-up ceremony is kept: its challenge must not be
		// answered again.
		return nil, refusal, nil
	}
	if taken, err := tx.FactorCredentialRegistered(ctx, cred.ID); err != nil {
		return nil, nil, err
	} else if taken {
		// Registered by someone else: say no more than that.
		return nil, muster.Errorf(muster.ECONFLICT, "This passkey can't be registered. Use another one."), nil
	}
	p := s.newPasskey(u, c.Name, cred, tx.now)
	f := &muster.Factor{OrgID: u.OrgID, UserID: u.ID, Kind: muster.FactorPasskey, Name: p.Name,
		CredentialID: p.CredentialID, Data: p.EncodeData(), CreatedAt: tx.now, EnabledAt: tx.now}
	if err := tx.CreateFactor(ctx, f); err != nil {
		return nil, nil, err
	}
	p.ID = f.ID
	out = &PasskeyAdded{Passkey: p, factor: f}
	if err := tx.audit(ctx, a, muster.ActionTwoStepFactorAdded, muster.TargetUser, u.ID, u.Email, nil,
		map[string]any{"kind": string(muster.FactorPasskey), "name": p.Name}); err != nil {
		return nil, nil, err
	}
	if len(enabledFactors(factors)) == 0 {
		if out.RecoveryCodes, err = newTwoStepRecoveryCodes(ctx, tx, a, u); err != nil {
			return nil, nil, err
		}
	}
	return out, nil, nil
}

// BeginPasskeyEnrolment begins adding a passkey named name as the first
// factor of the person of the pending sign-in of token, whom the
// organization requires two-step verification of: the sign-in's
// enrolment, which FinishPasskeyEnrolment completes.
func (s *Service) BeginPasskeyEnrolment(ctx context.Context, token, name string) (*PasskeyOptions, error) {
	if err := s.passkeysAvailable(); err != nil {
		return nil, err
	}
	name = muster.CleanName(name)
	if err := checkPasskeyName(name); err != nil {
		return nil, err
	}
	var out *PasskeyOptions
	err := s.update(ctx, func(tx *txn) error {
		ch, u, err := lockedChallenge(ctx, tx, token)
		if err != nil {
			return err
		}
		if err := enrolsWithoutFactor(ctx, tx, u); err != nil {
			return err
		}
		pu, _, err := loadPasskeyUser(ctx, tx, u)
		if err != nil {
			return err
		}
		creation, data, err := s.rp.wa.BeginRegistration(pu)
		if err != nil {
			return err
		}
		out, err = s.startCeremony(ctx, tx, u, muster.PasskeyEnrol, ch.ID, name, creation.Response, data)
		return err
	})
	return out, err
}

// FinishPasskeyEnrolment adds the passkey the browser answered an enrolment
// (BeginPasskeyEnrolment) with, and completes the pending sign-in of token
// with it: the session, and the person's recovery codes, shown once.
func (s *Service) FinishPasskeyEnrolment(ctx context.Context, token, ceremony string, response []byte, c Client) (*SecondStepDone, error) {
	if err := s.passkeysAvailable(); err != nil {
		return nil, err
	}
	var (
		out     *SecondStepDone
		refusal error
	)
	err := s.update(ctx, func(tx *txn) error {
		out, refusal = nil, nil
		ch, u, err := lockedChallenge(ctx, tx, token)
		if err != nil {
			return err
		}
		if err := enrolsWithoutFactor(ctx, tx, u); err != nil {
			return err
		}
		a := &actor{user: u, orgID: u.OrgID, role: u.Role, origin: c.Origin}
		added, refused, err := s.addPasskey(ctx, tx, a, ceremony, muster.PasskeyEnrol, ch.ID, response)
		if err != nil || refused != nil {
			refusal = refused
			return err
		}
		if out, err = s.finishSecondStep(ctx, tx, ch, u, added.factor, false, c); err != nil {
			return err
		}
		out.RecoveryCodes = added.RecoveryCodes
		return nil
	})
	if err == nil && refusal != nil {
		return nil, refusal
	}
	return out, err
}

// checkNewPasskey refuses a new credential that is one of keys already, a
// name taken meanwhile, or one passkey too many.
func checkNewPasskey(keys []*muster.Passkey, cred *webauthn.Credential, name string) error {
	if len(keys) >= muster.MaxPasskeys {
		return errTooManyPasskeys
	}
	for _, k := range keys {
		switch {
		case bytes.Equal(k.CredentialID, cred.ID):
			return muster.Errorf(muster.ECONFLICT, "This passkey is already registered as “%s”.", k.Name)
		case k.Name == name:
			return errPasskeyNameTaken
		}
	}
	return nil
}

// newPasskey is the passkey cred, named name, of u: what the browser
// reported that Muster keeps, checked.
func (s *Service) newPasskey(u *muster.User, name string, cred *webauthn.Credential, now time.Time) *muster.Passkey {
	transports := make([]string, 0, len(cred.Transport))
	for _, t := range cred.Transport {
		if t := string(t); t != "" && len(t) <= 20 && muster.TextProblem(t) == "" && !slices.Contains(transports, t) &&
			len(transports) < 8 {
			transports = append(transports, t)
		}
	}
	format := cred.AttestationFormat
	if len(format) > 32 || muster.TextProblem(format) != "" {
		format = ""
	}
	p := &muster.Passkey{OrgID: u.OrgID, UserID: u.ID, Name: name, CredentialID: cred.ID, CreatedAt: now,
		PasskeyData: muster.PasskeyData{RPID: s.rp.id, PublicKey: cred.PublicKey, SignCount: cred.Authenticator.SignCount,
			Transports: transports, AAGUID: cred.Authenticator.AAGUID, Flags: cred.Flags.MsgpByte(), AttestationFormat: format}}
	if len(p.AAGUID) != 16 {
		p.AAGUID = nil
	}
	return p
}

// originOf is the origin of the context's principal, for the audit log.
func originOf(ctx context.Context) string {
	p, _ := muster.PrincipalFrom(ctx)
	return p.Origin
}

// verifyRegistration checks an attestation response against the ceremony's
// session data and returns the new credential.
func (s *Service) verifyRegistration(pu passkeyUser, data webauthn.SessionData, response []byte) (*webauthn.Credential, error) {
	parsed, err := parseAttestation(response)
	if err != nil {
		return nil, err
	}
	if err := s.checkOrigin(parsed.Response.CollectedClientData.Origin); err != nil {
		return nil, err
	}
	cred, err := s.rp.wa.CreateCredential(pu, data, parsed)
	if err != nil {
		return nil, passkeyRefusal(err)
	}
	return cred, nil
}

// parseAttestation parses a browser's answer to navigator.credentials.create.
func parseAttestation(response []byte) (*protocol.ParsedCredentialCreationData, error) {
	return parseAnswer(response, protocol.ParseCredentialCreationResponseBytes)
}

// parseAssertion parses a browser's answer to navigator.credentials.get.
func parseAssertion(response []byte) (*protocol.ParsedCredentialAssertionData, error) {
	return parseAnswer(response, protocol.ParseCredentialRequestResponseBytes)
}

// parseAnswer parses a browser's answer with parse, refusing one too long
// to be an authenticator's and saying the same of any it cannot read.
func parseAnswer[T any](response []byte, parse func([]byte) (*T, error)) (*T, error) {
	if len(response) > MaxPasskeyResponseBytes {
		return nil, errPasskeyUnreadable
	}
	parsed, err := parse(response)
	if err != nil {
		return nil, errPasskeyUnreadable
	}
	return parsed, nil
}

var errPasskeyUnreadable = muster.Errorf(muster.EINVALID, "The browser's answer from the passkey could not be read. Please try again.")

// checkOrigin refuses an answer the browser collected on another site than
// this Muster's base URL: a phishing page's, or a server whose base URL is
// set wrong.
func (s *Service) checkOrigin(origin string) error {
	if protocol.IsOriginInHaystack(origin, []string{s.rp.origin}) {
		return nil
	}
	if utf8.RuneCountInString(origin) > 200 || muster.TextProblem(origin) != "" {
		origin = "another site"
	}
	return passkeyRefused("wrong_origin", "The passkey answered for "+origin+", not for "+s.rp.origin+
		", the address this Muster is set up at. Open Muster at "+s.rp.origin+" and try again.", nil)
}

// passkeyRefusal turns go-webauthn's refusal of an answer into Muster's.
func passkeyRefusal(err error) error {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		return passkeyRefused("refused", "The passkey's answer was refused ("+strings.TrimSuffix(pe.Details, ".")+
			"). Please try again.", err)
	}
	return passkeyRefused("refused", "The passkey's answer was refused. Please try again.", err)
}

// RenamePasskey renames one of the signed-in person's passkeys.
func (s *Service) RenamePasskey(ctx context.Context, id int64, name string) (*muster.Passkey, error) {
	name = muster.CleanName(name)
	if err := checkPasskeyName(name); err != nil {
		return nil, err
	}
	var out *muster.Passkey
	err := s.update(ctx, func(tx *txn) error {
		u, err := s.lockPasskeyOwner(ctx, tx)
		if err != nil {
			return err
		}
		factors, err := tx.FindUserFactors(ctx, u.ID)
		if err != nil {
			return err
		}
		keys, err := passkeysOf(factors)
		if err != nil {
			return err
		}
		var p *muster.Passkey
		for _, k := range keys {
			switch {
			case k.ID == id:
				p = k
			case k.Name == name:
				return errPasskeyNameTaken
			}
		}
		if p == nil {
			return muster.Errorf(muster.ENOTFOUND, "Passkey not found.")
		}
		out = p
		if p.Name == name {
			return nil
		}
		if err := tx.RenameFactor(ctx, u.ID, id, name); err != nil {
			return err
		}
		before := p.Name
		p.Name = name
		a := &actor{user: u, orgID: u.OrgID, role: u.Role, origin: originOf(ctx)}
		return tx.audit(ctx, a, muster.ActionPasskeyRenamed, muster.TargetUser, u.ID, u.Email,
			map[string]any{"passkey": before}, map[string]any{"passkey": name})
	})
	return out, err
}

// beginAssertion begins a ceremony in which one of u's passkeys signs a
// challenge: the second step of a sign-in or a confirmation. The user's
// row must be locked (the limit on ceremonies).
func (s *Service) beginAssertion(ctx context.Context, tx *txn, u *muster.User, purpose string, boundID int64) (*PasskeyOptions, error) {
	if err := s.passkeysAvailable(); err != nil {
		return nil, err
	}
	pu, _, err := loadPasskeyUser(ctx, tx, u)
	if err != nil {
		return nil, err
	}
	if len(pu.keys) == 0 {
		return nil, muster.Errorf(muster.ECONFLICT, "You have no passkey. Use another way to confirm.")
	}
	assertion, data, err := s.rp.wa.BeginLogin(pu)
	if err != nil {
		return nil, err
	}
	return s.startCeremony(ctx, tx, u, purpose, boundID, "", assertion.Response, data)
}

// passkeyRefused is a refused passkey answer: unauthorized, about the
// passkey input, with reason.
func passkeyRefused(reason, message string, cause error) *muster.Error {
	return &muster.Error{Code: muster.EUNAUTHORIZED, Reason: reason, Message: message, Err: cause,
		Fields: []muster.FieldError{{Field: muster.FieldPasskey, Message: message}}}
}

// isPasskeyRefusal reports whether err is a refused passkey answer, which
// counts as a failed second step.
func isPasskeyRefusal(err error) bool {
	var e *muster.Error
	return errors.As(err, &e) && e.Code == muster.EUNAUTHORIZED && len(e.Fields) == 1 && e.Fields[0].Field == muster.FieldPasskey
}

// finishAssertion checks the answer to u's ceremony that token names and,
// when one of u's passkeys signed it, records the use (its signature
// counter, flags and time) and returns that passkey. A refused answer
// comes back as refusal (isPasskeyRefusal), with the ceremony used up: the
// caller audits it and commits both, then returns the refusal. A ceremony
// that is gone is refusal too, but not a failure of u's. err is a fault.
func (s *Service) finishAssertion(ctx context.Context, tx *txn, u *muster.User, purpose string, boundID int64,
	token string, response []byte) (used *muster.Passkey, refusal, err error) {
	if err := s.passkeysAvailable(); err != nil {
		return nil, err, nil
	}
	_, data, err := s.takeCeremony(ctx, tx, token, purpose, u.ID, boundID)
	if err != nil {
		if muster.ErrorCode(err) == muster.EINTERNAL {
			return nil, nil, err
		}
		return nil, err, nil
	}
	pu, _, err := loadPasskeyUser(ctx, tx, u)
	if err != nil {
		return nil, nil, err
	}
	key, cred, refusal := s.verifyAssertion(pu, data, response)
	if refusal == nil && cred.Authenticator.CloneWarning {
		refusal = passkeyRefused("sign_count", "The passkey “"+key.Name+"” was refused: its signature counter went "+
			"backwards, a sign that it may have been copied. Use another passkey or factor, and remove this one if you "+
			"don't recognise this.", nil)
	}
	if refusal != nil {
		return nil, refusal, nil
	}
	key.SignCount, key.Flags, key.LastUsedAt = cred.Authenticator.SignCount, cred.Flags.MsgpByte(), tx.now
	if err := tx.UpdateFactorData(ctx, key.ID, key.EncodeData(), tx.now); err != nil {
		return nil, nil, err
	}
	return key, nil, nil
}

// verifyAssertion checks an assertion response against the ceremony's
// session data and pu's passkeys, and returns the passkey that signed it
// (when the response names one of pu's) and the credential as it is now.
func (s *Service) verifyAssertion(pu passkeyUser, data webauthn.SessionData, response []byte) (*muster.Passkey, *webauthn.Credential, error) {
	parsed, err := parseAssertion(response)
	if err != nil {
		return nil, nil, err
	}
	var key *muster.Passkey
	for _, k := range pu.keys {
		if bytes.Equal(k.CredentialID, parsed.RawID) {
			key = k
		}
	}
	if key == nil {
		return nil, nil, passkeyRefused("unknown", "That passkey is not one of yours here. Use a passkey you added to Muster.", nil)
	}
	if err := s.checkOrigin(parsed.Response.CollectedClientData.Origin); err != nil {
		return key, nil, err
	}
	cred, err := s.rp.wa.ValidateLogin(pu, data, parsed)
	if err != nil {
		return key, nil, passkeyRefusal(err)
	}
	return key, cred, nil
}

// BeginPasskeyConfirmation begins a ceremony in which the signed-in person,
// in console session sessionID, proves with one of their passkeys that
// they hold it now: turning the last factor off asks for a current one
// (RemoveFactorWithPasskey).
func (s *Service) BeginPasskeyConfirmation(ctx context.Context, sessionID int64) (*PasskeyOptions, error) {
	var out *PasskeyOptions
	err := s.update(ctx, func(tx *txn) error {
		u, err := s.lockPasskeyOwner(ctx, tx)
		if err != nil {
			return err
		}
		out, err = s.beginAssertion(ctx, tx, u, muster.PasskeyConfirm, sessionID)
		return err
	})
	return out, err
}

// RemoveFactorWithPasskey is RemoveFactor whose current factor, asked for
// the last one, is one of the person's passkeys answering a confirmation
// (BeginPasskeyConfirmation) begun in console session sessionID: it may
// be the passkey removed.
func (s *Service) RemoveFactorWithPasskey(ctx context.Context, id int64, password, token string, response []byte, sessionID int64) error {
	return s.removeFactor(ctx, id, password, func(tx *txn, u *muster.User, _ []*muster.Factor) (*muster.FieldError, error) {
		if token == "" || len(response) == 0 {
			return &muster.FieldError{Field: muster.FieldPasskey, Message: "Confirm with one of your passkeys."}, nil
		}
		_, refusal, err := s.finishAssertion(ctx, tx, u, muster.PasskeyConfirm, sessionID, token, response)
		if err != nil || refusal == nil {
			return nil, err
		}
		return &muster.FieldError{Field: muster.FieldPasskey, Message: muster.ErrorMessage(refusal)}, nil
	})
}

// BeginPasskeySecondStep begins the second step of the pending sign-in of
// token with one of its person's passkeys: the browser asks the
// authenticator with the options, and VerifySecondStepPasskey takes its
// answer.
func (s *Service) BeginPasskeySecondStep(ctx context.Context, token string) (*PasskeyOptions, error) {
	var out *PasskeyOptions
	err := s.update(ctx, func(tx *txn) error {
		ch, u, err := lockedChallenge(ctx, tx, token)
		if err != nil {
			return err
		}
		out, err = s.beginAssertion(ctx, tx, u, muster.PasskeySignIn, ch.ID)
		return err
	})
	return out, err
}

// VerifySecondStepPasskey completes the pending sign-in of token with the
// browser's answer to the passkey ceremony ceremony (BeginPasskeySecondStep)
// of the same sign-in. A refused answer is a failed second step (audited,
// counted against the limits) with words that say why, about the passkey
// input; remember is as VerifySecondStep's.
func (s *Service) VerifySecondStepPasskey(ctx context.Context, token, ceremony string, response []byte, remember bool, c Client) (*SecondStepDone, error) {
	return s.completeSecondStep(ctx, token, remember, c, func(tx *txn, ch *muster.SignInChallenge, u *muster.User,
		factors []*muster.Factor) (*muster.Factor, error) {
		key, refusal, err := s.finishAssertion(ctx, tx, u, muster.PasskeySignIn, ch.ID, ceremony, response)
		if err != nil || refusal != nil {
			return nil, firstErr(err, refusal)
		}
		for _, f := range factors {
			if f.ID == key.ID {
				return f, nil
			}
		}
		return nil, passkeyRefused("not_enabled", "That passkey is not one of yours here. Use a passkey you added to Muster.", nil)
	})
}
