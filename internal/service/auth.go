package service

import (
	"context"
	"strings"
	"time"

	"github.com/muster-app/muster/internal/mail"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/secret"
)

// Sign-in settings.
const (
	SessionTTL       = 14 * 24 * time.Hour
	PasswordResetTTL = time.Hour
	// sessionTouchEvery bounds how often a session's last-seen time is
	// written: authenticating a request is then a read.
	sessionTouchEvery = 5 * time.Minute
)

// Client describes the browser or program making a request.
type Client struct {
	IP        string
	UserAgent string
	// Origin is where the request came from, as the audit log shows it; the
	// interface that received it says (e.g. "web 192.0.2.1").
	Origin string
	// RememberedBrowser is the token of the browser's "remember this
	// browser" cookie, which skips the second step of a password sign-in
	// where the organization allows it (AUTH-7).
	RememberedBrowser string
}

// SignedIn is a new session: the token goes into the cookie, the rest is
// what the database keeps.
type SignedIn struct {
	User    *muster.User
	Session *muster.Session
	Token   string
	// Pending, instead of a session, is a sign-in whose second step (or
	// enrolment) comes next (AUTH-7).
	Pending *PendingSignIn
}

var errBadCredentials = &muster.Error{Code: muster.EUNAUTHORIZED, Message: "That email and password don't match an active account."}

// hashPassword hashes a new password. Callers hash outside transactions:
// argon2id takes tens of milliseconds and must not hold the write lock.
func (s *Service) hashPassword(password string) string { return s.cfg.PasswordParams.Hash(password) }

// signInHooks are points of a sign-in where a test can hold it (see
// hooks_internal_test.go); nil outside tests.
type signInHooks struct {
	// admitted is called once the sign-in has passed the limits, before it
	// waits for its turn to hash.
	admitted func()
	// hashing is called when the sign-in's turn to hash has come, just
	// before it hashes.
	hashing func()
}

func (h signInHooks) call(f func()) {
	if f != nil {
		f()
	}
}

// SignIn checks an email and password and starts a session. Every failure
// gets the same answer whether or not the email exists. A sign-in first
// takes a place in the queue for password hashing (hashGate) and counts its
// attempt against the limits (see ratelimit.go), both before its password
// is checked, so that neither attempts sent together nor a flood get past
// the limits (AUTH-1, DEA-2). A right password of a user whose organization
// requires single sign-on starts no session: the *SSORequiredError says so,
// with a sign-in at the organization's identity provider begun (AUTH-6).
func (s *Service) SignIn(ctx context.Context, email, password string, c Client) (*SignedIn, error) {
	return s.signIn(ctx, email, password, "", c)
}

// SignInWithRecoveryCode is the Owner's password sign-in while the
// organization requires single sign-on: with the password, one of the
// Owner's recovery codes, which it uses up. The use is audited and emailed
// to the Owner and the Admins. Any failure is SignIn's one answer.
func (s *Service) SignInWithRecoveryCode(ctx context.Context, email, password, code string, c Client) (*SignedIn, error) {
	if strings.TrimSpace(code) == "" {
		code = "-" // no code matches; the attempt counts like a wrong password
	}
	return s.signIn(ctx, email, password, code, c)
}

