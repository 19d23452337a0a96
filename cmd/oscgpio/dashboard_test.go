package main

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"

	"github.com/oscgpio/oscgpio/config"
	"github.com/oscgpio/oscgpio/gpio"
	"github.com/oscgpio/oscgpio/oscmap"
)

// Where the dashboard listens, and what a taken address does: an error when
// --http or the mapping named it (before any pin is opened), a warning and
// no dashboard when it is the default.
func TestOpenDashboard(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	taken := busy.Addr().String()
	saved := defaultHTTP
	defer func() { defaultHTTP = saved }()

	mapping := func(http string) *config.Config {
		src := "outputs:\n  - {name: led, pin: GPIO17, address: /led}\n"
		if http != "" {
			src = "http: " + http + "\n" + src
		}
		c, err := config.Parse("m.yaml", []byte(src))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, tc := range []struct {
		name, flag, http, def string
		listening             bool
		err, warn             string
	}{
		{name: "default", def: "127.0.0.1:0", listening: true},
		{name: "default taken", def: taken, warn: "no dashboard: its default address is taken"},
		{name: "flag off", flag: "off", def: taken},
		{name: "mapping off", http: "off", def: taken},
		{name: "flag over mapping off", flag: "127.0.0.1:0", http: "off", listening: true},
		{name: "flag taken", flag: taken, err: "dashboard: cannot listen on " + taken},
		{name: "mapping taken", http: taken, err: "choose another with --http HOST:PORT"},
		{name: "mapping control only, default taken", http: "{control: true}", def: taken, warn: "no dashboard"},
		{name: "bad flag", flag: "5080", err: `--http "5080": write HOST:PORT`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defaultHTTP = tc.def
			var log bytes.Buffer
			d, err := openDashboard(tc.flag, mapping(tc.http), slog.New(slog.NewTextHandler(&log, nil)))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				if tc.flag == "5080" && !errors.Is(err, errUsage) {
					t.Errorf("a bad --http is not a usage error: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer d.close()
			if (d.ln != nil) != tc.listening {
				t.Errorf("listening %v, want %v", d.ln != nil, tc.listening)
			}
			if !strings.Contains(log.String(), tc.warn) || tc.warn == "" && log.Len() > 0 {
				t.Errorf("log %q, want %q", log.String(), tc.warn)
			}
		})
	}
}

// A reload that changes http: listen moves the dashboard; one that names a
// taken address leaves it where it was; --http pins it.
func TestDashboardFollowsReload(t *testing.T) {
	free := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().String()
	}
	mapping := func(listen string) *config.Config {
		c, err := config.Parse("m.yaml", []byte("http: "+listen+"\noutputs:\n  - {name: led, pin: GPIO17, address: /led}\n"))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	var log bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&log, nil))
	first := free()
	cfg := mapping(first)
	d, err := openDashboard("", cfg, logger)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	b, err := oscmap.NewBridge(cfg, gpio.NewSim(logger), oscmap.Options{Listen: "127.0.0.1:0", Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	d.start(b)
	if got := d.srv.URL(); got != "http://"+first+"/" {
		t.Fatalf("URL %s, want %s", got, first)
	}

	second := free()
	if err := b.Apply(mapping(second)); err != nil {
		t.Fatal(err)
	}
	if got := d.srv.URL(); got != "http://"+second+"/" {
		t.Errorf("after the reload: %s, want %s\n%s", got, second, log.String())
	}

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	if err := b.Apply(mapping(busy.Addr().String())); err != nil {
		t.Fatal(err)
	}
	if got := d.srv.URL(); got != "http://"+second+"/" || !strings.Contains(log.String(), "the dashboard stays where it was") {
		t.Errorf("after a reload to a taken address: %s, want %s\n%s", got, second, log.String())
	}

	d.flagSet = true // as with --http
	if err := b.Apply(mapping(free())); err != nil {
		t.Fatal(err)
	}
	if got := d.srv.URL(); got != "http://"+second+"/" {
		t.Errorf("--http moved by a reload: %s", got)
	}
}

// A reload that moves the dashboard while the bridge stops (SIGTERM during
// a SIGHUP's reload: run closes the dashboard while the reload goroutine is
// still in Apply) neither races on the server nor uses it once closed, and
// leaves nothing listening.
func TestDashboardReloadWhileClosing(t *testing.T) {
	free := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().String()
	}
	mapping := func(listen string) *config.Config {
		c, err := config.Parse("m.yaml", []byte("http: "+listen+"\noutputs:\n  - {name: led, pin: GPIO17, address: /led}\n"))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for range 20 {
		cfg := mapping(free())
		d, err := openDashboard("", cfg, logger)
		if err != nil {
			t.Fatal(err)
		}
		b, err := oscmap.NewBridge(cfg, gpio.NewSim(logger), oscmap.Options{Listen: "127.0.0.1:0", Logger: logger})
		if err != nil {
			t.Fatal(err)
		}
		d.start(b)
		moved := free()
		done := make(chan struct{})
		go func() {
			defer close(done)
			d.reloaded(mapping(moved))
		}()
		d.close()
		<-done
		if c, err := net.Dial("tcp", moved); err == nil {
			c.Close()
			t.Errorf("the dashboard listens at %s after close", moved)
		}
		b.Close()
	}
}

// Controls reachable from the network with no allow list get a warning at
// start; on loopback, or with an allow list, none.
func TestDashboardControlsOnTheNetworkWarn(t *testing.T) {
	for _, tc := range []struct {
		name, listen, allow string
		warn                bool
	}{
		{"loopback", "127.0.0.1:0", "", false},
		{"every interface, no allow", "0.0.0.0:0", "", true},
		{"every interface, allow", "0.0.0.0:0", "allow: [127.0.0.1]\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := config.Parse("m.yaml", []byte(tc.allow+"outputs:\n  - {name: led, pin: GPIO17, address: /led}\n"))
			if err != nil {
				t.Fatal(err)
			}
			var log bytes.Buffer
			lg := slog.New(slog.NewTextHandler(&log, nil))
			d, err := openDashboard(tc.listen, cfg, lg)
			if err != nil {
				t.Fatal(err)
			}
			defer d.close()
			b, err := oscmap.NewBridge(cfg, gpio.NewSim(lg), oscmap.Options{Listen: "127.0.0.1:0", Logger: lg})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			d.start(b) // the sim: controls on
			if got := strings.Contains(log.String(), "the dashboard's controls are open to the network with no allow list"); got != tc.warn {
				t.Errorf("warned %v, want %v:\n%s", got, tc.warn, log.String())
			}
		})
	}
}
