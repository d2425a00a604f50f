import { describe, expect, it } from "vitest";
import { parseMux } from "../src/lib/mux";

// Builds a packet exactly as docs/PROTOCOL.md describes it.
function packet(id: string, seq: number, us: bigint, jpeg: number[]): ArrayBuffer {
  const idBytes = new TextEncoder().encode(id);
  const buf = new ArrayBuffer(2 + idBytes.length + 12 + jpeg.length);
  const v = new DataView(buf);
  v.setUint8(0, 1);
  v.setUint8(1, idBytes.length);
  new Uint8Array(buf, 2, idBytes.length).set(idBytes);
  v.setUint32(2 + idBytes.length, seq);
  v.setBigUint64(6 + idBytes.length, us);
  new Uint8Array(buf, 14 + idBytes.length).set(jpeg);
  return buf;
}

describe("the multi-camera frame header", () => {
  it("yields the camera, the big-endian sequence and capture time, and the JPEG untouched", () => {
    const f = parseMux(packet("kitchen-1", 0xdeadbeef, 1_763_700_000_123_456n, [0xff, 0xd8, 1, 2, 0xff, 0xd9]))!;
    expect(f.id).toBe("kitchen-1");
    expect(f.seq).toBe(0xdeadbeef);
    expect(f.capturedUs).toBe(1_763_700_000_123_456n);
    expect([...f.jpeg]).toEqual([0xff, 0xd8, 1, 2, 0xff, 0xd9]);
  });

  it("reads UTF-8 IDs by their byte length", () => {
    expect(parseMux(packet("cámara", 1, 0n, [0xff, 0xd8]))!.id).toBe("cámara");
  });

  it("refuses other versions and truncated headers instead of misreading them", () => {
    const good = packet("a", 1, 0n, [0xff, 0xd8]);
    const v2 = good.slice(0);
    new DataView(v2).setUint8(0, 2);
    expect(parseMux(v2)).toBeNull();
    for (let len = 0; len < 2 + 1 + 12; len++) expect(parseMux(good.slice(0, len))).toBeNull();
  });
});
