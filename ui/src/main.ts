// The Relay Deck UI: one page, one route per feature (#/cameras, #/listen, #/library,
// #/devices, #/capture, #/share, #/status, #/api, #/settings). The same code runs in the
// desktop window and in LAN browsers; pages a caller may not use are hidden
// (the server refuses them anyway).
import "./style.css";
import { api, pageToken, Session, Settings } from "./lib/api";
import { h } from "./lib/dom";
import { applyTheme, initialTheme } from "./lib/theme";
import { mountApi } from "./pages/api";
import { mountCameras } from "./pages/cameras";
import { mountCapture } from "./pages/capture";
import { mountDevices } from "./pages/devices";
import { mountLibrary } from "./pages/library";
import { mountListen } from "./pages/listen";
import { mountSettings } from "./pages/settings";
import { mountShare } from "./pages/share";
import { mountStatus } from "./pages/status";

type Page = { title: string; allowed: (s: Session) => boolean; mount: (root: HTMLElement) => () => void };

applyTheme(initialTheme());
let settings: Settings | null = null;
let admin = false;
const status = document.getElementById("conn-status")!;
const setStatus = (text: string, kind = "") => {
  status.textContent = text;
  status.dataset.kind = kind;
};

const PAGES: Record<string, Page> = {
  cameras: { title: "Cameras", allowed: (s) => s.canView, mount: (r) => mountCameras(r, setStatus, admin) },
  listen: { title: "Listen", allowed: (s) => s.canView, mount: (r) => mountListen(r, settings?.audioBufferMs ?? 150, admin) },
  library: { title: "Library", allowed: (s) => s.canView, mount: (r) => mountLibrary(r, admin) },
  devices: { title: "Devices", allowed: (s) => s.admin, mount: mountDevices },
  capture: { title: "Capture", allowed: (s) => s.canPublish, mount: mountCapture },
  share: { title: "Share", allowed: (s) => s.admin, mount: mountShare },
  status: { title: "Status", allowed: (s) => s.admin, mount: mountStatus },
  api: { title: "API", allowed: (s) => s.admin, mount: mountApi },
  settings: { title: "Settings", allowed: (s) => s.admin, mount: (r) => mountSettings(r, (s) => (settings = s)) },
};

async function main() {
  let session: Session;
  try {
    session = await api<Session>("/api/session");
  } catch (e) {
    document.getElementById("page")!.append(h("p", { class: "notice error" }, `Cannot reach the relay: ${(e as Error).message}`));
    return;
  }
  admin = session.admin;
  if (session.admin) {
    try {
      settings = (await api("/api/settings")).settings;
      applyTheme(settings!.theme);
    } catch {
      /* settings stay at their defaults */
    }
  }
  const nav = document.getElementById("nav")!;
  const menu = document.getElementById("menu")!;
  const top = menu.closest("header")!;
  const setMenu = (open: boolean) => {
    top.classList.toggle("open", open);
    menu.setAttribute("aria-expanded", String(open));
  };
  menu.onclick = () => setMenu(!top.classList.contains("open"));
  nav.addEventListener("click", () => setMenu(false));
  const allowed = Object.entries(PAGES).filter(([, p]) => p.allowed(session));
  const keep = pageToken() ? `?token=${encodeURIComponent(pageToken()!)}` : "";
  nav.replaceChildren(...allowed.map(([key, p]) => h("a", { href: `${location.pathname}${keep}#/${key}`, "data-page": key }, p.title)));
  const who = document.getElementById("who")!;
  who.textContent = session.admin ? "admin" : `${session.scope} link${session.ids ? ` · ${session.ids.join(", ")}` : ""}`;
  if (!pageToken()) {
    const out = h("button", { type: "button", class: "link-button", id: "logout" }, "Sign out");
    out.onclick = async () => {
      await fetch("/api/logout", { method: "POST" });
      location.href = "/login";
    };
    who.after(out);
  }
  showNotice();
  let unmount: (() => void) | null = null;
  const route = () => {
    const key = location.hash.replace(/^#\/?/, "").split(/[?&]/)[0] || allowed[0]?.[0];
    const entry = allowed.find(([k]) => k === key) ?? allowed[0];
    unmount?.();
    setStatus("");
    const root = document.getElementById("page")!;
    root.replaceChildren();
    if (!entry) {
      root.append(h("p", { class: "notice error" }, "These credentials do not give access to any page."));
      return;
    }
    const [k, page] = entry;
    document.title = `${page.title} · Relay Deck`;
    for (const a of nav.querySelectorAll("a")) a.toggleAttribute("aria-current", a.dataset.page === k);
    root.append(h("h1", { class: "page-title" }, page.title));
    unmount = page.mount(root);
  };
  window.addEventListener("hashchange", route);
  route();
}

/** A message the desktop shell passed in the URL (e.g. "port 3000 was busy"). */
function showNotice() {
  const text = sessionStorage.getItem("relaydeck-notice");
  if (!text) return;
  sessionStorage.removeItem("relaydeck-notice");
  const close = h("button", { type: "button", "aria-label": "Dismiss" }, "×");
  const bar = h("div", { class: "banner", role: "status" }, text, close);
  close.onclick = () => bar.remove();
  document.body.prepend(bar);
}

void main();
