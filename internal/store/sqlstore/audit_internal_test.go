package sqlstore

import (
	"fmt"
	"testing"
)

// TestParseSubscribers: the endpoints CreateAuditEvents aggregates come
// back in id order with their types (none for every type); a list that is
// not "id type…" entries is an error, not endpoints made up.
func TestParseSubscribers(t *testing.T) {
	for _, c := range []struct {
		list, want string
	}{
		{"", "[]"},
		{"7", "[7[]]"},
		{"12 user.invited user.deactivated,3,5 team.created", "[3[] 5[team.created] 12[user.invited user.deactivated]]"},
		{"4 ", "[4[]]"},
		{",", "error"},
		{"x user.invited", "error"},
		{"3,", "error"},
	} {
		subs, err := parseSubscribers(c.list)
		got := "error"
		if err == nil {
			got = "["
			for i, s := range subs {
				if i > 0 {
					got += " "
				}
				got += fmt.Sprintf("%d%v", s.ID, s.EventTypes)
			}
			got += "]"
		}
		if got != c.want {
			t.Errorf("parseSubscribers(%q) = %s (%v); want %s", c.list, got, err, c.want)
		}
	}
}
