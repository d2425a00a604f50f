// How much CPU the desktop window costs, page by page (docs/BENCHMARKS.md).
//
// Starts the desktop app under its own Xvfb through tauri-driver (WebDriver
// only navigates; it is idle while a sample runs), then for each scenario
// reads /proc CPU time of the app and every process it started (the WebKit
// web and network processes) over DURATION seconds. The same pages are then
// measured in headless Chromium against the same relay, for comparison.
//
//   node tests/bench/window-cpu.mjs [--bin target/release/relaydeck] [--duration 30] [--label new]
//                                  [--no-desktop] [--no-chromium] [--painter img|canvas]
//                                  [--startup-runs N]
//
// The desktop run also reports the start-up to the first frame: from asking
// tauri-driver for a session (which launches the app, as a click on its icon
// would) to the test pattern's first frame drawn in the window, on a fresh
// data directory (first start: password hashing, certificate-free HTTP).
// `--startup-runs N` measures only that, N times, each a new app.
//
// `--painter` overrides the Cameras page's choice of painter (ui/src/lib/painter.ts)
// in both engines; without it each engine gets the page's own choice. The live
// row also reports how many frames the tile drew per second, so a cheap figure
// from a tile that stopped drawing cannot pass unnoticed.
//
// Needs what the desktop e2e test needs (Xvfb, dbus-run-session, tauri-driver,
// WebKitWebDriver) and Debian's python3-xlib for the close-to-tray step
// (.ci/setup installs it); without it that row is skipped.
import { spawn, execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { closeWindow } from "../e2e/x11.mjs";
import { spawnGroup, stopGroups, until } from "../e2e/support.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const bin = path.resolve(arg("bin", path.join(root, "target/release/relaydeck")));
const DURATION = Number(arg("duration", "30"));
const LABEL = arg("label", path.basename(path.dirname(bin)));
const DISPLAY = arg("display", ":93");
const PORT = Number(arg("port", "3961"));
const DRIVER_PORT = PORT + 1000;
const PASSWORD = "window cpu benchmark";
const PAINTER = arg("painter", null);
const STARTUP_RUNS = Number(arg("startup-runs", "0"));
const STARTUP_ONLY = STARTUP_RUNS > 0;
const DRAWN = `return window.relaydeckTiles?.get("test-pattern")?.painter.drawn ?? 0;`;
const base = `http://127.0.0.1:${PORT}`;
const auth = { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString("base64")}` };
const TICK = Number(execFileSync("getconf", ["CLK_TCK"]).toString());
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const children = [];

/** pid → {ppid, comm, ticks} for every process. */
function processes() {
  const all = new Map();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const f = stat.slice(close + 2).split(" ");
      all.set(Number(d), { ppid: Number(f[1]), comm, ticks: Number(f[11]) + Number(f[12]) });
    } catch {}
  }
  return all;
}

/** CPU ticks of `pid` and its descendants, grouped by process name. */
function treeTicks(pid) {
  const all = processes();
  const out = {};
  const walk = (p) => {
    const me = all.get(p);
    if (!me) return;
    out[me.comm] = (out[me.comm] ?? 0) + me.ticks;
    for (const [c, info] of all) if (info.ppid === p) walk(c);
  };
  walk(pid);
  return out;
}

/** % of one core per process name over DURATION seconds. */
async function sample(pid) {
  const a = treeTicks(pid);
  const t0 = performance.now();
  await sleep(DURATION * 1000);
  const b = treeTicks(pid);
  const secs = (performance.now() - t0) / 1000;
  const pct = {};
  for (const k of Object.keys(b)) pct[k] = (((b[k] - (a[k] ?? 0)) / TICK) * 100) / secs;
  return pct;
}

const fmt = (pct) => {
  const total = Object.values(pct).reduce((s, v) => s + v, 0);
  const parts = Object.entries(pct).filter(([, v]) => v >= 0.05).map(([k, v]) => `${k} ${v.toFixed(1)}`);
  return { total: total.toFixed(1), parts: parts.join(", ") };
};

const wd = {
  async call(method, url, body) {
    const r = await fetch(`http://127.0.0.1:${DRIVER_PORT}${url}`, { method, headers: { "content-type": "application/json" }, body: body ? JSON.stringify(body) : undefined });
    const v = await r.json();
    if (!r.ok) throw new Error(`${method} ${url}: ${JSON.stringify(v.value)}`);
    return v.value;
  },
  script(sid, script, args = []) {
    return this.call("POST", `/session/${sid}/execute/sync`, { script, args });
  },
};

