// End-to-end tests of the web UI in a real browser (Debian's Chromium driven
// by playwright-core) against a real `relaydeck serve`: sign-in, the live grid,
// browser capture with Chromium's fake camera and microphone, the audio player
// hearing a devkit's tone, sharing, sign-out and a phone-sized screen.
// Run: node --test tests/e2e/   (after `cargo build -p relaydeck` with ui/dist built)
// Screenshots go to tests/artifacts/.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createLan } from "./lan.mjs";
import { startRelay } from "./support.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const { chromium } = createRequire(path.join(root, "ui/package.json"))("playwright-core");
const bin = process.env.RELAYDECK_BIN ?? path.join(root, "target/debug/relaydeck");
const artifacts = path.join(root, "tests/artifacts");
mkdirSync(artifacts, { recursive: true });
const PASSWORD = "e2e password 1234";

let server, base, devkitPort, browser, dataDir;
const children = [];

async function startServer() {
  dataDir = mkdtempSync(path.join(tmpdir(), "relaydeck-e2e-"));
  return startRelay(bin, ["serve", "--bind", "127.0.0.1:0", "--test-pattern", "--admin-password", PASSWORD, "--data-dir", dataDir, "--devkit-tcp-port", "0", "--devkit-udp-port", "0"], children);
}

before(async () => {
  ({ child: server, base, devkitPort } = await startServer());
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", "--autoplay-policy=no-user-gesture-required"],
  });
});

after(async () => {
  await browser?.close();
  await lanChromium?.close();
  lan?.close();
  for (const c of children) c.kill("SIGTERM");
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** Submits the settings form and waits for the relay's answer. */
async function save(page) {
  const [resp] = await Promise.all([page.waitForResponse((r) => r.url().endsWith("/api/settings") && r.request().method() === "PUT"), page.click("#settings-form button[type=submit]")]);
  assert.equal(resp.status(), 200, await resp.text());
}

async function until(f, ms = 15000) {
  const end = Date.now() + ms;
  while (!(await f())) {
    assert.ok(Date.now() < end, "timed out");
    await new Promise((r) => setTimeout(r, 200));
  }
}

// "Another machine on the network": a namespace of the test's own (lan.mjs),
// with its own relay and its own Chromium, made when a test first needs it.
let lan = null;
let lanChromium = null;
const lanBrowser = () => lanChromium;
async function lanRelay(extra, bind = "0.0.0.0:0") {
  if (!lan) {
    lan = createLan();
    lanChromium = await chromium.launch({ executablePath: lan.chromium, args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", "--autoplay-policy=no-user-gesture-required"] });
  }
  const dir = mkdtempSync(path.join(tmpdir(), "relaydeck-e2e-lan-"));
  const [cmd, args] = lan.command(bin, ["serve", "--bind", bind, "--admin-password", PASSWORD, "--data-dir", dir, "--devkit-tcp-port", "0", "--devkit-udp-port", "0", ...extra]);
  const relay = await startRelay(cmd, args, children);
  return { base: `${relay.scheme}://${lan.relayIp}:${relay.port}`, local: `${relay.scheme}://127.0.0.1:${relay.port}`, devkitPort: relay.devkitPort };
}

/** An admin API call made by `page` itself (same origin), for relays only its browser can reach. */
async function inPage(page, method, url, body) {
  return page.evaluate(
    async ([method, url, body, auth]) => {
      const r = await fetch(url, { method, headers: { authorization: auth, ...(body ? { "content-type": "application/json" } : {}) }, body: body ? JSON.stringify(body) : undefined });
      return { status: r.status, json: await r.json() };
    },
    [method, url, body, `Basic ${btoa(`admin:${PASSWORD}`)}`],
  );
}

const shot = (page, name) => page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });

async function signedIn(context) {
  const page = await context.newPage();
  await page.goto(`${base}/`);
  await page.fill("#password", PASSWORD);
  await page.click("button[type=submit]");
  await page.waitForSelector("#nav a[data-page=cameras]", { state: "attached" });
  return page;
}

async function liveTile(page, id) {
  const tile = page.locator(`.tile[data-camera="${id}"]`);
  await tile.waitFor();
  await page.waitForFunction((id) => {
    const t = document.querySelector(`.tile[data-camera="${id}"]`);
    return t?.dataset.state === "live" && Number(t.dataset.fps) > 1;
  }, id, { timeout: 20000 });
  return tile;
}

test("a stranger lands on the sign-in page, and a wrong password says so", async () => {
  const page = await browser.newPage();
  await page.goto(`${base}/`);
  assert.match(page.url(), /\/login\?next=/);
  await page.fill("#password", "not it");
  await page.click("button[type=submit]");
  await page.waitForSelector("#error:not([hidden])");
  assert.match(await page.textContent("#error"), /wrong password/i);
  await shot(page, "login");
  await page.close();
});

test("after sign-in the grid shows the test pattern moving, with its fps", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await signedIn(context);
  const tile = await liveTile(page, "test-pattern");
  // The picture moves: a later screenshot of the tile differs from this one.
  const picture = tile.locator(".picture");
  const a = await picture.screenshot();
  await until(async () => !a.equals(await picture.screenshot()), 5000);
  // Once the picture shows, the facts name its size (not "no picture yet").
  await page.waitForFunction(() => !document.querySelector('.tile[data-camera="test-pattern"] .picture').hidden);
  const facts = await tile.locator(".facts").textContent();
  assert.match(facts, /\d+\.\d fps · 640×480/);
  await shot(page, "cameras");
  await context.close();
});

test("the capture page publishes the fake camera and microphone; both appear", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, permissions: ["camera", "microphone"] });
  const page = await signedIn(context);
  await page.goto(`${base}/#/capture`);
  await page.fill("#camera-id", "browser-cam");
  await page.click("#toggle");
  await page.waitForFunction(() => Number(document.querySelector("#capture-stats")?.dataset.fps) > 1, null, { timeout: 20000 });
  await page.waitForFunction(() => /microphone live/.test(document.querySelector("#capture-stats")?.textContent ?? ""), null, { timeout: 20000 });
  await shot(page, "capture");

  const viewer = await context.newPage();
  await viewer.goto(`${base}/#/cameras`);
  await liveTile(viewer, "browser-cam");
  await viewer.goto(`${base}/#/listen`);
  await viewer.waitForSelector('.source[data-source="browser-cam"] .badge.live', { timeout: 20000 });
  await shot(viewer, "listen-sources");
  await context.close();
});

