// Settings: the relay's settings (applied live where possible) and the admin password.
import { api, ApiError, Settings, SettingsView } from "../lib/api";
import type { CameraList, CaptureDevices, IceServer, RecordRule, RecorderList } from "../generated/contract";
import { formatIceServers, parseIceServers } from "../lib/ice";
import { formatRecordRules, parseRecordRules } from "../lib/record-rules";
import { fmtBytes, h, notice } from "../lib/dom";
import { inDesktopApp } from "../lib/desktop";
import { applyTheme } from "../lib/theme";
import { micMeter } from "./mic-meter";

const LABELS: Record<keyof Settings, string> = {
  port: "Port",
  lanAccess: "LAN access (listen on every network interface)",
  devkitLan: "Devkits on the network (devkit ports on every interface; boards still need their token)",
  tls: "HTTPS (a generated certificate; phones need it for camera and microphone)",
  ringFrames: "Frames kept per camera",
  testPattern: "Test-pattern camera",
  audioBufferMs: "Audio jitter buffer (ms)",
  theme: "Theme",
  startAtLogin: "Start Relay Deck when I log in (in the tray, without a window)",
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
  iceServers: "ICE servers for WebRTC (one per line: a STUN URL, or a TURN URL, its username and credential)",
  recordRules: "Record without being asked (one rule per line)",
  recordKeepDays: "Keep recordings for (days; 0: until space runs out)",
  recordMaxDiskPercent: "Recordings may fill at most (% of their disk)",
  recordDir: "Recordings folder (empty: in Relay Deck's data folder)",
};

const GROUPS: [string, (keyof Settings)[]][] = [
  ["Relay", ["port", "lanAccess", "devkitLan", "tls", "ringFrames", "testPattern", "audioBufferMs", "theme"]],
  // Only the desktop app starts at login (a server's service manager starts `serve`).
  ...(inDesktopApp() ? [["This computer", ["startAtLogin"]] as [string, (keyof Settings)[]]] : []),
  ["Camera", ["cameraEnabled", "camera", "cameraWidth", "cameraHeight", "cameraFps", "cameraQuality", "cameraAlwaysOn"]],
  ["Microphone", ["micEnabled", "mic", "micFormat", "micAlwaysOn"]],
  ["WebRTC", ["iceServers"]],
  ["Recording", ["recordRules", "recordKeepDays", "recordMaxDiskPercent", "recordDir"]],
];

