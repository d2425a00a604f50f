import { describe, expect, it } from "vitest";
import { LatestWins, painterKind } from "../src/lib/painter";

describe("which painter a camera tile uses", () => {
  it("canvas in Chromium, <img> in WebKit and elsewhere", () => {
    expect(painterKind(null, true)).toBe("canvas");
    expect(painterKind(null, false)).toBe("img");
  });
  it("a stored choice wins; anything else stored is ignored", () => {
    expect(painterKind("img", true)).toBe("img");
    expect(painterKind("canvas", false)).toBe("canvas");
    expect(painterKind("webgl", true)).toBe("canvas");
  });
});

/** A painter whose decodes finish when the test says so. */
class Manual extends LatestWins {
  started: string[] = [];
  finish: ((ok: boolean) => void)[] = [];
  firsts = 0;
  constructor() {
    super(() => this.firsts++);
  }
  protected draw(jpeg: Blob) {
    void jpeg.text().then((t) => this.started.push(t));
    return new Promise<boolean>((resolve) => this.finish.push(resolve));
  }
}
const frame = (n: number) => new Blob([`frame ${n}`]);
const settle = () => new Promise((r) => setTimeout(r, 0));

describe("a tile's painter is latest-wins", () => {
  it("frames that arrive during a decode are replaced by the newest, which is drawn next", async () => {
    const p = new Manual();
    p.show(frame(1));
    p.show(frame(2));
    p.show(frame(3));
    await settle();
    expect(p.started).toEqual(["frame 1"]);
    p.finish[0](true);
    await settle();
    expect(p.started).toEqual(["frame 1", "frame 3"]);
    p.finish[1](true);
    await settle();
    expect(p.drawn).toBe(2);
    expect(p.firsts).toBe(1);
  });
  it("nothing is drawn when nothing arrived", async () => {
    const p = new Manual();
    p.show(frame(1));
    await settle();
    p.finish[0](true);
    await settle();
    await settle();
    expect(p.started).toEqual(["frame 1"]);
  });
  it("a frame that cannot be decoded is not counted, and the first picture waits for one that can", async () => {
    const p = new Manual();
    p.show(frame(1));
    await settle();
    p.finish[0](false);
    await settle();
    expect(p.firsts).toBe(0);
    expect(p.drawn).toBe(0);
    p.show(frame(2));
    await settle();
    p.finish[1](true);
    await settle();
    expect([p.firsts, p.drawn]).toEqual([1, 1]);
  });
});
