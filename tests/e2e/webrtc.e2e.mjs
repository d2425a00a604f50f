// Live audio over WebRTC, end to end, with headless Chromium as the real
// remote peer on "another machine": the relay runs in a network namespace of
// the test's own (10.77.N.1), Chromium in a second one (10.77.N.2, lan.mjs
// with `phone: true`), so the ICE candidates on both sides are addresses the
// test made. A devkit simulator plays a 440 Hz tone into the relay; the page
// opens the `audioStream` DataChannel through POST /api/offer and must get
// what /audio/ws gives — the same `format` message, PCM chunks of the same
// size carrying the tone, `stats` messages — and its pong.
// Run: node --test tests/e2e/webrtc.e2e.mjs (after `cargo build -p relaydeck` with ui/dist built).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { relayWithPhone } from "./lan.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const { chromium } = createRequire(path.join(root, "ui/package.json"))("playwright-core");
const bin = process.env.RELAYDECK_BIN ?? path.join(root, "target/debug/relaydeck");
const PASSWORD = "webrtc e2e password";

let lan, browser, relay, dataDir, base;
const children = [];

before(async () => {
  dataDir = mkdtempSync(path.join(tmpdir(), "relaydeck-webrtc-"));
  ({ lan, relay, base, browser } = await relayWithPhone({ chromium, bin, password: PASSWORD, dataDir, children }));
});

