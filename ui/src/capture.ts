// The capture page a publish link opens: this device's camera, as JPEG
// frames over the camera-ingest WebSocket (/ws), at a chosen rate.
const params = new URLSearchParams(location.search);
const token = params.get("token");
const video = document.getElementById("preview") as HTMLVideoElement;
const idInput = document.getElementById("camera-id") as HTMLInputElement;
const fpsSelect = document.getElementById("fps") as HTMLSelectElement;
const toggle = document.getElementById("toggle") as HTMLButtonElement;
const statusLine = document.getElementById("status")!;
idInput.value = params.get("clientId") ?? "phone";

let running: { ws: WebSocket; timer: number; stream: MediaStream } | null = null;

function say(text: string, error = false) {
  statusLine.textContent = text;
  statusLine.className = error ? "error" : "";
}

async function start() {
  if (!idInput.checkValidity()) return say("Use 1-64 letters, digits, _ or - for the camera ID.", true);
  if (!window.isSecureContext) return say("Camera access needs HTTPS: open this page through the server's https:// address (relaydeck serve --tls).", true);
  let stream: MediaStream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
  } catch (e) {
    return say(`The camera is not available: ${e}`, true);
  }
  video.srcObject = stream;
  const query = new URLSearchParams({ clientId: idInput.value });
  if (token) query.set("token", token);
  const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws?${query}`);
  ws.binaryType = "arraybuffer";
  const canvas = document.createElement("canvas");
  let sent = 0;
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.type === "registered") say(`Publishing as ${msg.clientId}.`);
    if (msg.type === "error") say(`The server says: ${msg.message}`, true);
  };
  ws.onclose = (ev) => { if (running?.ws === ws) { stop(); say(`Disconnected (${ev.code}${ev.reason ? `: ${ev.reason}` : ""}).`, ev.code !== 1000); } };
  const timer = window.setInterval(() => {
    // Skip a tick rather than queue frames when the link is slow.
    if (ws.readyState !== WebSocket.OPEN || ws.bufferedAmount > 256 * 1024 || !video.videoWidth) return;
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d")!.drawImage(video, 0, 0);
    canvas.toBlob(async (blob) => {
      if (blob && ws.readyState === WebSocket.OPEN) { ws.send(await blob.arrayBuffer()); sent++; }
    }, "image/jpeg", 0.75);
  }, 1000 / Number(fpsSelect.value));
  running = { ws, timer, stream };
  toggle.textContent = "Stop";
  toggle.className = "stop";
  say("Connecting…");
  void sent;
}

function stop() {
  if (!running) return;
  clearInterval(running.timer);
  running.stream.getTracks().forEach((t) => t.stop());
  running.ws.close(1000, "stopped");
  running = null;
  toggle.textContent = "Start publishing";
  toggle.className = "";
}

toggle.onclick = () => (running ? (stop(), say("Stopped.")) : void start());
