// Audio playback logic, free of Web Audio so it can be unit-tested:
// PCM decoding (s16le, s32le, f32le), a linear resampler that keeps its phase across chunks,
// and a jitter buffer that starts (and restarts after an underrun) only
// once it holds the target depth.

/** The PCM encodings a source may stream in (the `format` message's `encoding`). */
export type Encoding = "s16le" | "s32le" | "f32le";

export const SAMPLE_BYTES: Record<Encoding, number> = { s16le: 2, s32le: 4, f32le: 4 };

/** Interleaved s16le PCM → one Float32Array per channel. */
export function decodeS16le(bytes: ArrayBuffer, channels: number): Float32Array[] {
  return decodePcm(bytes, channels, "s16le");
}

/** Interleaved PCM in `encoding` → one Float32Array per channel, in [-1, 1]. */
export function decodePcm(bytes: ArrayBuffer, channels: number, encoding: Encoding): Float32Array[] {
  const view = new DataView(bytes);
  const size = SAMPLE_BYTES[encoding];
  const frames = Math.floor(bytes.byteLength / (size * channels));
  const out = Array.from({ length: channels }, () => new Float32Array(frames));
  const read =
    encoding === "s16le"
      ? (at: number) => view.getInt16(at, true) / 32768
      : encoding === "s32le"
        ? (at: number) => view.getInt32(at, true) / 2147483648
        : (at: number) => Math.max(-1, Math.min(1, view.getFloat32(at, true) || 0)); // NaN → silence
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < channels; c++) {
      out[c][i] = read((i * channels + c) * size);
    }
  }
  return out;
}

/** Float samples → s16le bytes (for publishing a microphone). */
export function encodeS16le(samples: Float32Array): ArrayBuffer {
  const out = new DataView(new ArrayBuffer(samples.length * 2));
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    out.setInt16(i * 2, s < 0 ? s * 32768 : s * 32767, true);
  }
  return out.buffer;
}

/**
 * Linear-interpolating resampler for one channel. Streaming: the position
 * and the last input sample carry over, so chunk boundaries are seamless.
 */
export class Resampler {
  // Position of the next output sample in the sequence [prev, ...input]:
  // index 0 is the previous chunk's last sample, so interpolation spans chunks.
  private t = 0;
  private prev = 0;
  private readonly step: number;
  constructor(readonly fromRate: number, readonly toRate: number) {
    if (!(fromRate > 0 && toRate > 0)) throw new Error(`bad rates ${fromRate} → ${toRate}`);
    this.step = fromRate / toRate;
  }

  process(input: Float32Array): Float32Array {
    if (this.fromRate === this.toRate) return input;
    const n = input.length;
    const seq = (k: number) => (k === 0 ? this.prev : input[k - 1]);
    const out = new Float32Array(Math.max(0, Math.ceil((n - this.t) / this.step) + 1));
    let count = 0;
    let t = this.t;
    while (Math.floor(t) + 1 <= n) {
      const i = Math.floor(t);
      const a = seq(i);
      out[count++] = a + (seq(i + 1) - a) * (t - i);
      t += this.step;
    }
    this.t = t - n;
    if (n > 0) this.prev = input[n - 1];
    return out.subarray(0, count);
  }
}

export interface JitterStats {
  /** Samples buffered now. */
  depth: number;
  /** Times playback ran dry after it had started. */
  underruns: number;
  /** Samples dropped because the buffer overflowed (the oldest go first). */
  dropped: number;
  playing: boolean;
}

/**
 * A FIFO of samples for one channel group. Playback waits until `target`
 * samples are buffered; when it runs dry it outputs silence, counts an
 * underrun and waits for `target` again. Above `max` the oldest samples are
 * dropped, so latency stays bounded.
 */
export class JitterBuffer {
  private chunks: Float32Array[][] = [];
  private offset = 0; // read position in chunks[0]
  private depth = 0;
  private playing = false;
  private underruns = 0;
  private dropped = 0;

  constructor(readonly channels: number, public target: number, public max: number) {}

  push(chunk: Float32Array[]): void {
    if (chunk.length !== this.channels) throw new Error("channel count mismatch");
    this.chunks.push(chunk);
    this.depth += chunk[0].length;
    while (this.depth > this.max && this.chunks.length > 0) {
      const extra = this.depth - this.max;
      const head = this.chunks[0][0].length - this.offset;
      if (head <= extra) {
        this.chunks.shift();
        this.offset = 0;
        this.depth -= head;
        this.dropped += head;
      } else {
        this.offset += extra;
        this.depth -= extra;
        this.dropped += extra;
      }
    }
  }

  /** Fills `out` (one array per channel); returns how many samples were real audio. */
  pull(out: Float32Array[]): number {
    const n = out[0].length;
    if (!this.playing) {
      if (this.depth < this.target) {
        out.forEach((o) => o.fill(0));
        return 0;
      }
      this.playing = true;
    }
    let written = 0;
    while (written < n && this.chunks.length > 0) {
      const head = this.chunks[0];
      const take = Math.min(n - written, head[0].length - this.offset);
      for (let c = 0; c < this.channels; c++) out[c].set(head[c].subarray(this.offset, this.offset + take), written);
      written += take;
      this.offset += take;
      this.depth -= take;
      if (this.offset >= head[0].length) {
        this.chunks.shift();
        this.offset = 0;
      }
    }
    if (written < n) {
      out.forEach((o) => o.fill(0, written));
      this.playing = false;
      this.underruns++;
    }
    return written;
  }

  /**
   * A new target depth, applied at once to a buffer that plays: what is
   * buffered above it goes, oldest first (the delay falls now, not after the
   * next underrun); a higher one than is buffered pauses output until the
   * buffer holds it.
   */
  retarget(target: number, max: number): void {
    const raise = target > this.target;
    this.target = target;
    this.max = max;
    if (raise && this.depth < target) {
      this.playing = false;
      return;
    }
    let extra = this.depth - target;
    while (extra > 0 && this.chunks.length > 0) {
      const head = this.chunks[0][0].length - this.offset;
      const take = Math.min(head, extra);
      this.offset += take;
      this.depth -= take;
      this.dropped += take;
      extra -= take;
      if (this.offset >= this.chunks[0][0].length) {
        this.chunks.shift();
        this.offset = 0;
      }
    }
  }

  clear(): void {
    this.chunks = [];
    this.offset = 0;
    this.depth = 0;
    this.playing = false;
  }

  stats(): JitterStats {
    return { depth: this.depth, underruns: this.underruns, dropped: this.dropped, playing: this.playing };
  }
}
