// The live audio player (main thread): an AnalyserNode for the waveform,
// level and frequency, the volume, and the counters the Listen page shows,
// over one of three transports, best first:
//
// * `webrtc`: the relay's Opus track (./webrtc.ts), played by the browser's
//   own jitter buffer with loss concealment; needs no secure context.
// * `websocket`: PCM over /audio/ws into an AudioWorklet with this app's
//   jitter buffer (./player-worklet.ts); needs a secure context.
// * `wav`: the live WAV in an <audio> element, where neither is possible.
//
// WebRTC is tried first unless the user chose WebSocket; when it cannot
// connect the player says why and plays over the next transport.
import type { ListenerEvent, SocketReply } from "../generated/contract";
import { wsUrl, withToken } from "../lib/api";
import { Backoff } from "../lib/backoff";
import { SAMPLE_BYTES, type Encoding } from "../lib/jitter";
import type { FromWorklet, ToWorklet } from "./player-worklet";
import workletUrl from "./player-worklet.ts?worker&url";
import { WebRtcAudio, webRtcAvailable } from "./webrtc";

export type Transport = "webrtc" | "websocket" | "wav";

export interface PlayerStats {
  state: "idle" | "connecting" | "playing" | "buffering" | "offline" | "reconnecting" | "blocked" | "fallback" | "error";
  message: string;
  depthMs: number;
  underruns: number;
  gaps: number; // audio the source lost or filled (server counters) plus what this listener dropped
  droppedMs: number;
  delayMs: number | null; // end-to-end: server receive → now, plus the buffer
  sampleRate: number;
  channels: number;
  encoding: string;
  /** What plays now (null when nothing does). */
  transport: Transport | null;
  /** Why WebRTC is not the transport, when it was tried and failed. */
  notWebRtc: string;
}

function listenerId(): string {
  const key = "relaydeck-listener-id";
  let id = sessionStorage.getItem(key);
  if (!id) {
    id = `l-${crypto.getRandomValues(new Uint32Array(2)).join("")}`;
    sessionStorage.setItem(key, id);
  }
  return id;
}

/** This page's WebRTC `clientId` for `source` (a new offer under it replaces the older peer). */
function clientId(source: string): string {
  return `${listenerId()}-${source}`.slice(0, 64);
}

export class LivePlayer {
  readonly stats: PlayerStats = { state: "idle", message: "", depthMs: 0, underruns: 0, gaps: 0, droppedMs: 0, delayMs: null, sampleRate: 0, channels: 0, encoding: "s16le", transport: null, notWebRtc: "" };
  /** Whether play() tries WebRTC first (the Listen page's Transport choice). */
  preferWebRtc = true;
  analyser: AnalyserNode | null = null;
  private ctx: AudioContext | null = null;
  private node: AudioWorkletNode | null = null;
  private gain: GainNode | null = null;
  private volume = 1;
  private muted = false;
  /** The source's publisher is connected (the listener socket's `stats.online`). */
  private sourceOnline = true;
  private ws: WebSocket | null = null;
  private audio: HTMLAudioElement | null = null;
  private stopped = true;
  private backoff = new Backoff();
  private lastServerMs = 0;
  private lastServerAt = 0;
  private rtc: WebRtcAudio | null = null;
  private rtcElement: HTMLAudioElement | null = null;
  private rtcTimer: ReturnType<typeof setInterval> | null = null;

  constructor(readonly source: string, private targetMs: number, private onChange: () => void) {}

  static secureAudioAvailable(): boolean {
    return window.isSecureContext && typeof AudioWorkletNode !== "undefined";
  }

  /** Starts playback; call from a click (browsers allow audio only then). */
  async play(): Promise<void> {
    this.stopped = false;
    this.stats.notWebRtc = "";
    if (this.preferWebRtc && webRtcAvailable()) {
      if (!(await this.audioContext())) return;
      try {
        await this.playWebRtc();
        return;
      } catch (e) {
        this.closeWebRtc();
        if (this.stopped) return;
        this.stats.notWebRtc = (e as Error).message;
      }
    }
    if (!LivePlayer.secureAudioAvailable()) return this.playFallback();
    if (!(await this.audioContext())) return;
    await this.playWebSocket();
  }

  /** The running AudioContext; false (and "blocked") when the browser holds it back. */
  private async audioContext(): Promise<boolean> {
    this.ctx ??= new AudioContext({ latencyHint: "interactive" });
    await this.ctx.resume();
    if (this.ctx.state !== "running") {
      this.set("blocked", "The browser blocked audio. Click Play again to allow it.");
      return false;
    }
    return true;
  }

