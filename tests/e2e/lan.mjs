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

export function createLan() {
  const n = 100 + (process.pid % 150);
  const name = `rd-e2e-${process.pid}`;
  const relayIp = `10.77.${n}.1`;
  const peerIp = `10.77.${n}.2`;
  execFileSync("ip", ["netns", "add", name]);
  const inside = (cmd) => execFileSync("ip", ["netns", "exec", name, "sh", "-c", cmd]);
  inside(`ip link set lo up; ip link add va type veth peer name vb; ip addr add ${relayIp}/24 dev va; ip addr add ${peerIp}/24 dev vb; ip link set va up; ip link set vb up`);
  // Chromium started through this wrapper lives in the namespace.
  const dir = mkdtempSync(path.join(tmpdir(), "relaydeck-lan-"));
  const chromium = path.join(dir, "chromium-in-lan");
  writeFileSync(chromium, `#!/bin/sh\nexec ip netns exec ${name} ${process.env.CHROMIUM ?? "/usr/bin/chromium"} "$@"\n`);
  chmodSync(chromium, 0o755);
  return {
    name,
    relayIp,
    peerIp,
    chromium,
    /** `[cmd, args]` that runs `bin args` inside the namespace (for spawn). */
    command: (bin, args) => ["ip", ["netns", "exec", name, bin, ...args]],
    close() {
      try {
        execFileSync("ip", ["netns", "pids", name]).toString().split(/\s+/).filter(Boolean).forEach((pid) => {
          try {
            process.kill(Number(pid), "SIGKILL");
          } catch {}
        });
      } catch {}
      try {
        execFileSync("ip", ["netns", "del", name]);
      } catch {}
    },
  };
}
