// Capture: turns this laptop or phone into a Relay Deck camera and microphone.
// Camera: getUserMedia → canvas → JPEG → /ws, skipping a frame whenever the
// socket's bufferedAmount shows the link is behind. Microphone: an
// AudioWorklet → 16 kHz mono s16le in 20 ms messages → /audio/publish.
import { ID_PATTERN } from "../lib/ids";
import type { CameraReply, PublisherMessage, SocketReply } from "../generated/contract";
import { api, Session, wsUrl } from "../lib/api";
import { Backoff } from "../lib/backoff";
import { h, notice } from "../lib/dom";
import { encodeS16le, Resampler } from "../lib/jitter";
import captureWorkletUrl from "../audio/capture-worklet.ts?worker&url";

const MIC_RATE = 16000;
const CHUNK = MIC_RATE / 50; // 20 ms
const HIGH_WATER = 256 * 1024;

export function mountCapture(root: HTMLElement): () => void {
  const params = new URLSearchParams(location.search);
  const video = h("video", { autoplay: true, playsinline: true, muted: true, id: "preview" }) as HTMLVideoElement;
  const id = h("input", { id: "camera-id", pattern: ID_PATTERN, required: true, value: params.get("clientId") ?? "phone" }) as HTMLInputElement;
  const camera = h("select", { id: "camera-choice" }, h("option", { value: "" }, "default camera")) as HTMLSelectElement;
  const size = h("select", { id: "resolution" }, ...["640x480", "1280x720", "1920x1080"].map((s) => h("option", { value: s }, s))) as HTMLSelectElement;
  const fps = h("select", { id: "fps" }, ...[5, 10, 15, 30].map((f) => h("option", { value: f, selected: f === 10 }, `${f}`))) as HTMLSelectElement;
  const quality = h("input", { id: "quality", type: "range", min: 30, max: 95, value: 75 }) as HTMLInputElement;
  const mic = h("input", { id: "with-mic", type: "checkbox", checked: true }) as HTMLInputElement;
  const toggle = h("button", { type: "button", id: "toggle" }, "Start publishing") as HTMLButtonElement;
  const counters = h("div", { class: "facts", id: "capture-stats", "aria-live": "off" });
  const status = h("div", { id: "capture-status", role: "status" });
  root.append(
    h("div", { class: "capture" }, video,
      h("div", { class: "card" },
        // Start first: on a phone it is reachable without scrolling past the settings.
        h("div", { class: "capture-start" }, toggle, status),
        h("div", { class: "field" }, h("label", { for: "camera-id" }, "Camera ID"), id),
        h("div", { class: "field" }, h("label", { for: "camera-choice" }, "Camera"), camera),
        h("div", { class: "field" }, h("label", { for: "resolution" }, "Resolution"), size),
        h("div", { class: "field" }, h("label", { for: "fps" }, "Frames per second"), fps),
        h("div", { class: "field" }, h("label", { for: "quality" }, "JPEG quality"), quality),
        h("div", { class: "field" }, h("label", { for: "with-mic" }, "Also publish the microphone"), mic),
        counters)),
  );
  // A publish link limited to one camera ID: use that ID.
  if (!params.get("clientId")) {
    api<Session>("/api/session").then(
      (s) => {
        if (s.ids?.length) id.value = s.ids[0];
      },
      () => {},
    );
  }
  if (!window.isSecureContext || !navigator.mediaDevices) {
    status.replaceChildren(notice("Camera and microphone need HTTPS on a phone or another computer: open this page through the relay's https:// address (the relay's owner turns HTTPS on in its settings).", "error"));
    toggle.disabled = true;
  }

  let session: CaptureSession | null = null;
  const say = (text: string, kind: "info" | "error" = "info") => status.replaceChildren(notice(text, kind));
  toggle.onclick = async () => {
    if (session) {
      session.stop();
      session = null;
      toggle.textContent = "Start publishing";
      say("Stopped.");
      return;
    }
    if (!id.checkValidity()) return say("Use 1–64 letters, digits, _ or - for the camera ID.", "error");
    const [w, hgt] = size.value.split("x").map(Number);
    try {
      session = await CaptureSession.start({ id: id.value, deviceId: camera.value, width: w, height: hgt, fps: Number(fps.value), quality: Number(quality.value) / 100, mic: mic.checked, video, say, counters });
      toggle.textContent = "Stop";
      void listCameras(camera);
    } catch (e) {
      say(`The camera is not available: ${(e as Error).message}`, "error");
    }
  };
  fps.onchange = () => session?.set({ fps: Number(fps.value) });
  quality.oninput = () => session?.set({ quality: Number(quality.value) / 100 });
  void listCameras(camera);
  return () => session?.stop();
}

