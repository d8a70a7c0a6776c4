package service

import (
	"context"
	"crypto/subtle"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/sso"
)

// Signing in through an organization's identity provider (AUTH-6): the
// login starts here (home-realm discovery from an email's verified domain,
// an admin's test sign-in, an invitation accepted through SSO, a password
// sign-in of an organization that requires SSO), goes to the provider, and
// comes back to FinishSSO, which decides who the person is.

// SSOLoginTTL is how long a login may take at the provider.
const SSOLoginTTL = 10 * time.Minute

// ssoStarts limits the sign-ins through a provider that one client address
// begins: each writes a login row, which lives SSOLoginTTL.
var ssoStarts = windowLimit{kind: "sso-start", max: 60, window: 15 * time.Minute}

// SSOStart is a sign-in through the provider, begun: the browser goes to
// URL, holding BrowserSecret (a cookie) for the callback.
type SSOStart struct {
	URL           string
	BrowserSecret string
	ExpiresAt     time.Time
	// OrgName names the organization whose provider it is.
	OrgName string
}

// SSORequiredError refuses a right password of a user whose organization
// requires single sign-on; Start, when set, is a sign-in through the
// organization's provider begun for them.
type SSORequiredError struct {
	Refusal *muster.Error
	Start   *SSOStart
}

func (e *SSORequiredError) Error() string { return e.Refusal.Error() }

// Unwrap returns the refusal, which muster.ErrorCode and ErrorMessage read.
func (e *SSORequiredError) Unwrap() error { return e.Refusal }

