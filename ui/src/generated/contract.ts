// Generated from the Rust types of relaydeck-contract; do not edit.
// Regenerate: cargo run -p relaydeck-contract -- --write ui/src/generated/contract.ts

export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]: JsonValue } | null;

export type SourceKind = "remote" | "local";

export type Availability = { "state": "live" } | { "state": "standby" } | { "state": "unavailable", "message": string };

export type Ping = { t?: JsonValue | null, };

export type SocketReply = { "type": "pong", t: JsonValue | null, } | { "type": "error" } & SocketError;

export type SocketError = { code: string, message: string, };

export type CameraMessage = { "type": "register" } & Registration | { "type": "client-registration" } & Registration | { "type": "ping" } & Ping;

export type Registration = { clientId: string, name?: string | null, };

export type CameraReply = { "type": "registered", clientId: string, } | { "type": "registration-success", clientId: string, timestamp: number, };

export type ViewerMessage = { "type": "subscribe", clientIds?: Array<string> | null, } | { "type": "ping" } & Ping;

export type ViewerEvent = { "type": "joined", clientId: string, name: string | null, online: boolean, width: number | null, height: number | null, availability: Availability, } | { "type": "left", clientId: string, } | { "type": "status", clientId: string, online: boolean, name?: string | null, availability?: Availability, } | { "type": "subscribed", clientIds: Array<string>, } | { "type": "stats", cameras: { [key in string]: ViewerCameraStats }, };

export type ViewerCameraStats = { delivered: number, skipped: number, lastSeq: number, };

export type ListenerMessage = { "type": "ping" } & Ping;

export type ListenerEvent = { "type": "format", source: string, sampleRate: number, channels: number, encoding: string, } | { "type": "stats", seq: number | null, serverTimeMs: number | null, lost: number, late: number, filled: number, duplicates: number, dropped: number, online: boolean, };

export type PublisherMessage = { "type": "format", sampleRate: number, channels: number, encoding?: string | null, } | { "type": "ping" } & Ping;

export type PublisherReply = { "type": "registered", source: string, sampleRate: number, channels: number, encoding: string, };

export type FileMode = "pcm" | "bytes";

export type FileEvent = { "type": "metadata", file: string, name: string, mode: FileMode, 
/**
 * Bytes in all chunks together (the PCM's size in `pcm` mode).
 */
totalSize: number, totalChunks: number, 
/**
 * Always [`CHUNK_SIZE`].
 */
chunkSize: number, 
/**
 * `audio/wav`, `audio/flac`, `audio/mpeg`, `audio/ogg` in `bytes`
 * mode; `audio/pcm` in `pcm` mode.
 */
mime: string, durationSec: number, 
/**
 * `pcm` mode: the PCM's layout (always `s16le`, interleaved).
 */
format?: PcmFormat, } | { "type": "seeked", chunk: number, 
/**
 * Where `chunk` starts in the file's time (`pcm` mode; `null` in `bytes` mode).
 */
seconds: number | null, } | { "type": "complete" } | { "type": "error", message: string, };

export type PcmFormat = { sampleRate: number, channels: number, encoding: string, };

export type FileMessage = { "type": "resume", fromChunk: number, } | { "type": "seek", seconds: number, } | { "type": "ping" } & Ping;

export type ApiErrorBody = { error: ApiErrorDetail, };

export type ApiErrorDetail = { code: string, message: string, };

export type Ok = { ok: boolean, };

export type Health = { status: string, version: string, uptimeSecs: number, cameras: number, camerasOnline: number, viewers: number, 
/**
 * This node in its cluster (`null` on a node that runs alone).
 */
cluster: ClusterHealth | null, };

export type ClusterHealth = { cluster: string, node: string, 
/**
 * Whether the node is connected to a NATS server now.
 */
connected: boolean, 
/**
 * The last problem with NATS, if any since the last connect.
 */
lastError: string | null, 
/**
 * Every live node with the URL its UI answers on (this one included).
 */
nodes: Array<ClusterNode>, framesIn: number, framesOut: number, chunksIn: number, chunksOut: number, bytesIn: number, bytesOut: number, 
/**
 * Frames and chunks the origins published that never arrived here.
 */
missed: number, 
/**
 * Frames split across messages and dropped whole for a missing part.
 */
dropped: number, 
/**
 * Origin → this node's hub, over the last 4096 frames and chunks (µs).
 */
latencyP50Us: number | null, latencyP99Us: number | null, };

export type ClusterNode = { name: string, url: string | null, };

