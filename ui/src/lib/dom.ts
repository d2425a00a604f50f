// A tiny element builder: h("button", { class: "x", onclick }, "text").

type Attrs = Record<string, string | number | boolean | EventListener | null | undefined>;
type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v as EventListener);
    else if (k === "class") el.className = String(v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(typeof c === "number" ? String(c) : c);
  return el;
}

export function fmtAge(ms: number): string {
  if (!isFinite(ms)) return "—";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60000)} min`;
}

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1 << 20) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1 << 30) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n < 2 ** 40) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  return `${(n / 2 ** 40).toFixed(1)} TiB`;
}

/** A status line that screen readers announce. */
export function notice(text: string, kind: "info" | "error" = "info"): HTMLElement {
  return h("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

/** Sets `el`'s text only when it differs (an unchanged text costs no layout or paint). */
export function setText(el: HTMLElement, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}

/** Copies `text` to the clipboard; falls back to a selection where the Clipboard API is missing (plain-HTTP LAN pages). */
export async function copyText(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
  const area = h("textarea", { readonly: true, "aria-hidden": "true", style: "position:fixed;opacity:0" }, text);
  document.body.append(area);
  area.select();
  const ok = document.execCommand("copy");
  area.remove();
  if (!ok) throw new Error("this browser refused to copy");
}

/** A "Copy" button for `text` that says whether it worked. */
export function copyButton(text: string | (() => string), label = "Copy"): HTMLButtonElement {
  const b = h("button", { type: "button", class: "copy", title: label, "aria-label": label }, "Copy") as HTMLButtonElement;
  b.onclick = async () => {
    try {
      await copyText(typeof text === "string" ? text : text());
      b.textContent = "Copied";
    } catch (e) {
      b.textContent = "Copy failed";
      b.title = (e as Error).message;
    }
    setTimeout(() => (b.textContent = "Copy"), 1500);
  };
  return b;
}
