package subsets

import (
	"fmt"
	"slices"
	"testing"
)

func TestOfSize(t *testing.T) {
	var got []string
	for s := range OfSize(4, 2) {
		got = append(got, fmt.Sprint(s))
	}
	want := []string{"[0 1]", "[0 2]", "[0 3]", "[1 2]", "[1 3]", "[2 3]"}
	if !slices.Equal(got, want) {
		t.Errorf("OfSize(4, 2) = %v, want %v", got, want)
	}
	count := func(n, k int) (c int) {
		for range OfSize(n, k) {
			c++
		}
		return c
	}
	for _, tc := range []struct{ n, k, want int }{{5, 0, 1}, {5, 5, 1}, {5, 6, 0}, {12, 4, 495}} {
		if got := count(tc.n, tc.k); got != tc.want {
			t.Errorf("OfSize(%d, %d): %d subsets, want %d", tc.n, tc.k, got, tc.want)
		}
	}
}
