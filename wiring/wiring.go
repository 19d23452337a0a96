// Package wiring models the Raspberry Pi 40-pin header: which physical
// position is which BCM GPIO, power or ground pin, and which alternate
// functions (I2C, SPI, UART, PWM, PCM) each GPIO carries.
//
// It is a plain table, the same on every 40-pin Pi (B+, 2, 3, 4, 5, Zero),
// and knows nothing of OSC or of how pins are driven. Resolve turns the pin
// names people write in a mapping file into a Pin.
package wiring

import (
	"fmt"
	"strconv"
	"strings"
)

// Kind says what a header position is: a GPIO, a power pin or ground.
type Kind int

// The kinds of header position.
const (
	GPIO     Kind = iota // a general-purpose I/O line
	Power3V3             // 3.3 V supply (positions 1 and 17)
	Power5V              // 5 V supply (positions 2 and 4)
	Ground               // ground (GND)
)

// String returns "GPIO", "3V3 power", "5V power" or "ground".
func (k Kind) String() string {
	switch k {
	case GPIO:
		return "GPIO"
	case Power3V3:
		return "3V3 power"
	case Power5V:
		return "5V power"
	case Ground:
		return "ground"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Pin is one position of the 40-pin header.
type Pin struct {
	Position  int      // physical header position 1..40
	BCM       int      // BCM GPIO number; -1 for power and ground
	Kind      Kind     // GPIO, power or ground
	Functions []string // alternate functions, e.g. "I2C1 SDA", "SPI0 MOSI", "UART0 TX", "PWM0", "PCM CLK"
}

// Name returns the pin's name: "GPIO17", "3V3", "5V" or "GND".
func (p Pin) Name() string {
	switch p.Kind {
	case GPIO:
		if p.BCM >= 0 && p.BCM < len(gpioNames) {
			return gpioNames[p.BCM]
		}
		return "GPIO" + strconv.Itoa(p.BCM)
	case Power3V3:
		return "3V3"
	case Power5V:
		return "5V"
	case Ground:
		return "GND"
	}
	return "?"
}

// gpioNames are the names of GPIO0-GPIO27, made once: Name is called for
// every change of a pin, and a name built each time is garbage each time.
var gpioNames = func() (n [lastBCM + 1]string) {
	for i := range n {
		n[i] = "GPIO" + strconv.Itoa(i)
	}
	return n
}()

// String returns the name and the header position, like "GPIO17 (pin 11)".
func (p Pin) String() string {
	return fmt.Sprintf("%s (pin %d)", p.Name(), p.Position)
}

// header is the 40-pin header, position 1 first. Odd positions are the row
// nearer the middle of the board, even positions the row along its edge.
var header = [40]Pin{
	{1, -1, Power3V3, nil},
	{2, -1, Power5V, nil},
	{3, 2, GPIO, []string{"I2C1 SDA"}},
	{4, -1, Power5V, nil},
	{5, 3, GPIO, []string{"I2C1 SCL"}},
	{6, -1, Ground, nil},
	{7, 4, GPIO, []string{"GPCLK0"}},
	{8, 14, GPIO, []string{"UART0 TX"}},
	{9, -1, Ground, nil},
	{10, 15, GPIO, []string{"UART0 RX"}},
	{11, 17, GPIO, []string{"SPI1 CE1"}},
	{12, 18, GPIO, []string{"PWM0", "PCM CLK", "SPI1 CE0"}},
	{13, 27, GPIO, nil},
	{14, -1, Ground, nil},
	{15, 22, GPIO, nil},
	{16, 23, GPIO, nil},
	{17, -1, Power3V3, nil},
	{18, 24, GPIO, nil},
	{19, 10, GPIO, []string{"SPI0 MOSI"}},
	{20, -1, Ground, nil},
	{21, 9, GPIO, []string{"SPI0 MISO"}},
	{22, 25, GPIO, nil},
	{23, 11, GPIO, []string{"SPI0 SCLK"}},
	{24, 8, GPIO, []string{"SPI0 CE0"}},
	{25, -1, Ground, nil},
	{26, 7, GPIO, []string{"SPI0 CE1"}},
	{27, 0, GPIO, []string{"ID EEPROM SDA"}},
	{28, 1, GPIO, []string{"ID EEPROM SCL"}},
	{29, 5, GPIO, nil},
	{30, -1, Ground, nil},
	{31, 6, GPIO, nil},
	{32, 12, GPIO, []string{"PWM0"}},
	{33, 13, GPIO, []string{"PWM1"}},
	{34, -1, Ground, nil},
	{35, 19, GPIO, []string{"PWM1", "PCM FS", "SPI1 MISO"}},
	{36, 16, GPIO, []string{"SPI1 CE2"}},
	{37, 26, GPIO, nil},
	{38, 20, GPIO, []string{"PCM DIN", "SPI1 MOSI"}},
	{39, -1, Ground, nil},
	{40, 21, GPIO, []string{"PCM DOUT", "SPI1 SCLK"}},
}

// The usable GPIO range: GPIO0 and GPIO1 carry the HAT ID EEPROM.
const (
	firstUsable = 2
	lastBCM     = 27
)

// clone returns p with its own copy of Functions, so callers cannot change
// the table.
func clone(p Pin) Pin {
	if p.Functions != nil {
		p.Functions = append([]string(nil), p.Functions...)
	}
	return p
}

// Header returns the 40 positions in order, position 1 first.
func Header() []Pin {
	pins := make([]Pin, len(header))
	for i, p := range header {
		pins[i] = clone(p)
	}
	return pins
}

// ByBCM returns the header pin carrying BCM GPIO n (0..27).
func ByBCM(n int) (Pin, bool) {
	for _, p := range header {
		if p.Kind == GPIO && p.BCM == n {
			return clone(p), true
		}
	}
	return Pin{}, false
}

// ByPosition returns the pin at physical header position n (1..40).
func ByPosition(n int) (Pin, bool) {
	if n < 1 || n > len(header) {
		return Pin{}, false
	}
	return clone(header[n-1]), true
}

// example is the pin suggested in error messages.
const example = "GPIO17 (pin 11)"

// Resolve returns the GPIO named by s. These all name the same pin:
//
//	GPIO17  gpio17  BCM17  17         (BCM GPIO number)
//	pin 11  P1_11   P1-11  J8_11      (physical header position)
//
// Spaces around s and between the prefix and the number are ignored, and
// case does not matter. Resolve refuses what cannot be used as a GPIO, with a
// message saying why and what to use instead: numbers off the header, power
// and ground positions, and GPIO0/GPIO1 (pins 27 and 28), which are
// reserved for the HAT ID EEPROM.
func Resolve(s string) (Pin, error) {
	s = strings.TrimSpace(s)
	low := strings.ToLower(s)
	if s == "" {
		return Pin{}, fmt.Errorf("pin is empty: write a GPIO like GPIO17, 17, or pin 11 for the header position")
	}
	switch low {
	case "3v3", "3.3v":
		return Pin{}, fmt.Errorf("pin %q is 3V3 power, not a GPIO: use a GPIO such as %s", s, example)
	case "5v":
		return Pin{}, fmt.Errorf("pin %q is 5V power, not a GPIO: use a GPIO such as %s", s, example)
	case "gnd", "ground":
		return Pin{}, fmt.Errorf("pin %q is ground, not a GPIO: use a GPIO such as %s", s, example)
	}
	for _, pre := range []string{"gpio", "bcm"} {
		if rest, ok := strings.CutPrefix(low, pre); ok {
			return resolveBCM(s, rest)
		}
	}
	for _, pre := range []string{"pin", "p1_", "p1-", "j8_", "j8-"} {
		if rest, ok := strings.CutPrefix(low, pre); ok {
			return resolvePosition(s, rest)
		}
	}
	if isDigits(low) {
		return resolveBCM(s, low)
	}
	return Pin{}, fmt.Errorf("pin %q is not a pin name: write GPIO17, BCM17 or 17 (BCM numbering), or pin 11 or P1_11 (header position)", s)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// number parses the digits after a prefix; ok is false if there are none
// or anything else is there.
func number(rest string) (int, bool) {
	rest = strings.TrimSpace(rest)
	if !isDigits(rest) {
		return 0, false
	}
	if len(rest) > 4 { // avoid overflow; anything this long is off the header
		return 1 << 20, true
	}
	n, err := strconv.Atoi(rest)
	return n, err == nil
}

func resolveBCM(s, rest string) (Pin, error) {
	n, ok := number(rest)
	if !ok {
		return Pin{}, fmt.Errorf("pin %q is not a pin name: write GPIO17, BCM17 or 17 (BCM numbering), or pin 11 or P1_11 (header position)", s)
	}
	if n > lastBCM {
		return Pin{}, fmt.Errorf("pin %q is not on the 40-pin header (GPIO%d-GPIO%d)", s, firstUsable, lastBCM)
	}
	p, _ := ByBCM(n)
	return usable(s, p)
}

func resolvePosition(s, rest string) (Pin, error) {
	n, ok := number(rest)
	if !ok {
		return Pin{}, fmt.Errorf("pin %q is not a pin name: write pin 11 or P1_11 for header position 11, or GPIO17 for the BCM number", s)
	}
	p, ok := ByPosition(n)
	if !ok {
		return Pin{}, fmt.Errorf("pin %q is not on the 40-pin header (positions 1-40)", s)
	}
	if p.Kind != GPIO {
		return Pin{}, fmt.Errorf("pin %d is %s, not a GPIO: use a GPIO such as %s", n, p.Kind, example)
	}
	return usable(s, p)
}

// usable refuses GPIO0 and GPIO1.
func usable(s string, p Pin) (Pin, error) {
	if p.BCM < firstUsable {
		return Pin{}, fmt.Errorf("pin %q is %s, reserved for the HAT ID EEPROM: use GPIO%d-GPIO%d, such as %s",
			s, p, firstUsable, lastBCM, example)
	}
	return p, nil
}

// GPIONumber returns the BCM number of a canonical GPIO name: "GPIO17" (any
// case) is 17. It accepts exactly "GPIO" followed by a decimal number on the
// header, GPIO0 to GPIO27 (including the reserved GPIO0 and GPIO1, which a
// backend may still hand out), and nothing else: no "17", "BCM17", "pin 11",
// sign or space. Mapping files go through Resolve, which accepts every
// spelling; backends use GPIONumber on the names Resolve produced.
func GPIONumber(name string) (int, bool) {
	if len(name) < 5 || len(name) > 12 || !strings.EqualFold(name[:4], "GPIO") || !isDigits(name[4:]) {
		return 0, false
	}
	n, err := strconv.Atoi(name[4:])
	if err != nil || n > lastBCM {
		return 0, false
	}
	return n, true
}
