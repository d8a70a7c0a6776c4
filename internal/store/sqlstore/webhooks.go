package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/muster-app/muster/internal/muster"
)

const endpointColumns = `id, org_id, url, description, event_types, enabled, disabled_reason, disabled_at, secret,
	previous_secret, previous_secret_until, failing_since, created_at, updated_at, version`

func scanEndpoint(row interface{ Scan(...any) error }) (*muster.WebhookEndpoint, error) {
	var (
		e     muster.WebhookEndpoint
		types string
		prev  sql.Null[[]byte]
	)
	if err := row.Scan(&e.ID, &e.OrgID, &e.URL, &e.Description, &types, &e.Enabled, &e.DisabledReason,
		nullTime{&e.DisabledAt}, &e.Secret, &prev, nullTime{&e.PreviousSecretUntil}, nullTime{&e.FailingSince},
		nullTime{&e.CreatedAt}, nullTime{&e.UpdatedAt}, &e.Version); err != nil {
		return nil, err
	}
	e.EventTypes = strings.Fields(types)
	if prev.Valid {
		e.PreviousSecret = prev.V
	}
	return &e, nil
}

// nullBytes stores an empty byte slice as NULL.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// CreateWebhookEndpoint implements muster.Tx.
func (tx *Tx) CreateWebhookEndpoint(ctx context.Context, e *muster.WebhookEndpoint) error {
	id, err := tx.insert(ctx, `INSERT INTO webhook_endpoints (org_id, url, description, event_types, enabled,
			disabled_reason, disabled_at, secret, previous_secret, previous_secret_until, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)`,
		e.OrgID, e.URL, e.Description, strings.Join(e.EventTypes, " "), e.Enabled, e.DisabledReason,
		micros(e.DisabledAt), e.Secret, nullBytes(e.PreviousSecret), micros(e.PreviousSecretUntil), micros(e.CreatedAt))
	e.ID, e.UpdatedAt, e.Version = id, e.CreatedAt, 1
	return err
}

// UpdateWebhookEndpoint implements muster.Tx.
func (tx *Tx) UpdateWebhookEndpoint(ctx context.Context, e *muster.WebhookEndpoint) error {
	err := tx.queryRow(ctx, `UPDATE webhook_endpoints SET url = $2, description = $3, event_types = $4, enabled = $5,
			disabled_reason = $6, disabled_at = $7, secret = $8, previous_secret = $9, previous_secret_until = $10,
			failing_since = $11, updated_at = $12, version = version + 1
		WHERE id = $1 AND deleted_at IS NULL RETURNING version`,
		e.ID, e.URL, e.Description, strings.Join(e.EventTypes, " "), e.Enabled, e.DisabledReason, micros(e.DisabledAt),
		e.Secret, nullBytes(e.PreviousSecret), micros(e.PreviousSecretUntil), micros(e.FailingSince),
		micros(e.UpdatedAt)).Scan(&e.Version)
	return notFound(err, "Webhook endpoint")
}

// SetWebhookEndpointFailing implements muster.Tx.
func (tx *Tx) SetWebhookEndpointFailing(ctx context.Context, id int64, since time.Time) error {
	_, err := tx.exec(ctx, `UPDATE webhook_endpoints SET failing_since = $2 WHERE id = $1`, id, micros(since))
	return err
}

// DeleteWebhookEndpoint implements muster.Tx.
func (tx *Tx) DeleteWebhookEndpoint(ctx context.Context, orgID, id int64, now time.Time) error {
	if _, err := tx.exec(ctx, `UPDATE webhook_endpoints SET deleted_at = $3, enabled = FALSE
		WHERE org_id = $1 AND id = $2`, orgID, id, micros(now)); err != nil {
		return err
	}
	return tx.FailWebhookDeliveries(ctx, id, now, "The endpoint was deleted.")
}

