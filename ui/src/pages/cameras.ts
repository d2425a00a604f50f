// Cameras: every camera over one multiplexed WebSocket, drawn into tiles.
// Falls back to polling `/latest` when the socket cannot connect; never
// shows a frozen stream as live.
//
// Drawing costs what the window costs, so nothing is drawn that nobody sees:
// a hidden page closes its socket (the relay stops sending, and an on-demand
// camera may close), a tile scrolled out of view keeps only its newest frame
// (decoded when it comes back), the facts line is rewritten at most once a
// second and only when its text changed, and a still picture is never redrawn.

import { api, withToken, wsUrl } from "../lib/api";
import type { Availability, Camera, CameraList, SocketReply, ViewerEvent } from "../generated/contract";
import { Backoff } from "../lib/backoff";
import { copyButton, fmtAge, h, setText } from "../lib/dom";
import { parseMux } from "../lib/mux";
import { painterFactory, type FramePainter } from "../lib/painter";
import { inGrid, measuredFps, ordered, OWN_SOURCES, parseLayout, tileState, type Arrival, type Layout, type TileState } from "../lib/tile-state";

interface Tile {
  id: string;
  name: string;
  joined: number;
  root: HTMLElement;
  painter: FramePainter;
  title: HTMLElement;
  badge: HTMLElement;
  facts: HTMLElement;
  enlarge: HTMLButtonElement;
  online: boolean;
  availability: Availability;
  state: TileState | null;
  lastFrameAt: number; // performance.now() of the newest frame
  arrivals: (Arrival & { at: number })[]; // the last 2 s of frames, for the measured fps
  skipped: number;
  /** On screen (IntersectionObserver): only visible tiles decode. */
  visible: boolean;
  latest: Blob | null;
  /** The newest frame that arrived while the tile was out of view (latest wins). */
  pending: Blob | null;
}

const LAYOUT_KEY = "relaydeck.cameras.layout";

