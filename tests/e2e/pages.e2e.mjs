// Every page as a demanding user meets it, in Debian's Chromium against a
// real `relaydeck serve`: one test per behaviour, plus a walk through every
// page at desktop and phone size, light and dark, that fails on any console
// error and keeps a screenshot of each in tests/artifacts/.
// Run: node --test tests/e2e/pages.e2e.mjs (after `cargo build -p relaydeck` with ui/dist built)
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startRelay, until } from "./support.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const { chromium } = createRequire(path.join(root, "ui/package.json"))("playwright-core");
const bin = process.env.RELAYDECK_BIN ?? path.join(root, "target/debug/relaydeck");
const artifacts = path.join(root, "tests/artifacts");
mkdirSync(artifacts, { recursive: true });
const PASSWORD = "pages e2e password";
const basic = { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString("base64")}` };

let base, devkitPort, browser, dataDir;
const children = [];

async function startServer(args) {
  dataDir = mkdtempSync(path.join(tmpdir(), "relaydeck-pages-"));
  return startRelay(bin, ["serve", "--bind", "127.0.0.1:0", "--admin-password", PASSWORD, "--data-dir", dataDir, "--devkit-tcp-port", "0", "--devkit-udp-port", "0", ...args], children);
}

before(async () => {
  ({ base, devkitPort } = await startServer(["--test-pattern", "--status-interval", "1s"]));
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"],
  });
});

after(async () => {
  await browser?.close();
  for (const c of children) c.kill("SIGTERM");
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const shot = (page, name) => page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });

async function api(method, url, body) {
  const r = await fetch(`${base}${url}`, { method, headers: { ...basic, ...(body ? { "content-type": "application/json" } : {}) }, body: body ? JSON.stringify(body) : undefined });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}

/** A signed-in page that records every console error and uncaught exception. */
async function signedIn(context, hash = "") {
  const page = await context.newPage();
  page.errors = [];
  page.on("console", (m) => {
    if (m.type() === "error") page.errors.push(m.text());
  });
  page.on("pageerror", (e) => page.errors.push(String(e)));
  await page.goto(`${base}/login?next=${encodeURIComponent(`/${hash}`)}`);
  await page.fill("#password", PASSWORD);
  await page.click("button[type=submit]");
  await page.waitForSelector("#nav a[data-page=cameras]", { state: "attached" });
  return page;
}

async function liveTile(page, id) {
  await page.waitForFunction((id) => {
    const t = document.querySelector(`.tile[data-camera="${id}"]`);
    return t?.dataset.state === "live" && Number(t.dataset.fps) > 1;
  }, id, { timeout: 20000 });
  return page.locator(`.tile[data-camera="${id}"]`);
}

/** Sets a range input as a user dragging it would (an `input` event). */
async function setRange(page, css, value) {
  await page.locator(css).evaluate((el, v) => {
    el.value = String(v);
    el.dispatchEvent(new Event("input", { bubbles: true }));
  }, value);
}

async function viewersOf(id) {
  const { json } = await api("GET", "/api/clients");
  return json.clients.find((c) => c.id === id)?.viewers ?? 0;
}

function startSim(deviceId, token, extra = []) {
  const sim = spawn(bin, ["devkit-sim", "--server", `127.0.0.1:${devkitPort}`, "--device-id", deviceId, "--token", token, "--tone", "440", ...extra], { stdio: "ignore" });
  children.push(sim);
  return sim;
}

test("Cameras: a playing tile says live at once; Enlarge toggles and Esc restores; each camera shows its URLs with copy buttons", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, permissions: ["clipboard-read", "clipboard-write"] });
  const page = await signedIn(context);
  // From the first frame on, never "waiting".
  await page.waitForSelector('.tile[data-camera="test-pattern"]');
  const states = await page.evaluate(
    () =>
      new Promise((resolve) => {
        const tile = document.querySelector('.tile[data-camera="test-pattern"]');
        const painter = window.relaydeckTiles.get("test-pattern").painter;
        const seen = [];
        const check = () => seen.push({ state: tile.dataset.state, badge: tile.querySelector(".badge").textContent, picture: painter.drawn > 0 });
        new MutationObserver(check).observe(tile, { attributes: true, subtree: true, childList: true, characterData: true });
        check();
        setTimeout(() => resolve(seen), 3000);
      }),
  );
  assert.ok(states.some((s) => s.picture), "the picture arrived");
  for (const s of states.filter((s) => s.picture)) assert.equal(s.badge, "live", `a tile with a picture said ${JSON.stringify(s)}`);
  const tile = await liveTile(page, "test-pattern");
  await tile.locator("button", { hasText: "Enlarge" }).click();
  assert.equal(await tile.evaluate((t) => t.classList.contains("big")), true);
  assert.equal(await tile.locator(".actions button").first().textContent(), "Restore");
  await shot(page, "cameras-enlarged");
  await page.keyboard.press("Escape");
  assert.equal(await tile.evaluate((t) => t.classList.contains("big")), false, "Esc restores the grid");
  await tile.locator("button", { hasText: "Enlarge" }).click();
  await tile.locator("button", { hasText: "Restore" }).click();
  assert.equal(await tile.evaluate((t) => t.classList.contains("big")), false, "Enlarge toggles");
  // Double-click on the picture asks for full screen.
  await tile.locator(".picture").dblclick();
  await until("full screen", () => page.evaluate(() => document.fullscreenElement?.dataset.camera === "test-pattern"));
  await page.evaluate(() => document.exitFullscreen());
  // The camera's URLs, as go2rtc lists them, and each one copies.
  await tile.locator(".links summary").click();
  const urls = await tile.locator(".link-row code").allTextContents();
  assert.deepEqual(urls, [`${base}/api/clients/test-pattern/mjpeg`, `${base}/api/clients/test-pattern/latest`, `${base.replace("http", "ws")}/stream/ws?clientId=test-pattern`]);
  await tile.locator(".link-row button.copy").first().click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), urls[0]);
  const mjpeg = await fetch(urls[0], { headers: basic });
  assert.match(mjpeg.headers.get("content-type"), /multipart\/x-mixed-replace/);
  await mjpeg.body.cancel();
  assert.deepEqual(page.errors, []);
  await context.close();
});

test("Cameras: both painters (canvas, Chromium's default; <img>, WebKit's) draw every frame they get and only those", async () => {
  for (const [kind, tag] of [["canvas", "CANVAS"], ["img", "IMG"]]) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    if (kind === "img") await context.addInitScript(() => localStorage.setItem("relaydeck.cameras.painter", "img"));
    const page = await signedIn(context);
    const tile = await liveTile(page, "test-pattern");
    const picture = tile.locator(".picture");
    assert.equal(await picture.evaluate((el) => el.tagName), tag, `the ${kind} painter`);
    await until("the size in the facts", async () => /640×480/.test(await tile.locator(".facts").textContent()));
    const drawn = () => page.evaluate(() => window.relaydeckTiles.get("test-pattern").painter.drawn);
    const a = await drawn();
    const shot1 = await picture.screenshot();
    await sleep(2000);
    const b = await drawn();
    // The pattern runs at 15 fps: about 30 frames in 2 s, none drawn twice.
    assert.ok(b - a >= 10 && b - a <= 40, `${kind}: ${b - a} frames drawn in 2 s`);
    // The picture on screen changes too (a screenshot is a frame of its own: allow a few).
    await until(`${kind}: the picture to move`, async () => !shot1.equals(await picture.screenshot()), 10000);
    assert.deepEqual(page.errors, []);
    await context.close();
  }
});

test("Cameras: the layout (columns, order) is kept per browser", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await signedIn(context);
  await liveTile(page, "test-pattern");
  await page.selectOption("#grid-columns", "2");
  await page.selectOption("#grid-order", "name");
  await page.reload();
  await liveTile(page, "test-pattern");
  assert.equal(await page.inputValue("#grid-columns"), "2");
  assert.equal(await page.inputValue("#grid-order"), "name");
  const cols = await page.evaluate(() => getComputedStyle(document.querySelector("#camera-grid")).gridTemplateColumns.split(" ").length);
  assert.equal(cols, 2);
  await page.selectOption("#grid-columns", "auto");
  await context.close();
});

test("Cameras: an admin renames a camera and removes an offline one", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await signedIn(context);
  const tile = await liveTile(page, "test-pattern");
  await tile.locator("button.rename").click();
  await tile.locator('input[aria-label="camera name"]').fill("Bench pattern");
  await tile.locator('input[aria-label="camera name"]').press("Enter");
  await until("the new name", async () => (await tile.locator("header strong").textContent()) === "Bench pattern");
  assert.equal((await api("GET", "/api/clients/test-pattern")).json.name, "Bench pattern");
  // Another viewer is told at once.
  const other = await signedIn(context);
  await until("the other viewer's name", async () => (await other.locator('.tile[data-camera="test-pattern"] header strong').textContent().catch(() => "")) === "Bench pattern");
  await other.close();
  assert.equal((await api("PATCH", "/api/clients/test-pattern", { name: "" })).json.name, "Test pattern", "back to the publisher's name");
  // A camera published from this page for a moment, then gone: it can be removed.
  await page.evaluate(async () => {
    const jpeg = await (await fetch("/api/clients/test-pattern/latest")).arrayBuffer();
    const ws = new WebSocket(`ws://${location.host}/ws?clientId=door-cam`);
    await new Promise((r) => (ws.onopen = r));
    ws.send(jpeg);
    await new Promise((r) => setTimeout(r, 500));
    ws.close();
  });
  const door = page.locator('.tile[data-camera="door-cam"]');
  await page.waitForSelector('.tile[data-camera="door-cam"][data-state="offline"]', { timeout: 10000 });
  page.once("dialog", (d) => d.accept());
  await door.locator("button.remove").click();
  await door.waitFor({ state: "detached" });
  assert.equal((await api("GET", "/api/clients/door-cam")).status, 404);
  // The app's own source is turned off in Settings, not removed.
  const refused = await api("DELETE", "/api/clients/test-pattern");
  assert.equal(refused.status, 409);
  assert.match(refused.json.error.message, /turn it off in Settings/);
  assert.deepEqual(page.errors, []);
  await context.close();
});

