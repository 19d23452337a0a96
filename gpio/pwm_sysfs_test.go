package gpio

import (
	"encoding/binary"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fakeKernel is a fake /sys/class/pwm in a temporary directory, acting as
// the kernel and udev for the files the driver writes. It refuses a write
// to a file without group write permission (the process is a user in group
// gpio, not root, whatever the test runs as), a duty_cycle above the period
// and a period below the duty_cycle (EINVAL, as the kernel does). export
// creates pwmN/ with files mode 0644 (root only) and, udevDelay later,
// "udev" makes them group-writable (never when noUdev).
type fakeKernel struct {
	t    *testing.T
	root string

	udevDelay time.Duration
	noUdev    bool

	mu     sync.Mutex
	writes []string // "pwmchip0/pwm1/period=20000000"
	udev   sync.WaitGroup
}

var _ sysfsIO = (*fakeKernel)(nil)

// fakeDTBase is where the fake device tree's pinctrl groups live.
const fakeDTBase = "sys/firmware/devicetree/base"

// fakeChip is one PWM chip of the fake tree.
type fakeChip struct {
	name    string   // "pwmchip2"
	compat  string   // "raspberrypi,rp1-pwm"
	npwm    int      // 0: not written
	phandle uint32   // pinctrl group phandle; 0: no pinctrl-0
	bcmPins []uint32 // brcm,pins of that group
	pins    []string // pins strings of a child of that group ("gpio18")
	gpios   []uint32 // gpios property (pwm-gpio)
	noOF    bool     // no device/of_node
}

func be32(v ...uint32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.BigEndian.PutUint32(b[4*i:], x)
	}
	return b
}

func mkfile(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // umask
		t.Fatal(err)
	}
}

// newFakeKernel builds a tree with chips; export/unexport are group-writable.
func newFakeKernel(t *testing.T, chips ...fakeChip) *fakeKernel {
	t.Helper()
	k := &fakeKernel{t: t, root: t.TempDir(), udevDelay: 20 * time.Millisecond}
	t.Cleanup(k.udev.Wait)
	for i, c := range chips {
		dir := filepath.Join(k.root, "sys/class/pwm", c.name)
		mkfile(t, filepath.Join(dir, "export"), nil, 0o220)
		mkfile(t, filepath.Join(dir, "unexport"), nil, 0o220)
		if c.npwm > 0 {
			mkfile(t, filepath.Join(dir, "npwm"), []byte(strconv.Itoa(c.npwm)+"\n"), 0o444)
		}
		if c.noOF {
			continue
		}
		// device -> platform device dir, whose of_node -> a device tree node.
		node := filepath.Join(k.root, fakeDTBase, "axi", "pwm@"+strconv.Itoa(i))
		mkfile(t, filepath.Join(node, "compatible"), []byte(c.compat+"\x00"), 0o444)
		if c.phandle != 0 {
			mkfile(t, filepath.Join(node, "pinctrl-0"), be32(c.phandle), 0o444)
			grp := filepath.Join(k.root, fakeDTBase, "soc", "gpio", "pwm_pins_"+strconv.Itoa(i))
			mkfile(t, filepath.Join(grp, "phandle"), be32(c.phandle), 0o444)
			if c.bcmPins != nil {
				mkfile(t, filepath.Join(grp, "brcm,pins"), be32(c.bcmPins...), 0o444)
			}
			if c.pins != nil {
				mkfile(t, filepath.Join(grp, "pins-sub", "pins"), []byte(strings.Join(c.pins, "\x00")+"\x00"), 0o444)
			}
		}
		if c.gpios != nil {
			mkfile(t, filepath.Join(node, "gpios"), be32(c.gpios...), 0o444)
		}
		dev := filepath.Join(k.root, "sys/devices/platform/axi", "pwm"+strconv.Itoa(i))
		if err := os.MkdirAll(dev, 0o755); err != nil {
			t.Fatal(err)
		}
		relLink(t, node, filepath.Join(dev, "of_node"))
		relLink(t, dev, filepath.Join(dir, "device"))
	}
	return k
}

// relLink makes link point to target with a relative path, as sysfs does
// (device -> ../../../1f00098000.pwm).
func relLink(t *testing.T, target, link string) {
	t.Helper()
	r, err := filepath.Rel(filepath.Dir(link), target)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(r, link); err != nil {
		t.Fatal(err)
	}
}

func (k *fakeKernel) rel(path string) string {
	r, err := filepath.Rel(filepath.Join(k.root, "sys/class/pwm"), path)
	if err != nil {
		k.t.Errorf("write outside the pwm class: %s", path)
	}
	return r
}

func errno(op, path string, e syscall.Errno) error { return &fs.PathError{Op: op, Path: path, Err: e} }

