package report

// FuzzNeutralize checks CSV cell neutralisation (AUD-4) on any text, bad
// bytes too: the cell is UTF-8, a spreadsheet never reads it as a formula,
// it is the text itself or the text behind a quote, and a CSV reader reads
// back what was written.

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzNeutralize(f *testing.F) {
	for _, s := range []string{"", "Ann", "=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "=\xff", "Bad\xff\xfeName",
		"Multi\nLine", `Quote "Q", comma`, " lead", "\x00", "é"[:1], "\uFEFF=1", "'=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cell := Neutralize(s)
		if !utf8.ValidString(cell) {
			t.Fatalf("Neutralize(%q) = %q, not UTF-8", s, cell)
		}
		if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
			t.Fatalf("Neutralize(%q) = %q starts a formula", s, cell)
		}
		valid := strings.ToValidUTF8(s, "\uFFFD")
		if cell != valid && cell != "'"+valid {
			t.Fatalf("Neutralize(%q) = %q; want %q, quoted or not", s, cell, valid)
		}
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		w.UseCRLF = true
		if err := w.Write([]string{cell, "next"}); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		records, err := csv.NewReader(&buf).ReadAll()
		// Go's reader drops carriage returns inside a quoted cell (CRLF
		// reads as LF); no other difference is allowed.
		noCR := func(s string) string { return strings.ReplaceAll(s, "\r", "") }
		if err != nil || len(records) != 1 || len(records[0]) != 2 || noCR(records[0][0]) != noCR(cell) {
			t.Fatalf("cell %q read back as %q (%v)", cell, records, err)
		}
	})
}
