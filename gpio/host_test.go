package gpio

import (
	"errors"
	"io/fs"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"

	"periph.io/x/conn/v3/driver"
	"periph.io/x/conn/v3/driver/driverreg"
	pgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// chip builds a hostChip over (label, line names) for the selection tests.
func chip(name, label string, lines ...string) hostChip {
	return hostChip{name: name, label: label, lines: lines}
}

func TestPickLineByLabelAndName(t *testing.T) {
	header := []string{"ID_SDA", "ID_SCL", "GPIO2", "GPIO17", "GPIO27"}
	tests := []struct {
		name     string
		chips    []hostChip
		pin      string
		wantChip string
		wantLine string
	}{
		{"Pi 3: one chip", []hostChip{chip("gpiochip0", "pinctrl-bcm2835", header...)}, "GPIO17", "gpiochip0", "GPIO17"},
		{"Pi 4: expander first in the list is not used",
			[]hostChip{chip("gpiochip0", "raspberrypi-exp-gpio", "GPIO17"), chip("gpiochip1", "pinctrl-bcm2711", header...)},
			"GPIO17", "gpiochip1", "GPIO17"},
		{"Pi 5 on a newer kernel: header on gpiochip0",
			[]hostChip{chip("gpiochip0", "pinctrl-rp1", header...), chip("gpiochip10", "gpio-brcmstb@107d508500", "GPIO17")},
			"GPIO17", "gpiochip0", "GPIO17"},
		{"Pi 5 on an older kernel: header on gpiochip4",
			[]hostChip{chip("gpiochip0", "gpio-brcmstb@107d508500", "GPIO17"), chip("gpiochip4", "pinctrl-rp1", header...)},
			"GPIO17", "gpiochip4", "GPIO17"},
		{"preference rp1 > bcm2711 > bcm2835, whatever the order",
			[]hostChip{chip("gpiochip0", "pinctrl-bcm2835", header...), chip("gpiochip1", "pinctrl-bcm2711", header...), chip("gpiochip2", "pinctrl-rp1", header...)},
			"GPIO27", "gpiochip2", "GPIO27"},
		{"bcm2711 before bcm2835",
			[]hostChip{chip("gpiochip3", "pinctrl-bcm2835", header...), chip("gpiochip7", "pinctrl-bcm2711", header...)},
			"GPIO2", "gpiochip7", "GPIO2"},
		{"any other pinctrl- chip after the known ones",
			[]hostChip{chip("gpiochip0", "pinctrl-sunxi", "GPIO17"), chip("gpiochip1", "foo", "GPIO17")},
			"GPIO17", "gpiochip0", "GPIO17"},
		{"a preferred chip without the line falls through to the next",
			[]hostChip{chip("gpiochip0", "pinctrl-rp1", "ID_SDA"), chip("gpiochip1", "pinctrl-bcm2835", header...)},
			"GPIO17", "gpiochip1", "GPIO17"},
		{"line renamed by periph after a duplicate",
			[]hostChip{chip("gpiochip0", "pinctrl-bcm2835", "gpiochip0-GPIO17")},
			"GPIO17", "gpiochip0", "gpiochip0-GPIO17"},
		{"no pinctrl chip", []hostChip{chip("gpiochip0", "gpio-mockup-A", "GPIO17")}, "GPIO17", "", ""},
		{"no such line", []hostChip{chip("gpiochip0", "pinctrl-bcm2835", header...)}, "GPIO18", "", ""},
		{"no chips", nil, "GPIO17", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i, line, ok := pickLine(tt.chips, tt.pin)
			gotChip := ""
			if ok {
				gotChip = tt.chips[i].name
			}
			if gotChip != tt.wantChip || line != tt.wantLine || ok != (tt.wantChip != "") {
				t.Errorf("pickLine = %q %q %v, want %q %q", gotChip, line, ok, tt.wantChip, tt.wantLine)
			}
		})
	}
}

