// Pairing a devkit over Bluetooth LE, end to end: the /pair page in headless
// Chromium with Web Bluetooth emulated (CDP BluetoothEmulation, recipe in
// ../shared/RECIPES.md) talks to a simulated board that offers Improv Wi-Fi
// and Relay Deck's provisioning service. The board checks every byte the page
// writes, answers as a board would (authorization required first, a Wi-Fi
// scan, device info), and then joins the relay with what it was given: the
// devkit simulator takes the provisioning message and connects over TLS,
// pinned, to the LAN address it names. The relay and Chromium run in a
// network namespace of the test's own (lan.mjs), so that address is one the
// test made.
// Run: node --test tests/e2e/pair.e2e.mjs (after `cargo build -p relaydeck` with ui/dist built).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createLan } from "./lan.mjs";
import { startRelay, until } from "./support.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const { chromium } = createRequire(path.join(root, "ui/package.json"))("playwright-core");
const bin = process.env.RELAYDECK_BIN ?? path.join(root, "target/debug/relaydeck");
const artifacts = path.join(root, "tests/artifacts");
mkdirSync(artifacts, { recursive: true });
const PASSWORD = "pairing e2e password";
const IMPROV = "00467768-6228-2272-4663-277478268000";
const PROVISION = "52656c61-7944-6563-6b00-000000000000";
const improvChar = (n) => `00467768-6228-2272-4663-27747826800${n}`;
const provisionChar = (n) => `52656c61-7944-6563-6b00-00000000000${n}`;
const BOARD_ID = "rdk-board-3c71bf0a";

let lan, browser, relay, dataDir;
const children = [];

