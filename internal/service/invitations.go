package service

import (
	"context"
	"time"

	"github.com/muster-app/muster/internal/mail"
	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/secret"
)

// sendInvitation ends the user's older links, makes a new one and queues the
// invitation email, all in tx. It returns the link.
func (s *Service) sendInvitation(ctx context.Context, tx *txn, a *actor, org *muster.Org, u *muster.User) (string, error) {
	if err := tx.RevokeInvitations(ctx, u.ID, muster.LinkSuperseded, tx.now); err != nil {
		return "", err
	}
	links, err := s.queueInvitations(ctx, tx, a, org, []*muster.User{u})
	if err != nil {
		return "", err
	}
	return links[0], nil
}

// queueInvitations makes a link for each of the users, none of whom has a
// live one, and queues their invitation emails, a few statements for any
// number of them. It returns the links in the users' order.
func (s *Service) queueInvitations(ctx context.Context, tx *txn, a *actor, org *muster.Org, users []*muster.User) ([]string, error) {
	links, invs, err := s.createLinks(ctx, tx, org, users)
	if err != nil {
		return nil, err
	}
	msgs := make([]*muster.OutboxMessage, len(users))
	host := hostOf(s.cfg.BaseURL)
	// The templates run once for all the users, once more for an Owner.
	composers := map[bool]*mail.Invitations{}
	for i, u := range users {
		owner := u.Role == muster.RoleOwner
		c := composers[owner]
		if c == nil {
			if c, err = mail.NewInvitations(mail.Invitation{OrgName: org.Name, InviterName: a.name(),
				ExpiresAt: invs[i].ExpiresAt, Owner: owner, SSO: org.SSOEnabled}); err != nil {
				return nil, err
			}
			composers[owner] = c
		}
		msg, err := c.Compose(u.FirstName, u.Email, links[i])
		if err != nil {
			return nil, err
		}
		msgs[i] = &muster.OutboxMessage{OrgID: org.ID, MessageID: messageIDAt(host), To: u.Email,
			Subject: msg.Subject, Text: msg.Text, HTML: msg.HTML, CreatedAt: tx.now}
	}
	return links, tx.CreateOutboxMessages(ctx, msgs)
}

// newInvitationLink ends the user's older links and makes a new one, in
// tx.
func (s *Service) newInvitationLink(ctx context.Context, tx *txn, org *muster.Org, u *muster.User) (string, *muster.Invitation, error) {
	if err := tx.RevokeInvitations(ctx, u.ID, muster.LinkSuperseded, tx.now); err != nil {
		return "", nil, err
	}
	links, invs, err := s.createLinks(ctx, tx, org, []*muster.User{u})
	if err != nil {
		return "", nil, err
	}
	return links[0], invs[0], nil
}

// createLinks makes a new invitation link for each of the users, in tx,
// and returns the links and their invitations in the users' order.
func (s *Service) createLinks(ctx context.Context, tx *txn, org *muster.Org, users []*muster.User) ([]string, []*muster.Invitation, error) {
	links := make([]string, len(users))
	invs := make([]*muster.Invitation, len(users))
	for i, u := range users {
		token, hash := secret.NewToken()
		invs[i] = &muster.Invitation{OrgID: org.ID, UserID: u.ID, TokenHash: hash, CreatedAt: tx.now,
			ExpiresAt: s.linkExpiry(tx.now)}
		links[i] = s.cfg.Links.Invitation(token)
	}
	return links, invs, tx.CreateInvitations(ctx, invs)
}

// linkExpiry is when an invitation link made at now expires.
func (s *Service) linkExpiry(now time.Time) time.Time { return now.Add(s.cfg.InvitationTTL) }

// queueMail queues msg to the address to, of the org, in tx: it is sent
// once tx commits.
func (s *Service) queueMail(ctx context.Context, tx *txn, orgID int64, to string, msg *mail.Message) error {
	return tx.CreateOutboxMessage(ctx, &muster.OutboxMessage{OrgID: orgID, MessageID: newMessageID(s.cfg.BaseURL),
		To: to, Subject: msg.Subject, Text: msg.Text, HTML: msg.HTML, CreatedAt: tx.now})
}

// newMessageID returns a unique RFC 5322 Message-ID, fixed when the email is
// queued so that every delivery attempt carries the same one.
func newMessageID(baseURL string) string {
	return messageIDAt(hostOf(baseURL))
}

// messageIDAt is newMessageID for the host of the base URL.
func messageIDAt(host string) string {
	token, _ := secret.NewToken()
	return "<" + token + "@" + host + ">"
}

// InvitationInfo is what the accept page shows (INV-5).
type InvitationInfo struct {
	Org  *muster.Org
	User *muster.User
	// SSO says that the organization signs in with single sign-on, which
	// the page offers; SSORequired that it offers nothing else (AUTH-6).
	SSO         bool
	SSORequired bool
}