func (k *fakeKernel) Writable(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Mode().Perm()&0o020 == 0 {
		return errno("open", path, syscall.EACCES)
	}
	return nil
}

func (k *fakeKernel) WriteFile(path, data string) error {
	if err := k.Writable(path); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.writes = append(k.writes, k.rel(path)+"="+data)
	v, err := strconv.ParseInt(strings.TrimSpace(data), 10, 64)
	if err != nil {
		return errno("write", path, syscall.EINVAL)
	}
	dir := filepath.Dir(path)
	read := func(name string) int64 { return readInt(filepath.Join(dir, name), 0) }
	switch filepath.Base(path) {
	case "export":
		ch := filepath.Join(dir, "pwm"+strconv.FormatInt(v, 10))
		if err := os.Mkdir(ch, 0o755); err != nil {
			return errno("write", path, syscall.EBUSY)
		}
		files := []string{"period", "duty_cycle", "enable", "polarity"}
		for _, f := range files {
			mkfile(k.t, filepath.Join(ch, f), []byte("0\n"), 0o644)
		}
		if !k.noUdev {
			k.udev.Add(1)
			time.AfterFunc(k.udevDelay, func() {
				defer k.udev.Done()
				for _, f := range files {
					_ = os.Chmod(filepath.Join(ch, f), 0o664)
				}
			})
		}
		return nil
	case "unexport":
		ch := filepath.Join(dir, "pwm"+strconv.FormatInt(v, 10))
		if _, err := os.Stat(ch); err != nil {
			return errno("write", path, syscall.EINVAL)
		}
		return os.RemoveAll(ch)
	case "period":
		if v < read("duty_cycle") {
			return errno("write", path, syscall.EINVAL)
		}
	case "duty_cycle":
		if v > read("period") {
			return errno("write", path, syscall.EINVAL)
		}
	case "enable":
		if v == 1 && read("period") == 0 {
			return errno("write", path, syscall.EINVAL)
		}
	}
	return os.WriteFile(path, []byte(data+"\n"), 0)
}

func (k *fakeKernel) takeWrites() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	w := k.writes
	k.writes = nil
	return w
}

func (k *fakeKernel) env() pwmEnv {
	return pwmEnv{
		root: k.root, sysfs: k, wait: 5 * time.Second,
		euid:   func() int { return 1000 },
		bcmPin: func(int) (bcmPWMPin, bool) { return nil, false },
	}
}

// The chips of a Pi 4 (pwm-2chan, pinctrl on 18/19), a Pi 5 (RP1 PWM0 as
// pwmchip2 next to a fan controller pwmchip0), and a pwm-gpio overlay.
var (
	pi4Chip      = fakeChip{name: "pwmchip0", compat: "brcm,bcm2835-pwm", npwm: 2, phandle: 0x51, bcmPins: []uint32{18, 19}}
	pi4Chip1213  = fakeChip{name: "pwmchip0", compat: "brcm,bcm2835-pwm", npwm: 2, phandle: 0x51, bcmPins: []uint32{12, 13}}
	pi5FanChip   = fakeChip{name: "pwmchip0", compat: "raspberrypi,rp1-fan\x00other", npwm: 1}
	pi5Chip      = fakeChip{name: "pwmchip2", compat: "raspberrypi,rp1-pwm", npwm: 4, phandle: 0x9a, pins: []string{"gpio18", "gpio19"}}
	pi5ChipNoDT  = fakeChip{name: "pwmchip2", compat: "raspberrypi,rp1-pwm", npwm: 4}
	pwmGPIOChip  = fakeChip{name: "pwmchip3", compat: "pwm-gpio", npwm: 1, gpios: []uint32{0x7, 4, 0}}
	noOFChip     = fakeChip{name: "pwmchip1", noOF: true}
	pi4ChipNoCtl = fakeChip{name: "pwmchip0", compat: "brcm,bcm2835-pwm", npwm: 2}
)

