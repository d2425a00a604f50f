// A live source over WebRTC: the relay's shared Opus track, played by the
// browser's own jitter buffer with loss concealment (docs/PROTOCOL.md,
// "WebRTC: POST /api/offer"). Signalling is one request: the complete offer
// (non-trickle) to POST /api/offer, the complete answer back.
//
// Works without a secure context (plain HTTP on a LAN), where the
// WebSocket player has no AudioWorklet and would fall back to the WAV stream.
import type { WebRtcAnswer, WebRtcConfig } from "../generated/contract";
import { api } from "../lib/api";

/** What getStats says about the Opus track, as the Listen page shows it. */
export interface WebRtcFacts {
  packets: number;
  lost: number;
  concealedMs: number;
  /** The browser's jitter buffer, average over the last interval (ms). */
  bufferMs: number;
  jitterMs: number;
  /** Half the candidate pair's round trip (ms), when known. */
  networkMs: number | null;
}

/** How long the peer may take to connect before the player falls back. */
const CONNECT_MS = 8000;

export function webRtcAvailable(): boolean {
  return typeof RTCPeerConnection !== "undefined";
}

/** Asks the browser for stereo Opus (it decodes to mono otherwise). */
export function preferStereo(sdp: string): string {
  return sdp.replace(/^(a=fmtp:\d+ (?=[^\r\n]*useinbandfec=1)[^\r\n]*?)(;stereo=1)?(\r?)$/gm, "$1;stereo=1$3");
}

export class WebRtcAudio {
  private pc: RTCPeerConnection | null = null;
  private receiver: RTCRtpReceiver | null = null;
  private last: { at: number; delay: number; emitted: number } | null = null;

  /**
   * Connects and resolves with the remote stream once media flows; rejects
   * with the reason when the relay refuses or the peer does not connect.
   */
  async start(source: string, clientId: string, targetMs: number): Promise<MediaStream> {
    const { iceServers } = await api<WebRtcConfig>("/api/webrtc");
    const pc = new RTCPeerConnection({ iceServers: iceServers.map((s) => ({ urls: s.urls, username: s.username ?? undefined, credential: s.credential ?? undefined })) });
    this.pc = pc;
    const transceiver = pc.addTransceiver("audio", { direction: "recvonly" });
    this.receiver = transceiver.receiver;
    this.setTarget(targetMs);
    const stream = new Promise<MediaStream>((resolve) => {
      pc.ontrack = (e) => resolve(e.streams[0] ?? new MediaStream([e.track]));
    });
    const offer = await pc.createOffer();
    await pc.setLocalDescription({ type: "offer", sdp: preferStereo(offer.sdp ?? "") });
    await gathered(pc);
    const { answer } = await api<WebRtcAnswer>("/api/offer", {
      method: "POST",
      body: JSON.stringify({ offer: { type: "offer", sdp: pc.localDescription!.sdp }, clientId, source }),
    });
    await pc.setRemoteDescription({ type: "answer", sdp: answer.sdp });
    await connected(pc);
    const media = await stream;
    this.setTarget(targetMs); // again, now that the receiver has its track
    return media;
  }

  /** The jitter buffer the user chose, as the browser's target (where it has one). */
  setTarget(ms: number): void {
    const r = this.receiver as (RTCRtpReceiver & { jitterBufferTarget?: number | null }) | null;
    if (r && "jitterBufferTarget" in r) r.jitterBufferTarget = ms;
  }

  /** Calls `onEnd` once the connection fails or closes. */
  onEnd(onEnd: (why: string) => void): void {
    const pc = this.pc;
    if (!pc) return;
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "failed" || pc.connectionState === "closed") onEnd(`the WebRTC connection ${pc.connectionState}`);
    };
  }

  async facts(): Promise<WebRtcFacts | null> {
    if (!this.pc) return null;
    const stats = await this.pc.getStats();
    let inbound: RTCInboundRtpStreamStats | undefined;
    let pair: RTCIceCandidatePairStats | undefined;
    for (const s of stats.values()) {
      if (s.type === "inbound-rtp" && s.kind === "audio") inbound = s as RTCInboundRtpStreamStats;
      if (s.type === "candidate-pair" && (s as RTCIceCandidatePairStats).nominated) pair = s as RTCIceCandidatePairStats;
    }
    if (!inbound) return null;
    const i = inbound as RTCInboundRtpStreamStats & { jitterBufferDelay?: number; jitterBufferEmittedCount?: number; concealedSamples?: number };
    const delay = i.jitterBufferDelay ?? 0;
    const emitted = i.jitterBufferEmittedCount ?? 0;
    // The buffer's average over the last interval (the counters are cumulative).
    let bufferMs = 0;
    if (this.last && emitted > this.last.emitted) bufferMs = ((delay - this.last.delay) / (emitted - this.last.emitted)) * 1000;
    else if (emitted > 0) bufferMs = (delay / emitted) * 1000;
    this.last = { at: performance.now(), delay, emitted };
    const rtt = pair?.currentRoundTripTime;
    return {
      packets: i.packetsReceived ?? 0,
      lost: Math.max(0, i.packetsLost ?? 0),
      concealedMs: ((i.concealedSamples ?? 0) / 48000) * 1000,
      bufferMs,
      jitterMs: (i.jitter ?? 0) * 1000,
      networkMs: rtt === undefined ? null : (rtt * 1000) / 2,
    };
  }

  close(): void {
    this.pc?.close();
    this.pc = null;
    this.receiver = null;
    this.last = null;
  }
}

/** Resolves once ICE gathering is complete, or after 3 s (non-trickle: the offer goes with what it has). */
export function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    // The relay answers with what it has after 3 s; so does this side.
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(done, 3000);
    pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && done());
  });
}

function connected(pc: RTCPeerConnection): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`WebRTC did not connect within ${CONNECT_MS / 1000} s`)), CONNECT_MS);
    const check = () => {
      if (pc.connectionState === "connected") {
        clearTimeout(timer);
        resolve();
      } else if (pc.connectionState === "failed" || pc.connectionState === "closed") {
        clearTimeout(timer);
        reject(new Error(`the WebRTC connection ${pc.connectionState}`));
      }
    };
    pc.addEventListener("connectionstatechange", check);
    check();
  });
}