test("the WebSocket player plays a devkit's tone and the page's analyser hears 440 Hz", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  // On loopback: WebRTC is proven on a LAN of the test's own (below, and webrtc.e2e.mjs).
  await context.addInitScript(() => localStorage.setItem("relaydeck.listen.transport", "websocket"));
  const page = await signedIn(context);
  const made = await page.request.post(`${base}/api/devices`, { data: { name: "Tone kit", deviceId: "tone-kit" } });
  assert.equal(made.status(), 201);
  const { token } = await made.json();
  const sim = spawn(bin, ["devkit-sim", "--server", `127.0.0.1:${devkitPort}`, "--device-id", "tone-kit", "--token", token, "--tone", "440"], { stdio: "ignore" });
  children.push(sim);
  await page.goto(`${base}/#/listen`);
  const row = page.locator('.source[data-source="tone-kit"]');
  await row.locator(".badge.live").waitFor({ timeout: 20000 });
  await row.locator("button.play").click();
  await page.waitForFunction(() => document.querySelector('.source[data-source="tone-kit"]')?.dataset.state === "playing", null, { timeout: 20000 });
  await page.waitForTimeout(1000);
  const hz = await page.evaluate(() => window.relaydeckPlayers.get("tone-kit").player.peakHz());
  assert.ok(hz !== null && Math.abs(hz - 440) < 12, `the analyser's peak is ${hz} Hz`);
  const facts = await row.locator(".facts").textContent();
  assert.match(facts, /WebSocket · PCM · playing · buffer \d+ ms · delay \d+ ms · underruns \d+ · gaps \d+/);
  assert.equal(await row.getAttribute("data-transport"), "websocket");
  await shot(page, "listen-playing");
  await context.close();
});

