package wiring_test

import (
	"fmt"
	"os"
	"strings"

	"github.com/oscgpio/oscgpio/wiring"
)

func ExampleResolve() {
	for _, s := range []string{"GPIO17", "17", "pin 11", "P1_11"} {
		p, err := wiring.Resolve(s)
		fmt.Println(s, "->", p, err)
	}
	_, err := wiring.Resolve("GPIO41")
	fmt.Println(err)
	_, err = wiring.Resolve("pin 2")
	fmt.Println(err)
	// Output:
	// GPIO17 -> GPIO17 (pin 11) <nil>
	// 17 -> GPIO17 (pin 11) <nil>
	// pin 11 -> GPIO17 (pin 11) <nil>
	// P1_11 -> GPIO17 (pin 11) <nil>
	// pin "GPIO41" is not on the 40-pin header (GPIO2-GPIO27)
	// pin 2 is 5V power, not a GPIO: use a GPIO such as GPIO17 (pin 11)
}

func ExampleByBCM() {
	p, ok := wiring.ByBCM(18)
	fmt.Println(p, ok, p.Functions)
	// Output: GPIO18 (pin 12) true [PWM0 PCM CLK SPI1 CE0]
}

func ExampleHeader() {
	for _, p := range wiring.Header()[:4] {
		fmt.Println(p.Position, p.Name(), p.Kind)
	}
	// Output:
	// 1 3V3 3V3 power
	// 2 5V 5V power
	// 3 GPIO2 GPIO
	// 4 5V 5V power
}

func ExampleWriteTable() {
	if err := wiring.WriteTable(os.Stdout); err != nil {
		fmt.Println(err)
	}
	// Output:
	// Raspberry Pi 40-pin header (J8/P1). Pin 1 has the square pad; odd pins are
	// the inner row, even pins the row along the board edge.
	//
	//               FUNCTIONS  NAME   PIN | PIN NAME    FUNCTIONS
	//                          3V3      1 | 2   5V
	//                I2C1 SDA  GPIO2    3 | 4   5V
	//                I2C1 SCL  GPIO3    5 | 6   GND
	//                  GPCLK0  GPIO4    7 | 8   GPIO14  UART0 TX
	//                          GND      9 | 10  GPIO15  UART0 RX
	//                SPI1 CE1  GPIO17  11 | 12  GPIO18  PWM0, PCM CLK, SPI1 CE0
	//                          GPIO27  13 | 14  GND
	//                          GPIO22  15 | 16  GPIO23
	//                          3V3     17 | 18  GPIO24
	//               SPI0 MOSI  GPIO10  19 | 20  GND
	//               SPI0 MISO  GPIO9   21 | 22  GPIO25
	//               SPI0 SCLK  GPIO11  23 | 24  GPIO8   SPI0 CE0
	//                          GND     25 | 26  GPIO7   SPI0 CE1
	//           ID EEPROM SDA  GPIO0   27 | 28  GPIO1   ID EEPROM SCL
	//                          GPIO5   29 | 30  GND
	//                          GPIO6   31 | 32  GPIO12  PWM0
	//                    PWM1  GPIO13  33 | 34  GND
	// PWM1, PCM FS, SPI1 MISO  GPIO19  35 | 36  GPIO16  SPI1 CE2
	//                          GPIO26  37 | 38  GPIO20  PCM DIN, SPI1 MOSI
	//                          GND     39 | 40  GPIO21  PCM DOUT, SPI1 SCLK
	//
	// A mapping file names a GPIO as GPIO17, 17 or pin 11 (the same pin). GPIO0 and
	// GPIO1 (pins 27, 28) are reserved for the HAT ID EEPROM: use GPIO2-GPIO27.
}

