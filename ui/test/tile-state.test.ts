import { describe, expect, it } from "vitest";
import { DEFAULT_LAYOUT, inGrid, measuredFps, ordered, parseLayout, STALE_MS, tileState } from "../src/lib/tile-state";

const live = { state: "live" } as const;
const unavailable = { state: "unavailable", message: "no camera found on this computer" } as const;

describe("what a camera tile says", () => {
  it("a tile that is playing says live, whatever the availability said before", () => {
    const now = 10_000;
    expect(tileState({ online: true, availability: live, lastFrameAt: now - 10, now })).toBe("live");
    expect(tileState({ online: true, availability: { state: "standby" }, lastFrameAt: now - 10, now })).toBe("live");
    expect(tileState({ online: true, availability: unavailable, lastFrameAt: now - 10, now })).toBe("live");
  });
  it("waiting only before the first frame; stalled once frames stop", () => {
    const now = 10_000;
    expect(tileState({ online: true, availability: live, lastFrameAt: 0, now })).toBe("waiting");
    expect(tileState({ online: true, availability: live, lastFrameAt: now - STALE_MS - 1, now })).toBe("stalled");
    expect(tileState({ online: true, availability: { state: "standby" }, lastFrameAt: now - STALE_MS - 1, now })).toBe("standby");
    expect(tileState({ online: false, availability: live, lastFrameAt: now - 10, now })).toBe("offline");
  });
  it("an unavailable camera that never delivered is not a tile in the grid", () => {
    const now = 10_000;
    const s = tileState({ online: true, availability: unavailable, lastFrameAt: 0, now });
    expect(s).toBe("unavailable");
    expect(inGrid(s, false)).toBe(false);
    expect(inGrid(s, true)).toBe(true); // its last picture stays, marked
    expect(inGrid("waiting", false)).toBe(true);
    expect(inGrid("offline", false)).toBe(false); // turned off before it showed anything
    expect(inGrid("offline", true)).toBe(true); // its last picture, greyed
  });
});

describe("the measured frame rate", () => {
  it("counts sequence numbers over capture time, so skipped frames still count", () => {
    expect(measuredFps([])).toBe(0);
    expect(measuredFps([{ cap: 0, seq: 1 }])).toBe(0);
    // 15 fps camera, this viewer saw every third frame.
    expect(measuredFps([{ cap: 0, seq: 1 }, { cap: 200, seq: 4 }, { cap: 400, seq: 7 }, { cap: 1000, seq: 16 }])).toBeCloseTo(15);
  });
});

describe("the grid layout kept per browser", () => {
  it("reads what was saved, and falls back to the default for anything else", () => {
    expect(parseLayout(JSON.stringify({ columns: "3", order: "name" }))).toEqual({ columns: "3", order: "name" });
    expect(parseLayout(null)).toEqual(DEFAULT_LAYOUT);
    expect(parseLayout("{not json")).toEqual(DEFAULT_LAYOUT);
    expect(parseLayout(JSON.stringify({ columns: "9", order: "random" }))).toEqual(DEFAULT_LAYOUT);
  });
  it("orders tiles as they joined or by name", () => {
    const tiles = [
      { id: "b", name: "Porch", joined: 0 },
      { id: "a", name: "Attic", joined: 1 },
      { id: "c", name: "Attic", joined: 2 },
    ];
    expect(ordered(tiles, "joined").map((t) => t.id)).toEqual(["b", "a", "c"]);
    expect(ordered(tiles, "name").map((t) => t.id)).toEqual(["a", "c", "b"]);
  });
});
