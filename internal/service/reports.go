package service

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/muster-app/muster/internal/mail"
	"github.com/muster-app/muster/internal/muster"
)

// Report settings.
const (
	ReportTTL          = 7 * 24 * time.Hour
	defaultReportLease = 2 * time.Minute
	reportChunkSize    = 1 << 20
	reportMaxAttempts  = 3
	// reportProgressEvery is how often a running report saves its progress
	// (and so renews its lease), at most.
	reportProgressEvery = time.Second
)

// RequestUserList starts a background export of the user list; the
// requester gets an email with a link when it is done (AUD-1). While one is
// queued or running for the org, that one is returned instead.
func (s *Service) RequestUserList(ctx context.Context) (*muster.Report, error) {
	var r *muster.Report
	err := change(ctx, s, &r, func(tx *txn) error {
		a, err := loadAdmin(ctx, tx)
		if err != nil {
			return err
		}
		if a.user == nil {
			return muster.Errorf(muster.EFORBIDDEN, "The user list is emailed to the person who asks; an operator can use muster users export.")
		}
		r, err = tx.FindActiveReport(ctx, a.orgID)
		if err == nil || muster.ErrorCode(err) != muster.ENOTFOUND {
			return err
		}
		total, err := tx.CountExportUsers(ctx, a.orgID)
		if err != nil {
			return err
		}
		now := tx.now
		r = &muster.Report{OrgID: a.orgID, RequestedBy: a.user.ID, Status: muster.ReportQueued, RowsTotal: total, CreatedAt: now}
		if err := tx.CreateReport(ctx, r); err != nil {
			return err
		}
		return tx.audit(ctx, a, muster.ActionReportRequested, muster.TargetReport, r.ID, "User list", nil, nil)
	})
	return r, err
}

// ActiveReport returns the org's queued or running report, or nil.
func (s *Service) ActiveReport(ctx context.Context) (*muster.Report, error) {
	return readAs(ctx, s, loadAdmin, func(tx *txn, a *actor) (*muster.Report, error) {
		return findActiveReport(ctx, tx, a.orgID)
	})
}

// findActiveReport finds the org's queued or running report; nil for none.
func findActiveReport(ctx context.Context, tx muster.Tx, orgID int64) (*muster.Report, error) {
	r, err := tx.FindActiveReport(ctx, orgID)
	if muster.ErrorCode(err) == muster.ENOTFOUND {
		return nil, nil
	}
	return r, err
}

// Report returns one of the org's reports with its progress.
func (s *Service) Report(ctx context.Context, id int64) (*muster.Report, error) {
	return readAs(ctx, s, loadAdmin, func(tx *txn, a *actor) (*muster.Report, error) {
		return tx.FindReport(ctx, a.orgID, id)
	})
}

// OpenReport returns a finished report's CSV for an Owner or Admin of its
// org (AUD-2): anyone else gets ENOTFOUND, an expired one EGONE. The CSV is
// read from the database chunk by chunk as the caller reads.
func (s *Service) OpenReport(ctx context.Context, id int64) (*muster.Report, io.ReadCloser, error) {
	r, err := s.Report(ctx, id)
	if muster.ErrorCode(err) == muster.EFORBIDDEN {
		return nil, nil, muster.Errorf(muster.ENOTFOUND, "Report not found.")
	} else if err != nil {
		return nil, nil, err
	}
	switch {
	case r.Status == muster.ReportDone && !s.now().Before(r.ExpiresAt):
		return nil, nil, &muster.Error{Code: muster.EGONE, Reason: muster.LinkExpired,
			Message: "This user list has expired. Download a new one from the Users tab."}
	case r.Status == muster.ReportFailed:
		return nil, nil, muster.Errorf(muster.EGONE, "This user list could not be prepared. Ask for a new one from the Users tab.")
	case r.Status != muster.ReportDone:
		return nil, nil, muster.Errorf(muster.ECONFLICT, "This user list is not ready yet.")
	}
	zr, err := gzip.NewReader(&chunkReader{ctx: ctx, s: s, id: r.ID})
	if err != nil {
		return nil, nil, err
	}
	return r, zr, nil
}

