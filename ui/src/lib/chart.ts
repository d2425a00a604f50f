// Line charts for the Status page, as SVG without a library: the data
// (rates from counters, scales, paths) is computed by pure functions
// tested on their own; `lineChart` only draws.

/** One point: time (ms) and value, or null where there is no value (a gap). */
export type Point = [number, number | null];

/**
 * Per-second rates from a counter sampled at `t`: one point per interval,
 * at its end. A counter that went back (the thing counted was removed and
 * came back) is a reset: that interval is a gap, never a negative rate.
 */
export function rates(samples: { t: number; v: number | undefined }[]): Point[] {
  const out: Point[] = [];
  for (let i = 1; i < samples.length; i++) {
    const a = samples[i - 1],
      b = samples[i];
    const dt = (b.t - a.t) / 1000;
    if (a.v === undefined || b.v === undefined || dt <= 0 || b.v < a.v) out.push([b.t, null]);
    else out.push([b.t, (b.v - a.v) / dt]);
  }
  return out;
}

/** A "nice" top for a y-axis holding `max` (1, 2, 5 × 10ⁿ), never 0. */
export function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (max <= m * p) return m * p;
  return 10 * p;
}

/**
 * The SVG path of `points` in a `w`×`h` box whose x runs over [`t0`, `t1`]
 * and y over [0, `top`]: `M` starts each run after a gap.
 */
export function pathOf(points: Point[], t0: number, t1: number, top: number, w: number, h: number): string {
  let d = "";
  let pen = false;
  const span = Math.max(1, t1 - t0);
  for (const [t, v] of points) {
    if (v === null || t < t0) {
      pen = false;
      continue;
    }
    const x = ((t - t0) / span) * w;
    const y = h - (Math.min(v, top) / top) * h;
    d += `${pen ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`;
    pen = true;
  }
  return d;
}

export type Series = { name: string; points: Point[]; format: (v: number) => string };

const NS = "http://www.w3.org/2000/svg";

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>): SVGElementTagNameMap[K] {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

/** A chart of `series` over the last `spanMs` up to `now`, with a legend of the latest values. */
export function lineChart(title: string, series: Series[], now: number, spanMs: number): HTMLElement {
  const [w, h] = [600, 120];
  const t0 = now - spanMs;
  const top = niceMax(Math.max(0, ...series.flatMap((s) => s.points.filter(([t, v]) => t >= t0 && v !== null).map(([, v]) => v as number))));
  const box = svg("svg", { viewBox: `0 0 ${w} ${h + 16}`, class: "chart", role: "img", "aria-label": title });
  for (const f of [0, 0.5, 1]) box.append(svg("line", { x1: 0, x2: w, y1: h * f, y2: h * f, class: "grid" }));
  series.forEach((s, i) => box.append(svg("path", { d: pathOf(s.points, t0, now, top, w, h), class: `line s${i}`, "data-series": s.name })));
  const label = (x: number, anchor: string, text: string) => {
    const t = svg("text", { x, y: h + 13, "text-anchor": anchor, class: "axis" });
    t.textContent = text;
    return t;
  };
  const ago = spanMs >= 120_000 ? `−${Math.round(spanMs / 60000)} min` : `−${Math.round(spanMs / 1000)} s`;
  box.append(label(0, "start", ago), label(w, "end", "now"));
  const fmt = series[0]?.format ?? String;
  const topLabel = svg("text", { x: 2, y: 10, class: "axis" });
  topLabel.textContent = fmt(top);
  box.append(topLabel);
  const legend = document.createElement("p");
  legend.className = "legend";
  for (const [i, s] of series.entries()) {
    const last = [...s.points].reverse().find(([, v]) => v !== null);
    const item = document.createElement("span");
    item.className = `key s${i}`;
    item.textContent = `${s.name} ${last ? s.format(last[1] as number) : "—"}`;
    legend.append(item);
  }
  const card = document.createElement("figure");
  card.className = "chart-card";
  const cap = document.createElement("figcaption");
  cap.textContent = title;
  card.append(cap, box, legend);
  return card;
}
