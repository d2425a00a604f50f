// A LAN of the test's own (../shared/RECIPES.md): a network namespace with a
// veth pair, so "another machine on the network" is an address the test made
// (10.77.N.1 for the relay, 10.77.N.2 for the browser), never the machine's
// own external address. The relay, the devkit simulator and Chromium run
// inside it; playwright talks to that Chromium over its pipe, across the
// namespace boundary. Needs root (ip netns).
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startRelay } from "./support.mjs";

/**
 * With `phone: true`, the browser end of the veth pair (10.77.N.2) lives in a
 * second namespace of its own: a phone that reaches only what the relay
 * offers on its LAN address (`phoneChromium` starts Chromium there).
 */
export function createLan({ phone = false } = {}) {
  const n = 100 + (process.pid % 150);
  const name = `rd-e2e-${process.pid}`;
  const relayIp = `10.77.${n}.1`;
  const peerIp = `10.77.${n}.2`;
  execFileSync("ip", ["netns", "add", name]);
  const inside = (cmd) => execFileSync("ip", ["netns", "exec", name, "sh", "-c", cmd]);
  const phoneNs = `${name}-phone`;
  if (phone) {
    execFileSync("ip", ["netns", "add", phoneNs]);
    inside(`ip link set lo up; ip link add va type veth peer name vb; ip link set vb netns ${phoneNs}; ip addr add ${relayIp}/24 dev va; ip link set va up`);
    execFileSync("ip", ["netns", "exec", phoneNs, "sh", "-c", `ip link set lo up; ip addr add ${peerIp}/24 dev vb; ip link set vb up`]);
  } else {
    inside(`ip link set lo up; ip link add va type veth peer name vb; ip addr add ${relayIp}/24 dev va; ip addr add ${peerIp}/24 dev vb; ip link set va up; ip link set vb up`);
  }
  // Chromium started through this wrapper lives in the namespace.
  const dir = mkdtempSync(path.join(tmpdir(), "relaydeck-lan-"));
  const chromium = path.join(dir, "chromium-in-lan");
  writeFileSync(chromium, `#!/bin/sh\nexec ip netns exec ${name} ${process.env.CHROMIUM ?? "/usr/bin/chromium"} "$@"\n`);
  chmodSync(chromium, 0o755);
  const phoneChromium = path.join(dir, "chromium-on-phone");
  writeFileSync(phoneChromium, `#!/bin/sh\nexec ip netns exec ${phoneNs} ${process.env.CHROMIUM ?? "/usr/bin/chromium"} "$@"\n`);
  chmodSync(phoneChromium, 0o755);
  return {
    name,
    relayIp,
    peerIp,
    chromium,
    phoneChromium,
    /** `[cmd, args]` that runs `bin args` inside the namespace (for spawn). */
    command: (bin, args) => ["ip", ["netns", "exec", name, bin, ...args]],
    close() {
      for (const ns of phone ? [name, phoneNs] : [name]) {
        try {
          execFileSync("ip", ["netns", "pids", ns]).toString().split(/\s+/).filter(Boolean).forEach((pid) => {
            try {
              process.kill(Number(pid), "SIGKILL");
            } catch {}
          });
        } catch {}
        try {
          execFileSync("ip", ["netns", "del", ns]);
        } catch {}
      }
    },
  };
}

/** Chromium's flags for the tests: no sandbox (root), no GPU, nothing calling home, audio without a gesture. */
export const CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"];

/**
 * `relaydeck serve` in a LAN namespace of the test's own (all interfaces,
 * its admin `password`, `dataDir`) and Chromium on the "phone" beside it:
 * `{ lan, relay, base, browser }`, `base` the relay's LAN URL.
 */
export async function relayWithPhone({ chromium, bin, password, dataDir, children }) {
  const lan = createLan({ phone: true });
  const [cmd, args] = lan.command(bin, ["serve", "--bind", "0.0.0.0:0", "--admin-password", password, "--data-dir", dataDir, "--devkit-tcp-port", "0", "--devkit-udp-port", "0"]);
  const relay = await startRelay(cmd, args, children);
  const browser = await chromium.launch({ executablePath: lan.phoneChromium, args: CHROMIUM_ARGS });
  return { lan, relay, base: `http://${lan.relayIp}:${relay.port}`, browser };
}