// chunkReader reads a report's stored chunks in order, one query each.
type chunkReader struct {
	ctx context.Context
	s   *Service
	id  int64
	seq int
	buf []byte
	eof bool
}

func (c *chunkReader) Read(p []byte) (int, error) {
	for len(c.buf) == 0 {
		if c.eof {
			return 0, io.EOF
		}
		err := c.s.store.ViewBulk(c.ctx, func(tx muster.Tx) error {
			var err error
			c.buf, err = tx.ReportChunk(c.ctx, c.id, c.seq)
			return err
		})
		if muster.ErrorCode(err) == muster.ENOTFOUND {
			c.eof = true
			continue
		} else if err != nil {
			return 0, err
		}
		c.seq++
	}
	n := copy(p, c.buf)
	c.buf = c.buf[n:]
	return n, nil
}

// RunNextReport runs one queued report, or one whose runner died, and
// reports whether there was one. The finished CSV and the email to the
// requester are committed together, so the email goes out once however often
// a run is interrupted and restarted.
func (s *Service) RunNextReport(ctx context.Context) (bool, error) {
	var r *muster.Report
	err := s.update(ctx, func(tx *txn) error {
		var err error
		now := tx.now
		r, err = tx.LeaseReport(ctx, now, now.Add(s.cfg.ReportLease))
		if muster.ErrorCode(err) == muster.ENOTFOUND {
			r, err = nil, nil
		}
		return err
	})
	if err != nil || r == nil {
		return false, err
	}
	if err := s.runReport(ctx, r); err != nil {
		if ctx.Err() != nil {
			return true, ctx.Err() // shutting down: the lease ends and another run starts over
		}
		if r.Attempts < reportMaxAttempts {
			return true, fmt.Errorf("report %d, attempt %d: %w", r.ID, r.Attempts, err)
		}
		failErr := s.update(ctx, func(tx *txn) error {
			if err := tx.FailReport(ctx, r.ID, tx.now, tx.now.Add(ReportTTL), err.Error()); err != nil {
				return err
			}
			// The requester was told the list would come by email.
			return s.tellRequester(ctx, tx, r, func(org *muster.Org, u *muster.User) (*mail.Message, error) {
				return mail.ComposeReportFailed(mail.ReportFailed{OrgName: org.Name, FirstName: u.FirstName})
			})
		})
		return true, fmt.Errorf("report %d failed for good: %w (recording: %v)", r.ID, err, failErr)
	}
	return true, nil
}

func (s *Service) runReport(ctx context.Context, r *muster.Report) error {
	if err := s.update(ctx, func(tx *txn) error { return tx.DeleteReportChunks(ctx, r.ID) }); err != nil {
		return err
	}
	chunks := &chunkWriter{ctx: ctx, s: s, id: r.ID}
	// The fastest level: at the default one, compressing took a third of an
	// export's CPU time, for a few percent of a chunk's size.
	zw, err := gzip.NewWriterLevel(chunks, gzip.BestSpeed)
	if err != nil {
		return err
	}
	err = s.store.ViewBulk(ctx, func(tx muster.Tx) error {
		var saved time.Time
		return exportUsers(ctx, tx, r.OrgID, zw, func(rows int) {
			r.RowsWritten = rows
			// Progress for the console, and a longer lease: after the
			// first batch, then a few times per lease rather than per batch
			// (each is a commit, which PostgreSQL waits on the disk for).
			now := time.Now() // the real clock, whatever s.now says
			if now.Sub(saved) < min(reportProgressEvery, s.cfg.ReportLease/4) {
				return
			}
			saved = now
			chunks.err = s.update(ctx, func(tx *txn) error {
				return tx.UpdateReportProgress(ctx, r.ID, rows, max(rows, r.RowsTotal), tx.now.Add(s.cfg.ReportLease))
			})
		})
	})
	if err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := chunks.flush(); err != nil {
		return err
	}
	now := s.now()
	r.ByteSize, r.FinishedAt, r.ExpiresAt = chunks.size, now, now.Add(ReportTTL)
	return s.update(ctx, func(tx *txn) error {
		if ok, err := tx.FinishReport(ctx, r, r.Attempts); err != nil || !ok {
			return err // !ok: a later run took over and will send the email
		}
		return s.tellRequester(ctx, tx, r, func(org *muster.Org, u *muster.User) (*mail.Message, error) {
			return mail.ComposeReportReady(mail.ReportReady{OrgName: org.Name, FirstName: u.FirstName,
				Rows: r.RowsWritten, Link: s.cfg.Links.ReportDownload(r.ID), ExpiresAt: r.ExpiresAt})
		})
	})
}

