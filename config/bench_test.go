package config

import (
	"os"
	"testing"
)

// BenchmarkParse reads the largest example, pd-max-controller.yaml: what
// `oscgpio check`, start and every reload pay.
func BenchmarkParse(b *testing.B) {
	data, err := os.ReadFile("examples/pd-max-controller.yaml")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse("pd-max-controller.yaml", data); err != nil {
			b.Fatal(err)
		}
	}
}