func TestFindKernelPWM(t *testing.T) {
	cases := []struct {
		name  string
		chips []fakeChip
		pin   int
		want  string // "pwmchipN/C" or "" for none
	}{
		{"pi4 18", []fakeChip{pi4Chip}, 18, "pwmchip0/0"},
		{"pi4 19", []fakeChip{pi4Chip}, 19, "pwmchip0/1"},
		{"pi4 12 not routed", []fakeChip{pi4Chip}, 12, ""},
		{"pi4 17 no PWM", []fakeChip{pi4Chip}, 17, ""},
		{"pi4 pin= overrides 12", []fakeChip{pi4Chip1213}, 12, "pwmchip0/0"},
		{"pi4 pin= overrides 13", []fakeChip{pi4Chip1213}, 13, "pwmchip0/1"},
		{"pi4 pin= overrides 18 not routed", []fakeChip{pi4Chip1213}, 18, ""},
		{"pi4 no pinctrl: overlay default", []fakeChip{pi4ChipNoCtl}, 19, "pwmchip0/1"},
		{"pi4 no pinctrl: 12 not assumed", []fakeChip{pi4ChipNoCtl}, 12, ""},
		{"pi5 18 is channel 2 of pwmchip2", []fakeChip{pi5FanChip, noOFChip, pi5Chip}, 18, "pwmchip2/2"},
		{"pi5 19", []fakeChip{pi5FanChip, pi5Chip}, 19, "pwmchip2/3"},
		{"pi5 12 not routed", []fakeChip{pi5FanChip, pi5Chip}, 12, ""},
		{"pi5 no pinctrl 12", []fakeChip{pi5ChipNoDT}, 12, "pwmchip2/0"},
		{"pwm-gpio 4", []fakeChip{pi4Chip, pwmGPIOChip}, 4, "pwmchip3/0"},
		{"pwm-gpio 5", []fakeChip{pwmGPIOChip}, 5, ""},
		{"no chips", nil, 18, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			k := newFakeKernel(t, c.chips...)
			ch, ok, _ := findKernelPWM(k.root, c.pin)
			got := ""
			if ok {
				got = ch.chip + "/" + strconv.Itoa(ch.channel)
				if ch.chipDir != filepath.Join(k.root, "sys/class/pwm", ch.chip) {
					t.Errorf("chipDir %s", ch.chipDir)
				}
			}
			if got != c.want {
				t.Errorf("GPIO%d: got %q (%s), want %q", c.pin, got, ch.how, c.want)
			}
		})
	}
}

func TestKernelPWMLifecycle(t *testing.T) {
	k := newFakeKernel(t, pi5FanChip, pi5Chip)
	k.udevDelay = 50 * time.Millisecond // permissions arrive late
	log, logs := newTestLog(slog.LevelDebug)
	p, err := openPWM(&fakeBackend{}, "gpio18", PWMConfig{Name: "dimmer"}, log, k.env())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.(*sysfsPWM); !ok {
		t.Fatalf("got %T, want the kernel PWM", p)
	}
	if len(logs.lines("pwm ready", "via=kernel", "chip=pwmchip2", "channel=2", "frequency=1kHz")) != 1 {
		t.Errorf("log: %s", logs)
	}
	want := []string{"pwmchip2/export=2", "pwmchip2/pwm2/duty_cycle=0", "pwmchip2/pwm2/period=1000000", "pwmchip2/pwm2/enable=1"}
	if got := k.takeWrites(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("open wrote %q, want %q", got, want)
	}
	if err := p.Set(0.25); err != nil {
		t.Fatal(err)
	}
	if d := p.Duty(); d != 0.25 {
		t.Errorf("Duty = %v", d)
	}
	if err := p.Set(1); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []float64{-0.1, 1.5} {
		if err := p.Set(bad); err == nil || !strings.Contains(err.Error(), "outside 0..1") {
			t.Errorf("Set(%v) = %v", bad, err)
		}
	}
	want = []string{"pwmchip2/pwm2/duty_cycle=250000", "pwmchip2/pwm2/duty_cycle=1000000"}
	if got := k.takeWrites(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Set wrote %q, want %q", got, want)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	want = []string{"pwmchip2/pwm2/duty_cycle=0", "pwmchip2/pwm2/enable=0", "pwmchip2/unexport=2"}
	if got := k.takeWrites(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Close wrote %q, want %q", got, want)
	}
	if _, err := os.Stat(filepath.Join(k.root, "sys/class/pwm/pwmchip2/pwm2")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("channel still exported: %v", err)
	}
	if err := p.Set(0.5); err == nil {
		t.Error("Set after Close worked")
	}
}

func TestKernelPWMServo(t *testing.T) {
	k := newFakeKernel(t, pi4Chip)
	p, err := openPWM(&fakeBackend{}, "GPIO19", PWMConfig{Name: "arm", Servo: true}, nil, k.env())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Set(ServoDuty(1500 * time.Microsecond)); err != nil {
		t.Fatal(err)
	}
	want := []string{"pwmchip0/export=1", "pwmchip0/pwm1/duty_cycle=0", "pwmchip0/pwm1/period=20000000", "pwmchip0/pwm1/enable=1", "pwmchip0/pwm1/duty_cycle=1500000"}
	if got := k.takeWrites(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("wrote %q, want %q", got, want)
	}
}

// The fake kernel refuses what the real one refuses, or the order tests
// below would prove nothing.
func TestFakeKernelRefusesDutyAbovePeriod(t *testing.T) {
	k := newFakeKernel(t, pi4Chip)
	k.udevDelay = 0
	chip := filepath.Join(k.root, "sys/class/pwm/pwmchip0")
	if err := k.WriteFile(filepath.Join(chip, "export"), "0"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "udev", func() bool { return k.Writable(filepath.Join(chip, "pwm0/enable")) == nil })
	if err := k.WriteFile(filepath.Join(chip, "pwm0/enable"), "1"); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("enable with period 0: %v", err)
	}
	if err := k.WriteFile(filepath.Join(chip, "pwm0/duty_cycle"), "10"); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("duty above period: %v", err)
	}
	if err := k.WriteFile(filepath.Join(chip, "pwm0/period"), "100"); err != nil {
		t.Fatal(err)
	}
	if err := k.WriteFile(filepath.Join(chip, "pwm0/duty_cycle"), "80"); err != nil {
		t.Fatal(err)
	}
	if err := k.WriteFile(filepath.Join(chip, "pwm0/period"), "50"); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("period below duty: %v", err)
	}
	if err := k.WriteFile(filepath.Join(chip, "export"), "0"); !errors.Is(err, syscall.EBUSY) {
		t.Errorf("second export: %v", err)
	}
}

