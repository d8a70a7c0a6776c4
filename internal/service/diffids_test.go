package service

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// diffIDs and withoutIDs against their definitions, on random sorted lists
// of distinct ids (as grantees and the store give them).
func TestDiffIDs(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	list := func() []int64 {
		var ids []int64
		for id := int64(1); id <= 40; id++ {
			if r.IntN(3) == 0 {
				ids = append(ids, id)
			}
		}
		return ids
	}
	// notIn returns the ids of a not in b.
	notIn := func(a, b []int64) []int64 {
		var out []int64
		for _, id := range a {
			if !slices.Contains(b, id) {
				out = append(out, id)
			}
		}
		return out
	}
	for range 2000 {
		before, after := list(), list()
		added, removed := diffIDs(before, after)
		if want := notIn(after, before); !slices.Equal(added, want) {
			t.Fatalf("diffIDs(%v, %v) added %v; want %v", before, after, added, want)
		}
		if want := notIn(before, after); !slices.Equal(removed, want) {
			t.Fatalf("diffIDs(%v, %v) removed %v; want %v", before, after, removed, want)
		}
		if got, want := withoutIDs(after, before), notIn(after, before); !slices.Equal(got, want) {
			t.Fatalf("withoutIDs(%v, %v) = %v; want %v", after, before, got, want)
		}
	}
}
