// The Library page against a real `relaydeck serve` on loopback: the
// test-pattern camera and a devkit simulator's tone are recorded for a few
// seconds; the page plays the camera recording at 2× (frames fetched by
// time from the index: the position runs at twice real time and the picture
// changes), plays the audio recording from its middle, and downloads a clip
// that ffprobe reads at the length asked for; a camera a page publishes
// (a canvas: still, then a square moving for 1.5 s, then still) is recorded
// on motion, and the page lists the event with its thumbnail and opens the
// recording where it began. Screenshots: tests/artifacts/library.png,
// library-motion.png.
// Run: node --test tests/e2e/library.e2e.mjs (after `cargo build -p relaydeck` with ui/dist built).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startRelay, until } from "./support.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const { chromium } = createRequire(path.join(root, "ui/package.json"))("playwright-core");
const bin = process.env.RELAYDECK_BIN ?? path.join(root, "target/debug/relaydeck");
const artifacts = path.join(root, "tests/artifacts");
const PASSWORD = "library e2e password";
const auth = { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString("base64")}` };

let browser, relay, dataDir;
const children = [];

before(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), "relaydeck-library-"));
  mkdirSync(artifacts, { recursive: true });
  relay = await startRelay(bin, ["serve", "--bind", "127.0.0.1:0", "--admin-password", PASSWORD, "--data-dir", dataDir, "--devkit-tcp-port", "0", "--devkit-udp-port", "0"], children);
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"] });
});

after(async () => {
  await browser?.close();
  for (const c of children) c.kill("SIGTERM");
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

async function call(method, p, body) {
  const r = await fetch(`${relay.base}${p}`, { method, headers: { ...auth, ...(body ? { "content-type": "application/json" } : {}) }, body: body ? JSON.stringify(body) : undefined });
  return { status: r.status, json: await r.json().catch(() => null) };
}

test("the Library page plays a camera recording at 2× and an audio recording from the middle, and downloads a clip ffprobe reads", async () => {
  // Something to record: the test pattern and a devkit's tone.
  assert.equal((await fetch(`${relay.base}/api/settings`, { method: "PUT", headers: { ...auth, "content-type": "application/merge-patch+json" }, body: JSON.stringify({ testPattern: true }) })).status, 200);
  const { json: device } = await call("POST", "/api/devices", { name: "Tone kit", deviceId: "tone-kit" });
  children.push(spawn(bin, ["devkit-sim", "--server", `127.0.0.1:${relay.devkitPort}`, "--device-id", "tone-kit", "--token", device.token, "--tone", "440"], { stdio: "ignore" }));
  await until("the tone is on the air", async () => (await call("GET", "/api/sources")).json.sources.some((s) => s.id === "tone-kit" && s.online));
  assert.equal((await call("POST", "/api/recorders", { source: "test-pattern", kind: "camera" })).status, 201);
  assert.equal((await call("POST", "/api/recorders", { source: "tone-kit", kind: "audio" })).status, 201);
  await new Promise((r) => setTimeout(r, 5000));
  assert.equal((await call("DELETE", "/api/recorders/test-pattern")).status, 200);
  assert.equal((await call("DELETE", "/api/recorders/tone-kit")).status, 200);

  const page = await (await browser.newContext()).newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${relay.base}/login`);
  await page.fill("#password", PASSWORD);
  await page.click("button[type=submit]");
  await page.waitForURL(/\/(#.*)?$/);
  await page.goto(`${relay.base}/#/library`);
  const cameraRow = page.locator('li[data-recording^="test-pattern.camera."]');
  await cameraRow.waitFor({ timeout: 10000 });
  await page.locator('.recording-source[data-source="tone-kit"] .timeline .span').first().waitFor();

  // The camera at 2×: one second of wall time is about two of the recording.
  await cameraRow.locator("button.play").click();
  await page.selectOption("#recording-speed", "2");
  await page.click("#recording-play");
  const t0 = Date.now();
  const p0 = await page.evaluate(() => window.relaydeckRecording.position);
  await new Promise((r) => setTimeout(r, 1500));
  const got = await page.evaluate(() => ({ position: window.relaydeckRecording.position, frames: window.relaydeckRecording.frames, frameMs: document.querySelector(".recording-frame").dataset.frameMs }));
  const wall = Date.now() - t0;
  const rate = (got.position - p0) / wall;
  assert.ok(rate > 1.6 && rate < 2.4, `played at ${rate.toFixed(2)}× (2× asked)`);
  assert.ok(got.frames >= 5, `${got.frames} frames shown`);
  assert.ok(Number(got.frameMs) > 0, "a later frame is on screen");
  await page.screenshot({ path: path.join(artifacts, "library.png"), fullPage: true });

  // The audio from its middle.
  await page.locator('li[data-recording^="tone-kit.audio."] button.play').click();
  const audio = await page.evaluate(async () => {
    const a = document.getElementById("recording-audio");
    await new Promise((r) => (a.readyState >= 1 ? r() : a.addEventListener("loadedmetadata", r, { once: true })));
    const mid = a.duration / 2;
    a.currentTime = mid;
    await a.play();
    await new Promise((r) => setTimeout(r, 1200));
    return { duration: a.duration, mid, now: a.currentTime, paused: a.paused };
  });
  assert.ok(audio.duration > 3, `${audio.duration} s recorded`);
  assert.ok(!audio.paused && audio.now > audio.mid + 0.5 && audio.now < audio.duration, `playing from the middle: ${JSON.stringify(audio)}`);

  // A clip of 1.5 s from 1 s on, as the page links it.
  await page.fill("#clip-from", "1");
  await page.fill("#clip-to", "2.5");
  const href = await page.getAttribute("#clip-download", "href");
  const clip = await page.evaluate(async (u) => Array.from(new Uint8Array(await (await fetch(u)).arrayBuffer())), href);
  const file = path.join(dataDir, "clip.wav");
  writeFileSync(file, Buffer.from(clip));
  const probe = spawnSync("ffprobe", ["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", file], { encoding: "utf8" });
  assert.equal(probe.status, 0, probe.stderr);
  assert.ok(Math.abs(Number(probe.stdout) - 1.5) < 0.01, `the clip is ${probe.stdout.trim()} s`);
  assert.deepEqual(errors, []);
});

