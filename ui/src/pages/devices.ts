// Devices: devkits with live state and stats; add (token shown once, with a
// QR code), revoke, send commands, latest events.
import { api, ApiError } from "../lib/api";
import type { Device, DeviceList } from "../generated/contract";
import { fmtAge, fmtBytes, h, notice } from "../lib/dom";
import { qrElement } from "../lib/qr";

export function mountDevices(root: HTMLElement): () => void {
  const name = h("input", { name: "name", required: true, placeholder: "Kitchen mic", maxlength: 64 }) as HTMLInputElement;
  const id = h("input", { name: "deviceId", placeholder: "optional, e.g. kitchen", pattern: "[A-Za-z0-9_-]{1,64}" }) as HTMLInputElement;
  const result = h("div", { class: "result", "aria-live": "polite" });
  const form = h(
    "form",
    { class: "card inline-form", id: "add-device" },
    h("h2", {}, "Add a devkit"),
    h("label", {}, "Name ", name),
    h("label", {}, "Device ID ", id),
    h("button", { type: "submit" }, "Add"),
    result,
  );
  form.onsubmit = async (ev) => {
    ev.preventDefault();
    result.replaceChildren();
    try {
      const d = await api("/api/devices", { method: "POST", body: JSON.stringify({ name: name.value, ...(id.value ? { deviceId: id.value } : {}) }) });
      const provisioning = JSON.stringify({ host: location.hostname, tcpPort: d.tcpPort, udpPort: d.udpPort, deviceId: d.deviceId, token: d.token });
      result.append(
        notice(`Added ${d.deviceId}. Copy the token now: it is shown only once.`),
        h("code", { class: "secret" }, d.token),
        qrElement(provisioning, `provisioning for ${d.deviceId}`),
      );
      form.reset();
      void refresh();
    } catch (e) {
      result.append(notice((e as Error).message, "error"));
    }
  };
  const table = h("div", { class: "devices", id: "device-list" });
  root.append(form, table);

  function card(d: Device): HTMLElement {
    const cmdName = h("input", { placeholder: "command, e.g. led", "aria-label": "command name", required: true }) as HTMLInputElement;
    const cmdArgs = h("input", { placeholder: 'args JSON, e.g. {"on":true}', "aria-label": "command arguments" }) as HTMLInputElement;
    const out = h("div", { class: "cmd-result", role: "status" });
    const cmd = h("form", { class: "inline-form" }, cmdName, cmdArgs, h("button", { type: "submit", disabled: !d.online }, "Send"), out);
    cmd.onsubmit = async (ev) => {
      ev.preventDefault();
      let args: unknown = undefined;
      if (cmdArgs.value.trim()) {
        try {
          args = JSON.parse(cmdArgs.value);
        } catch {
          out.textContent = "The arguments are not valid JSON.";
          return;
        }
      }
      out.textContent = "sending…";
      try {
        const ack = await api(`/api/devices/${encodeURIComponent(d.deviceId)}/commands`, { method: "POST", body: JSON.stringify({ name: cmdName.value, ...(args === undefined ? {} : { args }) }) });
        out.textContent = `acknowledged: ${JSON.stringify(ack)}`;
      } catch (e) {
        out.textContent = e instanceof ApiError ? `${e.code}: ${e.message}` : String(e);
      }
    };
    const revoke = h("button", { type: "button", class: "danger" }, "Revoke");
    revoke.onclick = async () => {
      if (!confirm(`Revoke ${d.name} (${d.deviceId})? Its token stops working at once.`)) return;
      try {
        await api(`/api/devices/${encodeURIComponent(d.deviceId)}`, { method: "DELETE" });
        void refresh();
      } catch (e) {
        alert((e as Error).message);
      }
    };
    const now = Date.now();
    const facts = d.online
      ? `${d.ip ?? ""} · fw ${d.fw ?? "?"} · ${d.format ? `${d.format.sampleRate / 1000} kHz` : ""} · ${d.packets} packets (${fmtBytes(d.bytes ?? 0)}) · lost ${d.lost} · late ${d.late} · jitter ${(d.jitterMs ?? 0).toFixed(1)} ms · ${d.listeners} listening`
      : `offline · last seen ${d.lastSeenMs ? `${fmtAge(now - d.lastSeenMs)} ago` : "never"}`;
    const events = Object.entries(d.status ?? {}).map(([k, v]) => h("li", {}, `${k}: ${JSON.stringify(v)}`));
    return h(
      "section",
      { class: "card device", "data-device": d.deviceId },
      h("header", {}, h("strong", {}, d.name), h("code", {}, d.deviceId), h("span", { class: `badge ${d.online ? "live" : "offline"}` }, d.online ? "online" : "offline"), revoke),
      h("div", { class: "facts" }, facts),
      events.length ? h("details", {}, h("summary", {}, "Latest events"), h("ul", {}, ...events)) : "",
      cmd,
    );
  }

  let editing = false;
  root.addEventListener("focusin", () => (editing = true));
  root.addEventListener("focusout", () => (editing = false));
  async function refresh() {
    if (editing) return; // do not replace a form under the user's cursor
    try {
      const { devices } = await api<DeviceList>("/api/devices");
      table.replaceChildren(...(devices.length ? devices.map(card) : [h("p", { class: "empty" }, "No devkits yet. Add one above, or run `relaydeck devkit-sim`.")]));
    } catch (e) {
      table.replaceChildren(notice((e as Error).message, "error"));
    }
  }
  void refresh();
  const timer = setInterval(refresh, 2000);
  return () => clearInterval(timer);
}
