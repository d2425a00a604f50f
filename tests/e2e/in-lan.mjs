// Runs a command inside a network namespace of its own (lan.mjs: loopback
// plus a veth pair, 10.77.N.1 and .2), so whatever it starts — the desktop
// app, its webview's WebRTC — sees only addresses the test made, never this
// machine's own. Usage: node tests/e2e/in-lan.mjs CMD ARGS…
import { spawnSync } from "node:child_process";
import { createLan } from "./lan.mjs";

const [cmd, ...args] = process.argv.slice(2);
const lan = createLan();
let status = 1;
try {
  const r = spawnSync("ip", ["netns", "exec", lan.name, cmd, ...args], { stdio: "inherit" });
  status = r.status ?? 1;
} finally {
  lan.close();
}
process.exit(status);
