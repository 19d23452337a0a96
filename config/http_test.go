package config

import "testing"

func TestHTTPForms(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       HTTP
	}{
		{"absent", "", HTTP{}},
		{"off", "http: off\n", HTTP{Off: true, Pos: Pos{1, 7}}},
		{"false", "http: false\n", HTTP{Off: true, Pos: Pos{1, 7}}},
		{"address", "http: 0.0.0.0:8081\n", HTTP{Listen: "0.0.0.0:8081", Pos: Pos{1, 7}}},
		{"no host", "http: :5081\n", HTTP{Listen: ":5081", Pos: Pos{1, 7}}},
		{"mapping", "http: {listen: \"[::1]:5080\", control: true}\n", HTTP{Listen: "[::1]:5080", Control: true, Pos: Pos{1, 7}}},
		{"control only", "http:\n  control: true\n", HTTP{Control: true, Pos: Pos{2, 3}}},
		{"listen only", "http:\n  listen: 127.0.0.1:5090\n", HTTP{Listen: "127.0.0.1:5090", Pos: Pos{2, 3}}},
		{"control false", "http: {control: false}\n", HTTP{Pos: Pos{1, 7}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := mustParse(t, tc.yaml+base)
			if c.HTTP != tc.want {
				t.Errorf("HTTP = %+v, want %+v", c.HTTP, tc.want)
			}
		})
	}
}

func TestHTTPErrors(t *testing.T) {
	for _, tc := range []struct{ name, yaml, pos, msg string }{
		{"no port", "http: localhost\n", "1:7", `http "localhost" has no port: write off, HOST:PORT like 127.0.0.1:5080, or {listen: HOST:PORT, control: true}`},
		{"bad port", "http: 127.0.0.1:99999\n", "1:7", `http "127.0.0.1:99999" has port "99999", not a number from 1 to 65535`},
		{"on", "http: true\n", "1:7", `http "true" has no port`},
		{"list", "http: [a, b]\n", "1:7", `http must be off, HOST:PORT like 127.0.0.1:5080, or {listen: HOST:PORT, control: true}, not a list`},
		{"empty", "http:\n", "1:6", `http must be off, HOST:PORT`},
		{"bad listen", "http: {listen: nowhere}\n", "1:16", `http listen "nowhere" has no port: write host:port, like 127.0.0.1:5080`},
		{"listen list", "http: {listen: [a]}\n", "1:16", `http listen must be HOST:PORT like 127.0.0.1:5080, not a list`},
		{"bad control", "http: {control: maybe}\n", "1:17", `http control must be true or false, not "maybe"`},
		{"unknown key", "http:\n  listen: 127.0.0.1:5080\n  contrl: true\n", "3:3", `unknown key "contrl" in http: use listen: and control:`},
	} {
		t.Run(tc.name, func(t *testing.T) { wantOne(t, tc.yaml+base, tc.pos, tc.msg) })
	}
}