/** A LAN relay (with `extra` flags) playing a devkit's 440 Hz tone, and a view-token guest's page on another machine. */
async function lanToneListener(extra) {
  const relay = await lanRelay(extra);
  const admin = await lanBrowser().newContext();
  const a = await admin.newPage();
  await a.goto(`${relay.base}/login`);
  const { token: deviceToken } = (await inPage(a, "POST", "/api/devices", { name: "Tone kit", deviceId: "tone-kit" })).json;
  const { token } = (await inPage(a, "POST", "/api/tokens", { name: "lan listener", scope: "view" })).json;
  await admin.close();
  const [cmd, args] = lan.command(bin, ["devkit-sim", "--server", `127.0.0.1:${relay.devkitPort}`, "--device-id", "tone-kit", "--token", deviceToken, "--tone", "440"]);
  children.push(spawn(cmd, args, { stdio: "ignore" }));
  const guest = await lanBrowser().newContext();
  const g = await guest.newPage();
  return { relay, token, guest, g };
}

test("plain HTTP from another machine on the LAN: the Listen page plays over WebRTC and shows it; with WebSocket chosen it falls back to the live WAV and says why", async () => {
  const { guest, g, token, relay } = await lanToneListener([]);
  const errors = [];
  g.on("pageerror", (e) => errors.push(String(e)));
  await g.goto(`${relay.base}/?token=${token}#/listen`);
  assert.equal(await g.evaluate(() => window.isSecureContext), false, "plain HTTP from another address is not a secure context");
  assert.equal(await g.locator(".notice").count(), 0, "WebRTC needs no secure context: nothing to warn about");
  assert.equal(await g.inputValue("#transport"), "webrtc", "WebRTC by default");
  const row = g.locator('.source[data-source="tone-kit"]');
  await row.locator(".badge.live").waitFor({ timeout: 20000 });
  await row.locator("button.play").click();
  await g.waitForFunction(() => document.querySelector('.source[data-source="tone-kit"]')?.dataset.state === "playing", null, { timeout: 20000 });
  assert.equal(await row.getAttribute("data-transport"), "webrtc");
  await until(async () => {
    const hz = await g.evaluate(() => window.relaydeckPlayers.get("tone-kit").player.peakHz());
    return hz !== null && Math.abs(hz - 440) < 12;
  });
  await until(async () => /WebRTC · Opus · playing · buffer \d+ ms · delay \d+ ms · lost \d+ packets · concealed \d+ ms/.test(await row.locator(".facts").textContent()));
  await shot(g, "listen-webrtc");
  // The user's choice of WebSocket applies at once; without a secure context that is the WAV.
  await g.selectOption("#transport", "websocket");
  await g.waitForFunction(() => document.querySelector('.source[data-source="tone-kit"]')?.dataset.state === "fallback", null, { timeout: 20000 });
  assert.equal(await row.getAttribute("data-transport"), "wav");
  assert.match(await row.locator(".player-msg").textContent(), /live WAV.*HTTPS/);
  await shot(g, "listen-fallback");
  await g.reload();
  assert.equal(await g.inputValue("#transport"), "websocket", "the choice is kept");
  assert.deepEqual(errors, []);
  await guest.close();
});

test("when the relay refuses WebRTC, the Listen page plays anyway over the next transport and says why", async () => {
  const { guest, g, token, relay } = await lanToneListener(["--webrtc-max-peers", "0"]);
  await g.goto(`${relay.base}/?token=${token}#/listen`);
  const row = g.locator('.source[data-source="tone-kit"]');
  await row.locator(".badge.live").waitFor({ timeout: 20000 });
  await row.locator("button.play").click();
  // Plain HTTP from another machine: after WebRTC, the next transport is the live WAV.
  await g.waitForFunction(() => document.querySelector('.source[data-source="tone-kit"]')?.dataset.state === "fallback", null, { timeout: 20000 });
  assert.equal(await row.getAttribute("data-transport"), "wav");
  assert.match(await row.locator(".player-msg").textContent(), /^WebRTC did not work \(the relay holds its limit of 0 WebRTC peers; try again later\); playing over live WAV instead\. Playing the live WAV stream\. Open this page over HTTPS/);
  await shot(g, "listen-webrtc-refused");
  await guest.close();
});

