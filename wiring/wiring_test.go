package wiring

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// pinout is the header as printed on pinout cards: one row per pair of
// positions, odd on the left. It is written independently of the table in
// wiring.go so that each position is checked against a second source.
const pinout = `
3V3    5V
GPIO2  5V
GPIO3  GND
GPIO4  GPIO14
GND    GPIO15
GPIO17 GPIO18
GPIO27 GND
GPIO22 GPIO23
3V3    GPIO24
GPIO10 GND
GPIO9  GPIO25
GPIO11 GPIO8
GND    GPIO7
GPIO0  GPIO1
GPIO5  GND
GPIO6  GPIO12
GPIO13 GND
GPIO19 GPIO16
GPIO26 GPIO20
GND    GPIO21
`

// functions lists, per alternate function, the BCM GPIOs that carry it.
var functions = map[string][]int{
	"I2C1 SDA":      {2},
	"I2C1 SCL":      {3},
	"GPCLK0":        {4},
	"SPI0 MOSI":     {10},
	"SPI0 MISO":     {9},
	"SPI0 SCLK":     {11},
	"SPI0 CE0":      {8},
	"SPI0 CE1":      {7},
	"SPI1 CE2":      {16},
	"SPI1 CE1":      {17},
	"SPI1 CE0":      {18},
	"SPI1 MISO":     {19},
	"SPI1 MOSI":     {20},
	"SPI1 SCLK":     {21},
	"UART0 TX":      {14},
	"UART0 RX":      {15},
	"PWM0":          {12, 18},
	"PWM1":          {13, 19},
	"PCM CLK":       {18},
	"PCM FS":        {19},
	"PCM DIN":       {20},
	"PCM DOUT":      {21},
	"ID EEPROM SDA": {0},
	"ID EEPROM SCL": {1},
}

func TestHeaderMatchesPinout(t *testing.T) {
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(pinout), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			t.Fatalf("bad pinout row %q", line)
		}
		names = append(names, f...)
	}
	h := Header()
	if len(h) != 40 || len(names) != 40 {
		t.Fatalf("Header() has %d pins, pinout %d; want 40", len(h), len(names))
	}
	for i, p := range h {
		if p.Position != i+1 {
			t.Errorf("Header()[%d].Position = %d, want %d", i, p.Position, i+1)
		}
		if p.Name() != names[i] {
			t.Errorf("position %d is %s, pinout says %s", i+1, p.Name(), names[i])
		}
		switch p.Kind {
		case GPIO:
			if want := "GPIO" + strconv.Itoa(p.BCM); p.Name() != want {
				t.Errorf("position %d: Name %q, BCM %d", i+1, p.Name(), p.BCM)
			}
		default:
			if p.BCM != -1 {
				t.Errorf("position %d (%s): BCM = %d, want -1", i+1, p.Name(), p.BCM)
			}
		}
	}
}

func TestPowerAndGroundPositions(t *testing.T) {
	want := map[Kind][]int{
		Power3V3: {1, 17},
		Power5V:  {2, 4},
		Ground:   {6, 9, 14, 20, 25, 30, 34, 39},
	}
	got := map[Kind][]int{}
	gpios := map[int]bool{}
	for _, p := range Header() {
		if p.Kind == GPIO {
			if gpios[p.BCM] {
				t.Errorf("GPIO%d appears twice", p.BCM)
			}
			gpios[p.BCM] = true
			continue
		}
		got[p.Kind] = append(got[p.Kind], p.Position)
	}
	for k, w := range want {
		if !slices.Equal(got[k], w) {
			t.Errorf("%s at positions %v, want %v", k, got[k], w)
		}
	}
	for n := 0; n <= 27; n++ {
		if !gpios[n] {
			t.Errorf("GPIO%d is not on the header", n)
		}
	}
	if len(gpios) != 28 {
		t.Errorf("%d GPIOs on the header, want 28 (GPIO0-GPIO27)", len(gpios))
	}
}

func TestFunctions(t *testing.T) {
	want := map[int][]string{}
	for f, bcms := range functions {
		for _, n := range bcms {
			want[n] = append(want[n], f)
		}
	}
	for _, p := range Header() {
		got := slices.Clone(p.Functions)
		slices.Sort(got)
		w := want[p.BCM]
		if p.Kind != GPIO {
			w = nil
		}
		slices.Sort(w)
		if !slices.Equal(got, w) {
			t.Errorf("%s functions %v, want %v", p, got, w)
		}
	}
}

