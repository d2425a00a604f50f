// Pairing a devkit over Bluetooth LE, as bytes: Improv Wi-Fi (the Wi-Fi
// credentials) and Relay Deck's provisioning service (which relay, as whom).
// The twin of the Rust codec (src-tauri/crates/contract/src/pairing); both
// are held to tests/vectors/pairing.json (test/pairing.test.ts).
// docs/PROTOCOL.md, "Pairing", is the contract.

export const IMPROV = {
  service: "00467768-6228-2272-4663-277478268000",
  currentState: "00467768-6228-2272-4663-277478268001",
  errorState: "00467768-6228-2272-4663-277478268002",
  rpcCommand: "00467768-6228-2272-4663-277478268003",
  rpcResult: "00467768-6228-2272-4663-277478268004",
  capabilities: "00467768-6228-2272-4663-277478268005",
} as const;

export const PROVISION = {
  service: "52656c61-7944-6563-6b00-000000000000",
  version: "52656c61-7944-6563-6b00-000000000001",
  config: "52656c61-7944-6563-6b00-000000000002",
  status: "52656c61-7944-6563-6b00-000000000003",
  boardId: "52656c61-7944-6563-6b00-000000000004",
} as const;

export type CodecErrorCode = "checksum" | "truncated" | "oversized" | "unknown_command" | "unknown_version" | "out_of_order" | "missing_field" | "bad_field";

export class CodecError extends Error {
  constructor(
    readonly code: CodecErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder("utf-8", { fatal: true });

export function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (const b of bytes) sum = (sum + b) & 0xff;
  return sum;
}

/** `packet` as writes of at most `mtu` bytes (20: a default ATT payload). */
export function splitWrites(packet: Uint8Array, mtu = 20): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < packet.length; i += mtu) out.push(packet.slice(i, i + mtu));
  return out;
}

// ---- Improv Wi-Fi ---------------------------------------------------------

export const MAX_SSID = 32;
export const MAX_PASSWORD = 64;

export const IMPROV_STATE = { authorizationRequired: 1, authorized: 2, provisioning: 3, provisioned: 4 } as const;
export const IMPROV_ERROR = { none: 0, invalidRpc: 1, unknownCommand: 2, unableToConnect: 3, notAuthorized: 4, unknown: 255 } as const;

export type ImprovCommand = { type: "wifiSettings"; ssid: string; password: string } | { type: "identify" } | { type: "deviceInfo" } | { type: "scan" };

const COMMAND_ID = { wifiSettings: 1, identify: 2, deviceInfo: 3, scan: 4 } as const;

function frame(id: number, data: Uint8Array): Uint8Array {
  const p = new Uint8Array(data.length + 3);
  p[0] = id;
  p[1] = data.length;
  p.set(data, 2);
  p[p.length - 1] = checksum(p.subarray(0, p.length - 1));
  return p;
}

function unframe(packet: Uint8Array): { id: number; data: Uint8Array } {
  if (packet.length < 3) throw new CodecError("truncated", "the packet is shorter than it declares");
  const whole = packet[1] + 3;
  if (packet.length < whole) throw new CodecError("truncated", "the packet is shorter than it declares");
  if (packet.length > whole) throw new CodecError("oversized", "bytes follow the checksum");
  if (checksum(packet.subarray(0, whole - 1)) !== packet[whole - 1]) throw new CodecError("checksum", "the checksum does not match");
  return { id: packet[0], data: packet.subarray(2, whole - 1) };
}

