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
// gpiochip4 to gpiochip0 between kernels. Both backends take the names
// GPIO0 to GPIO27 (wiring.GPIONumber). Backend.Release frees one pin alone,
// for a reload that removes it.
//
// # Inputs: no change is lost
//
// An input learns of changes in one of three ways, chosen by NewIn:
//
//   - Changes with their level (sim pins; host lines, requested as a
//     one-line gpioioctl.LineSet whose WaitForEdge says which edge fired:
//     rising = high, falling = low). Every change is delivered, in order,
//     with its own level and time; two changes between two wake-ups are two
//     changes. The sim queues up to SimQueue changes per pin (an overflow is
//     counted by Sim.Overflows and logged once); the kernel queues a line's
//     events itself. periph does not pass on the kernel's event timestamp,
//     so a host change is stamped when WaitForEdge returns.
//   - An edge, then a read (any other periph pin: gpiotest fakes, registry
//     pins): WaitForEdge only says that something changed, so two changes
//     before the read look like one level or none. These waits are bounded
//     (100ms), since such a pin's Halt may do nothing.
//   - Polling (InConfig.Poll, or 2ms when In(BothEdges) fails): the level is
//     read at that interval. This is the only case where a timer runs while
//     the input is idle.
//
// With Debounce 0 every change is an event. With a window, the first change
// is reported at once and opens the window; changes inside it are not
// reported but the last level seen is kept; when the window ends that level
// is compared with the reported state and, if it differs, reported (and a new
// window opens). A tap that reaches the input as two edges is a press and a
// release, whatever its length. (A polled input uses the level read at the
// window's end instead of the last sample inside it.)
//
// While idle, an input waits for a change without a timeout: there are no
// periodic wake-ups. A debounce window, when one is open, bounds the wait.
// When Run's context is cancelled, Run calls the pin's Halt, and repeats it
// every 2ms until the watcher has returned, because a Halt that lands just
// before a wait starts is lost on periph's line sets (see below). Run
// returns nil then; if the watcher dies instead (its pin released or
// reconfigured, a driver error) Run logs it once at error level and returns
// an error naming the input, the pin and the cause.
//
// # Rotary encoders
//
// NewEncoder takes an encoder's two pins (A and B) and Encoder.Run emits one
// EncoderStep (+1 or -1) per detent. The pins' changes are decoded with a
// transition table (Ben Buxton's full-step state machine for 4 changes per
// detent, his half-step one for 2; with 1, every valid Gray-code change is a
// step), so contact bounce only moves the machine back and forth between
// sub-states and there is no time debounce to lose steps at speed. The table
// needs the changes of both pins in the order they happened: on the sim each
// change carries the sim's global sequence number and one goroutine merges
// the two queues by it (exact at any speed, 0 allocations per detent). On
// the host, when both pins are lines of one GPIO chip (always so on a Pi's
// header), Run requests them as one two-line input line set for as long as
// it runs: the kernel queues the events of one request in order, so one
// goroutine decodes them exactly at any speed. Pins on two chips, or a pair
// set the kernel refuses, fall back (logged once) to one kernel request per
// pin read by two goroutines, decoded in the order they were taken (periph
// drops the events' timestamps): two changes taken in the wrong order lose
// that detent; the table never counts it backwards or twice.
//
// # ADCs
//
// ADC is a chip with channels read as a fraction of full scale (0..1):
// OpenADS1x15 (ADS1015/ADS1115 on I2C, periph's ads1x15 driver, single-shot
// at the chip's fastest rate), OpenMCP3008 (SPI, this package's driver) and
// SimADC (values set from outside, for the sim backend). MaxRate gives each
// chip's conversions per second, shared by its channels. OpenI2CBus and
// OpenSPIPort open the Pi's buses with errors that say how to enable them.
//
// # PWM
//
// OpenPWM gives a pin a PWM (duty 0..1; ServoDuty turns a servo pulse into
// a duty at 50 Hz). On the sim it is a SimPWM that keeps its duty. On the
// host it is, in order: the kernel's PWM (/sys/class/pwm, this package's
// driver; periph has none) when a PWM chip's device tree node routes the pin
// (recognised by its compatible string and pinctrl, never by chip number);
// periph's bcm283x PWM as root on a Pi 1-4 for GPIO12/13/18/19; software
// PWM (SoftPWM) on any other pin, for LEDs only: servos are refused there.
// The kernel channel is exported, and its files waited for until udev has
// made them writable (deploy/99-oscgpio-pwm.rules); duty_cycle and period
// are written in the order the kernel accepts (it refuses a duty above the
// period). SoftPWM toggles the pin from one goroutine at absolute deadlines
// (no drift); it sleeps the last 2ms of each wait in nanosleep, because Go
// timers wake an idle process on millisecond epoll timeouts.
//
// # periph gpioioctl (host v3.8.5) quirks this package codes around
//
//   - GPIOLine.Read on a line that is not an input turns it into an input
//     with pull-up: Out remembers the level it wrote and never reads back.
//   - GPIOLine.WaitForEdge does not say which edge fired, and its
//     WaitForEdge(0) waits forever while (-1) returns at once
//     (periph/host#78): host inputs use a LineSet instead, whose WaitForEdge
//     returns the edge.
//   - LineSet.WaitForEdge(0) sets no read deadline, so it waits forever; a
//     negative timeout sets a deadline in the past and returns at once.
//     In waits with 0 while idle and with the time left in the window
//     otherwise (1ns to take only what is queued).
//   - LineSet.Halt sets the read deadline of the set's os.File to the past,
//     which does interrupt a blocked WaitForEdge (the file is non-blocking,
//     so Go's poller honours deadlines). But that file only exists after the
//     first WaitForEdge (Halt before it does nothing), nothing locks it
//     between WaitForEdge, Halt and Close, and a WaitForEdge that starts
//     after the Halt resets the deadline. After Close, a WaitForEdge would
//     wrap file descriptor 0. So the host primes each set with one
//     WaitForEdge(1ns) before anyone else sees it, calls Halt and Close under
//     its own lock, repeats Halt until a pending wait has returned, and
//     closes a set only when no wait is running on it.
//   - The kernel's event timestamp and its debounce and active-low flags
//     are not exposed: In stamps, debounces and applies active-low itself.
//   - A fresh line set to output is driven low for a moment before the first
//     level is written; see NewOut. periph offers no way to avoid it.
//   - Lines without edge interrupts (QEMU's GPIO model, some expanders): the
//     mapping sets poll (test/qemu does, 2ms), or In falls back to polling
//     when the edge request fails. QEMU's raspi3b accepts the edge request
//     and never delivers an event, which cannot be told apart from a quiet
//     button, so it is not detected automatically.
package gpio
