// Pairing a devkit over Bluetooth LE (/pair): pick the board, give it the
// Wi-Fi, and it joins the relay. Improv Wi-Fi carries the credentials,
// Relay Deck's provisioning service the relay's address and the device's
// token (docs/PROTOCOL.md, "Pairing"). Every step has a timeout, a clear
// message and a retry; a device created for a pairing that is abandoned is
// revoked again.
import { api, pairingPass, withToken, wsUrl } from "../lib/api";
import { bluetoothUnavailable, pickBoard, type BoardLink } from "../lib/board-link";
import { inDesktopApp, nativeBluetooth } from "../lib/desktop";
import { h, notice, setText } from "../lib/dom";
import { decodePcm, type Encoding } from "../lib/jitter";
import { until } from "../lib/wait";
import {
  decodeImprovResult,
  decodeStatus,
  encodeImprovCommand,
  IMPROV,
  IMPROV_ERROR,
  IMPROV_STATE,
  PROVISION,
  relayConfigChunks,
  scannedNetworks,
  splitWrites,
  type ImprovCommand,
} from "../lib/pairing";
import type { CreatedDevice, Device, DeviceList, PairingStepState } from "../generated/contract";
import { mountPhonePairing } from "./phone-pair";

/** What the Wi-Fi form may offer, when the board can. */
interface WifiTools {
  scan?: () => Promise<{ ssid: string; rssi: number; auth: string }[]>;
  identify?: () => Promise<void>;
}

const STEPS = ["Find the board", "Read the board", "Authorize", "Wi-Fi", "Register the board", "Send the Wi-Fi", "Send the relay settings", "Wait for the board", "Online"] as const;
type Step = (typeof STEPS)[number];

/** A rejection's text, as a sentence: an Error's message, or what the desktop app's command returned. */
const errorText = (e: unknown) => {
  const text = e instanceof Error ? e.message : String(e);
  return text.charAt(0).toUpperCase() + text.slice(1);
};


