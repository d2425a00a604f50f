// Library: recordings per source on a timeline with motion marks; a camera
// recording plays in the page from its frame index (frames fetched by time,
// a scrubber, 1×, 2×, 4×), an audio recording in an <audio> element (it seeks
// with Range), a clip of it downloads as a WAV; motion events are listed with
// their thumbnails and open the recording where they began; the admin starts
// and stops recorders (continuous or on motion) here.
import type { MotionEvent, MotionEventList, RecorderInfo, RecorderList, RecordingInfo, RecordingList } from "../generated/contract";
import { api, withToken } from "../lib/api";
import { fmtBytes, h, notice, setText } from "../lib/dom";
import { fmtTime } from "./files";

const when = (ms: number) => new Date(ms).toLocaleString();

/** Plays a camera segment by fetching its frames by time (one request in flight: latest wins). */
export class FramePlayer {
  speed = 1;
  position = 0; // ms from the segment's start
  playing = false;
  frames = 0;
  private last = 0;
  private busy = false;
  private raf = 0;
  private shownUrl = "";

  constructor(
    private readonly seg: RecordingInfo,
    private readonly img: HTMLImageElement,
    private readonly onTick: () => void,
  ) {}

  play(): void {
    if (this.position >= this.seg.durationMs) this.position = 0;
    this.playing = true;
    this.last = performance.now();
    this.loop();
  }

  pause(): void {
    this.playing = false;
    cancelAnimationFrame(this.raf);
  }

  seek(ms: number): void {
    this.position = Math.max(0, Math.min(this.seg.durationMs, ms));
    void this.show();
  }

  close(): void {
    this.pause();
    if (this.shownUrl) URL.revokeObjectURL(this.shownUrl);
  }

  private loop = () => {
    if (!this.playing) return;
    const now = performance.now();
    this.position = Math.min(this.seg.durationMs, this.position + (now - this.last) * this.speed);
    this.last = now;
    void this.show();
    this.onTick();
    if (this.position >= this.seg.durationMs) {
      this.playing = false;
      this.onTick();
      return;
    }
    this.raf = requestAnimationFrame(this.loop);
  };

  private async show(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const r = await fetch(withToken(`/api/recordings/${encodeURIComponent(this.seg.id)}/frame?t=${Math.floor(this.position)}`));
      if (r.ok) {
        const url = URL.createObjectURL(await r.blob());
        this.img.src = url;
        await this.img.decode().catch(() => undefined);
        if (this.shownUrl) URL.revokeObjectURL(this.shownUrl);
        this.shownUrl = url;
        this.frames++;
        this.img.dataset.frameMs = r.headers.get("x-frame-ms") ?? "";
      }
    } finally {
      this.busy = false;
    }
  }
}

function stateText(r: RecorderInfo): string {
  if (r.state === "disk_full") return "stopped: the disk is full";
  if (r.state === "watching") return "watching for motion";
  return r.state;
}

/** This computer's camera and microphone open while something needs them: recording does. */
function hostNote(r: RecorderInfo): string {
  if (r.source === "host-camera") return " · keeps this computer's camera open while it records";
  if (r.source === "mic") return " · keeps this computer's microphone open while it records";
  return "";
}

