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
