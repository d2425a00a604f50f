// Waiting on a board: poll a check, and re-check at once when the board
// notifies. Improv's state, error and result characteristics and the
// provisioning status all notify and can all be read: a notification makes
// the wait end as soon as the board has moved; the poll covers a board (or a
// browser) whose notifications never arrive.

/** Wakes whoever waits on it, once per `wake()`. */
export class Waker {
  private waiters: (() => void)[] = [];

  /** Resolves at the next `wake()`. */
  next(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }
}

export interface UntilOptions {
  /** How long between polls (250 ms: what a person will not notice). */
  pollMs?: number;
  /** Re-check as soon as this resolves (a board's notification). */
  wake?: () => Promise<void>;
  /** Ends the wait with the signal's reason. */
  signal?: AbortSignal;
}

/** Waits until `check` returns a value; throws `message` after `ms`. */
export async function until<T>(check: () => Promise<T | null>, ms: number, message: string, options: UntilOptions = {}): Promise<T> {
  const { pollMs = 250, wake, signal } = options;
  const end = Date.now() + ms;
  for (;;) {
    signal?.throwIfAborted();
    const v = await check();
    if (v !== null) return v;
    const left = end - Date.now();
    if (left <= 0) throw new Error(message);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const sleep = new Promise<void>((r) => (timer = setTimeout(r, Math.min(pollMs, left))));
    await Promise.race(wake ? [sleep, wake()] : [sleep]);
    clearTimeout(timer);
  }
}