after(async () => {
  await browser?.close();
  for (const c of children) c.kill("SIGTERM");
  lan?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** An API call made by the page itself, as the admin. */
function inPage(page, method, url, body) {
  return page.evaluate(
    async ([method, url, body, auth]) => {
      const r = await fetch(url, { method, headers: { authorization: auth, ...(body ? { "content-type": "application/json" } : {}) }, body: body ? JSON.stringify(body) : undefined });
      return { status: r.status, json: await r.json().catch(() => null) };
    },
    [method, url, body, `Basic ${btoa(`admin:${PASSWORD}`)}`],
  );
}

test("a browser on another machine hears a devkit over the audioStream DataChannel exactly as /audio/ws sends it", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  const { json: device } = await inPage(page, "POST", "/api/devices", { name: "Tone kit", deviceId: "tone-kit" });
  const { json: view } = await inPage(page, "POST", "/api/tokens", { name: "webrtc listener", scope: "view", ids: ["tone-kit"] });
  const [cmd, args] = lan.command(bin, ["devkit-sim", "--server", `127.0.0.1:${relay.devkitPort}`, "--device-id", "tone-kit", "--token", device.token, "--tone", "440"]);
  children.push(spawn(cmd, args, { stdio: "ignore" }));

  const got = await page.evaluate(
    async ([token]) => {
      const auth = { authorization: `Bearer ${token}` };
      const wait = (ms) => new Promise((r) => setTimeout(r, ms));
      // The same source over /audio/ws, for comparison.
      const ws = new WebSocket(`ws://${location.host}/audio/ws?source=tone-kit&token=${token}`);
      ws.binaryType = "arraybuffer";
      const viaWs = { texts: [], sizes: [] };
      ws.onmessage = (e) => (typeof e.data === "string" ? viaWs.texts.push(JSON.parse(e.data)) : viaWs.sizes.push(e.data.byteLength));

      const pc = new RTCPeerConnection();
      const dc = pc.createDataChannel("audioStream");
      dc.binaryType = "arraybuffer";
      const viaDc = { texts: [], sizes: [], pcm: [] };
      dc.onmessage = (e) => {
        if (typeof e.data === "string") viaDc.texts.push(JSON.parse(e.data));
        else {
          viaDc.sizes.push(e.data.byteLength);
          viaDc.pcm.push(...new Int16Array(e.data));
        }
      };
      dc.onopen = () => dc.send(JSON.stringify({ type: "ping", t: 42 }));
      // Non-trickle: the offer goes once gathering is complete.
      await pc.setLocalDescription(await pc.createOffer());
      while (pc.iceGatheringState !== "complete") await wait(50);
      const t0 = performance.now();
      const r = await fetch("/api/offer", { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ offer: pc.localDescription, clientId: "page-1", source: "tone-kit" }) });
      const reply = await r.json();
      const answerMs = performance.now() - t0;
      await pc.setRemoteDescription(reply.answer);
      const end = performance.now() + 15000;
      while (viaDc.pcm.length < 16000 && performance.now() < end) await wait(100);
      await wait(1200); // stats messages on both
      const stats = await pc.getStats();
      const pair = [...stats.values()].find((s) => s.type === "candidate-pair" && s.nominated);
      const remote = pair && stats.get(pair.remoteCandidateId);
      ws.close();
      pc.close();
      return { status: r.status, answerSdp: reply.answer?.sdp ?? "", answerMs, viaWs, viaDc: { ...viaDc, pcm: viaDc.pcm.slice(0, 16000) }, state: pc.connectionState, remote: remote?.address };
    },
    [view.token],
  );

  assert.equal(got.status, 200);
  assert.ok(!/\.local/.test(got.answerSdp), "no mDNS candidates in the answer");
  assert.equal(got.remote, lan.relayIp, "the media went to the relay's LAN address");
  const format = (m) => m.type === "format";
  const fDc = got.viaDc.texts.find(format);
  assert.deepEqual(fDc, got.viaWs.texts.find(format), "the same format message");
  assert.deepEqual(fDc, { type: "format", source: "tone-kit", sampleRate: 16000, channels: 1, encoding: "s16le" });
  // The format comes before any stats (the pong to the page's ping may come earlier still).
  assert.equal(got.viaDc.texts.filter((m) => m.type !== "pong")[0].type, "format", "the format comes first");
  assert.ok(got.viaDc.texts.some((m) => m.type === "pong" && m.t === 42), "ping answered");
  const stats = got.viaDc.texts.filter((m) => m.type === "stats");
  assert.ok(stats.length >= 1, "stats messages");
  assert.deepEqual(Object.keys(stats[0]).sort(), Object.keys(got.viaWs.texts.find((m) => m.type === "stats")).sort(), "the same stats fields as /audio/ws");
  assert.equal(stats.at(-1).online, true);
  // Chunks as the hub forwards them: 20 ms of 16 kHz mono s16le, the size /audio/ws sends.
  assert.ok(got.viaDc.sizes.length >= 20, `chunks arrived (${got.viaDc.sizes.length})`);
  assert.deepEqual([...new Set(got.viaDc.sizes)], [...new Set(got.viaWs.sizes)]);
  assert.deepEqual([...new Set(got.viaDc.sizes)], [640]);
  // The tone: 440 Hz is 880 zero crossings a second.
  const pcm = got.viaDc.pcm;
  let crossings = 0;
  for (let i = 1; i < pcm.length; i++) if ((pcm[i - 1] < 0) !== (pcm[i] < 0)) crossings++;
  const hz = crossings / 2 / (pcm.length / 16000);
  assert.ok(Math.abs(hz - 440) < 10, `the tone is heard at ${hz.toFixed(1)} Hz`);
  console.log(`offer → answer ${got.answerMs.toFixed(0)} ms; ${got.viaDc.sizes.length} chunks; ${hz.toFixed(1)} Hz`);
  await context.close();
});

