package sqlstore

import (
	"testing"
	"time"
)

// TestNullTimeScan: a time column reads as the instant its microseconds
// say, in UTC, and NULL as the zero time, whether the driver gives an
// int64 or something sql.NullInt64 converts (text); a value that is no
// integer is an error and leaves the time as it was.
func TestNullTimeScan(t *testing.T) {
	at := time.Date(2026, 11, 30, 22, 5, 0, 123456000, time.UTC)
	for _, c := range []struct {
		src  any
		want time.Time
	}{
		{at.UnixMicro(), at},
		{nil, time.Time{}},
		{[]byte("1796076300123456"), at},
		{"1796076300123456", at},
	} {
		got := time.Unix(1, 0)
		if err := (nullTime{&got}).Scan(c.src); err != nil {
			t.Errorf("%#v: %v", c.src, err)
			continue
		}
		if !got.Equal(c.want) || got.Location() != time.UTC {
			t.Errorf("%#v read as %v; want %v", c.src, got, c.want)
		}
	}
	kept := at
	if err := (nullTime{&kept}).Scan("yesterday"); err == nil || !kept.Equal(at) {
		t.Errorf(`"yesterday" read as %v with error %v; want an error and the time unchanged`, kept, err)
	}
	var id int64 = 9
	if err := (nullInt{&id}).Scan(nil); err != nil || id != 0 {
		t.Errorf("NULL read as %d with error %v; want 0", id, err)
	}
}
