//go:build linux

package oscmap

import (
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/oscgpio/oscgpio/gpio"
)

const eightSensors = `
destinations: {here: 127.0.0.1:9}
adcs: [{name: a, chip: ads1115, address: 0x48}, {name: b, chip: ads1115, address: 0x49}]
inputs:
  - {name: s0, kind: analog, adc: a, channel: 0, rate: 50Hz, address: /s/0, to: [here]}
  - {name: s1, kind: analog, adc: a, channel: 1, rate: 50Hz, address: /s/1, to: [here]}
  - {name: s2, kind: analog, adc: a, channel: 2, rate: 50Hz, address: /s/2, to: [here]}
  - {name: s3, kind: analog, adc: a, channel: 3, rate: 50Hz, address: /s/3, to: [here]}
  - {name: s4, kind: analog, adc: b, channel: 0, rate: 50Hz, address: /s/4, to: [here]}
  - {name: s5, kind: analog, adc: b, channel: 1, rate: 50Hz, address: /s/5, to: [here]}
  - {name: s6, kind: analog, adc: b, channel: 2, rate: 50Hz, address: /s/6, to: [here]}
  - {name: s7, kind: analog, adc: b, channel: 3, rate: 50Hz, address: /s/7, to: [here]}
`

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkEightSensors runs eight analog inputs at 50 Hz each on simulated
// chips (steady readings: sampled, filtered, nothing to send) for one second
// per op and reports the process's CPU as a share of one core, and the
// allocations per sample.
func BenchmarkEightSensors(b *testing.B) {
	startOn(b, gpio.NewSim(quiet()), eightSensors, Options{Listen: "127.0.0.1:0", Logger: quiet()})
	time.Sleep(100 * time.Millisecond) // the first readings are sent; steady state after
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	c0, t0 := cpuTime(), time.Now()
	for b.Loop() {
		time.Sleep(time.Second)
	}
	c1, el := cpuTime(), time.Since(t0)
	runtime.ReadMemStats(&m1)
	samples := 8 * 50 * el.Seconds()
	b.ReportMetric(100*float64(c1-c0)/float64(el), "%cpu")
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/samples, "allocs/sample")
}
