package service

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/muster-app/muster/internal/mail"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/secret"
)

// Two-step verification for password sign-in (AUTH-7). A person's factors
// (an authenticator app here; passkeys plug in beside it) are asked for
// after the password, on a page of their own: the password opens a sign-in
// challenge, kept in the database for SignInChallengeTTL, and the session
// starts only when the second step passes (completeSecondStep, which every
// factor kind goes through). docs/security.md says what is stored and the
// limits.

// Two-step settings.
const (
	// SignInChallengeTTL is how long a sign-in waits for its second step
	// after the password.
	SignInChallengeTTL = 10 * time.Minute
	// totpPeriod is an authenticator app's step: a code every 30 seconds.
	totpPeriod = 30
	// totpIssuer names Muster in authenticator apps.
	totpIssuer = "Muster"
)

var (
	// secondStepTries bounds the codes tried for one sign-in challenge:
	// after them, the person signs in again with their password.
	secondStepTries = windowLimit{kind: "twostep-challenge", max: 5, window: SignInChallengeTTL}
	// secondStepAccount bounds the failed second steps of one person over
	// every challenge, which each cost a right password.
	secondStepAccount = windowLimit{kind: "twostep-account", max: 20, window: 15 * time.Minute}
)

// PendingSignIn is a sign-in whose password was right and whose second step
// (or, by the organization's policy, enrolment) is due: its token goes into
// a cookie that the second step's page reads.
type PendingSignIn struct {
	Token     string
	ExpiresAt time.Time
}

var (
	errChallengeEnded = &muster.Error{Code: muster.EUNAUTHORIZED,
		Message: "This sign-in has expired or has ended. Please sign in again."}
	errWrongCode = &muster.Error{Code: muster.EUNAUTHORIZED,
		Message: "That code is not right, or has been used already. Try the newest code from your app, or a recovery code.",
		Fields: []muster.FieldError{{Field: muster.FieldCode,
			Message: "That code is not right, or has been used already."}}}
	errNoServerKey = muster.Errorf(muster.ECONFLICT, "Muster has no server key, so authenticator apps cannot be "+
		"set up: the administrator of this server sets --secret-key (or MUSTER_SECRET_KEY).")
)

// tooManyCodes is the refusal of a second step past its limits.
func tooManyCodes(wait time.Duration, err error) error {
	if err != nil {
		return err
	}
	return &muster.Error{Code: muster.ETOOMANY, RetryAfter: wait,
		Message: "Too many codes were tried. Try again in " + waitText(wait) + "."}
}

// factorAD binds a sealed TOTP secret to its person, so that it cannot be
// copied to another's factor and opened there.
func factorAD(userID int64) []byte {
	return []byte("muster totp secret " + strconv.FormatInt(userID, 10))
}

// totpStep is the TOTP time step of t.
func totpStep(t time.Time) int64 { return t.Unix() / totpPeriod }

// matchTOTP returns the step of now-1, now or now+1 (±30 s of clock drift)
// whose code is code, or 0.
func matchTOTP(secretText, code string, now time.Time) int64 {
	var matched int64
	for _, step := range []int64{totpStep(now) - 1, totpStep(now), totpStep(now) + 1} {
		want, err := totp.GenerateCodeCustom(secretText, time.Unix(step*totpPeriod, 0),
			totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			matched = step
		}
	}
	return matched
}