func (s *Service) signIn(ctx context.Context, email, password, recoveryCode string, c Client) (*SignedIn, error) {
	if !s.hashes.enter() {
		return nil, errBusy
	}
	defer s.hashes.leave()
	attempt, err := s.takeSignIn(ctx, email, c.IP)
	if err != nil {
		return nil, err
	}
	s.hooks.call(s.hooks.admitted)
	var u *muster.User
	err = s.view(ctx, func(tx *txn) error {
		var err error
		u, err = tx.FindLiveUserByEmail(ctx, email)
		return err
	})
	if err != nil && muster.ErrorCode(err) != muster.ENOTFOUND {
		return nil, err
	}
	hash := s.dummyHash
	if u != nil && u.Status == muster.StatusActive && u.PasswordHash != "" {
		hash = u.PasswordHash
	}
	done, err := s.hashes.hash(ctx)
	if err != nil {
		s.giveBack(ctx, attempt)
		return nil, err
	}
	s.hooks.call(s.hooks.hashing)
	ok, _ := secret.CheckPassword(hash, password)
	done()
	if !ok || u == nil || u.Status != muster.StatusActive {
		// The attempt stays counted.
		return nil, errBadCredentials
	}

	var (
		out         *SignedIn
		ssoRequired bool
	)
	err = s.update(ctx, func(tx *txn) error {
		out, ssoRequired = nil, false
		// Re-read: the user may have been deactivated since the check.
		cur, err := tx.FindUser(ctx, u.OrgID, u.ID)
		if err != nil {
			return err
		}
		if cur.Status != muster.StatusActive || cur.PasswordHash != u.PasswordHash {
			return errBadCredentials
		}
		conn, err := findConnection(ctx, tx, cur.OrgID)
		if err != nil {
			return err
		}
		required, method := conn != nil && conn.Required, muster.SessionPassword
		if recoveryCode != "" {
			if err := s.useRecoveryCode(ctx, tx, cur, required, recoveryCode, c); err != nil {
				return err
			}
			method = muster.SessionRecovery
		}
		// The right password: the attempt was no failure.
		if err := attempt.giveBack(ctx, tx, true); err != nil {
			return err
		}
		if required && recoveryCode == "" {
			ssoRequired = true
			return nil
		}
		if method == muster.SessionRecovery {
			// Single sign-on's recovery: the password and a recovery code.
			cur.LastSignInAt = tx.now
			if err := tx.UpdateUser(ctx, cur); err != nil {
				return err
			}
			out, err = startSessionAs(ctx, tx, cur, c, tx.now, method, "")
			return err
		}
		out, err = s.passwordSignedIn(ctx, tx, cur, c, method)
		return err
	})
	if err == nil && ssoRequired {
		return nil, s.ssoRequired(ctx, u.OrgID, c)
	}
	return out, err
}

// ssoRequired is the refusal of a right password in an organization that
// requires single sign-on, with a sign-in at its provider begun when the
// provider answers.
func (s *Service) ssoRequired(ctx context.Context, orgID int64, c Client) error {
	e := &SSORequiredError{Refusal: &muster.Error{Code: muster.EFORBIDDEN, Reason: muster.ReasonSSORequired,
		Message: "Your organization signs in with single sign-on, not with a password."}}
	start, err := s.startSSO(ctx, c.IP, orgID, muster.SSOSignIn, 0, 0, "/")
	if muster.ErrorCode(err) == muster.EINTERNAL {
		return err
	}
	e.Start = start
	return e
}

// useRecoveryCode uses up one of the Owner u's recovery codes, which count
// only while single sign-on is required, and tells the Owner and the
// Admins.
func (s *Service) useRecoveryCode(ctx context.Context, tx *txn, u *muster.User, required bool, code string, c Client) error {
	if !required || u.Role != muster.RoleOwner {
		return errBadCredentials
	}
	if ok, err := tx.UseRecoveryCode(ctx, u.ID, hashRecoveryCode(code), tx.now); err != nil {
		return err
	} else if !ok {
		return errBadCredentials
	}
	left, err := tx.CountRecoveryCodes(ctx, u.ID)
	if err != nil {
		return err
	}
	a := &actor{user: u, orgID: u.OrgID, role: u.Role, origin: c.Origin}
	if err := tx.audit(ctx, a, muster.ActionSSORecoveryCodeUsed, muster.TargetUser, u.ID, u.Email, nil,
		map[string]any{"codes_left": left}); err != nil {
		return err
	}
	return s.mailRecoveryCodeUsed(ctx, tx, u, left, c)
}