const RANGES: Partial<Record<keyof Settings, [number, number]>> = {
  port: [0, 65535],
  ringFrames: [1, 1024],
  audioBufferMs: [20, 5000],
  cameraWidth: [16, 7680],
  cameraHeight: [16, 4320],
  cameraFps: [1, 120],
  cameraQuality: [1, 100],
  recordKeepDays: [0, 3650],
  recordMaxDiskPercent: [1, 95],
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
    } else if (key === "iceServers") {
      input = h("textarea", { id, name: key, rows: 3, spellcheck: "false", class: "mono", placeholder: "stun:stun.example.net:3478\nturn:turn.example.net:3478 USERNAME CREDENTIAL" }, formatIceServers(value as IceServer[]));
      hint = "Empty: peers use their host addresses only, which is enough on one network.";
    } else if (key === "recordRules") {
      input = h("textarea", { id, name: key, rows: 3, spellcheck: "false", class: "mono", placeholder: "camera front-door always\naudio shop schedule 1-5 08:00-18:00; 6,7 10:00-16:00" }, formatRecordRules(value as RecordRule[]));
      hint =
        "camera|audio SOURCE always, or … schedule DAYS HH:MM-HH:MM (1 = Monday … 7 = Sunday, this computer's time), or camera SOURCE motion [sensitivity=1–100] [pre=SECONDS] [post=SECONDS] [zone=X,Y,W,H in % …] [DAYS HH:MM-HH:MM]. Recording this computer's camera (host-camera) or microphone (mic) keeps it open while it records, motion watching included. Recording on demand: Library page.";
    } else if (key === "recordDir") {
      input = h("input", { id, name: key, type: "text", value: String(value), spellcheck: "false", class: "mono", placeholder: "/srv/relaydeck/recordings" });
      hint = "Applies when Relay Deck starts again; recordings already made stay where they are.";
    } else {
      const [min, max] = RANGES[key] ?? [0, 100000];
      input = h("input", { id, name: key, type: "number", min, max, value: String(value), required: true });
    }
    return h("div", { class: "field" }, h("label", { for: id }, LABELS[key]), h("div", {}, input, hint ? h("p", { class: "hint", "data-hint": key }, hint) : ""));
  }

  const saveState = h("span", { class: "save-state", id: "save-state", role: "status" });
  const restartNote = h("p", { class: "hint", id: "restart-note" });

  function render(v: SettingsView) {
    form.replaceChildren(
      ...GROUPS.flatMap(([title, keys]) => [
        h("h2", {}, title),
        title === "Relay" ? h("p", { class: "hint" }, "Port, LAN access, devkits on the network and HTTPS apply when Relay Deck starts again; an option given on the command line wins over them.") : "",
        ...keys.map((k) => field(k, v.settings[k])),
      ]),
      h("div", { class: "savebar" }, h("button", { type: "submit", id: "save-settings" }, "Save"), saveState, restartNote),
    );
    runningHints(v);
    void cameraNow();
    void recordingDisk();
    const r = v.restartRequired;
    restartNote.textContent = r.length ? `Waiting for the next start of Relay Deck: ${r.map((k) => LABELS[k as keyof Settings]?.split(" (")[0] ?? k).join(", ")}.` : "";
  }

  /** Under "Publish this computer's camera": what the camera is doing now, and why not when it cannot. */
  async function cameraNow() {
    const slot = form.querySelector("#set-cameraEnabled")?.parentElement;
    if (!slot) return;
    let text: string;
    try {
      const { clients } = await api<CameraList>("/api/clients");
      const cam = clients.find((c) => c.id === "host-camera");
      const a = cam?.availability;
      text = !cam
        ? "Now: off."
        : a?.state === "unavailable"
          ? `Now: unavailable: ${a.message}. The Cameras page does not show it until the relay can open a camera; it retries by itself.`
          : a?.state === "standby"
            ? "Now: on standby (the camera opens when somebody watches)."
            : "Now: live.";
    } catch {
      return;
    }
    slot.querySelector('[data-hint="camera-now"]')?.remove();
    slot.append(h("p", { class: "hint", "data-hint": "camera-now", id: "camera-now" }, text));
  }

  /** Under the Recording group: disk use per source, free space, and where the recordings are. */
  async function recordingDisk() {
    const slot = form.querySelector("#set-recordDir")?.parentElement;
    if (!slot) return;
    let rec: RecorderList;
    try {
      rec = await api<RecorderList>("/api/recorders");
    } catch {
      return;
    }
    const used = rec.bySource.reduce((n, s) => n + s.bytes, 0);
    const rows = rec.bySource.map((s) => h("tr", {}, h("td", {}, s.source), h("td", {}, fmtBytes(s.bytes)), h("td", {}, `${s.segments} segment${s.segments === 1 ? "" : "s"}`)));
    slot.querySelector("#record-disk-settings")?.remove();
    slot.append(
      h(
        "div",
        { id: "record-disk-settings", class: "hint" },
        h("p", {}, `This run records into ${rec.dir ?? "the data folder"}: ${fmtBytes(used)} used${rec.freeBytes === null ? "" : `, ${fmtBytes(rec.freeBytes)} free; recording stops below ${fmtBytes(rec.reserveBytes)} free`}.`),
        rows.length ? h("table", { class: "disk-use" }, h("thead", {}, h("tr", {}, h("th", {}, "Source"), h("th", {}, "Size"), h("th", {}, "Recordings"))), h("tbody", {}, ...rows)) : h("p", {}, "No recordings yet."),
      ),
    );
  }

  /** Under each field that applies at the next start: what this run uses. */
  function runningHints(v: SettingsView) {
    const run = v.running;
    const now: Partial<Record<keyof Settings, string>> = {
      port: v.listeningPort === v.settings.port ? `This run listens on port ${v.listeningPort}.` : `Configured ${v.settings.port}; this run listens on port ${v.listeningPort}${v.settings.port === 0 ? " (0 means any free port)" : ""}.`,
      lanAccess: `This run: ${run.lanAccess ? "on the LAN" : "this computer only"}.`,
      // Off means the devkit ports follow LAN access.
      devkitLan: `This run: devkit ports ${run.devkitLan || run.lanAccess ? "open to boards on the network (see Devices for the address)" : "on this computer only"}.`,
      tls: `This run: ${run.tls ? "HTTPS" : "plain HTTP"}.`,
    };
    for (const [key, text] of Object.entries(now)) {
      const slot = form.querySelector(`#set-${key}`)?.parentElement;
      if (slot) slot.append(h("p", { class: "hint", "data-running": key }, text));
    }
  }

  form.addEventListener("input", () => {
    saveState.textContent = "Unsaved changes";
    saveState.dataset.kind = "dirty";
  });

  form.onsubmit = async (ev) => {
    ev.preventDefault();
    const patch: Record<string, unknown> = {};
    try {
      for (const el of form.querySelectorAll<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>("[name]")) {
        patch[el.name] = el.name === "iceServers" ? parseIceServers(el.value) : el.name === "recordRules" ? parseRecordRules(el.value) : el instanceof HTMLInputElement && el.type === "checkbox" ? el.checked : el instanceof HTMLInputElement && el.type === "number" ? Number(el.value) : el.value;
      }
    } catch (e) {
      saveState.textContent = "Not saved";
      saveState.dataset.kind = "error";
      status.replaceChildren(notice((e as Error).message, "error"));
      return;
    }
    saveState.textContent = "Saving…";
    saveState.dataset.kind = "busy";
    try {
      const v = await api<SettingsView>("/api/settings", { method: "PUT", body: JSON.stringify(patch) });
      render(v);
      applyTheme(v.settings.theme);
      onSaved(v.settings);
      saveState.textContent = "Saved";
      saveState.dataset.kind = "ok";
      status.replaceChildren();
    } catch (e) {
      saveState.textContent = "Not saved";
      saveState.dataset.kind = "error";
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
    current.removeAttribute("aria-invalid");
    try {
      await api("/api/password", { method: "POST", body: JSON.stringify({ current: current.value, new: next.value }) });
      out.replaceChildren(notice("Password changed."));
      form.reset();
    } catch (e) {
      // What was typed stays; a wrong current password is not a lost session.
      const wrong = e instanceof ApiError && e.code === "wrong_password";
      if (wrong) current.setAttribute("aria-invalid", "true");
      out.replaceChildren(notice(wrong ? "The current password is not right. Nothing was changed." : (e as Error).message, "error"));
    }
  };
  return form;
}