test("Cameras: a hidden page closes its socket and draws nothing", async () => {
  // Headless Chromium keeps every page visible (minimised or behind another
  // tab), so the Page Visibility API is driven from the page here; the real
  // thing, a desktop window closed to the tray, is desktop.e2e.mjs.
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  await context.addInitScript(() => {
    Object.defineProperty(document, "hidden", { get: () => window.__hidden === true });
    Object.defineProperty(document, "visibilityState", { get: () => (window.__hidden ? "hidden" : "visible") });
  });
  const setHidden = (page, hidden) =>
    page.evaluate((hidden) => {
      window.__hidden = hidden;
      document.dispatchEvent(new Event("visibilitychange"));
    }, hidden);
  const page = await signedIn(context);
  await liveTile(page, "test-pattern");
  const before = await viewersOf("test-pattern");
  assert.ok(before >= 1);
  await setHidden(page, true);
  await until("the hidden page to stop watching", async () => (await viewersOf("test-pattern")) === before - 1);
  assert.match(await page.textContent("#conn-status"), /paused/);
  const framesDrawn = () => page.evaluate(() => window.relaydeckTiles.get("test-pattern").painter.drawn);
  const drawn = await framesDrawn();
  await sleep(1500);
  assert.equal(await framesDrawn(), drawn, "no new frame was drawn while hidden");
  await setHidden(page, false);
  await until("the page to watch again", async () => (await viewersOf("test-pattern")) === before);
  await liveTile(page, "test-pattern");
  assert.deepEqual(page.errors, []);
  await context.close();
});