// FindWebhookEndpoint implements muster.Tx.
func (tx *Tx) FindWebhookEndpoint(ctx context.Context, orgID, id int64) (*muster.WebhookEndpoint, error) {
	e, err := scanEndpoint(tx.queryRow(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints
		WHERE org_id = $1 AND id = $2 AND deleted_at IS NULL`+tx.forNoKeyUpdate(), orgID, id))
	if err != nil {
		return nil, notFound(err, "Webhook endpoint")
	}
	return e, nil
}

// FindWebhookEndpoints implements muster.Tx.
func (tx *Tx) FindWebhookEndpoints(ctx context.Context, orgID int64) ([]*muster.WebhookEndpoint, error) {
	rows, err := tx.query(ctx, `SELECT `+endpointColumns+` FROM webhook_endpoints
		WHERE org_id = $1 AND deleted_at IS NULL ORDER BY id`, orgID)
	return collect(rows, err, func(rows *sql.Rows) (*muster.WebhookEndpoint, error) { return scanEndpoint(rows) })
}

// collect reads every row of a query's rows with scan.
func collect[T any](rows *sql.Rows, err error, scan func(*sql.Rows) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// FindWebhookSubscribers implements muster.Tx.
func (tx *Tx) FindWebhookSubscribers(ctx context.Context, orgID int64) ([]*muster.WebhookSubscriber, error) {
	rows, err := tx.query(ctx, `SELECT id, event_types FROM webhook_endpoints
		WHERE org_id = $1 AND enabled AND deleted_at IS NULL ORDER BY id`, orgID)
	return collect(rows, err, func(rows *sql.Rows) (*muster.WebhookSubscriber, error) {
		var (
			s     muster.WebhookSubscriber
			types string
		)
		err := rows.Scan(&s.ID, &types)
		s.EventTypes = strings.Fields(types)
		return &s, err
	})
}

// CreateWebhookEvent implements muster.Tx.
func (tx *Tx) CreateWebhookEvent(ctx context.Context, ev *muster.WebhookEvent, subject string, endpointIDs []int64) error {
	id, err := tx.insert(ctx, `INSERT INTO webhook_events (org_id, msg_id, event_type, payload, created_at)
		VALUES ($1, $2, $3, $4, $5)`, ev.OrgID, ev.MsgID, ev.Type, string(ev.Payload), micros(ev.CreatedAt))
	if err != nil {
		return err
	}
	ev.ID = id
	for _, endpoint := range endpointIDs {
		if _, err := tx.exec(ctx, `INSERT INTO webhook_deliveries (org_id, endpoint_id, event_id, subject, state,
				next_attempt_at, created_at)
			VALUES ($1, $2, $3, $4, 'pending', $5, $5)`, ev.OrgID, endpoint, id, subject, micros(ev.CreatedAt)); err != nil {
			return err
		}
	}
	return nil
}

// FindWebhookEvents implements muster.Tx.
func (tx *Tx) FindWebhookEvents(ctx context.Context, ids []int64) ([]*muster.WebhookEvent, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	list, args := inList(anySlice(ids))
	rows, err := tx.query(ctx, `SELECT id, org_id, msg_id, event_type, payload, created_at FROM webhook_events
		WHERE id IN (`+list+`)`, args...)
	return collect(rows, err, func(rows *sql.Rows) (*muster.WebhookEvent, error) {
		var (
			ev      muster.WebhookEvent
			payload string
		)
		err := rows.Scan(&ev.ID, &ev.OrgID, &ev.MsgID, &ev.Type, &payload, nullTime{&ev.CreatedAt})
		ev.Payload = []byte(payload)
		return &ev, err
	})
}

// FindDueWebhookEndpoints implements muster.Tx. Each endpoint is probed
// with a subquery of its own (a LIMIT keeps it from being turned into a
// join), which reads the first entries of its range of the due index (the
// ORDER BY picks that index over the subject index, whose walk would pass
// every delivery waiting for a retry).
func (tx *Tx) FindDueWebhookEndpoints(ctx context.Context, now time.Time) ([]int64, error) {
	rows, err := tx.query(ctx, `SELECT e.id FROM webhook_endpoints e
		WHERE e.enabled AND e.deleted_at IS NULL AND (
			SELECT 1 FROM webhook_deliveries d
			WHERE d.endpoint_id = e.id AND d.state = 'pending' AND d.next_attempt_at <= $1
				AND (d.lease_until IS NULL OR d.lease_until <= $1)
			ORDER BY d.next_attempt_at LIMIT 1) IS NOT NULL
		ORDER BY e.id`, micros(now))
	return collect(rows, err, func(rows *sql.Rows) (int64, error) {
		var id int64
		return id, rows.Scan(&id)
	})
}

const deliveryColumns = `d.id, d.org_id, d.endpoint_id, d.event_id, d.subject, d.state, d.attempts, d.next_attempt_at,
	d.lease_until, d.lease_seq, d.created_at, d.last_attempt_at, d.finished_at, d.last_status, d.last_error`

func deliveryDest(d *muster.WebhookDelivery) []any {
	return []any{&d.ID, &d.OrgID, &d.EndpointID, &d.EventID, &d.Subject, &d.State, &d.Attempts,
		nullTime{&d.NextAttemptAt}, nullTime{&d.LeaseUntil}, &d.LeaseSeq, nullTime{&d.CreatedAt},
		nullTime{&d.LastAttemptAt}, nullTime{&d.FinishedAt}, &d.LastStatus, &d.LastError}
}

// LeaseWebhookDeliveries implements muster.Tx. On PostgreSQL the inner
// SELECT skips rows another sender has locked; SQLite has one writer at a
// time. A delivery is claimed only while it is the earliest pending one of
// its subject, whether that one is due, claimed or waiting for a retry.
// The claim walks the due index in its order and stops at limit; the
// subject's check is a subquery per row, on the subject index, so that
// neither turns into a join over every pending delivery when the planner's
// estimates are off (a table that grew since it was last analyzed).
func (tx *Tx) LeaseWebhookDeliveries(ctx context.Context, endpointID int64, now, until time.Time, limit int) ([]*muster.WebhookDelivery, error) {
	rows, err := tx.query(ctx, `UPDATE webhook_deliveries SET lease_until = $3, lease_seq = lease_seq + 1,
			attempts = attempts + 1
		WHERE id IN (
			SELECT d.id FROM webhook_deliveries d
			WHERE d.endpoint_id = $1 AND d.state = 'pending' AND d.next_attempt_at <= $2
				AND (d.lease_until IS NULL OR d.lease_until <= $2)
				AND d.id = (SELECT min(p.id) FROM webhook_deliveries p
					WHERE p.endpoint_id = d.endpoint_id AND p.subject = d.subject AND p.state = 'pending')
			ORDER BY d.next_attempt_at, d.id LIMIT $4`+tx.dialect.SkipLocked+`)
		RETURNING `+strings.ReplaceAll(deliveryColumns, "d.", ""), endpointID, micros(now), micros(until), limit)
	return collect(rows, err, func(rows *sql.Rows) (*muster.WebhookDelivery, error) {
		var d muster.WebhookDelivery
		return &d, rows.Scan(deliveryDest(&d)...)
	})
}

// ClaimWebhookDelivery implements muster.Tx.
func (tx *Tx) ClaimWebhookDelivery(ctx context.Context, eventID int64, until time.Time) (*muster.WebhookDelivery, error) {
	var d muster.WebhookDelivery
	err := tx.queryRow(ctx, `UPDATE webhook_deliveries SET lease_until = $2, lease_seq = lease_seq + 1,
			attempts = attempts + 1
		WHERE event_id = $1 AND state = 'pending'
		RETURNING `+strings.ReplaceAll(deliveryColumns, "d.", ""), eventID, micros(until)).Scan(deliveryDest(&d)...)
	if err != nil {
		return nil, notFound(err, "Delivery")
	}
	return &d, nil
}

// CreateWebhookAttempt implements muster.Tx.
func (tx *Tx) CreateWebhookAttempt(ctx context.Context, a *muster.WebhookAttempt) error {
	id, err := tx.insert(ctx, `INSERT INTO webhook_attempts (delivery_id, endpoint_id, attempted_at, status_code,
			latency_us, response, error)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, a.DeliveryID, a.EndpointID, micros(a.AttemptedAt), a.StatusCode,
		a.Latency.Microseconds(), a.Response, a.Error)
	a.ID = id
	return err
}

// FinishWebhookDelivery implements muster.Tx.
func (tx *Tx) FinishWebhookDelivery(ctx context.Context, id, leaseSeq int64, state string, a *muster.WebhookAttempt) (bool, error) {
	return tx.affected(ctx, `UPDATE webhook_deliveries SET state = $3, lease_until = NULL, finished_at = $4,
			last_attempt_at = $4, last_status = $5, last_error = $6
		WHERE id = $1 AND lease_seq = $2 AND state = 'pending'`,
		id, leaseSeq, state, micros(a.AttemptedAt), a.StatusCode, a.Error)
}

// RetryWebhookDelivery implements muster.Tx.
func (tx *Tx) RetryWebhookDelivery(ctx context.Context, id, leaseSeq int64, next time.Time, a *muster.WebhookAttempt) (bool, error) {
	return tx.affected(ctx, `UPDATE webhook_deliveries SET next_attempt_at = $3, lease_until = NULL,
			last_attempt_at = $4, last_status = $5, last_error = $6
		WHERE id = $1 AND lease_seq = $2 AND state = 'pending'`,
		id, leaseSeq, micros(next), micros(a.AttemptedAt), a.StatusCode, a.Error)
}

// ReleaseWebhookDelivery implements muster.Tx.
func (tx *Tx) ReleaseWebhookDelivery(ctx context.Context, id, leaseSeq int64) (bool, error) {
	return tx.affected(ctx, `UPDATE webhook_deliveries SET lease_until = NULL, attempts = attempts - 1
		WHERE id = $1 AND lease_seq = $2 AND state = 'pending' AND lease_until IS NOT NULL AND attempts > 0`,
		id, leaseSeq)
}

// FailWebhookDeliveries implements muster.Tx.
func (tx *Tx) FailWebhookDeliveries(ctx context.Context, endpointID int64, now time.Time, reason string) error {
	_, err := tx.exec(ctx, `UPDATE webhook_deliveries SET state = 'failed', lease_until = NULL, finished_at = $2,
			last_error = $3
		WHERE endpoint_id = $1 AND state = 'pending'`, endpointID, micros(now), reason)
	return err
}

// RedeliverWebhook implements muster.Tx.
func (tx *Tx) RedeliverWebhook(ctx context.Context, id int64, now time.Time) (bool, error) {
	return tx.affected(ctx, `UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = $2,
			lease_until = NULL, finished_at = NULL
		WHERE id = $1 AND state <> 'pending'`, id, micros(now))
}

// RedeliverFailedWebhooks implements muster.Tx.
func (tx *Tx) RedeliverFailedWebhooks(ctx context.Context, endpointID int64, since, now time.Time) (int, error) {
	res, err := tx.exec(ctx, `UPDATE webhook_deliveries SET state = 'pending', attempts = 0, next_attempt_at = $3,
			lease_until = NULL, finished_at = NULL
		WHERE endpoint_id = $1 AND state = 'failed' AND created_at >= $2`, endpointID, micros(since), micros(now))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// FindWebhookDeliveries implements muster.Tx.
func (tx *Tx) FindWebhookDeliveries(ctx context.Context, f muster.WebhookDeliveryFilter) ([]*muster.WebhookDelivery, error) {
	where, args := []string{`d.org_id = $1`, `d.endpoint_id = $2`}, []any{f.OrgID, f.EndpointID}
	arg := func(v any) string {
		args = append(args, v)
		return "$" + itoa(len(args))
	}
	if f.State != "" {
		where = append(where, `d.state = `+arg(f.State))
	}
	if f.BeforeID != 0 {
		where = append(where, `d.id < `+arg(f.BeforeID))
	}
	rows, err := tx.query(ctx, `SELECT `+deliveryColumns+`, e.event_type, e.msg_id
		FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
		WHERE `+strings.Join(where, " AND ")+` ORDER BY d.id DESC LIMIT `+arg(f.Limit), tx.planForValues(args)...)
	return collect(rows, err, func(rows *sql.Rows) (*muster.WebhookDelivery, error) {
		var d muster.WebhookDelivery
		return &d, rows.Scan(append(deliveryDest(&d), &d.EventType, &d.MsgID)...)
	})
}

// FindWebhookDelivery implements muster.Tx.
func (tx *Tx) FindWebhookDelivery(ctx context.Context, orgID, id int64) (*muster.WebhookDelivery, error) {
	var d muster.WebhookDelivery
	err := tx.queryRow(ctx, `SELECT `+deliveryColumns+`, e.event_type, e.msg_id
		FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id
		WHERE d.org_id = $1 AND d.id = $2`, orgID, id).Scan(append(deliveryDest(&d), &d.EventType, &d.MsgID)...)
	if err != nil {
		return nil, notFound(err, "Delivery")
	}
	return &d, nil
}

// FindWebhookAttempts implements muster.Tx.
func (tx *Tx) FindWebhookAttempts(ctx context.Context, deliveryID int64) ([]*muster.WebhookAttempt, error) {
	rows, err := tx.query(ctx, `SELECT id, delivery_id, endpoint_id, attempted_at, status_code, latency_us, response, error
		FROM webhook_attempts WHERE delivery_id = $1 ORDER BY id`, deliveryID)
	return collect(rows, err, func(rows *sql.Rows) (*muster.WebhookAttempt, error) {
		var (
			a       muster.WebhookAttempt
			latency int64
		)
		err := rows.Scan(&a.ID, &a.DeliveryID, &a.EndpointID, nullTime{&a.AttemptedAt}, &a.StatusCode, &latency,
			&a.Response, &a.Error)
		a.Latency = time.Duration(latency) * time.Microsecond
		return &a, err
	})
}

// DeleteExpiredWebhookDeliveries implements muster.Tx.
func (tx *Tx) DeleteExpiredWebhookDeliveries(ctx context.Context, before time.Time) (int, error) {
	cutoff := micros(before)
	if _, err := tx.exec(ctx, `DELETE FROM webhook_attempts WHERE delivery_id IN (
		SELECT id FROM webhook_deliveries WHERE state <> 'pending' AND finished_at < $1)`, cutoff); err != nil {
		return 0, err
	}
	res, err := tx.exec(ctx, `DELETE FROM webhook_deliveries WHERE state <> 'pending' AND finished_at < $1`, cutoff)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	if _, err := tx.exec(ctx, `DELETE FROM webhook_events WHERE created_at < $1
		AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = webhook_events.id)`, cutoff); err != nil {
		return 0, err
	}
	_, err = tx.exec(ctx, `DELETE FROM webhook_endpoints WHERE deleted_at < $1
		AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.endpoint_id = webhook_endpoints.id)`, cutoff)
	return int(n), err
}
