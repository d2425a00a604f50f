// The REST API against its OpenAPI document, by an outside client: a live
// relay on a throwaway data directory, and schemathesis (PyPI) generating
// requests from `GET /api/openapi.json` — valid and invalid parameters and
// bodies, undeclared methods, missing credentials — and checking every
// answer: no 5xx, every status documented, every body matching its schema
// (errors: the documented error shape), content types, Allow headers.
// Streaming answers (MJPEG, live WAV) and destructive admin operations
// (deletes, the password, settings, the phone pairing's listener) are left
// out; examples and time are bounded.
// Run: node --test tests/e2e/openapi.e2e.mjs (after `cargo build -p relaydeck`).
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startRelay } from "./support.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const bin = process.env.RELAYDECK_BIN ?? path.join(root, "target/debug/relaydeck");
const PASSWORD = "openapi e2e password";
const children = [];
const dataDir = mkdtempSync(path.join(tmpdir(), "relaydeck-openapi-"));

after(() => {
  for (const c of children) c.kill("SIGKILL");
  rmSync(dataDir, { recursive: true, force: true });
});

/** Runs a command to its end; its exit code and output. */
function run(cmd, args, timeoutMs) {
  return new Promise((resolve) => {
    // In the throwaway directory: schemathesis keeps a cache where it runs.
    const child = spawn(cmd, args, { cwd: dataDir, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1", SCHEMATHESIS_TELEMETRY: "false" } });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out });
    });
  });
}

test("schemathesis finds no server error, no undocumented status and no answer off its schema", { timeout: 15 * 60_000 }, async () => {
  const relay = await startRelay(bin, ["serve", "--bind", "127.0.0.1:0", "--admin-password", PASSWORD, "--data-dir", dataDir, "--devkit-tcp-port", "0", "--devkit-udp-port", "0", "--test-pattern"], children);
  const basic = { authorization: `Basic ${Buffer.from(`admin:${PASSWORD}`).toString("base64")}`, "content-type": "application/json" };
  // An admin token: schemathesis signs every request with it (the password would be Argon2 per request).
  const made = await fetch(`${relay.base}/api/tokens`, { method: "POST", headers: basic, body: JSON.stringify({ name: "schemathesis", scope: "admin" }) });
  assert.equal(made.status, 201);
  const { token } = await made.json();
  // Something to find: a device, a file, a named camera (the test pattern is live).
  assert.equal((await fetch(`${relay.base}/api/devices`, { method: "POST", headers: basic, body: JSON.stringify({ name: "Porch", deviceId: "porch" }) })).status, 201);

  const doc = await (await fetch(`${relay.base}/api/openapi.json`)).json();
  assert.equal(doc.openapi, "3.1.0");
  const streaming = Object.entries(doc.paths).flatMap(([p, item]) => Object.values(item).some((op) => op["x-relaydeck-streaming"]) ? [p] : []);
  assert.deepEqual(streaming.sort(), ["/api/audio/{id}/live.wav", "/api/clients/{id}/mjpeg"]);

  const excluded = [
    "--exclude-method", "DELETE",
    "--exclude-path", "/api/password",
    "--exclude-path", "/api/pairing/phone",
    "--exclude-operation-id", "putApiSettings",
    // WebRTC signalling: a valid offer opens a peer for 30 s, and schemathesis cannot write SDP
    // (application/sdp); tests/webrtc.rs and tests/whep.rs play these with real peers.
    "--exclude-path", "/api/offer",
    "--exclude-path", "/api/whep/{id}",
    "--exclude-path", "/api/whep/{id}/{session}",
    ...streaming.flatMap((p) => ["--exclude-path", p]),
  ];
  // As a module of the Python .ci/setup installed it into (its console script may not be on PATH).
  const { code, signal, out } = await run(
    "python3",
    [
      "-m", "schemathesis.cli",
      "run", `${relay.base}/api/openapi.json`,
      "--checks", "all",
      // Left out: object_level_authorization (only the admin's token is configured, so there is
      // no other user's object to try; the access walk in tests/access_walk.rs does that), and
      // positive_data_acceptance / negative_data_rejection, which assume the schema states every
      // rule. It states shapes, types and simple bounds; rules that relate fields (a clip's `to`
      // after its `from`, a motion zone inside the picture, a name counted after trimming) are
      // the handler's, answered 400 with a message that names them (a documented status).
      "--exclude-checks", "object_level_authorization,positive_data_acceptance,negative_data_rejection",
      "-H", `Authorization: Bearer ${token}`,
      "--max-examples", "25",
      "--max-time", "120",
      "--request-timeout", "10",
      "--phases", "examples,coverage,fuzzing",
      "--seed", "1",
      "--workers", "2",
      "--no-color",
      ...excluded,
    ],
    10 * 60_000,
  );
  console.log(out.split("\n").slice(-60).join("\n"));
  assert.equal(signal, null, "schemathesis finished in time");
  assert.equal(code, 0, "schemathesis found no failure");
  assert.match(out, /operations? (tested|selected)|Tested/i);
});