test("a plain WHEP client in the page hears the devkit's tone on the shared Opus track; getStats shows packets and jitter; DELETE ends the session", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  const { json: device } = await inPage(page, "POST", "/api/devices", { name: "Opus kit", deviceId: "opus-kit" });
  const { json: view } = await inPage(page, "POST", "/api/tokens", { name: "whep listener", scope: "view", ids: ["opus-kit"] });
  const [cmd, args] = lan.command(bin, ["devkit-sim", "--server", `127.0.0.1:${relay.devkitPort}`, "--device-id", "opus-kit", "--token", device.token, "--tone", "440"]);
  children.push(spawn(cmd, args, { stdio: "ignore" }));

  const got = await page.evaluate(
    async ([token]) => {
      const wait = (ms) => new Promise((r) => setTimeout(r, ms));
      const pc = new RTCPeerConnection();
      pc.addTransceiver("audio", { direction: "recvonly" });
      const track = new Promise((r) => (pc.ontrack = (e) => r(e.streams[0] ?? new MediaStream([e.track]))));
      await pc.setLocalDescription(await pc.createOffer());
      while (pc.iceGatheringState !== "complete") await wait(50);
      // WHEP: the offer as application/sdp, the answer back with 201 and the session's URL.
      const r = await fetch("/api/whep/opus-kit", { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/sdp" }, body: pc.localDescription.sdp });
      const answer = await r.text();
      const location = r.headers.get("location");
      const etag = r.headers.get("etag");
      await pc.setRemoteDescription({ type: "answer", sdp: answer });
      const stream = await track;
      // Chromium feeds a remote track to Web Audio only while a media element plays it.
      const el = new Audio();
      el.srcObject = stream;
      el.muted = true;
      await el.play();
      const ctx = new AudioContext({ sampleRate: 48000 });
      await ctx.resume();
      const analyser = ctx.createAnalyser();
      analyser.fftSize = 16384;
      ctx.createMediaStreamSource(stream).connect(analyser);
      const bins = new Float32Array(analyser.frequencyBinCount);
      let peakHz = 0;
      const end = performance.now() + 15000;
      while (performance.now() < end) {
        await wait(250);
        analyser.getFloatFrequencyData(bins);
        let best = 0;
        for (let i = 1; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
        if (bins[best] > -60) {
          peakHz = (best * ctx.sampleRate) / analyser.fftSize;
          if (Math.abs(peakHz - 440) < 6) break;
        }
      }
      const inbound = async () => [...(await pc.getStats()).values()].find((s) => s.type === "inbound-rtp" && s.kind === "audio");
      // A couple of seconds of audio, for the statistics.
      while ((await inbound()).packetsReceived < 100 && performance.now() < end + 5000) await wait(200);
      const playing = await inbound();
      const codec = playing && (await pc.getStats()).get(playing.codecId);
      // DELETE ends the session: the packets stop.
      const del = await fetch(location, { method: "DELETE", headers: { authorization: `Bearer ${token}` } });
      await wait(1500);
      const atEnd = (await inbound()).packetsReceived;
      await wait(2000);
      const later = (await inbound()).packetsReceived;
      const again = (await fetch(location, { method: "DELETE", headers: { authorization: `Bearer ${token}` } })).status;
      pc.close();
      ctx.close();
      return { status: r.status, type: r.headers.get("content-type"), location, etag, peakHz, packets: playing?.packetsReceived, jitter: playing?.jitter, mime: codec?.mimeType, del: del.status, atEnd, later, again };
    },
    [view.token],
  );
  assert.equal(got.status, 201);
  assert.equal(got.type, "application/sdp");
  assert.match(got.location, /^\/api\/whep\/opus-kit\/[0-9a-f]{32}$/);
  assert.match(got.etag, /^"[0-9a-f]{32}"$/);
  assert.equal(got.mime, "audio/opus");
  assert.ok(Math.abs(got.peakHz - 440) < 6, `the AnalyserNode hears ${got.peakHz.toFixed(1)} Hz`);
  assert.ok(got.packets >= 100, `getStats: ${got.packets} packets received`);
  assert.equal(typeof got.jitter, "number", "getStats reports jitter");
  assert.ok(got.jitter < 0.05, `jitter ${got.jitter} s on a LAN`);
  assert.equal(got.del, 200);
  assert.equal(got.later, got.atEnd, "no packets after DELETE");
  assert.equal(got.again, 404, "the session is gone");
  console.log(`WHEP: ${got.packets} Opus packets, jitter ${(got.jitter * 1000).toFixed(1)} ms, tone at ${got.peakHz.toFixed(1)} Hz`);
  await context.close();
});

test("a view token for another source is refused before any peer exists", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/login`);
  await inPage(page, "POST", "/api/devices", { name: "Other kit", deviceId: "other-kit" });
  const { json: view } = await inPage(page, "POST", "/api/tokens", { name: "other listener", scope: "view", ids: ["other-kit"] });
  const status = await page.evaluate(async ([token]) => {
    const pc = new RTCPeerConnection();
    pc.createDataChannel("audioStream");
    await pc.setLocalDescription(await pc.createOffer());
    const r = await fetch("/api/offer", { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ offer: pc.localDescription, clientId: "page-2", source: "tone-kit" }) });
    pc.close();
    return r.status;
  }, [view.token]);
  assert.equal(status, 403);
  await context.close();
});
