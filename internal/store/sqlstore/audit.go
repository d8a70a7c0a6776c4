package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"github.com/muster-app/muster/internal/muster"
)

// CreateAuditEvent implements muster.Tx.
func (tx *Tx) CreateAuditEvent(ctx context.Context, e *muster.AuditEvent) error {
	return tx.CreateAuditEvents(ctx, []*muster.AuditEvent{e})
}

// CreateAuditEvents implements muster.Tx.
func (tx *Tx) CreateAuditEvents(ctx context.Context, events []*muster.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	args := make([]any, 0, len(events)*11)
	for _, e := range events {
		before, err := jsonOrNull(e.Before)
		if err != nil {
			return err
		}
		after, err := jsonOrNull(e.After)
		if err != nil {
			return err
		}
		args = append(args, e.OrgID, nullID(e.ActorID), e.ActorLabel, e.Action, e.TargetType, e.TargetID,
			e.TargetLabel, before, after, e.Origin, micros(e.CreatedAt))
	}
	ids, err := tx.insertMany(ctx, `INSERT INTO audit_events (org_id, actor_id, actor_label, action, target_type,
			target_id, target_label, before_json, after_json, origin, created_at)`, 11, args, true)
	if err != nil {
		return err
	}
	for i, e := range events {
		e.ID = ids[i]
	}
	return nil
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
