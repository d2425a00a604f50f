import { describe, expect, it } from "vitest";
import { safeNext } from "../src/lib/next";

describe("where a sign-in returns to", () => {
  it("keeps paths on this origin", () => {
    for (const ok of ["/", "/#/cameras", "/?token=abc#/listen", "/capture?x=1&y=2", "/a%20b"]) expect(safeNext(ok)).toBe(ok);
  });

  it("sends everything else to /, checked after decoding too", () => {
    const bad = [null, "", "https://evil.example/", "//evil.example", "/\\evil.example", "/%2F%2Fevil.example", "%2F%2Fevil.example",
      "/%5Cevil.example", "/a%0d%0aSet-Cookie:x", "/a\nb", "/a b", "/%zz", "/%E0%A4%A", "javascript:alert(1)", "/" + "a".repeat(2048)];
    for (const n of bad) expect(safeNext(n)).toBe("/");
  });
});
