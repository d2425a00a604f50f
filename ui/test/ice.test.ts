import { describe, expect, it } from "vitest";
import { formatIceServers, parseIceServers } from "../src/lib/ice";

describe("the iceServers setting as lines", () => {
  it("round-trips STUN and TURN servers", () => {
    const servers = [{ urls: ["stun:stun.example.net:3478"] }, { urls: ["turn:t.example.net:3478", "turns:t.example.net:5349"], username: "u", credential: "pw" }];
    const text = formatIceServers(servers);
    expect(text).toBe("stun:stun.example.net:3478\nturn:t.example.net:3478,turns:t.example.net:5349 u pw");
    expect(parseIceServers(text)).toEqual(servers);
  });

  it("ignores blank lines and names the line that is wrong", () => {
    expect(parseIceServers("\n  \nstun:a:1\n")).toEqual([{ urls: ["stun:a:1"] }]);
    expect(() => parseIceServers("stun:a:1\nturn:b:1 user")).toThrow(/line 2/);
  });
});