test("Cameras: on a computer without a camera the host camera is not a tile; one line says why and points to Settings", async () => {
  assert.equal((await api("PUT", "/api/settings", { cameraEnabled: true })).status, 200);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await signedIn(context);
  await liveTile(page, "test-pattern");
  await page.waitForSelector("#host-camera-note:not([hidden])", { timeout: 20000 });
  assert.match(await page.textContent("#host-camera-note"), /not shown: no camera found on this computer/);
  assert.equal(await page.locator('.tile[data-camera="host-camera"]:visible').count(), 0, "no tile for a camera that does not exist");
  await shot(page, "cameras-no-host-camera");
  await page.click("#host-camera-note a");
  await page.waitForSelector("#camera-now");
  assert.match(await page.textContent("#camera-now"), /unavailable: no camera found/);
  assert.equal((await api("PUT", "/api/settings", { cameraEnabled: false })).status, 200);
  await context.close();
});

test("Devices: an added device appears at once with its ports and simulator command; a command's answer stays; a revoked one disappears", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const page = await signedIn(context, "#/devices");
  await page.waitForSelector("#add-device");
  assert.match(await page.textContent("#devkit-ports"), new RegExp(`this computer only \\(TCP 127\\.0\\.0\\.1:${devkitPort}.*Devkits on the network`));
  await page.fill('#add-device input[name="name"]', "Porch kit");
  await page.fill('#add-device input[name="deviceId"]', "porch-kit");
  await page.click("#add-device button[type=submit]");
  // Focus is still in the form: the list must update anyway.
  await page.waitForSelector('.device[data-device="porch-kit"]', { timeout: 3000 });
  const sim = await page.textContent("#sim-command code");
  // Ports on loopback: no QR code that would hand a board 127.0.0.1.
  assert.equal(await page.locator("#add-device .qr").count(), 0);
  assert.match(await page.textContent("#no-qr"), /cannot reach/);
  // Over TLS, pinned to the relay's certificate, by default.
  const m = sim.match(/^relaydeck devkit-sim --server 127\.0\.0\.1:(\d+) --device-id porch-kit --token (\S+) --tls-fingerprint ((?:[0-9A-F]{2}:){31}[0-9A-F]{2}) --tone 440$/);
  assert.ok(m, sim);
  assert.equal(Number(m[1]), devkitPort);
  const kit = startSim("porch-kit", m[2], ["--tls-fingerprint", m[3]]);
  await page.waitForSelector('.device[data-device="porch-kit"][data-state="online"]', { timeout: 20000 });
  assert.equal(await page.getAttribute('.device[data-device="porch-kit"]', "data-transport"), "tls");
  assert.match(await page.textContent('.device[data-device="porch-kit"] .facts'), /TLS \(token encrypted\)/);
  const card = page.locator('.device[data-device="porch-kit"]');
  await card.locator('input[aria-label="command name"]').fill("set_gain");
  await card.locator('input[aria-label="command arguments"]').fill('{"gain":6}');
  await card.locator("button[type=submit]").click();
  await until("the command's answer", async () => /acknowledged/.test(await card.locator(".cmd-result").textContent()));
  await sleep(4500); // two refreshes later
  assert.match(await card.locator(".cmd-result").textContent(), /set_gain: acknowledged/, "the answer is still there");
  assert.equal(await card.locator('input[aria-label="command name"]').inputValue(), "set_gain", "what was typed is still there");
  await shot(page, "devices-live");
  kit.kill("SIGTERM");
  page.once("dialog", (d) => d.accept());
  await card.locator("button.danger").click();
  await page.waitForSelector('.device[data-device="porch-kit"]', { state: "detached", timeout: 3000 });
  assert.deepEqual(page.errors, []);
  await context.close();
});

