// The `iceServers` setting as the Settings page edits it: one server per
// line, `URL[,URL…]` for STUN, `URL[,URL…] USERNAME CREDENTIAL` for TURN.
// The relay checks the values again (docs/PROTOCOL.md, settings).
import type { IceServer } from "../generated/contract";

/** The servers written one per line. */
export function formatIceServers(servers: IceServer[]): string {
  return servers.map((s) => [s.urls.join(","), ...(s.username || s.credential ? [s.username ?? "", s.credential ?? ""] : [])].join(" ")).join("\n");
}

/** Lines back into servers; throws with the line's number for a line that is neither form. */
export function parseIceServers(text: string): IceServer[] {
  const servers: IceServer[] = [];
  text.split("\n").forEach((line, i) => {
    const parts = line.trim().split(/\s+/).filter(Boolean);
    if (!parts.length) return;
    const urls = parts[0].split(",").filter(Boolean);
    if (parts.length === 1) servers.push({ urls });
    else if (parts.length === 3) servers.push({ urls, username: parts[1], credential: parts[2] });
    else throw new Error(`ICE servers, line ${i + 1}: write "URL" or "URL USERNAME CREDENTIAL"`);
  });
  return servers;
}
