package web

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// postAs posts body to the send of ts as a page opened at host would, with
// the page's Origin.
func postAs(t *testing.T, ts interface{ Client() *http.Client }, url, host, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/oscgpio/ui/send", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Host = host
	req.Header.Set("Origin", "http://"+host)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data)
}

// A name that only starts like the machine's (raspberrypi.evil.example) is
// another site's, which DNS rebinding can point at the bridge: the page
// served there must not drive the pins. The machine's name, and it under a
// name no public DNS answers for (raspberrypi.local), still may.
func TestSendRefusesLookalikeHost(t *testing.T) {
	b := newBridge(t)
	s, ts := newServer(t, b, Options{Control: true})
	s.host = "raspberrypi"
	for _, tc := range []struct {
		host string
		ok   bool
	}{
		{"raspberrypi:5080", true},
		{"raspberrypi.local:5080", true},
		{"raspberrypi.lan:5080", true},
		{"raspberrypi.home.arpa:5080", true},
		{"127.0.0.1:5080", true},
		{"raspberrypi.evil.example:5080", false},
		{"raspberrypi.attacker.com", false},
		{"raspberrypi-x.local:5080", false},
	} {
		code, body := postAs(t, ts, ts.URL, tc.host, `{"address": "/led", "args": [1]}`)
		if (code == http.StatusOK) != tc.ok {
			t.Errorf("page at %s: %d %s; want allowed %v", tc.host, code, body, tc.ok)
		}
	}
}