test("devkits on the network: --devkit-bind opens the devkit ports to the LAN while the web UI stays on loopback, and boards are told the LAN address", async () => {
  const relay = await lanRelay(["--devkit-bind", "0.0.0.0"], "127.0.0.1:0");
  const context = await lanBrowser().newContext({ viewport: { width: 1280, height: 1000 } });
  // The web UI does not answer on the LAN address...
  const probe = await context.newPage();
  await assert.rejects(probe.goto(`${relay.base}/login`), /ERR_CONNECTION_REFUSED/);
  await probe.close();
  const a = await context.newPage();
  // ...but on this computer it does, and the Devices page names the LAN address.
  await a.goto(`${relay.local}/login?next=/%23/devices`);
  await a.fill("#password", PASSWORD);
  await a.click("button[type=submit]");
  const lanPort = `TCP ${lan.relayIp}:${relay.devkitPort}`;
  await a.waitForFunction((want) => document.querySelector("#devkit-ports")?.textContent.includes(want), lanPort);
  await a.fill('#add-device input[name="name"]', "Shed kit");
  await a.fill('#add-device input[name="deviceId"]', "shed-kit");
  await a.click("#add-device button[type=submit]");
  await a.waitForSelector("#add-device .qr svg");
  const token = await a.textContent("#add-device code.secret");
  assert.match(await a.textContent("#sim-command code"), new RegExp(`--server 127\\.0\\.0\\.1:${relay.devkitPort} `), "the simulator on this computer uses loopback");
  // (The page is signed in: its cookie is the credential.)
  const { hosts } = await a.evaluate(() => fetch("/api/devices").then((r) => r.json()));
  assert.equal(hosts.lan[0], lan.relayIp);
  assert.ok(!hosts.lan.some((h) => h.startsWith("127.")), JSON.stringify(hosts));
  // A board on the LAN, told that address, comes online.
  const [cmd, args] = lan.command(bin, ["devkit-sim", "--server", `${lan.relayIp}:${relay.devkitPort}`, "--device-id", "shed-kit", "--token", token, "--tone", "440"]);
  children.push(spawn(cmd, args, { stdio: "ignore" }));
  await a.waitForSelector('.device[data-device="shed-kit"][data-state="online"]', { timeout: 20000 });
  await shot(a, "devices-lan");
  await context.close();
});

test("when the WebSocket cannot connect, the grid falls back to polling /latest and says so", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  // Every viewer socket is refused, as a proxy that blocks WebSockets would.
  await context.routeWebSocket(/\/stream\/ws/, (ws) => ws.close({ code: 1011, reason: "blocked by the test" }));
  const page = await signedIn(context);
  await page.waitForFunction(() => /showing snapshots/.test(document.querySelector("#conn-status")?.textContent ?? ""), null, { timeout: 30000 });
  const tile = page.locator('.tile[data-camera="test-pattern"]');
  await page.waitForFunction(() => document.querySelector('.tile[data-camera="test-pattern"]')?.dataset.state === "live", null, { timeout: 20000 });
  const a = await tile.locator(".picture").screenshot();
  await page.waitForTimeout(2500);
  const b = await tile.locator(".picture").screenshot();
  assert.notDeepEqual(a, b, "the picture still changes, from polled snapshots");
  await shot(page, "cameras-polling");
  await context.close();
});