// startSessionAs starts a session of u begun by method for the client c,
// whose address becomes known for u (see knownAddressFor); sid is the
// identity provider's session of an SSO session.
func startSessionAs(ctx context.Context, tx muster.Tx, u *muster.User, c Client, now time.Time, method, sid string) (*SignedIn, error) {
	if err := rememberAddress(ctx, tx, u.Email, c.IP, now); err != nil {
		return nil, err
	}
	token, hash := secret.NewToken()
	sess := &muster.Session{OrgID: u.OrgID, UserID: u.ID, TokenHash: hash, CreatedAt: now, LastSeenAt: now,
		ExpiresAt: now.Add(SessionTTL), IP: c.IP, UserAgent: truncate(c.UserAgent, 300), Method: method,
		SSOSID: muster.TruncateText(sid, 500)}
	if err := tx.CreateSession(ctx, sess); err != nil {
		return nil, err
	}
	return &SignedIn{User: u, Session: sess, Token: token}, nil
}

// truncate makes a recorded header fit n bytes: invalid bytes and control
// characters become U+FFFD, and no character is split (muster.RecordedText).
func truncate(s string, n int) string { return muster.RecordedText(s, n) }

var errSessionEnded = &muster.Error{Code: muster.EUNAUTHORIZED, Message: "Your session has ended. Please sign in again."}

