// Package importcsv reads the CSV file of a bulk import (BULK-1): the columns
// of the user-list export (report.Header, AUD-3), in UTF-8 with or without a
// byte-order mark, cells separated by commas, semicolons or tabs (whichever
// the header uses), records ended by CRLF, LF or CR. Columns Muster does not
// import (Status, the dates) are ignored with a note, and so are columns it
// does not know. Each row's cells are cleaned and checked by the same validation
// as every other interface (muster.CheckName, muster.CheckEmail); what a row
// means for the organization (invite, update…) is the service's to say.
//
// Cells are data: a cell that the export neutralized against spreadsheet
// formulas (report.Neutralize: a quote before =, +, -, @) is read back
// without the quote, and nothing is ever evaluated.
package importcsv

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/muster-app/muster/internal/muster"
	"github.com/muster-app/muster/internal/report"
)

// Limits of one file, documented in the README and enforced by Parse.
const (
	MaxRows  = 100_000
	MaxBytes = 20 << 20 // 20 MB
)

// UploadInMemory is how much of a file uploaded as multipart/form-data a
// server keeps in memory; the rest of a larger file waits in a temporary
// file (http.Request.ParseMultipartForm).
const UploadInMemory = 1 << 20

// The columns an import reads, named as the export's header names them.
const (
	ColFirstName      = "First Name"
	ColLastName       = "Last Name"
	ColEmail          = "Email"
	ColRole           = "Role"
	ColPrimaryTeam    = "Primary Team"
	ColSecondaryTeams = "Secondary Teams"
)

// ColError is the last column of a dry run's error file, which says what
// is wrong with each row: an import ignores it, so that the file can be
// uploaded again once its rows are fixed.
const ColError = "error"

// colStatus is the export's Status column, which an import reads only to
// leave deactivated users as they are (Row.Status).
const colStatus = "Status"

// Imported lists the columns an import reads, in the export's order.
var Imported = []string{ColFirstName, ColLastName, ColEmail, ColRole, ColPrimaryTeam, ColSecondaryTeams}

// Required lists the columns every file must have.
var Required = []string{ColEmail, ColFirstName, ColLastName}

// Problem is what is wrong with one cell (or the row, when Column is empty).
type Problem struct {
	Column  string `json:"column,omitempty"`
	Message string `json:"message"`
}

// Row is one record of the file, its cells cleaned.
type Row struct {
	// Line is the file's line on which the record starts; the header is
	// line 1.
	Line int
	// Cells are the record's cells as the file has them, one per header
	// column.
	Cells     []string
	Email     string
	FirstName string
	LastName  string
	// Role is the Role cell as written ("Basic User", "admin"…); empty
	// when the cell or the column is.
	Role        string
	PrimaryTeam string
	// SecondaryTeams are the Secondary Teams cell's names, split at each
	// semicolon, in the file's order, repeats kept: a team whose own name
	// holds a semicolon is in parts here, which only the organization's
	// teams can tell apart (the service joins them back).
	SecondaryTeams []string
	// HasSecondary reports that the file has a Secondary Teams column, so
	// that an empty cell means "no secondary team" rather than "as is".
	HasSecondary bool
	// Status is the Status cell, which sets nothing: a row whose Status
	// says Deactivated leaves a deactivated user as they are, so that an
	// export imported back does not invite again everyone who left.
	Status   string
	Problems []Problem
}

// File is a parsed import file.
type File struct {
	Header []string
	// Delimiter is ',', ';' or '\t'.
	Delimiter rune
	// BOM reports that the file began with a UTF-8 byte-order mark.
	BOM bool
	// Notes say what was ignored: columns Muster does not import or does
	// not know.
	Notes []string
	Rows  []*Row
}

// ErrTooLarge and ErrTooManyRows are the limits' refusals, with their words.
var (
	ErrTooLarge = muster.Errorf(muster.EINVALID, "The file is larger than 20 MB, the most one import takes. "+
		"Split it into files of at most 100,000 rows and 20 MB each.")
	ErrTooManyRows = muster.Errorf(muster.EINVALID, "The file has more than 100,000 rows, the most one import takes. "+
		"Split it into files of at most 100,000 rows each.")
)

