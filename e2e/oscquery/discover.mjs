// The npm `oscquery` package's own mDNS discovery (OSCQueryDiscovery, on
// bonjour-service) looking for _oscjson._tcp services. For the first
// service whose HOST_INFO name is NAME it prints
// "found ADDRESS PORT OSC_PORT" and exits 0; after 20 s, "FAIL timeout".
//
//   node discover.mjs NAME
import oscquery from "oscquery";

const want = process.argv[2];
setTimeout(() => {
  console.log("FAIL timeout");
  process.exit(1);
}, 20000).unref();

const d = new oscquery.OSCQueryDiscovery();
d.on("up", (svc) => {
  const info = svc.hostInfo;
  console.log(`seen ${svc.address} ${svc.port} ${JSON.stringify(info.name)}`);
  if (info.name === want) {
    console.log(`found ${svc.address} ${svc.port} ${info.oscPort}`);
    d.stop();
    process.exit(0);
  }
});
d.start();