export function mountLibrary(root: HTMLElement, admin: boolean): () => void {
  const status = h("div", { "aria-live": "polite" });
  const disk = h("p", { class: "hint", id: "record-disk" });
  const active = h("ul", { class: "recorders", id: "recorders" });
  const sourceInput = h("input", { id: "record-source", placeholder: "camera or source ID", list: "record-ids", required: true }) as HTMLInputElement;
  const ids = h("datalist", { id: "record-ids" });
  const kind = h("select", { id: "record-kind" }, h("option", { value: "camera" }, "camera"), h("option", { value: "audio" }, "audio")) as HTMLSelectElement;
  const onMotion = h("input", { type: "checkbox", id: "record-motion" }) as HTMLInputElement;
  const sensitivity = h("input", { type: "number", id: "record-sensitivity", min: 1, max: 100, value: 50, "aria-label": "Motion sensitivity (1–100)" }) as HTMLInputElement;
  const motionBits = h("span", { class: "motion-options" }, h("label", {}, onMotion, " only on motion, sensitivity "), sensitivity);
  kind.onchange = () => (motionBits.hidden = kind.value !== "camera");
  const startForm = h("form", { class: "toolbar", id: "record-form" }, h("label", { for: "record-source" }, "Record "), sourceInput, ids, kind, motionBits, h("button", { type: "submit" }, "Start"));
  const onlyMotion = h("input", { type: "checkbox", id: "only-motion" }) as HTMLInputElement;
  const filters = h("div", { class: "toolbar" }, h("label", {}, onlyMotion, " Only recordings with motion"));
  onlyMotion.onchange = () => void refresh();
  const list = h("div", { id: "recordings" });
  const player = h("section", { class: "card player", id: "recording-player", hidden: true });
  root.append(status, admin ? startForm : "", active, disk, filters, player, list);

  let current: { close(): void } | null = null;

  startForm.onsubmit = async (ev) => {
    ev.preventDefault();
    try {
      const motion = kind.value === "camera" && onMotion.checked ? { sensitivity: Number(sensitivity.value), zones: [], preRollSec: 3, postRollSec: 10 } : undefined;
      await api("/api/recorders", { method: "POST", body: JSON.stringify({ source: sourceInput.value.trim(), kind: kind.value, motion }) });
      status.replaceChildren();
      await refresh();
    } catch (e) {
      status.replaceChildren(notice(`Cannot record: ${(e as Error).message}`, "error"));
    }
  };

  function openCamera(seg: RecordingInfo, atMs?: number) {
    current?.close();
    const img = h("img", { class: "recording-frame", alt: `Recording of ${seg.source}` }) as HTMLImageElement;
    const scrub = h("input", { type: "range", min: 0, max: seg.durationMs, step: 1, value: 0, class: "scrub", id: "recording-scrub", "aria-label": "Position" }) as HTMLInputElement;
    const time = h("span", { class: "time", id: "recording-time" });
    const speed = h("select", { id: "recording-speed", "aria-label": "Speed" }, ...[1, 2, 4].map((s) => h("option", { value: s }, `${s}×`))) as HTMLSelectElement;
    const play = h("button", { type: "button", id: "recording-play" }, "Play") as HTMLButtonElement;
    const p = new FramePlayer(seg, img, () => tick());
    const tick = () => {
      if (document.activeElement !== scrub) scrub.value = String(Math.floor(p.position));
      setText(time, `${fmtTime(p.position / 1000)} / ${fmtTime(seg.durationMs / 1000)}`);
      setText(play, p.playing ? "Pause" : "Play");
      player.dataset.position = String(Math.floor(p.position));
    };
    play.onclick = () => (p.playing ? p.pause() : p.play(), tick());
    speed.onchange = () => (p.speed = Number(speed.value));
    scrub.oninput = () => (p.seek(Number(scrub.value)), tick());
    player.replaceChildren(h("h2", {}, `${seg.source} · ${when(seg.startMs)}`), img, h("div", { class: "file-controls" }, play, scrub, time), h("div", { class: "toolbar" }, h("label", { for: "recording-speed" }, "Speed "), speed, h("a", { class: "button", href: withToken(`/api/recordings/${encodeURIComponent(seg.id)}`), download: "" }, "Download")));
    player.hidden = false;
    (window as unknown as { relaydeckRecording: FramePlayer }).relaydeckRecording = p;
    p.seek(atMs === undefined ? 0 : atMs - seg.startMs);
    tick();
    current = p;
  }

  function openAudio(seg: RecordingInfo) {
    current?.close();
    const url = withToken(`/api/recordings/${encodeURIComponent(seg.id)}`);
    const audio = h("audio", { controls: true, src: url, id: "recording-audio", preload: "metadata" }) as HTMLAudioElement;
    const speed = h("select", { id: "recording-speed", "aria-label": "Speed" }, ...[1, 2, 4].map((s) => h("option", { value: s }, `${s}×`))) as HTMLSelectElement;
    speed.onchange = () => (audio.playbackRate = Number(speed.value));
    const from = h("input", { type: "number", min: 0, step: 0.1, value: 0, id: "clip-from", "aria-label": "Clip from (s)" }) as HTMLInputElement;
    const to = h("input", { type: "number", min: 0, step: 0.1, value: Math.min(10, seg.durationMs / 1000), id: "clip-to", "aria-label": "Clip to (s)" }) as HTMLInputElement;
    const clip = h("a", { class: "button", id: "clip-download", download: "" }, "Download clip") as HTMLAnchorElement;
    const setClip = () => (clip.href = withToken(`/api/recordings/${encodeURIComponent(seg.id)}?from=${Math.round(Number(from.value) * 1000)}&to=${Math.round(Number(to.value) * 1000)}`));
    from.oninput = to.oninput = setClip;
    setClip();
    player.replaceChildren(h("h2", {}, `${seg.source} · ${when(seg.startMs)}`), audio, h("div", { class: "toolbar" }, h("label", { for: "recording-speed" }, "Speed "), speed, h("label", { for: "clip-from" }, "Clip from "), from, h("label", { for: "clip-to" }, " to "), to, " s ", clip, h("a", { class: "button", href: url, download: "" }, "Download")));
    player.hidden = false;
    current = { close: () => audio.pause() };
  }

  /** The camera segment holding `ms`, to open a motion event in. */
  function segmentAt(segs: RecordingInfo[], ms: number): RecordingInfo | undefined {
    return segs.find((s) => s.kind === "camera" && s.startMs <= ms && ms <= s.endMs);
  }

  function motionStrip(segs: RecordingInfo[], events: MotionEvent[]): HTMLElement {
    return h(
      "ul",
      { class: "motion-events" },
      ...events.map((ev) => {
        const seg = segmentAt(segs, ev.startMs);
        const open = h("button", { type: "button", class: "motion-event", disabled: !seg, title: seg ? "Play from here" : "Its recording is gone" }, h("img", { src: withToken(ev.thumbnail), alt: `Motion at ${when(ev.startMs)}`, loading: "lazy" }), h("span", {}, `${new Date(ev.startMs).toLocaleTimeString()} · ${fmtTime((ev.endMs - ev.startMs) / 1000)}${ev.live ? " · now" : ""}`)) as HTMLButtonElement;
        if (seg) open.onclick = () => openCamera(seg, ev.startMs);
        return h("li", { "data-motion": ev.id }, open);
      }),
    );
  }

  /** What was typed into each source's clip form: kept when the list refreshes. */
  const clipTyped = new Map<string, { kind: string; from: string; to: string }>();

  /** A clip of any stretch of the source, across its segments, as one file. */
  function clipForm(source: string, segs: RecordingInfo[]): HTMLElement {
    const kinds = [...new Set(segs.map((s) => s.kind))];
    const last = Math.max(...segs.map((s) => s.endMs));
    const local = (ms: number) => {
      const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60000);
      return d.toISOString().slice(0, 19);
    };
    const kind = h("select", { class: "clip-kind", "aria-label": "What to cut" }, ...kinds.map((k) => h("option", { value: k }, k))) as HTMLSelectElement;
    const from = h("input", { type: "datetime-local", step: 1, class: "clip-range-from", value: local(Math.max(Math.min(...segs.map((s) => s.startMs)), last - 60000)), "aria-label": "Clip from" }) as HTMLInputElement;
    const to = h("input", { type: "datetime-local", step: 1, class: "clip-range-to", value: local(last + 1000), "aria-label": "Clip to" }) as HTMLInputElement;
    const link = h("a", { class: "button clip-range", download: "" }, "Download clip") as HTMLAnchorElement;
    const typed = clipTyped.get(source);
    if (typed) [kind.value, from.value, to.value] = [typed.kind, typed.from, typed.to];
    const update = (ev?: Event) => {
      if (ev) clipTyped.set(source, { kind: kind.value, from: from.value, to: to.value });
      const [a, b] = [new Date(from.value).getTime(), new Date(to.value).getTime()];
      link.href = withToken(`/api/recordings/clip?source=${encodeURIComponent(source)}&kind=${kind.value}&from=${a}&to=${b}`);
      link.toggleAttribute("aria-disabled", !(b > a));
    };
    from.oninput = to.oninput = kind.onchange = update;
    update();
    return h("div", { class: "toolbar clip-form" }, "Clip ", kinds.length > 1 ? kind : "", " from ", from, " to ", to, " ", link);
  }

  function timeline(segs: RecordingInfo[], events: MotionEvent[]): HTMLElement {
    const start = Math.min(...segs.map((s) => s.startMs));
    const end = Math.max(...segs.map((s) => s.endMs), start + 1);
    const bar = h("div", { class: "timeline", title: `${when(start)} – ${when(end)}` });
    for (const ev of events) {
      if (ev.endMs < start || ev.startMs > end) continue;
      bar.append(h("span", { class: "motion-mark", "aria-hidden": "true", style: `left:${((ev.startMs - start) / (end - start)) * 100}%;width:${Math.max(0.3, ((ev.endMs - ev.startMs) / (end - start)) * 100)}%`, title: `motion ${when(ev.startMs)}` }));
    }
    for (const s of segs) {
      const mark = h("button", { type: "button", class: `span ${s.kind}`, style: `left:${((s.startMs - start) / (end - start)) * 100}%;width:${Math.max(0.5, ((s.endMs - s.startMs) / (end - start)) * 100)}%`, title: `${s.kind} ${when(s.startMs)}, ${fmtTime(s.durationMs / 1000)}`, "aria-label": `Play ${s.kind} from ${when(s.startMs)}` });
      mark.onclick = () => (s.kind === "camera" ? openCamera(s) : openAudio(s));
      bar.append(mark);
    }
    return bar;
  }

  function row(s: RecordingInfo): HTMLElement {
    const play = h("button", { type: "button", class: "play" }, "Play") as HTMLButtonElement;
    play.onclick = () => (s.kind === "camera" ? openCamera(s) : openAudio(s));
    const del = admin && !s.live ? (h("button", { type: "button", class: "danger" }, "Delete") as HTMLButtonElement) : null;
    if (del)
      del.onclick = async () => {
        if (!confirm(`Delete the recording of ${s.source} from ${when(s.startMs)}?`)) return;
        await api(`/api/recordings/${encodeURIComponent(s.id)}`, { method: "DELETE" }).catch((e) => status.replaceChildren(notice((e as Error).message, "error")));
        await refresh();
      };
    const facts = `${s.kind} · ${when(s.startMs)} · ${fmtTime(s.durationMs / 1000)} · ${fmtBytes(s.bytes)}${s.frames ? ` · ${s.frames} frames` : ""}${s.motion ? " · motion" : ""}${s.live ? " · recording" : ""}`;
    return h("li", { "data-recording": s.id }, h("span", { class: "facts" }, facts), " ", play, " ", h("a", { class: "button", href: withToken(`/api/recordings/${encodeURIComponent(s.id)}`), download: "" }, "Download"), " ", del ?? "");
  }

  async function refresh() {
    try {
      const [{ recordings }, rec, { events }] = await Promise.all([
        api<RecordingList>(`/api/recordings?limit=1000${onlyMotion.checked ? "&motion=true" : ""}`),
        api<RecorderList>("/api/recorders"),
        api<MotionEventList>("/api/motion?limit=1000"),
      ]);
      active.replaceChildren(
        ...rec.recorders.map((r) => {
          const stop = admin ? (h("button", { type: "button" }, "Stop") as HTMLButtonElement) : null;
          if (stop) stop.onclick = async () => (await api(`/api/recorders/${encodeURIComponent(r.source)}`, { method: "DELETE" }).catch(() => null), await refresh());
          return h("li", { "data-recorder": `${r.source}:${r.kind}`, "data-state": r.state, "data-mode": r.mode }, h("strong", {}, `${r.source} (${r.kind}${r.mode === "motion" ? ", on motion" : ""})`), ` ${stateText(r)}${r.message ? ` — ${r.message}` : ""}${hostNote(r)} `, stop ?? "");
        }),
      );
      const used = rec.bySource.reduce((n, s) => n + s.bytes, 0);
      setText(disk, `Recordings use ${fmtBytes(used)}${rec.bySource.length ? ` (${rec.bySource.map((s) => `${s.source} ${fmtBytes(s.bytes)}`).join(", ")})` : ""}${rec.freeBytes === null ? "" : ` · ${fmtBytes(rec.freeBytes)} free; recording stops below ${fmtBytes(rec.reserveBytes)}`}.`);
      const bySource = new Map<string, RecordingInfo[]>();
      for (const r of recordings) bySource.set(r.source, [...(bySource.get(r.source) ?? []), r]);
      list.replaceChildren(
        ...(bySource.size
          ? [...bySource].map(([source, segs]) => {
              const mine = events.filter((e) => e.source === source);
              return h("section", { class: "card recording-source", "data-source": source }, h("h2", {}, source), timeline(segs, mine), mine.length ? motionStrip(segs, mine) : "", clipForm(source, segs), h("ul", { class: "segments" }, ...segs.map(row)));
            })
          : [h("p", { class: "empty" }, admin ? "No recordings yet. Start one above, or add rules under Settings › Recording." : "No recordings of what this link may see.")]),
      );
      if (admin) {
        const [{ clients }, { sources }] = await Promise.all([api("/api/clients"), api("/api/sources")]);
        ids.replaceChildren(...[...clients.map((c: { id: string }) => c.id), ...sources.map((s: { id: string }) => s.id)].map((id) => h("option", { value: id })));
      }
    } catch (e) {
      status.replaceChildren(notice(`Cannot list recordings: ${(e as Error).message}`, "error"));
    }
  }
  void refresh();
  const timer = setInterval(() => !document.hidden && void refresh(), 5000);
  return () => {
    clearInterval(timer);
    current?.close();
  };
}
