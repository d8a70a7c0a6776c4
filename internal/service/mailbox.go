package service

import (
	"context"
	"fmt"
	"time"

	"github.com/muster-app/muster/internal/muster"
)

// OutboxRetention is how long an email stays in the outbox, and so in the
// Owner's mailbox, once it was sent or failed for good, unless invitation
// links live longer (MailKeptFor).
const OutboxRetention = 30 * 24 * time.Hour

// MailKeptFor is how long an email stays in the outbox once it was sent or
// failed for good: OutboxRetention, or an invitation link's life
// (--invitation-ttl) where that is longer, so that the mailbox loses no
// link still of use.
func (s *Service) MailKeptFor() time.Duration { return max(OutboxRetention, s.cfg.InvitationTTL) }

// MailboxPage is one page of the org's outgoing email, newest first.
type MailboxPage struct {
	Messages     []*muster.OutboxMessage
	NextBeforeID int64
}

// loadOwner resolves the actor and requires the Owner (or an operator, who
// acts with the Owner's powers); what names the refused action.
func loadOwner(ctx context.Context, tx muster.Tx, what string) (*actor, error) {
	a, err := loadActor(ctx, tx)
	if err != nil {
		return nil, err
	}
	if a.role != muster.RoleOwner {
		return nil, muster.Errorf(muster.EFORBIDDEN, "Only the Owner can %s.", what)
	}
	return a, nil
}

// Mailbox lists the email the org has sent or is sending: the local mailbox
// when no SMTP server is set, and the messages that failed for good. Only
// the Owner reads it: it holds other people's invitation links. A private
// message (a password reset link) shows only that it was sent (withheld).
func (s *Service) Mailbox(ctx context.Context, beforeID int64, limit int) (*MailboxPage, error) {
	limit = pageLimit(limit)
	var page MailboxPage
	err := s.view(ctx, func(tx *txn) error {
		a, err := loadOwner(ctx, tx, "read the organization's mailbox")
		if err != nil {
			return err
		}
		msgs, err := tx.FindOutboxMessages(ctx, muster.OutboxFilter{OrgID: a.orgID, BeforeID: beforeID, Limit: limit + 1})
		if err != nil {
			return err
		}
		if len(msgs) > limit {
			msgs = msgs[:limit]
			page.NextBeforeID = msgs[limit-1].ID
		}
		for i, m := range msgs {
			msgs[i] = withheld(m)
		}
		page.Messages = msgs
		return nil
	})
	return &page, err
}

// MailboxMessage returns one message of the org's mailbox, for the Owner.
func (s *Service) MailboxMessage(ctx context.Context, id int64) (*muster.OutboxMessage, error) {
	var msg *muster.OutboxMessage
	err := s.view(ctx, func(tx *txn) error {
		a, err := loadOwner(ctx, tx, "read the organization's mailbox")
		if err != nil {
			return err
		}
		msg, err = tx.FindOutboxMessage(ctx, a.orgID, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return withheld(msg), nil
}

// withheld is m as the mailbox shows it: a private message's body, which
// lets whoever reads it act as its recipient (a password reset link), is
// replaced by a note that it was sent. A reset link is only ever shown to
// the person it is for; invitation links stay, since in mailbox mode the
// Owner hands them on.
func withheld(m *muster.OutboxMessage) *muster.OutboxMessage {
	if !m.Private {
		return m
	}
	out := *m
	out.Text = fmt.Sprintf("%s asked for a password reset. This email carries the link that sets a new password.\n\n"+
		"The link is not shown here: it is only for %[1]s, since whoever holds it can take over the account.\n\n"+
		"Without an SMTP server (--smtp) this email reaches no one. To let people reset their passwords by email, "+
		"configure one.\n", m.To)
	out.HTML = ""
	return &out
}
