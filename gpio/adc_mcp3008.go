package gpio

import (
	"fmt"
	"sync"

	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"
)

// MCP3008MaxClock is the fastest SPI clock an MCP3008 takes at 2.7 to 3.3 V
// (3.6 MHz at 5 V; the Pi's pins are 3.3 V).
const MCP3008MaxClock = 1350 * physic.KiloHertz

// MCP3008 is a Microchip MCP3008 (10 bits, 8 channels) on SPI, mode 0, 8-bit
// words. periph has no driver for it; each Read is one 3-byte transfer:
// tx [0x01, 0x80|ch<<4, 0] (start bit, single-ended, channel), value
// ((rx[1]&3)<<8)|rx[2] out of 1023. Reads serialise and allocate nothing.
type MCP3008 struct {
	name string
	port spi.Port
	conn spi.Conn

	mu     sync.Mutex
	tx, rx [3]byte
}

var _ ADC = (*MCP3008)(nil)

// OpenMCP3008 connects to an MCP3008 on port (one SPI chip select, e.g.
// OpenSPIPort("SPI0.0")) at clock (0: MCP3008MaxClock; more than that is
// refused). It reads channel 0 once: a chip that is not there (MISO reads
// high, so the null bit before the value is 1) is reported now. The MCP3008
// owns port from then on: Close closes it when it is an spi.PortCloser.
func OpenMCP3008(port spi.Port, clock physic.Frequency) (*MCP3008, error) {
	if port == nil {
		return nil, fmt.Errorf("MCP3008: no SPI port")
	}
	m := &MCP3008{name: fmt.Sprintf("MCP3008 on %s", port), port: port}
	if clock == 0 {
		clock = MCP3008MaxClock
	}
	if clock < 0 || clock > MCP3008MaxClock {
		return nil, fmt.Errorf("%s: SPI clock %s is more than the chip takes at 3.3 V (%s)", m.name, clock, MCP3008MaxClock)
	}
	c, err := port.Connect(clock, spi.Mode0, 8)
	if err != nil {
		return nil, fmt.Errorf("%s: connecting at %s, mode 0, 8 bits: %w", m.name, clock, err)
	}
	m.conn = c
	if _, err := m.Read(0); err != nil {
		return nil, err
	}
	return m, nil
}

// Read converts single-ended channel (0 to 7) once and returns value/1023.
func (m *MCP3008) Read(channel int) (float64, error) {
	if channel < 0 || channel > 7 {
		return 0, checkChannel(m.name, channel, 8)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tx = [3]byte{0x01, 0x80 | byte(channel&7)<<4, 0}
	if err := m.conn.Tx(m.tx[:], m.rx[:]); err != nil {
		return 0, fmt.Errorf("%s: reading channel %d: SPI error: %w", m.name, channel, err)
	}
	if m.rx[1]&0x04 != 0 {
		return 0, fmt.Errorf("%s does not answer (reading channel %d, the null bit is 1: MISO reads high); check its wiring: VDD and VREF to 3V3, AGND and DGND to GND, CLK to GPIO11 pin 23, DOUT to MISO GPIO9 pin 21, DIN to MOSI GPIO10 pin 19, CS/SHDN to CE0 GPIO8 pin 24", m.name, channel)
	}
	v := int(m.rx[1]&3)<<8 | int(m.rx[2])
	return float64(v) / 1023, nil
}

// Close closes the SPI port when it is an spi.PortCloser (OpenSPIPort's is).
func (m *MCP3008) Close() error {
	if c, ok := m.port.(spi.PortCloser); ok {
		if err := c.Close(); err != nil {
			return fmt.Errorf("%s: closing the port: %w", m.name, err)
		}
	}
	return nil
}

// Name returns e.g. "MCP3008 on SPI0.0".
func (m *MCP3008) Name() string { return m.name }
