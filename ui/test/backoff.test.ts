import { describe, expect, it } from "vitest";
import { Backoff } from "../src/lib/backoff";

describe("reconnect backoff", () => {
  it("doubles from the first delay up to the cap", () => {
    const b = new Backoff({ initialMs: 500, maxMs: 15000, jitter: 0 });
    expect(Array.from({ length: 8 }, () => b.next())).toEqual([500, 1000, 2000, 4000, 8000, 15000, 15000, 15000]);
  });

  it("spreads delays over the jitter range so reconnecting clients do not stampede", () => {
    const lo = new Backoff({ initialMs: 1000, maxMs: 1000, jitter: 0.5 }, () => 0.999999);
    const hi = new Backoff({ initialMs: 1000, maxMs: 1000, jitter: 0.5 }, () => 0);
    expect(lo.next()).toBe(500);
    expect(hi.next()).toBe(1000);
    const real = new Backoff({ initialMs: 1000, maxMs: 1000, jitter: 0.5 });
    const seen = new Set(Array.from({ length: 50 }, () => real.next()));
    expect(seen.size).toBeGreaterThan(10);
    for (const d of seen) expect(d).toBeGreaterThanOrEqual(500);
  });

  it("starts over after a connection that worked", () => {
    const b = new Backoff({ initialMs: 100, maxMs: 10000, jitter: 0 });
    b.next();
    b.next();
    b.reset();
    expect(b.next()).toBe(100);
  });
});