  /** The analyser and the volume after it, into the speakers. */
  private outputChain(ctx: AudioContext): AudioNode {
    this.analyser = ctx.createAnalyser();
    this.analyser.fftSize = 8192;
    // The scope and spectrum show the signal; the volume applies after them.
    this.gain = ctx.createGain();
    this.applyVolume();
    this.analyser.connect(this.gain).connect(ctx.destination);
    return this.analyser;
  }

  private async playWebRtc() {
    this.set("connecting", "");
    const rtc = new WebRtcAudio();
    this.rtc = rtc;
    const stream = await rtc.start(this.source, clientId(this.source), this.targetMs);
    if (this.rtc !== rtc || this.stopped) throw new Error("stopped");
    // Chromium feeds a remote track into Web Audio only while a media
    // element plays it; muted, since the graph below is what is heard.
    const el = new Audio();
    el.srcObject = stream;
    el.muted = true;
    void el.play().catch(() => undefined);
    this.rtcElement = el;
    const ctx = this.ctx!;
    ctx.createMediaStreamSource(stream).connect(this.outputChain(ctx));
    this.stats.transport = "webrtc";
    this.backoff.reset();
    this.set("buffering", "Filling the buffer…");
    rtc.onEnd((why) => {
      if (this.rtc !== rtc || this.stopped) return;
      this.closeWebRtc();
      const wait = this.backoff.next();
      this.set("reconnecting", `${why[0].toUpperCase()}${why.slice(1)}; retrying in ${(wait / 1000).toFixed(1)} s.`);
      setTimeout(() => !this.stopped && void this.play(), wait);
    });
    let packets = 0;
    this.rtcTimer = setInterval(async () => {
      const f = await rtc.facts();
      if (!f || this.rtc !== rtc) return;
      const flowing = f.packets > packets;
      packets = f.packets;
      this.stats.depthMs = f.bufferMs;
      this.stats.gaps = f.lost;
      this.stats.droppedMs = f.concealedMs;
      this.stats.delayMs = flowing ? f.bufferMs + (f.networkMs ?? 0) + (ctx.outputLatency ?? 0) * 1000 : null;
      if (flowing) this.set("playing", "");
      else this.set("offline", "No audio arriving; waiting for the source.");
    }, 1000);
  }

  private closeWebRtc() {
    if (this.rtcTimer !== null) clearInterval(this.rtcTimer);
    this.rtcTimer = null;
    this.rtc?.close();
    this.rtc = null;
    if (this.rtcElement) {
      this.rtcElement.pause();
      this.rtcElement.srcObject = null;
    }
    this.rtcElement = null;
    this.analyser?.disconnect();
    this.analyser = null;
    this.gain?.disconnect();
    this.gain = null;
    if (this.stats.transport === "webrtc") this.stats.transport = null;
  }

  private async playWebSocket() {
    const ctx = this.ctx!;
    this.stats.transport = "websocket";
    if (!this.node) {
      await ctx.audioWorklet.addModule(workletUrl);
      this.node = new AudioWorkletNode(ctx, "relaydeck-player", { numberOfInputs: 0, outputChannelCount: [2] });
      this.node.connect(this.outputChain(ctx));
      this.node.port.onmessage = (ev: MessageEvent<FromWorklet>) => this.onWorklet(ev.data);
    }
    this.post({ type: "target", ms: this.targetMs });
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.closeWebRtc();
    this.stats.transport = null;
    this.ws?.close(1000, "stopped");
    this.ws = null;
    this.post({ type: "clear" });
    this.audio?.pause();
    this.audio?.removeAttribute("src");
    this.audio = null;
    void this.ctx?.close();
    this.ctx = null;
    this.node = null;
    this.gain = null;
    this.analyser = null;
    this.set("idle", "");
  }

  /** Volume 0–1 and mute, applied at once (and to the WAV fallback). */
  setVolume(volume: number, muted: boolean): void {
    this.volume = Math.min(1, Math.max(0, volume));
    this.muted = muted;
    this.applyVolume();
  }

  private applyVolume() {
    const v = this.muted ? 0 : this.volume;
    if (this.gain && this.ctx) this.gain.gain.setTargetAtTime(v, this.ctx.currentTime, 0.02);
    if (this.audio) {
      this.audio.volume = this.volume;
      this.audio.muted = this.muted;
    }
  }