func TestLookups(t *testing.T) {
	for _, p := range Header() {
		q, ok := ByPosition(p.Position)
		if !ok || q.Position != p.Position || q.Name() != p.Name() {
			t.Errorf("ByPosition(%d) = %v, %v", p.Position, q, ok)
		}
		if p.Kind == GPIO {
			q, ok := ByBCM(p.BCM)
			if !ok || q.Position != p.Position {
				t.Errorf("ByBCM(%d) = %v, %v; want %v", p.BCM, q, ok, p)
			}
		}
	}
	for _, n := range []int{0, -1, 41} {
		if p, ok := ByPosition(n); ok {
			t.Errorf("ByPosition(%d) = %v, true; want false", n, p)
		}
	}
	for _, n := range []int{-1, 28, 40} {
		if p, ok := ByBCM(n); ok {
			t.Errorf("ByBCM(%d) = %v, true; want false", n, p)
		}
	}
}

func TestTableIsNotShared(t *testing.T) {
	h := Header()
	h[11].Functions[0] = "changed"
	h[11].BCM = 99
	p, _ := ByPosition(12)
	if p.BCM != 18 || p.Functions[0] != "PWM0" {
		t.Fatalf("changing Header()'s result changed the table: %+v", p)
	}
	p.Functions[0] = "changed"
	if q, _ := ByBCM(18); q.Functions[0] != "PWM0" {
		t.Fatalf("changing ByPosition's result changed the table: %+v", q)
	}
}

func TestNameAndString(t *testing.T) {
	for _, tc := range []struct {
		pos        int
		name, str  string
		kindString string
	}{
		{11, "GPIO17", "GPIO17 (pin 11)", "GPIO"},
		{1, "3V3", "3V3 (pin 1)", "3V3 power"},
		{4, "5V", "5V (pin 4)", "5V power"},
		{39, "GND", "GND (pin 39)", "ground"},
	} {
		p, _ := ByPosition(tc.pos)
		if p.Name() != tc.name || p.String() != tc.str || p.Kind.String() != tc.kindString {
			t.Errorf("position %d: Name %q String %q Kind %q; want %q %q %q",
				tc.pos, p.Name(), p.String(), p.Kind, tc.name, tc.str, tc.kindString)
		}
	}
}

func TestResolveSpellings(t *testing.T) {
	for _, s := range []string{
		"GPIO17", "gpio17", "Gpio17", "GPIO 17", "  GPIO17  ", "BCM17", "bcm17", "bcm 17", "17", " 17 ",
		"pin 11", "PIN 11", "pin11", "Pin  11", "P1_11", "p1_11", "P1-11", "J8_11", "j8-11",
	} {
		p, err := Resolve(s)
		if err != nil {
			t.Errorf("Resolve(%q): %v", s, err)
			continue
		}
		if p.BCM != 17 || p.Position != 11 || p.Kind != GPIO {
			t.Errorf("Resolve(%q) = %+v, want GPIO17 (pin 11)", s, p)
		}
	}
	// Every usable GPIO resolves by each spelling to the same position.
	for _, p := range Header() {
		if p.Kind != GPIO || p.BCM < 2 {
			continue
		}
		for _, s := range []string{
			p.Name(), "BCM" + strconv.Itoa(p.BCM), strconv.Itoa(p.BCM),
			"pin " + strconv.Itoa(p.Position), "P1_" + strconv.Itoa(p.Position), "P1-" + strconv.Itoa(p.Position),
		} {
			q, err := Resolve(s)
			if err != nil || q.Position != p.Position {
				t.Errorf("Resolve(%q) = %v, %v; want %v", s, q, err, p)
			}
		}
	}
}

func TestResolveErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"GPIO41", `pin "GPIO41" is not on the 40-pin header (GPIO2-GPIO27)`},
		{"28", `pin "28" is not on the 40-pin header (GPIO2-GPIO27)`},
		{"BCM99999999999999999999", `pin "BCM99999999999999999999" is not on the 40-pin header (GPIO2-GPIO27)`},
		{"pin 41", `pin "pin 41" is not on the 40-pin header (positions 1-40)`},
		{"P1_0", `pin "P1_0" is not on the 40-pin header (positions 1-40)`},
		{"pin 2", `pin 2 is 5V power, not a GPIO: use a GPIO such as GPIO17 (pin 11)`},
		{"P1_1", `pin 1 is 3V3 power, not a GPIO: use a GPIO such as GPIO17 (pin 11)`},
		{"pin 6", `pin 6 is ground, not a GPIO: use a GPIO such as GPIO17 (pin 11)`},
		{"GND", `pin "GND" is ground, not a GPIO: use a GPIO such as GPIO17 (pin 11)`},
		{"5v", `pin "5v" is 5V power, not a GPIO`},
		{"3V3", `pin "3V3" is 3V3 power, not a GPIO`},
		{"GPIO0", `pin "GPIO0" is GPIO0 (pin 27), reserved for the HAT ID EEPROM: use GPIO2-GPIO27, such as GPIO17 (pin 11)`},
		{"1", `pin "1" is GPIO1 (pin 28), reserved for the HAT ID EEPROM`},
		{"pin 27", `pin "pin 27" is GPIO0 (pin 27), reserved for the HAT ID EEPROM`},
		{"P1-28", `pin "P1-28" is GPIO1 (pin 28), reserved for the HAT ID EEPROM`},
		{"", `pin is empty`},
		{"   ", `pin is empty`},
		{"LED", `pin "LED" is not a pin name: write GPIO17, BCM17 or 17 (BCM numbering), or pin 11 or P1_11 (header position)`},
		{"GPIO-1", `pin "GPIO-1" is not a pin name`},
		{"GPIO", `pin "GPIO" is not a pin name`},
		{"+17", `pin "+17" is not a pin name`},
		{"pin eleven", `pin "pin eleven" is not a pin name: write pin 11 or P1_11`},
	} {
		p, err := Resolve(tc.in)
		if err == nil {
			t.Errorf("Resolve(%q) = %v, want error %q", tc.in, p, tc.want)
			continue
		}
		if !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("Resolve(%q) error\n got: %s\nwant: %s", tc.in, err, tc.want)
		}
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	rows := 0
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if len(line) > 80 {
			t.Errorf("line longer than 80 columns (%d): %q", len(line), line)
		}
		if strings.Contains(line, " | ") && !strings.Contains(line, "PIN") {
			rows++
		}
	}
	if rows != 20 {
		t.Errorf("%d pin rows, want 20:\n%s", rows, out)
	}
	// Each row of the independent pinout appears in order, with its positions.
	lines := strings.Split(pinout, "\n")[1:]
	for i, line := range lines[:20] {
		f := strings.Fields(line)
		want := f[0] + " " + strconv.Itoa(2*i+1) + " | " + strconv.Itoa(2*i+2) + " " + f[1]
		if !strings.Contains(strings.Join(strings.Fields(out), " "), want) {
			t.Errorf("table lacks row %q", want)
		}
	}
	for _, f := range []string{"PWM0, PCM CLK, SPI1 CE0", "UART0 TX", "ID EEPROM SDA", "SPI0 MOSI"} {
		if !strings.Contains(out, f) {
			t.Errorf("table lacks %q", f)
		}
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errWrite }

var errWrite = &writeError{}

type writeError struct{}

func (*writeError) Error() string { return "disk full" }

func TestWriteTableError(t *testing.T) {
	if err := WriteTable(failWriter{}); err != errWrite {
		t.Fatalf("WriteTable to a failing writer = %v, want %v", err, errWrite)
	}
}

func TestGPIONumber(t *testing.T) {
	for name, want := range map[string]int{"GPIO0": 0, "GPIO1": 1, "gpio17": 17, "Gpio27": 27, "GPIO017": 17} {
		if n, ok := GPIONumber(name); !ok || n != want {
			t.Errorf("GPIONumber(%q) = %d, %v; want %d", name, n, ok, want)
		}
	}
	for _, bad := range []string{"", "GPIO", "GPIO28", "GPIO41", "GPIO-1", "GPIO+3", "GPIO 3", "17", "BCM17", "pin 11", "GPIO1x", "GPIO00028", "GPIO99999999999"} {
		if n, ok := GPIONumber(bad); ok {
			t.Errorf("GPIONumber(%q) = %d, true; want false", bad, n)
		}
	}
	// Every name the header table gives is accepted and round-trips.
	for _, p := range Header() {
		if p.Kind != GPIO {
			continue
		}
		if n, ok := GPIONumber(p.Name()); !ok || n != p.BCM {
			t.Errorf("GPIONumber(%q) = %d, %v", p.Name(), n, ok)
		}
	}
}