export function mountCameras(root: HTMLElement, setStatus: (s: string, kind?: string) => void, admin: boolean): () => void {
  let layout = parseLayout(localStorage.getItem(LAYOUT_KEY));
  const grid = h("div", { class: "grid", id: "camera-grid" });
  const empty = h("p", { class: "empty" }, admin ? "No cameras yet. Turn on the test pattern in Settings, open Capture on a phone, or point a camera at /ws." : "None of the cameras this link may watch is on the air yet.");
  const hostNote = h("p", { class: "notice", id: "host-camera-note", hidden: true });
  root.append(toolbar(), hostNote, grid, empty);
  const tiles = new Map<string, Tile>();
  const newPainter = painterFactory();
  // For the browser tests and the window benchmark (as the Listen page's players).
  (window as unknown as { relaydeckTiles: Map<string, Tile> }).relaydeckTiles = tiles;
  let joinedCount = 0;
  let ws: WebSocket | null = null;
  let polling: number | null = null;
  let retry: number | null = null;
  let stopped = false;
  let failures = 0;
  const backoff = new Backoff();

  const seen = new IntersectionObserver((entries) => {
    for (const e of entries) {
      const t = tiles.get((e.target as HTMLElement).dataset.camera ?? "");
      if (!t) continue;
      t.visible = e.isIntersecting;
      if (t.visible && t.pending) paint(t, t.pending);
    }
  });

  function toolbar(): HTMLElement {
    const columns = h(
      "select",
      { id: "grid-columns", "aria-label": "Columns" },
      ...(["auto", "1", "2", "3", "4"] as const).map((c) => h("option", { value: c, selected: c === layout.columns }, c === "auto" ? "fit the window" : `${c} column${c === "1" ? "" : "s"}`)),
    ) as HTMLSelectElement;
    const order = h(
      "select",
      { id: "grid-order", "aria-label": "Order" },
      h("option", { value: "joined", selected: layout.order === "joined" }, "as they joined"),
      h("option", { value: "name", selected: layout.order === "name" }, "by name"),
    ) as HTMLSelectElement;
    const save = () => {
      layout = { columns: columns.value as Layout["columns"], order: order.value as Layout["order"] };
      localStorage.setItem(LAYOUT_KEY, JSON.stringify(layout));
      applyLayout();
    };
    columns.onchange = order.onchange = save;
    return h("div", { class: "toolbar" }, h("label", {}, "Columns ", columns), h("label", {}, "Order ", order));
  }

  function applyLayout() {
    grid.style.gridTemplateColumns = layout.columns === "auto" ? "" : `repeat(${layout.columns}, minmax(0, 1fr))`;
    ordered([...tiles.values()], layout.order).forEach((t, i) => (t.root.style.order = String(i)));
  }

  function tile(id: string, name?: string | null): Tile {
    let t = tiles.get(id);
    if (t) {
      if (name && name !== t.name) {
        t.title.textContent = t.name = name;
        applyLayout();
      }
      return t;
    }
    const painter = newPainter(`camera ${name ?? id}`, () => {
      placeholder.remove();
      update(me, performance.now()); // the facts name the picture's size at once
    });
    const placeholder = h("p", { class: "no-picture" }, "waiting for the first picture");
    const title = h("strong", {}, name ?? id);
    const badge = h("span", { class: "badge offline" }, "waiting");
    const facts = h("div", { class: "facts" });
    const enlarge = h("button", { type: "button", "aria-pressed": "false", title: "Show this camera across the grid (Esc restores)" }, "Enlarge") as HTMLButtonElement;
    const rootEl = h(
      "section",
      { class: "tile", tabindex: 0, "data-camera": id },
      h("div", { class: "frame" }, painter.element, placeholder),
      h("header", {}, title, badge),
      facts,
      h(
        "div",
        { class: "actions" },
        enlarge,
        h("button", { type: "button", onclick: () => void rootEl.requestFullscreen?.(), title: "Full screen (or double-click the picture)" }, "Full screen"),
        h("button", { type: "button", onclick: () => void snapshot(id), title: "Download the newest frame" }, "Snapshot"),
        admin ? h("button", { type: "button", class: "rename", onclick: () => startRename(id), title: "Give this camera a name people recognise" }, "Rename") : "",
        admin && !OWN_SOURCES.includes(id) ? h("button", { type: "button", class: "danger remove", onclick: () => void removeCamera(id), title: "Remove this offline camera and its frames now", hidden: true }, "Remove") : "",
      ),
      links(id),
    );
    t = { id, name: name ?? id, joined: joinedCount++, root: rootEl, painter, title, badge, facts, enlarge, online: true, availability: { state: "live" }, state: null, lastFrameAt: 0, arrivals: [], skipped: 0, visible: false, latest: null, pending: null };
    const me = t;
    enlarge.onclick = () => setBig(me, !rootEl.classList.contains("big"));
    rootEl.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && e.target === rootEl) setBig(me, !rootEl.classList.contains("big"));
    });
    painter.element.addEventListener("dblclick", () => void rootEl.requestFullscreen?.());
    tiles.set(id, t);
    grid.append(rootEl);
    seen.observe(rootEl);
    applyLayout();
    update(t, performance.now());
    return t;
  }

  /** The title becomes a field: Enter or Save renames, Esc or Cancel keeps the name. */
  function startRename(id: string) {
    const t = tiles.get(id);
    if (!t || t.root.querySelector("form.rename-form")) return;
    const input = h("input", { value: t.name, maxlength: 64, "aria-label": "camera name", required: false }) as HTMLInputElement;
    const said = h("span", { class: "hint", role: "status" });
    const cancel = h("button", { type: "button" }, "Cancel");
    const form = h("form", { class: "rename-form" }, input, h("button", { type: "submit" }, "Save"), cancel, said);
    const end = () => {
      form.remove();
      t.title.hidden = false;
    };
    cancel.onclick = end;
    input.addEventListener("keydown", (e) => {
      if (e.key === "Escape") {
        e.stopPropagation();
        end();
      }
    });
    form.onsubmit = async (ev) => {
      ev.preventDefault();
      try {
        const cam = await api<Camera>(`/api/clients/${encodeURIComponent(id)}`, { method: "PATCH", body: JSON.stringify({ name: input.value.trim() || null }) });
        t.name = cam.name ?? id;
        t.title.textContent = t.name;
        applyLayout();
        end();
      } catch (e) {
        said.textContent = (e as Error).message;
      }
    };
    t.title.hidden = true;
    t.title.after(form);
    input.focus();
    input.select();
  }

  async function removeCamera(id: string) {
    if (!confirm(`Remove the camera "${tiles.get(id)?.name ?? id}" and its frames now? A camera that is still connected cannot be removed: it would be back with its next frame.`)) return;
    try {
      await api(`/api/clients/${encodeURIComponent(id)}`, { method: "DELETE" });
      remove(id);
    } catch (e) {
      setStatus((e as Error).message, "warn");
    }
  }

  function setBig(t: Tile, big: boolean) {
    t.root.classList.toggle("big", big);
    t.enlarge.textContent = big ? "Restore" : "Enlarge";
    t.enlarge.setAttribute("aria-pressed", String(big));
  }

  /** The camera's URLs for other programs (VLC, Home Assistant, a script), with copy buttons. */
  function links(id: string): HTMLElement {
    const enc = encodeURIComponent(id);
    const rows: [string, string][] = [
      ["MJPEG", `${location.origin}${withToken(`/api/clients/${enc}/mjpeg`)}`],
      ["Snapshot", `${location.origin}${withToken(`/api/clients/${enc}/latest`)}`],
      ["WebSocket", wsUrl(`/stream/ws?clientId=${enc}`)],
    ];
    return h(
      "details",
      { class: "links" },
      h("summary", {}, "Links"),
      ...rows.map(([label, url]) => h("div", { class: "link-row" }, h("span", {}, label), h("code", {}, url), copyButton(url, `Copy the ${label} URL`))),
    );
  }

  function remove(id: string) {
    const t = tiles.get(id);
    if (!t) return;
    seen.unobserve(t.root);
    t.root.remove();
    t.painter.dispose();
    tiles.delete(id);
    showEmpty();
  }

  function showEmpty() {
    const shown = [...tiles.values()].some((t) => !t.root.hidden);
    empty.hidden = shown;
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
    t.arrivals.push({ at: now, cap: capturedMs ?? now, seq: seq ?? (t.arrivals.at(-1)?.seq ?? 0) + 1 });
    while (t.arrivals.length && now - t.arrivals[0].at > 2000) t.arrivals.shift();
    if (t.visible) paint(t, jpeg);
    else t.pending = jpeg;
    if (t.state !== "live") update(t, now); // the first frame says "live" at once
  }

  function paint(t: Tile, jpeg: Blob) {
    t.pending = null;
    t.painter.show(jpeg);
  }

  /** Badge, facts and grid membership; writes the DOM only where something changed. */
  function update(t: Tile, now: number) {
    const state = tileState({ online: t.online, availability: t.availability, lastFrameAt: t.lastFrameAt, now });
    if (state !== t.state) {
      t.state = state;
      t.badge.className = `badge ${state}`;
      t.badge.textContent = state;
      t.root.dataset.state = state;
      t.root.hidden = !inGrid(state, t.latest !== null);
      const removable = t.root.querySelector<HTMLButtonElement>("button.remove");
      if (removable) removable.hidden = state !== "offline";
      showEmpty();
    }
    const fps = measuredFps(t.arrivals);
    const shown = t.painter.size();
    const size = shown ? `${shown.width}×${shown.height}` : "no picture yet";
    const age = t.lastFrameAt ? fmtAge(now - t.lastFrameAt) : "—";
    const facts =
      state === "unavailable"
        ? `unavailable: ${t.availability.state === "unavailable" ? t.availability.message : "the device does not deliver"} · retrying`
        : state === "live"
          ? `${fps.toFixed(1)} fps · ${size} · ${t.skipped} skipped`
          : `${state} · newest frame ${age} ago · ${size}`;
    setText(t.facts, facts);
    const shownFps = state === "live" ? fps.toFixed(1) : "0.0";
    if (t.root.dataset.fps !== shownFps) t.root.dataset.fps = shownFps;
  }

  function updateAll() {
    const now = performance.now();
    for (const t of tiles.values()) update(t, now);
    const host = tiles.get("host-camera");
    const hidden = host?.root.hidden && host.availability.state === "unavailable";
    hostNote.hidden = !hidden;
    if (hidden && host.availability.state === "unavailable") {
      const why = `This computer's camera is not shown: ${host.availability.message}.`;
      if (hostNote.dataset.why !== why) {
        hostNote.dataset.why = why;
        hostNote.replaceChildren(why, ...(admin ? [" ", h("a", { href: "#/settings" }, "Settings › Camera"), " says which cameras the relay can see."] : []));
      }
    }
  }

  function connect() {
    retry = null;
    if (stopped || document.hidden) return;
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
      frame(tile(f.id), new Blob([f.jpeg], { type: "image/jpeg" }), Number(f.capturedUs / 1000n), f.seq);
    };
    sock.onclose = () => {
      if (ws !== sock) return; // closed on purpose (page hidden or left)
      ws = null;
      if (stopped) return;
      if (!opened) failures++;
      const wait = backoff.next();
      setStatus(`disconnected · retrying in ${(wait / 1000).toFixed(1)} s${polling !== null ? " · showing snapshots" : ""}`, "warn");
      if (failures >= 2) startPolling();
      retry = window.setTimeout(connect, wait);
    };
  }

  function disconnect(reason: string) {
    const sock = ws;
    ws = null;
    sock?.close(1000, reason);
    if (retry !== null) clearTimeout(retry);
    retry = null;
    stopPolling();
  }

  function onText(msg: ViewerEvent | SocketReply) {
    switch (msg.type) {
      case "joined":
      case "status": {
        const t = tile(msg.clientId, msg.name);
        t.online = msg.online;
        if (msg.availability) t.availability = msg.availability;
        update(t, performance.now());
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
        const present = new Set<string>();
        for (const c of list) {
          present.add(c.id);
          const t = tile(c.id, c.name);
          t.online = c.online;
          t.availability = c.availability;
          if (!t.visible) continue;
          const r = await fetch(withToken(`/api/clients/${encodeURIComponent(c.id)}/latest`), { cache: "no-store" });
          if (r.ok) frame(t, await r.blob());
        }
        for (const id of [...tiles.keys()]) if (!present.has(id)) remove(id);
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

  // A hidden page (another tab, a minimised window, the desktop window in the
  // tray) receives and draws nothing.
  const onVisibility = () => {
    if (document.hidden) {
      disconnect("page hidden");
      setStatus("paused while hidden");
    } else if (!ws && retry === null) {
      backoff.reset();
      connect();
    }
  };
  const onKey = (e: KeyboardEvent) => {
    if (e.key !== "Escape") return;
    for (const t of tiles.values()) if (t.root.classList.contains("big")) setBig(t, false);
  };
  document.addEventListener("visibilitychange", onVisibility);
  document.addEventListener("keydown", onKey);
  const timer = setInterval(() => {
    if (!document.hidden) updateAll();
  }, 1000);
  showEmpty();
  connect();
  return () => {
    stopped = true;
    clearInterval(timer);
    document.removeEventListener("visibilitychange", onVisibility);
    document.removeEventListener("keydown", onKey);
    seen.disconnect();
    disconnect("page closed");
    for (const t of tiles.values()) t.painter.dispose();
  };
}
