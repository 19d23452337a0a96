package config

import (
	"strings"
	"testing"
	"time"
)

func TestOutputActionKeys(t *testing.T) {
	c, err := Parse("m.yaml", []byte(`outputs:
  - {name: bell, pin: GPIO17, address: /bell, pulse: 250ms, on_message: pulse, duty: 0.25}
`))
	if err != nil {
		t.Fatal(err)
	}
	o := c.Outputs[0]
	if o.Pulse != 250*time.Millisecond || o.OnMessage != "pulse" || o.Duty != 0.25 {
		t.Errorf("output %+v", o)
	}
	for _, c := range []struct{ text, want string }{
		{"outputs: [{name: a, pin: GPIO17, address: /a, pulse: 0s}]", `m.yaml:1:54: pulse 0s is out of range: use 1ms to 1h`},
		{"outputs: [{name: a, pin: GPIO17, address: /a, pulse: 2h}]", `m.yaml:1:54: pulse 2h is out of range`},
		{"outputs: [{name: a, pin: GPIO17, address: /a, duty: 1}]", `m.yaml:1:53: duty 1 is out of range`},
		{"outputs: [{name: a, pin: GPIO17, address: /a, on_message: hold}]", `m.yaml:1:59: on_message must be one of set, pulse, not "hold"`},
		{"outputs:\n  - {name: a, pin: GPIO17, address: /a}\n  - {name: b, pin: GPIO22, address: /a/pulse}\n", `m.yaml:3:37: address /a/pulse is the pulse action of /a, the address of "a" (line 2): choose another address`},
		{"outputs:\n  - {name: b, pin: GPIO22, address: /a/blink}\n  - {name: a, pin: GPIO17, address: /a}\n", `m.yaml:3:37: address /a would make /a/blink its blink action, but "b" (line 2) uses that address`},
	} {
		_, err := Parse("m.yaml", []byte(c.text))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant %s", c.text, err, c.want)
		}
	}
}

func TestPWMOutputs(t *testing.T) {
	c, err := Parse("m.yaml", []byte(`outputs:
  - {name: d, kind: pwm, pin: GPIO18, address: /d, range: [0, 127], gamma: 2.2, frequency: 2kHz, initial: 64, safe: off}
  - {name: s, kind: servo, pin: GPIO19, address: /s, initial: "on"}
`))
	if err != nil {
		t.Fatal(err)
	}
	d, s := c.Outputs[0], c.Outputs[1]
	if d.Kind != OutputPWM || d.Range != [2]float64{0, 127} || d.Gamma != 2.2 || d.Frequency != 2000 || d.InitialValue != 64 || d.SafeValue != 0 {
		t.Errorf("pwm %+v", d)
	}
	if s.Kind != OutputServo || s.Range != [2]float64{0, 180} || s.Frequency != 50 || s.MinPulse != time.Millisecond || s.MaxPulse != 2*time.Millisecond || s.InitialValue != 180 {
		t.Errorf("servo %+v", s)
	}
	for _, c := range []struct{ text, want string }{
		{"outputs: [{name: a, kind: pwm, pin: GPIO18, address: /a, gamma: 0}]", `gamma 0 is out of range`},
		{"outputs: [{name: a, kind: servo, pin: GPIO18, address: /a, min_pulse: 300us}]", `min_pulse 300us is out of range: a servo takes pulses of 500us to 2500us`},
		{"outputs: [{name: a, pin: GPIO18, address: /a, initial: 0.5}]", `initial must be on or off (or true/false, 1/0), not "0.5": a value is for kind: pwm or servo outputs`},
		{"outputs: [{name: a, pin: GPIO18, address: /a, gamma: 2}]", `gamma is a setting of kind: pwm outputs`},
		{"outputs: [{name: a, kind: pwm, pin: GPIO18, address: /a, initial: 2}]", `initial 2 is outside the range [0, 1]`},
		{"outputs: [{name: a, kind: dimmer, pin: GPIO18, address: /a}]", `kind must be one of digital, pwm, servo`},
		{"outputs: [{name: a, kind: servo, pin: GPIO18, address: /a, min_pulse: 2000us}]", `max_pulse (2ms) must be longer than min_pulse (2ms)`},
	} {
		_, err := Parse("m.yaml", []byte(c.text))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s:\n got %v\nwant %s", c.text, err, c.want)
		}
	}
}

func TestWatchdogKeys(t *testing.T) {
	c, err := Parse("m.yaml", []byte("watchdog: 2s\noutputs:\n  - {name: a, pin: GPIO17, address: /a}\n  - {name: b, pin: GPIO22, address: /b, watchdog: 500ms}\n  - {name: c, pin: GPIO23, address: /c, watchdog: 0s}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := []time.Duration{c.Outputs[0].Watchdog, c.Outputs[1].Watchdog, c.Outputs[2].Watchdog}; got[0] != 2*time.Second || got[1] != 500*time.Millisecond || got[2] != 0 {
		t.Errorf("watchdogs %v, want [2s 500ms 0s]", got)
	}
	for _, text := range []string{"watchdog: 10ms\n", "outputs: [{name: a, pin: GPIO17, address: /a, watchdog: 2h}]\n"} {
		if _, err := Parse("m.yaml", []byte(text)); err == nil || !strings.Contains(err.Error(), "watchdog") || !strings.Contains(err.Error(), "out of range") {
			t.Errorf("%q: %v, want a watchdog range error", text, err)
		}
	}
}

func TestAllowAndRateLimit(t *testing.T) {
	c, err := Parse("m.yaml", []byte(`allow: [192.168.1.0/24, 10.0.0.5, "::1", {net: 10.0.0.9, rate_limit: {rate: 1000, burst: 100}}]
rate_limit: {rate: 200, burst: 50}
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Allow) != 4 || c.Allow[0].Net.String() != "192.168.1.0/24" || c.Allow[1].Net.String() != "10.0.0.5/32" ||
		c.Allow[2].Net.String() != "::1/128" || c.Allow[3].RateLimit == nil || *c.Allow[3].RateLimit != (RateLimit{1000, 100}) {
		t.Errorf("allow %+v", c.Allow)
	}
	if c.RateLimit == nil || *c.RateLimit != (RateLimit{200, 50}) {
		t.Errorf("rate_limit %+v", c.RateLimit)
	}
	for _, c := range []struct{ text, want string }{
		{"allow: [10.0.0.300]\n", `m.yaml:1:9: allow entry "10.0.0.300" is neither an address nor a network`},
		{"allow: 10.0.0.5\n", `allow must be a list of addresses and networks`},
		{"rate_limit: {rate: 0}\n", `rate must be a number of messages a second above 0`},
		{"rate_limit: {rate: 10, burst: 0}\n", `burst must be a whole number of messages, at least 1`},
	} {
		_, err := Parse("m.yaml", []byte(c.text))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q:\n got %v\nwant %s", c.text, err, c.want)
		}
	}
}

func TestMaxScheduleAhead(t *testing.T) {
	for text, want := range map[string]time.Duration{"": time.Minute, "max_schedule_ahead: 5s\n": 5 * time.Second, "max_schedule_ahead: 0s\n": 0} {
		c, err := Parse("m.yaml", []byte(text))
		if err != nil || c.MaxScheduleAhead != want {
			t.Errorf("%q: %v, %v; want %v", text, c, err, want)
		}
	}
	if _, err := Parse("m.yaml", []byte("max_schedule_ahead: 100ms\n")); err == nil || !strings.Contains(err.Error(), "max_schedule_ahead 100ms is out of range") {
		t.Errorf("100ms: %v", err)
	}
}
