package importcsv_test

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/muster-app/muster/internal/importcsv"
	"github.com/muster-app/muster/internal/muster"
)

const plain = "First Name,Last Name,Email,Role,Status,Primary Team,Secondary Teams,Invited At,Shoe Size\n" +
	"Ada,Lovelace,ada@example.com,Admin,Active,Engineering,\"Research; Ops\",2024-01-01T00:00:00Z,42\n" +
	"'-Bob,Smith,bob@example.com,,,,,,\n" +
	",,\n" +
	"Eve,,not-an-email,Chief,,,,,\n"

func TestParse(t *testing.T) {
	f, err := importcsv.ParseBytes([]byte(plain))
	if err != nil {
		t.Fatal(err)
	}
	if f.Delimiter != ',' || f.BOM || len(f.Rows) != 3 {
		t.Fatalf("delimiter %q, BOM %v, %d rows", f.Delimiter, f.BOM, len(f.Rows))
	}
	want := []string{
		`Ignored the columns Status, Invited At: an import sets only First Name, Last Name, Email, Role, Primary Team, Secondary Teams. ` +
			`A deactivated user whose row says Deactivated stays deactivated; clear the cell to invite them again.`,
		`Ignored the column "Shoe Size", which Muster does not know.`,
	}
	if fmt.Sprint(f.Notes) != fmt.Sprint(want) {
		t.Errorf("notes:\n%q\nwant\n%q", f.Notes, want)
	}
	ada := f.Rows[0]
	if ada.Line != 2 || ada.Email != "ada@example.com" || ada.Role != "Admin" || ada.PrimaryTeam != "Engineering" ||
		fmt.Sprint(ada.SecondaryTeams) != "[Research Ops]" || len(ada.Problems) != 0 {
		t.Errorf("ada: %+v", ada)
	}
	bob := f.Rows[1]
	if bob.FirstName != "-Bob" || bob.Line != 3 || len(bob.Problems) != 0 {
		t.Errorf("bob (neutralized cell read back): %+v", bob)
	}
	eve := f.Rows[2]
	if eve.Line != 5 {
		t.Errorf("eve's line %d, want 5 (the blank line skipped, still counted)", eve.Line)
	}
	got := fmt.Sprint(eve.Problems)
	for _, w := range []string{"{Email Enter an email address like name@example.com.}", "{Last Name Last name is required.}",
		`{Role "Chief" is not a role`} {
		if !strings.Contains(got, w) {
			t.Errorf("eve's problems %s lack %s", got, w)
		}
	}
}

// The same file saved by spreadsheets of other habits reads the same.
func TestParseVariants(t *testing.T) {
	base, err := importcsv.ParseBytes([]byte(plain))
	if err != nil {
		t.Fatal(err)
	}
	semi := strings.ReplaceAll(plain, ",", ";") // the quoted "Research; Ops" stays one cell
	variants := map[string]string{
		"BOM":                "\uFEFF" + plain,
		"CRLF":               strings.ReplaceAll(plain, "\n", "\r\n"),
		"CR (Excel for Mac)": strings.ReplaceAll(plain, "\n", "\r"),
		"semicolon+CR":       strings.ReplaceAll(semi, "\n", "\r"),
		"tab":                strings.ReplaceAll(plain, ",", "\t"),
		"semicolon":          semi,
		"BOM+semicolon+CRLF": "\uFEFF" + strings.ReplaceAll(semi, "\n", "\r\n"),
	}
	for name, text := range variants {
		t.Run(name, func(t *testing.T) {
			// A byte at a time: a CR and the LF after it come apart.
			f, err := importcsv.Parse(iotest.OneByteReader(strings.NewReader(text)))
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Rows) != len(base.Rows) {
				t.Fatalf("%d rows, want %d", len(f.Rows), len(base.Rows))
			}
			for i, r := range f.Rows {
				b := base.Rows[i]
				if r.Email != b.Email || r.FirstName != b.FirstName || r.Role != b.Role || r.Line != b.Line ||
					fmt.Sprint(r.SecondaryTeams) != fmt.Sprint(b.SecondaryTeams) || fmt.Sprint(r.Problems) != fmt.Sprint(b.Problems) {
					t.Errorf("row %d: %+v\nwant %+v", i, r, b)
				}
			}
			if fmt.Sprint(f.Notes) != fmt.Sprint(base.Notes) {
				t.Errorf("notes %q", f.Notes)
			}
		})
	}
}

