package web_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/oscgpio/oscgpio/config"
	"github.com/oscgpio/oscgpio/gpio"
	"github.com/oscgpio/oscgpio/oscmap"
	"github.com/oscgpio/oscgpio/oscmap/web"
)

// The dashboard of a bridge on simulated pins, with its controls on: a POST
// drives an output as an OSC message would, and the state follows.
func Example() {
	log := slog.New(slog.DiscardHandler)
	cfg, err := config.Parse("stage.yaml", []byte("outputs:\n  - {name: led, pin: GPIO17, address: /led}\n"))
	if err != nil {
		fmt.Println(err)
		return
	}
	b, err := oscmap.NewBridge(cfg, gpio.NewSim(log), oscmap.Options{Listen: "127.0.0.1:0", Logger: log})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	srv := web.New(b, web.Options{Control: b.Simulated(), Logger: log})
	defer srv.Close()
	ts := httptest.NewServer(srv)
	defer ts.Close()

	resp, err := http.Post(ts.URL+web.Prefix+"send", "application/json", strings.NewReader(`{"address": "/led", "args": [1]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	fmt.Println("POST", web.Prefix+"send:", resp.StatusCode)
	for _, p := range b.Points() {
		fmt.Println(p.Name, p.Value, p.Cause)
	}
	// Output:
	// POST /oscgpio/ui/send: 200
	// led 1 osc
}
