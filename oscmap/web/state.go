package web

import (
	"encoding/json"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/oscgpio/oscgpio/config"
	"github.com/oscgpio/oscgpio/oscmap"
	"github.com/oscgpio/oscgpio/wiring"
)

// The JSON of the state event and of GET /oscgpio/ui/state.

// stateJSON is the whole picture a page starts from.
type stateJSON struct {
	Time      string        `json:"t"`
	Host      string        `json:"host"`      // the machine's name
	Backend   string        `json:"backend"`   // "sim" or the host's driver
	Simulated bool          `json:"simulated"` // inputs can be pressed from the page
	Control   bool          `json:"control"`   // the page may send (POST send answers 403 if not)
	OSC       string        `json:"osc"`       // where the bridge receives OSC
	Mapping   string        `json:"mapping"`   // the mapping file
	Wiring    bool          `json:"wiring"`    // GET wiring.svg has a drawing
	Header    []pinJSON     `json:"header"`    // the 40 positions, 1 first
	Points    []pointJSON   `json:"points"`    // every point, as Bridge.Points orders them
	Buses     []busJSON     `json:"buses"`     // the header pins the ADCs' buses take
	Counters  []counterJSON `json:"counters"`  // as /oscgpio/stats answers, in its order
}

// pinJSON is one position of the header.
type pinJSON struct {
	Pos       int      `json:"pos"`
	Name      string   `json:"name"` // GPIO17, 3V3, 5V, GND
	Kind      string   `json:"kind"` // gpio, 3v3, 5v, gnd
	GPIO      int      `json:"gpio"` // -1 for power and ground
	Functions []string `json:"functions"`
}

// liveJSON is what changes of a point: the change event's data.
type liveJSON struct {
	Name    string `json:"name"`
	Value   number `json:"value"`
	Active  bool   `json:"active"`
	Held    bool   `json:"held"`
	Changed string `json:"changed,omitempty"` // RFC 3339, ms
	Cause   string `json:"cause,omitempty"`
	From    string `json:"from,omitempty"` // the sender, for a change caused by a message
	Err     string `json:"err,omitempty"`
}

// pointJSON is a point with what the mapping says of it.
type pointJSON struct {
	liveJSON
	Kind      string   `json:"kind"` // output, pwm, input, encoder, analog
	Pin       string   `json:"pin"`  // as the engine names it: GPIO17, "GPIO5,GPIO6", "knobs ch0"
	GPIO      []int    `json:"gpio"` // the header's GPIOs it uses
	Addresses []string `json:"addresses"`
	// Range is the values of a pwm or servo output, an analog input or an
	// absolute encoder.
	Range *[2]float64 `json:"range,omitempty"`
	// Servo: a pwm output that is a servo.
	Servo bool `json:"servo,omitempty"`
	// PressLevel is, for a digital input, the electrical level that presses
	// it (0 when active_low): what /sim/GPIOn takes.
	PressLevel *int `json:"press_level,omitempty"`
}

// busJSON is an ADC of the mapping and the header pins its bus takes.
type busJSON struct {
	ADC     string   `json:"adc"`
	Chip    string   `json:"chip"`
	Bus     string   `json:"bus"`     // /dev/i2c-1, /dev/spidev0.0
	GPIO    []int    `json:"gpio"`    // BCM numbers
	Fns     []string `json:"fns"`     // the function of each, as the header names it
	Sensors []string `json:"sensors"` // the analog inputs that read it
}

// buses lists the ADCs' bus pins.
func buses(cfg *config.Config) []busJSON {
	out := []busJSON{}
	if cfg == nil {
		return out
	}
	for _, a := range cfg.ADCs {
		fns := []string{"I2C1 SDA", "I2C1 SCL"}
		if !a.I2C() {
			fns = []string{"SPI0 MOSI", "SPI0 MISO", "SPI0 SCLK", "SPI0 CE" + strconv.Itoa(a.CS)}
		}
		j := busJSON{ADC: a.Name, Chip: a.Chip, Bus: a.Bus, GPIO: []int{}, Fns: []string{}, Sensors: []string{}}
		for _, fn := range fns {
			for _, p := range wiring.Header() {
				if p.Kind == wiring.GPIO && slices.Contains(p.Functions, fn) {
					j.GPIO, j.Fns = append(j.GPIO, p.BCM), append(j.Fns, fn)
				}
			}
		}
		for _, in := range cfg.Inputs {
			if in.Kind == config.KindAnalog && in.ADC == a.Name {
				j.Sensors = append(j.Sensors, in.Name)
			}
		}
		out = append(out, j)
	}
	return out
}

