// The desktop shell's commands, when the page runs inside the app's window
// (Tauri injects its IPC for the relay's own origin; browsers have none).
interface TauriInternals {
  invoke<T>(cmd: string, args?: Record<string, unknown>): Promise<T>;
}

export interface DesktopInfo {
  version: string;
  baseUrl: string;
  lanUrl: string | null;
  notices: string[];
  dataDir: string;
}

function tauri(): TauriInternals | null {
  return (window as unknown as { __TAURI_INTERNALS__?: TauriInternals }).__TAURI_INTERNALS__ ?? null;
}

export const inDesktopApp = () => tauri() !== null;

export function desktopInfo(): Promise<DesktopInfo> | null {
  return tauri()?.invoke<DesktopInfo>("desktop_info") ?? null;
}

/** Copies the LAN URL to the clipboard; rejects with the shell's message. */
export function copyLanUrl(): Promise<string> | null {
  return tauri()?.invoke<string>("copy_lan_url") ?? null;
}

/** A board the desktop app's own Bluetooth sees (btleplug). */
export interface BoardSeen {
  id: string;
  name: string;
  rssi: number | null;
}

export interface PairStepView {
  kind: "started" | "done" | "skipped" | "prompt";
  what: string;
  detail: string;
}

/** The board the app opened: what the Wi-Fi form may offer. */
export interface NativeBoard {
  name: string;
  canScan: boolean;
  canIdentify: boolean;
}

export interface NativeNetwork {
  ssid: string;
  rssi: number;
  auth: string;
}

/**
 * Native pairing (the window has no Web Bluetooth), a call per step: scan, open the board
 * (read it, wait for its button), scan its networks or make it blink, provision it; cancel at
 * any point. `progress` lists the steps so far while a call runs.
 */
export const nativeBluetooth = {
  boards: () => tauri()!.invoke<BoardSeen[]>("ble_boards"),
  open: (id: string) => tauri()!.invoke<NativeBoard>("ble_open", { id }),
  networks: () => tauri()!.invoke<NativeNetwork[]>("ble_networks"),
  identify: () => tauri()!.invoke<void>("ble_identify"),
  provision: (ssid: string, password: string) => tauri()!.invoke<string>("ble_provision", { ssid, password }),
  cancel: () => tauri()!.invoke<void>("ble_cancel"),
  progress: () => tauri()!.invoke<PairStepView[]>("ble_pair_progress"),
};