export function mountPair(root: HTMLElement): () => void {
  const steps = new Map<Step, HTMLElement>();
  const list = h("ol", { class: "steps", id: "pair-steps" }, ...STEPS.map((s) => {
    const li = h("li", { "data-step": s, "data-state": "todo" }, s);
    steps.set(s, li);
    return li;
  }));
  const message = h("div", { id: "pair-message", "aria-live": "polite" });
  const panel = h("div", { id: "pair-panel" });
  const start = h("button", { type: "button", id: "pair-start" }, "Find a board") as HTMLButtonElement;
  const cancel = h("button", { type: "button", id: "pair-cancel", hidden: true }, "Cancel") as HTMLButtonElement;
  // Opened from a phone pairing's QR code: this page reports its steps to the app.
  const phone = pairingPass();
  const here = h(
    "section",
    { id: "pair-here" },
    h("p", { class: "hint" }, "Power the board on near this device. Pairing gives it your Wi-Fi and this relay's address; it then shows up in Devices, streaming."),
    h("div", { class: "actions" }, start, cancel),
    // What to do now comes first (the reason pairing cannot start, the Wi-Fi form), the steps below.
    message,
    panel,
    list,
  );
  root.append(here);

  let board: BoardLink | null = null;
  let created: CreatedDevice | null = null;
  let online = false;
  let stopLevel: (() => void) | null = null;

  /** On a phone: tells the app where this pairing is (once per burst of changes; errors only cost the app a view). */
  let reporting = false;
  const report = () => {
    if (!phone || reporting) return;
    reporting = true;
    setTimeout(() => {
      reporting = false;
      const list = [...steps].map(([step, li]) => ({ step, state: (li.dataset.state ?? "todo") as PairingStepState, detail: (li.textContent ?? "").slice(step.length + 2, step.length + 2 + 300) }));
      const text = message.textContent?.slice(0, 300) || undefined;
      void api("/api/pairing/phone/progress", { method: "PUT", body: JSON.stringify({ steps: list, message: text }) }).catch(() => {});
    }, 50);
  };
  const mark = (step: Step, state: "active" | "done" | "failed" | "skipped", detail = "") => {
    const li = steps.get(step)!;
    li.dataset.state = state;
    setText(li, detail ? `${step}: ${detail}` : step);
    report();
  };
  const say = (text: string, kind: "info" | "error" = "info") => {
    message.replaceChildren(notice(text, kind));
    report();
  };

  // The desktop window has no Web Bluetooth: the app pairs through its own Bluetooth (btleplug).
  const native = inDesktopApp();
  const unavailable = native ? null : bluetoothUnavailable();
  if (unavailable) {
    start.disabled = true;
    say(unavailable, "error");
  }
  // The admin may pair through a phone instead: first where this window has no Bluetooth of its own.
  let stopPhone: (() => void) | null = null;
  if (!phone) {
    const card = h("div", { id: "phone-card" });
    if (native || unavailable) here.before(card);
    else here.after(card);
    stopPhone = mountPhonePairing(card, (id) => showLevel(id));
  }

  /** Revokes the device made for a pairing that did not finish (a re-paired one keeps its record). */
  async function abandon() {
    const d = created;
    created = null;
    if (d && !online && !d.repaired) await api(`/api/devices/${encodeURIComponent(d.deviceId)}`, { method: "DELETE" }).catch(() => {});
  }
  const onHide = () => {
    if (created && !online && !created.repaired) fetch(withToken(`/api/devices/${encodeURIComponent(created.deviceId)}`), { method: "DELETE", keepalive: true, credentials: phone ? "omit" : "same-origin" });
  };
  window.addEventListener("pagehide", onHide);

  // One attempt at a time: Cancel aborts the running one, whose later steps then stop.
  let attempt: AbortController | null = null;

  cancel.onclick = async () => {
    attempt?.abort();
    attempt = null;
    cancel.hidden = true;
    panel.replaceChildren();
    for (const li of steps.values()) if (li.dataset.state === "active") li.dataset.state = "todo";
    if (native) await nativeBluetooth.cancel().catch(() => {});
    else {
      await abandon();
      board?.disconnect();
      board = null;
    }
    start.disabled = false;
    say("Pairing cancelled. The board keeps nothing from it; start again when you like.");
  };

  start.onclick = async () => {
    const mine = new AbortController();
    attempt = mine;
    start.disabled = true;
    cancel.hidden = false;
    panel.replaceChildren();
    for (const [name, li] of steps) {
      li.dataset.state = "todo";
      setText(li, name);
    }
    try {
      await (native ? runNative(mine.signal) : run(mine.signal));
    } catch (e) {
      if (mine.signal.aborted) return; // Cancel said what happened
      attempt = null;
      const text = errorText(e);
      say(`${text}${/[.!?]$/.test(text) ? "" : "."} Press "Find a board" to try again.`, "error");
      await abandon();
      board?.disconnect();
      board = null;
      start.disabled = false;
      cancel.hidden = true;
    }
  };

  /** Runs one step, unless its attempt was cancelled. */
  async function step<T>(signal: AbortSignal, name: Step, work: () => Promise<T>): Promise<T> {
    signal.throwIfAborted();
    mark(name, "active");
    try {
      const v = await work();
      signal.throwIfAborted();
      if (steps.get(name)!.dataset.state === "active") mark(name, "done");
      return v;
    } catch (e) {
      if (!signal.aborted) mark(name, "failed", errorText(e));
      throw e;
    }
  }

  /** A promise the user settles (a choice, a form), rejected when the attempt is cancelled. */
  function userChoice<T>(signal: AbortSignal, wait: (resolve: (v: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      signal.addEventListener("abort", () => reject(new Error("cancelled")), { once: true });
      wait(resolve);
    });
  }

  async function run(signal: AbortSignal) {
    // Where a board can reach this relay: without it, pairing would hand it a dead end.
    const list = await api<DeviceList>("/api/devices");
    if (list.tcpPort === null || list.udpPort === null) throw new Error("The devkit ports are off on this relay.");
    if (!list.hosts.lanEnabled) throw new Error('Boards on the network cannot reach this relay: turn on "Devkits on the network" in Settings (it applies at the next start).');
    if (!list.hosts.lan.length) throw new Error("This computer has no network address right now: connect it to the Wi-Fi the board will use.");

    const link = await step(signal, "Find the board", async () => {
      say("Choose the board in the browser's list.");
      return (board = await pickBoard());
    });
    const facts = await step(signal, "Read the board", async () => {
      const caps = (await link.read(IMPROV.service, IMPROV.capabilities))[0] ?? 0;
      const boardId = new TextDecoder().decode(await link.read(PROVISION.service, PROVISION.boardId));
      const version = (await link.read(PROVISION.service, PROVISION.version))[0] ?? 0;
      if (version < 1) throw new Error("The board's Relay Deck provisioning service is too old (version 0).");
      let info: string[] = [];
      if (caps & 0b10) info = (await rpc(link, { type: "deviceInfo" }, 5000)).strings;
      const name = info[3] || link.name;
      mark("Read the board", "done", info.length ? `${name} (${info[0]} ${info[1]}, ${info[2]})` : name);
      return { caps, boardId, name };
    });
    await step(signal, "Authorize", async () => {
      const state = () => link.read(IMPROV.service, IMPROV.currentState).then((b) => b[0]);
      if ((await state()) !== IMPROV_STATE.authorizationRequired) return mark("Authorize", "skipped", "not needed");
      say("Press the button on the board to allow pairing (within a minute).");
      await until(async () => (signal.aborted || (await state()) !== IMPROV_STATE.authorizationRequired ? true : null), 60_000, "The board's button was not pressed within a minute.", onBoard(link, signal));
      say("Authorized.");
    });
    const tools: WifiTools = {
      scan: facts.caps & 0b100 ? async () => scannedNetworks(await rpc(link, { type: "scan" }, 10_000)) : undefined,
      identify: facts.caps & 0b001 ? () => send(link, { type: "identify" }) : undefined,
    };
    const wifi = await step(signal, "Wi-Fi", () => askWifi(signal, tools));
    created = await step(signal, "Register the board", async () => {
      const d = await api<CreatedDevice>("/api/devices", { method: "POST", body: JSON.stringify({ name: facts.name.slice(0, 100) || "Devkit", boardId: facts.boardId }) });
      // Cancelled while the relay was registering it: undone at once (a re-paired board keeps its record).
      if (signal.aborted && !d.repaired) void api(`/api/devices/${encodeURIComponent(d.deviceId)}`, { method: "DELETE" }).catch(() => {});
      mark("Register the board", "done", d.repaired ? `known as ${d.deviceId}: paired again with a new token` : `added as ${d.deviceId}`);
      return d;
    });
    const device = created;
    await step(signal, "Send the Wi-Fi", async () => {
      say(`The board is joining ${wifi.ssid}…`);
      await send(link, { type: "wifiSettings", ...wifi });
      await until(
        async () => {
          signal.throwIfAborted();
          const error = (await link.read(IMPROV.service, IMPROV.errorState))[0];
          if (error === IMPROV_ERROR.unableToConnect) throw new Error(`The board could not join ${wifi.ssid}: check the name and password.`);
          if (error === IMPROV_ERROR.notAuthorized) throw new Error("The board is no longer authorized: press its button and start again.");
          return (await link.read(IMPROV.service, IMPROV.currentState))[0] === IMPROV_STATE.provisioned ? true : null;
        },
        30_000,
        "The board did not report joining the Wi-Fi within 30 s.",
        onBoard(link, signal),
      );
    });
    await step(signal, "Send the relay settings", async () => {
      const config = { hosts: device.hosts.lan.slice(0, 4), tcpPort: device.tcpPort!, udpPort: device.udpPort!, deviceId: device.deviceId, token: device.token, tlsFingerprint: device.tlsFingerprint };
      for (const c of relayConfigChunks(config)) await link.write(PROVISION.service, PROVISION.config, c);
      await until(
        async () => {
          signal.throwIfAborted();
          const s = decodeStatus(await link.read(PROVISION.service, PROVISION.status));
          if (s.state === "failed") throw new Error(`The board refused the relay settings (${s.error}).`);
          return s.state === "stored" || s.state === "connecting" || s.state === "online" ? true : null;
        },
        10_000,
        "The board did not confirm the relay settings within 10 s.",
        onBoard(link, signal),
      );
    });
    await step(signal, "Wait for the board", async () => {
      say("Waiting for the board to connect to this relay…");
      await until(
        async () => {
          signal.throwIfAborted();
          const d = await api<Device>(`/api/devices/${encodeURIComponent(device.deviceId)}`);
          return d.online ? d : null;
        },
        30_000,
        `The board did not connect within 30 s. It was told ${device.hosts.lan[0]}:${device.tcpPort}; check that this computer's firewall lets devkits in.`,
      );
    });
    link.disconnect();
    board = null;
    finished(facts.name, device.deviceId);
  }

  /** The page after a board came online. */
  function finished(name: string, deviceId: string) {
    online = true;
    attempt = null;
    mark("Online", "done");
    cancel.hidden = true;
    start.disabled = false;
    start.textContent = "Pair another board";
    if (phone) {
      start.hidden = true;
      say(`${name} is online as ${deviceId}. The Relay Deck app shows it streaming; you can close this page.`);
    } else {
      say(`${name} is online as ${deviceId}.`);
      showLevel(deviceId);
    }
  }

  /** The same steps, run by the desktop app over its own Bluetooth (btleplug), a call per step. */
  async function runNative(signal: AbortSignal) {
    const boards = await step(signal, "Find the board", async () => {
      say("Looking for boards nearby…");
      const found = await nativeBluetooth.boards();
      if (!found.length) throw new Error("No board was found nearby: power it on, bring it closer, and make sure it is not paired elsewhere.");
      return found;
    });
    say("Which board? Pick it from the list.");
    const chosen = await userChoice<string>(signal, (resolve) => {
      panel.replaceChildren(h("div", { class: "card", id: "board-list" }, h("p", {}, "Which board?"), ...boards.map((b) => h("button", { type: "button", onclick: () => resolve(b.id) }, `${b.name}${b.rssi !== null ? ` (${b.rssi} dBm)` : ""}`))));
    });
    panel.replaceChildren();
    say("Connecting to the board…");
    const facts = await appCall(signal, "Read the board", () => nativeBluetooth.open(chosen));
    const tools: WifiTools = {
      scan: facts.canScan ? () => nativeBluetooth.networks() : undefined,
      identify: facts.canIdentify ? () => nativeBluetooth.identify() : undefined,
    };
    const wifi = await step(signal, "Wi-Fi", () => askWifi(signal, tools));
    say(`The board is joining ${wifi.ssid}…`);
    const deviceId = await appCall(signal, "Register the board", () => nativeBluetooth.provision(wifi.ssid, wifi.password));
    finished(facts.name, deviceId);
  }

  /**
   * One call into the app, showing its steps as the app reports them; when it fails, the step
   * it was on (or `first`) is marked failed with the app's message.
   */
  let shown = 0;
  async function appCall<T>(signal: AbortSignal, first: Step, call: () => Promise<T>): Promise<T> {
    if (first === "Read the board") shown = 0; // a new session
    const show = async () => {
      const events = await nativeBluetooth.progress().catch(() => []);
      if (signal.aborted) return;
      for (const e of events.slice(shown)) {
        if (e.kind === "prompt") say(e.what);
        else if (STEPS.includes(e.what as Step)) mark(e.what as Step, e.kind === "started" ? "active" : e.kind, e.detail);
      }
      shown = Math.max(shown, events.length);
    };
    const timer = setInterval(show, 250);
    try {
      const v = await call();
      await show();
      signal.throwIfAborted();
      return v;
    } catch (e) {
      signal.throwIfAborted();
      const active = [...steps].find(([, li]) => li.dataset.state === "active")?.[0] ?? first;
      mark(active, "failed", errorText(e));
      throw e;
    } finally {
      clearInterval(timer);
    }
  }

  /** A wait on the board: re-checked at its notifications, polled as well. */
  function onBoard(link: BoardLink, signal?: AbortSignal) {
    return { wake: () => link.changed(), signal };
  }

  /** One RPC's writes (no result awaited: identify has none). */
  async function send(link: BoardLink, cmd: ImprovCommand) {
    for (const w of splitWrites(encodeImprovCommand(cmd))) await link.write(IMPROV.service, IMPROV.rpcCommand, w);
  }

  /** One RPC: its writes, then its result (read when the board notifies it, or polled). */
  async function rpc(link: BoardLink, cmd: ImprovCommand, ms: number) {
    await send(link, cmd);
    const id = { wifiSettings: 1, identify: 2, deviceInfo: 3, scan: 4 }[cmd.type];
    return until(
      async () => {
        const bytes = await link.read(IMPROV.service, IMPROV.rpcResult);
        if (bytes.length < 3) return null;
        const r = decodeImprovResult(bytes);
        return r.command === id ? r : null;
      },
      ms,
      `The board did not answer the ${cmd.type} command.`,
      onBoard(link),
    );
  }

  /** The Wi-Fi form: typed, or picked from the board's scan when it offers one. */
  function askWifi(signal: AbortSignal, tools: WifiTools): Promise<{ ssid: string; password: string }> {
    const ssid = h("input", { id: "wifi-ssid", required: true, maxlength: 32, autocomplete: "off", placeholder: "network name" }) as HTMLInputElement;
    const password = h("input", { id: "wifi-password", type: "password", maxlength: 64, placeholder: "empty for an open network" }) as HTMLInputElement;
    const networks = h("datalist", { id: "wifi-networks" });
    ssid.setAttribute("list", "wifi-networks");
    const scan = h("button", { type: "button", id: "wifi-scan", hidden: !tools.scan }, "Networks the board sees") as HTMLButtonElement;
    // Identify (when the board offers it): it blinks or beeps, so the right one is being paired.
    const identify = h("button", { type: "button", id: "board-identify", hidden: !tools.identify }, "Make the board blink") as HTMLButtonElement;
    identify.onclick = async () => {
      try {
        await tools.identify?.();
        say("The board should be blinking or beeping now.");
      } catch (e) {
        say(errorText(e), "error");
      }
    };
    scan.onclick = async () => {
      if (!tools.scan) return;
      scan.disabled = true;
      try {
        const nets = await tools.scan();
        networks.replaceChildren(...nets.map((n) => h("option", { value: n.ssid }, `${n.rssi} dBm · ${n.auth}`)));
        say(nets.length ? `The board sees ${nets.map((n) => n.ssid).join(", ")}.` : "The board sees no network.");
      } catch (e) {
        say(errorText(e), "error");
      }
      scan.disabled = false;
    };
    const form = h("form", { class: "card inline-form", id: "wifi-form" }, h("label", {}, "Wi-Fi ", ssid), networks, h("label", {}, "Password ", password), h("button", { type: "submit" }, "Send to the board"), scan, identify);
    panel.replaceChildren(form);
    say("Which Wi-Fi should the board use? It must be one this computer is on.");
    ssid.focus();
    return userChoice(signal, (resolve) => {
      form.onsubmit = (ev) => {
        ev.preventDefault();
        panel.replaceChildren();
        resolve({ ssid: ssid.value, password: password.value });
      };
    });
  }

  /** A live level meter of the new board's audio. */
  function showLevel(deviceId: string) {
    const meter = h("meter", { id: "pair-level", min: 0, max: 1, value: 0, "aria-label": "audio level" }) as HTMLMeterElement;
    const text = h("span", { id: "pair-level-text" }, "waiting for audio");
    panel.replaceChildren(h("div", { class: "card" }, h("p", {}, "Live level of the board's microphone:"), meter, " ", text, h("p", {}, h("a", { href: "/#/devices" }, "Open Devices"), " · ", h("a", { href: "/#/listen" }, "Listen"))));
    const ws = new WebSocket(wsUrl(`/audio/ws?source=${encodeURIComponent(deviceId)}`));
    ws.binaryType = "arraybuffer";
    let format: { channels: number; encoding: Encoding } = { channels: 1, encoding: "s16le" };
    ws.onmessage = (ev) => {
      if (typeof ev.data === "string") {
        const m = JSON.parse(ev.data);
        if (m.type === "format") format = { channels: m.channels, encoding: m.encoding };
        return;
      }
      const [plane] = decodePcm(ev.data, format.channels, format.encoding);
      let sum = 0;
      for (const s of plane) sum += s * s;
      const rms = Math.sqrt(sum / Math.max(1, plane.length));
      meter.value = Math.min(1, rms * 3);
      setText(text, `${(20 * Math.log10(rms || 1e-9)).toFixed(0)} dBFS`);
      meter.dataset.rms = rms.toFixed(4);
    };
    stopLevel = () => ws.close();
  }

  return () => {
    window.removeEventListener("pagehide", onHide);
    stopPhone?.();
    stopLevel?.();
    attempt?.abort();
    if (native) void nativeBluetooth.cancel().catch(() => {});
    void abandon();
    board?.disconnect();
  };
}
