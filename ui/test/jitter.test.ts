import { describe, expect, it } from "vitest";
import { decodePcm, decodeS16le, encodeS16le, JitterBuffer, Resampler } from "../src/lib/jitter";

const chunk = (n: number, start = 0) => [Float32Array.from({ length: n }, (_, i) => start + i)];

describe("the jitter buffer", () => {
  it("stays silent until the target depth is buffered, then plays in order", () => {
    const b = new JitterBuffer(1, 300, 10_000);
    const out = [new Float32Array(128)];
    b.push(chunk(200));
    expect(b.pull(out)).toBe(0);
    expect(out[0].every((v) => v === 0)).toBe(true);
    b.push(chunk(200, 200));
    expect(b.pull(out)).toBe(128);
    expect(out[0][0]).toBe(0);
    expect(out[0][127]).toBe(127);
    expect(b.stats().depth).toBe(400 - 128);
  });

  it("counts an underrun when it runs dry, pads with silence and waits for the target again", () => {
    const b = new JitterBuffer(1, 100, 10_000);
    b.push(chunk(150));
    const out = [new Float32Array(128)];
    b.pull(out);
    expect(b.pull(out)).toBe(22);
    expect(out[0][21]).toBe(149);
    expect(out[0][22]).toBe(0);
    expect(b.stats()).toMatchObject({ underruns: 1, playing: false, depth: 0 });
    b.push(chunk(50));
    expect(b.pull(out)).toBe(0); // 50 < target: still refilling
  });

  it("drops the oldest samples above the maximum, so latency stays bounded", () => {
    const b = new JitterBuffer(1, 10, 256);
    for (let i = 0; i < 4; i++) b.push(chunk(100, i * 100));
    expect(b.stats()).toMatchObject({ depth: 256, dropped: 144 });
    const out = [new Float32Array(4)];
    b.pull(out);
    expect([...out[0]]).toEqual([144, 145, 146, 147]);
  });

  it("a lower target applies while playing: the oldest samples above it go at once", () => {
    const b = new JitterBuffer(1, 100, 10_000);
    b.push(chunk(500));
    const out = [new Float32Array(10)];
    b.pull(out); // playing, 490 buffered
    b.retarget(200, 10_000);
    expect(b.stats()).toMatchObject({ depth: 200, playing: true, dropped: 290 });
    b.pull(out);
    expect(out[0][0]).toBe(300); // the newest 200 samples remain, in order
  });

  it("a higher target applies while playing: output pauses until the buffer holds it", () => {
    const b = new JitterBuffer(1, 100, 10_000);
    b.push(chunk(150));
    const out = [new Float32Array(10)];
    b.pull(out);
    b.retarget(400, 10_000);
    expect(b.pull(out)).toBe(0);
    b.push(chunk(300, 150));
    expect(b.pull(out)).toBe(10);
    expect(out[0][0]).toBe(10); // nothing was lost while it refilled
  });

  it("keeps stereo channels aligned", () => {
    const b = new JitterBuffer(2, 1, 1000);
    b.push([Float32Array.of(1, 2, 3), Float32Array.of(-1, -2, -3)]);
    const out = [new Float32Array(3), new Float32Array(3)];
    b.pull(out);
    expect([...out[0]]).toEqual([1, 2, 3]);
    expect([...out[1]]).toEqual([-1, -2, -3]);
  });
});

describe("the resampler", () => {
  it("passes audio through when the rates match", () => {
    const x = Float32Array.of(0.1, 0.2);
    expect(new Resampler(48000, 48000).process(x)).toBe(x);
  });

  it("produces rate-ratio samples across chunk boundaries and keeps a tone's frequency", () => {
    const from = 16000, to = 48000, hz = 440;
    const r = new Resampler(from, to);
    const outs: number[] = [];
    for (let c = 0; c < 50; c++) {
      const x = Float32Array.from({ length: 320 }, (_, i) => Math.sin((2 * Math.PI * hz * (c * 320 + i)) / from));
      outs.push(...r.process(x));
    }
    expect(Math.abs(outs.length - 50 * 320 * 3)).toBeLessThanOrEqual(3);
    // Count rising zero crossings over one second of output.
    let crossings = 0;
    for (let i = 1; i < 48000; i++) if (outs[i - 1] < 0 && outs[i] >= 0) crossings++;
    expect(Math.abs(crossings - hz)).toBeLessThanOrEqual(1);
    // Continuity at a chunk boundary: no jump larger than the signal's slope allows.
    const maxStep = (2 * Math.PI * hz) / to + 1e-3;
    for (let i = 1; i < outs.length; i++) expect(Math.abs(outs[i] - outs[i - 1])).toBeLessThanOrEqual(maxStep);
  });

  it("downsamples 48 kHz to 16 kHz by three", () => {
    const r = new Resampler(48000, 16000);
    const y = r.process(Float32Array.from({ length: 960 }, (_, i) => i));
    expect(y.length).toBe(320);
    expect(y[2] - y[1]).toBeCloseTo(3, 5);
  });
});

describe("s16le", () => {
  it("decodes interleaved little-endian samples per channel and round-trips", () => {
    const bytes = new Uint8Array([0x00, 0x40, 0x00, 0xc0, 0xff, 0x7f, 0x00, 0x80]).buffer; // 16384, -16384, 32767, -32768
    const [l, r] = decodeS16le(bytes, 2);
    expect([...l]).toEqual([0.5, 32767 / 32768]);
    expect([...r]).toEqual([-0.5, -1]);
    const back = new Int16Array(encodeS16le(Float32Array.of(0.5, -0.5, -1)));
    expect([...back]).toEqual([16383, -16384, -32768]);
  });
});

describe("every PCM encoding a source may stream decodes to the same level", () => {
  const samples = [0.5, -0.25, 0, -1];
  const bytes = (enc: "s16le" | "s32le" | "f32le") => {
    const size = enc === "s16le" ? 2 : 4;
    const view = new DataView(new ArrayBuffer(samples.length * size));
    samples.forEach((s, i) => {
      if (enc === "s16le") view.setInt16(i * 2, s * 32768, true);
      else if (enc === "s32le") view.setInt32(i * 4, s * 2147483648, true);
      else view.setFloat32(i * 4, s, true);
    });
    return view.buffer;
  };
  for (const enc of ["s16le", "s32le", "f32le"] as const) {
    it(enc, () => {
      const [l, r] = decodePcm(bytes(enc), 2, enc);
      expect(Array.from(l)).toEqual([0.5, 0]);
      expect(Array.from(r)).toEqual([-0.25, -1]);
    });
  }
  it("f32le out of range is clipped and NaN is silence", () => {
    const view = new DataView(new ArrayBuffer(12));
    view.setFloat32(0, 3, true);
    view.setFloat32(4, -7, true);
    view.setFloat32(8, NaN, true);
    expect(Array.from(decodePcm(view.buffer, 1, "f32le")[0])).toEqual([1, -1, 0]);
  });
});
