// A board's GATT services as the pairing flow sees them, over Web Bluetooth.
// The flow (pages/pair.ts) reads and writes characteristics, and re-reads at
// once when the board notifies (it subscribes to every characteristic that
// notifies; reads every 250 ms cover a board whose notifications never come:
// docs/PROTOCOL.md, "Pairing"); this file is the one that knows the browser API.
import { IMPROV, PROVISION } from "./pairing";
import { Waker } from "./wait";

/** The characteristics Improv and the provisioning service notify. */
const NOTIFYING: [string, string][] = [
  [IMPROV.service, IMPROV.currentState],
  [IMPROV.service, IMPROV.errorState],
  [IMPROV.service, IMPROV.rpcResult],
  [PROVISION.service, PROVISION.status],
];

export interface BoardLink {
  readonly name: string;
  read(service: string, characteristic: string): Promise<Uint8Array>;
  /** One write, with response (the board has it when this resolves). */
  write(service: string, characteristic: string, bytes: Uint8Array): Promise<void>;
  /** Resolves at the board's next notification (of any characteristic it notifies). */
  changed(): Promise<void>;
  /** How many notifications subscribed (0: the flow only polls). */
  readonly subscribed: number;
  disconnect(): void;
}

/** Why Web Bluetooth cannot be used here, or null when it can. */
export function bluetoothUnavailable(): string | null {
  if (!window.isSecureContext) return "Bluetooth needs a secure page: open this page over HTTPS (turn HTTPS on in Settings) or on this computer as http://localhost.";
  if (!("bluetooth" in navigator)) return "This browser has no Web Bluetooth. Open this page in Chrome or Edge on a computer or an Android phone, or pair from the Relay Deck desktop app on a computer with Bluetooth.";
  return null;
}

/** Asks the user to pick a board that offers Improv; the provisioning service must be there too. */
export async function pickBoard(): Promise<BoardLink> {
  const bt = (navigator as unknown as { bluetooth: Bluetooth }).bluetooth;
  const device = await bt.requestDevice({ filters: [{ services: [IMPROV.service] }], optionalServices: [PROVISION.service] });
  if (!device.gatt) throw new Error("the board offers no GATT services");
  const server = await device.gatt.connect();
  const services = new Map<string, BluetoothRemoteGATTService>();
  const chars = new Map<string, BluetoothRemoteGATTCharacteristic>();
  const characteristic = async (service: string, uuid: string) => {
    const key = `${service}/${uuid}`;
    let c = chars.get(key);
    if (!c) {
      let s = services.get(service);
      if (!s) {
        s = await server.getPrimaryService(service);
        services.set(service, s);
      }
      c = await s.getCharacteristic(uuid);
      chars.set(key, c);
    }
    return c;
  };
  const bytes = (v: DataView) => new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
  // Subscribe where the board notifies; a board without notifications (or one
  // that refuses them) is polled all the same.
  const waker = new Waker();
  let subscribed = 0;
  for (const [service, uuid] of NOTIFYING) {
    try {
      const c = await characteristic(service, uuid);
      if (!c.properties.notify) continue;
      c.addEventListener("characteristicvaluechanged", () => waker.wake());
      await c.startNotifications();
      subscribed++;
    } catch {
      // Not offered by this board: polled instead.
    }
  }
  return {
    name: device.name ?? "a board",
    subscribed,
    changed: () => waker.next(),
    async read(service, uuid) {
      return bytes(await (await characteristic(service, uuid)).readValue());
    },
    async write(service, uuid, data) {
      await (await characteristic(service, uuid)).writeValueWithResponse(data as BufferSource);
    },
    disconnect() {
      if (device.gatt?.connected) device.gatt.disconnect();
    },
  };
}

// The parts of the Web Bluetooth API used here (TypeScript's DOM library has none).
interface Bluetooth {
  requestDevice(options: { filters: { services: string[] }[]; optionalServices?: string[] }): Promise<BluetoothDevice>;
}
interface BluetoothDevice {
  name?: string;
  gatt?: { connected: boolean; connect(): Promise<BluetoothRemoteGATTServer>; disconnect(): void };
}
interface BluetoothRemoteGATTServer {
  getPrimaryService(uuid: string): Promise<BluetoothRemoteGATTService>;
}
interface BluetoothRemoteGATTService {
  getCharacteristic(uuid: string): Promise<BluetoothRemoteGATTCharacteristic>;
}
interface BluetoothRemoteGATTCharacteristic {
  readonly properties: { notify: boolean };
  readValue(): Promise<DataView>;
  writeValueWithResponse(data: BufferSource): Promise<void>;
  startNotifications(): Promise<BluetoothRemoteGATTCharacteristic>;
  addEventListener(type: "characteristicvaluechanged", listener: () => void): void;
}
