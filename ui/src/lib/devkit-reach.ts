// Which address a devkit is told: pure, so it is unit-tested
// (test/devkit-reach.test.ts). A board on the network must never be handed
// 127.0.0.1, which is the board itself.
import type { DevkitHosts } from "../generated/contract";

export interface DevkitReach {
  /** The address for the simulator command: one that works where the page was opened. */
  simHost: string;
  /** The address for a board on the network (QR codes, pairing), or null. */
  boardHost: string | null;
  /** One sentence for the page: where devkits connect, or why boards cannot. */
  summary: string;
}

const LOOPBACK = /^(localhost|127(\.\d+){3}|\[?::1\]?)$/i;

/** `host` as it goes before `:PORT` (IPv6 in brackets). */
export function hostPort(host: string, port: number): string {
  return `${host.includes(":") && !host.startsWith("[") ? `[${host}]` : host}:${port}`;
}

export function devkitReach(hosts: DevkitHosts, pageHost: string, tcpPort: number, udpPort: number): DevkitReach {
  const pageIsLocal = LOOPBACK.test(pageHost);
  const boardHost = hosts.lan[0] ?? null;
  // Opened from another machine: that machine reaches the relay under the name it used.
  const simHost = pageIsLocal || !hosts.lanEnabled ? hosts.local : pageHost.replace(/^\[|\]$/g, "");
  let summary: string;
  if (!hosts.lanEnabled) {
    summary = `Devkit ports listen on this computer only (TCP ${hostPort(hosts.local, tcpPort)}, UDP ${udpPort}): boards on the network cannot connect. Turn on "Devkits on the network" in Settings.`;
  } else if (!boardHost) {
    summary = `Devkit ports are open to the network (TCP ${tcpPort}, UDP ${udpPort}), but this computer has no network address right now: connect it to the same Wi-Fi or LAN as the boards.`;
  } else {
    const others = hosts.lan.slice(1);
    summary = `Devkits connect to TCP ${hostPort(boardHost, tcpPort)} (commands) and send audio to UDP ${hostPort(boardHost, udpPort)}${others.length ? ` (this computer is also ${others.join(", ")})` : ""}.`;
  }
  return { simHost, boardHost, summary };
}
