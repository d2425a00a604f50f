// "Pair with your phone" (the admin's side): the relay opens a temporary
// HTTPS listener on the LAN that serves only the pairing page to a one-board
// pairing pass; this card shows its QR code and follows the phone's steps
// live (a long poll on GET /api/pairing/phone?since=). The phone's side is
// the ordinary pairing page (pages/pair.ts), opened with the pass.
import { api } from "../lib/api";
import { h, notice } from "../lib/dom";
import { qrElement } from "../lib/qr";
import type { PhonePairing } from "../generated/contract";

/** Mounts the card; `onOnline` gets the paired board's device ID (the caller shows its level). */
export function mountPhonePairing(root: HTMLElement, onOnline: (deviceId: string) => void): () => void {
  const start = h("button", { type: "button", id: "phone-start" }, "Pair with your phone") as HTMLButtonElement;
  const stop = h("button", { type: "button", id: "phone-stop", hidden: true }, "Stop") as HTMLButtonElement;
  const body = h("div", { id: "phone-body" });
  const message = h("div", { id: "phone-message", "aria-live": "polite" });
  const steps = h("ol", { class: "steps", id: "phone-steps" });
  root.append(
    h(
      "section",
      { class: "card", id: "phone-pairing" },
      h("h2", {}, "Pair with your phone"),
      h("p", { class: "hint" }, "Your phone's browser (Chrome on Android) has the Bluetooth this window lacks. The relay opens a private pairing page on your network for 10 minutes: scan its code with the phone, on the same Wi-Fi as this computer."),
      h("div", { class: "actions" }, start, stop),
      message,
      body,
      steps,
    ),
  );
  let generation = 0; // a newer open (or unmount) ends the older poll
  let shownOnline = false;

  const say = (text: string, kind: "info" | "error" = "info") => message.replaceChildren(notice(text, kind));

  function render(s: PhonePairing) {
    // Paired is the relay's word (it saw the board's hello): the last steps are done, whatever the phone said last.
    const list = s.state === "paired" ? s.steps.map((st) => (st.step === "Wait for the board" || st.step === "Online" ? { ...st, state: "done" as const } : st)) : s.steps;
    steps.replaceChildren(...list.map((st) => h("li", { "data-step": st.step, "data-state": st.state }, st.detail ? `${st.step}: ${st.detail}` : st.step)));
    if (s.state === "open") {
      const left = Math.max(0, Math.round(((s.expiresMs ?? Date.now()) - Date.now()) / 60000));
      say(s.message ? `On the phone: ${s.message}` : s.deviceId ? `The phone registered ${s.deviceId}; waiting for the board…` : `Waiting for the phone (open for about ${left} more minute${left === 1 ? "" : "s"}).`);
    } else if (s.state === "paired") {
      body.replaceChildren();
      say(`Paired: ${s.deviceId} is online. The pairing page on the phone is closed again.`);
      if (s.deviceId && !shownOnline) {
        shownOnline = true;
        onOnline(s.deviceId);
      }
    } else if (s.state === "closed") {
      body.replaceChildren();
      say(`The phone pairing closed: ${s.reason ?? "it ended"}.`, s.reason === "cancelled in the app" ? "info" : "error");
    }
    const open = s.state === "open";
    start.hidden = open;
    stop.hidden = !open;
    start.disabled = false;
  }

  function showCode(s: PhonePairing) {
    if (!s.url) return;
    const link = h("a", { id: "phone-url", href: s.url, target: "_blank", rel: "noreferrer" }, s.url);
    body.replaceChildren(
      h(
        "div",
        { class: "phone-code" },
        qrElement(s.url, "Scan with the phone"),
        h(
          "div",
          {},
          h("p", {}, "Or open this address on the phone:"),
          h("p", { class: "mono" }, link),
          h("p", { class: "hint" }, "The phone will warn \u201cYour connection is not private\u201d: the page's certificate is this relay's own, not one from an authority the phone knows. Tap \u201cAdvanced\u201d, then \u201cProceed\u201d. To check it first, open the certificate from the warning: its SHA-256 fingerprint is"),
          h("p", { class: "mono", id: "phone-fingerprint" }, s.fingerprint ?? ""),
        ),
      ),
    );
  }

  async function follow(first: PhonePairing, mine: number) {
    let s = first;
    for (;;) {
      if (mine !== generation) return;
      render(s);
      if (s.state !== "open") return;
      try {
        s = await api<PhonePairing>(`/api/pairing/phone?since=${s.revision}`);
      } catch (e) {
        if (mine !== generation) return;
        say(`Lost track of the phone pairing (${(e as Error).message}); retrying…`, "error");
        await new Promise((r) => setTimeout(r, 2000));
        s = await api<PhonePairing>("/api/pairing/phone").catch(() => s);
      }
    }
  }

  start.onclick = async () => {
    start.disabled = true;
    shownOnline = false;
    const mine = ++generation;
    try {
      const s = await api<PhonePairing>("/api/pairing/phone", { method: "POST", body: "{}" });
      showCode(s);
      void follow(s, mine);
    } catch (e) {
      start.disabled = false;
      say(`Cannot open the phone pairing: ${(e as Error).message}`, "error");
    }
  };
  stop.onclick = async () => {
    stop.disabled = true;
    await api("/api/pairing/phone", { method: "DELETE" }).catch(() => {});
    stop.disabled = false;
  };

  // A pairing opened earlier (another tab, a reload) is followed, not forgotten.
  void api<PhonePairing>("/api/pairing/phone")
    .then((s) => {
      if (s.state !== "open") return;
      showCode(s);
      void follow(s, ++generation);
    })
    .catch(() => {});

  return () => {
    generation++;
  };
}
