package muster_test

// Fuzz targets of the domain's text functions, which every interface's
// edge relies on. `go test` runs their seed corpus (the f.Add calls and
// testdata/fuzz/<target>); `go test -run '^$' -fuzz '^FuzzTextProblem$'
// -fuzztime 1m ./internal/muster` searches further.

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/muster-app/muster/internal/muster"
)

// textSeeds are inputs every text fuzz target starts from: the bad
// bytes, scripts, lookalikes and the edges of UTF-8.
var textSeeds = []string{
	"", "Ada", "Zoë Ångström", "李小龍", "محمد", "\x00", "ab\x00cd", "Bad\xff\xfeName", "T\xff", "é"[:1],
	strings.Repeat("a", 299) + "é", "Default\u200bTeam", "Evil\u202eeman", "A\u2028B", "\ufeffx", "tab\there",
	"\xed\xa0\x80", "\xf4\x90\x80\x80", "\U0010FFFF", "\uFFFD", "  Sales \t  Team  ", "İstanbul", "ǅ",
}

// FuzzTextProblem checks the text check against its definition: text
// passes exactly when it is valid UTF-8 without a control character, and a
// name exactly when, besides, it holds none of InvisibleInName's characters.
func FuzzTextProblem(f *testing.F) {
	for _, s := range textSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want := utf8.ValidString(s) && strings.IndexFunc(s, unicode.IsControl) < 0
		if got := muster.TextProblem(s) == ""; got != want {
			t.Fatalf("TextProblem(%q) passes = %v; want %v", s, got, want)
		}
		wantName := want && strings.IndexFunc(s, muster.InvisibleInName) < 0 && strings.IndexFunc(s, muster.Noncharacter) < 0
		if got := muster.NameProblem(s) == ""; got != wantName {
			t.Fatalf("NameProblem(%q) passes = %v; want %v", s, got, wantName)
		}
		// A name CheckName takes is clean and valid; CleanName's fast path
		// for names clean already cleans as its slow one does.
		name := muster.CleanName(s)
		slow := strings.Join(strings.FieldsFunc(s, func(r rune) bool {
			return unicode.IsSpace(r) && r != '\u2028' && r != '\u2029'
		}), " ")
		if name != slow || muster.CleanName(name) != name {
			t.Fatalf("CleanName(%q) = %q, want %q", s, name, slow)
		}
		var v muster.Validation
		muster.CheckName(&v, muster.FieldName, "Name", name)
		if v.Err() == nil {
			if muster.NameProblem(name) != "" || name != strings.TrimSpace(name) || strings.Contains(name, "  ") ||
				utf8.RuneCountInString(name) > muster.MaxNameLength {
				t.Fatalf("CheckName took %q (from %q)", name, s)
			}
		}
		// So does an email CheckEmail takes.
		var ev muster.Validation
		muster.CheckEmail(&ev, muster.FieldEmail, s)
		if ev.Err() == nil && muster.NameProblem(strings.TrimSpace(s)) != "" {
			t.Fatalf("CheckEmail took %q", s)
		}
	})
}

// FuzzSearchKey checks the search key of valid text (nothing else reaches
// it): valid, settled (a key's key is itself), without white space at its
// ends or doubled, and that SearchPrefix returns its first letters.
func FuzzSearchKey(f *testing.F) {
	for _, s := range textSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if muster.TextProblem(s) != "" {
			return
		}
		key := muster.SearchKey(s)
		if !utf8.ValidString(key) || muster.TextProblem(key) != "" {
			t.Fatalf("SearchKey(%q) = %q, not valid text", s, key)
		}
		if again := muster.SearchKey(key); again != key {
			t.Fatalf("SearchKey(%q) = %q, whose key is %q", s, key, again)
		}
		if key != strings.TrimSpace(key) || strings.Contains(key, "  ") {
			t.Fatalf("SearchKey(%q) = %q has loose white space", s, key)
		}
		prefix, ok := muster.SearchPrefix(key)
		n := utf8.RuneCountInString(key)
		if !strings.HasPrefix(key, prefix) || ok != (n >= muster.SearchPrefixLength) ||
			utf8.RuneCountInString(prefix) != min(n, muster.SearchPrefixLength) {
			t.Fatalf("SearchPrefix(%q) = %q, %v", key, prefix, ok)
		}
	})
}

// FuzzRecordedText checks a recorded header (the User-Agent): valid text
// with neither control nor invisible characters, at most the bytes asked
// for, and, when nothing needed replacing or cutting, the header itself.
func FuzzRecordedText(f *testing.F) {
	for _, s := range textSeeds {
		f.Add(s, muster.MaxUserAgentLength)
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		n = max(n%1000, -1)
		got := muster.RecordedText(s, n)
		if muster.TextProblem(got) != "" || strings.IndexFunc(got, muster.InvisibleInName) >= 0 {
			t.Fatalf("RecordedText(%q, %d) = %q, not clean text", s, n, got)
		}
		if len(got) > max(n, 0) {
			t.Fatalf("RecordedText(%q, %d) = %q, %d bytes", s, n, got, len(got))
		}
		if muster.TextProblem(s) == "" && strings.IndexFunc(s, muster.InvisibleInName) < 0 && len(s) <= n && got != s {
			t.Fatalf("RecordedText(%q, %d) = %q; want it unchanged", s, n, got)
		}
		if cut := muster.TruncateText(s, n); len(cut) > max(n, 0) || !strings.HasPrefix(s, cut) ||
			(utf8.ValidString(s) && !utf8.ValidString(cut)) {
			t.Fatalf("TruncateText(%q, %d) = %q", s, n, cut)
		}
	})
}

// FuzzTOTPCode checks the second step's code field: a code it takes is 6
// ASCII digits that it takes again as they are, and it takes whatever 6
// digits a person types with spaces or hyphens among them.
func FuzzTOTPCode(f *testing.F) {
	for _, s := range append(textSeeds, "123456", "123 456", " 123-456 ", "12345", "1234567", "١٢٣٤٥٦", "12345\x00",
		"abcd-efgh-ijkm-npqr", "123\u00a0456", "+12345", "0x1234") {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		code, ok := muster.TOTPCode(typed)
		if !ok {
			if code != "" {
				t.Fatalf("TOTPCode(%q) refused but returned %q", typed, code)
			}
			return
		}
		if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
			t.Fatalf("TOTPCode(%q) = %q; want 6 ASCII digits", typed, code)
		}
		if again, ok := muster.TOTPCode(code); !ok || again != code {
			t.Fatalf("TOTPCode(%q) = %q, %v; want it back", code, again, ok)
		}
		digits := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, typed)
		if digits != code {
			t.Fatalf("TOTPCode(%q) = %q; want the digits typed, %q", typed, code, digits)
		}
	})
}
