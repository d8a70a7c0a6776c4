package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"maps"
	"time"

	"github.com/muster-app/muster/internal/muster"
)

const importColumns = `id, org_id, requested_by, status, file_name, create_teams, rows_total, seats_reserved,
	attempts, last_error, summary, result, created_at, committed_at, started_at, finished_at, lease_until`

func scanImport(row interface{ Scan(...any) error }, imp *muster.Import) error {
	return row.Scan(&imp.ID, &imp.OrgID, nullInt{&imp.RequestedBy}, &imp.Status, &imp.FileName, &imp.CreateTeams,
		&imp.RowsTotal, &imp.SeatsReserved, &imp.Attempts, &imp.LastError, &imp.Summary, &imp.Result,
		nullTime{&imp.CreatedAt}, nullTime{&imp.CommittedAt}, nullTime{&imp.StartedAt}, nullTime{&imp.FinishedAt},
		nullTime{&imp.LeaseUntil})
}

func (tx *Tx) findImport(ctx context.Context, query string, args ...any) (*muster.Import, error) {
	var imp muster.Import
	if err := scanImport(tx.queryRow(ctx, query, args...), &imp); err != nil {
		return nil, notFound(err, "Import")
	}
	return &imp, nil
}

// CreateImport implements muster.Tx. The plan is stored in parts of
// importPlanPart bytes, which FindImportPlanPart reads one at a time.
func (tx *Tx) CreateImport(ctx context.Context, imp *muster.Import) error {
	id, err := tx.insert(ctx, `INSERT INTO imports (org_id, requested_by, status, file_name, create_teams, rows_total,
			summary, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		imp.OrgID, nullID(imp.RequestedBy), imp.Status, imp.FileName, imp.CreateTeams, imp.RowsTotal, imp.Summary,
		micros(imp.CreatedAt))
	if err != nil {
		return err
	}
	imp.ID = id
	for part, plan := 0, imp.Plan; len(plan) > 0; part++ {
		n := min(len(plan), importPlanPart)
		if _, err := tx.exec(ctx, `INSERT INTO import_plan_parts (import_id, part, data) VALUES ($1, $2, $3)`,
			id, part, plan[:n]); err != nil {
			return err
		}
		plan = plan[n:]
	}
	return nil
}

// importPlanPart is the size of the parts of a stored plan: a part, not the
// plan (4.7 MB for 100,000 rows), is what reading it holds in memory.
const importPlanPart = 256 << 10

// FindImport implements muster.Tx.
func (tx *Tx) FindImport(ctx context.Context, orgID, id int64) (*muster.Import, error) {
	return tx.findImport(ctx, `SELECT `+importColumns+` FROM imports WHERE org_id = $1 AND id = $2`+tx.forNoKeyUpdate(),
		orgID, id)
}

// FindImportPlanPart implements muster.Tx.
func (tx *Tx) FindImportPlanPart(ctx context.Context, id int64, part int) ([]byte, error) {
	var data []byte
	err := tx.queryRow(ctx, `SELECT data FROM import_plan_parts WHERE import_id = $1 AND part = $2`, id, part).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return data, err
}

// FindImports implements muster.Tx.
func (tx *Tx) FindImports(ctx context.Context, orgID int64, limit int) ([]*muster.Import, error) {
	rows, err := tx.query(ctx, `SELECT `+importColumns+` FROM imports WHERE org_id = $1 ORDER BY id DESC LIMIT $2`,
		orgID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*muster.Import
	for rows.Next() {
		var imp muster.Import
		if err := scanImport(rows, &imp); err != nil {
			return nil, err
		}
		out = append(out, &imp)
	}
	return out, rows.Err()
}

// QueueImport implements muster.Tx.
func (tx *Tx) QueueImport(ctx context.Context, id, committedBy int64, seats int, result string, now time.Time) (bool, error) {
	return tx.affected(ctx, `UPDATE imports SET status = 'queued', seats_reserved = $2, result = $3, committed_at = $4,
			requested_by = $5
		WHERE id = $1 AND status = 'planned'`, id, seats, result, micros(now), nullID(committedBy))
}

// LeaseImport implements muster.Tx.
func (tx *Tx) LeaseImport(ctx context.Context, now, until time.Time) (*muster.Import, error) {
	return tx.findImport(ctx, `UPDATE imports SET status = 'running', lease_until = $2, attempts = attempts + 1,
			started_at = coalesce(started_at, $1)
		WHERE id IN (
			SELECT id FROM imports
			WHERE status = 'queued' OR (status = 'running' AND lease_until <= $1)
			ORDER BY id LIMIT 1`+tx.dialect.SkipLocked+`)
		RETURNING `+importColumns, micros(now), micros(until))
}

// RenewImportLease implements muster.Tx.
func (tx *Tx) RenewImportLease(ctx context.Context, id int64, attempt int, until time.Time) (bool, error) {
	return tx.affected(ctx, `UPDATE imports SET lease_until = $3 WHERE id = $1 AND status = 'running' AND attempts = $2`,
		id, attempt, micros(until))
}

// ClaimImportBatch implements muster.Tx: the primary key is the claim.
func (tx *Tx) ClaimImportBatch(ctx context.Context, id int64, firstRow int) error {
	_, err := tx.exec(ctx, `INSERT INTO import_batches (import_id, first_row) VALUES ($1, $2)`, id, firstRow)
	return err
}

// SaveImportBatch implements muster.Tx.
func (tx *Tx) SaveImportBatch(ctx context.Context, id int64, b *muster.ImportBatch) error {
	_, err := tx.exec(ctx, `UPDATE import_batches SET row_count = $3, invited = $4, reinvited = $5, updated = $6,
			unchanged = $7, failed = $8, seats_used = $9
		WHERE import_id = $1 AND first_row = $2`,
		id, b.FirstRow, b.Rows, b.Invited, b.Reinvited, b.Updated, b.Unchanged, b.Failed, b.SeatsUsed)
	return err
}

// FindImportBatches implements muster.Tx.
func (tx *Tx) FindImportBatches(ctx context.Context, id int64) ([]int, error) {
	return queryColumn[int](ctx, tx, `SELECT first_row FROM import_batches WHERE import_id = $1 ORDER BY first_row`, id)
}

// SumImportBatches implements muster.Tx.
func (tx *Tx) SumImportBatches(ctx context.Context, id int64) (*muster.ImportBatch, error) {
	var b muster.ImportBatch
	err := tx.queryRow(ctx, `SELECT coalesce(sum(row_count), 0), coalesce(sum(invited), 0), coalesce(sum(reinvited), 0),
			coalesce(sum(updated), 0), coalesce(sum(unchanged), 0), coalesce(sum(failed), 0), coalesce(sum(seats_used), 0)
		FROM import_batches WHERE import_id = $1`, id).Scan(&b.Rows, &b.Invited, &b.Reinvited, &b.Updated, &b.Unchanged,
		&b.Failed, &b.SeatsUsed)
	return &b, err
}

// FinishImport implements muster.Tx.
func (tx *Tx) FinishImport(ctx context.Context, id int64, attempt int, status muster.ImportStatus, now time.Time,
	lastError string) (bool, error) {
	return tx.affected(ctx, `UPDATE imports SET status = $3, finished_at = $4, last_error = $5, lease_until = NULL
		WHERE id = $1 AND status = 'running' AND attempts = $2`, id, attempt, status, micros(now), lastError)
}

// CreateImportFailure implements muster.Tx.
func (tx *Tx) CreateImportFailure(ctx context.Context, f *muster.ImportFailure) error {
	_, err := tx.exec(ctx, `INSERT INTO import_failures (import_id, line, email, reason, cells) VALUES ($1, $2, $3, $4, $5)`,
		f.ImportID, f.Line, f.Email, f.Reason, f.Cells)
	return err
}

// FindImportFailures implements muster.Tx.
func (tx *Tx) FindImportFailures(ctx context.Context, id int64) ([]*muster.ImportFailure, error) {
	rows, err := tx.query(ctx, `SELECT import_id, line, email, reason, cells FROM import_failures
		WHERE import_id = $1 ORDER BY line`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*muster.ImportFailure
	for rows.Next() {
		var f muster.ImportFailure
		if err := rows.Scan(&f.ImportID, &f.Line, &f.Email, &f.Reason, &f.Cells); err != nil {
			return nil, err
		}
		out = append(out, &f)
	}
	return out, rows.Err()
}

// DeleteExpiredImports implements muster.Tx.
func (tx *Tx) DeleteExpiredImports(ctx context.Context, before time.Time) (int, error) {
	res, err := tx.exec(ctx, `DELETE FROM imports WHERE status = 'planned' AND created_at < $1`, micros(before))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// FindUsersByEmails implements muster.Tx: one statement for all the
// emails, the list one parameter (Dialect.InStrings), whose two parts walk
// the org's email index and the live emails' unique index.
func (tx *Tx) FindUsersByEmails(ctx context.Context, orgID int64, emails []string) ([]*muster.User, error) {
	if len(emails) == 0 {
		return nil, nil
	}
	// A list is planned for its length at every run: a dry run's thousands
	// of emails (emailChunk at a time) may want the table scanned with the
	// list hashed, an import batch's 500 the email index; a generic plan
	// for one email cost an import's batches 70 ms each. One email (an
	// invitation's) is asked with =, whose generic plan PostgreSQL keeps:
	// planning this statement costs ten times running it.
	in, args := "= $1", []any{emails[0], orgID}
	if len(emails) > 1 {
		var list any
		in, list = tx.dialect.InStrings("$1", emails)
		args = tx.planForValues([]any{list, orgID})
	}
	return tx.appendUsers(ctx, nil, `SELECT `+userColumns+` FROM `+tx.dialect.usersThrough(`users_org_email_order`)+`
		WHERE u.org_id = $2 AND u.email_key `+in+`
		UNION ALL
		SELECT `+userColumns+` FROM users u
		WHERE u.email_key `+in+` AND u.status IN ('pending', 'active') AND u.org_id <> $2`, args...)
}

// TakeSeats implements muster.Tx, as TakeSeat does for one.
func (tx *Tx) TakeSeats(ctx context.Context, orgID int64, n int) (bool, error) {
	if n == 0 {
		return true, nil
	}
	return tx.takeSeats(ctx, orgID, n)
}

// ReleaseSeats implements muster.Tx, as ReleaseSeat does for one.
func (tx *Tx) ReleaseSeats(_ context.Context, orgID int64, n int) error {
	tx.releaseSeats(orgID, n)
	return nil
}

// Savepoint implements muster.Tx. The member counts and freed seats fn
// noted are dropped with its writes when it fails, and those it wrote
// (flushPending, takeSeats) are noted again as they were before it. The
// writes it left for later are made before the savepoint is released.
func (tx *Tx) Savepoint(ctx context.Context, fn func() error) error {
	if _, err := tx.exec(ctx, `SAVEPOINT import_row`); err != nil {
		return err
	}
	counts, released := maps.Clone(tx.counts), maps.Clone(tx.released)
	err := fn()
	if err == nil {
		// The writes fn left for later are its own: one that fails fails fn.
		err = tx.flushLater(ctx)
	}
	if err != nil {
		tx.counts, tx.released, tx.later = counts, released, nil
		if _, rbErr := tx.exec(ctx, `ROLLBACK TO SAVEPOINT import_row`); rbErr != nil {
			return rbErr
		}
		if _, relErr := tx.exec(ctx, `RELEASE SAVEPOINT import_row`); relErr != nil {
			return relErr
		}
		return err
	}
	_, err = tx.exec(ctx, `RELEASE SAVEPOINT import_row`)
	return err
}