async function listCameras(select: HTMLSelectElement) {
  if (!navigator.mediaDevices?.enumerateDevices) return;
  const cams = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === "videoinput" && d.deviceId);
  const chosen = select.value;
  select.replaceChildren(h("option", { value: "" }, "default camera"), ...cams.map((c, i) => h("option", { value: c.deviceId, selected: c.deviceId === chosen }, c.label || `camera ${i + 1}`)));
}

interface Options {
  id: string;
  deviceId: string;
  width: number;
  height: number;
  fps: number;
  quality: number;
  mic: boolean;
  video: HTMLVideoElement;
  say: (t: string, k?: "info" | "error") => void;
  counters: HTMLElement;
}

class CaptureSession {
  private ws: WebSocket | null = null;
  private audioWs: WebSocket | null = null;
  private timer = 0;
  private statsTimer = 0;
  private stopped = false;
  private backoff = new Backoff();
  private sentFrames: number[] = [];
  private sentBytes: { t: number; n: number }[] = [];
  private skipped = 0;
  private ctx: AudioContext | null = null;
  private wakeLock: { release(): Promise<void> } | null = null;
  private canvas = document.createElement("canvas");

  private constructor(private opts: Options, private stream: MediaStream) {}

  static async start(opts: Options): Promise<CaptureSession> {
    const stream = await navigator.mediaDevices.getUserMedia({
      video: { width: { ideal: opts.width }, height: { ideal: opts.height }, ...(opts.deviceId ? { deviceId: { exact: opts.deviceId } } : {}) },
      audio: opts.mic ? { channelCount: 1, echoCancellation: false } : false,
    });
    const s = new CaptureSession(opts, stream);
    opts.video.srcObject = stream;
    s.connectVideo();
    if (opts.mic) await s.startMic();
    s.statsTimer = window.setInterval(() => s.showStats(), 500);
    void s.keepAwake();
    return s;
  }

  set(change: Partial<Pick<Options, "fps" | "quality">>) {
    Object.assign(this.opts, change);
    if (change.fps) this.schedule();
  }

  private async keepAwake() {
    try {
      this.wakeLock = await (navigator as any).wakeLock?.request("screen");
    } catch {
      /* not granted: the page still works while the screen stays on */
    }
  }

  private connectVideo() {
    if (this.stopped) return;
    const ws = new WebSocket(wsUrl(`/ws?clientId=${encodeURIComponent(this.opts.id)}`));
    ws.binaryType = "arraybuffer";
    this.ws = ws;
    ws.onopen = () => this.backoff.reset();
    ws.onmessage = (ev) => {
      const msg = JSON.parse(ev.data) as CameraReply | SocketReply;
      if (msg.type === "registered") this.opts.say(`Publishing as ${msg.clientId}.`);
      if (msg.type === "error") this.opts.say(`The relay says: ${msg.message}`, "error");
    };
    ws.onclose = (ev) => {
      if (this.stopped || this.ws !== ws) return;
      if (ev.code === 1008) return this.opts.say(`Refused: ${ev.reason || "not allowed"}`, "error");
      const wait = this.backoff.next();
      this.opts.say(`Disconnected (${ev.code}${ev.reason ? `: ${ev.reason}` : ""}); reconnecting in ${(wait / 1000).toFixed(1)} s.`, "error");
      setTimeout(() => this.connectVideo(), wait);
    };
    this.schedule();
  }

