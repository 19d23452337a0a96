package gpio

import (
	"fmt"
	"strings"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/devices/v3/ads1x15"
)

// ADS1x15DefaultAddr is the I2C address of an ADS1015/ADS1115 whose ADDR pin
// is tied to GND (VDD: 0x49, SDA: 0x4A, SCL: 0x4B).
const ADS1x15DefaultAddr = 0x48

// ADS1x15DefaultFullScale is the full scale OpenADS1x15 uses when given 0:
// the smallest of the chip's ranges (6.144, 4.096, 2.048, 1.024, 0.512,
// 0.256 V) that covers a 3.3 V supply. A 3.3 V input then reads 3.3/4.096 =
// 0.806 of full scale.
const ADS1x15DefaultFullScale = 4096 * physic.MilliVolt

// ADS1x15 is an ADS1015 or ADS1115 on I2C, read through periph's ads1x15
// driver: a single-shot conversion per Read on single-ended channels 0 to 3,
// at the chip's fastest data rate (ADS1115 860, ADS1015 3300 samples/s), so
// a Read takes 1/rate (1.16 ms on an ADS1115) plus the bus traffic: a
// config write [0x01, hi, lo], the wait, then [0x00] and a 2-byte read.
// Reads of one chip serialise.
type ADS1x15 struct {
	name string
	pins [4]ads1x15.PinADC
}

var _ ADC = (*ADS1x15)(nil)

// OpenADS1x15 opens chip ("ads1115" or "ads1015") at addr (0x48 to 0x4B) on
// bus, with full scale fullScale (0: ADS1x15DefaultFullScale; the driver
// picks the smallest of the chip's ranges that covers it). It reads the
// chip's config register once, so a chip that does not answer is reported
// now, naming the chip, bus and address. The bus stays the caller's: several
// chips can share it, and Close does not close it.
func OpenADS1x15(bus i2c.Bus, chip string, addr uint16, fullScale physic.ElectricPotential) (*ADS1x15, error) {
	if bus == nil {
		return nil, fmt.Errorf("%s at %#02x: no I2C bus", chip, addr)
	}
	var open func(i2c.Bus, *ads1x15.Opts) (*ads1x15.Dev, error)
	switch strings.ToLower(chip) {
	case ChipADS1115:
		open = ads1x15.NewADS1115
	case ChipADS1015:
		open = ads1x15.NewADS1015
	default:
		return nil, fmt.Errorf("%q is not an ADS1x15 chip: use ads1115 or ads1015", chip)
	}
	name := fmt.Sprintf("%s at %#02x on %s", strings.ToUpper(chip), addr, bus)
	if addr < 0x48 || addr > 0x4b {
		return nil, fmt.Errorf("%s: the address must be 0x48 (ADDR to GND), 0x49 (VDD), 0x4a (SDA) or 0x4b (SCL)", name)
	}
	if fullScale == 0 {
		fullScale = ADS1x15DefaultFullScale
	}
	rate, _ := MaxRate(chip)
	dev, err := open(bus, &ads1x15.Opts{I2cAddress: addr})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	a := &ADS1x15{name: name}
	for ch := range a.pins {
		p, err := dev.PinForChannel(ads1x15.Channel0+ads1x15.Channel(ch), fullScale, physic.Frequency(rate)*physic.Hertz, ads1x15.BestQuality)
		if err != nil {
			return nil, fmt.Errorf("%s: channel %d at full scale %s: %w", name, ch, fullScale, err)
		}
		a.pins[ch] = p
	}
	// Probe: read the config register (pointer 0x01, 2 bytes).
	var cfg [2]byte
	if err := bus.Tx(addr, []byte{0x01}, cfg[:]); err != nil {
		return nil, i2cError(name, "does not answer", err)
	}
	return a, nil
}

// i2cError explains a failed transfer with the chip's name and what to check.
func i2cError(name, what string, err error) error {
	if noAnswer(err) {
		return fmt.Errorf("%s %s (no acknowledge: %v); check its wiring (VDD to 3V3 pin 1, GND pin 6, SDA to GPIO2 pin 3, SCL to GPIO3 pin 5) and its address (ADDR to GND = 0x48, VDD = 0x49, SDA = 0x4a, SCL = 0x4b); `i2cdetect -y 1` lists the addresses that answer", name, what, err)
	}
	return fmt.Errorf("%s: I2C bus error: %w; check the wiring and that nothing else drives the bus", name, err)
}

// Read converts single-ended channel (0 to 3) once and returns raw/32767,
// clamped to 0..1 (a reading below GND is 0).
func (a *ADS1x15) Read(channel int) (float64, error) {
	if channel < 0 || channel >= len(a.pins) {
		return 0, checkChannel(a.name, channel, len(a.pins))
	}
	s, err := a.pins[channel].Read()
	if err != nil {
		return 0, i2cError(a.name, fmt.Sprintf("does not answer when reading channel %d", channel), err)
	}
	return clamp01(float64(s.Raw) / 32767), nil
}

// Close stops the channels; the bus stays open (it is the caller's).
func (a *ADS1x15) Close() error {
	for _, p := range a.pins {
		if p != nil {
			_ = p.Halt()
		}
	}
	return nil
}

// Name returns e.g. "ADS1115 at 0x48 on /dev/i2c-1".
func (a *ADS1x15) Name() string { return a.name }