// LookupInvitation checks an invitation link and returns whom it is for. A
// dead link is an EGONE error whose Reason says why.
func (s *Service) LookupInvitation(ctx context.Context, token string) (*InvitationInfo, error) {
	var info InvitationInfo
	err := s.view(ctx, func(tx *txn) error {
		_, u, err := s.liveInvitation(ctx, tx, token)
		if err != nil {
			return err
		}
		info.User = u
		if info.Org, err = tx.FindOrg(ctx, u.OrgID); err != nil {
			return err
		}
		conn, err := findConnection(ctx, tx, u.OrgID)
		if conn != nil {
			info.SSO, info.SSORequired = conn.Enabled, conn.Required
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &info, nil
}

// liveInvitation finds the invitation of token and its user, refused with
// the reason when the link no longer works (linkState).
//
// The invitation is read without a lock and its user locked after it: a
// withdrawal, a resend or an invitation again locks the user before it ends
// the user's links, and an acceptance that locked the link first waited for
// it while it waited for the link (a deadlock on PostgreSQL). The link is
// read again once the user is locked, so that what another acceptance, a
// withdrawal or a resend did meanwhile says why it no longer works;
// UseInvitation's conditional write decides.
func (s *Service) liveInvitation(ctx context.Context, tx muster.Tx, token string) (*muster.Invitation, *muster.User, error) {
	hash := secret.HashToken(token)
	inv, err := tx.FindInvitationByTokenHash(ctx, hash)
	if muster.ErrorCode(err) == muster.ENOTFOUND {
		return nil, nil, &muster.Error{Code: muster.ENOTFOUND, Message: "This link is not valid. Check that you copied all of it, or ask an administrator to send a new invitation."}
	} else if err != nil {
		return nil, nil, err
	}
	u, err := tx.FindUser(ctx, inv.OrgID, inv.UserID)
	if err != nil {
		return nil, nil, err
	}
	if inv, err = tx.FindInvitationByTokenHash(ctx, hash); err != nil {
		return nil, nil, err
	}
	if reason := linkState(inv, u, s.now()); reason != "" {
		return nil, nil, &muster.Error{Code: muster.EGONE, Reason: reason, Message: goneMessage(reason)}
	}
	return inv, u, nil
}

// linkState says why an invitation no longer works, or "" if it does.
func linkState(inv *muster.Invitation, u *muster.User, now time.Time) string {
	switch {
	case !inv.UsedAt.IsZero():
		return muster.LinkUsed
	case !inv.RevokedAt.IsZero():
		return inv.RevokedReason
	case u.Status != muster.StatusPending:
		return muster.LinkInactive
	case !now.Before(inv.ExpiresAt):
		return muster.LinkExpired
	}
	return ""
}

func goneMessage(reason string) string {
	switch reason {
	case muster.LinkExpired:
		return "This invitation has expired. Ask an administrator of your organization to send you a new one."
	case muster.LinkUsed:
		return "This invitation has already been used. Sign in with your email address and password."
	case muster.LinkSuperseded:
		return "A newer invitation was sent to you, so this link no longer works. Use the link in the most recent email."
	case muster.LinkWithdrawn:
		return "This invitation was withdrawn. Ask an administrator of your organization if you think this is a mistake."
	}
	return "This invitation no longer works. Ask an administrator of your organization for help."
}

// AcceptInvitation sets the invitee's password, makes them Active and signs
// them in (INV-5). The link is single-use: of two concurrent accepts, exactly
// one succeeds.
func (s *Service) AcceptInvitation(ctx context.Context, token, password string, c Client) (*SignedIn, error) {
	info, err := s.LookupInvitation(ctx, token)
	if err != nil {
		return nil, err
	}
	if info.SSORequired {
		return nil, errNoPasswords
	}
	var v muster.Validation
	muster.CheckPassword(&v, muster.FieldPassword, password, info.User.Email)
	if err := v.Err(); err != nil {
		return nil, err
	}
	// Hash outside the transaction: argon2id takes tens of milliseconds and
	// must not hold the write lock.
	hash := s.hashPassword(password)

	var out *SignedIn
	err = s.update(ctx, func(tx *txn) error {
		inv, u, err := s.liveInvitation(ctx, tx, token)
		if err != nil {
			return err
		}
		if required, err := ssoRequiredFor(ctx, tx, u.OrgID); err != nil {
			return err
		} else if required {
			return errNoPasswords
		}
		now := tx.now
		if ok, err := tx.UseInvitation(ctx, inv.ID, now); err != nil {
			return err
		} else if !ok {
			return &muster.Error{Code: muster.EGONE, Reason: muster.LinkUsed, Message: goneMessage(muster.LinkUsed)}
		}
		before := userSnapshot(u)
		u.Status, u.PasswordHash, u.ActivatedAt, u.UpdatedAt = muster.StatusActive, hash, now, now
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		a := &actor{user: u, orgID: u.OrgID, role: u.Role, origin: c.Origin}
		if err := tx.audit(ctx, a, muster.ActionUserActivated, muster.TargetUser, u.ID, u.Email, before, userSnapshot(u)); err != nil {
			return err
		}
		// The link proves the email, as a reset link does, not a factor:
		// a user invited again keeps theirs, and the Owner's policy may
		// require one (AUTH-7).
		out, err = s.passwordSignedIn(ctx, tx, u, c, muster.SessionPassword)
		return err
	})
	return out, err
}