export type StatusHistory = { intervalMs: number, spanMs: number, samples: Array<StatusSample>, };

export type StatusSample = { atMs: number, 
/**
 * Frames received, every camera.
 */
framesIn: number, 
/**
 * Frames handed to viewers, every camera.
 */
framesOut: number, 
/**
 * Frames slow viewers skipped.
 */
skipped: number, 
/**
 * Bytes written to clients (WebSocket, MJPEG, WAV).
 */
sentBytes: number, 
/**
 * Video connections now (WebSocket, MJPEG).
 */
viewers: number, 
/**
 * Audio connections now (WebSocket, WAV).
 */
listeners: number, 
/**
 * Datagrams the devkits' live sessions lost.
 */
devkitLost: number, 
/**
 * The relay's CPU time since start.
 */
cpuSeconds: number, rssBytes: number, cameras: { [key in string]: CameraSample }, sources: { [key in string]: SourceSample }, };

export type CameraSample = { framesIn: number, framesOut: number, skipped: number, viewers: number, };

export type SourceSample = { chunks: number, bytes: number, listeners: number, lost: number, };

export type Camera = { id: string, clientId: string, name: string | null, kind: SourceKind, online: boolean, connectedSince: number | null, lastFrameTime: number | null, frames: number, bytes: number, fps: number, width: number | null, height: number | null, viewers: number, delivered: number, skipped: number, availability: Availability, 
/**
 * The cluster node whose publisher this is (`null` on a node that runs alone).
 */
node: string | null, };

export type CameraList = { clients: Array<Camera>, };

export type CameraRename = { name: string | null, };

export type StreamInfo = { ring: RingSummary, id: string, clientId: string, name: string | null, kind: SourceKind, online: boolean, connectedSince: number | null, lastFrameTime: number | null, frames: number, bytes: number, fps: number, width: number | null, height: number | null, viewers: number, delivered: number, skipped: number, availability: Availability, 
/**
 * The cluster node whose publisher this is (`null` on a node that runs alone).
 */
node: string | null, };

export type RingSummary = { capacity: number, length: number, firstSeq: number | null, latestSeq: number | null, };

export type StreamList = { streams: Array<StreamInfo>, };

export type RingFrame = { seq: number, captureTimeUs: number, size: number, width: number, height: number, url: string, };

export type Ring = { clientId: string, online: boolean, frames: Array<RingFrame>, };

export type AudioFormat = { sampleRate: number, channels: number, };

export type AudioSourceInfo = { id: string, kind: SourceKind, name: string | null, online: boolean, format: AudioFormat | null, 
/**
 * `s16le`, `s32le` or `f32le` (`s16le` before the source first streams).
 */
encoding: string, chunks: number, bytes: number, lastChunkMs: number | null, lastSeq: number | null, listeners: number, ringMs: number, lost: number, late: number, duplicates: number, filled: number, availability: Availability, 
/**
 * The cluster node whose publisher this is (`null` on a node that runs alone).
 */
node: string | null, wsUrl: string, wavUrl: string, 
/**
 * Whether the source belongs to a registered devkit.
 */
device: boolean, };

export type SourceList = { sources: Array<AudioSourceInfo>, };

export type DeviceAudio = { sampleRate: number, channels: number, format: string, 
/**
 * Audio per datagram, rounded to whole milliseconds.
 */
frameMs: number, 
/**
 * Audio per datagram in sample frames (exact).
 */
frameSamples: number, };

export type Device = { deviceId: string, name: string, createdMs: number, lastSeenMs: number | null, online: boolean, sessionId: number | null, ip: string | null, fw: string | null, 
/**
 * The board's stable ID, when it was paired over Bluetooth.
 */
boardId: string | null, format: DeviceAudio | null, 
/**
 * How the live session's command channel is carried: `tls` or `tcp` (null offline).
 */
transport: string | null, connectedMs: number | null, lastPacketMs: number | null, listeners: number, status: { [key in string]: JsonValue }, packets?: number, bytes?: number, lost?: number, late?: number, duplicates?: number, filled?: number, jitterMs?: number, };

export type DeviceSessionStats = { packets?: number, bytes?: number, lost?: number, late?: number, duplicates?: number, filled?: number, jitterMs?: number, };

export type UdpDropCounts = { unknownSession: number, wrongPeer: number, malformed: number, };

