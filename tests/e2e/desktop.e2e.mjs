// The desktop app itself, under Xvfb: the window opens signed in on the
// Cameras page showing the test pattern (an X screenshot and a WebDriver
// screenshot are kept), and a WebDriver session through tauri-driver and
// WebKitWebDriver clicks through every page inside the real webview.
// Needs: Xvfb, dbus-run-session, tauri-driver, WebKitWebDriver, ImageMagick.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { closeWindow, shownWindows } from "./x11.mjs";
import { spawnGroup, stopGroups, until } from "./support.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const bin = process.env.RELAYDECK_DESKTOP_BIN ?? path.join(root, "target/debug/relaydeck");
const artifacts = path.join(root, "tests/artifacts");
mkdirSync(artifacts, { recursive: true });
const DISPLAY = process.env.E2E_DISPLAY ?? ":97";
const DRIVER_PORT = 4447;
const children = [];
let home;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A minimal W3C WebDriver client over HTTP.
const wd = {
  async call(method, url, body) {
    const r = await fetch(`http://127.0.0.1:${DRIVER_PORT}${url}`, { method, headers: { "content-type": "application/json" }, body: body ? JSON.stringify(body) : undefined, signal: AbortSignal.timeout(60000) });
    const v = await r.json();
    if (!r.ok) throw new Error(`${method} ${url}: ${JSON.stringify(v.value)}`);
    return v.value;
  },
  script(sid, script, args = []) {
    return this.call("POST", `/session/${sid}/execute/sync`, { script, args });
  },
  async click(sid, css) {
    const el = await this.call("POST", `/session/${sid}/element`, { using: "css selector", value: css });
    await this.call("POST", `/session/${sid}/element/${Object.values(el)[0]}/click`, {});
  },
};

before(() => {
  home = mkdtempSync(path.join(tmpdir(), "relaydeck-desktop-"));
  spawnGroup("Xvfb", [DISPLAY, "-screen", "0", "1280x800x24", "-nolisten", "tcp"], children);
});

after(async () => {
  await stopGroups(children, [home]);
  try {
    rmSync(home, { recursive: true, force: true });
  } catch (e) {
    console.warn(`leaving ${home}: ${e.message}`);
  }
});

