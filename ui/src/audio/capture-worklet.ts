// Microphone capture: hands each 128-frame block (mono, the node is created
// with one explicit input channel) to the main thread, which resamples,
// encodes and sends it.
declare function registerProcessor(name: string, ctor: unknown): void;
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
}

class CaptureProcessor extends AudioWorkletProcessor {
  process(inputs: Float32Array[][]): boolean {
    const ch = inputs[0]?.[0];
    if (ch && ch.length) this.port.postMessage(ch.slice(0));
    return true;
  }
}

registerProcessor("relaydeck-capture", CaptureProcessor);