// ignoredKnown are the export's columns that an import does not read.
var ignoredKnown = func() map[string]bool {
	m := map[string]bool{}
	for _, h := range report.Header {
		m[strings.ToLower(h)] = true
	}
	for _, h := range Imported {
		delete(m, strings.ToLower(h))
	}
	return m
}()

// Parse reads a whole import file from r, at most MaxBytes. A problem with
// the file as a whole (too large, not UTF-8, not CSV, a required column
// missing) is an EINVALID *muster.Error; problems of single rows are left
// in their Problems.
func Parse(r io.Reader) (*File, error) {
	var rows []*Row
	f, err := Stream(r, func(row Row) { rows = append(rows, &row) })
	if err != nil {
		return nil, err
	}
	f.Rows = rows
	return f, nil
}

// ParseBytes is Parse of a file held in memory.
func ParseBytes(data []byte) (*File, error) {
	return Parse(bytes.NewReader(data))
}

// Stream reads an import file as Parse does, a record at a time (the file
// is never held whole in memory), and hands each row to each in the file's
// order rather than keeping it in File.Rows. When it fails, the rows handed
// over so far are to be dropped: the file as a whole is refused.
func Stream(r io.Reader, each func(Row)) (*File, error) {
	return scan(r, false, func(f *File, line int, rec []string, cols columns) { each(f.readRow(line, rec, cols)) })
}

// Emails reads an import file as Stream does, refusing what it refuses,
// but hands over only each row's email (its Email cell, as Row.Email has
// it, unchecked) and line: the cheap first look of a reader that reads the
// file twice.
func Emails(r io.Reader, each func(email string, line int)) (*File, error) {
	return scan(r, true, func(_ *File, line int, rec []string, cols columns) {
		each(strings.TrimSpace(cols.cell(rec, ColEmail)), line)
	})
}

// scan reads an import file a record at a time and hands each row's record
// to each, with the header's columns; with reuse, each record's slice is
// the next one's, for an each that keeps none.
func scan(r io.Reader, reuse bool, each func(f *File, line int, rec []string, cols columns)) (*File, error) {
	f := &File{Delimiter: ','}
	br := bufio.NewReaderSize(&sizeLimit{r: r, left: MaxBytes}, 64<<10)
	if bom, _ := br.Peek(len(utf8BOM)); string(bom) == utf8BOM {
		br.Discard(len(utf8BOM))
		f.BOM = true
	}
	// The header decides the delimiter; it is within the reader's buffer.
	head, err := br.Peek(br.Size())
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	if bytes.HasPrefix(head, utf16LE) || bytes.HasPrefix(head, utf16BE) {
		return nil, muster.Errorf(muster.EINVALID, "The file is UTF-16 text (a spreadsheet's \"Unicode Text\"), not UTF-8: "+
			"save it from the spreadsheet as \"CSV UTF-8\".")
	}
	sep, hinted := delimiterHint(head)
	if hinted {
		f.Delimiter = sep
	} else {
		f.Delimiter = detectDelimiter(bytes.TrimLeft(head, " \t\r\n"))
	}
	cr := csv.NewReader(&lineEnds{br: br})
	cr.Comma = f.Delimiter
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = reuse // otherwise each row keeps its record as its Cells
	header, err := readRecord(cr)
	if hinted && err == nil {
		header, err = readRecord(cr) // past the hint's own line, whose number the rows' keep counting
	}
	for err == nil && blank(header) {
		header, err = readRecord(cr) // a file of blank lines is empty
	}
	if errors.Is(err, io.EOF) {
		return nil, muster.Errorf(muster.EINVALID, "The file is empty: it needs a header row (Email, First Name, Last Name…) and a row per person.")
	} else if err != nil {
		return nil, err
	}
	cols, err := f.readHeader(header)
	if err != nil {
		return nil, err
	}
	rows := 0
	for {
		rec, err := readRecord(cr)
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, err
		}
		if blank(rec) {
			continue
		}
		if rows == MaxRows {
			return nil, ErrTooManyRows
		}
		rows++
		line, _ := cr.FieldPos(0)
		each(f, line, rec, cols)
	}
	if rows == 0 {
		return nil, muster.Errorf(muster.EINVALID, "The file has a header but no rows: add a row per person.")
	}
	return f, nil
}

