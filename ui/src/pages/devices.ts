// Devices: devkits with live state and stats; add (token shown once, with
// the ports, the simulator command and a QR code), revoke, send commands,
// latest events.
//
// The list stays live (polled every 2 s, focus or not) and is updated in
// place: a card's facts change under the user's cursor, but its command form,
// what was typed in it and the last command's answer stay.
import { api, ApiError } from "../lib/api";
import type { CreatedDevice, Device, DeviceList } from "../generated/contract";
import { copyButton, fmtAge, fmtBytes, h, notice, setText } from "../lib/dom";
import { ID_PATTERN } from "../lib/ids";
import { qrElement } from "../lib/qr";
import { devkitReach, hostPort } from "../lib/devkit-reach";

interface Card {
  root: HTMLElement;
  badge: HTMLElement;
  facts: HTMLElement;
  events: HTMLElement;
  send: HTMLButtonElement;
}

/** The simulator command that connects as `d` to this relay's devkit port (over TLS, pinned, when the relay offers it). */
export function simulatorCommand(host: string, tcpPort: number, deviceId: string, token: string, tlsFingerprint: string | null = null): string {
  const tls = tlsFingerprint ? ` --tls-fingerprint ${tlsFingerprint}` : "";
  return `relaydeck devkit-sim --server ${hostPort(host, tcpPort)} --device-id ${deviceId} --token ${token}${tls} --tone 440`;
}