// Authenticate resolves a session token to its Active user. A session of a
// user deactivated a moment ago, on any instance, is refused (DEA-1), and so
// is a password session in an organization that requires single sign-on
// (AUTH-6).
func (s *Service) Authenticate(ctx context.Context, token string) (*muster.User, *muster.Session, error) {
	now := s.now()
	var (
		u    *muster.User
		sess *muster.Session
	)
	err := s.read(ctx, func(tx *txn) error {
		var err error
		sess, err = tx.FindSessionByTokenHash(ctx, secret.HashToken(token))
		if muster.ErrorCode(err) == muster.ENOTFOUND {
			return errSessionEnded
		} else if err != nil {
			return err
		}
		if !now.Before(sess.ExpiresAt) {
			return errSessionEnded
		}
		u, err = tx.FindUser(ctx, sess.OrgID, sess.UserID)
		if err != nil {
			return err
		}
		if u.Status != muster.StatusActive {
			return errSessionEnded
		}
		if sess.Method == muster.SessionPassword {
			// Requiring SSO deletes these sessions; this catches one that
			// a sign-in started as it did.
			c, err := findConnection(ctx, tx, sess.OrgID)
			if err != nil {
				return err
			}
			if c != nil && c.Required {
				return errSessionEnded
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if now.Sub(sess.LastSeenAt) >= sessionTouchEvery {
		err = s.update(ctx, func(tx *txn) error { return tx.TouchSession(ctx, sess.ID, now) })
		sess.LastSeenAt = now
	}
	return u, sess, err
}

// SignOut ends the session with token.
func (s *Service) SignOut(ctx context.Context, token string) error {
	return s.update(ctx, func(tx *txn) error {
		sess, err := tx.FindSessionByTokenHash(ctx, secret.HashToken(token))
		if muster.ErrorCode(err) == muster.ENOTFOUND {
			return nil
		} else if err != nil {
			return err
		}
		_, err = tx.DeleteSession(ctx, sess.UserID, sess.ID)
		return err
	})
}

// Sessions lists the signed-in user's own sessions.
func (s *Service) Sessions(ctx context.Context) ([]*muster.Session, error) {
	return readAs(ctx, s, loadUser, func(tx *txn, a *actor) ([]*muster.Session, error) {
		return tx.FindUserSessions(ctx, a.user.ID)
	})
}

// RevokeSession ends one of the signed-in user's own sessions.
func (s *Service) RevokeSession(ctx context.Context, sessionID int64) error {
	return s.update(ctx, func(tx *txn) error {
		a, err := loadUser(ctx, tx)
		if err != nil {
			return err
		}
		if ok, err := tx.DeleteSession(ctx, a.user.ID, sessionID); err != nil {
			return err
		} else if !ok {
			return muster.Errorf(muster.ENOTFOUND, "Session not found.")
		}
		return tx.audit(ctx, a, muster.ActionSessionRevoked, muster.TargetUser, a.user.ID, a.user.Email,
			map[string]any{"session_id": sessionID}, nil)
	})
}

// loadUser resolves the actor and requires a user, not an operator.
func loadUser(ctx context.Context, tx muster.Tx) (*actor, error) {
	a, err := loadActor(ctx, tx)
	if err != nil {
		return nil, err
	}
	if a.user == nil {
		return nil, muster.Errorf(muster.EFORBIDDEN, "Only a signed-in user can do this.")
	}
	return a, nil
}

// ChangePassword sets a new password for the signed-in user after checking
// the current one, and ends every other session and every reset link of
// theirs (AUTH-3).
func (s *Service) ChangePassword(ctx context.Context, current, password string, keepSessionID int64) error {
	me, err := s.Me(ctx)
	if err != nil {
		return err
	}
	var v muster.Validation
	if ok, err := s.checkOwnPassword(ctx, me, current); err != nil {
		return err
	} else if !ok {
		v.Add(muster.FieldCurrentPassword, "That is not your current password.")
	}
	muster.CheckPassword(&v, muster.FieldPassword, password, me.Email)
	if err := v.Err(); err != nil {
		return err
	}
	hash := s.hashPassword(password)
	return s.update(ctx, func(tx *txn) error {
		a, err := loadUser(ctx, tx)
		if err != nil {
			return err
		}
		// Read again, locked, so that two changes cannot both pass the check
		// (nor one pass after the user was deactivated).
		if a.user, err = tx.FindUser(ctx, a.orgID, a.user.ID); err != nil {
			return err
		}
		if a.user.Status != muster.StatusActive {
			return errSessionEnded
		}
		if a.user.PasswordHash != me.PasswordHash {
			return muster.Errorf(muster.ECONFLICT, "Your password was changed elsewhere a moment ago. Please try again.")
		}
		now := tx.now
		a.user.PasswordHash, a.user.UpdatedAt = hash, now
		if err := tx.UpdateUser(ctx, a.user); err != nil {
			return err
		}
		if err := tx.DeleteUserSessions(ctx, a.user.ID, keepSessionID); err != nil {
			return err
		}
		// A reset link asked for before the change must not undo it.
		if err := tx.EndPasswordResets(ctx, a.user.ID, now); err != nil {
			return err
		}
		return tx.audit(ctx, a, muster.ActionPasswordChanged, muster.TargetUser, a.user.ID, a.user.Email, nil, nil)
	})
}

// RequestPasswordReset emails a reset link to an Active user with email.
// It answers the same for every email — unknown, Pending and Deactivated
// ones get nothing (AUTH-2, DEA-2), nor does an email past resetRequests.
func (s *Service) RequestPasswordReset(ctx context.Context, email string, c Client) error {
	return s.update(ctx, func(tx *txn) error {
		now := tx.now
		// Counted for every email alike, in the database that every
		// instance shares (AUTH-1).
		if wait, err := resetRequests.take(ctx, tx, limitKey(resetRequests.kind, muster.NormalizeEmail(email)), now); err != nil || wait > 0 {
			return err
		}
		u, err := tx.FindLiveUserByEmail(ctx, email)
		if muster.ErrorCode(err) == muster.ENOTFOUND || (err == nil && u.Status != muster.StatusActive) {
			return nil
		} else if err != nil {
			return err
		}
		// An organization that requires SSO has no passwords to reset
		// (AUTH-6): nothing is sent, the answer is the same.
		if required, err := ssoRequiredFor(ctx, tx, u.OrgID); err != nil || required {
			return err
		}
		org, err := tx.FindOrg(ctx, u.OrgID)
		if err != nil {
			return err
		}
		token, hash := secret.NewToken()
		reset := &muster.PasswordReset{OrgID: u.OrgID, UserID: u.ID, TokenHash: hash, CreatedAt: now, ExpiresAt: now.Add(PasswordResetTTL)}
		if err := tx.CreatePasswordReset(ctx, reset); err != nil {
			return err
		}
		msg, err := mail.ComposePasswordReset(mail.PasswordReset{OrgName: org.Name, FirstName: u.FirstName,
			Link: s.cfg.Links.PasswordReset(token), ExpiresAt: reset.ExpiresAt})
		if err != nil {
			return err
		}
		// Private: the link is for the user alone, never for the Owner's
		// mailbox, where it would let the Owner take over the account.
		return tx.CreateOutboxMessage(ctx, &muster.OutboxMessage{OrgID: org.ID, MessageID: newMessageID(s.cfg.BaseURL),
			To: u.Email, Subject: msg.Subject, Text: msg.Text, HTML: msg.HTML, CreatedAt: now, Private: true})
	})
}

var errNoPasswords = &muster.Error{Code: muster.EFORBIDDEN, Reason: muster.ReasonSSORequired,
	Message: "Your organization signs in with single sign-on, so passwords cannot be set or reset. Sign in " +
		"from the sign-in page with your email address."}

// ssoRequiredFor reports whether the org requires single sign-on.
func ssoRequiredFor(ctx context.Context, tx muster.Tx, orgID int64) (bool, error) {
	c, err := findConnection(ctx, tx, orgID)
	return c != nil && c.Required, err
}

var errResetLinkDead = &muster.Error{Code: muster.EGONE, Reason: muster.LinkUsed,
	Message: "This password reset link has expired or has already been used. Ask for a new one."}

// CheckPasswordReset reports whether a reset link still works.
func (s *Service) CheckPasswordReset(ctx context.Context, token string) error {
	return s.view(ctx, func(tx *txn) error {
		_, _, err := s.liveReset(ctx, tx, token)
		return err
	})
}

func (s *Service) liveReset(ctx context.Context, tx muster.Tx, token string) (*muster.PasswordReset, *muster.User, error) {
	r, err := tx.FindPasswordResetByTokenHash(ctx, secret.HashToken(token))
	if muster.ErrorCode(err) == muster.ENOTFOUND {
		return nil, nil, errResetLinkDead
	} else if err != nil {
		return nil, nil, err
	}
	u, err := tx.FindUser(ctx, r.OrgID, r.UserID)
	if err != nil {
		return nil, nil, err
	}
	if !r.UsedAt.IsZero() || !s.now().Before(r.ExpiresAt) || u.Status != muster.StatusActive {
		return nil, nil, errResetLinkDead
	}
	if required, err := ssoRequiredFor(ctx, tx, u.OrgID); err != nil {
		return nil, nil, err
	} else if required {
		return nil, nil, errNoPasswords
	}
	return r, u, nil
}

// ResetPassword sets a new password with a reset link, ends every session
// and every other reset link of the user and signs them in.
func (s *Service) ResetPassword(ctx context.Context, token, password string, c Client) (*SignedIn, error) {
	var u *muster.User
	if err := s.view(ctx, func(tx *txn) error {
		var err error
		_, u, err = s.liveReset(ctx, tx, token)
		return err
	}); err != nil {
		return nil, err
	}
	var v muster.Validation
	muster.CheckPassword(&v, muster.FieldPassword, password, u.Email)
	if err := v.Err(); err != nil {
		return nil, err
	}
	hash := s.hashPassword(password)
	var out *SignedIn
	err := s.update(ctx, func(tx *txn) error {
		r, u, err := s.liveReset(ctx, tx, token)
		if err != nil {
			return err
		}
		now := tx.now
		if ok, err := tx.UsePasswordResets(ctx, u.ID, r.ID, now); err != nil {
			return err
		} else if !ok {
			return errResetLinkDead
		}
		u.PasswordHash, u.UpdatedAt = hash, now
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if err := tx.DeleteUserSessions(ctx, u.ID, 0); err != nil {
			return err
		}
		a := &actor{user: u, orgID: u.OrgID, role: u.Role, origin: c.Origin}
		if err := tx.audit(ctx, a, muster.ActionPasswordReset, muster.TargetUser, u.ID, u.Email, nil, nil); err != nil {
			return err
		}
		// A reset link proves the email, not a second factor: one is
		// still due.
		out, err = s.passwordSignedIn(ctx, tx, u, c, muster.SessionPassword)
		return err
	})
	return out, err
}
