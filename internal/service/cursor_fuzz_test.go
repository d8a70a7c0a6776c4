package service

// FuzzUserCursor fuzzes the user list's cursor codec, which reads a query
// parameter from outside: a cursor the service makes reads back as made,
// and any other string is refused or read as a cursor whose key is valid
// text (nothing else may reach the store) and which reads the same once
// made again.

import (
	"encoding/base64"
	"testing"

	"github.com/muster-app/muster/internal/muster"
)

func FuzzUserCursor(f *testing.F) {
	for _, c := range []struct {
		key string
		id  int64
	}{{"ada lovelace", 1}, {"zoë ångström", 42}, {"", 7}, {"a:b", 3}, {"\x00", 1}, {"\xff", 1}, {"x", -1}, {"x", 0}} {
		f.Add(c.key, c.id, encodeUserCursor(c.key, c.id))
	}
	for _, s := range []string{"", "MToA_w", "MTr_", "MTphZGE", "bm9jb2xvbg", "OTIyMzM3MjAzNjg1NDc3NTgwODph", "====", "MTph\n"} {
		f.Add("", int64(0), s)
	}
	f.Add("", int64(0), base64.RawURLEncoding.EncodeToString([]byte("1:ab\x00cd")))
	f.Fuzz(func(t *testing.T, key string, id int64, s string) {
		// A cursor the service made from a user's key and id.
		made := encodeUserCursor(key, id)
		c, err := decodeUserCursor(made)
		switch {
		case id > 0 && muster.TextProblem(key) == "":
			if err != nil || c == nil || c.SortKey != key || c.ID != id {
				t.Fatalf("cursor of (%q, %d) read back as %+v, %v", key, id, c, err)
			}
		case err == nil:
			t.Fatalf("cursor of (%q, %d) taken as %+v", key, id, c)
		}
		// Any string.
		c, err = decodeUserCursor(s)
		if err != nil {
			if muster.ErrorCode(err) != muster.EINVALID {
				t.Fatalf("decodeUserCursor(%q): %v; want EINVALID", s, err)
			}
			return
		}
		if s == "" {
			if c != nil {
				t.Fatalf("decodeUserCursor(\"\") = %+v; want none", c)
			}
			return
		}
		if c.ID <= 0 || muster.TextProblem(c.SortKey) != "" {
			t.Fatalf("decodeUserCursor(%q) took %+v", s, c)
		}
		again, err := decodeUserCursor(encodeUserCursor(c.SortKey, c.ID))
		if err != nil || *again != *c {
			t.Fatalf("decodeUserCursor(%q) = %+v, made again %+v (%v)", s, c, again, err)
		}
	})
}