export function mountDevices(root: HTMLElement): () => void {
  const name = h("input", { name: "name", required: true, placeholder: "Kitchen mic", maxlength: 64 }) as HTMLInputElement;
  const id = h("input", { name: "deviceId", placeholder: "optional, e.g. kitchen", pattern: ID_PATTERN, title: "1–64 letters, digits, _ or -" }) as HTMLInputElement;
  const ports = h("p", { class: "hint", id: "devkit-ports" });
  const result = h("div", { class: "result", "aria-live": "polite" });
  const form = h(
    "form",
    { class: "card inline-form", id: "add-device" },
    h("h2", {}, "Add a devkit"),
    h("p", { class: "hint" }, h("a", { href: "/pair", id: "pair-link" }, "Pair a board over Bluetooth"), " (Chrome or Edge): it gets your Wi-Fi and this relay's address, and shows up here. Or add one by hand:"),
    h("label", {}, "Name ", name),
    h("label", {}, "Device ID ", id),
    h("button", { type: "submit" }, "Add"),
    ports,
    result,
  );
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    result.replaceChildren();
    try {
      const d = await api<CreatedDevice>("/api/devices", { method: "POST", body: JSON.stringify({ name: name.value, ...(id.value ? { deviceId: id.value } : {}) }) });
      result.append(notice(`Added ${d.deviceId}. Copy the token now: it is shown only once.`), h("div", { class: "link-row" }, h("code", { class: "secret" }, d.token), copyButton(d.token, "Copy the token")));
      if (d.tcpPort !== null && d.udpPort !== null) {
        const reach = devkitReach(d.hosts, location.hostname, d.tcpPort, d.udpPort);
        const sim = simulatorCommand(reach.simHost, d.tcpPort, d.deviceId, d.token, d.tlsFingerprint);
        result.append(
          h("p", {}, `${reach.summary} To try it without hardware:`),
          h("div", { class: "link-row", id: "sim-command" }, h("code", {}, sim), copyButton(sim, "Copy the simulator command")),
        );
        if (reach.boardHost) {
          // What a board (or its companion app) scans: every address it may use, best first.
          const provisioning = JSON.stringify({ host: reach.boardHost, hosts: d.hosts.lan, tcpPort: d.tcpPort, udpPort: d.udpPort, deviceId: d.deviceId, token: d.token, ...(d.tlsFingerprint ? { tlsFingerprint: d.tlsFingerprint } : {}) });
          result.append(h("p", { class: "hint" }, "Or scan this with the board's setup app:"), qrElement(provisioning, `provisioning for ${d.deviceId}`));
        } else {
          result.append(h("p", { class: "hint", id: "no-qr" }, "No QR code: it would hand a board an address it cannot reach."));
        }
      } else {
        result.append(notice("The devkit ports are not listening on this relay, so no devkit can connect yet.", "error"));
      }
      form.reset();
      void refresh();
    } catch (e) {
      result.append(notice((e as Error).message, "error"));
    }
  };
  const list = h("div", { class: "devices", id: "device-list" });
  const empty = h("p", { class: "empty" }, "No devkits yet. Add one above, or run `relaydeck devkit-sim`.");
  const failure = h("div", { "aria-live": "polite" });
  root.append(form, failure, list, empty);
  const cards = new Map<string, Card>();

  function card(d: Device): Card {
    const cmdName = h("input", { placeholder: "command, e.g. led", "aria-label": "command name", required: true }) as HTMLInputElement;
    const cmdArgs = h("input", { placeholder: 'args JSON, e.g. {"on":true}', "aria-label": "command arguments" }) as HTMLInputElement;
    const out = h("div", { class: "cmd-result", role: "status" });
    const send = h("button", { type: "submit" }, "Send") as HTMLButtonElement;
    const cmd = h("form", { class: "inline-form" }, cmdName, cmdArgs, send, out);
    cmd.onsubmit = async (ev) => {
      ev.preventDefault();
      let args: unknown = undefined;
      if (cmdArgs.value.trim()) {
        try {
          args = JSON.parse(cmdArgs.value);
        } catch {
          out.textContent = "The arguments are not valid JSON.";
          return;
        }
      }
      out.textContent = "sending…";
      try {
        const ack = await api(`/api/devices/${encodeURIComponent(d.deviceId)}/commands`, { method: "POST", body: JSON.stringify({ name: cmdName.value, ...(args === undefined ? {} : { args }) }) });
        out.textContent = `${cmdName.value}: acknowledged ${JSON.stringify(ack)}`;
      } catch (e) {
        out.textContent = `${cmdName.value}: ${e instanceof ApiError ? `${e.code}: ${e.message}` : String(e)}`;
      }
    };
    const revoke = h("button", { type: "button", class: "danger" }, "Revoke");
    revoke.onclick = async () => {
      if (!confirm(`Revoke ${d.name} (${d.deviceId})? Its token stops working at once.`)) return;
      try {
        await api(`/api/devices/${encodeURIComponent(d.deviceId)}`, { method: "DELETE" });
        drop(d.deviceId);
        void refresh();
      } catch (e) {
        setText(failure, (e as Error).message);
      }
    };
    const badge = h("span", { class: "badge" });
    const facts = h("div", { class: "facts" });
    const events = h("div", { class: "events" });
    const root = h("section", { class: "card device", "data-device": d.deviceId }, h("header", {}, h("strong", {}, d.name), h("code", {}, d.deviceId), badge, revoke), facts, events, cmd);
    return { root, badge, facts, events, send };
  }

  function fill(c: Card, d: Device) {
    const state = d.online ? "online" : "offline";
    if (c.badge.textContent !== state) {
      c.badge.textContent = state;
      c.badge.className = `badge ${d.online ? "live" : "offline"}`;
      c.root.dataset.state = state;
    }
    c.send.disabled = !d.online;
    c.send.title = d.online ? "" : "The device is offline";
    const channel = d.transport === "tls" ? "TLS (token encrypted)" : "plain TCP (token in clear)";
    if (d.online && c.root.dataset.transport !== d.transport) c.root.dataset.transport = d.transport ?? "";
    const audio = d.format ? `${d.format.sampleRate / 1000} kHz ${d.format.channels === 1 ? "mono" : "stereo"} ${d.format.format}` : "no audio yet";
    const facts = d.online
      ? `${d.ip ?? ""} · ${channel} · fw ${d.fw ?? "?"} · ${audio} · ${d.packets ?? 0} packets (${fmtBytes(d.bytes ?? 0)}) · lost ${d.lost ?? 0} · late ${d.late ?? 0} · jitter ${(d.jitterMs ?? 0).toFixed(1)} ms · ${d.listeners} listening`
      : `offline · last seen ${d.lastSeenMs ? `${fmtAge(Date.now() - d.lastSeenMs)} ago` : "never"}`;
    setText(c.facts, facts);
    const entries = Object.entries(d.status ?? {});
    const text = entries.map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join("\n");
    if (c.events.dataset.text !== text) {
      c.events.dataset.text = text;
      const open = c.events.querySelector("details")?.open ?? false;
      c.events.replaceChildren(entries.length ? h("details", { open }, h("summary", {}, "Latest events"), h("ul", {}, ...entries.map(([k, v]) => h("li", {}, `${k}: ${JSON.stringify(v)}`)))) : "");
    }
  }

  function drop(deviceId: string) {
    cards.get(deviceId)?.root.remove();
    cards.delete(deviceId);
    empty.hidden = cards.size > 0;
  }

  async function refresh() {
    try {
      const { devices, tcpPort, udpPort, hosts, tlsFingerprint } = await api<DeviceList>("/api/devices");
      setText(failure, "");
      const tls = tlsFingerprint ? ` Boards with TLS connect to the same TCP port and pin the certificate SHA-256 ${tlsFingerprint}.` : "";
      setText(ports, tcpPort !== null && udpPort !== null ? devkitReach(hosts, location.hostname, tcpPort, udpPort).summary + tls : "The devkit ports are off on this relay.");
      const present = new Set(devices.map((d) => d.deviceId));
      for (const key of [...cards.keys()]) if (!present.has(key)) drop(key);
      for (const d of devices) {
        let c = cards.get(d.deviceId);
        if (!c) {
          c = card(d);
          cards.set(d.deviceId, c);
          list.append(c.root);
        }
        fill(c, d);
      }
      empty.hidden = cards.size > 0;
    } catch (e) {
      setText(failure, `The list could not be refreshed: ${(e as Error).message}`);
    }
  }

  void refresh();
  const timer = setInterval(refresh, 2000);
  return () => clearInterval(timer);
}