// openTOTP opens a TOTP factor's sealed secret.
func (s *Service) openTOTP(f *muster.Factor) (string, error) {
	if s.cfg.SecretBox == nil {
		return "", errNoServerKey
	}
	b, err := s.cfg.SecretBox.Open(f.Secret, factorAD(f.UserID))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// checkTOTP uses code on the enabled TOTP factor f in tx: true when it is
// the code of a step within ±1 of now that is later than any used before
// (a code is never accepted twice, even by two sign-ins at once).
func (s *Service) checkTOTP(ctx context.Context, tx *txn, f *muster.Factor, typed string) (bool, error) {
	code, ok := muster.TOTPCode(typed)
	if !ok || f.Kind != muster.FactorTOTP || !f.Enabled() {
		return false, nil
	}
	key, err := s.openTOTP(f)
	if err != nil {
		return false, err
	}
	step := matchTOTP(key, code, tx.now)
	if step == 0 {
		return false, nil
	}
	return tx.UseFactorStep(ctx, f.ID, step, tx.now)
}

// hashTwoStepRecoveryCode hashes a recovery code as typed (case, spaces and
// hyphens aside), apart from single sign-on's codes.
func hashTwoStepRecoveryCode(code string) []byte {
	h := sha256.Sum256(append([]byte("muster two-step "), hashRecoveryCode(code)...))
	return h[:]
}

// newTwoStepRecoveryCodes replaces u's recovery codes with new ones and
// audits it; the codes are returned once.
func newTwoStepRecoveryCodes(ctx context.Context, tx *txn, a *actor, u *muster.User) (*RecoveryCodes, error) {
	out := &RecoveryCodes{}
	hashes := make([][]byte, muster.TwoStepRecoveryCodeCount)
	for i := range hashes {
		code := newRecoveryCode()
		out.Codes = append(out.Codes, code)
		hashes[i] = hashTwoStepRecoveryCode(code)
	}
	if err := tx.ReplaceTwoStepRecoveryCodes(ctx, u.OrgID, u.ID, hashes, tx.now); err != nil {
		return nil, err
	}
	return out, tx.audit(ctx, a, muster.ActionTwoStepRecoveryCodesMade, muster.TargetUser, u.ID, u.Email, nil,
		map[string]any{"codes": muster.TwoStepRecoveryCodeCount})
}

// enabledFactors are the factors of fs that count for sign-in.
func enabledFactors(fs []*muster.Factor) []*muster.Factor {
	var out []*muster.Factor
	for _, f := range fs {
		if f.Enabled() {
			out = append(out, f)
		}
	}
	return out
}

// findTwoStepPolicy is the org's policy, nil when it never had one.
func findTwoStepPolicy(ctx context.Context, tx muster.Tx, orgID int64) (*muster.TwoStepPolicy, error) {
	p, err := tx.FindTwoStepPolicy(ctx, orgID)
	if muster.ErrorCode(err) == muster.ENOTFOUND {
		return nil, nil
	}
	return p, err
}

// mailTwoStep emails u about their two-step verification.
func (s *Service) mailTwoStep(ctx context.Context, tx *txn, u *muster.User, subject, what, next, ip string) error {
	org, err := tx.FindOrg(ctx, u.OrgID)
	if err != nil {
		return err
	}
	msg, err := mail.ComposeTwoStepNotice(mail.TwoStepNotice{OrgName: org.Name, FirstName: u.FirstName,
		Subject: subject, What: what, Next: next, At: tx.now, IP: ip})
	if err != nil {
		return err
	}
	return s.queueMail(ctx, tx, org.ID, u.Email, msg)
}

// ----- Sign-in -----

// passwordSignedIn finishes a sign-in whose password (or reset link) was
// right, in tx: a session of method, or, when u has a factor (and the
// browser is not remembered) or the organization requires one of u, a
// pending sign-in whose second step or enrolment comes next.
func (s *Service) passwordSignedIn(ctx context.Context, tx *txn, u *muster.User, c Client, method string) (*SignedIn, error) {
	due, err := s.secondStepDue(ctx, tx, u, c)
	if err != nil {
		return nil, err
	}
	if !due {
		u.LastSignInAt = tx.now
		if err := tx.UpdateUser(ctx, u); err != nil {
			return nil, err
		}
		return startSessionAs(ctx, tx, u, c, tx.now, method, "")
	}
	token, hash := secret.NewToken()
	ch := &muster.SignInChallenge{OrgID: u.OrgID, UserID: u.ID, TokenHash: hash, CreatedAt: tx.now,
		ExpiresAt: tx.now.Add(SignInChallengeTTL)}
	if err := tx.CreateSignInChallenge(ctx, ch); err != nil {
		return nil, err
	}
	if _, err := tx.DeleteExpiredSignInChallenges(ctx, tx.now, sweepBatch); err != nil {
		return nil, err
	}
	return &SignedIn{User: u, Pending: &PendingSignIn{Token: token, ExpiresAt: ch.ExpiresAt}}, nil
}

// secondStepDue reports whether u's password sign-in from c needs a second
// step or an enrolment.
func (s *Service) secondStepDue(ctx context.Context, tx *txn, u *muster.User, c Client) (bool, error) {
	factors, err := tx.FindUserFactors(ctx, u.ID)
	if err != nil {
		return false, err
	}
	policy, err := findTwoStepPolicy(ctx, tx, u.OrgID)
	if err != nil {
		return false, err
	}
	if len(enabledFactors(factors)) == 0 {
		return policy.Applies(u.Role), nil
	}
	if c.RememberedBrowser != "" && policy != nil && policy.RememberBrowser {
		ok, err := tx.BrowserRemembered(ctx, u.ID, secret.HashToken(c.RememberedBrowser), tx.now)
		return !ok, err
	}
	return true, nil
}

// SecondStep is what the second step's page shows of a pending sign-in.
type SecondStep struct {
	User *muster.User
	// Factors are the person's enabled factors; none when Enrol.
	Factors []*muster.Factor
	// Enrol says that the organization requires a factor the person has
	// not set up: the page offers enrolment.
	Enrol bool
	// GraceEnds is when, for Enrol, the person can no longer skip it;
	// CanSkip says it is not yet.
	GraceEnds time.Time
	CanSkip   bool
	// RecoveryCodes says the person has unused recovery codes.
	RecoveryCodes bool
	// RememberOffered says the organization lets a browser be remembered.
	RememberOffered bool
	ExpiresAt       time.Time
}

// liveChallenge finds the pending sign-in of token with its Active user.
func liveChallenge(ctx context.Context, tx *txn, token string) (*muster.SignInChallenge, *muster.User, error) {
	if token == "" {
		return nil, nil, errChallengeEnded
	}
	ch, err := tx.FindSignInChallenge(ctx, secret.HashToken(token))
	if muster.ErrorCode(err) == muster.ENOTFOUND {
		return nil, nil, errChallengeEnded
	} else if err != nil {
		return nil, nil, err
	}
	if !ch.UsedAt.IsZero() || !tx.now.Before(ch.ExpiresAt) {
		return nil, nil, errChallengeEnded
	}
	u, err := tx.PeekUser(ctx, ch.OrgID, ch.UserID)
	if err != nil {
		return nil, nil, err
	}
	if u.Status != muster.StatusActive {
		return nil, nil, errChallengeEnded
	}
	return ch, u, nil
}

// lockedChallenge is liveChallenge with its person read again, locked
// until the commit: a factor changed, or a ceremony started, at the same
// time waits for the transaction, so the limits and the last-factor rule
// hold under concurrency.
func lockedChallenge(ctx context.Context, tx *txn, token string) (*muster.SignInChallenge, *muster.User, error) {
	ch, u, err := liveChallenge(ctx, tx, token)
	if err != nil {
		return nil, nil, err
	}
	if u, err = tx.FindUser(ctx, u.OrgID, u.ID); err != nil {
		return nil, nil, err
	}
	// Checked again now that the lock is ours: a deactivation that
	// committed since liveChallenge's read has ended the user's access,
	// and a session started now would outlive it.
	if u.Status != muster.StatusActive {
		return nil, nil, errChallengeEnded
	}
	return ch, u, nil
}

// FindSecondStep reads the pending sign-in of token for its page.
func (s *Service) FindSecondStep(ctx context.Context, token string) (*SecondStep, error) {
	var out *SecondStep
	err := s.read(ctx, func(tx *txn) error {
		ch, u, err := liveChallenge(ctx, tx, token)
		if err != nil {
			return err
		}
		out, err = secondStepOf(ctx, tx, ch, u)
		return err
	})
	return out, err
}

func secondStepOf(ctx context.Context, tx *txn, ch *muster.SignInChallenge, u *muster.User) (*SecondStep, error) {
	factors, err := tx.FindUserFactors(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	policy, err := findTwoStepPolicy(ctx, tx, u.OrgID)
	if err != nil {
		return nil, err
	}
	out := &SecondStep{User: u, Factors: enabledFactors(factors), ExpiresAt: ch.ExpiresAt,
		RememberOffered: policy != nil && policy.RememberBrowser}
	if len(out.Factors) == 0 {
		out.Enrol = true
		if policy.Applies(u.Role) {
			out.GraceEnds = policy.GraceEnds(u.ActivatedAt)
			out.CanSkip = tx.now.Before(out.GraceEnds)
		} else {
			// The policy was lifted since the password: nothing to enrol.
			out.CanSkip = true
		}
		out.RememberOffered = false
	}
	n, err := tx.CountTwoStepRecoveryCodes(ctx, u.ID)
	out.RecoveryCodes = n > 0
	return out, err
}

// secondStepVerifier checks a second step in tx, for the pending sign-in
// ch of u whose enabled factors are factors. It returns the factor that
// passed (nil for a recovery code), or errWrongCode or a passkey's refusal
// (isPasskeyRefusal; audited, counting against the limits, and returned as
// they are), or another error (which changes nothing).
type secondStepVerifier func(tx *txn, ch *muster.SignInChallenge, u *muster.User, factors []*muster.Factor) (*muster.Factor, error)

// SecondStepDone is a completed sign-in: the session, and the browser's
// remembered token when one was asked for.
type SecondStepDone struct {
	*SignedIn
	// RememberToken goes into a cookie that skips the second step in this
	// browser until RememberUntil.
	RememberToken string
	RememberUntil time.Time
	// RecoveryCodes are new codes to show once (after an enrolment).
	RecoveryCodes *RecoveryCodes
	// RecoveryCodeUsed says that a recovery code signed in; RecoveryCodesLeft
	// how many are left.
	RecoveryCodeUsed  bool
	RecoveryCodesLeft int
}

// VerifySecondStep completes the pending sign-in of token with a code from
// the person's authenticator app or one of their recovery codes; remember
// asks for this browser to skip the second step for
// muster.RememberBrowserFor, where the organization allows it.
func (s *Service) VerifySecondStep(ctx context.Context, token, code string, remember bool, c Client) (*SecondStepDone, error) {
	var usedRecovery bool
	var left int
	done, err := s.completeSecondStep(ctx, token, remember, c, func(tx *txn, ch *muster.SignInChallenge, u *muster.User,
		factors []*muster.Factor) (*muster.Factor, error) {
		usedRecovery, left = false, 0
		if _, isTOTP := muster.TOTPCode(code); isTOTP {
			for _, f := range factors {
				if ok, err := s.checkTOTP(ctx, tx, f, code); err != nil || ok {
					return f, err
				}
			}
			return nil, errWrongCode
		}
		if len(code) > muster.MaxSecondStepCodeLength {
			return nil, errWrongCode
		}
		ok, err := tx.UseTwoStepRecoveryCode(ctx, u.ID, hashTwoStepRecoveryCode(code), tx.now)
		if err != nil || !ok {
			return nil, firstErr(err, errWrongCode)
		}
		usedRecovery = true
		if left, err = tx.CountTwoStepRecoveryCodes(ctx, u.ID); err != nil {
			return nil, err
		}
		a := &actor{user: u, orgID: u.OrgID, role: u.Role, origin: c.Origin}
		if err := tx.audit(ctx, a, muster.ActionTwoStepRecoveryCodeUsed, muster.TargetUser, u.ID, u.Email, nil,
			map[string]any{"codes_left": left}); err != nil {
			return nil, err
		}
		org, err := tx.FindOrg(ctx, u.OrgID)
		if err != nil {
			return nil, err
		}
		return nil, s.mailTwoStep(ctx, tx, u, "A recovery code was used to sign in to "+org.Name,
			"You signed in with one of your recovery codes", strconv.Itoa(left)+" of your recovery codes are left. "+
				"Each works once; make new ones on your Security page when they run low.", c.IP)
	})
	if done != nil {
		done.RecoveryCodeUsed, done.RecoveryCodesLeft = usedRecovery, left
	}
	return done, err
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// completeSecondStep is the one way a pending sign-in becomes a session:
// every factor kind calls it with its own verify. It counts the attempt
// against the limits first, in a transaction of its own (so that attempts
// sent together cannot pass a limit none has counted against yet), then, in
// one transaction, checks that the sign-in is still pending, calls verify,
// and on success uses the sign-in up and starts the session. A wrong
// answer is audited, and stays counted.
func (s *Service) completeSecondStep(ctx context.Context, token string, remember bool, c Client, verify secondStepVerifier) (*SecondStepDone, error) {
	var accountKey string
	err := s.update(ctx, func(tx *txn) error {
		ch, u, err := liveChallenge(ctx, tx, token)
		if err != nil {
			return err
		}
		if wait, err := secondStepTries.take(ctx, tx, limitKey(secondStepTries.kind, strconv.FormatInt(ch.ID, 10)), tx.now); err != nil || wait > 0 {
			return tooManyCodes(wait, err)
		}
		accountKey = limitKey(secondStepAccount.kind, strconv.FormatInt(u.ID, 10))
		if wait, err := secondStepAccount.take(ctx, tx, accountKey, tx.now); err != nil || wait > 0 {
			return tooManyCodes(wait, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var (
		out   *SecondStepDone
		wrong error
	)
	err = s.update(ctx, func(tx *txn) error {
		out, wrong = nil, nil
		ch, u, err := lockedChallenge(ctx, tx, token)
		if err != nil {
			return err
		}
		factors, err := tx.FindUserFactors(ctx, u.ID)
		if err != nil {
			return err
		}
		factor, err := verify(tx, ch, u, enabledFactors(factors))
		if err == errWrongCode || isPasskeyRefusal(err) {
			wrong = err
			a := &actor{user: u, orgID: u.OrgID, role: u.Role, origin: c.Origin}
			var after map[string]any
			if err != errWrongCode {
				after = map[string]any{"kind": string(muster.FactorPasskey), "reason": muster.ErrorMessage(err)}
			}
			return tx.audit(ctx, a, muster.ActionTwoStepFailed, muster.TargetUser, u.ID, u.Email, nil, after)
		} else if err != nil {
			return err
		}
		out, err = s.finishSecondStep(ctx, tx, ch, u, factor, remember, c)
		if err != nil {
			return err
		}
		// The right factor: the attempt was no failure.
		return tx.ReturnRateLimit(ctx, accountKey)
	})
	if err == nil && wrong != nil {
		return nil, wrong
	}
	return out, err
}

// finishSecondStep uses up the pending sign-in ch of u, which passed with
// factor (nil for a recovery code or an enrolment's skip), and starts the
// session.
func (s *Service) finishSecondStep(ctx context.Context, tx *txn, ch *muster.SignInChallenge, u *muster.User,
	factor *muster.Factor, remember bool, c Client) (*SecondStepDone, error) {
	if ok, err := tx.UseSignInChallenge(ctx, ch.ID, tx.now); err != nil {
		return nil, err
	} else if !ok {
		return nil, errChallengeEnded
	}
	u.LastSignInAt = tx.now
	if err := tx.UpdateUser(ctx, u); err != nil {
		return nil, err
	}
	in, err := startSessionAs(ctx, tx, u, c, tx.now, muster.SessionPassword, "")
	if err != nil {
		return nil, err
	}
	out := &SecondStepDone{SignedIn: in}
	if remember && factor != nil {
		policy, err := findTwoStepPolicy(ctx, tx, u.OrgID)
		if err != nil {
			return nil, err
		}
		if policy != nil && policy.RememberBrowser {
			token, hash := secret.NewToken()
			out.RememberToken, out.RememberUntil = token, tx.now.Add(muster.RememberBrowserFor)
			if err := tx.RememberBrowser(ctx, u.OrgID, u.ID, hash, tx.now, out.RememberUntil); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// SkipEnrolment completes a pending sign-in whose person has no factor
// yet, while the organization's grace period lets them.
func (s *Service) SkipEnrolment(ctx context.Context, token string, c Client) (*SecondStepDone, error) {
	var out *SecondStepDone
	err := s.update(ctx, func(tx *txn) error {
		ch, u, err := lockedChallenge(ctx, tx, token)
		if err != nil {
			return err
		}
		step, err := secondStepOf(ctx, tx, ch, u)
		if err != nil {
			return err
		}
		if !step.Enrol || !step.CanSkip {
			return muster.Errorf(muster.EFORBIDDEN, "Your organization requires two-step verification: set it up to sign in.")
		}
		out, err = s.finishSecondStep(ctx, tx, ch, u, nil, false, c)
		return err
	})
	return out, err
}

// ----- Enrolment -----

// TOTPEnrolment is an authenticator app being set up: its secret as text
// and as the otpauth:// URL that the QR code holds.
type TOTPEnrolment struct {
	Secret string
	URL    string
}

// enrolee is whose factors an enrolment changes: the signed-in person
// (token empty) or the person of a pending sign-in.
func (s *Service) enrolee(ctx context.Context, tx *txn, token string, c Client) (*actor, *muster.SignInChallenge, error) {
	if token == "" {
		a, err := loadUser(ctx, tx)
		if err != nil {
			return nil, nil, err
		}
		return a, nil, nil
	}
	ch, u, err := liveChallenge(ctx, tx, token)
	if err != nil {
		return nil, nil, err
	}
	if err := enrolsWithoutFactor(ctx, tx, u); err != nil {
		return nil, nil, err
	}
	return &actor{user: u, orgID: u.OrgID, role: u.Role, origin: c.Origin}, ch, nil
}

// enrolsWithoutFactor refuses the enrolment inside a pending sign-in of u
// who has a factor already (a passkey, say): such a sign-in passes with
// the second step, never by adding a factor the password alone could add.
func enrolsWithoutFactor(ctx context.Context, tx *txn, u *muster.User) error {
	factors, err := tx.FindUserFactors(ctx, u.ID)
	if err != nil {
		return err
	}
	if len(enabledFactors(factors)) > 0 {
		return muster.Errorf(muster.ECONFLICT, "You have two-step verification already: finish signing in with your "+
			"second factor or a recovery code.")
	}
	return nil
}

// StartTOTP begins setting up an authenticator app for the signed-in
// person (token empty) or the person of the pending sign-in of token: a
// new secret, kept sealed until a code from the app turns it on
// (ConfirmTOTP). It replaces an earlier unconfirmed one.
func (s *Service) StartTOTP(ctx context.Context, token string, c Client) (*TOTPEnrolment, error) {
	if s.cfg.SecretBox == nil {
		return nil, errNoServerKey
	}
	var out *TOTPEnrolment
	err := s.update(ctx, func(tx *txn) error {
		a, _, err := s.enrolee(ctx, tx, token, c)
		if err != nil {
			return err
		}
		u, err := tx.FindUser(ctx, a.orgID, a.user.ID)
		if err != nil {
			return err
		}
		factors, err := tx.FindUserFactors(ctx, u.ID)
		if err != nil {
			return err
		}
		for _, f := range factors {
			if f.Kind != muster.FactorTOTP {
				continue
			}
			if f.Enabled() {
				return muster.Errorf(muster.ECONFLICT, "You have an authenticator app already: remove it first to set up another.")
			}
			if _, err := tx.DeleteFactor(ctx, u.ID, f.ID); err != nil {
				return err
			}
		}
		key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: u.Email,
			Period: totpPeriod, SecretSize: 20, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return err
		}
		f := &muster.Factor{OrgID: u.OrgID, UserID: u.ID, Kind: muster.FactorTOTP, Name: "Authenticator app",
			Secret: s.cfg.SecretBox.Seal([]byte(key.Secret()), factorAD(u.ID)), CreatedAt: tx.now}
		if err := tx.CreateFactor(ctx, f); err != nil {
			return err
		}
		out = &TOTPEnrolment{Secret: key.Secret(), URL: totpURL(key.Secret(), u.Email)}
		return nil
	})
	return out, err
}

// PendingTOTP returns the authenticator app being set up (StartTOTP) for
// the signed-in person (token empty) or the person of the pending sign-in
// of token, to show again; ENOTFOUND when there is none.
func (s *Service) PendingTOTP(ctx context.Context, token string) (*TOTPEnrolment, error) {
	var out *TOTPEnrolment
	err := s.read(ctx, func(tx *txn) error {
		a, _, err := s.enrolee(ctx, tx, token, Client{})
		if err != nil {
			return err
		}
		factors, err := tx.FindUserFactors(ctx, a.user.ID)
		if err != nil {
			return err
		}
		for _, f := range factors {
			if f.Kind == muster.FactorTOTP && !f.Enabled() {
				key, err := s.openTOTP(f)
				if err != nil {
					return err
				}
				out = &TOTPEnrolment{Secret: key, URL: totpURL(key, a.user.Email)}
				return nil
			}
		}
		return muster.Errorf(muster.ENOTFOUND, "No authenticator app is being set up.")
	})
	return out, err
}

// totpURL is the otpauth:// URL of secret for account, which an
// authenticator app reads from the QR code (Key URI Format). Spaces are
// %20: apps read a + as itself.
func totpURL(secretText, account string) string {
	v := url.Values{}
	v.Set("secret", secretText)
	v.Set("issuer", totpIssuer)
	v.Set("period", strconv.Itoa(totpPeriod))
	v.Set("digits", "6")
	v.Set("algorithm", "SHA1")
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + totpIssuer + ":" + account,
		RawQuery: strings.ReplaceAll(v.Encode(), "+", "%20")}
	return u.String()
}

// lockFactors reads the acting person again, locked, into a, and returns
// their factors: two changes of one person's factors at once (two removals,
// each finding the other factor left) then run one after the other.
func lockFactors(ctx context.Context, tx *txn, a *actor) ([]*muster.Factor, error) {
	u, err := tx.FindUser(ctx, a.orgID, a.user.ID)
	if err != nil {
		return nil, err
	}
	// As lockedChallenge: deactivated since they were read, they change
	// nothing and finish no sign-in.
	if u.Status != muster.StatusActive {
		return nil, errSessionEnded
	}
	a.user = u
	return tx.FindUserFactors(ctx, u.ID)
}

// ConfirmTOTP turns on the authenticator app being set up, with a current
// code from it. For a person's first factor it returns their recovery
// codes, once. With token, it is the enrolment of a pending sign-in, which
// it completes (the session is in the result).
func (s *Service) ConfirmTOTP(ctx context.Context, token, code string, c Client) (*SecondStepDone, error) {
	var out *SecondStepDone
	var wrong bool
	err := s.update(ctx, func(tx *txn) error {
		out, wrong = &SecondStepDone{}, false
		a, ch, err := s.enrolee(ctx, tx, token, c)
		if err != nil {
			return err
		}
		factors, err := lockFactors(ctx, tx, a)
		if err != nil {
			return err
		}
		u := a.user
		var pending *muster.Factor
		for _, f := range factors {
			if f.Kind == muster.FactorTOTP && !f.Enabled() {
				pending = f
			}
		}
		if pending == nil {
			return muster.Errorf(muster.ECONFLICT, "No authenticator app is being set up: start again.")
		}
		key, err := s.openTOTP(pending)
		if err != nil {
			return err
		}
		digits, ok := muster.TOTPCode(code)
		step := int64(0)
		if ok {
			step = matchTOTP(key, digits, tx.now)
		}
		if step == 0 {
			wrong = true
			return nil
		}
		if ok, err := tx.EnableFactor(ctx, u.ID, pending.ID, step, tx.now); err != nil {
			return err
		} else if !ok {
			return muster.Errorf(muster.ECONFLICT, "This authenticator app was set up a moment ago.")
		}
		if err := tx.audit(ctx, a, muster.ActionTwoStepFactorAdded, muster.TargetUser, u.ID, u.Email, nil,
			map[string]any{"kind": string(muster.FactorTOTP)}); err != nil {
			return err
		}
		if len(enabledFactors(factors)) == 0 {
			if out.RecoveryCodes, err = newTwoStepRecoveryCodes(ctx, tx, a, u); err != nil {
				return err
			}
		}
		if ch != nil {
			done, err := s.finishSecondStep(ctx, tx, ch, u, pending, false, c)
			if err != nil {
				return err
			}
			out.SignedIn = done.SignedIn
		}
		return nil
	})
	if err == nil && wrong {
		return nil, &muster.Error{Code: muster.EINVALID, Message: "That code is not right. Enter the 6-digit code your app shows now.",
			Fields: []muster.FieldError{{Field: muster.FieldCode, Message: "That code is not right: enter the 6 digits your app shows now."}}}
	}
	return out, err
}

// ----- The Security page -----

// TwoStepStatus is a person's two-step verification as their Security page
// shows it.
type TwoStepStatus struct {
	// Factors are the enabled ones.
	Factors []*muster.Factor
	// PendingTOTP says an authenticator app is being set up.
	PendingTOTP       bool
	RecoveryCodesLeft int
	// Required says the organization requires a factor of this person;
	// GraceEnds, when they have none, until when they may sign in without.
	Required  bool
	GraceEnds time.Time
	// CanSeal says the server has the key that authenticator apps need.
	CanSeal bool
}

// TwoStep reads the signed-in person's two-step verification.
func (s *Service) TwoStep(ctx context.Context) (*TwoStepStatus, error) {
	return readAs(ctx, s, loadUser, func(tx *txn, a *actor) (*TwoStepStatus, error) {
		factors, err := tx.FindUserFactors(ctx, a.user.ID)
		if err != nil {
			return nil, err
		}
		out := &TwoStepStatus{Factors: enabledFactors(factors), CanSeal: s.cfg.SecretBox != nil}
		for _, f := range factors {
			if f.Kind == muster.FactorTOTP && !f.Enabled() {
				out.PendingTOTP = true
			}
		}
		if out.RecoveryCodesLeft, err = tx.CountTwoStepRecoveryCodes(ctx, a.user.ID); err != nil {
			return nil, err
		}
		policy, err := findTwoStepPolicy(ctx, tx, a.orgID)
		if err != nil {
			return nil, err
		}
		if out.Required = policy.Applies(a.role); out.Required {
			out.GraceEnds = policy.GraceEnds(a.user.ActivatedAt)
		}
		return out, nil
	})
}

// RemoveFactor turns off one of the signed-in person's factors. The last
// one needs their password and a current code (from the app or a recovery
// code): it ends their recovery codes and remembered browsers too.
// RemoveFactorWithPasskey confirms with a passkey instead.
func (s *Service) RemoveFactor(ctx context.Context, id int64, password, code string) error {
	return s.removeFactor(ctx, id, password, func(tx *txn, u *muster.User, enabled []*muster.Factor) (*muster.FieldError, error) {
		ok, err := s.checkCurrentFactor(ctx, tx, u, enabled, code)
		if err != nil || ok {
			return nil, err
		}
		return &muster.FieldError{Field: muster.FieldCode, Message: "Enter a current code from your app, or a recovery code."}, nil
	})
}

// currentFactor checks, in tx, the current factor that turning off u's
// last one asks for (enabled are u's enabled factors): nil when it passed,
// else what to say about which input.
type currentFactor func(tx *txn, u *muster.User, enabled []*muster.Factor) (*muster.FieldError, error)

func (s *Service) removeFactor(ctx context.Context, id int64, password string, current currentFactor) error {
	me, err := s.Me(ctx)
	if err != nil {
		return err
	}
	passwordOK := false
	if password != "" {
		passwordOK, _ = secret.CheckPassword(me.PasswordHash, password)
	}
	var wrong error
	err = s.update(ctx, func(tx *txn) error {
		wrong = nil
		a, err := loadUser(ctx, tx)
		if err != nil {
			return err
		}
		factors, err := lockFactors(ctx, tx, a)
		if err != nil {
			return err
		}
		u := a.user
		var target *muster.Factor
		for _, f := range factors {
			if f.ID == id {
				target = f
			}
		}
		if target == nil {
			return muster.Errorf(muster.ENOTFOUND, "Factor not found.")
		}
		enabled := enabledFactors(factors)
		last := target.Enabled() && len(enabled) == 1
		if last {
			// Counted with the second steps' failures: a session in other
			// hands cannot try codes here without end.
			key := limitKey(secondStepAccount.kind, strconv.FormatInt(u.ID, 10))
			if wait, err := secondStepAccount.take(ctx, tx, key, tx.now); err != nil || wait > 0 {
				return tooManyCodes(wait, err)
			}
			var v muster.Validation
			if !passwordOK || u.PasswordHash != me.PasswordHash {
				v.Add(muster.FieldPassword, "That is not your current password.")
			}
			problem, err := current(tx, u, enabled)
			if err != nil {
				return err
			}
			if problem != nil {
				v.Add(problem.Field, problem.Message)
			}
			if wrong = v.Err(); wrong != nil {
				return tx.audit(ctx, a, muster.ActionTwoStepFailed, muster.TargetUser, u.ID, u.Email, nil, nil)
			}
			if err := tx.ReturnRateLimit(ctx, key); err != nil {
				return err
			}
			if _, err := tx.DeleteUserFactors(ctx, u.ID); err != nil {
				return err
			}
		} else {
			if _, err := tx.DeleteFactor(ctx, u.ID, target.ID); err != nil {
				return err
			}
			if target.Enabled() {
				// A browser remembered with this factor asks again.
				if err := tx.ForgetBrowsers(ctx, u.ID); err != nil {
					return err
				}
			}
		}
		if !target.Enabled() {
			return nil
		}
		return tx.audit(ctx, a, muster.ActionTwoStepFactorRemoved, muster.TargetUser, u.ID, u.Email,
			map[string]any{"kind": string(target.Kind), "name": target.Name}, map[string]any{"factors_left": len(enabled) - 1})
	})
	if err == nil && wrong != nil {
		return wrong
	}
	return err
}

// checkCurrentFactor reports whether code is a current code of one of u's
// TOTP factors or one of their recovery codes, which it uses up.
func (s *Service) checkCurrentFactor(ctx context.Context, tx *txn, u *muster.User, factors []*muster.Factor, code string) (bool, error) {
	if _, ok := muster.TOTPCode(code); ok {
		for _, f := range factors {
			if ok, err := s.checkTOTP(ctx, tx, f, code); err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	}
	if code == "" || len(code) > muster.MaxSecondStepCodeLength {
		return false, nil
	}
	return tx.UseTwoStepRecoveryCode(ctx, u.ID, hashTwoStepRecoveryCode(code), tx.now)
}

// RegenerateTwoStepRecoveryCodes gives the signed-in person new recovery
// codes, returned once; the old ones stop working.
func (s *Service) RegenerateTwoStepRecoveryCodes(ctx context.Context) (*RecoveryCodes, error) {
	var out *RecoveryCodes
	err := s.update(ctx, func(tx *txn) error {
		a, err := loadUser(ctx, tx)
		if err != nil {
			return err
		}
		u, err := tx.FindUser(ctx, a.orgID, a.user.ID)
		if err != nil {
			return err
		}
		factors, err := tx.FindUserFactors(ctx, u.ID)
		if err != nil {
			return err
		}
		if len(enabledFactors(factors)) == 0 {
			return muster.Errorf(muster.ECONFLICT, "Recovery codes go with two-step verification: set up a factor first.")
		}
		out, err = newTwoStepRecoveryCodes(ctx, tx, a, u)
		return err
	})
	return out, err
}

// ResetTwoStep removes every factor of a person, their recovery codes and
// remembered browsers (a lost phone), as an Owner or Admin: never one's own
// and never the Owner's (muster.CheckResetTwoStep). The person is emailed,
// and signs in next with their password alone, or, where the organization
// requires two-step verification, sets it up again.
func (s *Service) ResetTwoStep(ctx context.Context, userID int64) (*muster.User, error) {
	var out *muster.User
	err := s.update(ctx, func(tx *txn) error {
		a, err := loadAdmin(ctx, tx)
		if err != nil {
			return err
		}
		target, err := tx.FindUser(ctx, a.orgID, userID)
		if err != nil {
			return err
		}
		if err := muster.CheckResetTwoStep(a.role, a.id(), target); err != nil {
			return err
		}
		out = target
		n, err := tx.DeleteUserFactors(ctx, target.ID)
		if err != nil {
			return err
		}
		if n == 0 {
			return muster.Errorf(muster.ECONFLICT, "%s has no two-step verification to reset.", target.Name())
		}
		if err := tx.audit(ctx, a, muster.ActionTwoStepReset, muster.TargetUser, target.ID, target.Email,
			map[string]any{"factors": n}, nil); err != nil {
			return err
		}
		by := a.name()
		if by == "" {
			by = "An administrator"
		}
		return s.mailTwoStep(ctx, tx, target, "Your two-step verification was reset",
			by+" reset your two-step verification: your authenticator apps, passkeys and recovery codes no longer work",
			"Your next sign-in asks for your password alone, unless your organization requires two-step verification: "+
				"then set it up again when you sign in.", "")
	})
	return out, err
}

// ----- The organization's policy -----

// TwoStepPolicyInput is the organization's sign-in security as the Owner
// sets it.
type TwoStepPolicyInput struct {
	Scope           muster.TwoStepScope
	GraceDays       int
	RememberBrowser bool
}

// defaultTwoStepPolicy is the policy of an organization that never set
// one: nothing required.
func defaultTwoStepPolicy(orgID int64) *muster.TwoStepPolicy {
	return &muster.TwoStepPolicy{OrgID: orgID, Scope: muster.TwoStepOff, GraceDays: muster.DefaultTwoStepGraceDays}
}

// TwoStepPolicy reads the organization's sign-in security (Owners and
// Admins).
func (s *Service) TwoStepPolicy(ctx context.Context) (*muster.TwoStepPolicy, error) {
	return readAs(ctx, s, loadAdmin, func(tx *txn, a *actor) (*muster.TwoStepPolicy, error) {
		p, err := findTwoStepPolicy(ctx, tx, a.orgID)
		if p == nil && err == nil {
			p = defaultTwoStepPolicy(a.orgID)
		}
		return p, err
	})
}

// SetTwoStepPolicy sets the organization's sign-in security (the Owner):
// whom two-step verification is required of for password sign-in, the
// grace period of those without a factor (from now, for a scope newly
// required), and whether a browser may be remembered for 30 days. Single
// sign-on and API tokens are not affected.
func (s *Service) SetTwoStepPolicy(ctx context.Context, in TwoStepPolicyInput) (*muster.TwoStepPolicy, error) {
	var v muster.Validation
	if _, ok := muster.ParseTwoStepScope(string(in.Scope)); !ok {
		v.Add(muster.FieldTwoStepScope, "Choose whom two-step verification is required of.")
	}
	if in.GraceDays < 0 || in.GraceDays > muster.MaxTwoStepGraceDays {
		v.Add(muster.FieldGraceDays, "Enter a number of days from 0 to "+strconv.Itoa(muster.MaxTwoStepGraceDays)+".")
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *muster.TwoStepPolicy
	err := s.update(ctx, func(tx *txn) error {
		a, err := loadAdmin(ctx, tx)
		if err != nil {
			return err
		}
		if err := muster.CheckSetTwoStepPolicy(a.role); err != nil {
			return err
		}
		// Locked: two changes at once are applied one after the other.
		if _, err := tx.FindOrg(ctx, a.orgID); err != nil {
			return err
		}
		old, err := findTwoStepPolicy(ctx, tx, a.orgID)
		if err != nil {
			return err
		}
		if old == nil {
			old = defaultTwoStepPolicy(a.orgID)
		}
		p := *old
		p.GraceDays, p.RememberBrowser = in.GraceDays, in.RememberBrowser
		if in.Scope != old.Scope {
			p.Scope = in.Scope
			// Whom the policy newly covers gets the whole grace period.
			p.RequiredSince = tx.now
		}
		if p == *old {
			out = old
			return nil
		}
		p.UpdatedAt = tx.now
		if err := tx.SaveTwoStepPolicy(ctx, &p); err != nil {
			return err
		}
		out = &p
		words := func(q *muster.TwoStepPolicy) map[string]any {
			return map[string]any{"two_step": string(q.Scope), "grace_days": q.GraceDays, "remember_browser": q.RememberBrowser}
		}
		org, err := tx.FindOrg(ctx, a.orgID)
		if err != nil {
			return err
		}
		return tx.audit(ctx, a, muster.ActionTwoStepPolicyChanged, muster.TargetOrg, a.orgID, org.Name, words(old), words(&p))
	})
	return out, err
}