test("Settings: a wrong current password is answered in place, and the session and what was typed stay", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const page = await signedIn(context, "#/settings");
  await page.waitForSelector("#pw-current");
  await page.fill("#pw-current", "not the password");
  await page.fill("#pw-new", "a new password 123");
  await page.click("#pw-new >> xpath=ancestor::form//button[@type='submit']");
  await page.waitForSelector('#pw-current[aria-invalid="true"]');
  assert.match(page.url(), /#\/settings$/, "still on Settings, not sent to sign-in");
  assert.match(await page.textContent("#pw-new >> xpath=ancestor::form"), /current password is not right/);
  assert.equal(await page.inputValue("#pw-current"), "not the password");
  assert.equal(await page.inputValue("#pw-new"), "a new password 123");
  assert.equal((await page.request.get(`${base}/api/session`)).status(), 200, "the session is still there");
  await shot(page, "settings-wrong-password");
  await context.close();
});

test("Settings: Save stays in view, says Saved, and separately what waits for a restart; the port shows configured and actual", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 700 } });
  const page = await signedIn(context, "#/settings");
  await page.waitForSelector("#save-settings");
  // Scrolled to the top of a long form, Save is on screen.
  await page.evaluate(() => window.scrollTo(0, 0));
  const box = await page.locator("#save-settings").boundingBox();
  assert.ok(box && box.y >= 0 && box.y + box.height <= 700, `Save is visible: ${JSON.stringify(box)}`);
  const actual = Number(new URL(base).port);
  const configured = (await api("GET", "/api/settings")).json.settings.port;
  assert.notEqual(configured, actual);
  assert.match(await page.textContent('[data-running="port"]'), new RegExp(`Configured ${configured}; this run listens on port ${actual}`));
  await page.fill("#set-ringFrames", "40");
  assert.equal(await page.textContent("#save-state"), "Unsaved changes");
  await page.click("#save-settings");
  await until("Saved", async () => (await page.textContent("#save-state")) === "Saved");
  assert.doesNotMatch(await page.textContent("#restart-note"), /LAN access/);
  await page.check("#set-lanAccess");
  await page.click("#save-settings");
  await until("Saved", async () => (await page.textContent("#save-state")) === "Saved");
  assert.match(await page.textContent("#restart-note"), /next start of Relay Deck: .*LAN access/);
  await shot(page, "settings-saved");
  await page.uncheck("#set-lanAccess");
  await page.click("#save-settings");
  await until("LAN access no longer waits", async () => !/LAN access/.test(await page.textContent("#restart-note")));
  assert.deepEqual(page.errors, []);
  await context.close();
});

