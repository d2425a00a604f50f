// Settings: the relay's settings (applied live where possible) and the admin password.
import { api, Settings, SettingsView } from "../lib/api";
import type { CaptureDevices } from "../generated/contract";
import { h, notice } from "../lib/dom";
import { applyTheme } from "../lib/theme";
import { micMeter } from "./mic-meter";

const LABELS: Record<keyof Settings, string> = {
  port: "Port",
  lanAccess: "LAN access (listen on every network interface)",
  tls: "HTTPS (a generated certificate; phones need it for camera and microphone)",
  ringFrames: "Frames kept per camera",
  testPattern: "Test-pattern camera",
  audioBufferMs: "Audio jitter buffer (ms)",
  theme: "Theme",
  cameraEnabled: "Publish this computer's camera (host-camera)",
  camera: "Camera",
  cameraWidth: "Camera width",
  cameraHeight: "Camera height",
  cameraFps: "Camera frames per second",
  cameraQuality: "JPEG quality (cameras without MJPEG)",
  cameraAlwaysOn: "Keep the camera on without viewers",
  micEnabled: "Publish this computer's microphone (mic)",
  mic: "Microphone",
  micFormat: "Microphone format",
  micAlwaysOn: "Keep the microphone on without listeners (e.g. for recording)",
};

const GROUPS: [string, (keyof Settings)[]][] = [
  ["Relay", ["port", "lanAccess", "tls", "ringFrames", "testPattern", "audioBufferMs", "theme"]],
  ["Camera", ["cameraEnabled", "camera", "cameraWidth", "cameraHeight", "cameraFps", "cameraQuality", "cameraAlwaysOn"]],
  ["Microphone", ["micEnabled", "mic", "micFormat", "micAlwaysOn"]],
];

const RANGES: Partial<Record<keyof Settings, [number, number]>> = {
  port: [0, 65535],
  ringFrames: [1, 1024],
  audioBufferMs: [20, 5000],
  cameraWidth: [16, 7680],
  cameraHeight: [16, 4320],
  cameraFps: [1, 120],
  cameraQuality: [1, 100],
};

type Devices = CaptureDevices;

export function mountSettings(root: HTMLElement, onSaved: (s: Settings) => void): () => void {
  const status = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "card settings", id: "settings-form" });
  const pw = passwordForm();
  const meter = micMeter();
  root.append(status, form, meter.element, pw);

  let devices: Devices | null = null;

  function choice(id: string, key: string, value: string, options: [string, string][]): HTMLElement {
    if (!options.some(([v]) => v === value)) options.push([value, `${value} (not connected now)`]);
    return h("select", { id, name: key }, ...options.map(([v, label]) => h("option", { value: v, selected: v === value }, label)));
  }

  function field(key: keyof Settings, value: unknown): HTMLElement {
    const id = `set-${key}`;
    let input: HTMLElement;
    let hint: string | undefined;
    if (typeof value === "boolean") input = h("input", { id, name: key, type: "checkbox", checked: value });
    else if (key === "theme") input = choice(id, key, String(value), [["system", "system"], ["light", "light"], ["dark", "dark"]]);
    else if (key === "micFormat") input = choice(id, key, String(value), [["voice", "voice: 16 kHz mono"], ["music", "music: 48 kHz stereo"]]);
    else if (key === "camera") {
      input = choice(id, key, String(value), [["", "the first camera"], ...(devices?.cameras.devices ?? []).map((c) => [String(c.index), `${c.index}: ${c.name}`] as [string, string])]);
      hint = devices?.cameras.message;
    } else if (key === "mic") {
      input = choice(id, key, String(value), [["default", "the default microphone"], ...(devices?.microphones.devices ?? []).map((m) => [m.name, m.name] as [string, string])]);
      hint = devices?.microphones.message;
    } else {
      const [min, max] = RANGES[key] ?? [0, 100000];
      input = h("input", { id, name: key, type: "number", min, max, value: String(value), required: true });
    }
    return h("div", { class: "field" }, h("label", { for: id }, LABELS[key]), h("div", {}, input, hint ? h("p", { class: "hint", "data-hint": key }, hint) : ""));
  }

  function render(v: SettingsView) {
    form.replaceChildren(
      ...GROUPS.flatMap(([title, keys]) => [h("h2", {}, title), ...keys.map((k) => field(k, v.settings[k]))]),
      h("button", { type: "submit" }, "Save"),
    );
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

  Promise.all([api<SettingsView>("/api/settings"), api<Devices>("/api/capture/devices").catch(() => null)]).then(
    ([v, d]) => {
      devices = d;
      render(v);
    },
    (e) => status.replaceChildren(notice((e as Error).message, "error")),
  );
  return () => meter.stop();
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