  private schedule() {
    clearInterval(this.timer);
    this.timer = window.setInterval(() => this.tick(), 1000 / this.opts.fps);
  }

  private tick() {
    const ws = this.ws;
    const v = this.opts.video;
    if (!ws || ws.readyState !== WebSocket.OPEN || !v.videoWidth) return;
    if (ws.bufferedAmount > HIGH_WATER) {
      this.skipped++; // the link is behind: skip rather than queue
      return;
    }
    this.canvas.width = v.videoWidth;
    this.canvas.height = v.videoHeight;
    this.canvas.getContext("2d")!.drawImage(v, 0, 0);
    this.canvas.toBlob(async (blob) => {
      if (!blob || ws.readyState !== WebSocket.OPEN) return;
      ws.send(await blob.arrayBuffer());
      const now = performance.now();
      this.sentFrames.push(now);
      this.sentBytes.push({ t: now, n: blob.size });
    }, "image/jpeg", this.opts.quality);
  }

  private async startMic() {
    const ctx = new AudioContext();
    this.ctx = ctx;
    await ctx.audioWorklet.addModule(captureWorkletUrl);
    const src = ctx.createMediaStreamSource(this.stream);
    const node = new AudioWorkletNode(ctx, "relaydeck-capture", { numberOfInputs: 1, numberOfOutputs: 0, channelCount: 1, channelCountMode: "explicit" });
    src.connect(node);
    const resampler = new Resampler(ctx.sampleRate, MIC_RATE);
    let pending = new Float32Array(0);
    node.port.onmessage = (ev: MessageEvent<Float32Array>) => {
      const more = resampler.process(ev.data);
      const joined = new Float32Array(pending.length + more.length);
      joined.set(pending);
      joined.set(more, pending.length);
      let off = 0;
      while (joined.length - off >= CHUNK) {
        const ws = this.audioWs;
        if (ws?.readyState === WebSocket.OPEN && ws.bufferedAmount < HIGH_WATER) ws.send(encodeS16le(joined.subarray(off, off + CHUNK)));
        off += CHUNK;
      }
      pending = joined.slice(off);
    };
    this.connectAudio();
  }

  private connectAudio() {
    if (this.stopped) return;
    const ws = new WebSocket(wsUrl(`/audio/publish?source=${encodeURIComponent(this.opts.id)}`));
    this.audioWs = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: "format", sampleRate: MIC_RATE, channels: 1, encoding: "s16le" } satisfies PublisherMessage));
    ws.onclose = (ev) => {
      if (this.stopped || this.audioWs !== ws) return;
      if (ev.code === 1008) return this.opts.say(`Microphone refused: ${ev.reason}`, "error");
      setTimeout(() => this.connectAudio(), 2000);
    };
  }

  private showStats() {
    const now = performance.now();
    this.sentFrames = this.sentFrames.filter((t) => now - t < 2000);
    this.sentBytes = this.sentBytes.filter((b) => now - b.t < 2000);
    const fps = this.sentFrames.length / 2;
    const kbps = (this.sentBytes.reduce((a, b) => a + b.n, 0) * 8) / 2 / 1000;
    this.opts.counters.textContent = `${fps.toFixed(1)} fps · ${kbps.toFixed(0)} kbit/s · ${this.skipped} skipped (link busy)${this.audioWs?.readyState === WebSocket.OPEN ? " · microphone live" : ""}`;
    this.opts.counters.dataset.fps = fps.toFixed(1);
  }

  stop() {
    this.stopped = true;
    clearInterval(this.timer);
    clearInterval(this.statsTimer);
    this.stream.getTracks().forEach((t) => t.stop());
    this.ws?.close(1000, "stopped");
    this.audioWs?.close(1000, "stopped");
    void this.ctx?.close();
    void this.wakeLock?.release();
  }
}
