package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/muster-app/muster/internal/muster"
)

// CreateAuditEvents implements muster.Tx.
func (tx *Tx) CreateAuditEvents(ctx context.Context, events []*muster.AuditEvent, subscribersOf int64) ([]*muster.WebhookSubscriber, error) {
	if len(events) == 0 {
		if subscribersOf == 0 {
			return nil, nil
		}
		return tx.FindWebhookSubscribers(ctx, subscribersOf)
	}
	args, err := auditArgs(events)
	if err != nil {
		return nil, err
	}
	var subs []*muster.WebhookSubscriber
	if subscribersOf != 0 {
		// The first event alone, with the org's endpoints in its RETURNING:
		// the subquery does not depend on the row, so it runs once. It
		// carries the writes pending (an invitation's link and email).
		query, qargs, err := tx.carrying(ctx, insertAuditEvents+` VALUES `+valuesList(1, auditColumns, false)+
			` RETURNING id, `+subscribersColumn(`$`+itoa(auditColumns+1)),
			append(args[:auditColumns:auditColumns], subscribersOf))
		if err != nil {
			return nil, err
		}
		var list sql.NullString
		if err := tx.queryRow(ctx, query, qargs...).Scan(&events[0].ID, &list); err != nil {
			return nil, tx.mapError(err)
		}
		if subs, err = parseSubscribers(list.String); err != nil {
			return nil, err
		}
		events, args = events[1:], args[auditColumns:]
	}
	ids, err := tx.insertRows(ctx, insertAuditEvents, auditTypes[:], args, true)
	if err != nil {
		return nil, err
	}
	for i, e := range events {
		e.ID = ids[i]
	}
	return subs, nil
}

// QueueAuditEvents implements muster.Tx.
func (tx *Tx) QueueAuditEvents(ctx context.Context, events []*muster.AuditEvent) error {
	args, err := auditArgs(events)
	if err != nil {
		return err
	}
	writes, err := tx.rowWrites(insertAuditEvents, auditTypes[:], args)
	if err != nil {
		return err
	}
	return tx.writeLater(ctx, writes...)
}

// auditArgs are the values of events' rows, auditColumns each.
func auditArgs(events []*muster.AuditEvent) ([]any, error) {
	args := make([]any, 0, len(events)*auditColumns)
	for _, e := range events {
		before, err := jsonOrNull(e.Before)
		if err != nil {
			return nil, err
		}
		after, err := jsonOrNull(e.After)
		if err != nil {
			return nil, err
		}
		args = append(args, e.OrgID, nullID(e.ActorID), e.ActorLabel, e.Action, e.TargetType, e.TargetID,
			e.TargetLabel, before, after, e.Origin, micros(e.CreatedAt))
	}
	return args, nil
}

// subscribersColumn is a column of the enabled webhook endpoints of the
// org whose id is the parameter org, "id type type…" each, as
// parseSubscribers reads them: a subquery that does not depend on the
// row, so it runs once.
func subscribersColumn(org string) string {
	return `(SELECT string_agg(e.id || ' ' || e.event_types, ',') FROM webhook_endpoints e
		WHERE e.org_id = ` + org + ` AND e.enabled AND e.deleted_at IS NULL)`
}

// insertAuditEvents is the head of an INSERT of audit events, auditTypes
// the types of the columns it names, and auditColumns their number.
const (
	insertAuditEvents = `INSERT INTO audit_events (org_id, actor_id, actor_label, action, target_type,
			target_id, target_label, before_json, after_json, origin, created_at)`
	auditColumns = len(auditTypes)
)

var auditTypes = [...]string{"bigint", "bigint", "text", "text", "text", "bigint", "text", "jsonb", "jsonb", "text", "bigint"}

// parseSubscribers reads the endpoints subscribersColumn aggregates, "id
// type type…" each, separated by commas (event types are names of
// muster.EventTypes, checked when an endpoint is saved: neither commas nor
// spaces), in id order as FindWebhookSubscribers lists them.
func parseSubscribers(list string) ([]*muster.WebhookSubscriber, error) {
	if list == "" {
		return nil, nil
	}
	var subs []*muster.WebhookSubscriber
	for endpoint := range strings.SplitSeq(list, ",") {
		f := strings.Fields(endpoint)
		if len(f) == 0 {
			return nil, fmt.Errorf("sqlstore: webhook subscribers %q: an empty endpoint", list)
		}
		id, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: webhook subscribers %q: %w", list, err)
		}
		subs = append(subs, &muster.WebhookSubscriber{ID: id, EventTypes: f[1:]})
	}
	slices.SortFunc(subs, func(a, b *muster.WebhookSubscriber) int { return cmp.Compare(a.ID, b.ID) })
	return subs, nil
}

func jsonOrNull(m map[string]any) (any, error) {
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// FindAuditEvents implements muster.Tx.
func (tx *Tx) FindAuditEvents(ctx context.Context, f muster.AuditFilter) ([]*muster.AuditEvent, error) {
	var (
		where = []string{`org_id = $1`}
		args  = []any{f.OrgID}
	)
	arg := func(v any) string {
		args = append(args, v)
		return "$" + itoa(len(args))
	}
	if f.ActorID != 0 {
		where = append(where, `actor_id = `+arg(f.ActorID))
	}
	if f.TargetID != 0 {
		where = append(where, `target_type = `+arg(f.TargetType)+` AND target_id = `+arg(f.TargetID))
	}
	if f.Action != "" {
		where = append(where, `action = `+arg(f.Action))
	}
	if f.OriginPrefix != "" {
		where = append(where, between(`origin`, arg(f.OriginPrefix), arg(f.OriginPrefix+"\U0010FFFF")))
	}
	if !f.Since.IsZero() {
		where = append(where, `created_at >= `+arg(micros(f.Since)))
	}
	if !f.Until.IsZero() {
		where = append(where, `created_at < `+arg(micros(f.Until)))
	}
	if f.BeforeID != 0 {
		where = append(where, `id < `+arg(f.BeforeID))
	}
	rows, err := tx.query(ctx, `SELECT id, org_id, actor_id, actor_label, action, target_type, target_id,
			target_label, before_json, after_json, origin, created_at
		FROM audit_events WHERE `+strings.Join(where, " AND ")+` ORDER BY id DESC LIMIT `+arg(f.Limit),
		tx.planForValues(args)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var events []*muster.AuditEvent
	for rows.Next() {
		var (
			e             muster.AuditEvent
			before, after sql.Null[[]byte]
		)
		if err := rows.Scan(&e.ID, &e.OrgID, nullInt{&e.ActorID}, &e.ActorLabel, &e.Action, &e.TargetType,
			&e.TargetID, &e.TargetLabel, &before, &after, &e.Origin, nullTime{&e.CreatedAt}); err != nil {
			return nil, err
		}
		if before.Valid {
			if err := json.Unmarshal(before.V, &e.Before); err != nil {
				return nil, err
			}
		}
		if after.Valid {
			if err := json.Unmarshal(after.V, &e.After); err != nil {
				return nil, err
			}
		}
		events = append(events, &e)
	}
	return events, rows.Err()
}
