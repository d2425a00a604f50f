import { describe, expect, it } from "vitest";
import { until, Waker } from "../src/lib/wait";

describe("waiting on a board", () => {
  it("re-checks at once when the board notifies, long before the next poll", async () => {
    const waker = new Waker();
    let state = 1;
    let checks = 0;
    const started = Date.now();
    setTimeout(() => {
      state = 4;
      waker.wake();
    }, 20);
    const v = await until(async () => (checks++, state === 4 ? state : null), 5000, "never", { pollMs: 10_000, wake: () => waker.next() });
    expect(v).toBe(4);
    expect(checks).toBe(2);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("polls when no notification comes", async () => {
    let checks = 0;
    const v = await until(async () => (++checks >= 3 ? "done" : null), 5000, "never", { pollMs: 5, wake: () => new Waker().next() });
    expect(v).toBe("done");
    expect(checks).toBe(3);
  });

  it("gives up with the caller's message at the deadline", async () => {
    await expect(until(async () => null, 30, "The board did not answer.", { pollMs: 5 })).rejects.toThrow("The board did not answer.");
  });

  it("ends when the attempt is cancelled", async () => {
    const abort = new AbortController();
    setTimeout(() => abort.abort(new Error("cancelled")), 10);
    await expect(until(async () => null, 5000, "timeout", { pollMs: 5, signal: abort.signal })).rejects.toThrow("cancelled");
  });

  it("wakes every waiter once per notification", async () => {
    const waker = new Waker();
    let woken = 0;
    const a = waker.next().then(() => woken++);
    const b = waker.next().then(() => woken++);
    waker.wake();
    await Promise.all([a, b]);
    waker.wake(); // nobody waits: nothing happens
    expect(woken).toBe(2);
  });
});
