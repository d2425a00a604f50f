// Listen: the live audio sources and a player for each.
import { LivePlayer } from "../audio/player";
import { api } from "../lib/api";
import type { AudioSourceInfo, SourceList } from "../generated/contract";
import { h, notice } from "../lib/dom";

export function mountListen(root: HTMLElement, defaultBufferMs: number): () => void {
  const list = h("div", { class: "sources", id: "source-list" });
  const secure = LivePlayer.secureAudioAvailable();
  const bufferInput = h("input", { type: "range", min: 20, max: 1000, step: 10, value: defaultBufferMs, id: "jitter-ms" }) as HTMLInputElement;
  const bufferLabel = h("output", { for: "jitter-ms" }, `${defaultBufferMs} ms`);
  root.append(
    h("div", { class: "toolbar" }, h("label", { for: "jitter-ms" }, "Jitter buffer "), bufferInput, bufferLabel),
    secure ? "" : notice("This page is not in a secure context (plain HTTP from another machine), so it plays the live WAV stream. Open it over HTTPS for lower latency and the full player."),
    list,
  );
  const players = new Map<string, { player: LivePlayer; row: HTMLElement; facts: HTMLElement; msg: HTMLElement; button: HTMLButtonElement; wave: HTMLCanvasElement; meter: HTMLMeterElement }>();
  bufferInput.oninput = () => {
    bufferLabel.textContent = `${bufferInput.value} ms`;
    for (const p of players.values()) p.player.setTarget(Number(bufferInput.value));
  };

  function row(src: AudioSourceInfo) {
    let entry = players.get(src.id);
    if (!entry) {
      const facts = h("div", { class: "facts" });
      const msg = h("div", { class: "player-msg", role: "status" });
      const wave = h("canvas", { width: 300, height: 48, class: "wave", "aria-hidden": "true" });
      const meter = h("meter", { min: 0, max: 1, value: 0, "aria-label": "level" }) as HTMLMeterElement;
      const button = h("button", { type: "button", class: "play" }, "Play") as HTMLButtonElement;
      const player = new LivePlayer(src.id, Number(bufferInput.value), () => update(src.id));
      button.onclick = async () => {
        if (player.stats.state === "idle" || player.stats.state === "blocked" || player.stats.state === "error") {
          try {
            await player.play();
          } catch (e) {
            msg.textContent = `Cannot play: ${(e as Error).message}`;
          }
        } else player.stop();
        update(src.id);
      };
      const r = h("section", { class: "source", "data-source": src.id }, h("header", {}, h("strong", {}, src.name ?? src.id), h("span", { class: "badge" }, "")), button, wave, meter, facts, msg);
      entry = { player, row: r, facts, msg, button, wave, meter };
      players.set(src.id, entry);
      list.append(r);
      (window as any).relaydeckPlayers = players;
    }
    const badge = entry.row.querySelector(".badge")!;
    const avail = src.availability?.state ?? "live";
    const state = !src.online ? "offline" : avail;
    badge.className = `badge ${state === "live" ? "live" : "offline"}`;
    const fmt = src.format ? ` · ${src.format.sampleRate / 1000} kHz ${src.format.channels === 1 ? "mono" : "stereo"}` : "";
    badge.textContent = state === "live" ? `live${fmt}${src.kind === "local" ? " · in use" : ""}` : state;
    const why = src.availability.state === "unavailable" ? src.availability.message : "";
    entry.row.title = state === "unavailable" ? why : "";
    if (state === "unavailable" && entry.player.stats.state === "idle") entry.msg.textContent = `Unavailable: ${why}. Retrying.`;
    else if (entry.player.stats.state === "idle") entry.msg.textContent = src.id === "mic" && state === "standby" ? "Opens when somebody listens (private by default)." : "";
  }

  function update(id: string) {
    const e = players.get(id);
    if (!e) return;
    const s = e.player.stats;
    e.button.textContent = s.state === "idle" || s.state === "blocked" || s.state === "error" ? "Play" : "Stop";
    e.row.dataset.state = s.state;
    e.msg.textContent = s.message;
    e.facts.textContent =
      s.state === "idle"
        ? ""
        : s.state === "fallback"
        ? "playing the live WAV stream (the browser buffers it)"
        : `${s.state} · buffer ${s.depthMs.toFixed(0)} ms · delay ${s.delayMs === null ? "—" : `${s.delayMs.toFixed(0)} ms`} · underruns ${s.underruns} · gaps ${s.gaps}`;
  }

  function drawScopes() {
    for (const e of players.values()) {
      const a = e.player.analyser;
      const g = e.wave.getContext("2d")!;
      g.clearRect(0, 0, e.wave.width, e.wave.height);
      if (!a) continue;
      const data = new Float32Array(a.fftSize);
      a.getFloatTimeDomainData(data);
      let peak = 0;
      g.beginPath();
      for (let x = 0; x < e.wave.width; x++) {
        const v = data[Math.floor((x / e.wave.width) * data.length)];
        peak = Math.max(peak, Math.abs(v));
        const y = (1 - v) * 0.5 * e.wave.height;
        x === 0 ? g.moveTo(x, y) : g.lineTo(x, y);
      }
      g.strokeStyle = getComputedStyle(document.documentElement).getPropertyValue("--accent") || "#2f81f7";
      g.stroke();
      e.meter.value = peak;
    }
    raf = requestAnimationFrame(drawScopes);
  }
  let raf = requestAnimationFrame(drawScopes);

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
  const empty = h("p", { class: "empty" }, "No audio sources yet. Add a devkit on the Devices page, or publish a microphone from Capture.");
  root.append(empty);
  void refresh();
  const timer = setInterval(refresh, 2000);
  return () => {
    clearInterval(timer);
    cancelAnimationFrame(raf);
    for (const e of players.values()) e.player.stop();
  };
}
