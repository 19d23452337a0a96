// Package gpio drives oscgpio's pins through periph.io: digital outputs with
// active-low and a safe level, debounced inputs, and two backends that both
// hand out periph gpio.PinIO values, so the same Out and In code runs on a
// Raspberry Pi (host), on virtual pins (sim) and on periph's gpiotest fakes.
//
// # Backends
//
// Open("auto") uses the host backend when the machine has a Raspberry Pi GPIO
// chip (label pinctrl-rp1, pinctrl-bcm2711 or pinctrl-bcm2835, a device tree
// model "Raspberry Pi", or /dev/gpiomem) and the sim backend otherwise, with
// one warning. The host backend finds a line by its chip's label and its
// name ("GPIO17"), never by chip number: the Pi 5's header moved from
// gpiochip4 to gpiochip0 between kernels.
//
// # periph gpioioctl (host v3.8.5) quirks this package codes around
//
//   - GPIOLine.Read on a line that is not an input turns it into an input
//     with pull-up: Out remembers the level it wrote and never reads back.
//   - WaitForEdge(0) waits forever and WaitForEdge(-1) returns at once: In
//     always passes a finite timeout (at most 100ms) and calls Halt when its
//     context is cancelled.
//   - GPIOLine.WaitForEdge does not say which edge fired: In reads the level
//     after each edge.
//   - The kernel's debounce and active-low flags are not exposed: In
//     debounces (leading edge, reconciled at the end of the window) and both
//     Out and In apply active-low themselves.
//   - A fresh line set to output is driven low for a moment before the first
//     level is written; see NewOut. periph offers no way to avoid it.
//   - Lines without edge interrupts (QEMU's GPIO model, some expanders): In
//     falls back to reading the level every InConfig.Poll (2ms by default).
package gpio
