import { describe, expect, it } from "vitest";
import { devkitReach, hostPort } from "../src/lib/devkit-reach";

const everywhere = { local: "127.0.0.1", lanEnabled: true, lan: ["192.168.1.20", "10.0.0.7"] };
const loopback = { local: "127.0.0.1", lanEnabled: false, lan: [] };

describe("the address a devkit is told", () => {
  it("a board gets the LAN address, never 127.0.0.1, even when the page runs on this computer", () => {
    const r = devkitReach(everywhere, "127.0.0.1", 5000, 5001);
    expect(r.boardHost).toBe("192.168.1.20");
    expect(r.simHost).toBe("127.0.0.1");
    expect(r.summary).toContain("TCP 192.168.1.20:5000");
    expect(r.summary).toContain("also 10.0.0.7");
  });
  it("opened from another machine, the simulator command uses the name that machine used", () => {
    expect(devkitReach(everywhere, "deck.local", 5000, 5001).simHost).toBe("deck.local");
    expect(devkitReach(everywhere, "[fd00::2]", 5000, 5001).simHost).toBe("fd00::2");
  });
  it("ports on loopback: no board address, and the page says how to open them", () => {
    const r = devkitReach(loopback, "127.0.0.1", 5000, 5001);
    expect(r.boardHost).toBeNull();
    expect(r.simHost).toBe("127.0.0.1");
    expect(r.summary).toMatch(/this computer only.*Devkits on the network/);
  });
  it("open to the network but no network address: says so instead of an address", () => {
    const r = devkitReach({ local: "127.0.0.1", lanEnabled: true, lan: [] }, "localhost", 5000, 5001);
    expect(r.boardHost).toBeNull();
    expect(r.summary).toMatch(/no network address/);
  });
  it("IPv6 addresses are bracketed before a port", () => {
    expect(hostPort("fd00::2", 5000)).toBe("[fd00::2]:5000");
    expect(hostPort("[fd00::2]", 5000)).toBe("[fd00::2]:5000");
    expect(hostPort("10.0.0.7", 5000)).toBe("10.0.0.7:5000");
  });
});
