// Package report writes the audit user list (AUD-2..4): RFC 4180 CSV in
// UTF-8 with a byte-order mark, one row per user, with cells a spreadsheet
// would run as a formula neutralized.
package report

import (
	"encoding/csv"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/muster-app/muster/internal/muster"
)

// Header is the CSV's first row (AUD-3).
var Header = []string{
	"First Name", "Last Name", "Email", "Role", "Status", "Primary Team", "Secondary Teams",
	"Invited At", "Invited By", "Activated At", "Deactivated At", "Last Sign-in", "Two-Step Verification",
}

// Row is one user as the report shows them.
type Row struct {
	User           *muster.User
	PrimaryTeam    string
	SecondaryTeams []string
	InvitedBy      string
}

// CSVWriter writes rows as they come, holding none of them.
type CSVWriter struct {
	w      *csv.Writer
	record []string
}

// byteOrderMark tells spreadsheet programs that the file is UTF-8.
const byteOrderMark = "\uFEFF"

// NewCSVWriter writes the byte-order mark and the header to w.
func NewCSVWriter(w io.Writer) (*CSVWriter, error) {
	if _, err := io.WriteString(w, byteOrderMark); err != nil {
		return nil, err
	}
	cw := &CSVWriter{w: csv.NewWriter(w), record: make([]string, len(Header))}
	cw.w.UseCRLF = true // RFC 4180 ends records with CRLF
	return cw, cw.w.Write(Header)
}

// Write writes one user.
func (c *CSVWriter) Write(r Row) error {
	u := r.User
	secondaries := slices.Clone(r.SecondaryTeams)
	slices.SortFunc(secondaries, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	fields := [...]string{
		u.FirstName, u.LastName, u.Email, u.Role.Label(), u.Status.Label(), r.PrimaryTeam,
		strings.Join(secondaries, "; "), timestamp(u.InvitedAt), r.InvitedBy, timestamp(u.ActivatedAt),
		timestamp(u.DeactivatedAt), timestamp(u.LastSignInAt), onOff(u.TwoStep),
	}
	for i, f := range fields {
		c.record[i] = Neutralize(f)
	}
	return c.w.Write(c.record)
}

// Flush writes buffered rows and reports any write error.
func (c *CSVWriter) Flush() error {
	c.w.Flush()
	return c.w.Error()
}

// onOff is a switch as the console says it.
func onOff(on bool) string {
	if on {
		return "On"
	}
	return "Off"
}

// timestamp formats t in ISO 8601 UTC, or "" for the zero time.
func timestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

// Neutralize prefixes a cell that a spreadsheet would run as a formula with
// a single quote (AUD-4, OWASP "CSV injection"), and keeps the file UTF-8:
// Muster refuses text that is not (muster.TextProblem), but a SQLite
// database may hold names stored before it did, whose invalid bytes become
// U+FFFD here.
func Neutralize(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
