// Cameras: every camera over one multiplexed WebSocket, decoded off the main
// thread (createImageBitmap) and drawn to canvases. Falls back to polling
// `/latest` when the socket cannot connect; never shows a frozen stream as live.

import { api, withToken, wsUrl } from "../lib/api";
import type { CameraList, SocketReply, ViewerEvent } from "../generated/contract";
import { Backoff } from "../lib/backoff";
import { fmtAge, h } from "../lib/dom";
import { parseMux } from "../lib/mux";

interface Tile {
  id: string;
  name: string;
  root: HTMLElement;
  canvas: HTMLCanvasElement;
  title: HTMLElement;
  badge: HTMLElement;
  facts: HTMLElement;
  online: boolean;
  lastFrameAt: number; // performance.now() of the newest frame
  arrivals: { at: number; cap: number; seq: number }[]; // recent frames: local arrival and capture time (ms), for the measured fps
  skipped: number;
  latest: Blob | null;
  decoding: boolean;
  next: Blob | null; // newest frame waiting while one decodes (latest wins)
  seq: number;
  /** The app's own cameras: live, on standby, or unavailable (with why). */
  availability: { state: string; message?: string };
}

/** A stream with no frame for this long is shown as stalled, not live. */
const STALE_MS = 3000;

export function mountCameras(root: HTMLElement, setStatus: (s: string, kind?: string) => void): () => void {
  const grid = h("div", { class: "grid", id: "camera-grid" });
  const empty = h("p", { class: "empty" }, "No cameras yet. Turn on the test pattern in Settings, open Capture on a phone, or point a camera at /ws.");
  root.append(grid, empty);
  const tiles = new Map<string, Tile>();
  let ws: WebSocket | null = null;
  let polling: number | null = null;
  let stopped = false;
  let failures = 0;
  const backoff = new Backoff();

  function tile(id: string, name?: string): Tile {
    let t = tiles.get(id);
    if (t) {
      if (name && name !== t.name) t.title.textContent = t.name = name;
      return t;
    }
    const canvas = h("canvas", { width: 640, height: 480, "aria-label": `camera ${id}` });
    const title = h("strong", {}, name ?? id);
    const badge = h("span", { class: "badge offline" }, "waiting");
    const facts = h("div", { class: "facts" });
    const rootEl = h(
      "section",
      { class: "tile", tabindex: 0, "data-camera": id },
      h("div", { class: "frame" }, canvas),
      h("header", {}, title, badge),
      facts,
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", onclick: () => rootEl.classList.toggle("big"), title: "Enlarge" }, "Enlarge"),
        h("button", { type: "button", onclick: () => rootEl.requestFullscreen?.(), title: "Full screen" }, "Full screen"),
        h("button", { type: "button", onclick: () => snapshot(id), title: "Download the newest frame" }, "Snapshot"),
      ),
    );
    rootEl.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && e.target === rootEl) rootEl.classList.toggle("big");
    });
    canvas.addEventListener("click", () => rootEl.classList.toggle("big"));
    t = { id, name: name ?? id, root: rootEl, canvas, title, badge, facts, online: true, lastFrameAt: 0, arrivals: [], skipped: 0, latest: null, decoding: false, next: null, seq: 0, availability: { state: "live" } };
    tiles.set(id, t);
    grid.append(rootEl);
    empty.hidden = true;
    return t;
  }

  function remove(id: string) {
    tiles.get(id)?.root.remove();
    tiles.delete(id);
    empty.hidden = tiles.size > 0;
  }

  function drawNotice(canvas: HTMLCanvasElement, text: string) {
    const g = canvas.getContext("2d")!;
    g.fillStyle = "#30343a";
    g.fillRect(0, 0, canvas.width, canvas.height);
    g.fillStyle = "#e6edf3";
    g.textAlign = "center";
    g.font = `${Math.round(canvas.width / 24)}px system-ui, sans-serif`;
    g.fillText("Camera unavailable", canvas.width / 2, canvas.height / 2 - canvas.width / 30);
    g.font = `${Math.round(canvas.width / 36)}px system-ui, sans-serif`;
    g.fillText(text, canvas.width / 2, canvas.height / 2 + canvas.width / 30);
  }

  async function snapshot(id: string) {
    const t = tiles.get(id);
    const blob = t?.latest ?? (await fetch(withToken(`/api/clients/${encodeURIComponent(id)}/latest`)).then((r) => (r.ok ? r.blob() : null)));
    if (!blob) return;
    const a = h("a", { href: URL.createObjectURL(blob), download: `${id}-${new Date().toISOString().replace(/[:.]/g, "-")}.jpg` });
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  }

  /** `capturedMs`: when the relay received the frame (the mux header), so a
   * burst of queued frames does not read as a higher frame rate. */
  function frame(t: Tile, jpeg: Blob, capturedMs?: number, seq?: number) {
    const now = performance.now();
    t.latest = jpeg;
    t.lastFrameAt = now;
    t.arrivals.push({ at: now, cap: capturedMs ?? now, seq: seq ?? t.arrivals.length });
    while (t.arrivals.length && now - t.arrivals[0].at > 2000) t.arrivals.shift();
    if (t.decoding) {
      t.next = jpeg; // latest wins: a slow decoder skips frames
      return;
    }
    void draw(t, jpeg);
  }

  async function draw(t: Tile, jpeg: Blob) {
    t.decoding = true;
    try {
      const bitmap = await createImageBitmap(jpeg);
      if (t.canvas.width !== bitmap.width || t.canvas.height !== bitmap.height) {
        t.canvas.width = bitmap.width;
        t.canvas.height = bitmap.height;
      }
      t.canvas.getContext("2d")!.drawImage(bitmap, 0, 0);
      bitmap.close();
    } catch {
      /* a frame the browser cannot decode: keep the previous picture */
    } finally {
      t.decoding = false;
    }
    const next = t.next;
    t.next = null;
    if (next) void draw(t, next);
  }

  function render() {
    const now = performance.now();
    for (const t of tiles.values()) {
      const age = t.lastFrameAt ? now - t.lastFrameAt : Infinity;
      // The camera's own rate: sequence numbers over capture times (frames
      // this viewer skipped still count; bursts in delivery do not).
      const [first, last] = [t.arrivals[0], t.arrivals[t.arrivals.length - 1]];
      const span = t.arrivals.length > 1 ? last.cap - first.cap : 0;
      const fps = span > 0 ? ((last.seq - first.seq) * 1000) / span : 0;
      const avail = t.availability.state;
      const state = !t.online ? "offline" : avail === "unavailable" ? "unavailable" : age > STALE_MS ? (avail === "standby" ? "standby" : "stalled") : "live";
      if (state === "unavailable" && !t.latest) drawNotice(t.canvas, t.availability.message ?? "unavailable");
      t.badge.className = `badge ${state}`;
      t.badge.textContent = state;
      t.root.dataset.state = state;
      t.facts.textContent =
        state === "unavailable"
          ? `unavailable: ${t.availability.message ?? "the device does not deliver"} · retrying`
          : `${state === "live" ? fps.toFixed(1) : "0.0"} fps · ${t.canvas.width}×${t.canvas.height} · newest ${fmtAge(age)} ago · ${t.skipped} skipped`;
      t.root.dataset.fps = fps.toFixed(1);
    }
  }

  function connect() {
    if (stopped) return;
    setStatus("connecting…", "busy");
    const sock = new WebSocket(wsUrl("/stream/ws"));
    ws = sock;
    sock.binaryType = "arraybuffer";
    let opened = false;
    sock.onopen = () => {
      opened = true;
      failures = 0;
      backoff.reset();
      stopPolling();
      setStatus("live", "ok");
    };
    sock.onmessage = (ev) => {
      if (typeof ev.data === "string") return onText(JSON.parse(ev.data) as ViewerEvent | SocketReply);
      const f = parseMux(ev.data);
      if (!f) return;
      const t = tile(f.id);
      t.seq = f.seq;
      frame(t, new Blob([f.jpeg], { type: "image/jpeg" }), Number(f.capturedUs / 1000n), f.seq);
    };
    sock.onclose = () => {
      if (stopped) return;
      if (!opened) failures++;
      const wait = backoff.next();
      setStatus(`disconnected · retrying in ${(wait / 1000).toFixed(1)} s${polling !== null ? " · showing snapshots" : ""}`, "warn");
      if (failures >= 2) startPolling();
      setTimeout(connect, wait);
    };
  }

  function onText(msg: ViewerEvent | SocketReply) {
    switch (msg.type) {
      case "joined":
      case "status": {
        const t = tile(msg.clientId, msg.name ?? undefined);
        t.online = msg.online;
        if (msg.availability) t.availability = msg.availability;
        break;
      }
      case "left":
        remove(msg.clientId);
        break;
      case "stats":
        for (const [id, s] of Object.entries(msg.cameras)) {
          const t = tiles.get(id);
          if (t) t.skipped = s.skipped;
        }
        break;
    }
  }

  // Fallback while the socket is down: the camera list and each newest frame.
  function startPolling() {
    if (polling !== null) return;
    const poll = async () => {
      try {
        const { clients: list } = await api<CameraList>("/api/clients");
        const seen = new Set<string>();
        for (const c of list) {
          seen.add(c.id);
          const t = tile(c.id, c.name ?? undefined);
          t.online = c.online;
          if (c.availability) t.availability = c.availability;
          const r = await fetch(withToken(`/api/clients/${encodeURIComponent(c.id)}/latest`), { cache: "no-store" });
          if (r.ok) frame(t, await r.blob());
        }
        for (const id of [...tiles.keys()]) if (!seen.has(id)) remove(id);
      } catch {
        /* the relay is unreachable: the status line says so */
      }
    };
    void poll();
    polling = window.setInterval(poll, 1000);
  }

  function stopPolling() {
    if (polling !== null) clearInterval(polling);
    polling = null;
  }

  const timer = setInterval(render, 250);
  connect();
  return () => {
    stopped = true;
    clearInterval(timer);
    stopPolling();
    ws?.close(1000, "page closed");
  };
}