test("a phone publishes over HTTPS on the LAN through a publish link", async () => {
  const relay = await lanRelay(["--tls"]);
  const admin = await lanBrowser().newContext({ ignoreHTTPSErrors: true });
  const a = await admin.newPage();
  await a.goto(`${relay.base}/login`);
  const made = await inPage(a, "POST", "/api/tokens", { name: "phone", scope: "publish", ids: ["phone-cam"] });
  assert.equal(made.status, 201);
  const link = made.json.link.replace(/https:\/\/[^/]+/, relay.base);
  const phone = await lanBrowser().newContext({ ignoreHTTPSErrors: true, viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true, permissions: ["camera", "microphone"] });
  const p = await phone.newPage();
  await p.goto(link);
  await p.waitForFunction(() => document.querySelector("#camera-id")?.value === "phone-cam");
  assert.equal(await p.evaluate(() => window.isSecureContext), true, "HTTPS gives the page camera access");
  const start = await p.locator("#toggle").boundingBox();
  assert.ok(start && start.y + start.height <= 844, `Start is on the first screen (at ${JSON.stringify(start)})`);
  await p.click("#toggle");
  await p.waitForFunction(() => Number(document.querySelector("#capture-stats")?.dataset.fps) > 1, null, { timeout: 20000 });
  await shot(p, "capture-phone-tls");
  const { clients } = (await inPage(a, "GET", "/api/clients")).json;
  const cam = clients.find((c) => c.id === "phone-cam");
  assert.ok(cam && cam.online && cam.frames > 0, JSON.stringify(clients));
  const { sources } = (await inPage(a, "GET", "/api/sources")).json;
  assert.ok(sources.some((s) => s.id === "phone-cam" && s.online), "its microphone is a source too");
  // On the LAN the Share page offers QR codes, for an address a phone can reach.
  await a.goto(`${relay.base}/login?next=/%23/share`);
  await a.fill("#password", PASSWORD);
  await a.click("button[type=submit]");
  await a.waitForSelector("#lan .lan-url svg");
  assert.match(await a.textContent("#lan"), new RegExp(lan.relayIp.replaceAll(".", "\\.")));
  await shot(a, "share-lan");
  await phone.close();
  await admin.close();
});

test("a view-only link sees only its cameras and no admin pages", async () => {
  const admin = await browser.newContext();
  const page = await signedIn(admin);
  const made = await page.request.post(`${base}/api/tokens`, { data: { name: "grandma", scope: "view", ids: ["test-pattern"] } });
  const { link } = await made.json();
  await admin.close();

  const guest = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const g = await guest.newPage();
  await g.goto(link);
  await liveTile(g, "test-pattern");
  await g.waitForTimeout(1500);
  assert.deepEqual(await g.locator(".tile").evaluateAll((ts) => ts.map((t) => t.dataset.camera)), ["test-pattern"]);
  assert.deepEqual(await g.locator("#nav a").evaluateAll((as) => as.map((a) => a.dataset.page)), ["cameras", "listen", "library"], "a view link watches, listens and sees the recordings of what it may see");
  await shot(g, "view-link");
  await guest.close();
});

test("the settings page changes the theme live", async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await signedIn(context);
  await page.goto(`${base}/#/settings`);
  await page.selectOption("#set-theme", "light");
  await page.click("#settings-form button[type=submit]");
  await page.waitForFunction(() => document.documentElement.dataset.theme === "light");
  const s = await (await page.request.get(`${base}/api/settings`)).json();
  assert.equal(s.settings.theme, "light");
  await shot(page, "settings-light");
  // No webcam here: the page says so, and the host camera shows as unavailable, with why.
  assert.match(await page.textContent('[data-hint="camera"]'), /No camera found/);
  await page.check("#set-cameraEnabled");
  await save(page);
  await page.goto(`${base}/#/cameras`);
  await page.waitForFunction(() => document.querySelector('.tile[data-camera="host-camera"]')?.dataset.state === "unavailable", null, { timeout: 20000 });
  assert.match(await page.textContent('.tile[data-camera="host-camera"] .facts'), /no camera found on this computer/);
  await shot(page, "cameras-host-unavailable");
  await page.goto(`${base}/#/settings`);
  await page.uncheck("#set-cameraEnabled");
  await save(page);
  await page.goto(`${base}/#/devices`);
  await page.waitForSelector('.device[data-device="tone-kit"]');
  await shot(page, "devices");
  await page.goto(`${base}/#/share`);
  await page.waitForSelector("#lan .lan-url");
  await shot(page, "share");
  await context.close();
});

