package config

import (
	"strings"
	"testing"
	"time"
)

// The keys of buttons and switches: mode, hold, repeat, report_at_start.
func TestButtonKeys(t *testing.T) {
	c := mustParse(t, base+`  - name: scene
    pin: GPIO22
    address: /scene
    to: [pd]
    mode: Latch
    hold: 800ms
    repeat: 200ms
    report_at_start: false
  - name: count
    pin: GPIO23
    address: /count
    to: [pd]
    mode: counter
    type: h
`)
	def, latch, count := c.Inputs[0], c.Inputs[1], c.Inputs[2]
	if def.Mode != ModeMomentary || def.Hold != 0 || def.Repeat != 0 || !def.ReportAtStart {
		t.Errorf("defaults: %+v", def)
	}
	if latch.Mode != ModeLatch || latch.Hold != 800*time.Millisecond || latch.Repeat != 200*time.Millisecond || latch.ReportAtStart {
		t.Errorf("latch: %+v", latch)
	}
	if count.Mode != ModeCounter || count.Type != 'h' {
		t.Errorf("counter: %+v", count)
	}
}

func TestButtonKeyErrors(t *testing.T) {
	in := func(lines ...string) string { return base + "    " + strings.Join(lines, "\n    ") + "\n" }
	for _, tc := range []struct{ name, src, pos, msg string }{
		{"mode word", in("mode: toggle"), "13:11", `mode must be momentary (the default), latch or counter for a digital input (relative and absolute are for kind: encoder), not "toggle"`},
		{"hold too short", in("hold: 5ms"), "13:11", "hold 5ms is out of range: use 0 (off) or 10ms to 60s"},
		{"hold too long", in("hold: 2m"), "13:11", "hold 2m is out of range"},
		{"hold no unit", in("hold: 800"), "13:11", `"800" has no unit`},
		{"repeat range", in("hold: 1s", "repeat: 1ms"), "14:13", "repeat 1ms is out of range"},
		{"repeat without hold", in("repeat: 200ms"), "13:13", "repeat works while the input is held: add hold:"},
		{"report_at_start word", in("report_at_start: yes please"), "13:22", "report_at_start must be true or false"},
		{"counter type T", in("mode: counter", "type: T"), "14:11", "mode counter sends a number: use type i, h, f or d, not T"},
		{"hold in an output", strings.Replace(base, "    address: /led", "    address: /led\n    hold: 1s", 1), "8:5", `unknown key "hold" in output "led"; hold is an input setting`},
		{"counter values", in("mode: counter", "values: {press: 2}"), "14:13", "mode counter sends the count, not values"},
	} {
		t.Run(tc.name, func(t *testing.T) { wantOne(t, tc.src, tc.pos, tc.msg) })
	}
}