// tellRequester queues the email that compose writes to r's requester, as
// they are now: one who has left, or is no longer an Owner or Admin, is
// not told about the user list.
func (s *Service) tellRequester(ctx context.Context, tx *txn, r *muster.Report,
	compose func(*muster.Org, *muster.User) (*mail.Message, error)) error {
	requester, err := tx.FindUser(ctx, r.OrgID, r.RequestedBy)
	if err != nil {
		return err
	}
	if requester.Status != muster.StatusActive || !requester.Role.AtLeast(muster.RoleAdmin) {
		return nil
	}
	org, err := tx.FindOrg(ctx, r.OrgID)
	if err != nil {
		return err
	}
	msg, err := compose(org, requester)
	if err != nil {
		return err
	}
	return s.queueMail(ctx, tx, org.ID, requester.Email, msg)
}

// chunkWriter stores what is written in chunks of reportChunkSize, each in
// its own short transaction, so memory stays bounded.
type chunkWriter struct {
	ctx  context.Context
	s    *Service
	id   int64
	seq  int
	buf  []byte
	size int64
	err  error // a failed progress update, reported on the next write
}

func (c *chunkWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	c.buf = append(c.buf, p...)
	if len(c.buf) >= reportChunkSize {
		if err := c.flush(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (c *chunkWriter) flush() error {
	if len(c.buf) == 0 {
		return c.err
	}
	err := c.s.update(c.ctx, func(tx *txn) error { return tx.AppendReportChunk(c.ctx, c.id, c.seq, c.buf) })
	if err != nil {
		return err
	}
	c.size += int64(len(c.buf))
	c.seq++
	c.buf = c.buf[:0]
	return nil
}

// Expired counts what DeleteExpired deleted.
type Expired struct {
	Reports            int
	IdempotencyRecords int
	WebhookDeliveries  int
	Imports            int
	// PasskeyCeremonies are begun passkey prompts past their expiry.
	PasskeyCeremonies int
	// OutboxMessages are emails sent, or failed for good, more than
	// MailKeptFor ago.
	OutboxMessages int
}

// DeleteExpired deletes what has outlived its use: reports past their expiry,
// the outcomes of idempotency keys older than IdempotencyTTL, webhook
// deliveries finished more than WebhookRetention ago, imports older than
// ImportTTL, passkey ceremonies past their expiry and email finished more
// than MailKeptFor ago. The server runs it now and then.
func (s *Service) DeleteExpired(ctx context.Context) (Expired, error) {
	var n Expired
	err := s.update(ctx, func(tx *txn) error {
		var err error
		if n.Reports, err = tx.DeleteExpiredReports(ctx, tx.now); err != nil {
			return err
		}
		if n.IdempotencyRecords, err = tx.DeleteExpiredIdempotencyRecords(ctx, tx.now.Add(-IdempotencyTTL)); err != nil {
			return err
		}
		if n.WebhookDeliveries, err = tx.DeleteExpiredWebhookDeliveries(ctx, tx.now.Add(-WebhookRetention)); err != nil {
			return err
		}
		if n.Imports, err = tx.DeleteExpiredImports(ctx, tx.now.Add(-ImportTTL)); err != nil {
			return err
		}
		if n.PasskeyCeremonies, err = tx.DeleteExpiredPasskeyCeremonies(ctx, tx.now); err != nil {
			return err
		}
		n.OutboxMessages, err = tx.DeleteFinishedOutboxMessages(ctx, tx.now.Add(-s.MailKeptFor()))
		return err
	})
	return n, err
}
