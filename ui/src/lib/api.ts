// Talking to the relay: JSON with the server's error shape, WebSocket URLs,
// and the `?token=` of a share link carried into every request.

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** The token of a share link (`/?token=…`), if the page was opened with one. */
export function pageToken(): string | null {
  return new URLSearchParams(location.search).get("token");
}

/** True when the page was opened by a phone pairing's QR code (its pass is the page's token). */
export function pairingPass(): boolean {
  return pageToken()?.startsWith("rdp_") ?? false;
}

/** `path` with the page's token added (cookies cover signed-in admins). */
export function withToken(path: string): string {
  const t = pageToken();
  if (!t) return path;
  return `${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(t)}`;
}

export function wsUrl(path: string): string {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}${withToken(path)}`;
}

export async function api<T = any>(path: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  if (init.body && !headers.has("content-type")) headers.set("content-type", "application/json");
  let resp: Response;
  try {
    // A share link's page sends only its token: the relay refuses a request
    // that carries two credentials (the token and a signed-in admin's cookie).
    resp = await fetch(withToken(path), { ...init, headers, credentials: pageToken() ? "omit" : "same-origin" });
  } catch (e) {
    throw new ApiError(0, "network", `cannot reach the relay (${(e as Error).message})`);
  }
  const text = await resp.text();
  let body: any = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  if (!resp.ok) {
    // Only a session that is really gone sends to the sign-in page (a wrong
    // current password is a 401 too, answered in place).
    if (resp.status === 401 && body?.error?.code === "unauthorized") {
      // A phone pairing's page has no sign-in to go to: its pass has ended.
      if (pairingPass()) throw new ApiError(401, "pairing_ended", "This pairing page has closed: start a new one in the Relay Deck app.");
      location.href = pageToken() ? "/login?link=ended" : `/login?next=${encodeURIComponent(location.pathname + location.hash)}`;
    }
    throw new ApiError(resp.status, body?.error?.code ?? "http", body?.error?.message ?? `${resp.status} ${resp.statusText}`);
  }
  return body as T;
}

// The wire types are generated from the Rust contract (src/generated/contract.ts).
export type { Session, Settings, SettingsView } from "../generated/contract";

