// What a camera tile says about its camera, as pure functions of what the
// page knows (so Vitest can check every case without a browser).

import type { Availability } from "../generated/contract";

/** A stream with no frame for this long is shown as stalled, not live. */
export const STALE_MS = 3000;

export type TileState = "waiting" | "live" | "stalled" | "standby" | "offline" | "unavailable";

export interface TileFacts {
  /** The camera's publisher is connected. */
  online: boolean;
  availability: Availability;
  /** performance.now() of the newest frame, or 0 for none yet. */
  lastFrameAt: number;
  now: number;
}

export function tileState(f: TileFacts): TileState {
  if (!f.online) return "offline";
  const age = f.lastFrameAt ? f.now - f.lastFrameAt : Infinity;
  if (age <= STALE_MS) return "live"; // a tile that is playing says so, whatever came before
  if (f.availability.state === "unavailable") return "unavailable";
  if (f.availability.state === "standby") return "standby";
  return f.lastFrameAt ? "stalled" : "waiting";
}

/**
 * Whether the tile belongs in the grid: a camera with nothing to show that
 * is unavailable (the app's own camera on a computer without one: the page
 * says so in one line instead) or offline (turned off, or gone before its
 * first frame) is not a source that exists.
 */
export function inGrid(state: TileState, hasFrame: boolean): boolean {
  return hasFrame || !(state === "unavailable" || state === "offline");
}

/** The app's own sources (reserved IDs): turned off in Settings, never removed. */
export const OWN_SOURCES: readonly string[] = ["test-pattern", "host-camera", "screen"];

export interface Arrival {
  /** Capture time of the frame (ms). */
  cap: number;
  seq: number;
}

/**
 * The camera's own frame rate: sequence numbers over capture times, so frames
 * this viewer skipped still count and bursts in delivery do not.
 */
export function measuredFps(arrivals: readonly Arrival[]): number {
  if (arrivals.length < 2) return 0;
  const first = arrivals[0];
  const last = arrivals[arrivals.length - 1];
  const span = last.cap - first.cap;
  return span > 0 ? ((last.seq - first.seq) * 1000) / span : 0;
}

export type Columns = "auto" | "1" | "2" | "3" | "4";
export type Order = "joined" | "name";
export interface Layout {
  columns: Columns;
  order: Order;
}
export const DEFAULT_LAYOUT: Layout = { columns: "auto", order: "joined" };

/** The layout kept in this browser, or the default for anything else. */
export function parseLayout(raw: string | null): Layout {
  try {
    const v = JSON.parse(raw ?? "null");
    const columns = ["auto", "1", "2", "3", "4"].includes(v?.columns) ? v.columns : DEFAULT_LAYOUT.columns;
    const order = ["joined", "name"].includes(v?.order) ? v.order : DEFAULT_LAYOUT.order;
    return { columns, order };
  } catch {
    return { ...DEFAULT_LAYOUT };
  }
}

/** Tiles in display order: as they joined, or by name (then ID). */
export function ordered<T extends { id: string; name: string; joined: number }>(tiles: readonly T[], order: Order): T[] {
  const list = [...tiles];
  if (order === "name") list.sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  else list.sort((a, b) => a.joined - b.joined);
  return list;
}
