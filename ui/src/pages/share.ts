// Share: the relay's addresses, and links that let others watch chosen
// cameras and listen to chosen audio sources, or publish a camera; the tokens
// behind them, with copy buttons, and revoking (after asking).
//
// A QR code is drawn only for an address a phone can reach: a link on
// 127.0.0.1 would open the phone's own loopback, so the page says why there
// is none and how to turn LAN access on instead.
import { api } from "../lib/api";
import type { CameraList, CreatedToken, FileList, SettingsView, SourceList, TokenInfo, TokenList } from "../generated/contract";
import { copyButton, h, notice } from "../lib/dom";
import { ID_PATTERN } from "../lib/ids";
import { qrElement } from "../lib/qr";
import { copyLanUrl, inDesktopApp } from "../lib/desktop";

/** Whether a phone on the network can open `url` (not this computer's loopback). */
export function reachableFromPhone(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, "");
  } catch {
    return false;
  }
  return !(host === "localhost" || host.endsWith(".localhost") || host === "::1" || /^127\./.test(host) || host === "0.0.0.0");
}

const NO_LAN = "A phone cannot open this link: it points to 127.0.0.1, this computer itself. Turn on LAN access in the Relay section of the settings (it applies at the next start), then make the link again.";

export function mountShare(root: HTMLElement): () => void {
  const lan = h("div", { class: "card", id: "lan" }, h("h2", {}, "This relay"));
  const out = h("div", { class: "result", "aria-live": "polite" });
  const choices = h("fieldset", { class: "choices", id: "link-choices" }, h("legend", {}, "What the link may watch and hear"));
  const hours = h("input", { type: "number", min: 1, max: 8760, value: 48, "aria-label": "expires after hours" }) as HTMLInputElement;
  const label = h("input", { placeholder: "Who is it for?", required: true, maxlength: 64 }) as HTMLInputElement;
  const viewForm = h("form", { class: "card", id: "view-link" }, h("h2", {}, "View link"), h("label", {}, "Name ", label), choices, h("label", {}, "Expires after (hours) ", hours), h("button", { type: "submit" }, "Create view link"));
  const pubId = h("input", { placeholder: "camera ID, e.g. phone", pattern: ID_PATTERN, title: "1–64 letters, digits, _ or -", required: true }) as HTMLInputElement;
  const pubForm = h("form", { class: "card", id: "publish-link" }, h("h2", {}, "Publish link"), h("p", {}, "Opens the capture page on a phone or laptop and publishes its camera (and microphone) under this ID."), h("label", {}, "Camera ID ", pubId), h("button", { type: "submit" }, "Create publish link"));
  const scraper = h("input", { placeholder: "e.g. prometheus", required: true, maxlength: 64, value: "prometheus" }) as HTMLInputElement;
  const metricsForm = h(
    "form",
    { class: "card", id: "metrics-token" },
    h("h2", {}, "Metrics token"),
    h("p", {}, "For Prometheus or another scraper: reads ", h("code", {}, "/metrics"), " (counters of cameras, audio, devkits, viewers and requests) and nothing else: no picture, no sound, no settings."),
    h("label", {}, "Name ", scraper),
    h("button", { type: "submit" }, "Create metrics token"),
  );
  const tokens = h("div", { class: "card", id: "tokens" });
  root.append(lan, h("div", { class: "two" }, viewForm, pubForm), metricsForm, out, tokens);
  let base = location.origin;

  async function create(body: object, what: string) {
    out.replaceChildren();
    try {
      const t = await api<CreatedToken>("/api/tokens", { method: "POST", body: JSON.stringify(body) });
      // The server builds the link on the address this page used; a phone needs the LAN address.
      const made = t.link ? new URL(t.link, location.origin) : null;
      const link = made ? `${base}${made.pathname}${made.search}` : null;
      out.append(
        h(
          "section",
          { class: "card", id: "new-link" },
          h("h2", {}, what),
          h("p", {}, t.scope === "metrics" ? "Whoever has this token can read the relay's counters (and nothing else) until you revoke it. It is shown only now." : "Anyone with this link gets exactly these rights until it expires or you revoke it."),
          link ? field("Link", link, "share-link") : "",
          field("Token", t.token, "share-token"),
          t.scope === "metrics" ? scrapeConfig(t.token) : "",
          t.scope === "metrics" ? "" : h("p", { class: "hint" }, "To try it yourself, open it in a private window or another browser: this one is signed in as the admin, and the relay refuses a request that carries both the admin's session and a link's token."),
          !link ? "" : reachableFromPhone(link) ? qrElement(link, what) : notice(NO_LAN),
        ),
      );
      void loadTokens();
    } catch (e) {
      out.append(notice((e as Error).message, "error"));
    }
  }
  viewForm.onsubmit = (ev) => {
    ev.preventDefault();
    const ids = [...choices.querySelectorAll<HTMLInputElement>("input:checked")].map((c) => c.value);
    if (!ids.length) return out.replaceChildren(notice("Choose at least one camera, audio source or file.", "error"));
    void create({ name: label.value, scope: "view", ids: [...new Set(ids)], expiresInSec: Number(hours.value) * 3600 }, `View link for ${label.value}`);
  };
  pubForm.onsubmit = (ev) => {
    ev.preventDefault();
    void create({ name: `publish ${pubId.value}`, scope: "publish", ids: [pubId.value] }, `Publish link for ${pubId.value}`);
  };

  metricsForm.onsubmit = (ev) => {
    ev.preventDefault();
    void create({ name: scraper.value, scope: "metrics" }, `Metrics token for ${scraper.value}`);
  };

  /** A Prometheus scrape job that uses `token` (sent as a Bearer token). */
  function scrapeConfig(token: string): HTMLElement {
    const target = new URL(base);
    const job = [
      "scrape_configs:",
      "  - job_name: relaydeck",
      `    scheme: ${target.protocol.replace(":", "")}`,
      "    authorization:",
      `      credentials: ${token}`,
      ...(target.protocol === "https:" ? ["    tls_config:", "      insecure_skip_verify: true  # self-signed: or ca_file: DATA_DIR/tls/cert.pem"] : []),
      "    static_configs:",
      `      - targets: ["${target.host}"]`,
    ].join("\n");
    return h("div", { class: "scrape" }, h("p", { class: "hint" }, "prometheus.yml:"), h("pre", { id: "scrape-config" }, job), copyButton(job, "Copy the scrape job"));
  }

  /** A value as selectable text with a Copy button. */
  function field(name: string, value: string, id: string): HTMLElement {
    const input = h("input", { type: "text", readonly: true, value, class: "link-field", id, "aria-label": name }) as HTMLInputElement;
    input.onfocus = () => input.select();
    return h("div", { class: "link-row" }, h("span", {}, name), input, copyButton(value, `Copy the ${name.toLowerCase()}`));
  }

  function tokenItem(t: TokenInfo): HTMLElement {
    const b = h("button", { type: "button", class: "danger" }, "Revoke");
    b.onclick = async () => {
      if (!confirm(`Revoke "${t.name}"? Whoever has this link loses access at once, and any stream it has open ends.`)) return;
      try {
        await api(`/api/tokens/${encodeURIComponent(t.id)}`, { method: "DELETE" });
        void loadTokens();
      } catch (e) {
        out.replaceChildren(notice((e as Error).message, "error"));
      }
    };
    const until = t.expired ? " · expired" : t.expiresMs ? ` · until ${new Date(t.expiresMs).toLocaleString()}` : "";
    return h("li", { "data-token": t.id }, h("strong", {}, t.name), ` · ${t.scope}${t.scope === "metrics" ? " · /metrics only" : t.ids ? ` · ${t.ids.join(", ")}` : " · all"}${until} `, b);
  }

  async function loadTokens() {
    try {
      const { tokens: list } = await api<TokenList>("/api/tokens");
      tokens.replaceChildren(h("h2", {}, "Links and tokens"), list.length ? h("ul", { class: "tokens" }, ...list.map(tokenItem)) : h("p", { class: "empty" }, "No links yet."));
    } catch (e) {
      tokens.replaceChildren(notice((e as Error).message, "error"));
    }
  }

  function choice(id: string, text: string, checked = true): HTMLElement {
    return h("label", { class: "check" }, h("input", { type: "checkbox", value: id, checked }), ` ${text}`);
  }

  async function load() {
    const [{ clients }, { sources }, { files }, s] = await Promise.all([api<CameraList>("/api/clients"), api<SourceList>("/api/sources"), api<FileList>("/api/files"), api<SettingsView>("/api/settings")]);
    const cams = clients.filter((c) => c.availability.state !== "unavailable" || c.frames > 0);
    choices.replaceChildren(
      h("legend", {}, "What the link may watch and hear"),
      h("p", { class: "hint" }, "Cameras"),
      ...(cams.length ? cams.map((c) => choice(c.id, c.name ?? c.id)) : [h("p", { class: "empty" }, "No cameras yet.")]),
      h("p", { class: "hint" }, "Audio sources"),
      ...(sources.length ? sources.map((a) => choice(a.id, `${a.name ?? a.id}${a.kind === "local" ? " (this computer)" : ""}`)) : [h("p", { class: "empty" }, "No audio sources yet.")]),
      // Uploads are private until a link names them: none is chosen unless asked for.
      ...(files.length ? [h("p", { class: "hint" }, "Audio files (private unless chosen)"), ...files.map((f) => choice(f.id, f.name, false))] : []),
    );
    const urls = s.urls.length ? s.urls : [location.origin];
    base = urls.find(reachableFromPhone) ?? location.origin;
    lan.replaceChildren(
      h("h2", {}, "This relay"),
      s.running.lanAccess ? h("p", {}, "Reachable on your network at:") : notice("LAN access is off: only this computer can connect. Turn it on under Settings › Relay (it applies at the next start)."),
      ...urls.map((u) => h("div", { class: "lan-url" }, h("a", { href: u, class: "link" }, u), copyButton(u, `Copy ${u}`), reachableFromPhone(u) ? qrElement(u, u) : "")),
      inDesktopApp() ? lanButton() : "",
    );
  }

  function lanButton(): HTMLElement {
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
