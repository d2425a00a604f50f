// The audio library end to end, with headless Chromium as the real remote
// peer on "another machine": the relay in a network namespace of the test's
// own (10.77.N.1), Chromium in a second one (10.77.N.2, lan.mjs with
// `phone: true`). Files are made by ffmpeg; what the relay must send in pcm
// mode for a 16-bit WAV is exactly its samples, so every check compares bytes.
//
// * bytes mode: the Listen page's Save button downloads the file byte for byte;
// * the page (FileStream) drops its connection mid-file, reconnects with
//   backoff and resumes from the first chunk it lacks: every sample once;
// * a seek in pcm mode: the relay answers with the chunk that holds the
//   second, and the next chunk is exactly those samples;
// * the Listen page uploads with a progress bar and plays the file (seek bar,
//   buffered ranges), screenshots in tests/artifacts/.
// Run: node --test tests/e2e/files.e2e.mjs (after `cargo build -p relaydeck` with ui/dist built).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { relayWithPhone } from "./lan.mjs";
import { until } from "./support.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const { chromium } = createRequire(path.join(root, "ui/package.json"))("playwright-core");
const bin = process.env.RELAYDECK_BIN ?? path.join(root, "target/debug/relaydeck");
const artifacts = path.join(root, "tests/artifacts");
const PASSWORD = "files e2e password";
const CHUNK = 65536;

let lan, browser, relay, dataDir, base, work;
const children = [];

/** `secs` of a 440 Hz tone (44.1 kHz stereo, 16-bit WAV) as ffmpeg writes it. */
function wav(name, secs) {
  const out = path.join(work, name);
  const r = spawnSync("ffmpeg", ["-loglevel", "error", "-y", "-f", "lavfi", "-i", `sine=frequency=440:sample_rate=44100:duration=${secs}`, "-ac", "2", "-c:a", "pcm_s16le", "-bitexact", out]);
  assert.equal(r.status, 0, String(r.stderr));
  return readFileSync(out);
}

/** The samples of a 16-bit WAV: what pcm mode sends for it. */
function samples(file) {
  const at = file.indexOf("data");
  return file.subarray(at + 8, at + 8 + file.readUInt32LE(at + 4));
}

/** FNV-1a over bytes; the page computes the same (no crypto.subtle on plain HTTP). */
function fnv(bytes) {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h;
}
const FNV_IN_PAGE = "(bytes) => { let h = 0x811c9dc5; for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0; return h; }";

before(async () => {
  work = mkdtempSync(path.join(tmpdir(), "relaydeck-files-"));
  dataDir = path.join(work, "data");
  mkdirSync(artifacts, { recursive: true });
  ({ lan, relay, base, browser } = await relayWithPhone({ chromium, bin, password: PASSWORD, dataDir, children }));
});