type counterJSON [2]any // [name, value]

// number is a float64 that is null in JSON when it is not finite.
type number float64

func (n number) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

// header is the wiring table as the page needs it; it never changes.
var header = func() []pinJSON {
	var out []pinJSON
	for _, p := range wiring.Header() {
		kind := map[wiring.Kind]string{wiring.GPIO: "gpio", wiring.Power3V3: "3v3", wiring.Power5V: "5v", wiring.Ground: "gnd"}[p.Kind]
		f := p.Functions
		if f == nil {
			f = []string{}
		}
		out = append(out, pinJSON{Pos: p.Position, Name: p.Name(), Kind: kind, GPIO: p.BCM, Functions: f})
	}
	return out
}()

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("2006-01-02T15:04:05.000Z07:00")
}

func live(p oscmap.Point) liveJSON {
	l := liveJSON{Name: p.Name, Value: number(p.Value), Active: p.Active, Held: p.Held, Changed: stamp(p.Changed), Cause: string(p.Cause), Err: p.Err}
	if p.Cause == oscmap.CauseOSC && p.From.IsValid() {
		l.From = p.From.String()
	}
	return l
}

// gpios are the BCM numbers in an engine pin name: "GPIO5,GPIO6" is 5, 6.
func gpios(pin string) []int {
	out := []int{}
	for _, f := range strings.Split(pin, ",") {
		if n, ok := wiring.GPIONumber(strings.TrimSpace(f)); ok {
			out = append(out, n)
		}
	}
	return out
}

// describe adds what the mapping says of each point.
func describe(pts []oscmap.Point, cfg *config.Config) []pointJSON {
	out := make([]pointJSON, 0, len(pts))
	for _, p := range pts {
		j := pointJSON{liveJSON: live(p), Kind: string(p.Kind), Pin: p.Pin, GPIO: gpios(p.Pin), Addresses: p.Addresses}
		if j.Addresses == nil {
			j.Addresses = []string{}
		}
		if cfg != nil {
			if o, ok := cfg.Output(p.Name); ok && o.Kind != config.OutputDigital {
				r := o.Range
				j.Range, j.Servo = &r, o.Kind == config.OutputServo
			}
			if in, ok := cfg.Input(p.Name); ok {
				switch in.Kind {
				case config.KindDigital:
					lv := 1
					if in.ActiveLow {
						lv = 0
					}
					j.PressLevel = &lv
				case config.KindAnalog:
					r := in.Range
					j.Range = &r
				case config.KindEncoder:
					if in.Mode == "absolute" {
						j.Range = &[2]float64{in.Min, in.Max}
					}
				}
			}
		}
		out = append(out, j)
	}
	return out
}

// counters are /oscgpio/stats' pairs: the counters, then the top senders
// received, denied and rate limited ("received:192.168.1.20").
func counters(c oscmap.Counters, top oscmap.Senders) []counterJSON {
	var out []counterJSON
	for _, a := range c.LogValue().Group() {
		out = append(out, counterJSON{a.Key, a.Value.Any()})
	}
	for _, p := range top.Pairs() {
		out = append(out, counterJSON{p.Name, p.Value})
	}
	return out
}

// snapshot is the state as JSON.
func (s *Server) snapshot() []byte {
	cfg := s.b.Config()
	st := stateJSON{
		Time:      stamp(time.Now()),
		Host:      s.host,
		Backend:   s.b.Backend(),
		Simulated: s.b.Simulated(),
		Control:   s.opt.Control,
		Wiring:    s.opt.Wiring != nil,
		Header:    header,
		Points:    describe(s.b.Points(), cfg),
		Buses:     buses(cfg),
		Counters:  counters(s.b.Counters(), s.b.TopSenders(3)),
	}
	if a := s.b.Addr(); a != nil {
		st.OSC = a.String()
	}
	if cfg != nil {
		st.Mapping = cfg.File
	}
	data, err := json.Marshal(st)
	if err != nil { // only numbers and strings: cannot happen
		s.log.Error("dashboard: state not encoded", "err", err)
		return []byte("{}")
	}
	return data
}

func hostname() string {
	h, _ := os.Hostname()
	return strings.ToLower(h)
}
