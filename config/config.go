// Package config reads the mapping file that ties Raspberry Pi pins to OSC
// addresses and destinations.
//
// The file is YAML, decoded strictly: unknown keys, wrong types and bad
// values are errors, every one of them reported (not only the first) as
// FILE:LINE:COL: message, where LINE:COL is the offending key or value.
// Pin names are resolved with package wiring; OSC addresses are checked by
// CheckAddress, which the OSC engine uses too. See the package example and
// config/examples/ for complete files.
//
// # How the file is read
//
// Parse runs in three steps, each in its own file:
//
//   - parse.go turns the text into a yaml.Node tree, and explains YAML
//     syntax errors (indentation, tabs) at the line to fix. limits.go
//     bounds what any file can cost: 1 MiB (MaxFileSize), 100 000 nodes
//     reached through aliases (MaxAliasNodes, against alias bombs), 50
//     errors then a count (MaxErrors); it also refuses keys and values
//     holding non-printing characters.
//   - decode.go fills the schema, schema.go: one Go struct per section of
//     the file (fileSpec, outputSpec, inputSpec, valuesSpec, adcSpec, simSpec), one
//     field per key, named by its `yaml:"key"` tag. The decoder is small and
//     generic: it rejects keys the struct does not have (with the closest
//     known key, or the section where that key belongs), keys given twice,
//     and missing `required` keys; it records each key's node in the
//     struct's positions field; and it decodes each value with the field's
//     type. Those are small named types (boolean, level, pull, noArg,
//     oscType, duration, number, pinName, addressList, destNames ...) whose
//     UnmarshalYAML checks one value and says what is allowed
//     ("pull must be one of up, down, none, not \"sideways\"").
//   - validate.go runs once over the decoded file for the rules that involve
//     more than one value: names, pins and output addresses used once, to:
//     naming defined destinations, values that fit the type, durations in
//     range, jumpers [output pin, input pin]; and builds the Config. A key
//     already reported by the decoder is skipped, so one mistake gives one
//     message. kinds.go is the part of that pass for the input kinds other
//     than digital (encoder, analog: which keys each takes, their defaults
//     and ranges) and for adcs (bus, address or chip select, the bus pins
//     they take from GPIO use, and each chip's samples a second shared by
//     the analog inputs on it).
//
// Config.Warnings (warnings.go) lists what a valid file allows but is
// probably a mistake: check prints it, run logs it.
//
// Config.Parts (parts.go) turns the mapping into the wiring.Part list that
// wiring.SVG and wiring.Text draw and wiring.Check warns about; the keys
// part: and volts: exist for it only.
//
// A new kind of item (a PWM output, an encoder) is a new struct in
// schema.go with tagged fields and the item methods (kind, misplaced), a
// list field for it in fileSpec, and a check method in validate.go that
// calls checker.point for its name and pin; a new value is a named type with
// an UnmarshalYAML. No new node walking is needed.
package config

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/netip"
	"os"
	"time"

	"github.com/oscgpio/oscgpio/wiring"
)

// DefaultListen is where the OSC server listens when the file has no listen key.
const DefaultListen = "127.0.0.1:5005"

// DefaultHTTP is where the dashboard's HTTP server listens when neither the
// file's http key nor `run --http` says: loopback only, on a port that none
// of the usual OSC programs take (QLab 53000/53001, TouchOSC and VRChat
// 9000/9001, RNBO 1234/5678) and that is not the usual other web port 8080.
const DefaultHTTP = "127.0.0.1:5080"

// Limits and defaults of the input settings.
const (
	defaultDebounce     = 20 * time.Millisecond
	maxDebounce         = time.Second
	minPoll             = time.Millisecond // poll is 0 (edge interrupts) or minPoll..maxPoll
	maxPoll             = time.Second
	defaultPulse        = 100 * time.Millisecond
	defaultFeedbackRate = 30               // Hz
	minPulse            = time.Millisecond // pulse is minPulse..maxPulse
	maxPulse            = time.Hour
	minHold             = 10 * time.Millisecond // hold and repeat are 0 (off) or minHold..maxHold
	maxHold             = time.Minute
	minWatchdog         = 100 * time.Millisecond // watchdog is 0 (off) or minWatchdog..1h
	defaultMaxAhead     = time.Minute
)

// The input modes (Input.Mode).
const (
	ModeMomentary = "momentary" // press sends values.press, release values.release
	ModeLatch     = "latch"     // each press flips a value: press, release, press... sent on the press
	ModeCounter   = "counter"   // each press sends the running count: 1, 2, 3...
)

// TutorialFile is Config.File for the embedded tutorial mapping.
const TutorialFile = "tutorial (embedded)"

//go:embed examples/tutorial.yaml
var tutorialYAML []byte