test("a camera recorded on motion: the event is listed with its thumbnail, marked on the timeline, and opens its recording where it began", async () => {
  const made = await call("POST", "/api/recorders", { source: "yard", kind: "camera", motion: { sensitivity: 50, preRollSec: 1, postRollSec: 1, zones: [] } });
  assert.equal(made.status, 201, JSON.stringify(made.json));
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${relay.base}/login`);
  await page.fill("#password", PASSWORD);
  await page.click("button[type=submit]");
  await page.waitForURL(/\/(#.*)?$/);
  await page.goto(`${relay.base}/#/library`);
  await page.waitForSelector('li[data-recorder="yard:camera"][data-mode="motion"]');
  // The page publishes 6 s at 10 fps: still, a square moving from frame 20 to 34, still again.
  await page.evaluate(async () => {
    const canvas = Object.assign(document.createElement("canvas"), { width: 320, height: 240 });
    const g = canvas.getContext("2d");
    const ws = new WebSocket(`ws://${location.host}/ws?clientId=yard`);
    await new Promise((r) => (ws.onopen = r));
    for (let i = 0; i < 60; i++) {
      g.fillStyle = "#3a5f3a";
      g.fillRect(0, 0, 320, 240);
      const x = i < 20 ? 40 : i < 35 ? 40 + ((i - 20) % 5) * 40 : 200;
      g.fillStyle = "#f5f5f5";
      g.fillRect(x, 80, 64, 64);
      const blob = await new Promise((r) => canvas.toBlob(r, "image/jpeg", 0.85));
      ws.send(await blob.arrayBuffer());
      await new Promise((r) => setTimeout(r, 100));
    }
    ws.close();
  });
  const section = page.locator('.recording-source[data-source="yard"]');
  const event = section.locator(".motion-events li").first();
  await event.waitFor({ timeout: 15000 });
  assert.equal(await section.locator(".motion-events li").count(), 1, "one event");
  await until("the thumbnail shows", async () => (await event.locator("img").evaluate((img) => img.complete && img.naturalWidth)) > 0);
  assert.ok((await section.locator(".timeline .motion-mark").count()) >= 1, "marked on the timeline");
  const { json } = await call("GET", "/api/motion?source=yard");
  const ev = json.events[0];
  assert.ok(ev.endMs - ev.startMs >= 1000 && ev.endMs - ev.startMs <= 1800, `the square moved 1.4 s: ${JSON.stringify(ev)}`);
  const { json: recs } = await call("GET", "/api/recordings?source=yard");
  assert.equal(recs.recordings.length, 1);
  const seg = recs.recordings[0];
  assert.ok(seg.motion && ev.startMs - seg.startMs >= 800 && ev.startMs - seg.startMs <= 1300, `1 s of pre-roll: ${JSON.stringify(seg)}`);
  // Opening the event plays its recording from where the motion began.
  await event.locator("button").click();
  await until("the player is at the event", async () => Number(await page.getAttribute("#recording-player", "data-position")) === ev.startMs - seg.startMs);
  await page.waitForFunction(() => Number(document.querySelector(".recording-frame")?.dataset.frameMs) > 0);
  await page.screenshot({ path: path.join(artifacts, "library-motion.png"), fullPage: true });
  // A clip of the motion (from its first to its last moving frame) through the page's clip form, as ffprobe reads it.
  const local = (ms) => new Date(ms - new Date(ms).getTimezoneOffset() * 60000).toISOString().slice(0, 19);
  await section.locator(".clip-range-from").fill(local(Math.floor(ev.startMs / 1000) * 1000));
  await section.locator(".clip-range-to").fill(local(Math.ceil(ev.endMs / 1000) * 1000));
  const clipHref = await section.locator("a.clip-range").getAttribute("href");
  const clipBytes = await page.evaluate(async (u) => Array.from(new Uint8Array(await (await fetch(u)).arrayBuffer())), clipHref);
  const clipFile = path.join(dataDir, "motion-clip.mkv");
  writeFileSync(clipFile, Buffer.from(clipBytes));
  const clipProbe = spawnSync("ffprobe", ["-v", "error", "-count_packets", "-show_entries", "stream=codec_name,nb_read_packets:format=duration", "-of", "json", clipFile], { encoding: "utf8" });
  assert.equal(clipProbe.status, 0, clipProbe.stderr);
  const clipInfo = JSON.parse(clipProbe.stdout);
  assert.equal(clipInfo.streams[0].codec_name, "mjpeg");
  assert.ok(Number(clipInfo.streams[0].nb_read_packets) >= 10, `${clipInfo.streams[0].nb_read_packets} frames in the clip`);
  assert.equal((await call("DELETE", "/api/recorders/yard")).status, 200);
  assert.deepEqual(errors, []);
});

