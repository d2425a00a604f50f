import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  CodecError,
  decodeImprovCommand,
  decodeImprovResult,
  decodeRelayConfig,
  decodeStatus,
  encodeImprovCommand,
  encodeImprovResult,
  encodeRelayConfig,
  ImprovReassembler,
  ProvisionReassembler,
  relayConfigChunks,
  scannedNetworks,
  splitWrites,
  type ImprovCommand,
  type RelayConfig,
} from "../src/lib/pairing";

// The vectors the Rust codec is held to as well (tests/vectors/make_pairing.py).
const vectors = JSON.parse(readFileSync(new URL("../../tests/vectors/pairing.json", import.meta.url), "utf8"));
const hex = (s: string) => Uint8Array.from((s.match(/../g) ?? []).map((b) => Number.parseInt(b, 16)));
const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const codeOf = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    if (e instanceof CodecError) return e.code;
    throw e;
  }
  return "no error";
};

describe("Improv Wi-Fi, against the shared vectors", () => {
  for (const c of vectors.improv.commands) {
    it(`encodes, splits and decodes: ${c.name}`, () => {
      const bytes = encodeImprovCommand(c.command as ImprovCommand);
      expect(toHex(bytes)).toBe(c.hex);
      expect(decodeImprovCommand(bytes)).toEqual(c.command);
      const writes = splitWrites(bytes, vectors.improv.mtu);
      if (c.writes) expect(writes.map(toHex)).toEqual(c.writes);
      const r = new ImprovReassembler();
      let whole: Uint8Array | null = null;
      for (const w of writes) whole = r.push(w);
      expect(whole && toHex(whole)).toBe(c.hex);
    });
  }
  for (const c of vectors.improv.results) {
    it(`result: ${c.name}`, () => {
      expect(toHex(encodeImprovResult({ command: c.command, strings: c.strings }))).toBe(c.hex);
      expect(decodeImprovResult(hex(c.hex))).toEqual({ command: c.command, strings: c.strings });
    });
  }
  for (const c of vectors.improv.malformed) {
    it(`refuses: ${c.name}`, () => expect(codeOf(() => decodeImprovCommand(hex(c.hex)))).toBe(c.error));
  }
  for (const c of vectors.improv.encodeRefused) {
    it(`will not encode: ${c.name}`, () => expect(codeOf(() => encodeImprovCommand(c.command))).toBe(c.error));
  }
  it("a scan reads as networks, strongest first", () => {
    const scan = vectors.improv.results.find((r: { name: string }) => r.name === "scan");
    expect(scannedNetworks(decodeImprovResult(hex(scan.hex))).map((n) => n.ssid)).toEqual(["Guest", "Home"]);
  });
});

describe("Relay Deck provisioning, against the shared vectors", () => {
  for (const c of vectors.provision.configs) {
    it(`encodes, chunks and reassembles: ${c.name}`, () => {
      expect(toHex(encodeRelayConfig(c.config))).toBe(c.hex);
      const chunks = relayConfigChunks(c.config);
      expect(chunks.map(toHex)).toEqual(c.chunks);
      expect(chunks.every((x) => x.length <= 20)).toBe(true);
      const r = new ProvisionReassembler();
      let got: RelayConfig | null = null;
      for (const x of c.chunks) got = r.push(hex(x));
      expect(got).toEqual(c.config);
    });
  }
  for (const c of vectors.provision.decodesTo) {
    it(`decodes: ${c.name}`, () => expect(decodeRelayConfig(hex(c.hex))).toEqual(c.config));
  }
  for (const c of vectors.provision.malformed) {
    it(`refuses: ${c.name}`, () => {
      const r = new ProvisionReassembler();
      expect(
        codeOf(() => {
          for (const x of c.chunks) r.push(hex(x));
        }),
      ).toBe(c.error);
      // Then a good message is read afresh.
      let got: RelayConfig | null = null;
      for (const x of vectors.provision.configs[1].chunks) got = r.push(hex(x));
      expect(got).toEqual(vectors.provision.configs[1].config);
    });
  }
  for (const c of vectors.provision.status) {
    it(`status ${c.hex}`, () => expect(decodeStatus(hex(c.hex))).toEqual({ state: c.state, error: c.error }));
  }
});
