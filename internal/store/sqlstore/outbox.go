package sqlstore

import (
	"context"

	"github.com/muster-app/muster/internal/muster"
)

// CreateOutboxMessage implements muster.Tx.
func (tx *Tx) CreateOutboxMessage(ctx context.Context, m *muster.OutboxMessage) error {
	id, err := tx.insert(ctx, `INSERT INTO outbox (org_id, message_id, recipient, subject, body_text, body_html,
			created_at, next_attempt_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $7)`,
		nullID(m.OrgID), m.MessageID, m.To, m.Subject, m.Text, m.HTML, micros(m.CreatedAt))
	m.ID = id
	return err
}
