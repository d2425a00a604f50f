// The `recordRules` setting as the Settings page edits it, one rule per line:
//   camera front-door always
//   audio shop schedule 6,7 10:00-16:00; 1-5 08:00-18:00
// (days 1 = Monday … 7 = Sunday, ranges like 1-5 allowed; the relay's local
// time). The relay checks the rules again (docs/PROTOCOL.md, settings).
import type { RecordRule, WeeklySpan } from "../generated/contract";

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

export function formatRecordRules(rules: RecordRule[]): string {
  return rules
    .map((r) => [r.kind, r.source, r.mode, ...(r.mode === "schedule" ? [r.schedule.map((s) => `${days(s.days)} ${s.start}-${s.end}`).join("; ")] : [])].join(" "))
    .join("\n");
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
    if (!["camera", "audio"].includes(kind) || !source || !["always", "schedule"].includes(mode)) {
      throw new Error(`Recording rules, line ${i + 1}: write "camera|audio SOURCE always" or "camera|audio SOURCE schedule DAYS HH:MM-HH:MM"`);
    }
    const schedule: WeeklySpan[] = [];
    if (mode === "schedule") {
      for (const spanText of rest.join(" ").split(";").map((s) => s.trim()).filter(Boolean)) {
        const m = /^(\S+)\s+(\d\d:\d\d)-(\d\d:\d\d)$/.exec(spanText);
        if (!m) throw new Error(`Recording rules, line ${i + 1}: "${spanText}" is not "DAYS HH:MM-HH:MM"`);
        schedule.push({ days: parseDays(m[1], i + 1), start: m[2], end: m[3] });
      }
    } else if (rest.length) throw new Error(`Recording rules, line ${i + 1}: "always" takes nothing after it`);
    rules.push({ source, kind, mode: mode as RecordRule["mode"], schedule });
  });
  return rules;
}