test("Listen: the jitter buffer applies live and is kept; volume and mute; a spectrum; an offline source waits without a growing delay", async () => {
  const { json: dev } = await api("POST", "/api/devices", { name: "Listen kit", deviceId: "listen-kit" });
  const kit = startSim("listen-kit", dev.token);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  // This app's own jitter buffer is the WebSocket player's (on loopback here;
  // WebRTC, which needs a LAN of the test's own, is in webrtc.e2e.mjs).
  await context.addInitScript(() => localStorage.setItem("relaydeck.listen.transport", "websocket"));
  const page = await signedIn(context, "#/listen");
  const row = page.locator('.source[data-source="listen-kit"]');
  await row.locator(".badge.live").waitFor({ timeout: 20000 });
  await setRange(page, "#jitter-ms", 600);
  await row.locator("button.play").click();
  await page.waitForFunction(() => document.querySelector('.source[data-source="listen-kit"]')?.dataset.state === "playing", null, { timeout: 20000 });
  const depth = () => page.evaluate(() => window.relaydeckPlayers.get("listen-kit").player.stats.depthMs);
  await until("a deep buffer", async () => (await depth()) > 450);
  // Lowered while playing: the buffer follows now.
  await setRange(page, "#jitter-ms", 100);
  await until("the buffer to follow the new target", async () => (await depth()) < 200, 5000);
  await page.reload();
  assert.equal(await page.inputValue("#jitter-ms"), "100", "the buffer setting is kept");
  await row.locator(".badge.live").waitFor({ timeout: 20000 });
  await row.locator("button.play").click();
  await page.waitForFunction(() => document.querySelector('.source[data-source="listen-kit"]')?.dataset.state === "playing", null, { timeout: 20000 });
  // The spectrum shows the tone.
  await sleep(800);
  const lit = await row.locator("canvas.spectrum").evaluate((c) => {
    const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    return n;
  });
  assert.ok(lit > 50, `the spectrum drew ${lit} pixels`);
  await shot(page, "listen-spectrum");
  // Mute, then volume: applied to the player's gain at once.
  await page.click("#mute");
  await until("muted", () => page.evaluate(() => window.relaydeckPlayers.get("listen-kit").player.gain?.gain.value < 0.01));
  assert.equal(await page.textContent("#mute"), "Unmute");
  await page.click("#mute");
  await setRange(page, "#volume", 50);
  await until("half volume", () => page.evaluate(() => Math.abs(window.relaydeckPlayers.get("listen-kit").player.gain?.gain.value - 0.5) < 0.05));
  // The devkit goes away: "offline, waiting", and no delay figure that grows.
  kit.kill("SIGTERM");
  await until("offline, waiting", async () => /offline, waiting/.test(await row.locator(".facts").textContent()), 20000);
  const a = await row.locator(".facts").textContent();
  await sleep(2500);
  const b = await row.locator(".facts").textContent();
  assert.doesNotMatch(b, /delay \d+ ms/, b);
  assert.equal(a.replace(/underruns \d+/, ""), b.replace(/underruns \d+/, ""), "nothing grows while it waits");
  await shot(page, "listen-offline");
  assert.deepEqual(page.errors, []);
  await context.close();
});