const PASSWORD = "desktop e2e password";
const auth = { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString("base64")}` };

function appEnv(port) {
  return { DISPLAY, HOME: home, XDG_DATA_HOME: path.join(home, "data"), RELAYDECK_ADMIN_PASSWORD: PASSWORD, RELAYDECK_BIND: `127.0.0.1:${port}`, RELAYDECK_DEVKIT_TCP_PORT: "0", RELAYDECK_DEVKIT_UDP_PORT: "0", RUST_LOG: "info" };
}

/** The test pattern's viewer count, read as admin. */
async function viewers(base) {
  const r = await fetch(`${base}/api/clients`, { headers: auth });
  if (!r.ok) return 0;
  const { clients } = await r.json();
  return clients.find((c) => c.id === "test-pattern")?.viewers ?? 0;
}

test("the window opens signed in on the Cameras page with the test pattern, and SIGTERM stops it cleanly", async () => {
  await sleep(1000);
  // Another program holds the configured port: the app must take the next one.
  const squatter = (await import("node:net")).createServer((s) => s.end("HTTP/1.1 200 OK\r\n\r\nnot relay deck")).listen(3917, "127.0.0.1");
  await new Promise((r) => squatter.once("listening", r));
  const app = spawnGroup("dbus-run-session", ["--", bin], children, appEnv(3917));
  const base = "http://127.0.0.1:3918";
  await until("the relay on the next free port", async () => (await fetch(`${base}/api/health`)).ok);
  assert.match(app.log, /Port 3917 was in use/);
  // The window signed itself in (bootstrap code) and its grid watches the camera.
  await until("the window to watch the test pattern", async () => (await viewers(base)) >= 1, 45000);
  await sleep(2500);
  execFileSync("import", ["-display", DISPLAY, "-window", "root", path.join(artifacts, "desktop-window.png")]);
  // A settings change is persisted in the file headless `serve` reads (tauri-plugin-store reads it;
  // the relay's own writer writes it: private, atomic).
  const put = await fetch(`${base}/api/settings`, { method: "PUT", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ theme: "dark", audioBufferMs: 200 }) });
  assert.equal(put.status, 200);
  const stored = await until("settings.json", () => {
    try {
      return JSON.parse(readFileSync(path.join(home, "data/app.relaydeck.desktop/settings.json"), "utf8"));
    } catch {
      return null;
    }
  });
  assert.equal(stored.theme, "dark");
  assert.equal(stored.audioBufferMs, 200);
  assert.equal(stored.testPattern, true);
  const dataDir = path.join(home, "data/app.relaydeck.desktop");
  assert.equal(statSync(path.join(dataDir, "settings.json")).mode & 0o777, 0o600, "settings.json is private");
  assert.equal(statSync(path.join(dataDir, "auth.json")).mode & 0o777, 0o600, "auth.json is private");
  assert.equal(statSync(dataDir).mode & 0o777, 0o700, "the data directory is private");
  // Start at login: the setting makes the XDG autostart entry (the app hidden in the tray), and unmakes it.
  const entry = path.join(home, ".config/autostart/Relay Deck.desktop");
  const startAtLogin = (on) => fetch(`${base}/api/settings`, { method: "PUT", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ startAtLogin: on }) });
  assert.equal((await startAtLogin(true)).status, 200);
  const desktopEntry = await until("the autostart entry", () => (existsSync(entry) ? readFileSync(entry, "utf8") : null), 10000);
  assert.ok(desktopEntry.split("\n").includes(`Exec=${realpathSync(bin)} --hidden`), desktopEntry);
  assert.equal((await startAtLogin(false)).status, 200);
  await until("the autostart entry to go", () => !existsSync(entry), 10000);
  squatter.close();
  // SIGTERM to the app itself (dbus-run-session is only its parent).
  const pid = execFileSync("pgrep", ["-P", String(app.pid), "-x", "relaydeck"]).toString().trim();
  // Closing the window keeps the relay running in the tray, and the hidden
  // page stops watching (it draws nothing, and the camera is not held for it).
  assert.equal(closeWindow(DISPLAY), 1, "one Relay Deck window to close");
  await until("the hidden window to stop watching", async () => (await viewers(base)) === 0, 20000);
  assert.ok((await fetch(`${base}/api/health`)).ok, "the relay keeps running");
  assert.match(app.log, /closed to the tray/);
  // Launching the app again (same desktop session) shows the window, which watches again.
  const bus = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").find((v) => v.startsWith("DBUS_SESSION_BUS_ADDRESS="));
  const again = spawnGroup(bin, [], children, { ...appEnv(3917), DBUS_SESSION_BUS_ADDRESS: bus.split("=").slice(1).join("=") });
  await until("the second launch to return", () => again.exitCode !== null, 30000);
  await until("the shown window to watch again", async () => (await viewers(base)) >= 1, 20000);
  process.kill(Number(pid), "SIGTERM");
  await until("the app to quit on SIGTERM", () => app.exitCode !== null || app.signalCode !== null, 20000);
  assert.match(app.log, /relay stopped/, `the relay stops cleanly on SIGTERM:\n${app.log}`);
  // Window size and position are remembered for the next start.
  const state = JSON.parse(readFileSync(path.join(home, ".config/app.relaydeck.desktop/.window-state.json"), "utf8"));
  assert.ok(state.main?.width > 0 && state.main?.height > 0, JSON.stringify(state));

});

test("WebDriver clicks through every page inside the real webview", async () => {
  const driver = spawnGroup("dbus-run-session", ["--", "tauri-driver", "--port", String(DRIVER_PORT)], children, appEnv(3927));
  await until("tauri-driver", async () => (await fetch(`http://127.0.0.1:${DRIVER_PORT}/status`)).ok);
  const session = await wd.call("POST", "/session", { capabilities: { alwaysMatch: { browserName: "wry", "tauri:options": { application: bin } } } });
  const sid = session.sessionId;
  try {
    await until("the signed-in grid with a live test pattern", () =>
      wd.script(sid, `const t = document.querySelector('.tile[data-camera="test-pattern"]'); return !!t && t.dataset.state === "live" && Number(t.dataset.fps) > 1;`), 45000);
    const shot = await wd.call("GET", `/session/${sid}/screenshot`);
    writeFileSync(path.join(artifacts, "desktop-webview-cameras.png"), Buffer.from(shot, "base64"));
    const pages = await wd.script(sid, `return [...document.querySelectorAll("#nav a")].map(a => a.dataset.page);`);
    assert.deepEqual(pages, ["cameras", "listen", "library", "devices", "capture", "share", "status", "api", "settings"]);
    for (const page of pages) {
      await wd.click(sid, `#nav a[data-page="${page}"]`);
      const title = await until(`the ${page} page`, () => wd.script(sid, 'return location.hash === "#/" + arguments[0] && document.querySelector(".page-title")?.textContent;', [page]));
      assert.equal(title.toLowerCase(), page);
      await sleep(1500);
      // The X server's picture of the window (WebKitWebDriver's own screenshot
      // stalls after a click when WebKit paints without compositing, as it
      // does here without a GPU; the first one above works).
      execFileSync("import", ["-display", DISPLAY, "-window", "root", path.join(artifacts, `desktop-webview-${page}.png`)]);
      // Only the desktop app starts at login: its Settings offer it.
      if (page === "settings") assert.equal(await wd.script(sid, `return !!document.querySelector("#set-startAtLogin");`), true, "start at login in the window's Settings");
    }
    // Listen in the window: a devkit's tone plays, and the page says over which
    // transport (WebRTC where this WebKitGTK has it, else WebSocket PCM).
    const base = "http://127.0.0.1:3927";
    const made = await (await fetch(`${base}/api/devices`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ name: "Desk kit", deviceId: "desk-kit" }) })).json();
    spawnGroup(bin, ["devkit-sim", "--server", `127.0.0.1:${made.tcpPort}`, "--device-id", "desk-kit", "--token", made.token, "--tone", "440"], children);
    await wd.click(sid, '#nav a[data-page="listen"]');
    await until("the devkit live on Listen", () => wd.script(sid, `return !!document.querySelector('.source[data-source="desk-kit"] .badge.live');`), 30000);
    await wd.click(sid, '.source[data-source="desk-kit"] button.play');
    const played = await until("the window to play the devkit", () => wd.script(sid, `const r = document.querySelector('.source[data-source="desk-kit"]'); return r?.dataset.state === "playing" && { transport: r.dataset.transport, msg: r.querySelector(".player-msg").textContent, facts: r.querySelector(".facts").textContent, rtc: typeof RTCPeerConnection, hz: window.relaydeckPlayers.get("desk-kit").player.peakHz() };`), 30000);
    console.log(`the desktop window plays over ${played.transport} (RTCPeerConnection: ${played.rtc}); ${played.facts} ${played.msg}`);
    assert.ok(["webrtc", "websocket"].includes(played.transport), JSON.stringify(played));
    if (played.rtc === "undefined") assert.equal(played.transport, "websocket", "no WebRTC in this webview: WebSocket PCM");
    if (played.transport !== "webrtc" && played.rtc !== "undefined") assert.match(played.msg, /^WebRTC did not work \(.+\); playing over WebSocket · PCM instead/, "the page says why WebRTC is not playing");
    assert.match(played.facts, played.transport === "webrtc" ? /^WebRTC · Opus · playing/ : /^WebSocket · PCM · playing/);
    await sleep(1000);
    execFileSync("import", ["-display", DISPLAY, "-window", "root", path.join(artifacts, "desktop-webview-listen-playing.png")]);
    await wd.click(sid, '.source[data-source="desk-kit"] button.play');
    // The shell's own commands answer the page inside the window (and only there).
    const info = await wd.call("POST", `/session/${sid}/execute/async`, { script: "const done = arguments[arguments.length - 1]; window.__TAURI_INTERNALS__.invoke('desktop_info').then(done, (e) => done({ error: String(e) }));", args: [] });
    assert.equal(info.baseUrl, "http://127.0.0.1:3927", JSON.stringify(info));
    assert.match(info.dataDir, /app\.relaydeck\.desktop$/);
    await wd.click(sid, '#nav a[data-page="share"]');
    await wd.click(sid, "#copy-lan");
    const said = await until("the copy answer", () => wd.script(sid, `return document.querySelector("#copy-lan + span")?.textContent;`));
    assert.match(said, /LAN access/, "with LAN access off there is no LAN URL to copy, and the app says why");
    // Pairing in the window goes through the app's own Bluetooth (the webview has no Web
    // Bluetooth); this machine has no radio, and the page says so instead of failing silently.
    await wd.call("POST", `/session/${sid}/url`, { url: "http://127.0.0.1:3927/pair" });
    await until("the pairing page", () => wd.script(sid, `return !!document.querySelector("#pair-start") && !document.querySelector("#pair-start").disabled;`));
    await wd.click(sid, "#pair-start");
    const noRadio = await until("the native Bluetooth's answer", () => wd.script(sid, `const m = document.querySelector("#pair-message")?.textContent ?? ""; return !/Looking for boards/.test(m) && m;`), 30000);
    assert.match(noRadio, /(not available on this computer|no Bluetooth adapter).*"Pair with your phone".*\/pair.*Chrome or Edge/, noRadio);
    // The phone path is offered first in the window (it has no Web Bluetooth).
    assert.equal(await wd.script(sid, `const c = document.querySelector("#phone-card"); return !!c && !!c.querySelector("#phone-start") && !!(c.compareDocumentPosition(document.querySelector("#pair-here")) & Node.DOCUMENT_POSITION_FOLLOWING);`), true);
    execFileSync("import", ["-display", DISPLAY, "-window", "root", path.join(artifacts, "desktop-webview-pair.png")]);
    await wd.call("POST", `/session/${sid}/url`, { url: "http://127.0.0.1:3927/" });
    await until("the grid again", () => wd.script(sid, `return !!document.querySelector("#nav a[data-page=share]");`));
    const theme = await wd.script(sid, `return document.documentElement.dataset.theme;`);
    assert.ok(["system", "light", "dark"].includes(theme));
    // A page of another local program (another port on 127.0.0.1) gets no shell commands:
    // the capability names the relay's own origin only.
    const other = createServer((_, res) => res.end("<!doctype html><title>another program</title><p>not the relay</p>"));
    await new Promise((ok) => other.listen(0, "127.0.0.1", ok));
    try {
      await wd.call("POST", `/session/${sid}/url`, { url: `http://127.0.0.1:${other.address().port}/` });
      await until("the other page", () => wd.script(sid, `return document.title === "another program";`));
      const refused = await wd.call("POST", `/session/${sid}/execute/async`, {
        script: "const done = arguments[arguments.length - 1]; const ipc = window.__TAURI_INTERNALS__; if (!ipc) done({ error: 'no IPC on this page' }); else ipc.invoke('desktop_info').then((v) => done({ ok: v }), (e) => done({ error: String(e) }));",
        args: [],
      });
      assert.ok(refused.error && !refused.ok, `another origin may not call desktop_info: ${JSON.stringify(refused)}`);
    } finally {
      other.close();
    }
  } finally {
    await wd.call("DELETE", `/session/${sid}`).catch(() => {});
  }
});

