package service

// FuzzUserCursor fuzzes the user list's cursor codec, which reads a query
// parameter from outside: a cursor the service makes reads back as made,
// and any other string is refused or read as a cursor whose keys are valid
// text (nothing else may reach the store) and which reads the same once
// made again.

import (
	"encoding/base64"
	"testing"

	"github.com/muster-app/muster/internal/muster"
)

func FuzzUserCursor(f *testing.F) {
	made := func(key, sortKey string, id int64, sort muster.UserSort, desc, back bool, offset int) string {
		return encodeUserCursor(userCursor{UserCursor: muster.UserCursor{Key: key, SortKey: sortKey, ID: id}, Back: back,
			Offset: offset}, muster.UserFilter{Sort: sort, Desc: desc})
	}
	for _, c := range []struct {
		key string
		id  int64
	}{{"ada lovelace", 1}, {"zoë ångström", 42}, {"", 7}, {"a:b", 3}, {"\x00", 1}, {"\xff", 1}, {"x", -1}, {"x", 0}} {
		f.Add(c.key, c.id, made("", c.key, c.id, muster.SortName, false, false, 0))
	}
	for _, s := range []string{"", "MToA_w", "MTr_", "MTphZGE", "bm9jb2xvbg", "OTIyMzM3MjAzNjg1NDc3NTgwODph", "====", "MTph\n",
		made("ada@example.com", "ada x", 5, muster.SortEmail, true, true, 50),
		made("1700000000000000", "bo", 9, muster.SortLastSignIn, false, false, 100)} {
		f.Add("", int64(0), s)
	}
	f.Add("", int64(0), base64.RawURLEncoding.EncodeToString([]byte("1:ab\x00cd")))
	f.Add("", int64(0), base64.RawURLEncoding.EncodeToString([]byte(`{"s":"email","k":"a\u0000b","n":"x","i":3}`)))
	f.Add("", int64(0), base64.RawURLEncoding.EncodeToString([]byte(`{"s":"nope","n":"x","i":3}`)))
	f.Fuzz(func(t *testing.T, key string, id int64, s string) {
		// A cursor the service made from a user's keys and id, in each
		// order.
		for _, sort := range muster.UserSorts {
			c, err := decodeUserCursor(made(key, key, id, sort, true, true, 3))
			switch {
			case id > 0 && muster.TextProblem(key) == "":
				if err != nil || c == nil || c.SortKey != key || c.Key != key || c.ID != id || c.Sort != sort ||
					!c.Desc || !c.Back || c.Offset != 3 {
					t.Fatalf("cursor of (%q, %d, %s) read back as %+v, %v", key, id, sort, c, err)
				}
			case err == nil && (id <= 0 || muster.TextProblem(c.SortKey) != "" || muster.TextProblem(c.Key) != ""):
				// Invalid UTF-8 may come back mended (JSON writes it as
				// U+FFFD), never as it was.
				t.Fatalf("cursor of (%q, %d) taken as %+v", key, id, c)
			}
		}
		// Any string.
		c, err := decodeUserCursor(s)
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
		if c.ID <= 0 || c.Offset < 0 || muster.TextProblem(c.SortKey) != "" || muster.TextProblem(c.Key) != "" {
			t.Fatalf("decodeUserCursor(%q) took %+v", s, c)
		}
		if _, ok := muster.ParseUserSort(string(c.Sort)); !ok || c.Sort == "" {
			t.Fatalf("decodeUserCursor(%q) took the order %q", s, c.Sort)
		}
		again, err := decodeUserCursor(made(c.Key, c.SortKey, c.ID, c.Sort, c.Desc, c.Back, c.Offset))
		if err != nil || *again != *c {
			t.Fatalf("decodeUserCursor(%q) = %+v, made again %+v (%v)", s, c, again, err)
		}
	})
}

// FuzzTeamCursor fuzzes the team list's cursor codec likewise: a cursor made
// after a team reads back as made; any other string is refused or read as
// the Default Team's place or a valid name key, which reads the same once
// made again.
func FuzzTeamCursor(f *testing.F) {
	for _, key := range []string{"engineering", "zoë ångström", "", "\x00", "\xff", "a\u202eb"} {
		f.Add(key, "")
	}
	for _, s := range []string{"", "e30", "eyJkIjp0cnVlfQ", "eyJrIjoiYSJ9", "!!!", "====", "eyJkIjp0cnVlLCJrIjoiYSJ9",
		base64.RawURLEncoding.EncodeToString([]byte(`{"k":"a\u0000b"}`)),
		base64.RawURLEncoding.EncodeToString([]byte(`{"k":"\ud800"}`)), base64.RawURLEncoding.EncodeToString([]byte(`[1]`))} {
		f.Add("", s)
	}
	f.Fuzz(func(t *testing.T, key, s string) {
		for _, made := range []muster.TeamCursor{{Default: true}, {NameKey: key}} {
			c, err := decodeTeamCursor(encodeTeamCursor(made))
			switch {
			case made.Default || (key != "" && muster.TextProblem(key) == ""):
				if err != nil || c == nil || *c != made {
					t.Fatalf("cursor of %+v read back as %+v, %v", made, c, err)
				}
			case err == nil && (c.Default || c.NameKey == "" || muster.TextProblem(c.NameKey) != ""):
				t.Fatalf("cursor of %+v taken as %+v", made, c)
			}
		}
		c, err := decodeTeamCursor(s)
		if err != nil {
			if muster.ErrorCode(err) != muster.EINVALID {
				t.Fatalf("decodeTeamCursor(%q): %v; want EINVALID", s, err)
			}
			return
		}
		if (s == "") != (c == nil) {
			t.Fatalf("decodeTeamCursor(%q) = %+v", s, c)
		}
		if c == nil {
			return
		}
		if c.Default == (c.NameKey != "") || muster.TextProblem(c.NameKey) != "" {
			t.Fatalf("decodeTeamCursor(%q) took %+v", s, c)
		}
		if again, err := decodeTeamCursor(encodeTeamCursor(*c)); err != nil || *again != *c {
			t.Fatalf("decodeTeamCursor(%q) = %+v, made again %+v (%v)", s, c, again, err)
		}
	})
}