test("Share: view links include audio sources; a phone gets no QR code for a loopback address; copy; revoking asks first; a revoked link says so", async () => {
  const { json: dev } = await api("POST", "/api/devices", { name: "Share kit", deviceId: "share-kit" });
  const kit = startSim("share-kit", dev.token);
  await until("the share kit on air", async () => (await api("GET", "/api/sources")).json.sources.some((s) => s.id === "share-kit" && s.online));
  const admin = await browser.newContext({ viewport: { width: 1280, height: 1000 }, permissions: ["clipboard-read", "clipboard-write"] });
  const page = await signedIn(admin, "#/share");
  await page.waitForSelector('#link-choices input[value="share-kit"]');
  // Only the audio source.
  for (const box of await page.locator("#link-choices input").all()) if ((await box.getAttribute("value")) !== "share-kit") await box.uncheck();
  await page.fill('#view-link input[placeholder="Who is it for?"]', "Neighbour");
  await page.click("#view-link button[type=submit]");
  await page.waitForSelector("#new-link #share-link");
  const shown = await page.inputValue("#share-link");
  // This relay listens on 127.0.0.1 only: no QR code, and the page says why and what to do.
  assert.equal(await page.locator("#new-link svg").count(), 0);
  assert.match(await page.textContent("#new-link"), /phone cannot open this link.*Turn on LAN access/);
  await page.locator("#new-link button.copy").first().click();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), shown);
  await page.locator("#new-link button.copy").nth(1).click();
  const token = await page.evaluate(() => navigator.clipboard.readText());
  assert.equal(new URL(shown).searchParams.get("token"), token);
  await shot(page, "share-audio-link");
  // The neighbour's browser: the Listen page plays it, and points to no page it cannot open.
  const guest = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const g = await guest.newPage();
  await g.goto(`${base}/?token=${token}#/listen`);
  const row = g.locator('.source[data-source="share-kit"]');
  await row.locator(".badge.live").waitFor({ timeout: 20000 });
  await row.locator("button.play").click();
  await g.waitForFunction(() => document.querySelector('.source[data-source="share-kit"]')?.dataset.state === "playing", null, { timeout: 20000 });
  const pages = await g.locator("#nav a").evaluateAll((as) => as.map((a) => a.dataset.page));
  const hrefs = await g.locator("main a[href*='#/']").evaluateAll((as) => as.map((a) => a.getAttribute("href")));
  for (const h of hrefs) assert.ok(pages.some((p) => h.endsWith(`#/${p}`)), `a link to a page this link cannot open: ${h}`);
  assert.doesNotMatch(await g.textContent("main"), /Devices page/);
  await shot(g, "share-neighbour-listen");
  // Revoking asks first: dismissed, nothing happens; accepted, the link is gone.
  const item = page.locator("#tokens li", { hasText: "Neighbour" });
  page.once("dialog", (d) => d.dismiss());
  await item.locator("button.danger").click();
  await sleep(500);
  assert.equal(await item.count(), 1, "dismissing keeps the link");
  page.once("dialog", (d) => d.accept());
  await item.locator("button.danger").click();
  await item.waitFor({ state: "detached" });
  // The neighbour opens the link again: it says the link ended, not "admin password".
  await g.goto(`${base}/?token=${token}#/listen`);
  await g.waitForSelector("#link-ended:not([hidden])");
  assert.match(await g.textContent("#link-ended"), /revoked or has expired/);
  assert.equal(await g.isVisible("#password"), false);
  await shot(g, "share-link-ended");
  kit.kill("SIGTERM");
  await guest.close();
  await admin.close();
});