const utf8BOM = "\uFEFF"

// The byte-order marks of UTF-16 text, little- and big-endian.
var utf16LE, utf16BE = []byte{0xFF, 0xFE}, []byte{0xFE, 0xFF}

// delimiterHint reads the delimiter that the line "sep=;", which Excel
// writes before the header, names.
func delimiterHint(head []byte) (rune, bool) {
	line := head
	if end := bytes.IndexAny(head, "\r\n"); end >= 0 {
		line = head[:end]
	}
	if len(line) != 5 || !bytes.EqualFold(line[:4], []byte("sep=")) {
		return 0, false
	}
	switch d := rune(line[4]); d {
	case ',', ';', '\t', '|':
		return d, true
	}
	return 0, false
}

// readRecord reads the next record, refusing, in words, one that is not
// CSV or not UTF-8 text.
func readRecord(cr *csv.Reader) ([]string, error) {
	rec, err := cr.Read()
	if err != nil {
		return nil, csvError(err)
	}
	for i, cell := range rec {
		if !utf8.ValidString(cell) {
			line, _ := cr.FieldPos(i)
			line += strings.Count(cell[:firstInvalid(cell)], "\n")
			return nil, muster.Errorf(muster.EINVALID, "The file is not UTF-8 text (line %d is not): "+
				"save it from the spreadsheet as \"CSV UTF-8\".", line)
		}
	}
	return rec, nil
}

// sizeLimit reads at most left bytes of r, then fails with ErrTooLarge.
type sizeLimit struct {
	r    io.Reader
	left int64
}

func (l *sizeLimit) Read(p []byte) (int, error) {
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	if l.left -= int64(n); l.left < 0 {
		return 0, ErrTooLarge
	}
	return n, err
}

// lineEnds reads br with each carriage return that no line feed follows
// read as a line feed: a spreadsheet on a Mac (Excel's "CSV (Macintosh)")
// ends records with a lone CR, which encoding/csv reads as part of a cell,
// so that such a file was one header row of control characters. A CR
// before an LF is left for encoding/csv, which reads CRLF as LF.
type lineEnds struct{ br *bufio.Reader }

func (l *lineEnds) Read(p []byte) (int, error) {
	n, err := l.br.Read(p)
	for i := range n {
		if p[i] != '\r' {
			continue
		}
		if i+1 < n {
			if p[i+1] != '\n' {
				p[i] = '\n'
			}
		} else if next, perr := l.br.Peek(1); perr != nil || next[0] != '\n' {
			p[i] = '\n'
		}
	}
	return n, err
}

// firstInvalid is the offset of s's first byte that is not UTF-8.
func firstInvalid(s string) int {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return len(s)
}

// detectDelimiter picks ',', ';' or a tab, whichever the first line (the
// header) has most of outside quotes: ',' when tied, then ';'. A tab is a
// spreadsheet's "Text (Tab delimited)", which reads as CSV otherwise but
// for its delimiter.
func detectDelimiter(data []byte) rune {
	commas, semis, tabs, quoted := 0, 0, 0, false
	pick := func() rune {
		switch {
		case tabs > commas && tabs > semis:
			return '\t'
		case semis > commas:
			return ';'
		}
		return ','
	}
	for _, b := range data {
		switch {
		case b == '"':
			quoted = !quoted
		case quoted:
		case b == '\n' || b == '\r':
			return pick()
		case b == ',':
			commas++
		case b == ';':
			semis++
		case b == '\t':
			tabs++
		}
	}
	return pick()
}

