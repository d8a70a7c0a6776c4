package muster

import "time"

// ReportStatus is where a user-list report is.
type ReportStatus string

const (
	ReportQueued  ReportStatus = "queued"
	ReportRunning ReportStatus = "running"
	ReportDone    ReportStatus = "done"
	ReportFailed  ReportStatus = "failed"
)

// Report is a background export of the user list (AUD-1). The finished CSV is
// kept gzip-compressed in the database, so any instance can serve it, until
// ExpiresAt.
type Report struct {
	ID          int64
	OrgID       int64
	RequestedBy int64
	Status      ReportStatus
	RowsWritten int
	RowsTotal   int
	ByteSize    int64
	Attempts    int
	LastError   string
	CreatedAt   time.Time
	StartedAt   time.Time
	FinishedAt  time.Time
	ExpiresAt   time.Time
	LeaseUntil  time.Time
}