test("started at login (--hidden), the app runs in the tray with no window shown and nothing watched, until it is opened", async () => {
  const app = spawnGroup("dbus-run-session", ["--", bin, "--hidden"], children, appEnv(3947));
  const base = "http://127.0.0.1:3947";
  await until("the relay", async () => (await fetch(`${base}/api/health`)).ok, 45000);
  await sleep(5000); // long enough for a shown window to sign in and watch
  assert.equal(shownWindows(DISPLAY), 0, "no window shown");
  assert.equal(await viewers(base), 0, "the hidden page watches nothing");
  // Launching the app (its menu entry) opens the window.
  const pid = execFileSync("pgrep", ["-P", String(app.pid), "-x", "relaydeck"]).toString().trim();
  const bus = readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").find((v) => v.startsWith("DBUS_SESSION_BUS_ADDRESS="));
  const again = spawnGroup(bin, [], children, { ...appEnv(3947), DBUS_SESSION_BUS_ADDRESS: bus.split("=").slice(1).join("=") });
  await until("the second launch to return", () => again.exitCode !== null, 30000);
  await until("the window shown", () => shownWindows(DISPLAY) === 1, 20000);
  await until("the shown window to watch", async () => (await viewers(base)) >= 1, 30000);
  process.kill(Number(pid), "SIGTERM");
  await until("the app to quit", () => app.exitCode !== null || app.signalCode !== null, 20000);
});

