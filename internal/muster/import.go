package muster

import (
	"context"
	"time"
)

// ImportStatus is where a bulk import is (BULK-1).
type ImportStatus string

const (
	// ImportPlanned is a dry run: its plan is stored, nothing is applied.
	ImportPlanned ImportStatus = "planned"
	ImportQueued  ImportStatus = "queued"
	ImportRunning ImportStatus = "running"
	ImportDone    ImportStatus = "done"
	ImportFailed  ImportStatus = "failed"
)

// Import is a CSV bulk import: its dry run's plan and, once committed, the
// background job that applies it. Summary, Result and Plan are the
// service's own encodings; Plan is written by CreateImport and read
// back a part at a time by FindImportPlanPart.
type Import struct {
	ID    int64
	OrgID int64
	// RequestedBy is who made the dry run and, once it is committed, who
	// committed it, as whom the job acts; 0 for an operator.
	RequestedBy int64
	Status      ImportStatus
	FileName    string
	CreateTeams bool
	RowsTotal   int
	// RowsDone counts the plan's rows the job has gone through (the sum
	// of its batches'); FindImport and FindImports fill it.
	RowsDone int
	// SeatsReserved are the license seats the commit took for the
	// invitations not yet made; the job uses them up, and gives back what
	// is left when it ends.
	SeatsReserved int
	Attempts      int
	LastError     string
	Summary       string
	Result        string
	Plan          []byte
	CreatedAt     time.Time
	CommittedAt   time.Time
	StartedAt     time.Time
	FinishedAt    time.Time
	LeaseUntil    time.Time
}

// ImportBatch is a batch of an import's rows that its job applied, in the
// transaction that applied them, or the sum of those of an import.
type ImportBatch struct {
	FirstRow  int
	Rows      int
	Invited   int
	Reinvited int
	Updated   int
	Unchanged int
	Failed    int
	// SeatsUsed counts the invitations that used seats the commit
	// reserved.
	SeatsUsed int
}

// ImportFailure is a row that the commit could not apply.
type ImportFailure struct {
	ImportID int64
	Line     int
	Email    string
	Reason   string
	// Cells are the row's cells as the file had them (JSON array).
	Cells string
}

// ImportTx reads and writes bulk imports (BULK-1).
type ImportTx interface {
	CreateImport(ctx context.Context, imp *Import) error
	// FindImport finds the org's import, without its plan; in a write
	// transaction it locks it until the commit.
	FindImport(ctx context.Context, orgID, id int64) (*Import, error)
	// FindImportPlanPart returns the part'th part (from 0) of an import's
	// stored plan, which CreateImport stored in parts; nil past the last.
	// Joined in order, the parts are the Plan it was created with.
	FindImportPlanPart(ctx context.Context, id int64, part int) ([]byte, error)
	// FindImports lists the org's newest limit imports, newest first.
	FindImports(ctx context.Context, orgID int64, limit int) ([]*Import, error)
	// QueueImport turns a planned import into a queued one, committed by
	// the user committedBy (0 for an operator), holding seats reserved
	// seats with its result so far, and reports whether it did (false: it
	// was not planned any more).
	QueueImport(ctx context.Context, id, committedBy int64, seats int, result string, now time.Time) (bool, error)
	// LeaseImport claims the oldest queued import, or a running one whose
	// runner's lease has ended, and marks it running until until.
	LeaseImport(ctx context.Context, now, until time.Time) (*Import, error)
	// RenewImportLease extends the lease of the import's run attempt, if
	// it is still the latest, and reports whether it did.
	RenewImportLease(ctx context.Context, id int64, attempt int, until time.Time) (bool, error)
	// ClaimImportBatch records the batch of the import that starts at
	// firstRow as applied by this transaction: ECONFLICT when it is
	// recorded already (on PostgreSQL, after waiting for a transaction
	// that is recording it to end). A batch calls it first.
	ClaimImportBatch(ctx context.Context, id int64, firstRow int) error
	// SaveImportBatch writes what the claimed batch did.
	SaveImportBatch(ctx context.Context, id int64, b *ImportBatch) error
	// FindImportBatches lists the first rows of the import's applied
	// batches.
	FindImportBatches(ctx context.Context, id int64) ([]int, error)
	// SumImportBatches adds up what the import's batches did.
	SumImportBatches(ctx context.Context, id int64) (*ImportBatch, error)
	// FinishImport ends the import's run attempt as done or failed, its
	// reserved seats given back (ReleaseSeats) by the caller.
	FinishImport(ctx context.Context, id int64, attempt int, status ImportStatus, now time.Time, lastError string) (bool, error)
	CreateImportFailure(ctx context.Context, f *ImportFailure) error
	// FindImportFailures lists an import's failed rows in line order.
	FindImportFailures(ctx context.Context, id int64) ([]*ImportFailure, error)
	// DeleteExpiredImports deletes dry runs never committed that were made
	// before before.
	DeleteExpiredImports(ctx context.Context, before time.Time) (int, error)
	// FindUsersByEmails finds, of the emails (normalized, NormalizeEmail),
	// the org's users of every status and the Pending and Active users of
	// other orgs, in bulk.
	FindUsersByEmails(ctx context.Context, orgID int64, emails []string) ([]*User, error)
	// TakeSeats takes n license seats at once if that many are free, and
	// reports whether it did.
	TakeSeats(ctx context.Context, orgID int64, n int) (bool, error)
	ReleaseSeats(ctx context.Context, orgID int64, n int) error
	// Savepoint runs fn inside the transaction so that, when it fails, what
	// it wrote is undone and the rest of the transaction stays.
	Savepoint(ctx context.Context, fn func() error) error
}
