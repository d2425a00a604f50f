// Status: the last 15 minutes of the relay's counters as charts, for people
// who would rather look than read `/metrics`. The server keeps the samples
// (`GET /api/status/history`), so a page opened late still shows all of
// them; the page then asks only for what is newer, once per interval.
import { api } from "../lib/api";
import type { StatusHistory, StatusSample } from "../generated/contract";
import { lineChart, Point, rates, Series } from "../lib/chart";
import { fmtBytes, h, notice } from "../lib/dom";

const perSecond = (v: number) => `${v < 10 ? v.toFixed(1) : Math.round(v)}/s`;
const count = (v: number) => String(Math.round(v));
const bitrate = (v: number) => (v * 8 >= 1e6 ? `${((v * 8) / 1e6).toFixed(1)} Mbit/s` : `${Math.round((v * 8) / 1e3)} kbit/s`);
const percent = (v: number) => `${v.toFixed(1)} %`;

/** The charts of `samples`, newest at `now`. */
export function charts(samples: StatusSample[], now: number, spanMs: number): HTMLElement[] {
  const t = (s: StatusSample) => s.atMs;
  const counter = (f: (s: StatusSample) => number | undefined) => rates(samples.map((s) => ({ t: t(s), v: f(s) })));
  const gauge = (f: (s: StatusSample) => number): Point[] => samples.map((s) => [t(s), f(s)]);
  const chart = (title: string, series: Series[]) => lineChart(title, series, now, spanMs);
  const main = [
    chart("Frames per second, all cameras", [
      { name: "in", points: counter((s) => s.framesIn), format: perSecond },
      { name: "out", points: counter((s) => s.framesOut), format: perSecond },
    ]),
    chart("Viewers and listeners", [
      { name: "viewers", points: gauge((s) => s.viewers), format: count },
      { name: "listeners", points: gauge((s) => s.listeners), format: count },
    ]),
    chart("Sent to clients", [{ name: "sent", points: counter((s) => s.sentBytes), format: bitrate }]),
    chart("Skipped frames and lost devkit packets", [
      { name: "skipped", points: counter((s) => s.skipped), format: perSecond },
      { name: "lost", points: counter((s) => s.devkitLost), format: perSecond },
    ]),
    chart("The relay's CPU (% of one core)", [{ name: "CPU", points: counter((s) => s.cpuSeconds).map(([t, v]) => [t, v === null ? null : v * 100]), format: percent }]),
    chart("The relay's memory", [{ name: "resident", points: gauge((s) => s.rssBytes), format: fmtBytes }]),
  ];
  const last = samples[samples.length - 1];
  const cameras = Object.keys(last?.cameras ?? {}).map((id) =>
    chart(`Camera ${id}`, [
      { name: "in", points: counter((s) => s.cameras[id]?.framesIn), format: perSecond },
      { name: "out", points: counter((s) => s.cameras[id]?.framesOut), format: perSecond },
      { name: "skipped", points: counter((s) => s.cameras[id]?.skipped), format: perSecond },
    ]),
  );
  const sources = Object.keys(last?.sources ?? {}).map((id) =>
    chart(`Audio ${id}`, [
      { name: "chunks", points: counter((s) => s.sources[id]?.chunks), format: perSecond },
      { name: "lost", points: counter((s) => s.sources[id]?.lost), format: perSecond },
      { name: "listeners", points: gauge((s) => s.sources[id]?.listeners ?? 0), format: count },
    ]),
  );
  return [...main, ...cameras, ...sources];
}

export function mountStatus(root: HTMLElement): () => void {
  const head = h("p", { class: "hint", id: "status-head" }, "Loading…");
  const grid = h("div", { class: "charts", id: "status-charts" });
  const out = h("div", { "aria-live": "polite" });
  root.append(head, out, grid);
  let samples: StatusSample[] = [];
  let span = 15 * 60 * 1000;
  let timer = 0;
  let stopped = false;

  async function poll() {
    try {
      const since = samples.length ? samples[samples.length - 1].atMs : 0;
      const hist = await api<StatusHistory>(`/api/status/history?since=${since}`);
      span = hist.spanMs;
      const now = Date.now();
      samples = [...samples, ...hist.samples].filter((s) => s.atMs >= now - span);
      out.replaceChildren();
      head.textContent = samples.length
        ? `Since ${new Date(samples[0].atMs).toLocaleTimeString()} (up to ${span / 60000} minutes are kept), a sample every ${hist.intervalMs / 1000} s: the same counters as /metrics.`
        : "No sample yet: the first comes within a few seconds.";
      // The window is the last 15 minutes, or less while the relay has run for less.
      const shown = Math.min(span, Math.max(60_000, samples.length ? now - samples[0].atMs : 0));
      grid.replaceChildren(...charts(samples, now, shown));
      if (!stopped) timer = window.setTimeout(poll, hist.intervalMs);
    } catch (e) {
      out.replaceChildren(notice((e as Error).message, "error"));
      if (!stopped) timer = window.setTimeout(poll, 5000);
    }
  }
  void poll();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
