package sqlstore

import (
	"context"
	"time"

	"github.com/muster-app/muster/internal/muster"
)

const reportColumns = `id, org_id, requested_by, status, rows_written, rows_total, byte_size, attempts, last_error,
	created_at, started_at, finished_at, expires_at, lease_until`

func scanReport(row interface{ Scan(...any) error }, r *muster.Report) error {
	return row.Scan(&r.ID, &r.OrgID, &r.RequestedBy, &r.Status, &r.RowsWritten, &r.RowsTotal, &r.ByteSize, &r.Attempts,
		&r.LastError, nullTime{&r.CreatedAt}, nullTime{&r.StartedAt}, nullTime{&r.FinishedAt}, nullTime{&r.ExpiresAt},
		nullTime{&r.LeaseUntil})
}

func (tx *Tx) findReport(ctx context.Context, query string, args ...any) (*muster.Report, error) {
	var r muster.Report
	if err := scanReport(tx.queryRow(ctx, query, args...), &r); err != nil {
		return nil, notFound(err, "Report")
	}
	return &r, nil
}

// CreateReport implements muster.Tx.
func (tx *Tx) CreateReport(ctx context.Context, r *muster.Report) error {
	id, err := tx.insert(ctx, `INSERT INTO reports (org_id, requested_by, status, rows_total, created_at)
		VALUES ($1, $2, $3, $4, $5)`, r.OrgID, r.RequestedBy, r.Status, r.RowsTotal, micros(r.CreatedAt))
	r.ID = id
	return err
}

// FindReport implements muster.Tx.
func (tx *Tx) FindReport(ctx context.Context, orgID, id int64) (*muster.Report, error) {
	return tx.findReport(ctx, `SELECT `+reportColumns+` FROM reports WHERE org_id = $1 AND id = $2`, orgID, id)
}

// FindActiveReport implements muster.Tx.
func (tx *Tx) FindActiveReport(ctx context.Context, orgID int64) (*muster.Report, error) {
	return tx.findReport(ctx, `SELECT `+reportColumns+` FROM reports
		WHERE org_id = $1 AND status IN ('queued', 'running')`, orgID)
}

// LeaseReport implements muster.Tx.
func (tx *Tx) LeaseReport(ctx context.Context, now, until time.Time) (*muster.Report, error) {
	return tx.findReport(ctx, `UPDATE reports SET status = 'running', lease_until = $2, attempts = attempts + 1,
			started_at = $1, rows_written = 0
		WHERE id IN (
			SELECT id FROM reports
			WHERE status = 'queued' OR (status = 'running' AND lease_until <= $1)
			ORDER BY id LIMIT 1`+tx.dialect.SkipLocked+`)
		RETURNING `+reportColumns, micros(now), micros(until))
}

// UpdateReportProgress implements muster.Tx.
func (tx *Tx) UpdateReportProgress(ctx context.Context, id int64, rowsWritten, rowsTotal int, leaseUntil time.Time) error {
	_, err := tx.exec(ctx, `UPDATE reports SET rows_written = $2, rows_total = $3, lease_until = $4 WHERE id = $1`,
		id, rowsWritten, rowsTotal, micros(leaseUntil))
	return err
}

// DeleteReportChunks implements muster.Tx.
func (tx *Tx) DeleteReportChunks(ctx context.Context, id int64) error {
	_, err := tx.exec(ctx, `DELETE FROM report_chunks WHERE report_id = $1`, id)
	return err
}

// AppendReportChunk implements muster.Tx.
func (tx *Tx) AppendReportChunk(ctx context.Context, id int64, seq int, data []byte) error {
	_, err := tx.exec(ctx, `INSERT INTO report_chunks (report_id, seq, data) VALUES ($1, $2, $3)`, id, seq, data)
	return err
}

// ReportChunk implements muster.Tx.
func (tx *Tx) ReportChunk(ctx context.Context, id int64, seq int) ([]byte, error) {
	var data []byte
	err := tx.queryRow(ctx, `SELECT data FROM report_chunks WHERE report_id = $1 AND seq = $2`, id, seq).Scan(&data)
	if err != nil {
		return nil, notFound(err, "Report chunk")
	}
	return data, nil
}

// FinishReport implements muster.Tx.
func (tx *Tx) FinishReport(ctx context.Context, r *muster.Report, attempt int) (bool, error) {
	return tx.affected(ctx, `UPDATE reports SET status = 'done', rows_written = $2, rows_total = $2, byte_size = $3,
			finished_at = $4, expires_at = $5, lease_until = NULL
		WHERE id = $1 AND status = 'running' AND attempts = $6`,
		r.ID, r.RowsWritten, r.ByteSize, micros(r.FinishedAt), micros(r.ExpiresAt), attempt)
}

// FailReport implements muster.Tx.
func (tx *Tx) FailReport(ctx context.Context, id int64, now, expiresAt time.Time, lastError string) error {
	_, err := tx.exec(ctx, `UPDATE reports SET status = 'failed', finished_at = $2, expires_at = $3, last_error = $4,
			lease_until = NULL
		WHERE id = $1`, id, micros(now), micros(expiresAt), lastError)
	return err
}

// DeleteExpiredReports implements muster.Tx.
func (tx *Tx) DeleteExpiredReports(ctx context.Context, now time.Time) (int, error) {
	if _, err := tx.exec(ctx, `DELETE FROM report_chunks WHERE report_id IN (
			SELECT id FROM reports WHERE status IN ('done', 'failed') AND expires_at <= $1)`, micros(now)); err != nil {
		return 0, err
	}
	res, err := tx.exec(ctx, `DELETE FROM reports WHERE status IN ('done', 'failed') AND expires_at <= $1`, micros(now))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// CountExportUsers implements muster.Tx.
func (tx *Tx) CountExportUsers(ctx context.Context, orgID int64) (int, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT count(*) FROM users
		WHERE org_id = $1 AND status IN ('pending', 'active', 'deactivated')`, orgID).Scan(&n)
	return n, err
}

// FindUserReports implements muster.Tx.
func (tx *Tx) FindUserReports(ctx context.Context, orgID, userID int64, limit int) ([]*muster.Report, error) {
	rows, err := tx.query(ctx, `SELECT `+reportColumns+` FROM reports WHERE org_id = $1 AND requested_by = $2
		ORDER BY id DESC LIMIT $3`, orgID, userID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*muster.Report
	for rows.Next() {
		var r muster.Report
		if err := scanReport(rows, &r); err != nil {
			return nil, err
		}
		out = append(out, &r)
	}
	return out, rows.Err()
}
