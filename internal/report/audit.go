package report

import (
	"encoding/csv"
	"encoding/json"
	"io"

	"github.com/muster-app/muster/internal/muster"
)

// AuditHeader is the first row of an audit log export (LOG-1).
var AuditHeader = []string{"Time", "Actor", "Action", "Target Type", "Target", "Before", "After", "Origin"}

// AuditCSVWriter writes audit events as CSV, in the same form as the user
// list: UTF-8 with a byte-order mark, CRLF, neutralized cells.
type AuditCSVWriter struct {
	w *csv.Writer
}

// NewAuditCSVWriter writes the byte-order mark and the header to w.
func NewAuditCSVWriter(w io.Writer) (*AuditCSVWriter, error) {
	if _, err := io.WriteString(w, byteOrderMark); err != nil {
		return nil, err
	}
	aw := &AuditCSVWriter{w: csv.NewWriter(w)}
	aw.w.UseCRLF = true
	return aw, aw.w.Write(AuditHeader)
}

// Write writes one event.
func (a *AuditCSVWriter) Write(e *muster.AuditEvent) error {
	record := []string{timestamp(e.CreatedAt), e.ActorLabel, e.Action, e.TargetType, e.TargetLabel,
		jsonCell(e.Before), jsonCell(e.After), e.Origin}
	for i := range record {
		record[i] = Neutralize(record[i])
	}
	return a.w.Write(record)
}

// Flush writes buffered rows and reports any write error.
func (a *AuditCSVWriter) Flush() error {
	a.w.Flush()
	return a.w.Error()
}

func jsonCell(m map[string]any) string {
	if m == nil {
		return ""
	}
	b, err := json.Marshal(m)
	if err != nil {
		return ""
	}
	return string(b)
}
