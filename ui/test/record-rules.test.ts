import { describe, expect, it } from "vitest";
import { formatRecordRules, parseRecordRules } from "../src/lib/record-rules";

describe("recording rules as text", () => {
  it("reads and writes rules, with day ranges and several spans", () => {
    const text = "camera front-door always\naudio shop schedule 6,7 10:00-16:00; 1-5 08:00-18:00";
    const rules = parseRecordRules(`${text}\n\n`);
    expect(rules).toEqual([
      { source: "front-door", kind: "camera", mode: "always", schedule: [] },
      {
        source: "shop",
        kind: "audio",
        mode: "schedule",
        schedule: [
          { days: [6, 7], start: "10:00", end: "16:00" },
          { days: [1, 2, 3, 4, 5], start: "08:00", end: "18:00" },
        ],
      },
    ]);
    expect(formatRecordRules(rules)).toBe(text);
  });

  it("reads and writes motion rules with their options and when to watch", () => {
    const text = "camera yard motion sensitivity=70 post=30 zone=0,40,100,60 1-5 18:00-07:00\ncamera door motion";
    const rules = parseRecordRules(text);
    expect(rules).toEqual([
      {
        source: "yard",
        kind: "camera",
        mode: "motion",
        schedule: [{ days: [1, 2, 3, 4, 5], start: "18:00", end: "07:00" }],
        motion: { sensitivity: 70, preRollSec: 3, postRollSec: 30, zones: [{ x: 0, y: 40, w: 100, h: 60 }] },
      },
      { source: "door", kind: "camera", mode: "motion", schedule: [], motion: { sensitivity: 50, preRollSec: 3, postRollSec: 10, zones: [] } },
    ]);
    expect(formatRecordRules(rules)).toBe(text);
    expect(() => parseRecordRules("audio mic motion")).toThrow(/camera pictures only/);
    expect(() => parseRecordRules("camera a motion sensitivity=0")).toThrow(/from 1 to 100/);
    expect(() => parseRecordRules("camera a motion zone=60,0,50,10")).toThrow(/inside the picture/);
    expect(() => parseRecordRules("camera a motion zone=1,2,3")).toThrow(/x,y,w,h/);
    expect(() => parseRecordRules("camera a motion speed=2")).toThrow(/not a motion option/);
    expect(() => parseRecordRules("camera a schedule")).toThrow(/at least one/);
  });

  it("names the line and what is wrong", () => {
    expect(() => parseRecordRules("video a always")).toThrow(/line 1/);
    expect(() => parseRecordRules("camera a always\naudio b schedule 8 10:00-11:00")).toThrow(/line 2: "8" is not a day/);
    expect(() => parseRecordRules("audio b schedule 1 10-11")).toThrow(/not "DAYS HH:MM-HH:MM"/);
    expect(() => parseRecordRules("audio b always 1")).toThrow(/takes nothing/);
    expect(() => parseRecordRules("audio b schedule 5-1 10:00-11:00")).toThrow(/backwards/);
  });
});
