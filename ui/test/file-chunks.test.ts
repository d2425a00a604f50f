import { describe, expect, it } from "vitest";
import { FileChunks } from "../src/audio/file-chunks";

const chunk = (n: number, fill: number) => new Uint8Array(n).fill(fill).buffer;

describe("FileChunks", () => {
  it("stores chunks in order and joins them into the file", () => {
    const c = new FileChunks(3, 4, 10);
    expect(c.receive(chunk(4, 1))).toBe(0);
    expect(c.receive(chunk(4, 2))).toBe(1);
    expect(c.complete).toBe(false);
    expect(c.receive(chunk(2, 3))).toBe(2);
    expect(c.complete).toBe(true);
    expect([...c.joined()]).toEqual([1, 1, 1, 1, 2, 2, 2, 2, 3, 3]);
    expect(c.receive(chunk(4, 9))).toBeNull();
  });

  it("refuses a chunk of the wrong length", () => {
    const c = new FileChunks(3, 4, 10);
    expect(() => c.receive(chunk(3, 0))).toThrow(/chunk 0 is 3 bytes/);
  });

  it("after a seek, ignores what was in flight until seeked, then stores from there", () => {
    const c = new FileChunks(6, 4, 24);
    c.receive(chunk(4, 0));
    c.awaitSeeked();
    expect(c.receive(chunk(4, 1))).toBeNull(); // sent before the seek
    c.seeked(4);
    expect(c.receive(chunk(4, 4))).toBe(4);
    expect(c.ranges()).toEqual([
      [0, 1],
      [4, 5],
    ]);
    expect(c.firstMissing(0)).toBe(1);
    expect(c.firstMissing(4)).toBe(5);
    expect(c.has(1)).toBe(false);
  });

  it("names the first missing chunk for a resume", () => {
    const c = new FileChunks(4, 4, 16);
    for (let i = 0; i < 4; i++) c.receive(chunk(4, i));
    expect(c.firstMissing(0)).toBe(4);
    c.restart();
    expect(c.receive(chunk(4, 7))).toBe(0); // a fresh channel starts at chunk 0
    expect(new Uint8Array(c.get(0)!)[0]).toBe(7);
  });
});
