// The chunks of one library file a page holds, by index (the `fileStream`
// DataChannel sends 64 KiB chunks in order from the chunk its last
// `metadata`/`seeked` message named; docs/PROTOCOL.md). Pure: tested alone.

export class FileChunks {
  private readonly chunks: (ArrayBuffer | undefined)[];
  private held = 0;
  /** The index the next binary message is, or null while one is to be ignored. */
  private cursor: number | null = 0;

  constructor(readonly totalChunks: number, readonly chunkSize: number, readonly totalSize: number) {
    this.chunks = new Array(totalChunks);
  }

  /** A binary message arrived: stored at the cursor, unless chunks are being skipped. */
  receive(data: ArrayBuffer): number | null {
    const at = this.cursor;
    if (at === null || at >= this.totalChunks) return null;
    if (data.byteLength !== this.expectedLength(at)) throw new Error(`chunk ${at} is ${data.byteLength} bytes, expected ${this.expectedLength(at)}`);
    if (!this.chunks[at]) this.held++;
    this.chunks[at] = data;
    this.cursor = at + 1;
    return at;
  }

  /** A `resume`/`seek` was sent: what arrives until its `seeked` was sent before it. */
  awaitSeeked(): void {
    this.cursor = null;
  }

  /** `seeked`: binary messages from here on are chunk `chunk`, `chunk + 1`, … */
  seeked(chunk: number): void {
    this.cursor = chunk;
  }

  /** A fresh channel (after a reconnect) starts at chunk 0 until told otherwise. */
  restart(): void {
    this.cursor = 0;
  }

  get(i: number): ArrayBuffer | undefined {
    return this.chunks[i];
  }

  has(i: number): boolean {
    return this.chunks[i] !== undefined;
  }

  get complete(): boolean {
    return this.held === this.totalChunks;
  }

  get heldCount(): number {
    return this.held;
  }

  /** The first chunk at or after `from` not held yet (`totalChunks` when none is missing). */
  firstMissing(from = 0): number {
    for (let i = Math.max(0, from); i < this.totalChunks; i++) if (!this.chunks[i]) return i;
    return this.totalChunks;
  }

  /** Runs of held chunks, as [first, end) index pairs. */
  ranges(): [number, number][] {
    const out: [number, number][] = [];
    let start = -1;
    for (let i = 0; i <= this.totalChunks; i++) {
      const have = i < this.totalChunks && this.chunks[i] !== undefined;
      if (have && start < 0) start = i;
      if (!have && start >= 0) {
        out.push([start, i]);
        start = -1;
      }
    }
    return out;
  }

  /** Every chunk in order, joined (all must be held). */
  joined(): Uint8Array {
    const out = new Uint8Array(this.totalSize);
    for (let i = 0; i < this.totalChunks; i++) {
      const c = this.chunks[i];
      if (!c) throw new Error(`chunk ${i} is missing`);
      out.set(new Uint8Array(c), i * this.chunkSize);
    }
    return out;
  }

  private expectedLength(i: number): number {
    return i < this.totalChunks - 1 ? this.chunkSize : this.totalSize - i * this.chunkSize;
  }
}
