package web

// FuzzDevice fuzzes the User-Agent summary on the sessions page (device):
// whatever a browser sent, or a session recorded before Muster cleaned
// User-Agents, it names something in valid text without control or
// invisible characters, at most 60 characters and an ellipsis.

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/muster-app/muster/internal/muster"
)

func FuzzDevice(f *testing.F) {
	for _, s := range []string{"", "curl/8.5.0", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) Gecko/20100101 Firefox/128.0", strings.Repeat("a", 299) + "é",
		"Mozilla/5.0 \xff (X11)", "Nul\x00Agent", "Evil\u202eAgent", strings.Repeat("é", 200), "\xf0\x9f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ua string) {
		got := device(ua)
		if got == "" || muster.TextProblem(got) != "" || strings.IndexFunc(got, muster.InvisibleInName) >= 0 {
			t.Fatalf("device(%q) = %q, not clean text", ua, got)
		}
		if n := utf8.RuneCountInString(got); n > 61 || (n == 61 && !strings.HasSuffix(got, "…")) {
			t.Fatalf("device(%q) = %q, %d characters", ua, got, n)
		}
	})
}
