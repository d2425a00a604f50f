// What an operator runs the relay with, against the real binary: `serve
// --log-format json` writes one JSON object per log line, each request's
// line in its `request` span with the same ID the answer's `X-Request-Id`
// carries, credentials redacted; `/metrics` answers a metrics token; and a
// first start without a terminal puts the admin password in a 0600 file; a
// data directory of an older schema is backed up, migrated and restorable,
// and one of a newer major version stops start-up with a clear message.
// Run: node --test tests/e2e/ops.e2e.mjs (after `cargo build -p relaydeck`).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startRelay, until } from "./support.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const bin = process.env.RELAYDECK_BIN ?? path.join(root, "target/debug/relaydeck");
const PASSWORD = "ops e2e password";
const children = [];
const dirs = [];

after(async () => {
  for (const c of children) c.kill("SIGKILL");
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test("--log-format json: every log line is a JSON object; a request's line carries its X-Request-Id, its token redacted", async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "relaydeck-ops-"));
  dirs.push(dataDir);
  const env = { ...process.env, RUST_LOG: "info,relaydeck_server::http_log=debug" };
  const relay = await startRelay(bin, ["serve", "--log-format", "json", "--bind", "127.0.0.1:0", "--admin-password", PASSWORD, "--data-dir", dataDir, "--devkit-tcp-port", "0", "--devkit-udp-port", "0"], children, env);
  let log = "";
  relay.child.stderr.on("data", (d) => (log += d));
  relay.child.stdout.on("data", (d) => (log += d));
  const secret = "rdk_" + "5".repeat(64);
  const refused = await fetch(`${relay.base}/api/clients?token=${secret}`);
  assert.equal(refused.status, 401);
  const id = refused.headers.get("x-request-id");
  assert.match(id, /^[0-9a-f]{16}$/);
  const basic = { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString("base64")}` };
  const mine = await fetch(`${relay.base}/api/health`, { headers: { ...basic, "x-request-id": "lb-42" } });
  assert.equal(mine.headers.get("x-request-id"), "lb-42");
  const lines = await until("both request lines", () => {
    const objects = log.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
    const of = (rid) => objects.find((o) => o.message === "request" && o.spans?.some((s) => s.name === "request" && s.request_id === rid));
    return of(id) && of("lb-42") ? { objects, refused: of(id), health: of("lb-42") } : null;
  }, 10000);
  assert.deepEqual([lines.refused.path, lines.refused.query, lines.refused.status, lines.refused.level], ["/api/clients", "token=REDACTED", 401, "INFO"]);
  assert.deepEqual([lines.health.path, lines.health.status, lines.health.level], ["/api/health", 200, "DEBUG"]);
  assert.ok(!log.includes(secret) && !log.includes(PASSWORD), "no secret in the logs");
  // Every log line (not the start-up banner on stdout) is JSON with a level and a message.
  for (const o of lines.objects) assert.ok(o.timestamp && o.level && "message" in o, JSON.stringify(o));
  // A metrics token, made through the API, reads /metrics.
  const made = await (await fetch(`${relay.base}/api/tokens`, { method: "POST", headers: { ...basic, "content-type": "application/json" }, body: JSON.stringify({ name: "prom", scope: "metrics" }) })).json();
  const scrape = await fetch(`${relay.base}/metrics`, { headers: { authorization: `Bearer ${made.token}` } });
  assert.equal(scrape.status, 200);
  assert.match(await scrape.text(), /^relaydeck_http_requests_total\{route="\/api\/clients",code="401"\} 1$/m);
});

test("started without a terminal (as a service is), the first-start password goes to a 0600 file, never to the log", async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "relaydeck-ops-"));
  dirs.push(dataDir);
  let out = "";
  const relay = await startRelay(bin, ["serve", "--bind", "127.0.0.1:0", "--data-dir", dataDir, "--devkit-tcp-port", "0", "--devkit-udp-port", "0"], children);
  relay.child.stdout.on("data", (d) => (out += d));
  relay.child.stderr.on("data", (d) => (out += d));
  const file = path.join(dataDir, "initial-admin-password");
  const password = readFileSync(file, "utf8").trim();
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.ok(password.length >= 16, "a generated password");
  const login = await fetch(`${relay.base}/api/health`, { headers: { authorization: `Basic ${Buffer.from(`admin:${password}`).toString("base64")}` } });
  assert.equal(login.status, 200);
  const session = await fetch(`${relay.base}/api/session`, { headers: { authorization: `Basic ${Buffer.from(`admin:${password}`).toString("base64")}` } });
  assert.equal((await session.json()).admin, true, "the file's password is the admin's");
  await new Promise((r) => setTimeout(r, 300));
  assert.match(relay.banner, /ADMIN PASSWORD\s+generated on first start, in .*initial-admin-password \(mode 0600\)/);
  assert.ok(!(relay.banner + out).includes(password), "the password is not in the output");
});

/** Stops a relay and waits for it to be gone. */
async function stop(relay) {
  const gone = new Promise((r) => relay.child.once("exit", r));
  relay.child.kill("SIGTERM");
  await gone;
}

const STATE_FILES = ["auth.json", "devices.json", "camera-names.json", "settings.json"];

test("a data directory of schema 1 (files as 0.1 wrote them) is backed up, migrated to 2.0 and keeps its credentials; the backup restores", async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "relaydeck-ops-"));
  dirs.push(dataDir);
  const args = ["serve", "--bind", "127.0.0.1:0", "--data-dir", dataDir, "--devkit-tcp-port", "0", "--devkit-udp-port", "0"];
  const basic = { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString("base64")}` };
  // A relay fills the directory: a token, a device, a camera name, a setting.
  let relay = await startRelay(bin, [...args, "--admin-password", PASSWORD], children);
  const post = (p, body, method = "POST") => fetch(`${relay.base}${p}`, { method, headers: { ...basic, "content-type": "application/json" }, body: JSON.stringify(body) });
  const token = (await (await post("/api/tokens", { name: "kept", scope: "view" })).json()).token;
  assert.equal((await post("/api/devices", { name: "Porch", deviceId: "porch" })).status, 201);
  assert.equal((await post("/api/settings", { audioBufferMs: 321 }, "PUT")).status, 200);
  await stop(relay);
  // Rewrite each file as schema 1 had it: an integer "version" (settings: no version at all).
  const v1 = {};
  for (const name of STATE_FILES) {
    const file = path.join(dataDir, name);
    if (!existsSync(file)) continue;
    const json = JSON.parse(readFileSync(file, "utf8"));
    assert.equal(json.schemaVersion, "2.0", `${name} is written with its schema version`);
    delete json.schemaVersion;
    const old = name === "settings.json" ? json : { version: 1, ...json };
    writeFileSync(file, JSON.stringify(old, null, 2), { mode: 0o600 });
    v1[name] = readFileSync(file);
  }
  assert.deepEqual(Object.keys(v1).sort(), ["auth.json", "devices.json", "settings.json"]);

  relay = await startRelay(bin, args, children);
  const backups = readdirSync(path.join(dataDir, "backups"));
  assert.equal(backups.length, 1);
  assert.match(backups[0], /^schema-1\.0-\d+$/);
  const backup = path.join(dataDir, "backups", backups[0]);
  assert.equal(statSync(backup).mode & 0o777, 0o700);
  for (const [name, bytes] of Object.entries(v1)) {
    assert.deepEqual(readFileSync(path.join(backup, name)), bytes, `${name} backed up byte for byte`);
    const now = JSON.parse(readFileSync(path.join(dataDir, name), "utf8"));
    assert.equal(now.schemaVersion, "2.0", `${name} migrated`);
    assert.equal(now.version, undefined);
  }
  // What the old files held still holds.
  assert.equal((await fetch(`${relay.base}/api/clients`, { headers: { authorization: `Bearer ${token}` } })).status, 200, "the old token");
  assert.equal((await fetch(`${relay.base}/api/session`, { headers: basic })).status, 200, "the old password");
  const settings = await (await fetch(`${relay.base}/api/settings`, { headers: basic })).json();
  assert.equal(settings.settings.audioBufferMs, 321);
  const devices = await (await fetch(`${relay.base}/api/devices`, { headers: basic })).json();
  assert.deepEqual(devices.devices.map((d) => d.deviceId), ["porch"]);
  await stop(relay);

  // Restoring: the backup's files copied back are the old files exactly, and they start (and migrate) again.
  for (const name of Object.keys(v1)) copyFileSync(path.join(backup, name), path.join(dataDir, name));
  for (const [name, bytes] of Object.entries(v1)) assert.deepEqual(readFileSync(path.join(dataDir, name)), bytes);
  relay = await startRelay(bin, args, children);
  assert.equal((await fetch(`${relay.base}/api/clients`, { headers: { authorization: `Bearer ${token}` } })).status, 200, "the token, after a restore");
  assert.equal(readdirSync(path.join(dataDir, "backups")).length, 2, "a second migration, a second backup");
  await stop(relay);
});

test("a state file from a newer major version stops start-up with a message that says what to do, and is left as it is", async () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), "relaydeck-ops-"));
  dirs.push(dataDir);
  const newer = JSON.stringify({ schemaVersion: "3.0", devices: [] });
  writeFileSync(path.join(dataDir, "devices.json"), newer);
  const run = spawnSync(bin, ["serve", "--bind", "127.0.0.1:0", "--data-dir", dataDir, "--admin-password", PASSWORD, "--devkit-tcp-port", "0", "--devkit-udp-port", "0"], { encoding: "utf8", timeout: 20000 });
  assert.notEqual(run.status, 0, "start-up stops");
  assert.match(run.stderr, /devices\.json was written by a newer Relay Deck \(schema 3\.0; this one reads 2\.x\)/);
  assert.match(run.stderr, /restore the backup/);
  assert.equal(readFileSync(path.join(dataDir, "devices.json"), "utf8"), newer);
});
