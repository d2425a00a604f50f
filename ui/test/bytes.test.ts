import { describe, expect, it } from "vitest";
import { fmtBytes } from "../src/lib/dom";

describe("byte counts as people read them", () => {
  it("picks the unit that keeps the number short", () => {
    expect(fmtBytes(512)).toBe("512 B");
    expect(fmtBytes(1536)).toBe("1.5 KiB");
    expect(fmtBytes(5 * 2 ** 20)).toBe("5.0 MiB");
    expect(fmtBytes(31310.5 * 2 ** 20)).toBe("30.6 GiB");
    expect(fmtBytes(3 * 2 ** 40)).toBe("3.0 TiB");
  });
});
