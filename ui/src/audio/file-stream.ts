// A library file over WebRTC: the `fileStream` DataChannel of
// docs/PROTOCOL.md ("Files over WebRTC"). The relay sends `metadata`, 64 KiB
// chunks and `complete`; this side keeps every chunk (FileChunks), asks for
// `seek` (pcm mode) or `resume` where it lacks one, and after a dropped
// connection reconnects with backoff and resumes from the first chunk it
// still needs.
import type { FileEvent, FileMode, WebRtcAnswer, WebRtcConfig } from "../generated/contract";
import { api } from "../lib/api";
import { Backoff } from "../lib/backoff";
import { FileChunks } from "./file-chunks";
import { gathered } from "./webrtc";

export type FileMeta = Extract<FileEvent, { type: "metadata" }>;
export type StreamState = "connecting" | "streaming" | "complete" | "reconnecting" | "error" | "closed";

export interface FileStreamEvents {
  meta?(meta: FileMeta): void;
  chunk?(index: number): void;
  state?(state: StreamState, message: string): void;
}

/** How long a connection may take before it is tried again. */
const CONNECT_MS = 8000;

export class FileStream {
  meta: FileMeta | null = null;
  chunks: FileChunks | null = null;
  state: StreamState = "connecting";
  message = "";
  /** Connections made (the first, then one per reconnect). */
  connections = 0;
  private pc: RTCPeerConnection | null = null;
  private dc: RTCDataChannel | null = null;
  private readonly backoff = new Backoff({ initialMs: 500, maxMs: 10000, jitter: 0.5 });
  private retry: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  /** The chunk the page needs next: where a resume starts looking. */
  private want = 0;

  constructor(
    readonly file: string,
    readonly mode: FileMode,
    private readonly clientId: string,
    private readonly events: FileStreamEvents = {},
  ) {}

  start(): void {
    void this.connect();
  }

  /** The chunk holding second `seconds` (pcm mode). */
  chunkAt(seconds: number): number {
    const f = this.meta?.format;
    if (!f || !this.meta) return 0;
    const bytes = seconds * f.sampleRate * f.channels * (f.encoding === "s16le" ? 2 : 4);
    return Math.min(this.meta.totalChunks, Math.max(0, Math.floor(bytes / this.meta.chunkSize)));
  }

  /**
   * The page will play from `seconds`: a chunk it lacks there is asked for
   * (`seek`); one it holds continues the stream from the first gap after it.
   */
  need(seconds: number): void {
    if (!this.chunks) return;
    this.want = this.chunkAt(seconds);
    if (!this.chunks.has(this.want)) this.send({ type: "seek", seconds });
    else if (!this.chunks.complete) this.send({ type: "resume", fromChunk: this.chunks.firstMissing(this.want) });
  }

  /** Drops the connection as a network would (the stream reconnects). */
  drop(): void {
    this.pc?.close();
    this.onLost("the connection dropped");
  }

  close(): void {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.pc?.close();
    this.pc = null;
    this.dc = null;
    this.setState("closed", "");
  }

  private send(msg: object): void {
    if (this.dc?.readyState !== "open" || !this.chunks) return;
    this.chunks.awaitSeeked();
    this.dc.send(JSON.stringify(msg));
  }

  /** The first chunk still needed: after the one the page plays next, else from the start. */
  private gap(): number {
    const c = this.chunks!;
    const after = c.firstMissing(this.want);
    return after < c.totalChunks ? after : c.firstMissing(0);
  }

  private setState(state: StreamState, message: string): void {
    this.state = state;
    this.message = message;
    this.events.state?.(state, message);
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    this.connections++;
    this.setState(this.connections === 1 ? "connecting" : "reconnecting", this.connections === 1 ? "Connecting…" : "Reconnecting…");
    try {
      const { iceServers } = await api<WebRtcConfig>("/api/webrtc");
      const pc = new RTCPeerConnection({ iceServers: iceServers.map((s) => ({ urls: s.urls, username: s.username ?? undefined, credential: s.credential ?? undefined })) });
      this.pc = pc;
      const dc = pc.createDataChannel("fileStream", { ordered: true });
      dc.binaryType = "arraybuffer";
      this.dc = dc;
      dc.onmessage = (e) => this.onMessage(pc, e.data);
      dc.onclose = () => pc === this.pc && this.onLost("the channel closed");
      pc.onconnectionstatechange = () => {
        if (pc === this.pc && (pc.connectionState === "failed" || pc.connectionState === "closed")) this.onLost(`the connection ${pc.connectionState}`);
      };
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      const { answer } = await api<WebRtcAnswer>("/api/offer", {
        method: "POST",
        body: JSON.stringify({ offer: { type: "offer", sdp: pc.localDescription!.sdp }, clientId: this.clientId, file: this.file, mode: this.mode }),
      });
      await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
      await opened(dc);
    } catch (e) {
      const err = e as Error & { status?: number };
      // A refusal (unknown file, no right to it) is final; the network is retried.
      if (err.status && err.status >= 400 && err.status < 500) {
        this.pc?.close();
        this.setState("error", err.message);
        return;
      }
      this.onLost(err.message);
    }
  }

  private onLost(why: string): void {
    if (this.closed || this.state === "error" || this.retry) return;
    this.pc?.close();
    this.pc = null;
    this.dc = null;
    if (this.chunks?.complete) {
      this.setState("complete", "");
      return;
    }
    const wait = this.backoff.next();
    this.setState("reconnecting", `Connection lost (${why}); retrying in ${(wait / 1000).toFixed(1)} s.`);
    this.retry = setTimeout(() => {
      this.retry = null;
      void this.connect();
    }, wait);
  }

  private onMessage(pc: RTCPeerConnection, data: unknown): void {
    if (pc !== this.pc) return;
    if (data instanceof ArrayBuffer) {
      const at = this.chunks?.receive(data);
      if (at !== undefined && at !== null) this.events.chunk?.(at);
      return;
    }
    const msg = JSON.parse(String(data)) as FileEvent | { type: "error"; code?: string; message: string } | { type: "pong" };
    switch (msg.type) {
      case "metadata":
        this.onMeta(msg);
        break;
      case "seeked":
        this.chunks?.seeked(msg.chunk);
        break;
      case "complete":
        // The relay reached the end; chunks skipped by a seek are fetched now.
        if (this.chunks?.complete) this.setState("complete", "");
        else if (this.chunks) this.send({ type: "resume", fromChunk: this.gap() });
        break;
      case "error":
        // A file the relay cannot serve any more ends the stream; a message it
        // did not take (its `code`) is only reported.
        if ("code" in msg && msg.code) this.message = msg.message;
        else {
          this.closed = true;
          this.pc?.close();
          this.setState("error", msg.message);
        }
        break;
    }
  }

  private onMeta(meta: FileMeta): void {
    this.backoff.reset();
    if (!this.chunks) {
      this.meta = meta;
      this.chunks = new FileChunks(meta.totalChunks, meta.chunkSize, meta.totalSize);
      this.events.meta?.(meta);
    } else {
      // A reconnect: the new channel starts at chunk 0; continue where the page needs.
      this.chunks.restart();
      const from = this.gap();
      if (from !== 0) this.send({ type: "resume", fromChunk: from });
    }
    this.setState(this.chunks.complete ? "complete" : "streaming", "");
  }
}

function opened(dc: RTCDataChannel): Promise<void> {
  if (dc.readyState === "open") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the DataChannel did not open within ${CONNECT_MS / 1000} s`)), CONNECT_MS);
    dc.addEventListener("open", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
