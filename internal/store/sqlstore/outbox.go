package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/muster-app/muster/internal/muster"
)

const outboxColumns = `id, org_id, message_id, recipient, subject, body_text, body_html, created_at, private,
	next_attempt_at, attempts, sent_at, failed_at, last_error, delivered_via, bulk`

func scanOutbox(row interface{ Scan(...any) error }, m *muster.OutboxMessage) error {
	return row.Scan(&m.ID, nullInt{&m.OrgID}, &m.MessageID, &m.To, &m.Subject, &m.Text, &m.HTML,
		nullTime{&m.CreatedAt}, &m.Private, nullTime{&m.NextAttemptAt}, &m.Attempts, nullTime{&m.SentAt}, nullTime{&m.FailedAt},
		&m.LastError, &m.DeliveredVia, &m.Bulk)
}

// CreateOutboxMessage implements muster.Tx.
func (tx *Tx) CreateOutboxMessage(ctx context.Context, m *muster.OutboxMessage) error {
	return tx.CreateOutboxMessages(ctx, []*muster.OutboxMessage{m})
}

// CreateOutboxMessages implements muster.Tx. Each message is due at once.
// A single message waits for the transaction's next statement
// (writeLater); a batch (an import's hundreds) goes at once, in chunks of
// a few sizes, whose statements stay few and prepared.
func (tx *Tx) CreateOutboxMessages(ctx context.Context, msgs []*muster.OutboxMessage) error {
	if len(msgs) == 0 {
		return nil
	}
	args := make([]any, 0, len(msgs)*outboxWidth)
	for _, m := range msgs {
		args = append(args, nullID(m.OrgID), m.MessageID, m.To, m.Subject, m.Text, m.HTML, micros(m.CreatedAt),
			micros(m.CreatedAt), m.Private, m.Bulk)
	}
	for _, m := range msgs {
		m.NextAttemptAt = m.CreatedAt
	}
	const head = `INSERT INTO outbox (org_id, message_id, recipient, subject, body_text, body_html,
			created_at, next_attempt_at, private, bulk)`
	if len(msgs) == 1 {
		return tx.writeLater(ctx, tx.insertWrites(head, outboxWidth, args)...)
	}
	_, err := tx.insertMany(ctx, head, outboxWidth, args, false)
	return err
}

// outboxWidth is the values of a row of outbox that CreateOutboxMessages
// inserts.
const outboxWidth = 10

// LeaseOutboxMessages implements muster.Tx. On PostgreSQL the inner SELECT
// skips rows another sender has locked; SQLite has one writer at a time.
//
// The outbox has two lanes: the bulk lane (an import's invitations) and
// the rest. A lease takes up to three quarters of limit from the rest,
// then fills up from the bulk lane, then from the rest again: a single
// invitation sent while 100,000 imported ones wait goes in the next
// lease, and a steady stream of other mail still leaves an import a
// quarter of every lease.
func (tx *Tx) LeaseOutboxMessages(ctx context.Context, now, until time.Time, limit int) ([]*muster.OutboxMessage, error) {
	share := limit - limit/4
	out, err := tx.leaseOutboxLane(ctx, false, now, until, share)
	if err != nil {
		return nil, err
	}
	restFull := len(out) == share
	if len(out) < limit {
		bulk, err := tx.leaseOutboxLane(ctx, true, now, until, limit-len(out))
		if err != nil {
			return nil, err
		}
		out = append(out, bulk...)
	}
	if n := len(out); n < limit && restFull {
		more, err := tx.leaseOutboxLane(ctx, false, now, until, limit-n)
		if err != nil {
			return nil, err
		}
		out = append(out, more...)
	}
	return out, nil
}

// leaseOutboxLane leases up to limit due messages of one lane.
func (tx *Tx) leaseOutboxLane(ctx context.Context, bulk bool, now, until time.Time, limit int) ([]*muster.OutboxMessage, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := tx.query(ctx, `UPDATE outbox SET lease_until = $2, attempts = attempts + 1
		WHERE id IN (
			SELECT id FROM outbox
			WHERE bulk = $4 AND sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1
				AND (lease_until IS NULL OR lease_until <= $1)
			ORDER BY bulk, next_attempt_at, id LIMIT $3`+tx.dialect.SkipLocked+`)
		RETURNING `+outboxColumns, micros(now), micros(until), limit, bulk)
	if err != nil {
		return nil, err
	}
	return collectOutbox(rows)
}

func collectOutbox(rows interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close() error
}) ([]*muster.OutboxMessage, error) {
	defer rows.Close()
	var out []*muster.OutboxMessage
	for rows.Next() {
		var m muster.OutboxMessage
		if err := scanOutbox(rows, &m); err != nil {
			return nil, err
		}
		out = append(out, &m)
	}
	return out, rows.Err()
}

// MarkOutboxSent implements muster.Tx.
func (tx *Tx) MarkOutboxSent(ctx context.Context, ids []int64, via string, now time.Time) error {
	for chunk := range slices.Chunk(ids, 500) {
		list, args := inList(anySlice(chunk))
		n := len(args)
		_, err := tx.exec(ctx, fmt.Sprintf(`UPDATE outbox SET sent_at = $%d, delivered_via = $%d, lease_until = NULL,
			last_error = '' WHERE id IN (%s)`, n+1, n+2, list), append(args, micros(now), via)...)
		if err != nil {
			return err
		}
	}
	return nil
}

// MarkOutboxRetry implements muster.Tx.
func (tx *Tx) MarkOutboxRetry(ctx context.Context, id int64, next time.Time, lastError string) error {
	_, err := tx.exec(ctx, `UPDATE outbox SET next_attempt_at = $2, last_error = $3, lease_until = NULL
		WHERE id = $1`, id, micros(next), lastError)
	return err
}

// MarkOutboxFailed implements muster.Tx.
func (tx *Tx) MarkOutboxFailed(ctx context.Context, id int64, now time.Time, lastError string) error {
	_, err := tx.exec(ctx, `UPDATE outbox SET failed_at = $2, last_error = $3, lease_until = NULL
		WHERE id = $1`, id, micros(now), lastError)
	return err
}

// DeleteFinishedOutboxMessages implements muster.Tx, through the index
// outbox_finished, whose expression and condition it repeats.
func (tx *Tx) DeleteFinishedOutboxMessages(ctx context.Context, before time.Time) (int, error) {
	res, err := tx.exec(ctx, `DELETE FROM outbox WHERE (sent_at IS NOT NULL OR failed_at IS NOT NULL)
		AND COALESCE(sent_at, failed_at) < $1`, micros(before))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// FindOutboxMessages implements muster.Tx.
func (tx *Tx) FindOutboxMessages(ctx context.Context, f muster.OutboxFilter) ([]*muster.OutboxMessage, error) {
	where, args := []string{`org_id = $1`}, []any{f.OrgID, f.Limit}
	if f.BeforeID != 0 {
		args = append(args, f.BeforeID)
		where = append(where, `id < $3`)
	}
	rows, err := tx.query(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE `+
		strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT $2`, tx.planForValues(args)...)
	if err != nil {
		return nil, err
	}
	return collectOutbox(rows)
}

// FindOutboxMessage implements muster.Tx.
func (tx *Tx) FindOutboxMessage(ctx context.Context, orgID, id int64) (*muster.OutboxMessage, error) {
	var m muster.OutboxMessage
	row := tx.queryRow(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE org_id = $1 AND id = $2`, orgID, id)
	if err := scanOutbox(row, &m); err != nil {
		return nil, notFound(err, "Message")
	}
	return &m, nil
}