test("kill -9 while recording: the relay started again lists every segment, each playable, at most the last second missing", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "relaydeck-kill9-"));
  const args = ["serve", "--bind", "127.0.0.1:0", "--admin-password", PASSWORD, "--data-dir", dir, "--devkit-tcp-port", "0", "--devkit-udp-port", "0", "--test-pattern"];
  const own = [];
  const first = await startRelay(bin, args, own);
  const call1 = async (method, p, body) => (await fetch(`${first.base}${p}`, { method, headers: { ...auth, "content-type": "application/json" }, body: body ? JSON.stringify(body) : undefined })).status;
  const { token } = await (await fetch(`${first.base}/api/devices`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ name: "Kill kit", deviceId: "kill-kit" }) })).json();
  const sim = spawn(bin, ["devkit-sim", "--server", `127.0.0.1:${first.devkitPort}`, "--device-id", "kill-kit", "--token", token, "--tone", "440"], { stdio: "ignore" });
  await until("the tone is on the air", async () => (await (await fetch(`${first.base}/api/sources`, { headers: auth })).json()).sources.some((s) => s.id === "kill-kit" && s.online));
  assert.equal(await call1("POST", "/api/recorders", { source: "test-pattern", kind: "camera" }), 201);
  assert.equal(await call1("POST", "/api/recorders", { source: "kill-kit", kind: "audio" }), 201);
  const began = Date.now();
  await new Promise((r) => setTimeout(r, 4000));
  first.child.kill("SIGKILL");
  const recorded = (Date.now() - began) / 1000;
  sim.kill("SIGKILL");
  await new Promise((r) => first.child.once("exit", r));

  const second = await startRelay(bin, args.filter((a) => a !== "--test-pattern"), own);
  try {
    const { recordings } = await (await fetch(`${second.base}/api/recordings`, { headers: auth })).json();
    assert.deepEqual(recordings.map((r) => r.kind).sort(), ["audio", "camera"], JSON.stringify(recordings));
    for (const r of recordings) {
      assert.equal(r.live, false, "nothing is being written after the restart");
      const bytes = Buffer.from(await (await fetch(`${second.base}/api/recordings/${r.id}`, { headers: auth })).arrayBuffer());
      const file = path.join(dir, `${r.kind}.${r.kind === "camera" ? "mkv" : "wav"}`);
      writeFileSync(file, bytes);
      const probe = spawnSync("ffprobe", ["-v", "error", "-count_packets", "-show_entries", "format=duration:stream=nb_read_packets", "-of", "json", file], { encoding: "utf8" });
      assert.equal(probe.status, 0, probe.stderr);
      const info = JSON.parse(probe.stdout);
      const secs = Number(info.format.duration);
      // Recording began a little after `began` (the first frame / chunk); at most the last second is lost.
      assert.ok(secs >= recorded - 1.6 && secs <= recorded + 0.2, `${r.kind}: ${secs} s of ${recorded} s`);
      assert.ok(Number(info.streams[0].nb_read_packets) > 10, `${r.kind}: packets read`);
    }
  } finally {
    for (const c of own) c.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
});
