// Sign-in: the admin password, or (in the desktop window) the one-time
// bootstrap code the shell puts in the URL fragment.
import "./style.css";
import { safeNext } from "./lib/next";
import { applyTheme, initialTheme } from "./lib/theme";

applyTheme(initialTheme());
const form = document.getElementById("login") as HTMLFormElement;
const password = document.getElementById("password") as HTMLInputElement;
const error = document.getElementById("error")!;
const params = new URLSearchParams(location.search);
const fragment = new URLSearchParams(location.hash.slice(1));

const next = safeNext(fragment.get("next") ?? params.get("next"));

function fail(text: string) {
  error.textContent = text;
  error.hidden = false;
}
if (params.get("error")) fail(params.get("error")!);
// A share link that no longer works lands here: say so, not "enter the admin password".
if (params.get("link") === "ended") {
  document.getElementById("link-ended")!.hidden = false;
  form.hidden = true;
  document.title = "Link ended · Relay Deck";
}

async function post(path: string, body: object): Promise<Response> {
  return fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), credentials: "same-origin" });
}

async function bootstrap(code: string) {
  history.replaceState(null, "", location.pathname + location.search); // the code is single-use; do not keep it
  const notice = fragment.get("notice");
  if (notice) sessionStorage.setItem("relaydeck-notice", notice);
  const r = await post("/api/bootstrap", { code });
  if (r.ok) return location.replace(next);
  fail("The app could not sign this window in automatically; enter the admin password.");
}

form.onsubmit = async (ev) => {
  ev.preventDefault();
  error.hidden = true;
  const r = await post("/api/login", { password: password.value }).catch(() => null);
  if (!r) return fail("Cannot reach the relay.");
  if (r.ok) return location.replace(next);
  const body = await r.json().catch(() => null);
  if (r.status === 429) fail(`Too many attempts. Try again in ${r.headers.get("retry-after") ?? "a few"} s.`);
  else fail(body?.error?.message ?? `Sign-in failed (${r.status}).`);
  password.select();
};

const code = fragment.get("bootstrap");
if (code) void bootstrap(code);
