// Listen: the live audio sources and a player for each, with volume, mute,
// a waveform and a spectrum. The jitter buffer applies at once to every
// playing source and is kept in this browser, as are volume and mute.
//
// The scopes are drawn only for sources that play, only while the page is
// visible (requestAnimationFrame), and the loop stops when nothing plays.
import { LivePlayer, type PlayerStats } from "../audio/player";
import { webRtcAvailable } from "../audio/webrtc";
import { api } from "../lib/api";
import type { AudioSourceInfo, SourceList } from "../generated/contract";
import { h, notice, setText } from "../lib/dom";
import { mountFiles } from "./files";

const BUFFER_KEY = "relaydeck.listen.bufferMs";
const VOLUME_KEY = "relaydeck.listen.volume";
const TRANSPORT_KEY = "relaydeck.listen.transport";

/** How each transport is named on the page. */
const TRANSPORT_NAMES: Record<NonNullable<PlayerStats["transport"]>, string> = {
  webrtc: "WebRTC · Opus",
  websocket: "WebSocket · PCM",
  wav: "live WAV",
};

interface Entry {
  player: LivePlayer;
  row: HTMLElement;
  badge: HTMLElement;
  facts: HTMLElement;
  msg: HTMLElement;
  button: HTMLButtonElement;
  wave: HTMLCanvasElement;
  spectrum: HTMLCanvasElement;
  meter: HTMLMeterElement;
  online: boolean;
  drawn: boolean;
}

/** The kept value of `key` if it is a number in [min, max], else `fallback`. */
export function keptNumber(raw: string | null, min: number, max: number, fallback: number): number {
  const v = raw === null ? NaN : Number(raw);
  return Number.isFinite(v) && v >= min && v <= max ? v : fallback;
}

