package report

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/muster"
)

func TestNeutralize(t *testing.T) {
	for in, want := range map[string]string{
		"=1+2": "'=1+2", "+1": "'+1", "-1": "'-1", "@SUM(A1)": "'@SUM(A1)", "\tx": "'\tx", "\rx": "'\rx",
		"Ann": "Ann", "": "", "a=b": "a=b", "Ö-": "Ö-",
		// A name stored raw on SQLite before Muster checked its input.
		"Bad\xff\xfeName": "Bad\uFFFDName", "=\xff": "'=\uFFFD",
	} {
		if got := Neutralize(in); got != want {
			t.Errorf("Neutralize(%q) = %q; want %q", in, got, want)
		}
	}
}

// TestCSVRoundTrip checks that a CSV reader gets back every cell, even ones
// with newlines, quotes and commas that the console never lets in.
func TestCSVRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	w, err := NewCSVWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	invited := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	u := &muster.User{FirstName: "Multi\nLine", LastName: `Quote "Q", comma`, Email: "a@example.org",
		Role: muster.RoleAdmin, Status: muster.StatusPending, InvitedAt: invited}
	if err := w.Write(Row{User: u, PrimaryTeam: "Zeta", SecondaryTeams: []string{"beta", "Alpha"}, InvitedBy: "-Eve"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "\uFEFF") {
		t.Fatal("no byte-order mark")
	}
	records, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(buf.String(), "\uFEFF"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"Multi\nLine", `Quote "Q", comma`, "a@example.org", "Admin", "Pending", "Zeta", "Alpha; beta",
		"2026-01-02T02:04:05Z", "'-Eve", "", "", "", "Off"}
	if len(records) != 2 || strings.Join(records[1], "|") != strings.Join(want, "|") {
		t.Fatalf("records = %q; want header and %q", records, want)
	}
}
