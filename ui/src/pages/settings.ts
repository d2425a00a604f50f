// Settings: the relay's settings (applied live where possible) and the admin password.
import { api, Settings, SettingsView } from "../lib/api";
import { h, notice } from "../lib/dom";
import { applyTheme } from "../lib/theme";

const LABELS: Record<keyof Settings, string> = {
  port: "Port",
  lanAccess: "LAN access (listen on every network interface)",
  tls: "HTTPS (a generated certificate; phones need it for camera and microphone)",
  ringFrames: "Frames kept per camera",
  testPattern: "Test-pattern camera",
  audioBufferMs: "Audio jitter buffer (ms)",
  theme: "Theme",
};

export function mountSettings(root: HTMLElement, onSaved: (s: Settings) => void): () => void {
  const status = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "card settings", id: "settings-form" });
  const pw = passwordForm();
  root.append(status, form, pw);

  function field(key: keyof Settings, value: unknown): HTMLElement {
    const id = `set-${key}`;
    let input: HTMLElement;
    if (typeof value === "boolean") input = h("input", { id, name: key, type: "checkbox", checked: value });
    else if (key === "theme") input = h("select", { id, name: key }, ...["system", "light", "dark"].map((t) => h("option", { value: t, selected: t === value }, t)));
    else {
      const [min, max] = key === "port" ? [0, 65535] : key === "ringFrames" ? [1, 1024] : [20, 5000];
      input = h("input", { id, name: key, type: "number", min, max, value: String(value), required: true });
    }
    return h("div", { class: "field" }, h("label", { for: id }, LABELS[key]), input);
  }

  function render(v: SettingsView) {
    form.replaceChildren(h("h2", {}, "Relay"), ...(Object.keys(LABELS) as (keyof Settings)[]).map((k) => field(k, v.settings[k])), h("button", { type: "submit" }, "Save"));
    const r = v.restartRequired;
    const run = v.running;
    status.replaceChildren(
      ...(r.length ? [notice(`${r.join(", ")}: the value above applies when Relay Deck starts again (this run: port ${run.port}, ${run.lanAccess ? "on the LAN" : "this computer only"}${run.tls ? ", HTTPS" : ""}; options given on the command line also win over this page).`)] : []),
    );
  }

  form.onsubmit = async (ev) => {
    ev.preventDefault();
    const patch: Record<string, unknown> = {};
    for (const el of form.querySelectorAll<HTMLInputElement | HTMLSelectElement>("[name]")) {
      patch[el.name] = el instanceof HTMLInputElement && el.type === "checkbox" ? el.checked : el instanceof HTMLInputElement && el.type === "number" ? Number(el.value) : el.value;
    }
    try {
      const v = await api<SettingsView>("/api/settings", { method: "PUT", body: JSON.stringify(patch) });
      render(v);
      applyTheme(v.settings.theme);
      onSaved(v.settings);
      if (!v.restartRequired.length) status.replaceChildren(notice("Saved and applied."));
    } catch (e) {
      status.replaceChildren(notice((e as Error).message, "error"));
    }
  };

  api<SettingsView>("/api/settings").then(render, (e) => status.replaceChildren(notice((e as Error).message, "error")));
  return () => {};
}

function passwordForm(): HTMLElement {
  const current = h("input", { type: "password", autocomplete: "current-password", required: true, id: "pw-current" }) as HTMLInputElement;
  const next = h("input", { type: "password", autocomplete: "new-password", required: true, minlength: 8, id: "pw-new" }) as HTMLInputElement;
  const out = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "card" }, h("h2", {}, "Admin password"), h("div", { class: "field" }, h("label", { for: "pw-current" }, "Current password"), current), h("div", { class: "field" }, h("label", { for: "pw-new" }, "New password (8 characters or more)"), next), h("button", { type: "submit" }, "Change password"), out);
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    try {
      await api("/api/password", { method: "POST", body: JSON.stringify({ current: current.value, new: next.value }) });
      out.replaceChildren(notice("Password changed."));
      form.reset();
    } catch (e) {
      out.replaceChildren(notice((e as Error).message, "error"));
    }
  };
  return form;
}
