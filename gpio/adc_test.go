package gpio

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/conntest"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2ctest"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"
	"periph.io/x/conn/v3/spi/spitest"
)

func TestMaxRate(t *testing.T) {
	for chip, want := range map[string]float64{"ads1115": 860, "ADS1015": 3300, "mcp3008": 75000} {
		if got, err := MaxRate(chip); err != nil || got != want {
			t.Errorf("MaxRate(%s) = %v, %v; want %v", chip, got, err, want)
		}
	}
	if n, err := ADCChannels("mcp3008"); n != 8 || err != nil {
		t.Errorf("ADCChannels(mcp3008) = %d, %v", n, err)
	}
	if _, err := MaxRate("mcp3208"); err == nil || !strings.Contains(err.Error(), "ads1015, ads1115, mcp3008") {
		t.Errorf("unknown chip: %v", err)
	}
	// The MCP3008 figure is f_CLK/18 at its 3.3 V clock limit.
	if r, _ := MaxRate(ChipMCP3008); r != float64(MCP3008MaxClock/physic.Hertz)/18 {
		t.Errorf("MCP3008 rate %v is not %v/18", r, MCP3008MaxClock)
	}
}

// ads1115Probe is OpenADS1x15's read of the config register (reset value
// 0x8583).
func adsProbe(addr uint16) i2ctest.IO {
	return i2ctest.IO{Addr: addr, W: []byte{0x01}, R: []byte{0x85, 0x83}}
}

// adsRead is one single-shot conversion: config write, then the result.
func adsRead(addr uint16, cfg uint16, hi, lo byte) []i2ctest.IO {
	return []i2ctest.IO{
		{Addr: addr, W: []byte{0x01, byte(cfg >> 8), byte(cfg)}},
		{Addr: addr, W: []byte{0x00}, R: []byte{hi, lo}},
	}
}