before(async () => {
  lan = createLan({ phone: true });
  dataDir = mkdtempSync(path.join(tmpdir(), "relaydeck-pair-"));
  // The web UI on loopback, the devkit ports on the (namespace's) LAN.
  const [cmd, args] = lan.command(bin, ["serve", "--bind", "127.0.0.1:0", "--devkit-bind", "0.0.0.0", "--admin-password", PASSWORD, "--data-dir", dataDir, "--devkit-tcp-port", "0", "--devkit-udp-port", "0"]);
  relay = await startRelay(cmd, args, children);
  browser = await chromium.launch({ executablePath: lan.chromium, args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--enable-blink-features=WebBluetooth"] });
});

after(async () => {
  await browser?.close();
  for (const c of children) c.kill("SIGTERM");
  lan?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const sum = (bytes) => bytes.reduce((a, b) => (a + b) & 0xff, 0);
const b64 = (bytes) => Buffer.from(bytes).toString("base64");

/**
 * A board with Improv Wi-Fi and the provisioning service, behind Chromium's
 * emulated Bluetooth adapter. It starts in "authorization required"; the test
 * presses its button with `press()`.
 */
async function simulatedBoard(cdp, page, { boardId = BOARD_ID, address = "09:09:09:09:09:01", joins = true } = {}) {
  const board = {
    state: 1,
    error: 0,
    result: [],
    status: [0, 0],
    writes: [], // every RPC-command write, as the page sent it
    rpc: [],
    chunks: [],
    wifi: null,
    message: null,
    subscribed: new Set(), // the characteristics the page subscribed to
    press() {
      this.state = 2;
    },
  };
  await cdp.send("BluetoothEmulation.enable", { state: "powered-on", leSupported: true });
  await cdp.send("BluetoothEmulation.simulatePreconnectedPeripheral", { address, name: "Relay Deck kit", manufacturerData: [], knownServiceUuids: [IMPROV, PROVISION] });
  const ids = new Map(); // characteristicId → uuid
  const add = async (serviceId, uuid, properties) => {
    const { characteristicId } = await cdp.send("BluetoothEmulation.addCharacteristic", { serviceId, characteristicUuid: uuid, properties });
    ids.set(characteristicId, uuid);
    // A characteristic that notifies has its Client Characteristic Configuration descriptor, as on a real board.
    if (properties.notify) await cdp.send("BluetoothEmulation.addDescriptor", { characteristicId, descriptorUuid: "00002902-0000-1000-8000-00805f9b34fb" });
  };
  const { serviceId: improv } = await cdp.send("BluetoothEmulation.addService", { address, serviceUuid: IMPROV });
  await add(improv, improvChar(1), { read: true, notify: true });
  await add(improv, improvChar(2), { read: true, notify: true });
  await add(improv, improvChar(3), { write: true });
  await add(improv, improvChar(4), { read: true, notify: true });
  await add(improv, improvChar(5), { read: true });
  const { serviceId: prov } = await cdp.send("BluetoothEmulation.addService", { address, serviceUuid: PROVISION });
  await add(prov, provisionChar(1), { read: true });
  await add(prov, provisionChar(2), { write: true, writeWithoutResponse: true });
  await add(prov, provisionChar(3), { read: true, notify: true });
  await add(prov, provisionChar(4), { read: true });

  cdp.on("BluetoothEmulation.gattOperationReceived", (e) => void cdp.send("BluetoothEmulation.simulateGATTOperationResponse", { address: e.address, type: e.type, code: 0 }));
  cdp.on("BluetoothEmulation.descriptorOperationReceived", (e) => {
    void cdp.send("BluetoothEmulation.simulateDescriptorOperationResponse", { descriptorId: e.descriptorId, type: e.type, code: 0, ...(e.type === "read" ? { data: b64([0, 0]) } : {}) });
  });
  const reads = {
    [improvChar(1)]: () => [board.state],
    [improvChar(2)]: () => [board.error],
    [improvChar(4)]: () => board.result,
    [improvChar(5)]: () => [0b111], // identify, device info and scan
    [provisionChar(1)]: () => [1],
    [provisionChar(3)]: () => board.status,
    [provisionChar(4)]: () => [...Buffer.from(boardId)],
  };
  let rpcBuf = [];
  const onRpc = (packet) => {
    board.rpc.push(packet);
    const [cmd, len] = packet;
    assert.equal(packet.length, len + 3, "a whole RPC packet");
    assert.equal(packet.at(-1), sum(packet.slice(0, -1)), "the page's checksum");
    const strings = (data) => {
      const out = [];
      for (let at = 0; at < data.length; at += 1 + data[at]) out.push(Buffer.from(data.slice(at + 1, at + 1 + data[at])).toString());
      return out;
    };
    const answer = (c, ss) => {
      const data = ss.flatMap((s) => [Buffer.byteLength(s), ...Buffer.from(s)]);
      const p = [c, data.length, ...data];
      board.result = [...p, sum(p)];
    };
    if (cmd === 2) board.identified = true; // no result, by the spec
    else if (cmd === 3) answer(3, ["RelayDeck-FW", "0.9.1", "ESP32-S3", "Porch mic"]);
    else if (cmd === 4) answer(4, ["Porch Wi-Fi", "-48", "WPA2", "Neighbour", "-80", "WPA2"]);
    else if (cmd === 1) {
      if (board.state !== 2) {
        board.error = 4; // not authorized
        return;
      }
      const [ssid, password] = strings(packet.slice(2, -1));
      board.wifi = { ssid, password };
      board.state = 3;
      // Joining the Wi-Fi takes the board a moment (or for ever).
      if (joins) setTimeout(() => {
        board.state = 4;
        answer(1, []);
      }, 300);
    }
  };
  const onChunk = (chunk) => {
    board.chunks.push(chunk);
    assert.ok(chunk.length <= 20, "each chunk fits a 20-byte write");
    if (chunk[1] & 1) {
      board.message = board.chunks.flatMap((c) => c.slice(2));
      board.status = [2, 0]; // stored
    } else board.status = [1, 0];
  };
  cdp.on("BluetoothEmulation.characteristicOperationReceived", (e) => {
    const uuid = ids.get(e.characteristicId);
    const reply = (extra = {}) => void cdp.send("BluetoothEmulation.simulateCharacteristicOperationResponse", { characteristicId: e.characteristicId, type: e.type, code: 0, ...extra });
    if (e.type === "read") return reply({ data: b64(reads[uuid]()) });
    if (e.type === "write") {
      const bytes = [...Buffer.from(e.data, "base64")];
      if (uuid === improvChar(3)) {
        board.writes.push(bytes);
        assert.ok(bytes.length <= 20, "each Improv write fits 20 bytes");
        rpcBuf.push(...bytes);
        if (rpcBuf.length >= 2 && rpcBuf.length >= rpcBuf[1] + 3) {
          onRpc(rpcBuf);
          rpcBuf = [];
        }
      } else if (uuid === provisionChar(2)) onChunk(bytes);
      return reply();
    }
    if (e.type === "subscribe-to-notifications") board.subscribed.add(uuid);
    reply(); // (un)subscribing to notifications
  });
  // The browser's device chooser: pick the board, once per prompt.
  const page_ = await page.context().newCDPSession(page);
  await page_.send("DeviceAccess.enable");
  const answered = new Set();
  page_.on("DeviceAccess.deviceRequestPrompted", (e) => {
    if (answered.has(e.id) || !e.devices.length) return;
    answered.add(e.id);
    void page_.send("DeviceAccess.selectPrompt", { id: e.id, deviceId: e.devices[0].id });
  });
  return board;
}

test("a board is paired over Bluetooth: authorized by its button, given the Wi-Fi it scanned and the relay's LAN address, token and TLS pin, and it comes online", async () => {
  const context = await browser.newContext({ viewport: { width: 1100, height: 1000 } });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  const local = `${relay.base}`; // http://127.0.0.1:PORT inside the namespace: a secure context
  await page.goto(`${local}/login?next=/pair`);
  await page.fill("#password", PASSWORD);
  await page.click("button[type=submit]");
  await page.waitForSelector("#pair-start");
  const cdp = await browser.newBrowserCDPSession();
  const board = await simulatedBoard(cdp, page);

  await page.click("#pair-start");
  // Authorization required: the page asks for the button, then goes on once it is pressed.
  await page.waitForFunction(() => /Press the button on the board/.test(document.querySelector("#pair-message")?.textContent ?? ""));
  await page.screenshot({ path: path.join(artifacts, "pair-authorize.png"), fullPage: true });
  board.press();
  await page.waitForSelector("#wifi-form");
  assert.match(await page.textContent('[data-step="Read the board"]'), /Porch mic \(RelayDeck-FW 0\.9\.1, ESP32-S3\)/);
  // The page listens to every characteristic the board notifies (and only those). Chromium's
  // emulation cannot send a notification, so the wake-up on one is tested in ui/test/wait.test.ts.
  assert.deepEqual([...board.subscribed].sort(), [improvChar(1), improvChar(2), improvChar(4), provisionChar(3)].sort());
  await page.click("#board-identify");
  await until("the board to identify itself", () => board.identified, 5000);
  assert.deepEqual(board.rpc.at(-1), [2, 0, 2], "Improv's identify packet");
  await page.click("#wifi-scan");
  await page.waitForFunction(() => /Porch Wi-Fi, Neighbour/.test(document.querySelector("#pair-message")?.textContent ?? ""), null, { timeout: 10000 });
  await page.fill("#wifi-ssid", "Porch Wi-Fi");
  await page.fill("#wifi-password", "correct horse battery");
  await page.screenshot({ path: path.join(artifacts, "pair-wifi.png"), fullPage: true });
  await page.click("#wifi-form button[type=submit]");
  await until("the relay settings on the board", () => board.message, 20000);

  // The bytes the page wrote: Improv's Wi-Fi packet exactly, split into 20-byte writes.
  const ssid = Buffer.from("Porch Wi-Fi");
  const password = Buffer.from("correct horse battery");
  const data = [ssid.length, ...ssid, password.length, ...password];
  const packet = [1, data.length, ...data];
  assert.deepEqual(board.rpc.at(-1), [...packet, sum(packet)]);
  assert.deepEqual(board.writes.slice(-Math.ceil((packet.length + 1) / 20)).flat(), [...packet, sum(packet)]);
  assert.deepEqual(board.wifi, { ssid: "Porch Wi-Fi", password: "correct horse battery" });
  // The provisioning message: chunks numbered from 0, the relay's LAN address first, never loopback.
  assert.deepEqual(board.chunks.map((c) => c[0]), board.chunks.map((_, i) => i));
  const msg = Buffer.from(board.message);
  assert.equal(msg[0], 1, "version 1");
  assert.equal(msg.at(-1), sum([...msg.subarray(0, -1)]), "its checksum");
  const text = msg.toString("latin1");
  assert.ok(text.includes(lan.relayIp), "the LAN address a board can reach");
  assert.ok(!text.includes("127.0.0.1"), "never loopback");

  // The board joins with what it was given, as a board would.
  const [cmd, args] = lan.command(bin, ["devkit-sim", "--provision", msg.toString("hex"), "--tone", "440"]);
  const sim = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  children.push(sim);
  let simOut = "";
  sim.stdout.on("data", (d) => (simOut += d));
  sim.stderr.on("data", (d) => (simOut += d));
  await page.waitForFunction(() => document.querySelector('[data-step="Online"]')?.dataset.state === "done", null, { timeout: 40000 }).catch((e) => {
    throw new Error(`${e.message}\nsimulator: ${simOut}`);
  });
  assert.match(simOut, new RegExp(`to ${lan.relayIp.replaceAll(".", "\\.")}:\\d+ over TLS, certificate pinned`));
  // Its audio plays: the level meter moves.
  await page.waitForFunction(() => Number(document.querySelector("#pair-level")?.dataset.rms) > 0.05, null, { timeout: 15000 });
  await page.screenshot({ path: path.join(artifacts, "pair-online.png"), fullPage: true });
  const devices = await page.evaluate(() => fetch("/api/devices").then((r) => r.json()));
  const paired = devices.devices.filter((d) => d.boardId === BOARD_ID);
  assert.equal(paired.length, 1);
  assert.equal(paired[0].transport, "tls");
  assert.deepEqual(errors, []);
  sim.kill("SIGTERM");

  // The same board paired again is the same device, with a new token.
  const again = await page.evaluate((boardId) => fetch("/api/devices", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ name: "Porch mic", boardId }) }).then(async (r) => ({ status: r.status, body: await r.json() })), BOARD_ID);
  assert.equal(again.status, 200);
  assert.equal(again.body.repaired, true);
  assert.equal(again.body.deviceId, paired[0].deviceId);
  await cdp.detach();
  await context.close();
});

test("a pairing abandoned after the board was registered revokes its token", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${relay.base}/login?next=/pair`);
  await page.fill("#password", PASSWORD);
  await page.click("button[type=submit]");
  await page.waitForSelector("#pair-start");
  const cdp = await browser.newBrowserCDPSession();
  // A new board that never joins the Wi-Fi: it stays "provisioning".
  const board = await simulatedBoard(cdp, page, { boardId: "rdk-board-never-joins", address: "09:09:09:09:09:02", joins: false });
  board.press();
  await page.click("#pair-start");
  await page.waitForSelector("#wifi-form");
  const before = (await page.evaluate(() => fetch("/api/devices").then((r) => r.json()))).devices.length;
  await page.fill("#wifi-ssid", "Nowhere");
  await page.click("#wifi-form button[type=submit]");
  await page.waitForFunction(() => document.querySelector('[data-step="Register the board"]')?.dataset.state === "done");
  const during = (await page.evaluate(() => fetch("/api/devices").then((r) => r.json()))).devices.length;
  await page.click("#pair-cancel");
  await page.waitForFunction(() => /cancelled/.test(document.querySelector("#pair-message")?.textContent ?? ""));
  const afterCancel = (await page.evaluate(() => fetch("/api/devices").then((r) => r.json()))).devices.length;
  assert.equal(during, before + 1, "the board was registered");
  assert.equal(afterCancel, before, "and revoked when the pairing was abandoned");
  await cdp.detach();
  await context.close();
});

test("a browser without Web Bluetooth is told what to do instead", async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.addInitScript(() => {
    delete Navigator.prototype.bluetooth;
  });
  await page.goto(`${relay.base}/login?next=/pair`);
  await page.fill("#password", PASSWORD);
  await page.click("button[type=submit]");
  await page.waitForSelector("#pair-start");
  assert.equal(await page.isDisabled("#pair-start"), true);
  assert.match(await page.textContent("#pair-message"), /no Web Bluetooth.*Chrome or Edge.*pair from the Relay Deck desktop app/);
  await context.close();
});

test("the desktop app pairs through a phone: the QR's HTTPS page on the LAN pairs the board, the app follows live, and the page is gone afterwards", async () => {
  const context = await browser.newContext({ viewport: { width: 1100, height: 1200 } });
  const page = await context.newPage();
  await page.goto(`${relay.base}/login?next=/pair`);
  await page.fill("#password", PASSWORD);
  await page.click("button[type=submit]");
  await page.click("#phone-start");
  await page.waitForSelector("#phone-url");
  const url = await page.getAttribute("#phone-url", "href");
  assert.ok(url.startsWith(`https://${lan.relayIp}:`), url);
  assert.ok(await page.$("#phone-pairing .qr svg"), "a QR code");
  await page.screenshot({ path: path.join(artifacts, "pair-phone-qr.png"), fullPage: true });

  // The app shows the certificate's fingerprint, so the user can check what the phone will warn about.
  const pem = readFileSync(path.join(dataDir, "tls/cert.pem"));
  const fingerprint = new X509Certificate(pem).fingerprint256;
  assert.equal((await page.textContent("#phone-fingerprint")).trim(), fingerprint);

  // The phone: another namespace (it reaches only 10.77.N.1), a browser that does not know the
  // relay's certificate. The user goes through Chromium's certificate warning once, as a person
  // does ("Advanced", then "Proceed"), and the page is then a secure context with Web Bluetooth.
  const phoneBrowser = await chromium.launch({ executablePath: lan.phoneChromium, args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--enable-blink-features=WebBluetooth"] });
  try {
    const phoneContext = await phoneBrowser.newContext({ viewport: { width: 420, height: 900 } });
    const phone = await phoneContext.newPage();
    const errors = [];
    phone.on("pageerror", (e) => errors.push(String(e)));
    await assert.rejects(phone.goto(url), /ERR_CERT_AUTHORITY_INVALID/, "an unknown certificate is warned about");
    await phone.screenshot({ path: path.join(artifacts, "pair-phone-warning.png") });
    await phone.click("#details-button");
    await phone.click("#proceed-link");
    await phone.waitForSelector("#pair-start");
    assert.equal(phone.url(), url);
    assert.equal(await phone.evaluate(() => isSecureContext && "bluetooth" in navigator), true, "a secure context, with Web Bluetooth, after the warning");
    const cdp = await phoneBrowser.newBrowserCDPSession();
    const board = await simulatedBoard(cdp, phone, { boardId: "rdk-board-phone", address: "09:09:09:09:09:03" });
    board.press();
    await phone.click("#pair-start");
    await phone.waitForSelector("#wifi-form");
    // The app follows the phone's steps.
    await page.waitForFunction(() => document.querySelector('#phone-steps [data-step="Read the board"]')?.dataset.state === "done", null, { timeout: 10000 });
    await phone.fill("#wifi-ssid", "Porch Wi-Fi");
    await phone.fill("#wifi-password", "correct horse battery");
    await phone.click("#wifi-form button[type=submit]");
    await until("the relay settings on the board", () => board.message, 20000);
    const msg = Buffer.from(board.message);
    assert.ok(msg.toString("latin1").includes(lan.relayIp));
    const [cmd, args] = lan.command(bin, ["devkit-sim", "--provision", msg.toString("hex"), "--tone", "440"]);
    const sim = spawn(cmd, args, { stdio: "ignore" });
    children.push(sim);
    await phone.waitForFunction(() => document.querySelector('[data-step="Online"]')?.dataset.state === "done", null, { timeout: 40000 });
    await phone.screenshot({ path: path.join(artifacts, "pair-phone-online.png"), fullPage: true });
    await page.waitForFunction(() => /Paired: .* is online/.test(document.querySelector("#phone-message")?.textContent ?? ""), null, { timeout: 20000 });
    await page.waitForFunction(() => Number(document.querySelector("#pair-level")?.dataset.rms) > 0.05, null, { timeout: 15000 });
    await page.screenshot({ path: path.join(artifacts, "pair-phone-app.png"), fullPage: true });
    // The listener is gone.
    await until("the phone listener to close", () => phone.evaluate((u) => fetch(u).then(() => false, () => true), url), 15000);
    const devices = await page.evaluate(() => fetch("/api/devices").then((r) => r.json()));
    assert.equal(devices.devices.filter((d) => d.boardId === "rdk-board-phone" && d.online).length, 1);
    assert.deepEqual(errors, []);
    sim.kill("SIGTERM");
    await cdp.detach();
  } finally {
    await phoneBrowser.close();
    await context.close();
  }
});
