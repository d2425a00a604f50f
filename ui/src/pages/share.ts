// Share: the LAN address and links (with QR codes) that let others watch
// chosen cameras or publish a camera, and the tokens behind them.
import { api } from "../lib/api";
import type { CameraList, TokenList } from "../generated/contract";
import { h, notice } from "../lib/dom";
import { qrElement } from "../lib/qr";
import { copyLanUrl, inDesktopApp } from "../lib/desktop";

export function mountShare(root: HTMLElement): () => void {
  const lan = h("div", { class: "card", id: "lan" }, h("h2", {}, "This relay"));
  const out = h("div", { class: "result", "aria-live": "polite" });
  const cams = h("fieldset", { class: "choices" }, h("legend", {}, "Cameras the link may watch"));
  const hours = h("input", { type: "number", min: 1, max: 8760, value: 48, "aria-label": "expires after hours" }) as HTMLInputElement;
  const label = h("input", { placeholder: "Who is it for?", required: true, maxlength: 64 }) as HTMLInputElement;
  const viewForm = h("form", { class: "card", id: "view-link" }, h("h2", {}, "View link"), h("label", {}, "Name ", label), cams, h("label", {}, "Expires after (hours) ", hours), h("button", { type: "submit" }, "Create view link"));
  const pubId = h("input", { placeholder: "camera ID, e.g. phone", pattern: "[A-Za-z0-9_-]{1,64}", required: true }) as HTMLInputElement;
  const pubForm = h("form", { class: "card", id: "publish-link" }, h("h2", {}, "Publish link"), h("p", {}, "Opens the capture page on a phone or laptop and publishes its camera (and microphone) under this ID."), h("label", {}, "Camera ID ", pubId), h("button", { type: "submit" }, "Create publish link"));
  const tokens = h("div", { class: "card", id: "tokens" });
  root.append(lan, h("div", { class: "two" }, viewForm, pubForm), out, tokens);

  async function create(body: object, what: string) {
    out.replaceChildren();
    try {
      const t = await api("/api/tokens", { method: "POST", body: JSON.stringify(body) });
      // The server builds the link on the address this page used; a phone
      // needs the LAN address.
      const made = new URL(t.link, location.origin);
      const link = `${base}${made.pathname}${made.search}`;
      out.append(
        h("section", { class: "card" }, h("h2", {}, what), h("p", {}, "Anyone with this link gets exactly these rights until it expires or you revoke it."), linkField(link),
          h("p", { class: "hint" }, "To try it yourself, open it in a private window or another browser: this one is signed in as the admin, and the relay refuses a request that carries both the admin's session and a link's token."),
          qrElement(link, what)),
      );
      void loadTokens();
    } catch (e) {
      out.append(notice((e as Error).message, "error"));
    }
  }
  viewForm.onsubmit = (ev) => {
    ev.preventDefault();
    const ids = [...cams.querySelectorAll<HTMLInputElement>("input:checked")].map((c) => c.value);
    if (!ids.length) return out.replaceChildren(notice("Choose at least one camera.", "error"));
    void create({ name: label.value, scope: "view", ids, expiresInSec: Number(hours.value) * 3600 }, `View link for ${label.value}`);
  };
  pubForm.onsubmit = (ev) => {
    ev.preventDefault();
    void create({ name: `publish ${pubId.value}`, scope: "publish", ids: [pubId.value] }, `Publish link for ${pubId.value}`);
  };

  async function loadTokens() {
    try {
      const { tokens: list } = await api<TokenList>("/api/tokens");
      tokens.replaceChildren(
        h("h2", {}, "Links and tokens"),
        list.length
          ? h("ul", { class: "tokens" }, ...list.map((t) => {
              const b = h("button", { type: "button", class: "danger" }, "Revoke");
              b.onclick = async () => {
                await api(`/api/tokens/${encodeURIComponent(t.id)}`, { method: "DELETE" });
                void loadTokens();
              };
              return h("li", {}, h("strong", {}, t.name), ` · ${t.scope}${t.ids ? ` · ${t.ids.join(", ")}` : " · all"}${t.expiresMs ? ` · until ${new Date(t.expiresMs).toLocaleString()}` : ""}`, b);
            }))
          : h("p", { class: "empty" }, "No links yet."),
      );
    } catch (e) {
      tokens.replaceChildren(notice((e as Error).message, "error"));
    }
  }

  let base = location.origin;
  async function load() {
    const [{ clients }, s] = await Promise.all([api<CameraList>("/api/clients"), api("/api/settings")]);
    cams.replaceChildren(h("legend", {}, "Cameras the link may watch"), ...(clients.length ? clients.map((c) => h("label", { class: "check" }, h("input", { type: "checkbox", value: c.id, checked: true }), ` ${c.name ?? c.id}`)) : [h("p", { class: "empty" }, "No cameras yet.")]));
    const urls: string[] = s.urls?.length ? s.urls : [location.origin];
    base = urls.find((u) => !u.includes("127.0.0.1")) ?? location.origin;
    lan.replaceChildren(
      h("h2", {}, "This relay"),
      s.running.lanAccess ? h("p", {}, "Reachable on your network at:") : notice("LAN access is off: only this computer can connect. Turn it on in Settings (it applies at the next start)."),
      ...urls.map((u) => h("div", { class: "lan-url" }, h("a", { href: u, class: "link" }, u), qrElement(u, u))),
      inDesktopApp() ? copyButton() : "",
    );
  }
  /** The link as selectable text with a Copy button (not a link to click here: see the hint). */
  function linkField(link: string): HTMLElement {
    const field = h("input", { type: "text", readonly: "", value: link, class: "link-field", "aria-label": "Share link" }) as HTMLInputElement;
    field.onfocus = () => field.select();
    const said = h("span", { class: "hint" });
    const copy = h("button", { type: "button", class: "copy-link" }, "Copy");
    copy.onclick = async () => {
      try {
        await navigator.clipboard.writeText(link);
        said.textContent = "Copied.";
      } catch {
        field.select();
        said.textContent = "Press Ctrl+C to copy.";
      }
    };
    return h("div", { class: "link-row" }, field, copy, said);
  }

  function copyButton(): HTMLElement {
    const said = h("span", { role: "status" });
    const b = h("button", { type: "button", id: "copy-lan" }, "Copy LAN URL");
    b.onclick = () =>
      copyLanUrl()?.then(
        (url) => (said.textContent = ` Copied ${url}`),
        (e) => (said.textContent = ` ${e}`),
      );
    return h("p", {}, b, said);
  }

  void load().catch((e) => out.append(notice((e as Error).message, "error")));
  void loadTokens();
  return () => {};
}