func TestADS1115Playback(t *testing.T) {
	// Config: OS single 0x8000 | mux (4+ch)<<12 | PGA 4.096 V 0x0200 |
	// single-shot 0x0100 | 860 SPS 0x00E0 | comparator off 0x0003.
	ops := []i2ctest.IO{adsProbe(0x48)}
	ops = append(ops, adsRead(0x48, 0xC3E3, 0x40, 0x00)...) // ch0: 16384
	ops = append(ops, adsRead(0x48, 0xF3E3, 0x7F, 0xFF)...) // ch3: 32767
	ops = append(ops, adsRead(0x48, 0xD3E3, 0xFF, 0xF0)...) // ch1: -16 (below GND)
	bus := &i2ctest.Playback{Ops: ops, DontPanic: true}
	a, err := OpenADS1x15(bus, "ads1115", 0x48, 0)
	if err != nil {
		t.Fatal(err)
	}
	if a.Name() != "ADS1115 at 0x48 on playback" {
		t.Errorf("name %q", a.Name())
	}
	for _, c := range []struct {
		ch   int
		want float64
	}{{0, 16384.0 / 32767}, {3, 1}, {1, 0}} {
		got, err := a.Read(c.ch)
		if err != nil || math.Abs(got-c.want) > 1e-9 {
			t.Fatalf("Read(%d) = %v, %v; want %v", c.ch, got, err, c.want)
		}
	}
	if _, err := a.Read(4); err == nil || !strings.Contains(err.Error(), "no channel 4 (it has channels 0 to 3)") {
		t.Fatalf("Read(4): %v", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := bus.Close(); err != nil {
		t.Fatalf("playback not consumed: %v", err)
	}
}

func TestADS1015Playback(t *testing.T) {
	// ch2 at 0x49, 3300 SPS (0x00C0), 2.048 V range (0x0400).
	ops := append([]i2ctest.IO{adsProbe(0x49)}, adsRead(0x49, 0xE5C3, 0x7F, 0xF0)...)
	bus := &i2ctest.Playback{Ops: ops, DontPanic: true}
	a, err := OpenADS1x15(bus, "ADS1015", 0x49, 2*physic.Volt)
	if err != nil {
		t.Fatal(err)
	}
	// The 12-bit result is left-aligned: 2047<<4 = 32752.
	if got, err := a.Read(2); err != nil || math.Abs(got-32752.0/32767) > 1e-9 {
		t.Fatalf("Read(2) = %v, %v", got, err)
	}
	if err := bus.Close(); err != nil {
		t.Fatalf("playback not consumed: %v", err)
	}
}

// errBus fails every transfer with err after ok transfers succeed through
// the playback.
type errBus struct {
	i2ctest.Playback
	err error
}

func (b *errBus) Tx(addr uint16, w, r []byte) error {
	if b.Count >= len(b.Ops) {
		return b.err
	}
	return b.Playback.Tx(addr, w, r)
}

func (b *errBus) String() string { return "/dev/i2c-1" }

func TestADS1x15Errors(t *testing.T) {
	nack := fmt.Errorf("sysfs-i2c: %v", errRemoteIO) // what periph's sysfs-i2c returns
	_, err := OpenADS1x15(&errBus{err: nack}, "ads1115", 0x48, 0)
	if err == nil || !strings.Contains(err.Error(), "ADS1115 at 0x48 on /dev/i2c-1 does not answer (no acknowledge") || !strings.Contains(err.Error(), "i2cdetect -y 1") {
		t.Fatalf("NACK at open: %v", err)
	}
	// A chip that answered at open and then stops answering.
	b := &errBus{Playback: i2ctest.Playback{Ops: []i2ctest.IO{adsProbe(0x4a)}, DontPanic: true}, err: syscall.ENXIO}
	a, err := OpenADS1x15(b, "ads1115", 0x4a, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Read(0); err == nil || !strings.Contains(err.Error(), "ADS1115 at 0x4a on /dev/i2c-1 does not answer when reading channel 0") {
		t.Fatalf("NACK at read: %v", err)
	}
	// Another bus error.
	b = &errBus{err: errors.New("sysfs-i2c: input/output error")}
	if _, err := OpenADS1x15(b, "ads1015", 0x48, 0); err == nil || !strings.Contains(err.Error(), "ADS1015 at 0x48 on /dev/i2c-1: I2C bus error: sysfs-i2c: input/output error") {
		t.Fatalf("bus error: %v", err)
	}
	for _, c := range []struct {
		chip string
		addr uint16
		fs   physic.ElectricPotential
		want string
	}{
		{"ads1113", 0x48, 0, `"ads1113" is not an ADS1x15 chip`},
		{"ads1115", 0x50, 0, "the address must be 0x48"},
		{"ads1115", 0x48, 7 * physic.Volt, "channel 0 at full scale 7V"},
	} {
		if _, err := OpenADS1x15(&i2ctest.Playback{DontPanic: true}, c.chip, c.addr, c.fs); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v; want %q", c, err, c.want)
		}
	}
}

// recPort records how the MCP3008 connects.
type recPort struct {
	spitest.Playback
	f    physic.Frequency
	mode spi.Mode
	bits int
}

func (p *recPort) Connect(f physic.Frequency, mode spi.Mode, bits int) (spi.Conn, error) {
	p.f, p.mode, p.bits = f, mode, bits
	return p.Playback.Connect(f, mode, bits)
}

func mcpOp(ch int, r1, r2 byte) conntest.IO {
	return conntest.IO{W: []byte{0x01, 0x80 | byte(ch)<<4, 0}, R: []byte{0x00, r1, r2}}
}

func TestMCP3008Playback(t *testing.T) {
	p := &recPort{Playback: spitest.Playback{Playback: conntest.Playback{
		Ops: []conntest.IO{
			mcpOp(0, 0, 0),        // the probe at open
			mcpOp(5, 0x02, 0x00),  // 512
			mcpOp(7, 0xFB, 0xFF),  // 1023; bits above the null bit are undefined
			mcpOp(0, 0x00, 0x01),  // 1
			mcpOp(3, 0xFF, 0xFF)}, // no chip: MISO high
		DontPanic: true,
	}}}
	m, err := OpenMCP3008(p, 0)
	if err != nil {
		t.Fatal(err)
	}
	if p.f != 1350*physic.KiloHertz || p.mode != spi.Mode0 || p.bits != 8 {
		t.Fatalf("connected at %s mode %v %d bits", p.f, p.mode, p.bits)
	}
	for _, c := range []struct {
		ch   int
		want float64
	}{{5, 512.0 / 1023}, {7, 1}, {0, 1.0 / 1023}} {
		if got, err := m.Read(c.ch); err != nil || got != c.want {
			t.Fatalf("Read(%d) = %v, %v; want %v", c.ch, got, err, c.want)
		}
	}
	if _, err := m.Read(3); err == nil || !strings.Contains(err.Error(), "MCP3008 on playback does not answer (reading channel 3, the null bit is 1") || !strings.Contains(err.Error(), "CS/SHDN to CE0 GPIO8 pin 24") {
		t.Fatalf("no chip: %v", err)
	}
	if _, err := m.Read(8); err == nil || !strings.Contains(err.Error(), "no channel 8") {
		t.Fatalf("Read(8): %v", err)
	}
	// Close closes the port, which checks that every operation was played.
	if err := m.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestMCP3008Errors(t *testing.T) {
	if _, err := OpenMCP3008(&spitest.Playback{}, 2*physic.MegaHertz); err == nil || !strings.Contains(err.Error(), "more than the chip takes at 3.3 V") {
		t.Fatalf("fast clock: %v", err)
	}
	// Nothing on MISO (pulled high): refused at open.
	p := &spitest.Playback{Playback: conntest.Playback{Ops: []conntest.IO{mcpOp(0, 0xFF, 0xFF)}, DontPanic: true}}
	if _, err := OpenMCP3008(p, 0); err == nil || !strings.Contains(err.Error(), "does not answer") {
		t.Fatalf("no chip at open: %v", err)
	}
	// A transfer error.
	p = &spitest.Playback{Playback: conntest.Playback{DontPanic: true}}
	if _, err := OpenMCP3008(p, 0); err == nil || !strings.Contains(err.Error(), "MCP3008 on playback: reading channel 0: SPI error") {
		t.Fatalf("SPI error: %v", err)
	}
	// Connect twice (a port already in use).
	p = &spitest.Playback{Initialized: true}
	if _, err := OpenMCP3008(p, 0); err == nil || !strings.Contains(err.Error(), "connecting at 1.350MHz, mode 0, 8 bits") {
		t.Fatalf("connect: %v", err)
	}
}

// loopConn answers every MCP3008 transfer with 0x2AA, without allocating.
type loopConn struct{}

func (loopConn) String() string               { return "loop" }
func (loopConn) Duplex() conn.Duplex          { return conn.Full }
func (loopConn) TxPackets([]spi.Packet) error { return nil }
func (loopConn) Tx(w, r []byte) error {
	r[0], r[1], r[2] = 0, 0x02, 0xAA
	return nil
}

func TestADCReadsDoNotAllocate(t *testing.T) {
	m := &MCP3008{name: "MCP3008 on loop", conn: loopConn{}}
	s := NewSimADC("pots", 2)
	var v float64
	if n := testing.AllocsPerRun(100, func() { v, _ = m.Read(1) }); n != 0 {
		t.Errorf("MCP3008 Read allocates %v times", n)
	}
	if v != float64(0x2AA)/1023 {
		t.Errorf("value %v", v)
	}
	if n := testing.AllocsPerRun(100, func() { v, _ = s.Read(1) }); n != 0 {
		t.Errorf("SimADC Read allocates %v times", n)
	}
}

func TestSimADC(t *testing.T) {
	s := NewSimADC("pots", 4)
	if s.Name() != "simulated ADC pots" {
		t.Errorf("name %q", s.Name())
	}
	if v, err := s.Read(3); v != 0 || err != nil {
		t.Fatalf("fresh Read = %v, %v", v, err)
	}
	for in, want := range map[float64]float64{0.25: 0.25, 1.5: 1, -2: 0, 1: 1} {
		if err := s.Set(2, in); err != nil {
			t.Fatal(err)
		}
		if v, _ := s.Read(2); v != want {
			t.Errorf("Set(%v): Read = %v, want %v", in, v, want)
		}
	}
	if err := s.Set(4, 0.5); err == nil || !strings.Contains(err.Error(), "simulated ADC pots: no channel 4") {
		t.Errorf("Set(4): %v", err)
	}
	if err := s.Set(0, math.NaN()); err == nil {
		t.Error("Set(NaN) accepted")
	}
	if _, err := s.Read(-1); err == nil {
		t.Error("Read(-1) accepted")
	}
	// Concurrent Set and Read (run with -race).
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for k := range 1000 {
			_ = s.Set(1, float64(k)/1000)
		}
	}()
	go func() {
		defer wg.Done()
		for range 1000 {
			if v, _ := s.Read(1); v < 0 || v > 1 {
				t.Errorf("read %v", v)
				return
			}
		}
	}()
	wg.Wait()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenBuses(t *testing.T) {
	oldStat, oldI2C, oldSPI := statDev, openI2C, openSPI
	t.Cleanup(func() { statDev, openI2C, openSPI = oldStat, oldI2C, oldSPI })
	statDev = func(string) (os.FileInfo, error) { return nil, fs.ErrNotExist }
	if _, err := OpenI2CBus("/dev/i2c-1"); err == nil || !strings.Contains(err.Error(), "/dev/i2c-1 does not exist: I2C is not enabled — sudo raspi-config -> Interface Options -> I2C, then reboot") {
		t.Errorf("missing I2C: %v", err)
	}
	if _, err := OpenSPIPort("SPI0.0"); err == nil || !strings.Contains(err.Error(), "/dev/spidev0.0 does not exist: SPI is not enabled — sudo raspi-config -> Interface Options -> SPI, then reboot") {
		t.Errorf("missing SPI: %v", err)
	}
	statDev = func(string) (os.FileInfo, error) { return nil, nil }
	openI2C = func(n int) (i2c.BusCloser, error) {
		return nil, fmt.Errorf("sysfs-i2c: are you member of group 'plugdev'? open /dev/i2c-%d: permission denied", n)
	}
	if _, err := OpenI2CBus("I2C1"); err == nil || !strings.Contains(err.Error(), "/dev/i2c-1: permission denied: add the user to the i2c group (sudo usermod -aG i2c $USER)") {
		t.Errorf("permission: %v", err)
	}
	var gotN int
	openI2C = func(n int) (i2c.BusCloser, error) { gotN = n; return &i2ctest.Playback{}, nil }
	b, err := OpenI2CBus("3")
	if err != nil || gotN != 3 || b.String() != "/dev/i2c-3" {
		t.Errorf("OpenI2CBus(3) = %v, %v (bus %d)", b, err, gotN)
	}
	var gotBus, gotCS int
	openSPI = func(bus, cs int) (spi.PortCloser, error) { gotBus, gotCS = bus, cs; return &spitest.Playback{}, nil }
	p, err := OpenSPIPort("/dev/spidev1.2")
	if err != nil || gotBus != 1 || gotCS != 2 || p.String() != "/dev/spidev1.2" {
		t.Errorf("OpenSPIPort = %v, %v (%d.%d)", p, err, gotBus, gotCS)
	}
	for _, bad := range []string{"", "i2c", "/dev/i2c-x", "I2C-1x", "+1"} {
		if _, err := OpenI2CBus(bad); err == nil || !strings.Contains(err.Error(), "not a bus name") {
			t.Errorf("OpenI2CBus(%q): %v", bad, err)
		}
	}
	for _, bad := range []string{"SPI0", "spi0.x", "0"} {
		if _, err := OpenSPIPort(bad); err == nil || !strings.Contains(err.Error(), "not a port name") {
			t.Errorf("OpenSPIPort(%q): %v", bad, err)
		}
	}
}

// BenchmarkMCP3008Read measures the driver's side of one conversion (the SPI
// transfer itself is a no-op here).
func BenchmarkMCP3008Read(b *testing.B) {
	m := &MCP3008{name: "MCP3008 on loop", conn: loopConn{}}
	b.ReportAllocs()
	for b.Loop() {
		_, _ = m.Read(3)
	}
}

// BenchmarkSimADCRead measures one read of a simulated channel.
func BenchmarkSimADCRead(b *testing.B) {
	s := NewSimADC("pots", 8)
	_ = s.Set(3, 0.5)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = s.Read(3)
	}
}