// fakeDriver is a periph driver for driverreg.State in tests.
type fakeDriver string

func (d fakeDriver) String() string          { return string(d) }
func (d fakeDriver) Prerequisites() []string { return nil }
func (d fakeDriver) After() []string         { return nil }
func (d fakeDriver) Init() (bool, error)     { return true, nil }

var _ driver.Impl = fakeDriver("")

// closingPin counts Close and Halt, like a gpioioctl.GPIOLine.
type closingPin struct {
	gpiotest.Pin
	closed, halted int
}

func (p *closingPin) Close()      { p.closed++ }
func (p *closingPin) Halt() error { p.halted++; return nil }

// testEnv is a machine with the given devices, open errors and chips.
func testEnv(devs map[string]error, chips []hostChip, registry map[string]pgpio.PinIO, st *driverreg.State) hostEnv {
	return hostEnv{
		glob: func(pattern string) ([]string, error) {
			var out []string
			for d := range devs {
				if ok, _ := filepath.Match(pattern, d); ok {
					out = append(out, d)
				}
			}
			return out, nil
		},
		open: func(path string, _ int) error { return devs[path] },
		init: func() (*driverreg.State, error) {
			if st == nil {
				return &driverreg.State{}, nil
			}
			return st, nil
		},
		chips:    func() []hostChip { return chips },
		byName:   func(n string) pgpio.PinIO { return registry[n] },
		anyPin:   func() bool { return len(registry) > 0 },
		stdLogTo: realHostEnv.stdLogTo,
	}
}

