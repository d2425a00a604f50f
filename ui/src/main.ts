// A first camera grid: every camera over one multiplexed WebSocket, frames
// decoded off the main thread with createImageBitmap and drawn to canvases.
import { parseMux } from "./mux";

interface Tile { root: HTMLElement; canvas: HTMLCanvasElement; meta: HTMLElement; frames: number; last: number; online: boolean }

const grid = document.getElementById("grid")!;
const empty = document.getElementById("empty")!;
const state = document.getElementById("state")!;
const tiles = new Map<string, Tile>();

function tile(id: string, name?: string): Tile {
  let t = tiles.get(id);
  if (t) return t;
  const root = document.createElement("section");
  root.className = "tile";
  const canvas = document.createElement("canvas");
  const meta = document.createElement("div");
  meta.className = "meta";
  root.append(canvas, meta);
  grid.append(root);
  t = { root, canvas, meta, frames: 0, last: 0, online: true };
  root.dataset.name = name ?? id;
  tiles.set(id, t);
  empty.hidden = true;
  return t;
}

function render() {
  const now = performance.now();
  for (const [id, t] of tiles) {
    const fresh = t.online && now - t.last < 3000;
    t.meta.innerHTML = `<span>${t.root.dataset.name ?? id}</span><span class="${fresh ? "live" : "offline"}">${fresh ? "live" : "offline"} · ${t.canvas.width}×${t.canvas.height}</span>`;
  }
}

let backoff = 500;
function connect() {
  // A share link carries its token in the page URL; the socket needs it too.
  const token = new URLSearchParams(location.search).get("token");
  const query = token ? `?token=${encodeURIComponent(token)}` : "";
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/stream/ws${query}`);
  ws.binaryType = "arraybuffer";
  ws.onopen = () => { state.textContent = "connected"; backoff = 500; };
  ws.onmessage = async (ev) => {
    if (typeof ev.data === "string") {
      const msg = JSON.parse(ev.data);
      if (msg.type === "joined") { tile(msg.clientId, msg.name).online = msg.online; }
      if (msg.type === "status") { tile(msg.clientId).online = msg.online; }
      if (msg.type === "left") { tiles.get(msg.clientId)?.root.remove(); tiles.delete(msg.clientId); empty.hidden = tiles.size > 0; }
      return;
    }
    const f = parseMux(ev.data);
    if (!f) return;
    const t = tile(f.id);
    const bitmap = await createImageBitmap(new Blob([f.jpeg], { type: "image/jpeg" }));
    if (t.canvas.width !== bitmap.width) { t.canvas.width = bitmap.width; t.canvas.height = bitmap.height; }
    t.canvas.getContext("2d")!.drawImage(bitmap, 0, 0);
    bitmap.close();
    t.frames++; t.last = performance.now();
  };
  ws.onclose = () => {
    const wait = Math.min(backoff, 10000) * (0.75 + Math.random() / 2);
    state.textContent = `disconnected, retrying in ${(wait / 1000).toFixed(1)} s`;
    backoff *= 2;
    setTimeout(connect, wait);
  };
}

setInterval(render, 500);
connect();