// Pos is a place in the mapping file, 1-based.
type Pos struct{ Line, Col int }

// Destination is a named receiver of input messages.
type Destination struct {
	Name string
	Addr string // "host:port" as written; the host is not resolved at load
	Pos  Pos    // the destination's key
}

// Output is a pin driven by OSC messages.
type Output struct {
	Name      string
	Pin       wiring.Pin
	Addresses []string // plain OSC addresses (no pattern characters), at least one
	ActiveLow bool     // on drives the pin low (most relay boards)
	Initial   bool     // logical level at start
	Safe      bool     // logical level on exit, crash or reload
	NoArg     string   // what a message without argument does: "toggle", "on", "off", "ignore"
	Pos       Pos      // the output's item in the file

	// Pulse is how long <address>/pulse (and, with OnMessage "pulse", any
	// message to the address) keeps the output on: 100ms by default.
	Pulse time.Duration
	// OnMessage is what a plain message does: "set" (the level it carries,
	// the default) or "pulse" (a message that reads as on, or has no
	// argument, pulses; one that reads as off does nothing).
	OnMessage string
	// Duty is the share of each <address>/blink period the output is on
	// (above 0, below 1; 0.5 by default).
	Duty float64
	// Type is how the output's value is sent as feedback: 'i' (the
	// default) or 'f' (TouchOSC, Pd).
	Type byte
	// Feedback names the destinations that get the output's address and new
	// value after every change, at most FeedbackRate times a second per
	// address (the latest value wins).
	Feedback     []string
	FeedbackRate float64

	// Kind is OutputDigital (""), OutputPWM or OutputServo. A pwm or servo
	// output takes a value in Range (pwm: [0, 1] by default; servo: [0, 180]
	// degrees); InitialValue and SafeValue are in that range (on and off are
	// its top and bottom), Initial and Safe are false.
	Kind                    string
	Range                   [2]float64
	Gamma                   float64       // pwm: duty = position^Gamma (2.2 for LEDs); 1 by default
	Frequency               float64       // pwm: Hz, 1000 by default (200 on software PWM); servo: 50
	MinPulse, MaxPulse      time.Duration // servo: the pulse at the bottom and the top of Range (1000us, 2000us)
	InitialValue, SafeValue float64

	// Watchdog, when not 0, puts the output at its safe level when no
	// message has reached it (or /oscgpio/heartbeat the bridge) for that
	// long; the next message brings it back. The file's top-level watchdog
	// is the default of every output.
	Watchdog time.Duration
	// MaxSwitchRate, when not 0, is how many times a second a digital
	// output may switch at most (a relay's rating): a change sooner is
	// coalesced to the latest level, written when the time allows.
	MaxSwitchRate float64

	// Part is what the output drives, for wiring diagrams: PartLED or
	// PartRelay (part: in the file, for digital and pwm outputs), or ""
	// when the file does not say: Parts then draws a relay if the name or
	// an address of a digital output has "relay" in it, else an LED.
	Part string
	// Volts is the level the part works at, 3.3 or 5 (volts: in the
	// file), or 0 when the file does not say. A 5 V part on a GPIO is a
	// warning.
	Volts   float64
	voltsAt Pos // where volts: is written
}

// The parts that outputs and digital inputs can be, for wiring diagrams
// (Output.Part, Input.Part).
const (
	PartLED    = "led"    // an LED and its resistor to GND
	PartRelay  = "relay"  // a relay board's input
	PartButton = "button" // a button or switch (the default of digital inputs)
	PartSensor = "sensor" // a board with a logic output: PIR, beam break, hall switch
)

// The kinds of output (Output.Kind).
const (
	OutputDigital = ""      // kind: digital, the default: on or off
	OutputPWM     = "pwm"   // kind: pwm: a duty cycle (an LED's brightness)
	OutputServo   = "servo" // kind: servo: a pulse of 500-2500us at 50 Hz
)

// The reserved sub-addresses of every output: <address>/pulse, /blink and
// /toggle are actions on the output.
var OutputActions = []string{"pulse", "blink", "toggle", "fade"}

