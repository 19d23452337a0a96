package e2e

import (
	"fmt"
	"os"
	"testing"
)

// osc.js, the library behind Open Stage Control, drives the LED with floats
// and receives what the bridge reports (e2e/oscjs/peer.mjs).
func TestOscJSBothWays(t *testing.T) {
	node := need(t, "node", "nodejs")
	if _, err := os.Stat("oscjs/node_modules/osc/package.json"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("osc.js is not installed in e2e/oscjs: scripts/test runs npm ci there (%v)", err)
		}
		t.Skipf("osc.js is not installed: (cd e2e/oscjs && npm ci --omit=optional --ignore-scripts), or run scripts/test")
	}
	monitor := freePort(t) // the osc.js peer binds it
	bridge := runBridge(t, "--config", writeMapping(t, jumperMapping, monitor))
	listen := bridge.port
	peer := start(t, node, "oscjs/peer.mjs", fmt.Sprint(monitor), fmt.Sprint(listen))
	if code := peer.exitCode(); code != 0 {
		t.Fatalf("the osc.js peer exited %d", code)
	}
	at := peer.waitFor(`^recv /button i 1$`, 0)
	peer.waitFor(`^recv /button i 0$`, at)
	at = bridge.waitFor(`msg=recv osc="/led f 1\.000000"`, 0)
	at = bridge.waitFor(`GPIO17 -> high`, at)
	at = bridge.waitFor(`msg=recv osc="/led f 0\.000000"`, at)
	bridge.waitFor(`GPIO17 -> low`, at)
}

// osc.js asks /oscgpio/get from a port its system chose: the answer comes
// back to that port, from the bridge's listening socket.
func TestOscJSQuery(t *testing.T) {
	node := need(t, "node", "nodejs")
	if _, err := os.Stat("oscjs/node_modules/osc/package.json"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("osc.js is not installed in e2e/oscjs: scripts/test runs npm ci there (%v)", err)
		}
		t.Skipf("osc.js is not installed: (cd e2e/oscjs && npm ci --omit=optional --ignore-scripts), or run scripts/test")
	}
	bridge := runBridge(t) // the tutorial mapping
	if out, code := oscgpio(t, "send", "--to", fmt.Sprintf("127.0.0.1:%d", bridge.port), "/led", "1"); code != 0 {
		t.Fatal(out)
	}
	q := start(t, node, "oscjs/query.mjs", fmt.Sprint(bridge.port), "/led")
	if code := q.exitCode(); code != 0 {
		t.Fatalf("the osc.js query exited %d", code)
	}
	q.waitFor(`^recv /led i 1$`, 0)
}