// A channel left exported at 50 Hz with a 15ms duty (a servo) is taken over
// at 1 kHz: the duty must go down before the period shrinks. Then growing
// the period again with a duty above the old period: period first.
func TestKernelPWMPeriodDutyOrder(t *testing.T) {
	k := newFakeKernel(t, pi4Chip)
	k.udevDelay = 0
	chip := filepath.Join(k.root, "sys/class/pwm/pwmchip0")
	if err := k.WriteFile(filepath.Join(chip, "export"), "0"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "udev", func() bool { return k.Writable(filepath.Join(chip, "pwm0/enable")) == nil })
	for _, w := range [][2]string{{"period", "20000000"}, {"duty_cycle", "15000000"}, {"enable", "1"}} {
		if err := k.WriteFile(filepath.Join(chip, "pwm0", w[0]), w[1]); err != nil {
			t.Fatal(err)
		}
	}
	k.takeWrites()
	log, logs := newTestLog(slog.LevelInfo)
	p, err := openPWM(&fakeBackend{}, "GPIO18", PWMConfig{Name: "led"}, log, k.env())
	if err != nil {
		t.Fatal(err)
	}
	if len(logs.lines("already exported")) != 1 {
		t.Errorf("no warning about the exported channel: %s", logs)
	}
	want := []string{"pwmchip0/pwm0/duty_cycle=0", "pwmchip0/pwm0/period=1000000", "pwmchip0/pwm0/enable=1"}
	if got := k.takeWrites(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("wrote %q, want %q", got, want)
	}
	sp := p.(*sysfsPWM)
	sp.mu.Lock()
	err = sp.setPeriodDuty(20000000, 15000000)
	sp.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"pwmchip0/pwm0/period=20000000", "pwmchip0/pwm0/duty_cycle=15000000"}
	if got := k.takeWrites(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("wrote %q, want %q", got, want)
	}
	sp.mu.Lock()
	err = sp.setPeriodDuty(1000000, 500000)
	sp.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"pwmchip0/pwm0/duty_cycle=500000", "pwmchip0/pwm0/period=1000000"}
	if got := k.takeWrites(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("wrote %q, want %q", got, want)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestKernelPWMPermissionsNeverArrive(t *testing.T) {
	k := newFakeKernel(t, pi4Chip)
	k.noUdev = true
	env := k.env()
	env.wait = 100 * time.Millisecond
	_, err := openPWM(&fakeBackend{}, "GPIO18", PWMConfig{Name: "led"}, nil, env)
	if err == nil {
		t.Fatal("opened a channel whose files stay root-only")
	}
	for _, s := range []string{`pwm "led" on GPIO18`, "pwmchip0 channel 0", "pwm0/period", "permission denied", "99-oscgpio-pwm.rules", "gpio group"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q lacks %q", err, s)
		}
	}
	if _, err := os.Stat(filepath.Join(k.root, "sys/class/pwm/pwmchip0/pwm0")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("channel left exported after the failure: %v", err)
	}
}

func TestKernelPWMExportDenied(t *testing.T) {
	k := newFakeKernel(t, pi4Chip)
	if err := os.Chmod(filepath.Join(k.root, "sys/class/pwm/pwmchip0/export"), 0o200); err != nil {
		t.Fatal(err)
	}
	_, err := openPWM(&fakeBackend{}, "GPIO18", PWMConfig{Name: "led"}, nil, k.env())
	if err == nil || !strings.Contains(err.Error(), "exporting the channel") || !strings.Contains(err.Error(), "udevadm") {
		t.Fatalf("err = %v", err)
	}
}
