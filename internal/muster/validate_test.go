package muster_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/muster-app/muster/internal/muster"
)

// TestSearchPrefix checks that the prefix counts letters, not bytes, as
// the store's indexes (substr) do.
func TestSearchPrefix(t *testing.T) {
	for _, c := range []struct {
		key, prefix string
		ok          bool
	}{
		{"", "", false}, {"ad", "ad", false}, {"ada", "ada", true}, {"adams", "ada", true},
		{"zoë smith", "zoë", true}, {"josé", "jos", true}, {"éé", "éé", false}, {"da silva", "da ", true},
	} {
		if prefix, ok := muster.SearchPrefix(c.key); prefix != c.prefix || ok != c.ok {
			t.Errorf("SearchPrefix(%q) = %q, %v; want %q, %v", c.key, prefix, ok, c.prefix, c.ok)
		}
	}
}

// TestTextProblem checks the one text check every interface makes at its
// edge: valid UTF-8 without control characters passes, whatever its script.
func TestTextProblem(t *testing.T) {
	for _, ok := range []string{"", "Ada", "Zoë Ångström", "李小龍", "O'Brien, Jr.", "🙂", "\uFFFD", "a\u200bb", "x\u202ey"} {
		if p := muster.TextProblem(ok); p != "" {
			t.Errorf("TextProblem(%q) = %q; want none", ok, p)
		}
	}
	for bad, want := range map[string]string{
		"\x00": "control", "ab\x00cd": "control", "tab\there": "control", "line\nbreak": "control",
		"\x7f": "control", "c1\u0085": "control", "\x1b[31m": "control",
		"Bad\xff\xfeName": "UTF-8", "\xc3": "UTF-8", "é"[:1] + "x": "UTF-8", "\xed\xa0\x80": "UTF-8",
		"\xf4\x90\x80\x80": "UTF-8", "\xc0\xaf": "UTF-8",
	} {
		if p := muster.TextProblem(bad); !strings.Contains(p, want) {
			t.Errorf("TextProblem(%q) = %q; want it to mention %q", bad, p, want)
		}
	}
}

// TestCheckNameRefusesLookalikes checks that a name refuses what would let
// it pass for another: invisible, zero-width and text-direction characters
// and the line and paragraph separators, which CleanName leaves for it.
func TestCheckNameRefusesLookalikes(t *testing.T) {
	for _, r := range []rune{0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069,
		0x200B, 0x200C, 0x200D, 0xFEFF, 0x2028, 0x2029, 0x200E, 0x200F, 0x061C, 0x2060, 0x00AD} {
		name := muster.CleanName("Default" + string(r) + "Team")
		var v muster.Validation
		muster.CheckName(&v, muster.FieldName, "Team name", name)
		if !v.Has(muster.FieldName) {
			t.Errorf("CheckName(%q) passed; want U+%04X refused", name, r)
		}
	}
	for _, bad := range []string{"Bad\xffName", "Nul\x00Byte", "Bell\x07", "Ann\U0010FFFFx", "x\uFFFE", "\uFDD0"} {
		var v muster.Validation
		muster.CheckName(&v, muster.FieldName, "Team name", muster.CleanName(bad))
		if !v.Has(muster.FieldName) {
			t.Errorf("CheckName(%q) passed; want it refused", bad)
		}
	}
	for _, ok := range []string{"Default Team", "Zoë", "José María", "محمد", "Ελένη", "   Sales \t Team "} {
		var v muster.Validation
		muster.CheckName(&v, muster.FieldName, "Team name", muster.CleanName(ok))
		if err := v.Err(); err != nil {
			t.Errorf("CheckName(%q): %v", ok, err)
		}
	}
}

// TestCheckEmailRefusesBadText checks the emails that would reach the store
// as bad text, or show another address than they are.
func TestCheckEmailRefusesBadText(t *testing.T) {
	for _, bad := range []string{"a\x00@example.com", "a\xff@example.com", "ad\u202emoc.evil@example.com", "a\u200b@example.com"} {
		var v muster.Validation
		muster.CheckEmail(&v, muster.FieldEmail, bad)
		if !v.Has(muster.FieldEmail) {
			t.Errorf("CheckEmail(%q) passed; want it refused", bad)
		}
	}
}

// TestRecordedText checks what a recorded header becomes: valid UTF-8,
// without controls, never cut inside a character.
func TestRecordedText(t *testing.T) {
	ascii := strings.Repeat("a", 299)
	for _, c := range []struct{ in, want string }{
		{ascii + "é", ascii},
		{ascii + "x", ascii + "x"},
		{"Mozilla/5.0 \xff", "Mozilla/5.0 \uFFFD"},
		{"a\x00b\tc", "a\uFFFDb\uFFFDc"},
		{"x\u202ey", "x\uFFFDy"},
		{strings.Repeat("é", 200), strings.Repeat("é", 150)},
		{strings.Repeat("\xff", 400), "\uFFFD"},
	} {
		got := muster.RecordedText(c.in, muster.MaxUserAgentLength)
		if got != c.want {
			t.Errorf("RecordedText(%q) = %q; want %q", c.in, got, c.want)
		}
	}
	for n := 0; n <= 6; n++ {
		if got := muster.TruncateText("aé🙂", n); !utf8.ValidString(got) || len(got) > n {
			t.Errorf("TruncateText(aé🙂, %d) = %q", n, got)
		}
	}
}
