package e2e

import (
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hypebeast/go-osc/osc"
)

const reloadV1 = `
destinations: {monitor: 127.0.0.1:%d}
outputs:
  - {name: led, pin: GPIO17, address: /led, safe: "off"}
  - {name: relay, pin: GPIO22, address: /relay, safe: "off"}
inputs:
  - {name: button, pin: GPIO27, pull: down, debounce: 0s, address: /button, to: [monitor]}
  - {name: fb, pin: GPIO24, pull: down, debounce: 0s, address: /fb, to: [monitor]}
sim: {jumpers: [[GPIO17, GPIO27], [GPIO22, GPIO24]]}
`

const reloadV2 = `
destinations: {monitor: 127.0.0.1:%d}
outputs:
  - {name: led, pin: GPIO17, address: [/led, /light], safe: "off"}
  - {name: lamp, pin: GPIO23, address: /lamp}
inputs:
  - {name: button, pin: GPIO27, pull: down, debounce: 0s, address: /button, to: [monitor]}
  - {name: fb, pin: GPIO24, pull: down, debounce: 0s, address: /fb, to: [monitor]}
sim: {jumpers: [[GPIO17, GPIO27], [GPIO23, GPIO24]]}
`

// SIGHUP reloads the mapping while traffic flows: the unchanged output never
// changes (its jumpered input, debounce 0, reports nothing), the removed
// relay goes to its safe level (its jumpered input reports /fb 0), the new
// lamp works, and a broken file is refused with its FILE:LINE:COL while the
// running mapping stays.
func TestReloadDuringTraffic(t *testing.T) {
	mon := newPeer(t)
	file := writeMapping(t, reloadV1, mon.port())
	bridge := runBridge(t, "--config", file)
	src, query := newPeer(t), newPeer(t)
	src.send(bridge.port, osc.NewMessage("/led", int32(1)))
	mon.expect("/button i 1")
	src.send(bridge.port, osc.NewMessage("/relay", int32(1)))
	mon.expect("/fb i 1")

	// Traffic: /led 1 and /relay 1 again and again (no change while the
	// mapping stays), from another socket, until the test says stop.
	traffic := newPeer(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(200 * time.Microsecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				traffic.send(bridge.port, osc.NewMessage("/led", int32(1)))
				traffic.send(bridge.port, osc.NewMessage("/relay", int32(1)))
			}
		}
	}()
	query.waitStats(bridge.port, "traffic", func(st map[string]int) bool { return st["messages"] > 50 })

	if err := os.WriteFile(file, []byte(fmtMapping(reloadV2, mon.port())), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := bridge.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	query.waitStats(bridge.port, "the reload", func(st map[string]int) bool { return st["reloads"] == 1 })
	mon.expect("/fb i 0") // the relay went to its safe level, and only that
	close(stop)
	wg.Wait()

	src.send(bridge.port, osc.NewMessage("/lamp", int32(1)))
	mon.expect("/fb i 1") // the new lamp, jumpered to the same input
	src.send(bridge.port, osc.NewMessage("/light", int32(0)))
	mon.expect("/button i 0") // the first change of the kept LED since before the reload
	mon.nothingPending()

	// A broken file is refused, the running mapping stays.
	if err := os.WriteFile(file, []byte("outputs:\n  - {name: led, pin: GPIO41, address: /led}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := bridge.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	bridge.waitFor(`level=ERROR msg="reload refused: the mapping has errors; the running mapping stays".*`+regexpQuote(file)+`:2:`, 0)
	src.send(bridge.port, osc.NewMessage("/light", int32(1)))
	mon.expect("/button i 1")
	if st := query.stats(bridge.port); st["reloads"] != 1 {
		t.Errorf("reloads = %d after a refused file, want 1", st["reloads"])
	}
	if code := bridge.stop(syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	bridge.waitFor(`msg="output at safe level" name=lamp`, 0)
}

// --watch reloads when the file is saved, as an editor does (a new file
// renamed over the old one).
func TestWatchReloads(t *testing.T) {
	mon := newPeer(t)
	file := writeMapping(t, reloadV1, mon.port())
	bridge := runBridge(t, "--config", file, "--watch")
	bridge.waitFor(`msg="watching the mapping file`, 0)
	query := newPeer(t)
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, []byte(fmtMapping(reloadV2, mon.port())), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
	query.waitStats(bridge.port, "the reload", func(st map[string]int) bool { return st["reloads"] == 1 })
	query.send(bridge.port, osc.NewMessage("/lamp", int32(1)))
	mon.expect("/fb i 1")
}