// Input is a source of OSC messages: a pin whose changes are sent (Kind
// "digital"), a rotary encoder on two pins ("encoder"), or a channel of an
// ADC ("analog"). Settings of another kind are zero.
type Input struct {
	Name      string
	Pin       wiring.Pin
	Pull      string // "up", "down", "none"
	ActiveLow bool   // pressed reads low (a button to GND with pull-up)
	Debounce  time.Duration
	Poll      time.Duration // 0: edge interrupts; else read the level at this interval
	Address   string
	Press     float64 // value sent when the input becomes active
	Release   float64 // value sent when it becomes inactive
	Type      byte    // OSC type of the value: 'i', 'f', 'd', 'h', or 'T' (T when active, F when inactive; the values are not used)
	To        []string
	Pos       Pos // the input's item in the file

	Kind string       // KindDigital (""), KindEncoder or KindAnalog; Pin is set for digital inputs only, Pull is "none" for analog ones
	Pins []wiring.Pin // encoder: A, B

	// Encoder settings.
	// Mode: an encoder's "relative" (+1/-1 per detent) or "absolute" (a
	// value within Min..Max); a digital input's ModeMomentary (the default:
	// Press at a press, Release at a release), ModeLatch (each press flips
	// between Press and Release and sends it, starting with Press; a release
	// sends nothing) or ModeCounter (each press sends the running count, 1,
	// 2, 3..., as Type; a release sends nothing).
	Mode           string
	Min, Max, Step float64 // absolute mode: the value's bounds and its change per detent
	Wrap           bool    // absolute mode: past Max comes Min, and the reverse
	StepsPerDetent int     // quadrature steps per detent: 4, 2 or 1
	Reverse        bool    // swap the directions

	// Analog settings.
	ADC       string     // the name of the chip under adcs
	Channel   int        // the chip's channel: 0-3 (ADS1x15), 0-7 (MCP3008)
	Range     [2]float64 // the values sent for the bottom and the top of the reading
	Rate      float64    // samples a second (Hz)
	Deadband  float64    // send only when the value moved at least this much (units of Range); 0 sends every change
	Smoothing float64    // exponential smoothing factor, 0 (off) to below 1 (smoothest)
	MaxRate   float64    // messages a second at most on the address (Hz); the latest value wins

	// Digital settings (buttons and switches).
	// Hold, when not 0, sends <address>/hold 1 once the input has been
	// active that long, and <address>/hold 0 at the release that follows.
	Hold time.Duration
	// Repeat, when not 0 (it needs Hold), sends <address>/hold 1 again
	// every Repeat while the input stays held.
	Repeat time.Duration
	// ReportAtStart sends the input's state once when it is created (at
	// start, or added or re-created by a reload). True by default.
	ReportAtStart bool
	// Feedback and FeedbackRate: as for outputs; the input's address and
	// the value it sends go to these destinations too.
	Feedback     []string
	FeedbackRate float64

	// Part is what drives a digital input, for wiring diagrams: PartButton
	// or PartSensor (part: in the file), or "" when the file does not say
	// (drawn as a button); "" for encoders and analog inputs.
	Part string
	// Volts is the level the part works at, 3.3 or 5, or 0 when the file
	// does not say (not given for analog inputs: their adc has it).
	Volts   float64
	voltsAt Pos
}

// The kinds of input (Input.Kind). A digital input's Kind is empty, so the
// zero Input, as code built before encoders and ADCs writes it, is one.
const (
	KindDigital = ""        // kind: digital, the default: a pin
	KindEncoder = "encoder" // kind: encoder: a rotary encoder on two pins
	KindAnalog  = "analog"  // kind: analog: a channel of an ADC
)

// The chips an ADC may be, and the samples a second each makes at most,
// shared by its channels.
const (
	ChipADS1115 = "ads1115" // I2C, 16 bits, 4 channels, 860 samples/s
	ChipADS1015 = "ads1015" // I2C, 12 bits, 4 channels, 3300 samples/s
	ChipMCP3008 = "mcp3008" // SPI, 10 bits, 8 channels, 75000 samples/s at 1.35 MHz (3.3 V)
)

// ChipRate returns the samples a second chip makes at most (shared by its
// channels) and its number of channels, or zeros for an unknown chip.
func ChipRate(chip string) (samplesPerSecond float64, channels int) {
	switch chip {
	case ChipADS1115:
		return 860, 4
	case ChipADS1015:
		return 3300, 4
	case ChipMCP3008:
		return 75000, 8
	}
	return 0, 0
}

// ADC is an analog-to-digital converter chip that analog inputs read.
type ADC struct {
	Name string
	Chip string // ChipADS1115, ChipADS1015 or ChipMCP3008
	Bus  string // "/dev/i2c-1" for the I2C chips, "/dev/spidev0.<CS>" for the MCP3008
	Addr uint16 // I2C address, 0x48-0x4B; 0 for SPI chips
	CS   int    // SPI chip select, 0 or 1; 0 for I2C chips
	Pos  Pos    // the adc's item in the file
	// Volts is the chip's supply, 3.3 or 5, or 0 when the file does not
	// say (3.3 is assumed).
	Volts   float64
	voltsAt Pos
}

// I2C reports whether the chip is on the I2C bus (else SPI).
func (a ADC) I2C() bool { return a.Chip != ChipMCP3008 }