test("Share: a metrics token for Prometheus, with its scrape job; it reads /metrics and nothing else", async () => {
  const admin = await browser.newContext({ viewport: { width: 1280, height: 1100 } });
  const page = await signedIn(admin, "#/share");
  await page.fill("#metrics-token input", "prometheus-lab");
  await page.click("#metrics-token button[type=submit]");
  await page.waitForSelector("#new-link #scrape-config");
  const token = await page.inputValue("#share-token");
  const job = await page.textContent("#scrape-config");
  assert.ok(job.includes(`credentials: ${token}`) && job.includes(new URL(base).host), job);
  assert.equal(await page.locator("#new-link #share-link").count(), 0, "no page to open with it");
  assert.match(await page.textContent("#tokens"), /prometheus-lab · metrics · \/metrics only/);
  assert.doesNotMatch(await page.textContent("#new-link"), /private window/);
  await shot(page, "share-metrics-token");
  const metrics = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(metrics.status, 200);
  assert.match(metrics.headers.get("content-type"), /^text\/plain; version=0\.0\.4/);
  assert.match(await metrics.text(), /^relaydeck_build_info\{version="/m);
  for (const path of ["/api/clients", "/api/settings"]) {
    const r = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 403, path);
  }
  await admin.close();
});

test("API: every route of the OpenAPI document, with its access, parameters and answers; a schema opens from where it is named; the filter narrows", async () => {
  const doc = await (await fetch(`${base}/api/openapi.json`)).json();
  const operations = Object.values(doc.paths).reduce((n, item) => n + Object.keys(item).length, 0);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await signedIn(context, "#/api");
  await page.waitForSelector(".api-op");
  assert.equal(await page.locator(".api-area:not(#api-schemas) .api-op").count(), operations, "one entry per operation");
  const op = page.locator("#op-getApiClientsId");
  await op.locator("summary").click();
  assert.match(await op.textContent(), /GET\s*\/api\/clients\/\{id\}.*view/s);
  assert.match(await op.locator(".api-table").textContent(), /id.*path.*string/s);
  assert.match(await op.locator('li[data-status="200"]').textContent(), /200 The camera → Camera/);
  assert.match(await op.locator('li[data-status="404"]').textContent(), /ApiErrorBody/);
  await op.locator('li[data-status="200"] .api-ref').click();
  await page.waitForFunction(() => document.querySelector("#schema-Camera")?.open === true);
  assert.match(await page.textContent("#schema-Camera"), /clientId.*string/s);
  await shot(page, "api-operation-and-schema");
  await page.fill("#api-filter", "whep");
  const shown = await page.locator(".api-area:not(#api-schemas) .api-op:visible").count();
  assert.equal(shown, 3, "POST, DELETE and PATCH of WHEP");
  assert.deepEqual(page.errors, []);
  await context.close();
});

test("Status: charts of the server's own history, per camera too; a page opened late shows what came before it", async () => {
  // Somebody watches the test pattern (so it sends), and the server samples before any page asks.
  const watching = new AbortController();
  const mjpeg = await fetch(`${base}/api/clients/test-pattern/mjpeg`, { headers: basic, signal: watching.signal });
  const reader = mjpeg.body.getReader();
  void (async () => {
    try {
      while (!(await reader.read()).done);
    } catch {}
  })();
  await until("samples of frames going in and out", async () => {
    const s = (await api("GET", "/api/status/history")).json.samples;
    return s.length >= 3 && s[s.length - 1].framesOut > s[s.length - 3].framesOut;
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const page = await signedIn(context, "#/status");
  await page.waitForSelector("#status-charts figure");
  const drawn = async (title, series) =>
    page.evaluate(
      ([title, series]) => {
        const fig = [...document.querySelectorAll("#status-charts figure")].find((f) => f.querySelector("figcaption")?.textContent === title);
        return fig?.querySelector(`path[data-series="${series}"]`)?.getAttribute("d") ?? null;
      },
      [title, series],
    );
  // At once: the frames the test pattern sent before the page opened are a line of several points.
  const d = await drawn("Frames per second, all cameras", "in");
  assert.ok(d && (d.match(/L/g) ?? []).length >= 1, `the frames-in line: ${d}`);
  assert.ok(await drawn("Camera test-pattern", "in"), "a chart per camera");
  const legend = await page.textContent("#status-charts figure .legend");
  assert.match(legend, /in [1-9][\d.]*\/s\s*out [1-9][\d.]*\/s/, legend);
  assert.match(await page.textContent("#status-charts"), /viewers 1/, "the MJPEG viewer");
  // New samples arrive without reloading: the line grows.
  const before = (d.match(/[ML]/g) ?? []).length;
  await page.waitForFunction(
    (n) => ((document.querySelector('#status-charts figure path[data-series="in"]')?.getAttribute("d") ?? "").match(/[ML]/g) ?? []).length > n,
    before,
    { timeout: 10000 },
  );
  assert.match(await page.textContent("#status-head"), /a sample every 1 s/);
  await shot(page, "status");
  assert.deepEqual(page.errors, []);
  watching.abort();
  await context.close();
});

test("on a phone the navigation folds into a menu", async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const page = await signedIn(context);
  assert.equal(await page.isVisible("#nav"), false);
  assert.equal(await page.isVisible("#menu"), true);
  await page.click("#menu");
  await page.waitForSelector("#nav a[data-page=settings]", { state: "visible" });
  await shot(page, "phone-menu");
  await page.click("#nav a[data-page=settings]");
  await page.waitForFunction(() => location.hash === "#/settings");
  assert.equal(await page.isVisible("#nav"), false, "choosing a page folds the menu");
  await context.close();
});

test("every page, desktop and phone, light and dark: no console errors, ID fields really check, a screenshot of each", async () => {
  assert.equal((await api("PUT", "/api/settings", { theme: "system" })).status, 200);
  const pages = ["cameras", "listen", "library", "devices", "capture", "share", "status", "api", "settings"];
  for (const [size, viewport] of [["desktop", { width: 1280, height: 900 }], ["phone", { width: 390, height: 844 }]]) {
    for (const scheme of ["light", "dark"]) {
      const context = await browser.newContext({ viewport, colorScheme: scheme, ...(size === "phone" ? { isMobile: true, hasTouch: true, deviceScaleFactor: 2 } : {}) });
      const page = await signedIn(context);
      for (const name of pages) {
        await page.goto(`${base}/#/${name}`);
        await page.waitForFunction((name) => document.querySelector(".page-title")?.textContent?.toLowerCase() === name, name);
        await sleep(name === "cameras" ? 1500 : 700);
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `${name} (${size}) is ${overflow}px wider than the screen`);
        await shot(page, `page-${name}-${size}-${scheme}`);
      }
      // A browser is not the desktop app: Settings do not offer to start it at login.
      await page.goto(`${base}/#/settings`);
      await page.waitForSelector("#set-port");
      assert.equal(await page.locator("#set-startAtLogin").count(), 0, "no start-at-login in a browser");
      // The pairing page stands apart (its own entry, /pair).
      await page.goto(`${base}/pair`);
      await page.waitForSelector("#pair-start");
      await sleep(500);
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `pair (${size}) is ${overflow}px wider than the screen`);
      await shot(page, `page-pair-${size}-${scheme}`);
      assert.deepEqual(page.errors, [], `console errors (${size}, ${scheme})`);
      await context.close();
    }
  }
  // The ID fields' pattern compiles in the browser, so it really checks.
  const context = await browser.newContext();
  const page = await signedIn(context, "#/devices");
  const field = page.locator('#add-device input[name="deviceId"]');
  await field.fill("a b");
  assert.equal(await field.evaluate((f) => f.validity.patternMismatch), true);
  await field.fill("kitchen-1");
  assert.equal(await field.evaluate((f) => f.validity.valid), true);
  await context.close();
});
