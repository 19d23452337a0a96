// OSCQuery clients others wrote, against oscgpio's OSCQuery server:
//
//  1. the npm `oscquery` package (jangxx/node-oscquery): its DiscoveredService
//     is what its mDNS discovery makes of a service found; update() GETs
//     http://HOST:PORT and http://HOST:PORT?HOST_INFO. It prints
//     "host NAME OSC_PORT LISTEN=true" and one "method PATH TYPES ACCESS VALUES"
//     line per method of the namespace.
//  2. the npm `ws` package: it connects to ws://HOST:PORT/, LISTENs to
//     LISTEN_PATH and prints "listening" once the server has read that (an
//     /oscgpio/get answered over the socket comes after it). Each binary
//     frame is decoded by osc.js and printed as "frame ADDRESS TYPES VALUES".
//     After the first frame for LISTEN_PATH, it sends the binary OSC message
//     DRIVE_PATH T, prints "sent DRIVE_PATH" and closes.
//
//   node client.mjs HOST PORT LISTEN_PATH DRIVE_PATH
import oscquery from "oscquery";
import WebSocket from "ws";
import osc from "osc";

const [host, port, listenPath, drivePath] = [process.argv[2], Number(process.argv[3]), process.argv[4], process.argv[5]];

setTimeout(() => {
  console.log("FAIL timeout");
  process.exit(1);
}, 20000).unref();

const svc = new oscquery.DiscoveredService(host, port);
await svc.update();
const info = svc.hostInfo;
console.log(`host ${JSON.stringify(info.name)} ${info.oscPort} LISTEN=${info.extensions.LISTEN}`);
for (const m of svc.flat()) {
  const args = m.arguments || [];
  const types = args.map((a) => a.type).join("") || "-";
  const values = args.map((a) => JSON.stringify(a.value)).join(" ");
  console.log(`method ${m.full_path} ${types} ${m.access ?? "-"} ${values}`.trimEnd());
}

const ws = new WebSocket(`ws://${host}:${port}/`);
ws.binaryType = "nodebuffer";
let listening = false;
let sent = false;
ws.on("open", () => {
  ws.send(JSON.stringify({ COMMAND: "LISTEN", DATA: listenPath }));
  ws.send(osc.writePacket({ address: "/oscgpio/get", args: [{ type: "s", value: listenPath }] }), { binary: true });
});
ws.on("message", (data, isBinary) => {
  if (!isBinary) {
    console.log(`text ${data.toString()}`);
    return;
  }
  const m = osc.readPacket(new Uint8Array(data), { metadata: true });
  if (!listening) {
    // The /oscgpio/get answer: the LISTEN before it has been read.
    listening = true;
    console.log("listening");
    return;
  }
  const types = m.args.map((a) => a.type).join("");
  const values = m.args.map((a) => a.value).join(" ");
  console.log(`frame ${m.address} ${types} ${values}`.trimEnd());
  if (m.address === listenPath && !sent) {
    sent = true;
    ws.send(osc.writePacket({ address: drivePath, args: [{ type: "T", value: true }] }), { binary: true }, () => {
      console.log(`sent ${drivePath}`);
      ws.close(1000);
    });
  }
});
ws.on("close", () => process.exit(sent ? 0 : 1));
ws.on("error", (e) => {
  console.log(`FAIL ${e.message}`);
  process.exit(1);
});
