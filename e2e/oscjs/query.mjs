// An osc.js client asks the bridge a question, as a control surface built on
// Open Stage Control would: it binds a port the system chooses, sends
// /oscgpio/get ADDRESS to the bridge, prints each answer as
// "recv ADDRESS TYPES VALUES" and exits 0 at the first one.
//
//   node query.mjs BRIDGE_PORT ADDRESS
import osc from "osc";

const [bridgePort, address] = [Number(process.argv[2]), process.argv[3]];
const port = new osc.UDPPort({
  localAddress: "127.0.0.1",
  localPort: 0,
  remoteAddress: "127.0.0.1",
  remotePort: bridgePort,
  metadata: true,
});

setTimeout(() => {
  console.log("FAIL no answer");
  process.exit(1);
}, 15000).unref();

port.on("message", (m) => {
  const types = m.args.map((a) => a.type).join("");
  const values = m.args.map((a) => a.value).join(" ");
  console.log(`recv ${m.address} ${types} ${values}`);
  port.close();
  process.exit(0);
});
port.on("error", (e) => {
  console.log(`FAIL ${e.message}`);
  process.exit(1);
});
port.on("ready", () => port.send({ address: "/oscgpio/get", args: [{ type: "s", value: address }] }));
port.open();