export type DeviceList = { devices: Array<Device>, udpDrops: UdpDropCounts, 
/**
 * The devkit TCP (commands) and UDP (audio) ports devkits use, or null
 * when that listener is off.
 */
tcpPort: number | null, udpPort: number | null, 
/**
 * The addresses those ports are reached at.
 */
hosts: DevkitHosts, 
/**
 * SHA-256 of the certificate the devkit TCP port presents to boards that
 * connect with TLS (`AB:CD:…`), for them to pin; null when TLS is off.
 */
tlsFingerprint: string | null, };

export type DevkitHosts = { 
/**
 * The address for a devkit (or the simulator) on this computer.
 */
local: string, 
/**
 * Whether the ports listen beyond this computer (`devkitLan`, `--devkit-bind`).
 */
lanEnabled: boolean, 
/**
 * The addresses a board on the network can use (this computer's LAN
 * addresses), best first; empty when the ports are on loopback only or
 * this computer has no network address. Never a loopback address.
 */
lan: Array<string>, };

export type NewDevice = { deviceId?: string, name: string, 
/**
 * The board's stable ID (pairing reads it over Bluetooth): a board
 * already registered under it is re-paired (same device, new token).
 */
boardId?: string, };

export type CreatedDevice = { deviceId: string, name: string, token: string, createdMs: number, tcpPort: number | null, udpPort: number | null, hosts: DevkitHosts, tlsFingerprint: string | null, 
/**
 * True when `boardId` named a board already registered: the same device
 * with a new token (the old one no longer works).
 */
repaired: boolean, note: string, };

export type RevokedDevice = { deviceId: string, revoked: boolean, };

export type PairingStep = { 
/**
 * The step's name (`Find the board`, `Wi-Fi`, …, `Online`; at most 40 characters).
 */
step: string, state: PairingStepState, 
/**
 * What happened (a board's name, an error; at most 300 characters).
 */
detail: string, };

export type PairingStepState = "todo" | "active" | "done" | "failed" | "skipped";

export type PhoneProgress = { 
/**
 * At most 16 steps.
 */
steps: Array<PairingStep>, 
/**
 * What the phone tells its user now (at most 300 characters).
 */
message?: string, };

export type PhonePairingState = "none" | "open" | "paired" | "closed";

export type PhonePairing = { state: PhonePairingState, 
/**
 * Changes with every change of this status (`GET ?since=` waits for a newer one).
 */
revision: number, 
/**
 * What the phone opens (the QR code's content): the listener's address and
 * the pairing-only credential. Present while open; shown only to the admin.
 */
url: string | null, 
/**
 * SHA-256 of the listener's certificate (`AB:CD:…`): what the phone's
 * browser shows when it asks whether to trust it.
 */
fingerprint: string | null, expiresMs: number | null, 
/**
 * The phone's steps, as it last reported them.
 */
steps: Array<PairingStep>, message: string | null, 
/**
 * The device the phone registered, once it has.
 */
deviceId: string | null, 
/**
 * Why it closed (`Closed`), in words.
 */
reason: string | null, };

export type NewCommand = { name: string, args?: JsonValue, };

export type SessionDescription = { 
/**
 * `offer` in a request, `answer` in the reply.
 */
type: string, sdp: string, };

export type WebRtcOffer = { offer: SessionDescription, 
/**
 * The listener's own ID (as `/audio/ws`'s `listenerId`): a new offer
 * with the same one replaces the older peer.
 */
clientId: string, 
/**
 * The live audio source to play.
 */
source?: string | null, 
/**
 * An audio file of the library to play on a `fileStream` DataChannel
 * (instead of `source`).
 */
file?: string | null, 
/**
 * With `file`: its decoded PCM (`pcm`, the default) or its bytes.
 */
mode?: FileMode | null, };

export type WebRtcAnswer = { answer: SessionDescription, };

export type WebRtcConfig = { 
/**
 * The `iceServers` setting, for `new RTCPeerConnection({ iceServers })`.
 */
iceServers: Array<IceServer>, };

export type FileOrigin = "upload" | "recording";

export type AudioFile = { 
/**
 * Its ID in URLs, offers and token grants (`[A-Za-z0-9_-]`, from its name).
 */
id: string, 
/**
 * Its name as uploaded, made safe (no paths, no control characters).
 */
name: string, origin: FileOrigin, 
/**
 * The source a recording is of.
 */
source?: string | null, 
/**
 * `wav`, `flac`, `mp3` or `ogg-opus`.
 */
format: string, 
/**
 * The container's media type (`audio/wav`, `audio/flac`, `audio/mpeg`, `audio/ogg`).
 */
mime: string, 
/**
 * Bytes of the file as stored.
 */
size: number, sampleRate: number, channels: number, durationSec: number, 
/**
 * Bytes of its decoded PCM (s16le), what `pcm` mode sends.
 */
pcmSize: number, addedMs: number, };