test("a second launch shows the running window instead of starting another relay", async () => {
  // Both launches share one D-Bus session, as on a desktop.
  const script = `"${bin}" & first=$!; sleep 8; "${bin}"; echo "SECOND_EXIT=$?"; wait $first`;
  const session = spawnGroup("dbus-run-session", ["--", "sh", "-c", script], children, appEnv(3937));
  const base = "http://127.0.0.1:3937";
  await until("the first instance's relay", async () => (await fetch(`${base}/api/health`)).ok);
  await until("the second launch to return", () => /SECOND_EXIT=\d+/.test(session.log), 30000);
  assert.match(session.log, /SECOND_EXIT=0/);
  assert.equal((session.log.match(/relay running/g) ?? []).length, 1, `one relay only:\n${session.log}`);
  assert.ok((await fetch(`${base}/api/health`)).ok, "the first instance still serves");
  const pid = execFileSync("pgrep", ["-f", "-n", `^${bin}$`]).toString().trim();
  process.kill(Number(pid), "SIGTERM");
  await until("the first instance to quit", () => session.exitCode !== null || session.signalCode !== null, 20000);
});

test("with HTTPS on, the window trusts its own relay's certificate and shows the live grid", async () => {
  // This process talks only to its own relay here; its certificate is self-signed.
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
  const app = spawnGroup("dbus-run-session", ["--", bin], children, { ...appEnv(3947), RELAYDECK_TLS: "true" });
  const base = "https://127.0.0.1:3947";
  await until("the relay over HTTPS", async () => (await fetch(`${base}/api/health`)).ok);
  await until("the window to watch the test pattern over WSS", async () => (await viewers(base)) >= 1, 45000);
  await sleep(2000);
  execFileSync("import", ["-display", DISPLAY, "-window", "root", path.join(artifacts, "desktop-window-https.png")]);
  const pid = execFileSync("pgrep", ["-P", String(app.pid), "-x", "relaydeck"]).toString().trim();
  process.kill(Number(pid), "SIGTERM");
  await until("the app to quit", () => app.exitCode !== null || app.signalCode !== null, 20000);
});