// startSSO begins a login of purpose at the org's provider for the client
// at ip (counted against ssoStarts; "" for an admin's test). userID is the
// admin testing or the invited user; next is where a sign-in returns to.
func (s *Service) startSSO(ctx context.Context, ip string, orgID int64, purpose string, userID, invitationID int64,
	next string) (*SSOStart, error) {
	var (
		org *muster.Org
		c   *muster.SSOConnection
	)
	err := s.view(ctx, func(tx *txn) error {
		var err error
		if org, err = tx.FindOrg(ctx, orgID); err != nil {
			return err
		}
		c, err = findConnection(ctx, tx, orgID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if c == nil || (purpose == muster.SSOSignIn && !c.Enabled) {
		return nil, muster.Errorf(muster.ECONFLICT, "%s does not sign in with single sign-on.", org.Name)
	}
	conn, err := s.connection(c)
	if err != nil {
		return nil, err
	}
	l := sso.NewLogin()
	u, err := s.cfg.SSO.AuthCodeURL(ctx, conn, l)
	if err != nil {
		return nil, muster.Errorf(muster.ECONFLICT, "%s's identity provider could not be reached, so single "+
			"sign-on cannot start. Try again in a few minutes, or ask your administrator.", org.Name)
	}
	start := &SSOStart{URL: u, BrowserSecret: l.BrowserSecret, OrgName: org.Name}
	err = s.update(ctx, func(tx *txn) error {
		if ip != "" {
			wait, err := ssoStarts.take(ctx, tx, limitKey(ssoStarts.kind, ip), tx.now)
			if err != nil {
				return err
			} else if wait > 0 {
				return &muster.Error{Code: muster.ETOOMANY, RetryAfter: wait,
					Message: "Too many sign-ins from this address. Try again in " + waitText(wait) + "."}
			}
		}
		login := &muster.SSOLogin{OrgID: orgID, StateHash: sso.Hash(l.State), BrowserHash: sso.Hash(l.BrowserSecret),
			Nonce: l.Nonce, Purpose: purpose, UserID: userID, InvitationID: invitationID, Version: c.Version,
			Next: next, CreatedAt: tx.now, ExpiresAt: tx.now.Add(SSOLoginTTL)}
		start.ExpiresAt = login.ExpiresAt
		return tx.CreateSSOLogin(ctx, login)
	})
	if err != nil {
		return nil, err
	}
	return start, nil
}

// SignInRoute is the email step of sign-in (home-realm discovery): when
// the email's domain is verified by an organization with SSO sign-in on,
// it begins a sign-in at that organization's provider; otherwise it
// returns nil, and the password is asked for. It judges the domain alone,
// never whether the email has an account, so it reveals nothing the
// domain's DNS does not.
func (s *Service) SignInRoute(ctx context.Context, email, next string, c Client) (*SSOStart, error) {
	domain := muster.EmailDomain(muster.NormalizeEmail(email))
	if !muster.ValidDomain(domain) {
		return nil, nil
	}
	var orgID int64
	err := s.view(ctx, func(tx *txn) error {
		d, err := tx.FindVerifiedSSODomain(ctx, domain)
		if muster.ErrorCode(err) == muster.ENOTFOUND {
			return nil
		} else if err != nil {
			return err
		}
		c, err := findConnection(ctx, tx, d.OrgID)
		if err != nil || c == nil || !c.Enabled {
			return err
		}
		orgID = d.OrgID
		return nil
	})
	if err != nil || orgID == 0 {
		return nil, err
	}
	return s.startSSO(ctx, c.IP, orgID, muster.SSOSignIn, 0, 0, next)
}

// StartSSOTest begins an admin's test sign-in with the saved settings
// (Owner or Admin). Its result (FinishSSO) shows the claims received and
// whom they matched; it signs nobody in and links nothing.
func (s *Service) StartSSOTest(ctx context.Context) (*SSOStart, error) {
	a, err := readAs(ctx, s, loadAdmin, func(tx *txn, a *actor) (*actor, error) { return a, nil })
	if err != nil {
		return nil, err
	}
	if a.user == nil {
		return nil, muster.Errorf(muster.EFORBIDDEN, "A test sign-in is run by a signed-in Owner or Admin.")
	}
	return s.startSSO(ctx, "", a.orgID, muster.SSOTest, a.user.ID, 0, "/settings/sso")
}

// StartSSOInvitation begins accepting an invitation through the org's
// provider: the identity that comes back is linked to the invited user,
// who becomes Active.
func (s *Service) StartSSOInvitation(ctx context.Context, token string, c Client) (*SSOStart, error) {
	var inv *muster.Invitation
	var u *muster.User
	err := s.view(ctx, func(tx *txn) error {
		var err error
		inv, u, err = s.liveInvitation(ctx, tx, token)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.startSSO(ctx, c.IP, u.OrgID, muster.SSOSignIn, u.ID, inv.ID, "/")
}

// SSOOutcome is what a callback came to: a sign-in, or a test's result.
type SSOOutcome struct {
	SignedIn *SignedIn
	// Next is where the signed-in browser goes.
	Next string
	Test *SSOTestResult
}

// SSOTestResult is what an admin's test sign-in found.
type SSOTestResult struct {
	// Claims are what the provider sent, nil when it failed.
	Claims *sso.Claims
	// Matched is the user the sign-in would be, nil for none.
	Matched *muster.User
	// Outcome says what a real sign-in would do, or why it would be
	// refused.
	Outcome string
	// Reason is the refusal's reason, "" when it would sign in.
	Reason string
	// Succeeded: the provider's answer verified and matched the admin who
	// ran the test, with the settings as they are now.
	Succeeded bool
}

// ssoRefusal is a sign-in through the provider refused, with its reason
// for the audit log and a message for the person.
type ssoRefusal struct {
	code    string
	reason  string
	message string
	detail  string
	user    *muster.User
}

func (r *ssoRefusal) err() error {
	return &muster.Error{Code: r.code, Reason: r.reason, Message: r.message}
}

// Refusal reasons of who signs in as whom; the protocol's are sso.Reason….
const (
	reasonStateUnknown     = "state_unknown"
	reasonStateMismatch    = "state_mismatch"
	reasonLoginUsed        = "login_used"
	reasonLoginExpired     = "login_expired"
	reasonSSOOff           = "sso_off"
	reasonEmailUnverified  = "email_not_verified"
	reasonDomainUnverified = "domain_not_verified"
	reasonLinkedElsewhere  = "linked_to_another_identity"
	reasonIdentityTaken    = "identity_linked_to_another_user"
	reasonDeactivated      = "deactivated"
	reasonNoAccount        = "no_account"
	reasonNoSeat           = "no_seat"
	reasonBadEmail         = "bad_email"
)

const startAgain = " Start again from the sign-in page."

// protocolRefusal is the refusal of a sign-in the protocol did not let
// through.
func protocolRefusal(err error) *ssoRefusal {
	reason := sso.ErrorReason(err)
	if reason == "" {
		reason = sso.ReasonMalformed
	}
	r := &ssoRefusal{code: muster.EUNAUTHORIZED, reason: reason, detail: err.Error(),
		message: "Muster could not verify the answer of your identity provider, so it did not sign you in (" +
			reason + "). If this keeps happening, ask your administrator to check the single sign-on settings."}
	switch reason {
	case sso.ReasonProvider:
		r.message = "Your identity provider could not be reached, so Muster could not finish signing you in. " +
			"Try again in a few minutes."
	case sso.ReasonIdPError:
		var e *sso.Error
		if errors.As(err, &e) {
			r.message = "Your identity provider did not sign you in: " + strings.TrimRight(e.Detail, ".") + "." + startAgain
		}
	}
	return r
}

// FinishSSO takes the provider's callback: query is its query, and
// browserSecret the cookie of the browser that started the login. It
// checks that this browser started this login (state), that the login is
// live and used once, redeems the code, verifies the ID token and decides
// who the person is: for a sign-in it starts a session, for a test it
// reports. Every refusal is a *muster.Error whose Reason says why, recorded
// in the audit log of the organization when the login was found.
func (s *Service) FinishSSO(ctx context.Context, query url.Values, browserSecret string, c Client) (*SSOOutcome, error) {
	cb, parseErr := sso.ParseCallback(query)
	if cb.State == "" {
		return nil, (&ssoRefusal{code: muster.EUNAUTHORIZED, reason: reasonStateUnknown,
			message: "This page was opened without a sign-in to finish." + startAgain}).err()
	}
	// The login: found by its state, bound to this browser, live, once.
	var (
		login   *muster.SSOLogin
		refusal *ssoRefusal
	)
	err := s.update(ctx, func(tx *txn) error {
		login, refusal = nil, nil
		var err error
		login, err = tx.FindSSOLogin(ctx, sso.Hash(cb.State))
		if muster.ErrorCode(err) == muster.ENOTFOUND {
			refusal = &ssoRefusal{code: muster.EUNAUTHORIZED, reason: reasonStateUnknown,
				message: "This sign-in is not one Muster started, or it was started long ago." + startAgain}
			return nil
		} else if err != nil {
			return err
		}
		switch {
		case subtle.ConstantTimeCompare(sso.Hash(browserSecret), login.BrowserHash) != 1:
			refusal = &ssoRefusal{code: muster.EUNAUTHORIZED, reason: reasonStateMismatch,
				message: "This sign-in was started in another browser, or this browser's cookies were cleared, " +
					"so Muster did not sign you in." + startAgain}
		case !login.UsedAt.IsZero():
			refusal = &ssoRefusal{code: muster.EUNAUTHORIZED, reason: reasonLoginUsed,
				message: "This sign-in was finished already." + startAgain}
		case !tx.now.Before(login.ExpiresAt):
			refusal = &ssoRefusal{code: muster.EUNAUTHORIZED, reason: reasonLoginExpired,
				message: "This sign-in took longer than 10 minutes." + startAgain}
		}
		if ok, err := tx.UseSSOLogin(ctx, login.ID, tx.now); err != nil {
			return err
		} else if !ok && refusal == nil {
			refusal = &ssoRefusal{code: muster.EUNAUTHORIZED, reason: reasonLoginUsed,
				message: "This sign-in was finished already." + startAgain}
		}
		if refusal != nil {
			return s.auditRefusal(ctx, tx, login, refusal, nil, c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if refusal != nil {
		return nil, refusal.err()
	}

	var conn *muster.SSOConnection
	err = s.view(ctx, func(tx *txn) error {
		var err error
		conn, err = findConnection(ctx, tx, login.OrgID)
		return err
	})
	if err != nil {
		return nil, err
	}
	var claims *sso.Claims
	switch {
	case conn == nil || (login.Purpose == muster.SSOSignIn && !conn.Enabled):
		refusal = &ssoRefusal{code: muster.ECONFLICT, reason: reasonSSOOff,
			message: "Single sign-on was turned off for your organization while you were signing in."}
	case parseErr != nil:
		refusal = protocolRefusal(parseErr)
	case cb.Error != "":
		detail := cb.Error
		if cb.ErrorDescription != "" {
			detail += ": " + cb.ErrorDescription
		}
		refusal = protocolRefusal(&sso.Error{Reason: sso.ReasonIdPError, Detail: detail})
	case cb.Issuer != "" && cb.Issuer != conn.Issuer:
		refusal = protocolRefusal(&sso.Error{Reason: sso.ReasonIssuer, Detail: "the callback's iss is " + cb.Issuer})
	default:
		rp, err := s.connection(conn)
		if err != nil {
			return nil, err
		}
		if claims, err = s.cfg.SSO.Exchange(ctx, rp, cb.Code, browserSecret, login.Nonce); err != nil {
			refusal = protocolRefusal(err)
		}
	}

	var out *SSOOutcome
	protocol := refusal
	err = s.update(ctx, func(tx *txn) error {
		out, refusal = nil, protocol
		if refusal == nil {
			var err error
			if out, refusal, err = s.decideSSO(ctx, tx, login, conn, claims, c); err != nil {
				return err
			}
		}
		if refusal != nil {
			return s.auditRefusal(ctx, tx, login, refusal, claims, c)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if refusal != nil {
		if login.Purpose == muster.SSOTest {
			// A test shows what went wrong rather than refusing.
			return &SSOOutcome{Next: login.Next, Test: &SSOTestResult{Claims: claims, Matched: refusal.user,
				Outcome: refusal.message, Reason: refusal.reason}}, nil
		}
		return nil, refusal.err()
	}
	return out, nil
}

// ssoActor is who SSO events are by: the user when known, else Muster's
// single sign-on itself.
func ssoActor(orgID int64, u *muster.User, c Client) *actor {
	if u != nil {
		return &actor{user: u, orgID: orgID, role: u.Role, origin: c.Origin}
	}
	return &actor{orgID: orgID, system: "Single sign-on", origin: c.Origin}
}

// auditRefusal records a refused sign-in, or a failed test, with its
// reason.
func (s *Service) auditRefusal(ctx context.Context, tx *txn, l *muster.SSOLogin, r *ssoRefusal, cl *sso.Claims, c Client) error {
	after := map[string]any{"reason": r.reason}
	if r.detail != "" {
		after["detail"] = muster.TruncateText(r.detail, 500)
	}
	if cl != nil {
		after["subject"], after["email"], after["email_verified"] = cl.Subject, cl.Email, cl.EmailVerified
	}
	action, a := muster.ActionSSOSignInRefused, ssoActor(l.OrgID, nil, c)
	if l.Purpose == muster.SSOTest {
		action = muster.ActionSSOTestFailed
		tester, err := tx.PeekUser(ctx, l.OrgID, l.UserID)
		if err != nil {
			return err
		}
		a = ssoActor(l.OrgID, tester, c)
	}
	if r.user != nil {
		return tx.audit(ctx, a, action, muster.TargetUser, r.user.ID, r.user.Email, nil, after)
	}
	return tx.audit(ctx, a, action, muster.TargetSSOConnection, l.OrgID, "single sign-on", nil, after)
}

// invitationEnded is the refusal of an SSO sign-in begun from an
// invitation link of u's that no longer works.
func invitationEnded(u *muster.User) *ssoRefusal {
	return &ssoRefusal{code: muster.EGONE, reason: muster.LinkInactive, user: u,
		message: "This invitation no longer works. Sign in from the sign-in page, or ask your administrator."}
}

// ssoPlan is who a verified sign-in is and what signing them in changes.
type ssoPlan struct {
	user      *muster.User        // the user, or the withdrawn record provisioning revives; nil to create one
	link      bool                // link (issuer, subject) to the user
	activate  bool                // a Pending user becomes Active
	provision bool                // just-in-time provisioning makes an Active Basic User
	replace   *muster.SSOIdentity // the user's identity at the issuer that the new link replaces
}

// decideSSO decides who the verified claims are and, for a sign-in, signs
// them in; for a test it records the result. conn is the connection as the
// callback read it, before the code exchange; it is read again, locked, in
// this transaction, so that SSO sign-in or just-in-time provisioning turned
// off, or the connection changed since the sign-in began (l.Version), holds.
func (s *Service) decideSSO(ctx context.Context, tx *txn, l *muster.SSOLogin, conn *muster.SSOConnection, cl *sso.Claims,
	c Client) (*SSOOutcome, *ssoRefusal, error) {
	org, err := tx.FindOrg(ctx, l.OrgID)
	if err != nil {
		return nil, nil, err
	}
	cur, err := lockConnection(ctx, tx, l.OrgID)
	if err != nil {
		return nil, nil, err
	}
	if l.Purpose == muster.SSOTest {
		if cur == nil {
			return nil, nil, errNoConnection
		}
	} else if cur == nil || !cur.Enabled || cur.Version != l.Version {
		return nil, &ssoRefusal{code: muster.ECONFLICT, reason: reasonSSOOff,
			message: "Single sign-on was turned off or changed for your organization while you were signing in."}, nil
	}
	conn = cur
	plan, refusal, err := planSSO(ctx, tx, org, conn, l, cl)
	if err != nil || refusal != nil {
		return nil, refusal, err
	}
	if l.Purpose == muster.SSOTest {
		return s.recordTest(ctx, tx, l, conn, plan, cl, c)
	}
	u, err := s.applySSO(ctx, tx, org, plan, cl, c)
	if muster.ErrorCode(err) == muster.ESEATS {
		return nil, &ssoRefusal{code: muster.ESEATS, reason: reasonNoSeat, message: muster.ErrorMessage(err)}, nil
	} else if err != nil {
		return nil, nil, err
	}
	u.LastSignInAt = tx.now
	if err := tx.UpdateUser(ctx, u); err != nil {
		return nil, nil, err
	}
	in, err := startSessionAs(ctx, tx, u, c, tx.now, muster.SessionSSO, cl.SID)
	if err != nil {
		return nil, nil, err
	}
	return &SSOOutcome{SignedIn: in, Next: l.Next}, nil, nil
}

// planSSO decides who verified claims are. Identities link on (issuer,
// subject): once linked, only that pair counts, so a changed email at the
// provider cannot take over another account. A first sign-in links to the
// user invited through the link it started from, or to the org's user with
// the claims' email when the provider says the email is verified and its
// domain is verified by this organization; a person with neither is
// provisioned when the organization allows it.
func planSSO(ctx context.Context, tx *txn, org *muster.Org, conn *muster.SSOConnection, l *muster.SSOLogin, cl *sso.Claims) (*ssoPlan, *ssoRefusal, error) {
	if cl.Subject == "" {
		return nil, &ssoRefusal{code: muster.EUNAUTHORIZED, reason: sso.ReasonMalformed,
			message: "Your identity provider's answer names nobody (it has no subject)."}, nil
	}
	ident, err := tx.FindSSOIdentity(ctx, org.ID, conn.Issuer, cl.Subject)
	if err != nil && muster.ErrorCode(err) != muster.ENOTFOUND {
		return nil, nil, err
	}
	if ident != nil {
		u, err := tx.FindUser(ctx, org.ID, ident.UserID)
		if err != nil {
			return nil, nil, err
		}
		if l.UserID != 0 && l.Purpose == muster.SSOSignIn && u.ID != l.UserID {
			return nil, &ssoRefusal{code: muster.EFORBIDDEN, reason: reasonIdentityTaken, user: u,
				message: "Your account at the identity provider is already linked to another user of " + org.Name +
					", so it cannot accept this invitation. Ask your administrator."}, nil
		}
		return existingUser(org, u, false)
	}

	if l.UserID != 0 && l.Purpose == muster.SSOSignIn {
		// An invitation accepted through SSO: the link proves the email.
		u, err := tx.FindUser(ctx, org.ID, l.UserID)
		if err != nil {
			return nil, nil, err
		}
		if u.Status != muster.StatusPending {
			return nil, invitationEnded(u), nil
		}
		// A user invited again may have been linked before to an account
		// at the provider that is gone (a recreated account has a new
		// subject): the new link proves who they are, so the identity it
		// brings replaces the old one, which no longer signs in.
		old, err := tx.FindUserSSOIdentity(ctx, u.ID, conn.Issuer)
		if err != nil && muster.ErrorCode(err) != muster.ENOTFOUND {
			return nil, nil, err
		}
		// The link must still work as the sign-in ends: one resent or
		// withdrawn while the person was at the provider is dead (INV-4),
		// as it would be for a password.
		if ok, err := tx.UseInvitation(ctx, l.InvitationID, tx.now); err != nil {
			return nil, nil, err
		} else if !ok {
			return nil, invitationEnded(u), nil
		}
		return &ssoPlan{user: u, link: true, activate: true, replace: old}, nil, nil
	}

	email := muster.NormalizeEmail(cl.Email)
	switch {
	case !muster.ValidEmail(email):
		return nil, &ssoRefusal{code: muster.EFORBIDDEN, reason: reasonBadEmail,
			message: "Your identity provider did not send an email address Muster can use, so Muster cannot tell " +
				"which account is yours. Ask your administrator."}, nil
	case !cl.EmailVerified:
		return nil, &ssoRefusal{code: muster.EFORBIDDEN, reason: reasonEmailUnverified,
			message: "Your identity provider does not confirm that " + email + " is your address (email_verified " +
				"is not true), so Muster cannot link it to an account. Ask your administrator."}, nil
	}
	domain := muster.EmailDomain(email)
	d, err := tx.FindVerifiedSSODomain(ctx, domain)
	if err != nil && muster.ErrorCode(err) != muster.ENOTFOUND {
		return nil, nil, err
	}
	if d == nil || d.OrgID != org.ID {
		return nil, &ssoRefusal{code: muster.EFORBIDDEN, reason: reasonDomainUnverified,
			message: domain + " is not a verified domain of " + org.Name + ", so Muster cannot link " + email +
				" to an account. Ask your administrator for an invitation."}, nil
	}
	u, err := tx.FindUserByEmail(ctx, org.ID, email)
	if err != nil && muster.ErrorCode(err) != muster.ENOTFOUND {
		return nil, nil, err
	}
	if u != nil && u.Status != muster.StatusWithdrawn {
		if r, err := linkedElsewhere(ctx, tx, conn, u); err != nil || r != nil {
			return nil, r, err
		}
		return existingUser(org, u, true)
	}
	if !conn.JIT {
		return nil, &ssoRefusal{code: muster.EFORBIDDEN, reason: reasonNoAccount,
			message: "You have no account in " + org.Name + " yet. Ask your administrator for an invitation."}, nil
	}
	if _, err := tx.FindLiveUserByEmail(ctx, email); err == nil {
		// Someone of another organization: emails are unique among live users.
		return nil, &ssoRefusal{code: muster.EFORBIDDEN, reason: reasonNoAccount,
			message: "You have no account in " + org.Name + ". Ask your administrator for an invitation."}, nil
	} else if muster.ErrorCode(err) != muster.ENOTFOUND {
		return nil, nil, err
	}
	return &ssoPlan{user: u, link: true, provision: true}, nil, nil
}

// existingUser plans the sign-in of a user found: Active signs in, Pending
// becomes Active, anyone else is refused.
func existingUser(org *muster.Org, u *muster.User, link bool) (*ssoPlan, *ssoRefusal, error) {
	switch u.Status {
	case muster.StatusActive:
		return &ssoPlan{user: u, link: link}, nil, nil
	case muster.StatusPending:
		return &ssoPlan{user: u, link: link, activate: true}, nil, nil
	}
	return nil, &ssoRefusal{code: muster.EFORBIDDEN, reason: reasonDeactivated, user: u,
		message: "Your account in " + org.Name + " is deactivated, so you cannot sign in. Ask an administrator of " +
			"your organization if you think this is a mistake."}, nil
}

// linkedElsewhere refuses a user already linked to another subject of the
// issuer: the email matches, the identity does not (the nOAuth attack).
func linkedElsewhere(ctx context.Context, tx *txn, conn *muster.SSOConnection, u *muster.User) (*ssoRefusal, error) {
	_, err := tx.FindUserSSOIdentity(ctx, u.ID, conn.Issuer)
	switch muster.ErrorCode(err) {
	case muster.ENOTFOUND:
		return nil, nil
	case "":
		return &ssoRefusal{code: muster.EFORBIDDEN, reason: reasonLinkedElsewhere, user: u,
			message: "The account for " + u.Email + " is linked to another identity at your identity provider, " +
				"so Muster did not sign you in. Ask your administrator."}, nil
	}
	return nil, err
}

// applySSO carries the plan out: provisions, links, activates. Provisioning
// without a free seat is refused with INV-2's sentence, having written
// nothing.
func (s *Service) applySSO(ctx context.Context, tx *txn, org *muster.Org, p *ssoPlan, cl *sso.Claims, c Client) (*muster.User, error) {
	u, now := p.user, tx.now
	if p.provision {
		if err := takeSeat(ctx, tx, org.ID); err != nil {
			return nil, err
		}
		team, err := tx.FindDefaultTeam(ctx, org.ID)
		if err != nil {
			return nil, err
		}
		var before map[string]any
		if u == nil {
			u = &muster.User{OrgID: org.ID}
		} else {
			before = userSnapshot(u)
		}
		u.Email = muster.NormalizeEmail(cl.Email)
		u.FirstName, u.LastName = provisionedName(cl)
		u.Role, u.Status, u.PasswordHash = muster.RoleBasic, muster.StatusActive, ""
		u.InvitedAt, u.InvitedByID, u.ActivatedAt, u.DeactivatedAt, u.UpdatedAt = now, 0, now, time.Time{}, now
		u.PrimaryTeamID, u.SecondaryTeamIDs = team.ID, nil
		// A record deleted through SCIM that comes back, through any
		// interface, is SCIM's to see again (as writeInvitations has it).
		u.SCIMDeletedAt = time.Time{}
		if before == nil {
			if err := tx.CreateUser(ctx, u); err != nil {
				return nil, err
			}
		} else if err := tx.UpdateUser(ctx, u); err != nil {
			return nil, err
		}
		if err := tx.audit(ctx, ssoActor(org.ID, u, c), muster.ActionSSOUserProvisioned, muster.TargetUser, u.ID,
			u.Email, before, userSnapshot(u)); err != nil {
			return nil, err
		}
	}
	if p.link && p.replace != nil {
		if err := tx.DeleteSSOIdentity(ctx, org.ID, p.replace.ID); err != nil {
			return nil, err
		}
	}
	if p.link {
		id := &muster.SSOIdentity{OrgID: org.ID, UserID: u.ID, Issuer: cl.Issuer, Subject: cl.Subject,
			Email: muster.TruncateText(cl.Email, muster.MaxEmailLength), CreatedAt: now}
		if err := tx.CreateSSOIdentity(ctx, id); err != nil {
			return nil, err
		}
		var before map[string]any
		if p.replace != nil {
			before = map[string]any{"issuer": p.replace.Issuer, "subject": p.replace.Subject, "email": p.replace.Email}
		}
		if err := tx.audit(ctx, ssoActor(org.ID, u, c), muster.ActionSSOIdentityLinked, muster.TargetUser, u.ID, u.Email,
			before, map[string]any{"issuer": cl.Issuer, "subject": cl.Subject, "email": id.Email}); err != nil {
			return nil, err
		}
	}
	if p.activate {
		before := userSnapshot(u)
		u.Status, u.ActivatedAt, u.UpdatedAt = muster.StatusActive, now, now
		if err := tx.UpdateUser(ctx, u); err != nil {
			return nil, err
		}
		// Signed in through SSO, the invitation is used up.
		if err := tx.RevokeInvitations(ctx, u.ID, muster.LinkUsed, now); err != nil {
			return nil, err
		}
		if err := tx.audit(ctx, ssoActor(org.ID, u, c), muster.ActionUserActivated, muster.TargetUser, u.ID, u.Email,
			before, userSnapshot(u)); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// provisionedName is a provisioned user's first and last name from the
// claims: given_name and family_name, else name split at its first space,
// else the email's local part. A name the console would refuse is replaced
// likewise; an administrator edits it afterwards.
func provisionedName(cl *sso.Claims) (first, last string) {
	ok := func(s string) bool {
		var v muster.Validation
		muster.CheckName(&v, "n", "n", s)
		return v.Err() == nil
	}
	first, last = muster.CleanName(cl.GivenName), muster.CleanName(cl.FamilyName)
	if !ok(first) || !ok(last) {
		first, last, _ = strings.Cut(muster.CleanName(cl.Name), " ")
	}
	if !ok(first) {
		first, _, _ = strings.Cut(cl.Email, "@")
		first = muster.TruncateText(muster.CleanName(first), muster.MaxNameLength)
	}
	if !ok(first) {
		first = "New"
	}
	if !ok(last) {
		last = "User"
	}
	return first, last
}

// recordTest records an admin's test sign-in: it succeeded when the claims
// are the admin's own, with the settings as they were when it started.
func (s *Service) recordTest(ctx context.Context, tx *txn, l *muster.SSOLogin, conn *muster.SSOConnection, p *ssoPlan,
	cl *sso.Claims, c Client) (*SSOOutcome, *ssoRefusal, error) {
	res := &SSOTestResult{Claims: cl, Matched: p.user}
	switch {
	case p.provision:
		res.Outcome = "A real sign-in would create a new Active Basic User for " + cl.Email +
			" (just-in-time provisioning), if a license is free."
	case p.activate:
		res.Outcome = "A real sign-in would make " + p.user.Name() + " <" + p.user.Email + "> Active and sign them in."
	default:
		res.Outcome = "A real sign-in would sign in " + p.user.Name() + " <" + p.user.Email + ">."
	}
	if p.link {
		res.Outcome += " It would link this identity to them first."
	}
	tester, err := tx.PeekUser(ctx, l.OrgID, l.UserID)
	if err != nil {
		return nil, nil, err
	}
	mine := p.user != nil && p.user.ID == tester.ID && !p.activate
	res.Succeeded = mine && l.Version == conn.Version
	action := muster.ActionSSOTestFailed
	after := map[string]any{"subject": cl.Subject, "email": cl.Email, "version": l.Version}
	switch {
	case res.Succeeded:
		action = muster.ActionSSOTestSucceeded
		conn.TestedBy, conn.TestedVersion, conn.TestedAt = tester.ID, l.Version, tx.now
		if err := tx.SaveSSOConnection(ctx, conn); err != nil {
			return nil, nil, err
		}
	case !mine:
		res.Reason = "not_you"
		res.Outcome += " That is not you, so the test does not count: sign in at the provider as yourself."
	default:
		res.Reason = "settings_changed"
		res.Outcome += " The settings changed during the test: run it again."
	}
	if res.Reason != "" {
		after["reason"] = res.Reason
	}
	if err := tx.audit(ctx, ssoActor(l.OrgID, tester, c), action, muster.TargetSSOConnection, l.OrgID, conn.Issuer,
		nil, after); err != nil {
		return nil, nil, err
	}
	return &SSOOutcome{Next: l.Next, Test: res}, nil, nil
}

// BackChannelLogout takes a logout token the identity provider posted
// (OpenID Connect Back-Channel Logout 1.0): once verified with the keys of
// the connection it is for, it ends the sessions of the identity's provider
// session (sid) or, without a sid, every session of the user (sub), on
// every instance, and returns how many ended.
func (s *Service) BackChannelLogout(ctx context.Context, raw string, c Client) (int, error) {
	issuer, audience, err := sso.PeekLogoutToken(raw)
	if err != nil {
		return 0, muster.Errorf(muster.EINVALID, "The logout token is not a signed JWT with an issuer and audience.")
	}
	var conns []*muster.SSOConnection
	err = s.view(ctx, func(tx *txn) error {
		for _, aud := range audience {
			found, err := tx.FindSSOConnectionsByClient(ctx, issuer, aud)
			if err != nil {
				return err
			}
			conns = append(conns, found...)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	var refused error = muster.Errorf(muster.EINVALID, "No single sign-on connection accepts this logout token.")
	ended := 0
	for _, conn := range conns {
		lt, err := s.cfg.SSO.VerifyLogout(ctx, sso.Connection{Issuer: conn.Issuer, ClientID: conn.ClientID}, raw)
		if err != nil {
			refused = muster.Errorf(muster.EINVALID, "The logout token was refused: %s.", sso.ErrorReason(err))
			continue
		}
		n, err := s.endSSOSessions(ctx, conn, lt, c)
		if err != nil {
			return ended, err
		}
		ended += n
		refused = nil
	}
	return ended, refused
}

// endSSOSessions ends the sessions a verified logout token names.
func (s *Service) endSSOSessions(ctx context.Context, conn *muster.SSOConnection, lt *sso.Logout, c Client) (int, error) {
	n := 0
	err := s.update(ctx, func(tx *txn) error {
		n = 0
		var u *muster.User
		if lt.Subject != "" {
			ident, err := tx.FindSSOIdentity(ctx, conn.OrgID, conn.Issuer, lt.Subject)
			if muster.ErrorCode(err) == muster.ENOTFOUND {
				return nil // nobody of this organization
			} else if err != nil {
				return err
			}
			if u, err = tx.PeekUser(ctx, conn.OrgID, ident.UserID); err != nil {
				return err
			}
		}
		var err error
		switch {
		case lt.SID != "":
			var userID int64
			if u != nil {
				userID = u.ID
			}
			n, err = tx.DeleteSessionsBySID(ctx, conn.OrgID, userID, lt.SID)
		default:
			var sessions []*muster.Session
			if sessions, err = tx.FindUserSessions(ctx, u.ID); err == nil {
				n = len(sessions)
				err = tx.DeleteUserSessions(ctx, u.ID, 0)
			}
		}
		if err != nil {
			return err
		}
		a := &actor{orgID: conn.OrgID, system: "Identity provider (back-channel logout)", origin: c.Origin}
		after := map[string]any{"sessions_ended": n, "sid": lt.SID, "subject": lt.Subject}
		if u != nil {
			return tx.audit(ctx, a, muster.ActionSSOBackChannelLogout, muster.TargetUser, u.ID, u.Email, nil, after)
		}
		return tx.audit(ctx, a, muster.ActionSSOBackChannelLogout, muster.TargetSSOConnection, conn.OrgID,
			conn.Issuer, nil, after)
	})
	return n, err
}

// DeleteExpiredSSOLogins deletes the sign-ins through a provider that were
// never finished and have expired.
func (s *Service) DeleteExpiredSSOLogins(ctx context.Context) (int, error) {
	var n int
	err := s.update(ctx, func(tx *txn) error {
		var err error
		n, err = tx.DeleteExpiredSSOLogins(ctx, tx.now)
		return err
	})
	return n, err
}
