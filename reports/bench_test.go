package reports

import (
	"bytes"
	"context"
	"testing"
)

// BenchmarkTreeSVG renders each catalog tree with the statuses of a real analysis (the WASM
// module is compiled before the timer starts). Compare with `dot -Tsvg` on TreeDOT's output.
func BenchmarkTreeSVG(b *testing.B) {
	r, c := catalogResult(b)
	if _, err := TreeSVG(context.Background(), c, r, c.Trees()[0].ID); err != nil {
		b.Fatal(err)
	}
	for _, t := range c.Trees() {
		b.Run(t.ID, func(b *testing.B) {
			for b.Loop() {
				if _, err := TreeSVG(context.Background(), c, r, t.ID); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRender renders the whole-catalog result in every format.
func BenchmarkRender(b *testing.B) {
	r, c := catalogResult(b)
	for _, format := range Formats {
		b.Run(format, func(b *testing.B) {
			var buf bytes.Buffer
			for b.Loop() {
				buf.Reset()
				if err := Render(&buf, format, r, c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