// A button on GPIO2 while an ADS1115 is on the I2C bus, and a 5 V relay
// board on GPIO22.
func ExampleCheck() {
	sda, _ := wiring.ByBCM(2)
	scl, _ := wiring.ByBCM(3)
	in, _ := wiring.ByBCM(22)
	parts := []wiring.Part{
		{Kind: wiring.ADC, Name: "knobs", Chip: "ads1115", ChipAddr: "0x48", Pins: []wiring.Pin{sda, scl}},
		{Kind: wiring.Button, Name: "go", Address: "/go", Pins: []wiring.Pin{sda}, Pull: "up"},
		{Kind: wiring.Relay, Name: "smoke", Address: "/smoke", Pins: []wiring.Pin{in}, Volts: 5},
	}
	for _, w := range wiring.Check(parts) {
		fmt.Printf("part %d, %s: %s\n", w.Part, w.Pin.Name(), w.Msg)
	}
	// Output:
	// part 1, GPIO2: GPIO2 (pin 3) is I2C1 SDA, which adc "knobs" needs for its bus: move button "go" to another GPIO
	// part 2, GPIO22: relay "smoke" is marked volts: 5, but GPIO22 (pin 15) drives 3.3 V: a 5 V relay board may not switch from it, and its input can pull the pin up to 5 V; use a board with a 3.3 V (optocoupler) input and power its relays from 5V (pin 2), or a transistor
}

// The drawing for a terminal of an LED on GPIO17 (oscgpio wiring --text).
func ExampleText() {
	pin, _ := wiring.ByBCM(17)
	parts := []wiring.Part{{Kind: wiring.LED, Name: "led", Address: "/led", Pins: []wiring.Pin{pin}}}
	if err := wiring.Text(os.Stdout, parts); err != nil {
		fmt.Println(err)
	}
	// Output:
	// Wiring of the Raspberry Pi 40-pin header. Pin 1 has the square pad; odd pins
	// are the inner row, even pins the row along the board edge.
	//
	//    PARTS  NAME   PIN | PIN NAME    PARTS
	//           3V3      1 | 2   5V
	//           GPIO2    3 | 4   5V
	//           GPIO3    5 | 6   GND
	//           GPIO4    7 | 8   GPIO14
	//           GND      9 | 10  GPIO15
	// led /led  GPIO17  11 | 12  GPIO18
	//           GPIO27  13 | 14  GND
	//           GPIO22  15 | 16  GPIO23
	//           3V3     17 | 18  GPIO24
	//           GPIO10  19 | 20  GND
	//           GPIO9   21 | 22  GPIO25
	//           GPIO11  23 | 24  GPIO8
	//           GND     25 | 26  GPIO7
	//           GPIO0   27 | 28  GPIO1
	//           GPIO5   29 | 30  GND
	//           GPIO6   31 | 32  GPIO12
	//           GPIO13  33 | 34  GND
	//           GPIO19  35 | 36  GPIO16
	//           GPIO26  37 | 38  GPIO20
	//           GND     39 | 40  GPIO21
	//
	// How to wire each part:
	//   LED "led" /led:
	//     - GPIO17 (pin 11) -> 330 ohm resistor -> LED long leg (anode)
	//     - LED short leg (cathode) -> GND (pin 9)
}

// SVG writes to any io.Writer: a file, or an http.ResponseWriter (with
// Content-Type image/svg+xml).
func ExampleSVG() {
	pin, _ := wiring.ByBCM(17)
	parts := []wiring.Part{{Kind: wiring.LED, Name: "led", Address: "/led", Pins: []wiring.Pin{pin}}}
	var b strings.Builder
	if err := wiring.SVG(&b, parts); err != nil {
		fmt.Println(err)
	}
	svg := b.String()
	fmt.Println(strings.HasPrefix(svg, `<svg xmlns="http://www.w3.org/2000/svg" viewBox=`))
	fmt.Println(strings.Contains(svg, `<circle id="wg-pin-11" `), strings.Contains(svg, ">GPIO17 · led</text>"))
	// Output:
	// true
	// true true
}
