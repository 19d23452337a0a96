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