// TestParseExcelDelimiterHint: the line "sep=;" that Excel writes before
// the header names the delimiter and is not the header; the rows' lines
// still count it, as a spreadsheet numbers them.
func TestParseExcelDelimiterHint(t *testing.T) {
	base, err := importcsv.ParseBytes([]byte(plain))
	if err != nil {
		t.Fatal(err)
	}
	semi := strings.ReplaceAll(plain, ",", ";")
	for name, text := range map[string]string{
		"LF":     "sep=;\n" + semi,
		"CRLF":   "sep=;\r\n" + strings.ReplaceAll(semi, "\n", "\r\n"),
		"CR":     "sep=;\r" + strings.ReplaceAll(semi, "\n", "\r"),
		"commas": "SEP=,\n" + plain,
	} {
		t.Run(name, func(t *testing.T) {
			f, err := importcsv.Parse(iotest.OneByteReader(strings.NewReader(text)))
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Rows) != len(base.Rows) || fmt.Sprint(f.Header) != fmt.Sprint(base.Header) {
				t.Fatalf("%d rows under the header %q; want %d under %q", len(f.Rows), f.Header, len(base.Rows), base.Header)
			}
			for i, r := range f.Rows {
				if b := base.Rows[i]; r.Email != b.Email || r.Line != b.Line+1 || fmt.Sprint(r.SecondaryTeams) != fmt.Sprint(b.SecondaryTeams) {
					t.Errorf("row %d: %+v\nwant %+v a line lower", i, r, b)
				}
			}
		})
	}
}

func TestParseRefusals(t *testing.T) {
	header := "Email,First Name,Last Name\n"
	many := header + strings.Repeat("a@example.com,A,B\n", importcsv.MaxRows+1)
	big := header + "a@example.com,A," + strings.Repeat("x", importcsv.MaxBytes) + "\n"
	cases := map[string]struct{ in, want string }{
		"empty":       {"", "The file is empty"},
		"header only": {header, "has a header but no rows"},
		"no email":    {"First Name,Last Name\nA,B\n", "lacks the column Email."},
		"not UTF-8":   {header + "a@example.com,A,B\nb@example.com,\xff,B\n", "line 3 is not"},
		"bare quote":  {header + "a@example.com,A\"x,B\n", `line 2 has a quote (")`},
		"twice":       {"Email,email,First Name,Last Name\n", `the column "email" twice`},
		"UTF-16":      {"\xff\xfeE\x00m\x00", "UTF-16 text"},
		"too many":    {many, "more than 100,000 rows"},
		"too large":   {big, "larger than 20 MB"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := importcsv.Parse(strings.NewReader(c.in))
			if muster.ErrorCode(err) != muster.EINVALID || !strings.Contains(muster.ErrorMessage(err), c.want) {
				t.Fatalf("got %v, want EINVALID with %q", err, c.want)
			}
		})
	}
	// A column Muster ignores may be there twice: it is ignored, once.
	f, err := importcsv.ParseBytes([]byte("Notes,Email,First Name,Last Name,notes\nx,a@example.com,A,B,y\n"))
	if err != nil || len(f.Rows) != 1 || len(f.Notes) != 1 || strings.Count(f.Notes[0], "Notes") != 1 {
		t.Fatalf("a header naming an ignored column twice: %+v, %v; want its row and one note of the column", f, err)
	}
	// Exactly at the row limit is fine.
	f, err = importcsv.ParseBytes([]byte(header + strings.Repeat("a@example.com,A,B\n", importcsv.MaxRows)))
	if err != nil || len(f.Rows) != importcsv.MaxRows {
		t.Fatalf("%v", err)
	}
}

func TestTemplateParses(t *testing.T) {
	f, err := importcsv.ParseBytes(importcsv.Template())
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Rows) != 1 || len(f.Rows[0].Problems) != 0 || !f.BOM {
		t.Fatalf("%+v", f.Rows[0])
	}
}

func TestParseRole(t *testing.T) {
	for in, want := range map[string]muster.Role{"Basic User": muster.RoleBasic, "basic": muster.RoleBasic,
		"ADMIN": muster.RoleAdmin, " Manager ": muster.RoleManager, "Owner": muster.RoleOwner} {
		if got, ok := importcsv.ParseRole(in); !ok || got != want {
			t.Errorf("%q: %v %v", in, got, ok)
		}
	}
	if _, ok := importcsv.ParseRole("provisioner"); ok {
		t.Error("provisioner is no user's role")
	}
}