  setTarget(ms: number): void {
    this.targetMs = ms;
    this.post({ type: "target", ms });
    this.rtc?.setTarget(ms);
  }

  /** The strongest frequency the analyser hears now, in Hz (null when silent). */
  peakHz(): number | null {
    const a = this.analyser;
    if (!a || !this.ctx) return null;
    const bins = new Float32Array(a.frequencyBinCount);
    a.getFloatFrequencyData(bins);
    let best = 0;
    for (let i = 1; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
    if (bins[best] < -90) return null;
    return (best * this.ctx.sampleRate) / a.fftSize;
  }

  private post(msg: ToWorklet, transfer: Transferable[] = []) {
    this.node?.port.postMessage(msg, transfer);
  }

  private set(state: PlayerStats["state"], message: string) {
    this.stats.state = state;
    this.stats.message = message;
    this.onChange();
  }

  private connect() {
    if (this.stopped) return;
    this.set(this.stats.state === "idle" ? "connecting" : "reconnecting", "");
    const q = `source=${encodeURIComponent(this.source)}&backlogMs=${Math.round(this.targetMs)}&listenerId=${listenerId()}`;
    const ws = new WebSocket(wsUrl(`/audio/ws?${q}`));
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onopen = () => this.backoff.reset();
    ws.onmessage = (ev) => {
      if (typeof ev.data !== "string") {
        this.post({ type: "pcm", data: ev.data }, [ev.data]);
        return;
      }
      const msg = JSON.parse(ev.data) as ListenerEvent | SocketReply;
      if (msg.type === "format") {
        if (!(msg.encoding in SAMPLE_BYTES)) {
          this.set("error", `This source streams ${msg.encoding} audio, which this player cannot decode.`);
          return;
        }
        this.stats.sampleRate = msg.sampleRate;
        this.stats.channels = msg.channels;
        this.post({ type: "format", sampleRate: msg.sampleRate, channels: msg.channels, encoding: msg.encoding as Encoding });
        this.stats.encoding = msg.encoding;
      } else if (msg.type === "stats") {
        // No chunk forwarded yet: nothing to measure the delay against.
        if (msg.serverTimeMs !== null) {
          this.lastServerMs = msg.serverTimeMs;
          this.lastServerAt = Date.now();
        }
        this.stats.gaps = (msg.lost ?? 0) + (msg.filled ?? 0) + (msg.dropped ?? 0);
        if (msg.online !== this.sourceOnline) {
          this.sourceOnline = msg.online;
          // Offline: no delay to speak of (nothing arrives), not a delay that grows.
          if (!msg.online) this.stats.delayMs = null;
          if (!msg.online) this.set("offline", "Offline, waiting for the source.");
          else this.set("buffering", "Filling the buffer…");
        }
      }
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws || this.stopped) return;
      if (ev.code === 1008) {
        this.set("error", ev.reason || "The relay refused this source.");
        return;
      }
      const wait = this.backoff.next();
      this.set("reconnecting", `Connection lost; retrying in ${(wait / 1000).toFixed(1)} s.`);
      setTimeout(() => this.connect(), wait);
    };
  }

  private onWorklet(msg: FromWorklet) {
    this.stats.depthMs = msg.depthMs;
    this.stats.underruns = msg.underruns;
    this.stats.droppedMs = msg.droppedMs;
    if (this.stats.state === "offline") {
      this.onChange();
      return;
    }
    if (this.lastServerMs) {
      // Age of the newest chunk when its stats came, plus what waits in the buffer.
      this.stats.delayMs = Math.max(0, this.lastServerAt - this.lastServerMs) + msg.depthMs + (this.ctx?.outputLatency ?? 0) * 1000;
    }
    if (this.stats.state === "connecting" || this.stats.state === "reconnecting" || this.stats.state === "buffering" || this.stats.state === "playing") {
      this.stats.state = msg.playing ? "playing" : "buffering";
      this.stats.message = msg.playing ? "" : "Filling the buffer…";
    }
    this.onChange();
  }

  private playFallback() {
    this.stats.transport = "wav";
    this.audio = new Audio(withToken(`/api/audio/${encodeURIComponent(this.source)}/live.wav?backlogMs=${Math.round(this.targetMs)}`));
    this.applyVolume();
    this.audio.play().then(
      () => this.set("fallback", "Playing the live WAV stream. Open this page over HTTPS for lower latency and the full player."),
      () => this.set("blocked", "The browser blocked audio. Click Play again to allow it."),
    );
  }
}
