package muster_test

import (
	"testing"

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