// csvError is a CSV syntax error in words; other errors (EOF, reading the
// file, its size) are as they are.
func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		what := pe.Err.Error()
		switch {
		case errors.Is(pe.Err, csv.ErrBareQuote):
			what = `a quote (") inside a cell that does not start with one: quote the whole cell and double the quote ("")`
		case errors.Is(pe.Err, csv.ErrQuote):
			what = `a quoted cell that does not end with a quote, or a quote inside it that is not doubled ("")`
		}
		return muster.Errorf(muster.EINVALID, "The file is not valid CSV: line %d has %s.", pe.Line, what)
	}
	return err
}

func blank(rec []string) bool {
	for _, c := range rec {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// columns maps each imported column to its index in the header; -1 when
// the file does not have it.
type columns map[string]int

// cell is the record's cell of column c, unneutralized; "" when the file
// or the record has no such cell.
func (cols columns) cell(rec []string, c string) string {
	if i := cols[c]; i >= 0 && i < len(rec) {
		return Unneutralize(rec[i])
	}
	return ""
}

func (f *File) readHeader(header []string) (columns, error) {
	cols := columns{colStatus: -1}
	for _, c := range Imported {
		cols[c] = -1
	}
	var skipped, unknown []string
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		if i == 0 {
			h = strings.TrimPrefix(h, "\uFEFF")
		}
		f.Header = append(f.Header, h)
		key := strings.ToLower(h)
		if problem := muster.TextProblem(h); problem != "" {
			return nil, muster.Errorf(muster.EINVALID, "The header's column %d %s.", i+1, problem)
		}
		if key != "" && seen[key] {
			if readsColumn(h) {
				return nil, muster.Errorf(muster.EINVALID, "The header has the column %q twice: keep one.", h)
			}
			continue // a column Muster ignores, ignored once
		}
		seen[key] = true
		found := false
		if strings.EqualFold(h, colStatus) {
			cols[colStatus] = i
		}
		if key == ColError {
			continue // the error CSV's own column, uploaded back
		}
		for _, c := range Imported {
			if strings.EqualFold(c, h) {
				cols[c], found = i, true
			}
		}
		switch {
		case found:
		case ignoredKnown[key]:
			skipped = append(skipped, h)
		case h != "":
			unknown = append(unknown, h)
		}
	}
	var missing []string
	for _, c := range Required {
		if cols[c] < 0 {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, muster.Errorf(muster.EINVALID, "The header row lacks the column%s %s. The first row names the columns, "+
			"as the user list's export does: %s.", plural(len(missing)), strings.Join(missing, ", "), strings.Join(Imported, ", "))
	}
	if len(skipped) > 0 {
		note := fmt.Sprintf("Ignored the column%s %s: an import sets only %s.",
			plural(len(skipped)), strings.Join(skipped, ", "), strings.Join(Imported, ", "))
		if cols[colStatus] >= 0 {
			note += " A deactivated user whose row says Deactivated stays deactivated; clear the cell to invite them again."
		}
		f.Notes = append(f.Notes, note)
	}
	if len(unknown) > 0 {
		f.Notes = append(f.Notes, fmt.Sprintf("Ignored the column%s %s, which Muster does not know.",
			plural(len(unknown)), quoteAll(unknown)))
	}
	return cols, nil
}

// readsColumn reports whether an import reads the column named h: one it
// could not tell which of two to take from.
func readsColumn(h string) bool {
	return strings.EqualFold(h, colStatus) || slices.ContainsFunc(Imported, func(c string) bool { return strings.EqualFold(c, h) })
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func quoteAll(s []string) string {
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = fmt.Sprintf("%q", x)
	}
	return strings.Join(q, ", ")
}

// Unneutralize undoes report.Neutralize: the quote the export put before a
// cell that a spreadsheet would run as a formula.
func Unneutralize(s string) string {
	if len(s) >= 2 && s[0] == '\'' && strings.ContainsRune("=+-@\t\r", rune(s[1])) {
		return s[1:]
	}
	return s
}

func (f *File) readRow(line int, rec []string, cols columns) Row {
	row := Row{Line: line, HasSecondary: cols[ColSecondaryTeams] >= 0}
	if len(rec) >= len(f.Header) {
		row.Cells = rec[:len(f.Header):len(f.Header)] // the reader's own slice: no copy per row
	} else {
		row.Cells = make([]string, len(f.Header))
		copy(row.Cells, rec)
	}
	cell := func(c string) string { return cols.cell(rec, c) }
	if len(rec) > len(f.Header) && !blank(rec[len(f.Header):]) {
		row.Problems = append(row.Problems, Problem{Message: fmt.Sprintf(
			"The row has %d cells and the header %d columns: a cell may hold a %q that is not inside quotes.",
			len(rec), len(f.Header), string(f.Delimiter))})
	}
	var v muster.Validation
	row.Status = strings.TrimSpace(cell(colStatus))
	row.Email = strings.TrimSpace(cell(ColEmail))
	muster.CheckEmail(&v, ColEmail, row.Email)
	row.FirstName = muster.CleanName(cell(ColFirstName))
	muster.CheckName(&v, ColFirstName, "First name", row.FirstName)
	row.LastName = muster.CleanName(cell(ColLastName))
	muster.CheckName(&v, ColLastName, "Last name", row.LastName)
	row.Role = strings.TrimSpace(cell(ColRole))
	if row.Role != "" {
		if _, ok := ParseRole(row.Role); !ok {
			v.Add(ColRole, fmt.Sprintf("%q is not a role: write Admin, Manager or Basic User (or leave it empty for Basic User).",
				muster.RecordedText(row.Role, 40)))
		}
	}
	row.PrimaryTeam = muster.CleanName(cell(ColPrimaryTeam))
	if row.PrimaryTeam != "" {
		muster.CheckName(&v, ColPrimaryTeam, "The primary team's name", row.PrimaryTeam)
	}
	var badBuf [8]string // a row names few teams: no map per row
	bad := badBuf[:0]    // the names refused, each said once
	for name := range strings.SplitSeq(cell(ColSecondaryTeams), ";") {
		name = muster.CleanName(name)
		if name == "" {
			continue
		}
		var tv muster.Validation
		muster.CheckName(&tv, ColSecondaryTeams, "A secondary team's name", name)
		if tv.Has(ColSecondaryTeams) {
			if key := strings.ToLower(name); !slices.Contains(bad, key) {
				bad = append(bad, key)
				for _, fe := range muster.ErrorFields(tv.Err()) {
					v.Add(fe.Field, fe.Message)
				}
			}
			continue
		}
		row.SecondaryTeams = append(row.SecondaryTeams, name)
	}
	for _, fe := range muster.ErrorFields(v.Err()) {
		row.Problems = append(row.Problems, Problem{Column: fe.Field, Message: fe.Message})
	}
	return row
}

// ParseRole reads a Role cell: the role's label as the export writes it
// ("Basic User") or its code ("basic"), in any case.
func ParseRole(s string) (muster.Role, bool) {
	s = strings.TrimSpace(s)
	for _, r := range muster.Roles {
		if strings.EqualFold(s, r.Label()) || strings.EqualFold(s, string(r)) {
			return r, true
		}
	}
	if strings.EqualFold(s, "Basic") {
		return muster.RoleBasic, true
	}
	return "", false
}

// Template is the downloadable template: the export's header and one
// example row, with a byte-order mark so that spreadsheets read it as
// UTF-8.
func Template() []byte {
	var b bytes.Buffer
	b.WriteString("\uFEFF")
	w := csv.NewWriter(&b)
	w.UseCRLF = true
	_ = w.Write(report.Header)
	example := make([]string, len(report.Header))
	for i, h := range report.Header {
		example[i] = map[string]string{ColFirstName: "Ada", ColLastName: "Lovelace", ColEmail: "ada@example.com",
			ColRole: "Basic User", ColPrimaryTeam: "Default Team", ColSecondaryTeams: "Engineering; Research"}[h]
	}
	_ = w.Write(example)
	w.Flush()
	return b.Bytes()
}
