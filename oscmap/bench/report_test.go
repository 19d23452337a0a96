package bench

import (
	"strings"
	"testing"
)

func TestLossPlace(t *testing.T) {
	tests := []struct {
		step Step
		want string
	}{
		{Step{Alternation: Alternation{Missing: 60}}, "the target lost them itself"},
		{Step{Alternation: Alternation{Missing: 60}, TargetDrops: 60}, "the target's socket dropped 60"},
		{Step{Alternation: Alternation{Missing: 60}, BenchDrops: 5, TargetDrops: -1}, "the bench's socket dropped 5"},
		{Step{Alternation: Alternation{Missing: 60}, TargetDrops: -1}, "the target, or the network"},
		{Step{Alternation: Alternation{Missing: 6}, Late: 6}, ""},
		{Step{Alternation: Alternation{Breaks: 2}}, ""},
	}
	for _, tt := range tests {
		got := lossPlace(&tt.step)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("lossPlace(%+v) = %q, want %q", tt.step, got, tt.want)
		}
	}
}
