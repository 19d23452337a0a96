package gpio

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"syscall"
)

// ADC is an analog-to-digital converter with numbered channels. Its readings
// are fractions of the chip's full scale, 0 to 1. It is safe for concurrent
// use; the chips convert one channel at a time, so reads of one chip
// serialise.
type ADC interface {
	// Read converts channel once and returns it as a fraction of full scale,
	// clamped to 0..1. The error names the chip, where it is and the channel.
	Read(channel int) (float64, error)
	// Close releases what the ADC owns (see each constructor).
	Close() error
	// Name describes the chip and where it is, e.g. "ADS1115 at 0x48 on
	// /dev/i2c-1", for logs and errors.
	Name() string
}

// The ADC chips this package drives, as a mapping names them.
const (
	ChipADS1015 = "ads1015"
	ChipADS1115 = "ads1115"
	ChipMCP3008 = "mcp3008"
)

// adcChip holds what one chip can do.
type adcChip struct {
	channels int     // single-ended channels
	maxRate  float64 // conversions per second, shared by all channels
}

// adcChips: the ADS1x15 rates are their fastest data rates (datasheets,
// and periph's ads1x15 tables); the MCP3008's is its conversion limit at
// 3.3 V: f_CLK at most 1.35 MHz (2.7 V <= VDD), 18 clocks per conversion,
// 1.35 MHz / 18 = 75 000 samples/s.
var adcChips = map[string]adcChip{
	ChipADS1115: {channels: 4, maxRate: 860},
	ChipADS1015: {channels: 4, maxRate: 3300},
	ChipMCP3008: {channels: 8, maxRate: 75000},
}

// ADCChips lists the chip names NewADC-style constructors and MaxRate know.
func ADCChips() []string { return []string{ChipADS1015, ChipADS1115, ChipMCP3008} }

func lookupChip(chip string) (adcChip, error) {
	c, ok := adcChips[strings.ToLower(chip)]
	if !ok {
		return adcChip{}, fmt.Errorf("unknown ADC chip %q: use %s", chip, strings.Join(ADCChips(), ", "))
	}
	return c, nil
}

// MaxRate returns how many conversions a second chip makes at most, shared
// by all its channels: ADS1115 860, ADS1015 3300, MCP3008 75 000 (at
// 1.35 MHz SPI and 3.3 V, f_CLK/18). A mapping whose channels of one chip
// add up to more asks for more than the chip can give. Over SPI the MCP3008
// really gets fewer: a 3-byte transfer is 24 clocks (56 250/s at 1.35 MHz),
// plus the kernel's time per transfer.
func MaxRate(chip string) (float64, error) {
	c, err := lookupChip(chip)
	return c.maxRate, err
}

// ADCChannels returns how many single-ended channels chip has (0 to n-1):
// 4 for the ADS1x15, 8 for the MCP3008.
func ADCChannels(chip string) (int, error) {
	c, err := lookupChip(chip)
	return c.channels, err
}

// checkChannel returns an error naming the ADC when ch is not 0..n-1.
func checkChannel(name string, ch, n int) error {
	if ch < 0 || ch >= n {
		return fmt.Errorf("%s: no channel %d (it has channels 0 to %d)", name, ch, n-1)
	}
	return nil
}

// clamp01 limits v to 0..1 (NaN becomes 0).
func clamp01(v float64) float64 {
	switch {
	case v > 1:
		return 1
	case v >= 0:
		return v
	}
	return 0
}

// noAnswer reports whether a bus error means that no chip acknowledged its
// address (Linux: EREMOTEIO or ENXIO; periph's sysfs-i2c keeps only their
// text).
func noAnswer(err error) bool {
	if errors.Is(err, errRemoteIO) || errors.Is(err, syscall.ENXIO) {
		return true
	}
	s := err.Error()
	return strings.Contains(s, "remote I/O error") || strings.Contains(s, syscall.ENXIO.Error())
}

// SimADC is a simulated ADC for the sim backend: each channel holds a value
// (0..1 of full scale) set from outside with Set, e.g. by OSC
// /sim/<sensor> <value>, so the whole analog pipeline runs without a chip.
// Reads never fail and never wait. It is safe for concurrent use.
type SimADC struct {
	name string
	ch   []atomic.Uint64 // math.Float64bits of each channel's value
}

var _ ADC = (*SimADC)(nil)

// NewSimADC returns a simulated ADC called name with channels channels, all
// reading 0.
func NewSimADC(name string, channels int) *SimADC {
	return &SimADC{name: "simulated ADC " + name, ch: make([]atomic.Uint64, max(channels, 0))}
}

// Set sets channel's reading to v, clamped to 0..1. It fails on a channel
// the ADC does not have or a NaN.
func (s *SimADC) Set(channel int, v float64) error {
	if err := checkChannel(s.Name(), channel, len(s.ch)); err != nil {
		return err
	}
	if math.IsNaN(v) {
		return fmt.Errorf("%s: channel %d: value is not a number", s.Name(), channel)
	}
	s.ch[channel].Store(math.Float64bits(clamp01(v)))
	return nil
}

// Read returns the value last Set on channel (0 before any Set).
func (s *SimADC) Read(channel int) (float64, error) {
	if channel < 0 || channel >= len(s.ch) {
		return 0, checkChannel(s.Name(), channel, len(s.ch))
	}
	return math.Float64frombits(s.ch[channel].Load()), nil
}

// Close does nothing: the values stay readable.
func (s *SimADC) Close() error { return nil }

// Name returns "simulated ADC <name>".
func (s *SimADC) Name() string { return s.name }
