package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// pdPatch is a Pure Data patch as a Pd user writes one: [oscformat led] into
// [netsend -u -b] sends /led 1 then /led 0 (Pd sends floats), and
// [netreceive -u -b] into [oscparse] prints what the bridge reports.
const pdPatch = `#N canvas 0 0 600 300 12;
#X obj 10 10 netreceive -u -b %d;
#X obj 10 40 oscparse;
#X obj 10 70 list trim;
#X obj 10 100 print OSC;
#X obj 200 10 loadbang;
#X msg 200 40 connect 127.0.0.1 %d;
#X obj 200 70 netsend -u -b;
#X obj 300 40 delay 300;
#X msg 300 70 1;
#X obj 400 40 delay 900;
#X msg 400 70 0;
#X obj 300 100 oscformat led;
#X obj 300 130 list prepend send;
#X obj 300 160 list trim;
#X connect 0 0 1 0;
#X connect 1 0 2 0;
#X connect 2 0 3 0;
#X connect 4 0 5 0;
#X connect 5 0 6 0;
#X connect 4 0 7 0;
#X connect 7 0 8 0;
#X connect 4 0 9 0;
#X connect 9 0 10 0;
#X connect 8 0 11 0;
#X connect 10 0 11 0;
#X connect 11 0 12 0;
#X connect 12 0 13 0;
#X connect 13 0 6 0;
`

// Pure Data drives the LED with floats, and understands what the bridge
// reports back (i, the type [oscparse] reads).
func TestPureDataBothWays(t *testing.T) {
	pd := need(t, "pd", "puredata-core")
	monitor := freePort(t) // Pd's [netreceive] binds it
	bridge := runBridge(t, "--config", writeMapping(t, jumperMapping, monitor))
	listen := bridge.port

	patch := filepath.Join(t.TempDir(), "oscgpio-test.pd")
	if err := os.WriteFile(patch, []byte(fmt.Sprintf(pdPatch, monitor, listen)), 0o644); err != nil {
		t.Fatal(err)
	}
	p := start(t, pd, "-nogui", "-nosound", "-nomidi", "-noprefs", "-stderr", "-open", patch)

	at := bridge.waitFor(`msg=recv osc="/led f 1\.000000"`, 0)
	bridge.waitFor(`GPIO17 -> high`, at)
	press := p.waitFor(`^OSC: button 1$`, 0)
	at = bridge.waitFor(`msg=recv osc="/led f 0\.000000"`, at)
	bridge.waitFor(`GPIO17 -> low`, at)
	p.waitFor(`^OSC: button 0$`, press)
}
