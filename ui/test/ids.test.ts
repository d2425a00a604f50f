import { describe, expect, it } from "vitest";
import { ID_PATTERN, isValidId } from "../src/lib/ids";

describe("the ID pattern attribute", () => {
  it("compiles with the v flag, as browsers compile `pattern`", () => {
    // A pattern that does not compile turns the browser's check off silently.
    expect(() => new RegExp(`^(?:${ID_PATTERN})$`, "v")).not.toThrow();
    expect(() => new RegExp("^(?:[A-Za-z0-9_-]{1,64})$", "v")).toThrow(); // the old one
  });
  it("accepts exactly the protocol's IDs", () => {
    for (const ok of ["a", "phone", "kitchen-1", "A_b-9", "x".repeat(64)]) expect(isValidId(ok), ok).toBe(true);
    for (const bad of ["", "x".repeat(65), "a b", "a/b", "ü", "a.b", "-\u0000"]) expect(isValidId(bad), bad).toBe(false);
  });
});
