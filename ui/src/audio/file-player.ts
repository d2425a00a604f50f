// Plays a library file in pcm mode as its chunks arrive: each 64 KiB chunk
// becomes an AudioBuffer scheduled back to back on the AudioContext's clock
// (sample-exact, so no gaps), up to LOOKAHEAD ahead. A chunk that has not
// arrived when it is due pauses the clock ("buffering") until it does; a seek
// to a chunk not held asks the relay for it (FileStream.need).
//
// AudioBufferSourceNode needs no secure context, so this plays on a plain
// HTTP LAN page too.
import { FileStream, type FileMeta } from "./file-stream";

/** Seconds of audio scheduled ahead of the play position. */
const LOOKAHEAD = 1.5;
/** A scheduled start is this far in the future, so it is never late. */
const LEAD = 0.05;

export type FilePlayerState = "loading" | "buffering" | "playing" | "paused" | "ended" | "error";

export class FilePlayer {
  readonly stream: FileStream;
  state: FilePlayerState = "loading";
  analyser: AnalyserNode | null = null;
  private ctx: AudioContext | null = null;
  private gain: GainNode | null = null;
  private sources: AudioBufferSourceNode[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  /** The file's second `pos` sounds at context time `at`; frozen while buffering. */
  private anchor = { at: 0, pos: 0 };
  private frozen = true;
  private playing = false;
  private paused = 0;
  /** The next chunk to schedule, and where in it to start. */
  private next = { chunk: 0, offset: 0 };
  private volume = 1;

  constructor(file: string, clientId: string, private readonly onChange: () => void) {
    this.stream = new FileStream(file, "pcm", clientId, {
      meta: () => onChange(),
      chunk: () => this.tick(),
      state: (s) => {
        if (s === "error") this.state = "error";
        onChange();
      },
    });
    this.stream.start();
  }

  get meta(): FileMeta | null {
    return this.stream.meta;
  }

  get duration(): number {
    return this.meta?.durationSec ?? 0;
  }

  /** Bytes per sample of the PCM (s16le: 2; a recording in s32le or f32le: 4). */
  private get sampleBytes(): number {
    return this.meta?.format?.encoding === "s16le" ? 2 : 4;
  }

  /** Seconds per full chunk. */
  private get chunkSeconds(): number {
    const f = this.meta!.format!;
    return this.meta!.chunkSize / (f.sampleRate * f.channels * this.sampleBytes);
  }

  /** Where playback is, in seconds of the file. */
  get position(): number {
    if (!this.playing || !this.ctx) return this.paused;
    if (this.frozen) return this.anchor.pos;
    return Math.min(this.duration, this.anchor.pos + Math.max(0, this.ctx.currentTime - this.anchor.at));
  }

  /** Held stretches of the file, in seconds, for the seek bar. */
  buffered(): [number, number][] {
    const c = this.stream.chunks;
    if (!c || !this.meta?.format) return [];
    const s = this.chunkSeconds;
    return c.ranges().map(([a, b]) => [a * s, Math.min(this.duration, b * s)]);
  }

  /** Starts or continues; call from the user's gesture (the AudioContext may start only then). */
  async play(): Promise<void> {
    if (!this.ctx) {
      this.ctx = new AudioContext();
      this.gain = this.ctx.createGain();
      this.analyser = this.ctx.createAnalyser();
      this.analyser.fftSize = 2048;
      this.gain.connect(this.analyser).connect(this.ctx.destination);
      this.gain.gain.value = this.volume;
    }
    await this.ctx.resume();
    if (this.state === "ended") this.paused = 0;
    this.playing = true;
    this.startAt(this.paused);
    this.timer ??= setInterval(() => this.tick(), 100);
    this.tick();
  }

  pause(): void {
    this.paused = this.position;
    this.playing = false;
    this.stopSources();
    this.state = "paused";
    this.onChange();
  }

  seek(seconds: number): void {
    const to = Math.max(0, Math.min(this.duration, seconds));
    this.stream.need(to);
    if (!this.playing) {
      this.paused = to;
      this.onChange();
      return;
    }
    this.stopSources();
    this.startAt(to);
    this.tick();
  }

  setVolume(v: number): void {
    this.volume = v;
    if (this.gain) this.gain.gain.value = v;
  }

  close(): void {
    this.playing = false;
    this.stopSources();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.stream.close();
    void this.ctx?.close();
    this.ctx = null;
  }

  private startAt(pos: number): void {
    this.frozen = true;
    this.anchor = { at: 0, pos };
    if (!this.meta?.format) return;
    const chunk = Math.min(this.meta.totalChunks, Math.floor(pos / this.chunkSeconds));
    this.next = { chunk, offset: pos - chunk * this.chunkSeconds };
  }

  private stopSources(): void {
    for (const s of this.sources) {
      s.onended = null;
      try {
        s.stop();
      } catch {
        /* not started */
      }
    }
    this.sources = [];
  }

  /** Schedules what has arrived up to LOOKAHEAD ahead; notices the end and underruns. */
  private tick(): void {
    const ctx = this.ctx;
    const meta = this.meta;
    if (!this.playing || !ctx || !meta?.format) return;
    const chunks = this.stream.chunks!;
    const now = ctx.currentTime;
    const scheduledUntil = this.next.chunk * this.chunkSeconds + this.next.offset;
    if (this.next.chunk >= meta.totalChunks && this.position >= this.duration - 0.01) {
      this.playing = false;
      this.paused = this.duration;
      this.state = "ended";
      this.onChange();
      return;
    }
    // Everything scheduled has played and the next chunk is not here: wait for it.
    if (!this.frozen && now >= this.anchor.at + (scheduledUntil - this.anchor.pos) && !chunks.has(this.next.chunk)) {
      this.frozen = true;
      this.anchor = { at: 0, pos: scheduledUntil };
    }
    while (this.next.chunk < meta.totalChunks && chunks.has(this.next.chunk)) {
      const from = this.next.chunk * this.chunkSeconds + this.next.offset;
      if (!this.frozen && from > this.position + LOOKAHEAD) break;
      if (this.frozen) {
        this.anchor = { at: now + LEAD, pos: from };
        this.frozen = false;
      }
      this.schedule(ctx, this.next.chunk, this.next.offset, this.anchor.at + (from - this.anchor.pos));
      this.next = { chunk: this.next.chunk + 1, offset: 0 };
    }
    const state: FilePlayerState = this.frozen ? "buffering" : "playing";
    if (state !== this.state) {
      this.state = state;
      this.onChange();
    }
  }

  private schedule(ctx: AudioContext, chunk: number, offset: number, when: number): void {
    const f = this.meta!.format!;
    const data = this.stream.chunks!.get(chunk)!;
    // s16le and s32le are scaled to [-1, 1); f32le is already there.
    const samples = f.encoding === "f32le" ? new Float32Array(data) : f.encoding === "s32le" ? new Int32Array(data) : new Int16Array(data);
    const scale = f.encoding === "f32le" ? 1 : f.encoding === "s32le" ? 2147483648 : 32768;
    const frames = samples.length / f.channels;
    const buffer = ctx.createBuffer(f.channels, frames, f.sampleRate);
    for (let c = 0; c < f.channels; c++) {
      const plane = buffer.getChannelData(c);
      for (let i = 0; i < frames; i++) plane[i] = samples[i * f.channels + c] / scale;
    }
    const src = ctx.createBufferSource();
    src.buffer = buffer;
    src.connect(this.gain!);
    src.start(Math.max(when, ctx.currentTime), offset);
    src.onended = () => {
      this.sources = this.sources.filter((s) => s !== src);
    };
    this.sources.push(src);
  }
}
