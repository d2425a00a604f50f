// The microphone's input level, without playing it: the `mic` source over
// /audio/ws, peak and RMS per chunk into a meter. Listening opens the
// device (on demand), so the meter runs only while the user asks for it.
import type { ListenerEvent, SocketReply } from "../generated/contract";
import { wsUrl } from "../lib/api";
import { h } from "../lib/dom";

export function micMeter(): { element: HTMLElement; stop: () => void } {
  const meter = h("meter", { id: "mic-level", min: 0, max: 1, low: 0.5, high: 0.9, optimum: 0.3, value: 0, "aria-label": "microphone input level" }) as HTMLMeterElement;
  const text = h("span", { id: "mic-level-text", class: "facts" }, "");
  const button = h("button", { type: "button", id: "mic-level-toggle" }, "Show input level") as HTMLButtonElement;
  let ws: WebSocket | null = null;
  const stop = () => {
    ws?.close(1000, "meter closed");
    ws = null;
    button.textContent = "Show input level";
    meter.value = 0;
  };
  button.onclick = () => {
    if (ws) return stop();
    const sock = new WebSocket(wsUrl("/audio/ws?source=mic&backlogMs=0"));
    sock.binaryType = "arraybuffer";
    ws = sock;
    button.textContent = "Stop";
    text.textContent = "opening the microphone…";
    sock.onmessage = (ev) => {
      if (typeof ev.data === "string") {
        const msg = JSON.parse(ev.data) as ListenerEvent | SocketReply;
        if (msg.type === "stats" && !msg.online) text.textContent = "the microphone is not delivering";
        return;
      }
      const samples = new Int16Array(ev.data);
      let peak = 0;
      let sum = 0;
      for (const s of samples) {
        const v = Math.abs(s) / 32768;
        peak = Math.max(peak, v);
        sum += v * v;
      }
      const rms = Math.sqrt(sum / Math.max(1, samples.length));
      meter.value = peak;
      meter.dataset.peak = peak.toFixed(3);
      text.textContent = `peak ${(20 * Math.log10(peak || 1e-6)).toFixed(0)} dBFS · RMS ${(20 * Math.log10(rms || 1e-6)).toFixed(0)} dBFS`;
    };
    sock.onclose = (ev) => {
      if (ws !== sock) return;
      text.textContent = ev.code === 1008 ? `not available: ${ev.reason}` : "closed";
      stop();
    };
  };
  const element = h("section", { class: "card" }, h("h2", {}, "Microphone input"), h("p", { class: "hint" }, "Opens the microphone while the meter runs (it is otherwise closed until somebody listens)."), h("div", { class: "toolbar" }, button, meter, text));
  return { element, stop };
}