export type FileList = { files: Array<AudioFile>, 
/**
 * The largest upload taken (`--max-upload-bytes`).
 */
maxUploadBytes: number, };

export type NewRecorder = { source: string, 
/**
 * `camera` or `audio`.
 */
kind: string, 
/**
 * A camera: record only while something moves, detected so.
 */
motion?: MotionSettings, };

export type RecorderInfo = { source: string, kind: string, 
/**
 * `waiting` (no such stream yet), `recording`, `disk_full`, `failed`;
 * on motion also `watching` (nothing moves: nothing is written).
 */
state: string, 
/**
 * `continuous` or `motion`.
 */
mode: string, message?: string | null, };

export type RecorderList = { recorders: Array<RecorderInfo>, 
/**
 * Bytes of recordings per source the caller may see.
 */
bySource: Array<SourceUse>, 
/**
 * Free bytes on the recordings' disk (`null` when unknown).
 */
freeBytes: number | null, 
/**
 * Recording stops below this much free space (`--record-reserve`).
 */
reserveBytes: number, 
/**
 * Where the recordings are (the admin only).
 */
dir?: string | null, };

export type SourceUse = { source: string, bytes: number, segments: number, };

export type RecordingInfo = { 
/**
 * `source.kind.startms`.
 */
id: string, source: string, 
/**
 * `camera` (Matroska, `V_MJPEG`) or `audio` (WAV).
 */
kind: string, 
/**
 * Unix ms of its first frame or sample, and of its last.
 */
startMs: number, endMs: number, durationMs: number, bytes: number, frames?: number | null, 
/**
 * Still being written.
 */
live: boolean, mime: string, 
/**
 * Motion events of its source overlap it.
 */
motion: boolean, };

export type RecordingList = { recordings: Array<RecordingInfo>, 
/**
 * Segments matching, over all pages.
 */
total: number, };

export type MotionEvent = { 
/**
 * `source.startms`.
 */
id: string, source: string, 
/**
 * Unix ms of the first and the last picture that moved.
 */
startMs: number, endMs: number, 
/**
 * The largest share of the watched picture that changed, 0 to 1.
 */
peak: number, 
/**
 * Still going on.
 */
live: boolean, 
/**
 * Its thumbnail (a JPEG of the first picture that moved).
 */
thumbnail: string, };

export type MotionEventList = { events: Array<MotionEvent>, 
/**
 * Events matching, over all pages.
 */
total: number, };

export type Scope = "view" | "publish" | "admin" | "metrics";

export type TokenInfo = { id: string, name: string, scope: Scope, ids: Array<string> | null, createdMs: number, expiresMs: number | null, expired: boolean, };

export type TokenList = { tokens: Array<TokenInfo>, };

export type NewToken = { name: string, scope: Scope, ids?: Array<string>, expiresInSec?: number, };

export type CreatedToken = { id: string, name: string, scope: Scope, ids: Array<string> | null, createdMs: number, expiresMs: number | null, token: string, 
/**
 * A page URL carrying the token (view and publish tokens).
 */
link: string | null, };

export type RevokedToken = { id: string, revoked: boolean, };

export type Login = { password: string, next?: string, };

export type Bootstrap = { code: string, };

export type Role = "admin" | "token" | "pairing";

export type Session = { role: Role, admin: boolean, scope: Scope | null, ids: Array<string> | null, token: string | null, canView: boolean, canPublish: boolean, };

export type CameraMode = { width: number, height: number, fps: number, 
/**
 * `mjpeg`, `yuyv` or `nv12`.
 */
format: string, };

export type CameraDevice = { index: number, name: string, modes: Array<CameraMode>, };

export type MicDevice = { name: string, isDefault: boolean, sampleRate: number | null, channels: number | null, sampleFormat: string | null, };

export type CaptureDevices = { cameras: DeviceChoice<CameraDevice>, microphones: DeviceChoice<MicDevice>, };

export type Theme = "system" | "light" | "dark";

export type MicFormat = "voice" | "music";

export type IceServer = { 
/**
 * `stun:`, `stuns:`, `turn:` or `turns:` URLs (1 to 4).
 */
urls: Array<string>, 
/**
 * Required for TURN.
 */
username?: string, 
/**
 * Required for TURN.
 */
credential?: string, };

