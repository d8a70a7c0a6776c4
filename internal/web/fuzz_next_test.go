package web

// FuzzSafeNext fuzzes the sign-in's next check (safeNext), whose rules the
// open-redirect fix of issue 16 sets; this file holds only the property:
// the result is "/" or the path given, which is a same-origin path without
// control characters or backslashes, one a browser resolves on this host.

import (
	"net/url"
	"strings"
	"testing"
	"unicode"
)

func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "/settings", "/settings/roles-access?q=ada&status=active", "/a#b", "", "//evil.com",
		"/\\evil.com", "https://evil.com", "http:/evil.com", "evil.com", "/%2F/evil.com", "/é", "///x", "javascript:alert(1)"} {
		f.Add(s)
	}
	base, err := url.Parse("https://muster.example.com/signin")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if got == "/" {
			return
		}
		if got != next {
			t.Fatalf("safeNext(%q) = %q; want the path itself or /", next, got)
		}
		if !strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.ContainsRune(got, '\\') ||
			strings.IndexFunc(got, unicode.IsControl) >= 0 {
			t.Fatalf("safeNext(%q) = %q, not a plain path", next, got)
		}
		u, err := url.Parse(got)
		if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
			t.Fatalf("safeNext(%q) = %q, which parses as %#v (%v)", next, got, u, err)
		}
		if to := base.ResolveReference(u); to.Scheme != base.Scheme || to.Host != base.Host {
			t.Fatalf("safeNext(%q) = %q leads to %s", next, got, to)
		}
	})
}
