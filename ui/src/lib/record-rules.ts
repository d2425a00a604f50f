// The `recordRules` setting as the Settings page edits it, one rule per line:
//   camera front-door always
//   audio shop schedule 6,7 10:00-16:00; 1-5 08:00-18:00
//   camera yard motion sensitivity=70 pre=3 post=10 zone=0,40,100,60 1-5 18:00-07:00
// (days 1 = Monday … 7 = Sunday, ranges like 1-5 allowed; the relay's local
// time; `motion` takes options, each left out for its default, and an
// optional schedule of when to watch). The relay checks the rules again
// (docs/PROTOCOL.md, settings).
import type { MotionSettings, MotionZone, RecordRule, WeeklySpan } from "../generated/contract";

export const MOTION_DEFAULTS: MotionSettings = { sensitivity: 50, zones: [], preRollSec: 3, postRollSec: 10 };

function days(list: number[]): string {
  const sorted = [...new Set(list)].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    out.push(j - i >= 2 ? `${sorted[i]}-${sorted[j]}` : sorted.slice(i, j + 1).join(","));
    i = j + 1;
  }
  return out.join(",");
}

function motionOptions(m: MotionSettings | undefined): string[] {
  if (!m) return [];
  const out: string[] = [];
  if (m.sensitivity !== MOTION_DEFAULTS.sensitivity) out.push(`sensitivity=${m.sensitivity}`);
  if (m.preRollSec !== MOTION_DEFAULTS.preRollSec) out.push(`pre=${m.preRollSec}`);
  if (m.postRollSec !== MOTION_DEFAULTS.postRollSec) out.push(`post=${m.postRollSec}`);
  for (const z of m.zones) out.push(`zone=${z.x},${z.y},${z.w},${z.h}`);
  return out;
}

export function formatRecordRules(rules: RecordRule[]): string {
  return rules
    .map((r) => {
      const spans = r.schedule.map((s) => `${days(s.days)} ${s.start}-${s.end}`).join("; ");
      return [r.kind, r.source, r.mode, ...(r.mode === "motion" ? motionOptions(r.motion) : []), ...(spans ? [spans] : [])].join(" ");
    })
    .join("\n");
}

function parseMotion(words: string[], line: number): MotionSettings {
  const m: MotionSettings = { ...MOTION_DEFAULTS, zones: [] };
  const whole = (key: string, v: string, min: number, max: number) => {
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max) throw new Error(`Recording rules, line ${line}: ${key} must be a whole number from ${min} to ${max}, not "${v}"`);
    return n;
  };
  for (const word of words) {
    const [key, value = ""] = word.split("=", 2);
    if (key === "sensitivity") m.sensitivity = whole(key, value, 1, 100);
    else if (key === "pre") m.preRollSec = whole(key, value, 0, 30);
    else if (key === "post") m.postRollSec = whole(key, value, 1, 600);
    else if (key === "zone") {
      const parts = value.split(",");
      if (parts.length !== 4) throw new Error(`Recording rules, line ${line}: a zone is x,y,w,h in percent of the picture, not "${value}"`);
      const [x, y, w, h] = parts.map((p) => whole("a zone's edge", p, 0, 100));
      if (!w || !h || x + w > 100 || y + h > 100) throw new Error(`Recording rules, line ${line}: zone ${value} must be a non-empty rectangle inside the picture`);
      m.zones.push({ x, y, w, h } satisfies MotionZone);
    } else throw new Error(`Recording rules, line ${line}: "${word}" is not a motion option (sensitivity=, pre=, post=, zone=)`);
  }
  return m;
}

function parseDays(text: string, line: number): number[] {
  const out: number[] = [];
  for (const part of text.split(",")) {
    const m = /^([1-7])(?:-([1-7]))?$/.exec(part.trim());
    if (!m) throw new Error(`Recording rules, line ${line}: "${part}" is not a day (1 = Monday … 7 = Sunday, or a range like 1-5)`);
    const [a, b] = [Number(m[1]), Number(m[2] ?? m[1])];
    if (b < a) throw new Error(`Recording rules, line ${line}: the range ${part} runs backwards`);
    for (let d = a; d <= b; d++) out.push(d);
  }
  return out;
}

export function parseRecordRules(text: string): RecordRule[] {
  const rules: RecordRule[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    const [kind, source, mode, ...rest] = line.split(/\s+/);
    if (!["camera", "audio"].includes(kind) || !source || !["always", "schedule", "motion"].includes(mode)) {
      throw new Error(`Recording rules, line ${i + 1}: write "camera|audio SOURCE always", "camera|audio SOURCE schedule DAYS HH:MM-HH:MM" or "camera SOURCE motion [options] [DAYS HH:MM-HH:MM]"`);
    }
    if (mode === "motion" && kind !== "camera") throw new Error(`Recording rules, line ${i + 1}: motion is detected in camera pictures only`);
    const schedule: WeeklySpan[] = [];
    const options = mode === "motion" ? rest.filter((w) => w.includes("=")) : [];
    const spanWords = mode === "motion" ? rest.filter((w) => !w.includes("=")) : rest;
    if (mode === "schedule" || mode === "motion") {
      for (const spanText of spanWords.join(" ").split(";").map((s) => s.trim()).filter(Boolean)) {
        const m = /^(\S+)\s+(\d\d:\d\d)-(\d\d:\d\d)$/.exec(spanText);
        if (!m) throw new Error(`Recording rules, line ${i + 1}: "${spanText}" is not "DAYS HH:MM-HH:MM"`);
        schedule.push({ days: parseDays(m[1], i + 1), start: m[2], end: m[3] });
      }
      if (mode === "schedule" && !schedule.length) throw new Error(`Recording rules, line ${i + 1}: a schedule needs at least one "DAYS HH:MM-HH:MM"`);
    } else if (rest.length) throw new Error(`Recording rules, line ${i + 1}: "always" takes nothing after it`);
    const rule: RecordRule = { source, kind, mode: mode as RecordRule["mode"], schedule };
    if (mode === "motion") rule.motion = parseMotion(options, i + 1);
    rules.push(rule);
  });
  return rules;
}