async function settings(patch) {
  const r = await fetch(`${base}/api/settings`, { method: "PUT", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify(patch) });
  if (!r.ok) throw new Error(`settings: ${r.status} ${await r.text()}`);
}

const rows = [];
const homes = [];
function record(scenario, where, pct) {
  const { total, parts } = fmt(pct);
  rows.push({ scenario, where, total, parts });
  console.log(`${LABEL} · ${scenario} · ${where}: ${total} % of a core (${parts})`);
}

async function desktop() {
  const home = mkdtempSync(path.join(tmpdir(), "relaydeck-cpu-"));
  const env = { DISPLAY, HOME: home, XDG_DATA_HOME: path.join(home, "data"), RELAYDECK_ADMIN_PASSWORD: PASSWORD, RELAYDECK_BIND: `127.0.0.1:${PORT}`, RELAYDECK_DEVKIT_TCP_PORT: "0", RELAYDECK_DEVKIT_UDP_PORT: "0", RUST_LOG: "warn" };
  spawnGroup("dbus-run-session", ["--", "tauri-driver", "--port", String(DRIVER_PORT)], children, env);
  await until("tauri-driver", async () => (await fetch(`http://127.0.0.1:${DRIVER_PORT}/status`)).ok, 45000);
  const launched = performance.now();
  const session = await wd.call("POST", "/session", { capabilities: { alwaysMatch: { browserName: "wry", "tauri:options": { application: bin } } } });
  const sid = session.sessionId;
  const pid = Number(execFileSync("pgrep", ["-f", "-n", `^${bin}`]).toString().trim());
  // Start-up to the first frame drawn (the window opens on Cameras with the test pattern).
  await until("the first frame drawn", async () => (await wd.script(sid, DRAWN).catch(() => 0)) > 0, 60000, 10);
  const firstFrameMs = performance.now() - launched;
  console.log(`${LABEL} · start-up to the first frame drawn · desktop window: ${firstFrameMs.toFixed(0)} ms`);
  rows.push({ scenario: "start-up to the first frame drawn (ms)", where: "desktop window", total: firstFrameMs.toFixed(0), parts: "" });
  if (STARTUP_ONLY) {
    await wd.call("DELETE", `/session/${sid}`).catch(() => {});
    homes.push(home);
    return;
  }
  const go = async (page) => {
    await wd.script(sid, `location.hash = "#/" + arguments[0];`, [page]);
    await until(page, () => wd.script(sid, 'return location.hash === "#/" + arguments[0];', [page]));
    await sleep(3000);
  };
  try {
    if (PAINTER) {
      // Kept per browser; the Cameras page reads it when it mounts (a reload
      // would replay the window's one-time sign-in code).
      await wd.script(sid, `localStorage.setItem("relaydeck.cameras.painter", arguments[0]);`, [PAINTER]);
      await go("settings");
      await go("cameras");
    }
    await until("a live test pattern", () => wd.script(sid, `const t = document.querySelector('.tile[data-camera="test-pattern"]'); return !!t && t.dataset.state === "live";`), 45000);
    await sleep(3000);
    const painter = await wd.script(sid, `return window.relaydeckTiles.get("test-pattern").painter.element.tagName.toLowerCase();`);
    const before = await wd.script(sid, DRAWN);
    const cpu = await sample(pid);
    const drawn = ((await wd.script(sid, DRAWN)) - before) / DURATION;
    record(`Cameras, one live 640×480 15 fps tile (${painter}, ${drawn.toFixed(1)} frames drawn/s)`, "desktop window", cpu);
    await settings({ testPattern: false });
    await sleep(3000);
    record("Cameras, nothing moving", "desktop window", await sample(pid));
    await go("settings");
    record("Settings, idle", "desktop window", await sample(pid));
    await settings({ testPattern: true });
    await go("cameras");
    try {
      closeWindow(DISPLAY);
      await sleep(3000);
      const alive = execFileSync("sh", ["-c", `kill -0 ${pid} && echo yes || echo no`]).toString().trim();
      if (alive === "yes") record("Cameras page, window closed to the tray", "desktop window", await sample(pid));
      else console.log(`${LABEL}: closing the window quit the app (no tray row)`);
    } catch (e) {
      console.log(`${LABEL}: close-to-tray row skipped: ${e.message.split("\n")[0]}`);
    }
  } finally {
    await wd.call("DELETE", `/session/${sid}`).catch(() => {});
    homes.push(home);
  }
}