after(async () => {
  await browser?.close();
  for (const c of children) c.kill("SIGTERM");
  lan?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

const basic = `Basic ${Buffer.from(`admin:${PASSWORD}`).toString("base64")}`;

/** Uploads `bytes` as `name` from the page (the admin, HTTP Basic). */
async function putFile(page, name, bytes) {
  return page.evaluate(
    async ([name, b64, auth]) => {
      const bin = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const r = await fetch(`/api/files/${encodeURIComponent(name)}`, { method: "PUT", headers: { authorization: auth, "content-type": "audio/wav" }, body: bin });
      return { status: r.status, json: await r.json() };
    },
    [name, bytes.toString("base64"), basic],
  );
}

async function viewToken(page, ids) {
  return page.evaluate(
    async ([ids, auth]) => (await (await fetch("/api/tokens", { method: "POST", headers: { authorization: auth, "content-type": "application/json" }, body: JSON.stringify({ name: "files e2e", scope: "view", ids }) })).json()).token,
    [ids, basic],
  );
}

/**
 * The page's own fileStream channel, raw (as a firmware author's client
 * would be): the offer, then `script(dc, got)` drives it; `got` collects
 * messages and chunks (as base64 where asked).
 */
const RAW_PEER = `async (token, clientId, file, mode) => {
  const wait = (ms) => new Promise((r) => setTimeout(r, ms));
  const pc = new RTCPeerConnection();
  const dc = pc.createDataChannel("fileStream");
  dc.binaryType = "arraybuffer";
  // Every message in the order it came: texts as parsed JSON, chunks by their index in got.chunks.
  const got = { texts: [], chunks: [], log: [] };
  dc.onmessage = (e) => {
    if (typeof e.data === "string") {
      const m = JSON.parse(e.data);
      got.texts.push(m);
      got.log.push(m);
    } else {
      got.log.push({ chunk: got.chunks.length });
      got.chunks.push(new Uint8Array(e.data));
    }
  };
  /** The chunks that came after the n-th message of type \`type\` (and before the next message of \`until\`). */
  got.after = (type, n, until) => {
    const at = got.log.findIndex((m) => m.type === type && n-- === 0);
    const out = [];
    for (const m of got.log.slice(at + 1)) {
      if (until && m.type === until) break;
      if (m.chunk !== undefined) out.push(got.chunks[m.chunk]);
    }
    return out;
  };
  got.count = (type) => got.texts.filter((m) => m.type === type).length;
  await pc.setLocalDescription(await pc.createOffer());
  while (pc.iceGatheringState !== "complete") await wait(20);
  const r = await fetch("/api/offer", { method: "POST", headers: { authorization: "Bearer " + token, "content-type": "application/json" }, body: JSON.stringify({ offer: pc.localDescription, clientId, file, mode }) });
  if (r.status !== 200) throw new Error("offer refused: " + r.status + " " + (await r.text()));
  await pc.setRemoteDescription((await r.json()).answer);
  const end = performance.now() + 15000;
  while (dc.readyState !== "open" && performance.now() < end) await wait(20);
  return { pc, dc, got, wait };
}`;

test("a file in pcm mode: the connection drops mid-file, the new one resumes from the right chunk, and a seek lands in the chunk that holds the second", async () => {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${base}/login`);
  const file = wav("long.wav", 20);
  const pcm = samples(file);
  assert.equal((await putFile(page, "long.wav", file)).status, 201);
  const token = await viewToken(page, ["long-wav"]);
  const total = Math.ceil(pcm.length / CHUNK);

  const got = await page.evaluate(
    async ([token, total, rawPeer, fnvSrc]) => {
      const open = eval(`(${rawPeer})`);
      const fnv = eval(fnvSrc);
      // First connection: keep the first 5 chunks, then the connection drops.
      const a = await open(token, "resumer", "long-wav", "pcm");
      while (a.got.chunks.length < 5) await a.wait(5);
      const kept = a.got.chunks.slice(0, 5);
      const meta = a.got.texts.find((m) => m.type === "metadata");
      a.pc.close();
      // Second connection, same clientId: resume from chunk 5.
      const b = await open(token, "resumer", "long-wav", "pcm");
      while (!b.got.count("metadata")) await b.wait(5);
      b.dc.send(JSON.stringify({ type: "resume", fromChunk: 5 }));
      // Chunks that were on their way before the request precede `seeked`;
      // then chunk 5 on, and a `complete` after them.
      const completes = () => b.got.log.slice(b.got.log.findIndex((m) => m.type === "seeked")).filter((m) => m.type === "complete").length;
      while (!b.got.count("seeked") || !completes()) await b.wait(10);
      const before = b.got.after("metadata", 0, "seeked").length;
      const resumed = b.got.after("seeked", 0, "complete");
      const parts = kept.concat(resumed);
      const all = new Uint8Array(parts.reduce((n, c) => n + c.length, 0));
      let o = 0;
      for (const c of parts) (all.set(c, o), (o += c.length));
      // Then a seek to 12.3 s: the chunk that holds it comes next.
      b.dc.send(JSON.stringify({ type: "seek", seconds: 12.3 }));
      while (b.got.count("seeked") < 2 || !b.got.after("seeked", 1).length) await b.wait(5);
      const first = b.got.after("seeked", 1)[0];
      const seeked = b.got.texts.filter((m) => m.type === "seeked")[1];
      b.pc.close();
      return { meta, before, seekedFirst: b.got.texts.find((m) => m.type === "seeked"), total: all.length, hash: fnv(all), resumedCount: resumed.length, seeked, seekChunk: fnv(first), seekLen: first.length };
    },
    [token, total, RAW_PEER, FNV_IN_PAGE],
  );
  assert.equal(got.meta.totalChunks, total);
  assert.deepEqual(got.meta.format, { sampleRate: 44100, channels: 2, encoding: "s16le" });
  assert.equal(got.meta.mode, "pcm");
  assert.equal(got.seekedFirst.chunk, 5, "resumed from the first chunk the page lacked");
  assert.equal(got.resumedCount, total - 5);
  assert.equal(got.total, pcm.length);
  assert.equal(got.hash, fnv(pcm), "every sample once, in order");
  const want = Math.floor((12.3 * 176400) / CHUNK);
  assert.equal(got.seeked.chunk, want, "the chunk that holds 12.3 s");
  assert.ok(got.seeked.seconds <= 12.3 && 12.3 - got.seeked.seconds < CHUNK / 176400, `starts at ${got.seeked.seconds} s, within one chunk of 12.3 s`);
  assert.equal(got.seekLen, CHUNK);
  assert.equal(got.seekChunk, fnv(pcm.subarray(want * CHUNK, (want + 1) * CHUNK)), "the samples of that chunk");
  console.log(`resume: ${got.before} chunks came on the new channel before its seeked`);
  await page.context().close();
});

test("the Listen page: upload with progress, play as chunks arrive (seek bar, buffered ranges), survive a dropped connection, save byte for byte", async () => {
  const context = await browser.newContext({ acceptDownloads: true });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(`${base}/login`);
  await page.fill("#password", PASSWORD);
  await page.click("button[type=submit]");
  await page.waitForURL(/\/(#.*)?$/);
  await page.goto(`${base}/#/listen`);
  const tune = wav("Garden Tone.wav", 30);
  await page.setInputFiles("#file-upload", path.join(work, "Garden Tone.wav"));
  const row = page.locator('.file[data-file="Garden-Tone-wav"]');
  await row.waitFor({ timeout: 20000 });
  assert.match(await row.locator(".facts").textContent(), /WAV · 44.1 kHz stereo · 0:30/);
  // Play: it starts while the rest of the file still arrives; the seek bar shows what is held.
  await row.locator("button.play").click();
  await page.waitForFunction(() => document.querySelector('.file[data-file="Garden-Tone-wav"]')?.dataset.state === "playing", null, { timeout: 20000 });
  // The network drops: the page reconnects with backoff and resumes; the file completes.
  const dropped = await page.evaluate(() => {
    const s = window.relaydeckFiles.get("Garden-Tone-wav").player.stream;
    const held = s.chunks.heldCount;
    s.drop();
    return { held, total: s.chunks.totalChunks };
  });
  await until("the stream reconnects and completes", () => page.evaluate(() => {
    const s = window.relaydeckFiles.get("Garden-Tone-wav").player.stream;
    return s.state === "complete" && s.connections >= 2 && s.chunks.complete;
  }), 30000);
  const pcmHash = await page.evaluate(([fnvSrc]) => eval(fnvSrc)(window.relaydeckFiles.get("Garden-Tone-wav").player.stream.chunks.joined()), [FNV_IN_PAGE]);
  assert.equal(pcmHash, fnv(samples(tune)), "after the drop every sample arrived once");
  // A seek moves the position; the player keeps playing from there.
  await page.evaluate(() => window.relaydeckFiles.get("Garden-Tone-wav").player.seek(20));
  await until("playing past 20 s", () => page.evaluate(() => {
    const p = window.relaydeckFiles.get("Garden-Tone-wav").player;
    return p.state === "playing" && p.position > 20.2 && p.position < 25;
  }), 10000);
  const spans = await row.locator(".buffered span").count();
  assert.ok(spans >= 1, "buffered ranges drawn");
  await page.screenshot({ path: path.join(artifacts, "listen-files.png"), fullPage: true });
  // Save: bytes mode over WebRTC, downloaded byte for byte.
  const [download] = await Promise.all([page.waitForEvent("download", { timeout: 20000 }), row.locator("button", { hasText: "Save" }).click()]);
  const saved = readFileSync(await download.path());
  assert.equal(download.suggestedFilename(), "Garden Tone.wav");
  assert.ok(saved.equals(tune), "the saved file is the uploaded file");
  console.log(`dropped after ${dropped.held}/${dropped.total} chunks`);
  assert.deepEqual(errors, []);
  await context.close();
});

test("uploads refused in the page say why; a view token sees only the files it was granted", async () => {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${base}/login`);
  const notAudio = await page.evaluate(async (auth) => {
    const r = await fetch("/api/files/notes.txt", { method: "PUT", headers: { authorization: auth }, body: "shopping: milk" });
    return { status: r.status, json: await r.json() };
  }, basic);
  assert.equal(notAudio.status, 415);
  assert.match(notAudio.json.error.message, /not an audio file/);
  const all = await viewToken(page, null);
  const list = await page.evaluate(async (t) => (await (await fetch("/api/files", { headers: { authorization: `Bearer ${t}` } })).json()).files, all);
  assert.deepEqual(list, [], "an unlimited view token is no grant for uploads");
  const refused = await page.evaluate(async ([t, rawPeer]) => {
    try {
      await eval(`(${rawPeer})`)(t, "nosy", "long-wav", "bytes");
      return "played";
    } catch (e) {
      return String(e);
    }
  }, [all, RAW_PEER]);
  assert.match(refused, /offer refused: 404/);
  await page.context().close();
});
