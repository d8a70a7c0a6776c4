package bufpool_test

import (
	"strings"
	"testing"

	"github.com/muster-app/muster/internal/bufpool"
)

// A buffer comes back empty, whatever the response before it wrote.
func TestGetIsEmpty(t *testing.T) {
	for range 100 {
		buf := bufpool.Get()
		if buf.Len() != 0 {
			t.Fatalf("Get returned a buffer holding %q", buf.String())
		}
		buf.WriteString(strings.Repeat("x", 1000))
		bufpool.Put(buf)
	}
}
