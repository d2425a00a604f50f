// What the end-to-end tests and the window benchmark share: starting a relay
// and reading its banner, and stopping every process a run started.
import { spawn, execFileSync } from "node:child_process";

/**
 * Starts `cmd args` (a `relaydeck serve`, perhaps through `ip netns exec`)
 * and resolves with the web UI's scheme and port and the devkit TCP port from
 * its start-up banner, and the output up to then (`banner`).
 */
export function startRelay(cmd, args, children, env = process.env) {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`no banner from the relay:\n${out}`)), 20000);
    const onData = (d) => {
      out += d;
      const web = out.match(/web UI\s+(https?):\/\/127\.0\.0\.1:(\d+)\//);
      const dk = out.match(/devkits\s+TCP (\d+)/);
      if (web && dk) {
        clearTimeout(timer);
        resolve({ child, banner: out, scheme: web[1], port: Number(web[2]), base: `${web[1]}://127.0.0.1:${web[2]}`, devkitPort: Number(dk[1]) });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => reject(new Error(`relay exited (${code}):\n${out}`)));
  });
}

/**
 * Starts `cmd args` in its own process group (so [`stopGroups`] reaches
 * everything it starts: tauri-driver starts WebKitWebDriver, which starts the
 * app and its helpers), with `env` over this process's environment; its
 * output collects in `child.log`.
 */
export function spawnGroup(cmd, args, children, env = {}) {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env }, detached: true });
  child.log = "";
  child.stdout.on("data", (d) => (child.log += d));
  child.stderr.on("data", (d) => (child.log += d));
  children.push(child);
  return child;
}

/**
 * Polls `f` every 250 ms until it returns something truthy, and returns that;
 * after `ms` throws, naming `what` and the last error `f` threw.
 */
export async function until(what, f, ms = 30000, everyMs = 250) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      const v = await f();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
}

/**
 * Stops processes started with `detached: true` (their whole process group):
 * SIGTERM, a second to go, then SIGKILL; and unmounts what the desktop portal
 * may have mounted under each of `homes`.
 */
export async function stopGroups(children, homes = []) {
  for (const c of [...children].reverse()) {
    try {
      process.kill(-c.pid, "SIGTERM");
    } catch {}
  }
  await new Promise((r) => setTimeout(r, 1000));
  for (const c of children) {
    try {
      process.kill(-c.pid, "SIGKILL");
    } catch {}
    c.stdout?.destroy();
    c.stderr?.destroy();
    c.unref();
  }
  for (const home of homes) {
    try {
      execFileSync("sh", ["-c", `mount | awk '{print $3}' | grep '^${home}' | xargs -r -n1 fusermount -u -z`]);
    } catch {}
  }
}
