// An osc.js peer, as Open Stage Control uses the library: it sends /led 1 to
// the bridge, waits for /button 1, sends /led 0, waits for /button 0, and
// exits 0. Each message it receives is printed as "recv ADDRESS TYPES VALUES".
//
//   node peer.mjs LISTEN_PORT BRIDGE_PORT
import osc from "osc";

const [listenPort, bridgePort] = process.argv.slice(2).map(Number);
const port = new osc.UDPPort({
  localAddress: "127.0.0.1",
  localPort: listenPort,
  remoteAddress: "127.0.0.1",
  remotePort: bridgePort,
  metadata: true,
});

const fail = (why) => {
  console.log(`FAIL ${why}`);
  process.exit(1);
};
setTimeout(() => fail("timed out"), 15000).unref();

// osc.js infers float32 for plain numbers, as TouchOSC and Pd send.
const send = (v) => {
  port.send({ address: "/led", args: [{ type: "f", value: v }] });
  console.log(`sent /led f ${v}`);
};

port.on("message", (m) => {
  const types = m.args.map((a) => a.type).join("");
  const values = m.args.map((a) => a.value).join(" ");
  console.log(`recv ${m.address} ${types} ${values}`);
  if (m.address !== "/button" || m.args.length !== 1) return;
  if (m.args[0].value === 1) send(0);
  else if (m.args[0].value === 0) {
    port.close();
    process.exit(0);
  }
});
port.on("error", (e) => fail(e.message));
port.on("ready", () => send(1));
port.open();
