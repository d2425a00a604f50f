// The live player's AudioWorklet: PCM chunks arrive from the main thread
// (which owns the WebSocket), are decoded, resampled to the output rate and
// buffered; `process` plays from the jitter buffer on the audio thread.
import { decodePcm, JitterBuffer, Resampler, type Encoding } from "../lib/jitter";

declare const sampleRate: number;
declare function registerProcessor(name: string, ctor: unknown): void;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
}

export type ToWorklet =
  | { type: "format"; sampleRate: number; channels: number; encoding: Encoding }
  | { type: "pcm"; data: ArrayBuffer }
  | { type: "target"; ms: number }
  | { type: "clear" };

export interface FromWorklet {
  type: "stats";
  depthMs: number;
  underruns: number;
  droppedMs: number;
  playing: boolean;
}

class PlayerProcessor extends AudioWorkletProcessor {
  private channels = 1;
  private encoding: Encoding = "s16le";
  private resamplers: Resampler[] = [];
  private buffer = new JitterBuffer(1, 0, 0);
  private targetMs = 150;
  private frames = 0;

  constructor() {
    super();
    this.configure(1, sampleRate);
    this.port.onmessage = (ev: MessageEvent<ToWorklet>) => this.onMessage(ev.data);
  }

  private configure(channels: number, rate: number) {
    this.channels = channels;
    this.resamplers = Array.from({ length: channels }, () => new Resampler(rate, sampleRate));
    this.buffer = new JitterBuffer(channels, 0, 0);
    this.setTarget(this.targetMs);
  }

  private setTarget(ms: number) {
    this.targetMs = ms;
    const target = Math.round((ms / 1000) * sampleRate);
    // Room for bursts, but never more than a second behind (or the target itself).
    this.buffer.retarget(target, Math.max(target * 3, Math.round(sampleRate)));
  }

  private onMessage(msg: ToWorklet) {
    switch (msg.type) {
      case "format":
        this.encoding = msg.encoding;
        this.configure(msg.channels, msg.sampleRate);
        break;
      case "pcm": {
        const planes = decodePcm(msg.data, this.channels, this.encoding);
        this.buffer.push(planes.map((p, c) => this.resamplers[c].process(p)));
        break;
      }
      case "target":
        this.setTarget(msg.ms);
        break;
      case "clear":
        this.buffer.clear();
        break;
    }
  }

  process(_inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
    const out = outputs[0];
    const planes = Array.from({ length: this.channels }, () => new Float32Array(out[0].length));
    this.buffer.pull(planes);
    for (let c = 0; c < out.length; c++) out[c].set(planes[Math.min(c, this.channels - 1)]);
    if (++this.frames % 24 === 0) {
      const s = this.buffer.stats();
      const msg: FromWorklet = {
        type: "stats",
        depthMs: (s.depth / sampleRate) * 1000,
        underruns: s.underruns,
        droppedMs: (s.dropped / sampleRate) * 1000,
        playing: s.playing,
      };
      this.port.postMessage(msg);
    }
    return true;
  }
}

registerProcessor("relaydeck-player", PlayerProcessor);
