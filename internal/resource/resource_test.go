package resource_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/muster-app/muster/internal/resource"
)

// TestTimestampJSON checks that a Timestamp is written as time.Time writes
// itself in JSON, in UTC, that it reads back, and that the zero time is
// null.
func TestTimestampJSON(t *testing.T) {
	at := time.Date(2026, 11, 30, 9, 15, 2, 123456000, time.FixedZone("CET", 3600))
	type times struct {
		At   *resource.Timestamp `json:"at"`
		Zero *resource.Timestamp `json:"zero"`
	}
	got, err := json.Marshal(times{At: resource.Time(at), Zero: resource.Time(time.Time{})})
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(map[string]any{"at": at.UTC(), "zero": nil})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) || string(got) != `{"at":"2026-11-30T08:15:02.123456Z","zero":null}` {
		t.Fatalf("got %s; want %s", got, want)
	}
	var back times
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	if back.At == nil || !time.Time(*back.At).Equal(at) || back.Zero != nil {
		t.Fatalf("read back %+v", back)
	}
}