export type RecordRule = { source: string, 
/**
 * `camera` or `audio`.
 */
kind: string, mode: RecordMode, 
/**
 * `schedule` mode: when, in the relay's local time; `motion` mode:
 * when to watch (none: always).
 */
schedule: Array<WeeklySpan>, 
/**
 * `motion` mode: how to detect motion (defaults when absent).
 */
motion?: MotionSettings, };

export type RecordMode = "always" | "schedule" | "motion";

export type MotionSettings = { 
/**
 * 1 (only large changes) to 100 (the smallest).
 */
sensitivity: number, 
/**
 * Where to look, in percent of the picture; none: everywhere.
 */
zones: Array<MotionZone>, 
/**
 * Seconds kept from before the motion began (0 to 30).
 */
preRollSec: number, 
/**
 * Seconds recorded after the last motion (1 to 600).
 */
postRollSec: number, };

export type MotionZone = { x: number, y: number, w: number, h: number, };

export type WeeklySpan = { days: Array<number>, start: string, end: string, };

export type Settings = { 
/**
 * HTTP/WebSocket port (0: any free port). Applies at the next start.
 */
port: number, 
/**
 * Listen on every interface (the LAN), not only 127.0.0.1. Next start.
 */
lanAccess: boolean, 
/**
 * HTTPS/WSS with the generated certificate. Next start.
 */
tls: boolean, 
/**
 * The devkit TCP and UDP ports on every interface (the LAN), whatever
 * `lanAccess` says for the web UI. Devkits still need their device
 * token. On by default in the desktop app. Next start.
 */
devkitLan: boolean, 
/**
 * Frames kept per camera. Live, for cameras that connect afterwards.
 */
ringFrames: number, 
/**
 * Publish the built-in `test-pattern` camera. Live.
 */
testPattern: boolean, 
/**
 * The audio player's jitter buffer in milliseconds. Live (the UI's default).
 */
audioBufferMs: number, 
/**
 * The UI's theme. Live.
 */
theme: Theme, 
/**
 * The desktop app starts when the user logs in, in the tray (through
 * Tauri's autostart plugin). Live; `serve` ignores it (a service
 * manager starts it instead).
 */
startAtLogin: boolean, 
/**
 * Publish this computer's camera as `host-camera`. Live.
 */
cameraEnabled: boolean, 
/**
 * Which camera: its index or (part of) its name; empty for the first one.
 */
camera: string, cameraWidth: number, cameraHeight: number, cameraFps: number, 
/**
 * JPEG quality for cameras that deliver uncompressed frames.
 */
cameraQuality: number, 
/**
 * Keep the camera open without viewers (otherwise it opens on demand).
 */
cameraAlwaysOn: boolean, 
/**
 * Publish this computer's microphone as the audio source `mic`. Live.
 */
micEnabled: boolean, 
/**
 * Which input device: its name, or `default`.
 */
mic: string, 
/**
 * `voice` (16 kHz mono) or `music` (48 kHz stereo), s16le.
 */
micFormat: MicFormat, 
/**
 * Keep the microphone open without listeners (e.g. for recording).
 */
micAlwaysOn: boolean, 
/**
 * STUN/TURN servers for WebRTC, used by the relay's peers and handed to
 * pages (`GET /api/webrtc`). Live, for peers made afterwards.
 */
iceServers: Array<IceServer>, 
/**
 * Sources recorded without being asked each time: always, or on a
 * weekly schedule (on-demand recording is `POST /api/recorders`). Live.
 */
recordRules: Array<RecordRule>, 
/**
 * Recordings older than this many days are deleted (0: only space limits them). Live.
 */
recordKeepDays: number, 
/**
 * Recordings may fill at most this share of their disk, in percent; the oldest go first. Live.
 */
recordMaxDiskPercent: number, 
/**
 * Where recordings are kept: an absolute path, or empty for
 * `recordings` in the data directory. At the next start (`--record-dir` wins).
 */
recordDir: string, };

export type SettingsView = { settings: Settings, 
/**
 * What the running relay started with.
 */
running: Settings, 
/**
 * Keys whose new value waits for the next start.
 */
restartRequired: Array<string>, 
/**
 * Where browsers reach this relay.
 */
urls: Array<string>, 
/**
 * The port the relay actually listens on (differs from `running.port`
 * when that was 0, or taken and the desktop app moved on to the next).
 */
listeningPort: number, };

export type PasswordChange = { current: string, new: string, };

export type DeviceChoice<T> = { devices: Array<T>, message?: string, };