async function chromium() {
  // The same pages in headless Chromium, against a headless relay of the same binary.
  const { chromium } = createRequire(path.join(root, "ui/package.json"))("playwright-core");
  const home = mkdtempSync(path.join(tmpdir(), "relaydeck-cpu-"));
  const relay = spawnGroup(bin, ["serve", "--bind", `127.0.0.1:${PORT + 2}`, "--data-dir", home], children, { RELAYDECK_ADMIN_PASSWORD: PASSWORD, RELAYDECK_DEVKIT_TCP_PORT: "0", RELAYDECK_DEVKIT_UDP_PORT: "0", RUST_LOG: "warn" });
  const url = `http://127.0.0.1:${PORT + 2}`;
  await until("the headless relay", async () => (await fetch(`${url}/api/health`)).ok);
  await fetch(`${url}/api/settings`, { method: "PUT", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ testPattern: true }) });
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
  const bpid = Number(execFileSync("pgrep", ["-f", "-o", "chromium.*--headless"]).toString().trim());
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
    if (PAINTER) await page.addInitScript((p) => localStorage.setItem("relaydeck.cameras.painter", p), PAINTER);
    await page.goto(`${url}/login`);
    await page.fill('input[type="password"]', PASSWORD);
    await page.click('button[type="submit"]');
    await page.waitForURL(/\/(#.*)?$/);
    await page.goto(`${url}/#/cameras`);
    await page.waitForSelector('.tile[data-camera="test-pattern"][data-state="live"]');
    await sleep(3000);
    const painter = await page.evaluate(() => window.relaydeckTiles.get("test-pattern").painter.element.tagName.toLowerCase());
    const before = await page.evaluate(DRAWN.replace("return ", ""));
    const cpu = await sample(bpid);
    const drawn = ((await page.evaluate(DRAWN.replace("return ", ""))) - before) / DURATION;
    record(`Cameras, one live 640×480 15 fps tile (${painter}, ${drawn.toFixed(1)} frames drawn/s)`, "headless Chromium", cpu);
    await fetch(`${url}/api/settings`, { method: "PUT", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ testPattern: false }) });
    await sleep(3000);
    record("Cameras, nothing moving", "headless Chromium", await sample(bpid));
    await page.goto(`${url}/#/settings`);
    await sleep(3000);
    record("Settings, idle", "headless Chromium", await sample(bpid));
  } finally {
    await browser.close();
    relay.kill("SIGTERM");
    rmSync(home, { recursive: true, force: true });
  }
}

try {
  spawnGroup("Xvfb", [DISPLAY, "-screen", "0", "1280x800x24", "-nolisten", "tcp"], children);
  await sleep(1000);
  if (STARTUP_ONLY) {
    for (let i = 0; i < STARTUP_RUNS; i++) {
      const first = children.length;
      await desktop();
      await stopGroups(children.splice(first)); // the app and its driver, before the next launch
    }
  } else {
    if (!process.argv.includes("--no-desktop")) await desktop();
    if (!process.argv.includes("--no-chromium")) await chromium();
  }
  console.log(`\n| ${LABEL} | where | % of a core | by process |\n|---|---|---|---|`);
  for (const r of rows) console.log(`| ${r.scenario} | ${r.where} | ${r.total} | ${r.parts} |`);
} finally {
  await stopGroups(children, homes);
  for (const home of homes) {
    rmSync(home, { recursive: true, force: true });
  }
}