func TestOpenHostDeviceErrors(t *testing.T) {
	denied := &fs.PathError{Op: "open", Path: "/dev/gpiochip0", Err: syscall.EACCES}
	tests := []struct {
		name string
		devs map[string]error
		want string
	}{
		{"permission", map[string]error{"/dev/gpiochip0": denied, "/dev/gpiochip1": denied},
			"open /dev/gpiochip0: permission denied — add the user to the gpio group (sudo usermod -aG gpio $USER, then log in again)"},
		{"gpiomem only, permission", map[string]error{"/dev/gpiomem": syscall.EACCES},
			"open /dev/gpiomem: permission denied — add the user to the gpio group"},
		{"no device", map[string]error{},
			"no GPIO device found: /dev/gpiochip* does not exist"},
		{"devices but nothing loaded", map[string]error{"/dev/gpiochip0": nil},
			"GPIO devices /dev/gpiochip0 exist but periph.io found no GPIO line on them (failed drivers: ioctl-gpio: boom)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &driverreg.State{Failed: []driverreg.DriverFailure{{D: fakeDriver("ioctl-gpio"), Err: errors.New("boom")}}}
			_, err := openHost(slog.New(slog.DiscardHandler), testEnv(tt.devs, nil, nil, st))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	// The Pi's chip cannot be opened, another chip (and periph's registry)
	// can: still the permission error, not a later "no line named GPIO17".
	t.Run("permission on the header's chip only", func(t *testing.T) {
		chips := []hostChip{chip("gpiochip1", "raspberrypi-exp-gpio", "GPIO17")}
		reg := map[string]pgpio.PinIO{"GPIO529": &gpiotest.Pin{N: "GPIO529"}}
		_, err := openHost(slog.New(slog.DiscardHandler), testEnv(map[string]error{"/dev/gpiochip0": denied, "/dev/gpiochip1": nil}, chips, reg, nil))
		if err == nil || err.Error() != tests[0].want {
			t.Errorf("error = %v, want %q", err, tests[0].want)
		}
	})
}

func TestOpenHostLogsFailedDriversAndGoesOn(t *testing.T) {
	logger, buf := newTestLog(slog.LevelDebug)
	st := &driverreg.State{
		Loaded: []driver.Impl{fakeDriver("ioctl-gpio")},
		Failed: []driverreg.DriverFailure{
			{D: fakeDriver("bcm283x-gpio"), Err: errors.New(`gpioreg: can't alias "PWM0_OUT": already registered`)},
			{D: fakeDriver("bcm283x-dma"), Err: errors.New("no /dev/mem")},
		},
	}
	line17 := &closingPin{Pin: gpiotest.Pin{N: "GPIO17"}}
	chips := []hostChip{{name: "gpiochip0", label: "pinctrl-bcm2835", lines: []string{"GPIO17"},
		line: func(n string) pgpio.PinIO {
			if n == "GPIO17" {
				return line17
			}
			return nil
		}}}
	env := testEnv(map[string]error{"/dev/gpiochip0": nil}, chips, nil, st)
	env.init = func() (*driverreg.State, error) {
		log.Println("opening gpio chip /dev/gpiochip9 failed. error: nope") // periph's std-log noise
		return st, nil
	}
	stdOut := log.Writer()
	h, err := openHost(logger, env)
	if err != nil {
		t.Fatal(err)
	}
	if log.Writer() != stdOut {
		t.Error("the standard logger's output was not restored")
	}
	want := []string{
		`level=WARN msg="gpio driver failed to load" driver=bcm283x-gpio err="gpioreg: can't alias \"PWM0_OUT\": already registered"`,
		`level=WARN msg="gpio driver failed to load" driver=bcm283x-dma err="no /dev/mem"`,
	}
	if got := buf.lines("failed to load"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("failed-driver lines:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := buf.lines("level=DEBUG", "periph", "gpiochip9"); len(got) != 1 {
		t.Errorf("periph's std-log line not repeated at debug: %q", buf.String())
	}
	if h.Name() != "host" {
		t.Errorf("Name() = %q", h.Name())
	}
	p, err := h.Pin("GPIO17")
	if hl, ok := p.(*hostLine); err != nil || !ok || hl.line != line17 {
		t.Fatalf("Pin(GPIO17) = %v, %v", p, err)
	}
	if p2, _ := h.Pin("gpio17"); p2 != p {
		t.Error("Pin(gpio17) differs from Pin(GPIO17)")
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if line17.closed != 1 || line17.halted != 1 {
		t.Errorf("Close: line closed %d halted %d times, want 1 and 1", line17.closed, line17.halted)
	}
}

func TestHostPinFallbackAndErrors(t *testing.T) {
	reg := map[string]pgpio.PinIO{"GPIO22": &gpiotest.Pin{N: "GPIO22"}, "17": &gpiotest.Pin{N: "by-number"}}
	chips := []hostChip{
		{name: "gpiochip1", label: "raspberrypi-exp-gpio", lines: []string{"GPIO17"},
			line: func(string) pgpio.PinIO { t.Error("a non-Pi chip was used"); return nil }},
		{name: "gpiochip2", label: "pinctrl-bcm2835", lines: []string{"ID_SDA"},
			line: func(string) pgpio.PinIO { t.Error("a line not on the chip was asked for"); return nil }},
	}
	denied := &fs.PathError{Op: "open", Path: "/dev/gpiochip0", Err: syscall.EACCES}
	logger, buf := newTestLog(slog.LevelInfo)
	h, err := openHost(logger, testEnv(map[string]error{"/dev/gpiochip0": denied, "/dev/gpiochip1": nil}, chips, reg, nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := buf.lines("GPIO device not usable", "/dev/gpiochip0: permission denied", "gpio group"); len(got) != 1 {
		t.Errorf("unopenable chip not warned about: %q", buf.String())
	}
	if p, err := h.Pin("GPIO22"); err != nil || p.Name() != "GPIO22" {
		t.Errorf("registry fallback: %v %v", p, err)
	}
	_, err = h.Pin("GPIO17")
	for _, want := range []string{"no GPIO line named GPIO17", "gpiochip1 [raspberrypi-exp-gpio], gpiochip2 [pinctrl-bcm2835]", "permission denied — add the user to the gpio group"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Pin(GPIO17) error = %v, want %q in it", err, want)
		}
	}
	for _, bad := range []string{"17", "BCM17", "pin 11", "GPIO", "GPIO-1"} {
		if _, err := h.Pin(bad); err == nil || !strings.Contains(err.Error(), "is not a BCM GPIO name") {
			t.Errorf("Pin(%q) error = %v", bad, err)
		}
	}
}

// On this machine (no GPIO), the real OpenHost says so and Open("host")
// returns that error; Open("auto") falls back to sim with one warning.
func TestOpenOnMachineWithoutGPIO(t *testing.T) {
	if chips, _ := filepath.Glob("/dev/gpiochip*"); len(chips) > 0 {
		t.Skip("this machine has GPIO chips")
	}
	if how, ok := detectPi(os.DirFS("/")); ok {
		t.Skip("this machine looks like a Raspberry Pi: " + how)
	}
	logger, buf := newTestLog(slog.LevelInfo)
	if _, err := OpenHost(logger); err == nil || !strings.Contains(err.Error(), "no GPIO device found") {
		t.Errorf("OpenHost error = %v", err)
	}
	if b, err := Open("host", logger); err == nil || b != nil {
		t.Errorf("Open(host) = %v, %v; want nil and an error", b, err)
	}
	b, err := Open("auto", logger)
	if err != nil {
		t.Fatal(err)
	}
	if b.Name() != "sim" {
		t.Errorf("auto chose %q", b.Name())
	}
	want := `level=WARN msg="no Raspberry Pi GPIO found; using the simulated backend (--gpio sim)"`
	if got := buf.lines("no Raspberry Pi"); len(got) != 1 || got[0] != want {
		t.Errorf("auto log = %q, want [%q]", got, want)
	}
}

func TestOpenKinds(t *testing.T) {
	b, err := Open("sim", nil)
	if err != nil || b.Name() != "sim" {
		t.Fatalf("Open(sim) = %v, %v", b, err)
	}
	if _, ok := b.(*Sim); !ok {
		t.Errorf("Open(sim) is a %T", b)
	}
	for _, k := range []string{"", "pi", "Host", "gpiochip0"} {
		if _, err := Open(k, nil); err == nil || !strings.Contains(err.Error(), "use auto, host or sim") || !strings.Contains(err.Error(), `"`+k+`"`) {
			t.Errorf("Open(%q) error = %v", k, err)
		}
	}
}

func TestDetectPi(t *testing.T) {
	tests := []struct {
		name string
		fs   fstest.MapFS
		want bool
	}{
		{"Pi 5 chip label", fstest.MapFS{"sys/class/gpio/gpiochip571/label": {Data: []byte("pinctrl-rp1\n")}}, true},
		{"Pi 3 label on the gpio bus", fstest.MapFS{"sys/bus/gpio/devices/gpiochip0/label": {Data: []byte("pinctrl-bcm2835\n")}}, true},
		{"device tree model", fstest.MapFS{"proc/device-tree/model": {Data: []byte("Raspberry Pi 4 Model B Rev 1.4\x00")}}, true},
		{"firmware device tree model", fstest.MapFS{"sys/firmware/devicetree/base/model": {Data: []byte("Raspberry Pi Zero W Rev 1.1\x00")}}, true},
		{"gpiomem", fstest.MapFS{"dev/gpiomem": {}}, true},
		{"PC with a GPIO expander", fstest.MapFS{
			"sys/class/gpio/gpiochip512/label": {Data: []byte("INT34C5:00\n")},
			"proc/device-tree/model":           {Data: []byte("Pine64 RockPro64\x00")},
		}, false},
		{"nothing", fstest.MapFS{}, false},
	}
	for _, tt := range tests {
		how, got := detectPi(tt.fs)
		if got != tt.want || (got && how == "") {
			t.Errorf("%s: detectPi = %q %v, want %v", tt.name, how, got, tt.want)
		}
	}
}