// FuzzParse: any bytes either parse into rows whose cleaned values pass
// the validation they claim to have passed, or are refused with words.
func FuzzParse(f *testing.F) {
	f.Add([]byte(plain))
	f.Add(importcsv.Template())
	f.Add([]byte("Email;First Name;Last Name\r\n\"a;b@example.com\";\"x\"\"y\";z\r\n"))
	f.Add([]byte("Email,First Name,Last Name\ra@example.com,\"A\r\rB\",C\r\r\nb@example.com,D,E\r"))
	f.Add([]byte("\uFEFFEmail,First Name,Last Name,Secondary Teams\n=1+1@example.com,'=A,\u202eB,\"a;;b; a\"\n"))
	f.Add([]byte("sep=|\r\nEmail|First Name|Last Name\r\na@example.com|A|B\r\n"))
	f.Add([]byte("sep=;"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := importcsv.ParseBytes(data)
		if err != nil {
			if muster.ErrorCode(err) != muster.EINVALID || muster.ErrorMessage(err) == "" {
				t.Fatalf("refused without words: %v", err)
			}
			return
		}
		if len(file.Rows) == 0 || len(file.Rows) > importcsv.MaxRows {
			t.Fatalf("%d rows", len(file.Rows))
		}
		for _, r := range file.Rows {
			if len(r.Cells) != len(file.Header) {
				t.Fatalf("row %d has %d cells for %d columns", r.Line, len(r.Cells), len(file.Header))
			}
			if len(r.Problems) > 0 {
				continue
			}
			var v muster.Validation
			muster.CheckEmail(&v, "e", r.Email)
			muster.CheckName(&v, "f", "F", r.FirstName)
			muster.CheckName(&v, "l", "L", r.LastName)
			for _, team := range append([]string{r.PrimaryTeam}, r.SecondaryTeams...) {
				if team != "" {
					muster.CheckName(&v, "t", "T", team)
				}
			}
			if err := v.Err(); err != nil {
				t.Fatalf("row %d passed but %v", r.Line, err)
			}
			if r.Role != "" {
				if _, ok := importcsv.ParseRole(r.Role); !ok {
					t.Fatalf("row %d: role %q passed", r.Line, r.Role)
				}
			}
		}
	})
}

// TestStream: Stream hands each row over in the file's order and keeps
// none; a file that does not end is refused at MaxBytes, read no further
// than the reader's buffer past it; a cell that is not UTF-8 is refused
// with the line the byte is on.
func TestStream(t *testing.T) {
	var lines []int
	f, err := importcsv.Stream(strings.NewReader(plain), func(r importcsv.Row) { lines = append(lines, r.Line) })
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := importcsv.ParseBytes([]byte(plain))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Rows) != 0 || len(lines) != len(parsed.Rows) || lines[len(lines)-1] != parsed.Rows[len(parsed.Rows)-1].Line {
		t.Fatalf("streamed lines %v, kept %d rows; parsed %d", lines, len(f.Rows), len(parsed.Rows))
	}

	endless := &endlessCell{}
	_, err = importcsv.Stream(io.MultiReader(strings.NewReader("Email,First Name,Last Name\na@example.com,A,"), endless),
		func(importcsv.Row) { t.Fatal("a row of a refused file") })
	if !errors.Is(err, importcsv.ErrTooLarge) || endless.read > importcsv.MaxBytes+1<<20 {
		t.Fatalf("endless file: %v after %d bytes", err, endless.read)
	}

	_, err = importcsv.Parse(strings.NewReader("Email,First Name,Last Name\na@example.com,\"A\nB\xff\",C\n"))
	if !strings.Contains(muster.ErrorMessage(err), "line 3 is not") {
		t.Fatalf("not UTF-8 in a quoted cell's second line: %v", err)
	}
}

// endlessCell is a cell that never ends.
type endlessCell struct{ read int }

func (e *endlessCell) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	e.read += len(p)
	return len(p), nil
}

// TestEmails: Emails hands over each row's email and line as Stream's
// rows have them, and refuses what Parse refuses.
func TestEmails(t *testing.T) {
	parsed, err := importcsv.ParseBytes([]byte(plain))
	if err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, r := range parsed.Rows {
		want = append(want, fmt.Sprintf("%d %s", r.Line, r.Email))
	}
	if _, err := importcsv.Emails(strings.NewReader(plain), func(email string, line int) {
		got = append(got, fmt.Sprintf("%d %s", line, email))
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("emails %q, want %q", got, want)
	}
	if _, err := importcsv.Emails(strings.NewReader("First Name,Last Name\nA,B\n"), func(string, int) {}); !strings.Contains(muster.ErrorMessage(err), "lacks the column Email.") {
		t.Errorf("no Email column: %v", err)
	}
}
