package oscquery_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/oscgpio/oscgpio/config"
	"github.com/oscgpio/oscgpio/gpio"
	"github.com/oscgpio/oscgpio/oscmap"
	"github.com/oscgpio/oscgpio/oscmap/oscquery"
)

// An OSCQuery server for a bridge on simulated pins: a client reads the
// namespace and the values over HTTP.
func Example() {
	log := slog.New(slog.DiscardHandler)
	cfg, err := config.Parse("stage.yaml", []byte("outputs:\n  - {name: led, pin: GPIO17, address: /led, initial: on}\n"))
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
	srv := oscquery.New(b, oscquery.Options{Name: "oscgpio on stage-pi", Logger: log})
	defer srv.Close()
	ts := httptest.NewServer(srv)
	defer ts.Close()

	for _, path := range []string{"/led?VALUE", "/led?TYPE", "/led?ACCESS", "/nothing"} {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			fmt.Println(err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(path, resp.StatusCode, string(body))
	}
	// Output:
	// /led?VALUE 200 {"VALUE":[true]}
	// /led?TYPE 200 {"TYPE":"T"}
	// /led?ACCESS 200 {"ACCESS":3}
	// /nothing 404 no OSC container or method at /nothing (GET / lists them)
}