// Jumper is a simulated wire: output pin From drives input pin To (sim backend only).
type Jumper struct {
	From, To wiring.Pin
	Pos      Pos
}

// The values of oscgpio_methods.
const (
	// MethodsAll answers every /oscgpio/ method: get, stats, sync and
	// heartbeat.
	MethodsAll = "all"
	// MethodsReadOnly answers /oscgpio/get and /oscgpio/stats only:
	// heartbeat (which keeps the watchdogs from firing) and sync (which
	// makes the bridge send to every feedback destination) are refused.
	MethodsReadOnly = "read_only"
	// MethodsOff answers no /oscgpio/ method.
	MethodsOff = "off"
)

// Config is a loaded, valid mapping file.
type Config struct {
	File   string // path given to Load, or TutorialFile for Default
	Listen string // host:port the OSC server listens on
	// ReplyPort, when not 0, is where the bridge's answers to queries
	// (/oscgpio/get, /oscgpio/stats) go on the sender's host, for senders
	// that listen on a fixed port (TouchOSC, QLab 53001); 0 answers to the
	// sender's own port.
	ReplyPort    int
	Destinations []Destination
	Outputs      []Output
	Inputs       []Input
	ADCs         []ADC
	Jumpers      []Jumper
	// Allow, when not empty, is every sender that may drive the bridge;
	// packets from anyone else are dropped before they are read.
	Allow []AllowEntry
	// RateLimit, when set, bounds each sender's messages (a token bucket);
	// an Allow entry may have its own.
	RateLimit *RateLimit
	// Methods is which of the bridge's own /oscgpio/ methods it answers:
	// MethodsAll (the default), MethodsReadOnly or MethodsOff.
	Methods string
	// MaxScheduleAhead refuses a bundle element dated further ahead
	// (60s by default; 0 turns the limit off).
	MaxScheduleAhead time.Duration
	// HTTP is the http key: the dashboard's server. Its zero value (no http
	// key) means the default: on, at DefaultHTTP, without controls on the
	// host backend.
	HTTP HTTP
}

// HTTP is the dashboard's HTTP server as the mapping sets it.
type HTTP struct {
	Off     bool   // http: off
	Listen  string // host:port as written; "" when the file does not say (DefaultHTTP)
	Control bool   // http: {control: true}: the page may drive the pins on the host backend too
	Pos     Pos    // the http key's value; zero when the file has no http key
}

// Destination returns the destination called name.
func (c *Config) Destination(name string) (Destination, bool) {
	for _, d := range c.Destinations {
		if d.Name == name {
			return d, true
		}
	}
	return Destination{}, false
}

// Output returns the output called name.
func (c *Config) Output(name string) (Output, bool) {
	for _, o := range c.Outputs {
		if o.Name == name {
			return o, true
		}
	}
	return Output{}, false
}

// Input returns the input called name.
func (c *Config) Input(name string) (Input, bool) {
	for _, in := range c.Inputs {
		if in.Name == name {
			return in, true
		}
	}
	return Input{}, false
}

// ADC returns the ADC called name.
func (c *Config) ADC(name string) (ADC, bool) {
	for _, a := range c.ADCs {
		if a.Name == name {
			return a, true
		}
	}
	return ADC{}, false
}

// Load reads and parses the mapping file at path. Errors in the file are
// returned as Errors, each naming path, line and column.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("mapping file %s not found: check the path (examples are in config/examples/): %w", path, err)
		}
		return nil, fmt.Errorf("read mapping file %s: %w", path, err)
	}
	defer f.Close()
	// Read at most one byte over the limit: a huge file (or /dev/zero) is
	// refused without being read whole.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read mapping file %s: %w", path, err)
	}
	size := int64(len(data))
	if size > MaxFileSize {
		size = -1 // not a regular file: its size is not known
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > MaxFileSize {
			size = fi.Size()
		}
	}
	return parse(path, data, size)
}

// Default returns the embedded tutorial mapping (config/examples/tutorial.yaml):
// listen on 127.0.0.1:5005, an LED on GPIO17 driven by /led and /test, a
// button on GPIO27 sending /button to 127.0.0.1:5006. It panics only if the
// embedded file itself is invalid, which the package's tests rule out.
func Default() *Config {
	c, err := Parse(TutorialFile, tutorialYAML)
	if err != nil {
		panic("config: the embedded tutorial mapping is invalid: " + err.Error())
	}
	return c
}

// AllowEntry is one address or network of Config.Allow.
type AllowEntry struct {
	Net       netip.Prefix
	RateLimit *RateLimit // nil: the file's rate_limit
	Pos       Pos
}

// RateLimit is a token bucket per sender: Rate messages a second, Burst at
// once.
type RateLimit struct {
	Rate  float64
	Burst int
}
