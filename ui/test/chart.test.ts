import { describe, expect, it } from "vitest";
import { niceMax, pathOf, rates } from "../src/lib/chart";

describe("rates from counters", () => {
  it("is the difference per second, one point per interval", () => {
    const r = rates([
      { t: 0, v: 0 },
      { t: 5000, v: 150 },
      { t: 10000, v: 450 },
    ]);
    expect(r).toEqual([
      [5000, 30],
      [10000, 60],
    ]);
  });

  it("makes a gap, not a negative rate, where a counter was reset or missing", () => {
    const r = rates([
      { t: 0, v: 100 },
      { t: 5000, v: 10 },
      { t: 10000, v: undefined },
      { t: 15000, v: 60 },
      { t: 20000, v: 110 },
    ]);
    expect(r).toEqual([
      [5000, null],
      [10000, null],
      [15000, null],
      [20000, 10],
    ]);
  });
});

describe("axes and paths", () => {
  it("rounds the top up to 1, 2 or 5 × 10ⁿ", () => {
    expect([0, 0.3, 1, 1.2, 3, 7, 42, 999].map(niceMax)).toEqual([1, 0.5, 1, 2, 5, 10, 50, 1000]);
  });

  it("draws each run between gaps as its own subpath, clipped to the top", () => {
    const d = pathOf(
      [
        [0, 0],
        [50, 10],
        [60, null],
        [100, 20],
      ],
      0,
      100,
      10,
      100,
      10,
    );
    expect(d).toBe("M0.0,10.0L50.0,0.0M100.0,0.0");
  });

  it("leaves out what is older than the window", () => {
    expect(pathOf([[-5, 1], [5, 1]], 0, 10, 1, 10, 10)).toBe("M5.0,0.0");
  });
});