function lengthPrefixed(strings: string[]): Uint8Array {
  const parts = strings.map((s) => utf8.encode(s));
  const out = new Uint8Array(parts.reduce((n, p) => n + 1 + p.length, 0));
  let at = 0;
  for (const p of parts) {
    if (p.length > 255) throw new CodecError("oversized", "a string is over 255 bytes");
    out[at++] = p.length;
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function readStrings(data: Uint8Array): string[] {
  const out: string[] = [];
  let at = 0;
  while (at < data.length) {
    const len = data[at++];
    if (at + len > data.length) throw new CodecError("truncated", "a string runs past the data");
    try {
      out.push(fromUtf8.decode(data.subarray(at, at + len)));
    } catch {
      throw new CodecError("bad_field", "a string is not UTF-8");
    }
    at += len;
  }
  return out;
}

export function encodeImprovCommand(cmd: ImprovCommand): Uint8Array {
  if (cmd.type !== "wifiSettings") return frame(COMMAND_ID[cmd.type], new Uint8Array());
  if (!cmd.ssid) throw new CodecError("missing_field", "the SSID is missing");
  if (utf8.encode(cmd.ssid).length > MAX_SSID || utf8.encode(cmd.password).length > MAX_PASSWORD) throw new CodecError("oversized", `an SSID has at most ${MAX_SSID} bytes, a password ${MAX_PASSWORD}`);
  return frame(1, lengthPrefixed([cmd.ssid, cmd.password]));
}

export function decodeImprovCommand(packet: Uint8Array): ImprovCommand {
  const { id, data } = unframe(packet);
  switch (id) {
    case 1: {
      const s = readStrings(data);
      if (s.length !== 2) throw new CodecError("bad_field", "Wi-Fi settings are an SSID and a password");
      const [ssid, password] = s;
      if (!ssid) throw new CodecError("missing_field", "the SSID is missing");
      if (utf8.encode(ssid).length > MAX_SSID || utf8.encode(password).length > MAX_PASSWORD) throw new CodecError("oversized", "the SSID or password is too long");
      return { type: "wifiSettings", ssid, password };
    }
    case 2:
    case 3:
    case 4:
      if (data.length) throw new CodecError("bad_field", "this command carries no data");
      return { type: id === 2 ? "identify" : id === 3 ? "deviceInfo" : "scan" };
    default:
      throw new CodecError("unknown_command", `unknown command 0x${id.toString(16).padStart(2, "0")}`);
  }
}

export interface ImprovResult {
  command: number;
  strings: string[];
}

export function encodeImprovResult(r: ImprovResult): Uint8Array {
  const data = lengthPrefixed(r.strings);
  if (data.length > 255) throw new CodecError("oversized", "a result is over 255 bytes");
  return frame(r.command, data);
}

export function decodeImprovResult(packet: Uint8Array): ImprovResult {
  const { id, data } = unframe(packet);
  return { command: id, strings: readStrings(data) };
}

export interface ScannedNetwork {
  ssid: string;
  rssi: number;
  auth: string;
}

/** A scan result's strings as networks, strongest first. */
export function scannedNetworks(r: ImprovResult): ScannedNetwork[] {
  if (r.strings.length % 3) throw new CodecError("bad_field", "a scan result is SSID, RSSI, auth triples");
  const nets: ScannedNetwork[] = [];
  for (let i = 0; i < r.strings.length; i += 3) {
    const rssi = Number.parseInt(r.strings[i + 1], 10);
    nets.push({ ssid: r.strings[i], rssi: Number.isNaN(rssi) ? -Infinity : rssi, auth: r.strings[i + 2] });
  }
  return nets.sort((a, b) => b.rssi - a.rssi);
}

/** Collects the writes of one RPC packet until it is whole (a board's side). */
export class ImprovReassembler {
  private buf: number[] = [];
  push(write: Uint8Array): Uint8Array | null {
    this.buf.push(...write);
    if (this.buf.length < 2) return null;
    const whole = this.buf[1] + 3;
    if (this.buf.length < whole) return null;
    const bytes = this.buf;
    this.buf = [];
    if (bytes.length > whole) throw new CodecError("oversized", "bytes follow the checksum");
    return Uint8Array.from(bytes);
  }
}

// ---- Relay Deck provisioning ------------------------------------------------

export const MESSAGE_VERSION = 1;
export const MAX_MESSAGE = 512;
export const CHUNK_PAYLOAD = 18;
const FIELD = { host: 1, tcpPort: 2, udpPort: 3, deviceId: 4, token: 5, tlsFingerprint: 6 } as const;

export interface RelayConfig {
  hosts: string[];
  tcpPort: number;
  udpPort: number;
  deviceId: string;
  token: string;
  /** 64 hex digits (the relay certificate's SHA-256), or null for plain TCP. */
  tlsFingerprint: string | null;
}

/** `AB:CD:…` or `abcd…` → 32 bytes. */
export function fingerprintBytes(text: string): Uint8Array {
  const hex = text.replace(/:/g, "");
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new CodecError("bad_field", "a TLS fingerprint is 64 hex digits");
  return Uint8Array.from(hex.match(/../g)!.map((b) => Number.parseInt(b, 16)));
}

const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

function checkConfig(c: RelayConfig) {
  if (!c.hosts.length) throw new CodecError("missing_field", "the relay host is missing");
  if (c.hosts.length > 4 || c.hosts.some((h) => !h || utf8.encode(h).length > 253)) throw new CodecError("bad_field", "1 to 4 relay hosts of 1 to 253 bytes");
  if (!c.tcpPort || !c.udpPort) throw new CodecError("missing_field", "a port is missing");
  if (!c.deviceId) throw new CodecError("missing_field", "the device ID is missing");
  if (c.deviceId.length > 64 || !/^[A-Za-z0-9_-]+$/.test(c.deviceId)) throw new CodecError("bad_field", "the device ID is not valid");
  if (!c.token) throw new CodecError("missing_field", "the device token is missing");
  if (utf8.encode(c.token).length > 128) throw new CodecError("bad_field", "the device token is not valid");
}

export function encodeRelayConfig(c: RelayConfig): Uint8Array {
  checkConfig(c);
  const fields: number[] = [];
  const put = (kind: number, value: Uint8Array) => fields.push(kind, value.length, ...value);
  const port = (p: number) => Uint8Array.of(p >> 8, p & 0xff);
  for (const h of c.hosts) put(FIELD.host, utf8.encode(h));
  put(FIELD.tcpPort, port(c.tcpPort));
  put(FIELD.udpPort, port(c.udpPort));
  put(FIELD.deviceId, utf8.encode(c.deviceId));
  put(FIELD.token, utf8.encode(c.token));
  if (c.tlsFingerprint) put(FIELD.tlsFingerprint, fingerprintBytes(c.tlsFingerprint));
  const msg = Uint8Array.from([MESSAGE_VERSION, fields.length >> 8, fields.length & 0xff, ...fields, 0]);
  msg[msg.length - 1] = checksum(msg.subarray(0, msg.length - 1));
  if (msg.length > MAX_MESSAGE) throw new CodecError("oversized", `a provisioning message has at most ${MAX_MESSAGE} bytes`);
  return msg;
}

/** The message as chunks that each fit one 20-byte write. */
export function relayConfigChunks(c: RelayConfig): Uint8Array[] {
  const msg = encodeRelayConfig(c);
  const parts = splitWrites(msg, CHUNK_PAYLOAD);
  return parts.map((p, i) => Uint8Array.from([i, i === parts.length - 1 ? 1 : 0, ...p]));
}

export function decodeRelayConfig(msg: Uint8Array): RelayConfig {
  if (!msg.length) throw new CodecError("truncated", "the message is empty");
  if (msg[0] !== MESSAGE_VERSION) throw new CodecError("unknown_version", `unknown provisioning version ${msg[0]}`);
  if (msg.length > MAX_MESSAGE) throw new CodecError("oversized", "the message is over 512 bytes");
  if (msg.length < 4) throw new CodecError("truncated", "the message is shorter than it declares");
  const whole = ((msg[1] << 8) | msg[2]) + 4;
  if (msg.length < whole) throw new CodecError("truncated", "the message is shorter than it declares");
  if (msg.length > whole) throw new CodecError("oversized", "bytes follow the checksum");
  if (checksum(msg.subarray(0, whole - 1)) !== msg[whole - 1]) throw new CodecError("checksum", "the checksum does not match");
  const c: RelayConfig = { hosts: [], tcpPort: 0, udpPort: 0, deviceId: "", token: "", tlsFingerprint: null };
  const text = (v: Uint8Array, name: string) => {
    try {
      return fromUtf8.decode(v);
    } catch {
      throw new CodecError("bad_field", `the ${name} is not UTF-8`);
    }
  };
  const once = (taken: boolean, name: string) => {
    if (taken) throw new CodecError("bad_field", `the ${name} is repeated`);
  };
  const port = (v: Uint8Array) => {
    if (v.length !== 2) throw new CodecError("bad_field", "a port is two bytes");
    return (v[0] << 8) | v[1];
  };
  const fields = msg.subarray(3, whole - 1);
  for (let at = 0; at < fields.length; ) {
    if (at + 2 > fields.length || at + 2 + fields[at + 1] > fields.length) throw new CodecError("truncated", "a field runs past the message");
    const kind = fields[at];
    const value = fields.subarray(at + 2, at + 2 + fields[at + 1]);
    at += 2 + value.length;
    switch (kind) {
      case FIELD.host:
        c.hosts.push(text(value, "relay host"));
        break;
      case FIELD.tcpPort:
        once(c.tcpPort !== 0, "TCP port");
        c.tcpPort = port(value);
        break;
      case FIELD.udpPort:
        once(c.udpPort !== 0, "UDP port");
        c.udpPort = port(value);
        break;
      case FIELD.deviceId:
        once(c.deviceId !== "", "device ID");
        c.deviceId = text(value, "device ID");
        break;
      case FIELD.token:
        once(c.token !== "", "device token");
        c.token = text(value, "device token");
        break;
      case FIELD.tlsFingerprint:
        once(c.tlsFingerprint !== null, "TLS fingerprint");
        if (value.length !== 32) throw new CodecError("bad_field", "a TLS fingerprint is 32 bytes");
        c.tlsFingerprint = toHex(value);
        break;
      default: // a later field: skipped
    }
  }
  checkConfig(c);
  return c;
}

/** Collects chunks until a message is whole (a board's side); starts over after an error. */
export class ProvisionReassembler {
  private buf: number[] = [];
  private next = 0;
  push(chunk: Uint8Array): RelayConfig | null {
    try {
      const done = this.take(chunk);
      if (done) this.reset();
      return done;
    } catch (e) {
      this.reset();
      throw e;
    }
  }
  private reset() {
    this.buf = [];
    this.next = 0;
  }
  private take(chunk: Uint8Array): RelayConfig | null {
    if (chunk.length < 2) throw new CodecError("truncated", "a chunk has an index and flags");
    const [index, flags] = chunk;
    const payload = chunk.subarray(2);
    if (payload.length > CHUNK_PAYLOAD) throw new CodecError("oversized", `a chunk carries at most ${CHUNK_PAYLOAD} bytes`);
    if (index === 0) this.reset();
    if (index !== this.next) throw new CodecError("out_of_order", `chunk ${index} arrived where chunk ${this.next} was expected`);
    this.buf.push(...payload);
    if (this.buf.length > MAX_MESSAGE) throw new CodecError("oversized", "the message is over 512 bytes");
    this.next = (this.next + 1) & 0xff;
    if (!(flags & 1)) return null;
    return decodeRelayConfig(Uint8Array.from(this.buf));
  }
}

export const PROVISION_STATES = ["idle", "receiving", "stored", "connecting", "online", "failed"] as const;
export type ProvisionState = (typeof PROVISION_STATES)[number];
export const PROVISION_ERRORS: Record<number, string> = {
  0x00: "none",
  0x01: "checksum",
  0x02: "truncated",
  0x03: "oversized",
  0x04: "unknownVersion",
  0x05: "outOfOrder",
  0x06: "missingField",
  0x07: "badField",
  0x10: "relayUnreachable",
  0x11: "relayRefused",
};

export function decodeStatus(b: Uint8Array): { state: ProvisionState; error: string } {
  if (b.length !== 2) throw new CodecError(b.length < 2 ? "truncated" : "oversized", "a status is two bytes");
  const state = PROVISION_STATES[b[0]];
  if (!state) throw new CodecError("bad_field", `unknown state ${b[0]}`);
  return { state, error: PROVISION_ERRORS[b[1]] ?? "unknown" };
}