export function mountListen(root: HTMLElement, defaultBufferMs: number, admin: boolean): () => void {
  const list = h("div", { class: "sources", id: "source-list" });
  const secure = LivePlayer.secureAudioAvailable();
  const startMs = keptNumber(localStorage.getItem(BUFFER_KEY), 20, 1000, Math.min(1000, defaultBufferMs));
  const bufferInput = h("input", { type: "range", min: 20, max: 1000, step: 10, value: startMs, id: "jitter-ms" }) as HTMLInputElement;
  const bufferLabel = h("output", { for: "jitter-ms", id: "jitter-ms-value" }, `${startMs} ms`);
  let volume = keptNumber(localStorage.getItem(VOLUME_KEY), 0, 1, 1);
  let muted = localStorage.getItem(`${VOLUME_KEY}.muted`) === "true";
  const volumeInput = h("input", { type: "range", min: 0, max: 100, step: 1, value: Math.round(volume * 100), id: "volume", "aria-label": "Volume" }) as HTMLInputElement;
  const mute = h("button", { type: "button", id: "mute", "aria-pressed": String(muted) }, muted ? "Unmute" : "Mute") as HTMLButtonElement;
  const rtc = webRtcAvailable();
  let transport = rtc && localStorage.getItem(TRANSPORT_KEY) !== "websocket" ? "webrtc" : "websocket";
  const transportSelect = h(
    "select",
    { id: "transport", "aria-label": "Transport" },
    h("option", { value: "webrtc", ...(rtc ? {} : { disabled: "" }) }, rtc ? "WebRTC (Opus)" : "WebRTC (not in this browser)"),
    h("option", { value: "websocket" }, "WebSocket (PCM)"),
  ) as HTMLSelectElement;
  transportSelect.value = transport;
  const empty = h("p", { class: "empty" }, admin ? "No audio sources yet. Add a devkit on the Devices page, or publish a microphone from Capture." : "None of the audio sources this link may play is on the air yet.");
  root.append(
    h(
      "div",
      { class: "toolbar" },
      h("label", { for: "jitter-ms" }, "Jitter buffer "),
      bufferInput,
      bufferLabel,
      h("label", { for: "volume" }, "Volume "),
      volumeInput,
      mute,
      h("label", { for: "transport" }, "Transport "),
      transportSelect,
    ),
    secure || rtc ? "" : notice("This page is not in a secure context (plain HTTP from another machine) and the browser has no WebRTC, so it plays the live WAV stream. Open it over HTTPS for lower latency and the full player."),
    list,
    empty,
  );
  const filesRoot = h("div", { class: "library", id: "library" });
  root.append(filesRoot);
  const unmountFiles = mountFiles(filesRoot, admin);
  const players = new Map<string, Entry>();
  (window as unknown as { relaydeckPlayers: Map<string, Entry> }).relaydeckPlayers = players;

  bufferInput.oninput = () => {
    bufferLabel.textContent = `${bufferInput.value} ms`;
    localStorage.setItem(BUFFER_KEY, bufferInput.value);
    for (const p of players.values()) p.player.setTarget(Number(bufferInput.value));
  };
  const applyVolume = () => {
    localStorage.setItem(VOLUME_KEY, String(volume));
    localStorage.setItem(`${VOLUME_KEY}.muted`, String(muted));
    mute.textContent = muted ? "Unmute" : "Mute";
    mute.setAttribute("aria-pressed", String(muted));
    for (const p of players.values()) p.player.setVolume(volume, muted);
  };
  volumeInput.oninput = () => {
    volume = Number(volumeInput.value) / 100;
    applyVolume();
  };
  mute.onclick = () => {
    muted = !muted;
    applyVolume();
  };
  // A new transport applies at once: what plays starts again over it.
  transportSelect.onchange = () => {
    transport = transportSelect.value;
    localStorage.setItem(TRANSPORT_KEY, transport);
    for (const [id, p] of players) {
      p.player.preferWebRtc = transport === "webrtc";
      if (!idle(p.player)) {
        p.player.stop();
        void p.player.play().then(() => update(id));
      }
    }
  };

  function row(src: AudioSourceInfo) {
    let entry = players.get(src.id);
    if (!entry) {
      const facts = h("div", { class: "facts" });
      const msg = h("div", { class: "player-msg", role: "status" });
      const wave = h("canvas", { width: 300, height: 48, class: "wave", "aria-label": "waveform" }) as HTMLCanvasElement;
      const spectrum = h("canvas", { width: 300, height: 48, class: "spectrum", "aria-label": "spectrum" }) as HTMLCanvasElement;
      const meter = h("meter", { min: 0, max: 1, value: 0, "aria-label": "level" }) as HTMLMeterElement;
      const button = h("button", { type: "button", class: "play" }, "Play") as HTMLButtonElement;
      const badge = h("span", { class: "badge" }, "");
      const player = new LivePlayer(src.id, Number(bufferInput.value), () => update(src.id));
      player.setVolume(volume, muted);
      player.preferWebRtc = transport === "webrtc";
      button.onclick = async () => {
        if (idle(player)) {
          try {
            await player.play();
            startScopes();
          } catch (e) {
            msg.textContent = `Cannot play: ${(e as Error).message}`;
          }
        } else player.stop();
        update(src.id);
      };
      const r = h("section", { class: "source", "data-source": src.id }, h("header", {}, h("strong", {}, src.name ?? src.id), badge), button, h("div", { class: "scopes" }, wave, spectrum), meter, facts, msg);
      entry = { player, row: r, badge, facts, msg, button, wave, spectrum, meter, online: src.online, drawn: false };
      players.set(src.id, entry);
      list.append(r);
    }
    entry.online = src.online;
    const avail = src.availability?.state ?? "live";
    const state = !src.online ? "offline" : avail;
    const fmt = src.format ? ` · ${src.format.sampleRate / 1000} kHz ${src.format.channels === 1 ? "mono" : "stereo"}${src.encoding === "s16le" ? "" : ` ${src.encoding}`}` : "";
    const badgeText = state === "live" ? `live${fmt}${src.kind === "local" ? " · in use" : ""}` : state;
    if (entry.badge.textContent !== badgeText) {
      entry.badge.textContent = badgeText;
      entry.badge.className = `badge ${state === "live" ? "live" : "offline"}`;
    }
    const why = src.availability.state === "unavailable" ? src.availability.message : "";
    entry.row.title = state === "unavailable" ? why : "";
    if (idle(entry.player)) {
      setText(entry.msg, state === "unavailable" ? `Unavailable: ${why}. Retrying.` : state === "offline" ? "Offline, waiting for the source." : src.id === "mic" && state === "standby" ? "Opens when somebody listens (private by default)." : "");
    }
  }

  const idle = (p: LivePlayer) => ["idle", "blocked", "error"].includes(p.stats.state);

  function update(id: string) {
    const e = players.get(id);
    if (!e) return;
    const s = e.player.stats;
    setText(e.button, idle(e.player) ? "Play" : "Stop");
    e.row.dataset.state = s.state;
    e.row.dataset.transport = s.transport ?? "";
    // Why WebRTC is not what plays comes first; then what the transport itself says.
    const notRtc = s.notWebRtc && s.transport ? `WebRTC did not work (${s.notWebRtc}); playing over ${TRANSPORT_NAMES[s.transport]} instead. ` : "";
    setText(e.msg, `${notRtc}${s.message}`.trim());
    const via = s.transport ? `${TRANSPORT_NAMES[s.transport]} · ` : "";
    const counters = s.transport === "webrtc" ? `lost ${s.gaps} packets · concealed ${s.droppedMs.toFixed(0)} ms` : `underruns ${s.underruns} · gaps ${s.gaps}`;
    setText(
      e.facts,
      s.state === "idle"
        ? ""
        : s.state === "fallback"
          ? "playing the live WAV stream (the browser buffers it)"
          : s.state === "offline"
            ? `${via}offline, waiting · ${counters}`
            : `${via}${s.state} · buffer ${s.depthMs.toFixed(0)} ms · delay ${s.delayMs === null ? "—" : `${s.delayMs.toFixed(0)} ms`} · ${counters}`,
    );
  }

  const accent = getComputedStyle(document.documentElement).getPropertyValue("--accent").trim() || "#2f81f7";
  let wave: Float32Array<ArrayBuffer> | null = null;
  let bins: Uint8Array<ArrayBuffer> | null = null;

  function drawWave(e: Entry, a: AnalyserNode) {
    wave ??= new Float32Array(a.fftSize);
    a.getFloatTimeDomainData(wave);
    const g = e.wave.getContext("2d")!;
    const { width, height } = e.wave;
    g.clearRect(0, 0, width, height);
    let peak = 0;
    g.beginPath();
    for (let x = 0; x < width; x++) {
      const v = wave[Math.floor((x / width) * wave.length)];
      peak = Math.max(peak, Math.abs(v));
      const y = (1 - v) * 0.5 * height;
      if (x === 0) g.moveTo(x, y);
      else g.lineTo(x, y);
    }
    g.strokeStyle = accent;
    g.stroke();
    e.meter.value = peak;
  }

  /** Bars on a logarithmic frequency axis, 50 Hz to the Nyquist frequency. */
  function drawSpectrum(e: Entry, a: AnalyserNode, sampleRate: number) {
    bins ??= new Uint8Array(a.frequencyBinCount);
    a.getByteFrequencyData(bins);
    const g = e.spectrum.getContext("2d")!;
    const { width, height } = e.spectrum;
    g.clearRect(0, 0, width, height);
    g.fillStyle = accent;
    const nyquist = sampleRate / 2;
    const bars = 60;
    const barW = width / bars;
    for (let i = 0; i < bars; i++) {
      const f0 = 50 * (nyquist / 50) ** (i / bars);
      const f1 = 50 * (nyquist / 50) ** ((i + 1) / bars);
      const b0 = Math.floor((f0 / nyquist) * bins.length);
      const b1 = Math.max(b0 + 1, Math.floor((f1 / nyquist) * bins.length));
      let m = 0;
      for (let b = b0; b < b1 && b < bins.length; b++) m = Math.max(m, bins[b]);
      const hgt = (m / 255) * height;
      g.fillRect(i * barW, height - hgt, barW - 1, hgt);
    }
  }

  let raf: number | null = null;
  function drawScopes() {
    raf = null;
    let any = false;
    for (const e of players.values()) {
      const a = e.player.analyser;
      if (!idle(e.player)) any = true; // keep the loop while a player starts or plays
      if (!a || !["playing", "buffering"].includes(e.player.stats.state)) {
        if (e.drawn) {
          // Cleared once when it stops, then left alone.
          e.wave.getContext("2d")!.clearRect(0, 0, e.wave.width, e.wave.height);
          e.spectrum.getContext("2d")!.clearRect(0, 0, e.spectrum.width, e.spectrum.height);
          e.meter.value = 0;
          e.drawn = false;
        }
        continue;
      }
      e.drawn = true;
      drawWave(e, a);
      drawSpectrum(e, a, a.context.sampleRate);
    }
    if (any || [...players.values()].some((e) => e.drawn)) raf = requestAnimationFrame(drawScopes);
  }
  function startScopes() {
    raf ??= requestAnimationFrame(drawScopes);
  }

  async function refresh() {
    try {
      const { sources } = await api<SourceList>("/api/sources");
      empty.hidden = sources.length > 0;
      for (const s of sources) row(s);
      for (const [id, e] of players) {
        if (!sources.some((s) => s.id === id)) {
          e.player.stop();
          e.row.remove();
          players.delete(id);
        }
      }
    } catch (e) {
      empty.hidden = false;
      empty.textContent = `Cannot list sources: ${(e as Error).message}`;
    }
  }
  void refresh();
  const timer = setInterval(() => {
    if (!document.hidden) void refresh();
  }, 2000);
  return () => {
    unmountFiles();
    clearInterval(timer);
    if (raf !== null) cancelAnimationFrame(raf);
    for (const e of players.values()) e.player.stop();
  };
}