test("a view link made on the Share page works in another browser, and the admin's own browser is told why it cannot open it", async () => {
  const admin = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const page = await signedIn(admin);
  await page.goto(`${base}/#/share`);
  await page.fill('#view-link input[placeholder="Who is it for?"]', "Grandma");
  await page.click("#view-link button[type=submit]");
  const field = page.locator("#share-link");
  await field.waitFor();
  const shown = await field.inputValue();
  assert.match(shown, /\/\?token=rdk_[0-9a-f]{64}$/);
  // On loopback (the page shows the LAN address, for phones).
  const made = new URL(shown);
  const link = `${base}${made.pathname}${made.search}`;
  assert.match(await page.textContent(".result"), /private window/);
  await shot(page, "share-link");
  // The admin's browser carries its session as well as the link's token: refused, and said so.
  const same = await page.request.get(link);
  assert.equal(same.status(), 400);
  assert.equal((await same.json()).error.code, "conflicting_credentials");
  // Another browser (no session) opens it and watches.
  const guest = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const g = await guest.newPage();
  await g.goto(link);
  await g.waitForFunction(() => document.querySelector('.tile[data-camera="test-pattern"]')?.dataset.state === "live", null, { timeout: 20000 });
  assert.match(await g.textContent("#who"), /view link/);
  await guest.close();
  await admin.close();
});

test("the Settings page shows this computer's microphone input level (a real cpal device)", async () => {
  // A file-backed ALSA capture device playing a tone (no sound card here).
  const dir = mkdtempSync(path.join(tmpdir(), "relaydeck-e2e-mic-"));
  execFileSync("sox", ["-n", "-r", "48000", "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "raw", path.join(dir, "tone.raw"), "synth", "120", "sine", "440", "vol", "0.5"]);
  writeFileSync(path.join(dir, "asoundrc"), `pcm.testmic_raw { type file; slave.pcm "null"; file "/dev/null"; infile "${path.join(dir, "tone.raw")}"; format "raw" }
pcm.testmic { type plug; slave { pcm "testmic_raw"; format S16_LE; rate 48000; channels 1 } }
pcm.!default testmic
`);
  const child = spawn(bin, ["serve", "--bind", "127.0.0.1:0", "--mic", "default", "--admin-password", PASSWORD, "--data-dir", dir, "--devkit-tcp-port", "0", "--devkit-udp-port", "0"], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ALSA_CONFIG_PATH: `/usr/share/alsa/alsa.conf:${path.join(dir, "asoundrc")}` },
  });
  children.push(child);
  const micBase = await new Promise((resolve, reject) => {
    let out = "";
    const onData = (d) => {
      out += d;
      const m = out.match(/web UI\s+(http:\/\/127\.0\.0\.1:\d+)\//);
      if (m) resolve(m[1]);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    setTimeout(() => reject(new Error(`no banner:\n${out}`)), 20000);
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } });
  const page = await context.newPage();
  await page.goto(`${micBase}/login?next=/%23/settings`);
  await page.fill("#password", PASSWORD);
  await page.click("button[type=submit]");
  await page.waitForSelector("#mic-level-toggle");
  await page.click("#mic-level-toggle");
  await page.waitForFunction(() => Number(document.querySelector("#mic-level")?.dataset.peak) > 0.3, null, { timeout: 20000 });
  assert.match(await page.textContent("#mic-level-text"), /peak -\d+ dBFS/);
  await page.locator("#mic-level").scrollIntoViewIfNeeded();
  await shot(page, "settings-mic-level");
  await page.click("#mic-level-toggle");
  // Closing the meter closes the device (on demand): the source goes to standby.
  await until(async () => {
    const r = await page.request.get(`${micBase}/api/sources`);
    const mic = (await r.json()).sources.find((s) => s.id === "mic");
    return mic?.availability?.state === "standby";
  });
  await context.close();
  child.kill("SIGTERM");
});

test("on a phone-sized screen the grid fits the width", async () => {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const page = await signedIn(context);
  await liveTile(page, "test-pattern");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
  await shot(page, "phone");
  await context.close();
});

test("signing out ends the session", async () => {
  const context = await browser.newContext();
  const page = await signedIn(context);
  await page.click("#logout");
  await page.waitForURL(/\/login/);
  await page.goto(`${base}/`);
  assert.match(page.url(), /\/login/);
  await context.close();
});
