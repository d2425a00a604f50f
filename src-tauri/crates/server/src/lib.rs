//! The Relay Deck relay server: HTTP and WebSocket edges around the hub.
//!
//! One port serves everything. WebSocket endpoints live at root paths, HTTP
//! resources under `/api/`; `docs/PROTOCOL.md` is the contract.
//!
//! | module | what it holds |
//! |--------|---------------|
//! | [`auth`] | access control: credentials, sessions, tokens, the login limiter, the policy table and its guard |
//! | [`config`] | [`ServerConfig`]: every flag, with its environment twin |
//! | [`server`] | binding, the accept loop (HTTP/1.1 with upgrades), graceful shutdown, the idle sweep |
//! | [`router`] | the canonical URL tree, composed from the edges' routers |
//! | [`aliases`] | the one router that maps µStreamer, mjpg-streamer and go2rtc paths onto it |
//! | [`api`] | REST: health, cameras, rings, frames, snapshots, devices and commands, audio sources |
//! | [`ws`] | WebSocket plumbing shared by every socket edge: upgrade, subprotocol echo, reassembly, limits, and [`ws::session`], the loop every socket edge runs on |
//! | [`edges::ingest`] | `GET /ws`: cameras publishing JPEG frames |
//! | [`edges::viewer`] | `GET /stream/ws`: viewers of one camera or many (multiplexed) |
//! | [`edges::mjpeg`] | `multipart/x-mixed-replace` streams for VLC, ffplay, Home Assistant, `<img>` |
//! | [`edges::devkit`] | devkits: the TCP command channel, UDP audio, the reorder window |
//! | [`edges::audio_listen`] | `GET /audio/ws`: audio listeners |
//! | [`edges::audio_publish`] | `GET /audio/publish`: audio publishers (a browser's microphone) |
//! | [`edges::wav`] | `GET /api/audio/{id}/live.wav`: a source as a streaming WAV file |
//! | [`cluster`] | several nodes as one relay over NATS: the bridge (remote streams in and out), presence, leases |
//! | [`edges::webrtc`] | `POST /api/offer`, WHEP: live audio (Opus track, DataChannel) and library files (`fileStream`) over WebRTC |
//! | [`library`] | the audio library: uploads kept as they came and as PCM, probed and decoded (symphonia, libopus) |
//! | [`api::files`] | `PUT/GET/DELETE /api/files`: the library over HTTP, uploads streamed to disk |
//! | [`store`] | state on disk, one writer per file: the device registry, camera names, settings |
//! | [`ui`] | the embedded web UI |
//! | [`phone_pairing`] | "Pair with your phone": a temporary HTTPS listener serving only `/pair` to a one-device pairing pass |
//! | [`lan`] | this computer on the LAN: its addresses, and which a devkit can use |
//! | [`tls`] | HTTPS/WSS: rustls, a generated self-signed certificate kept in the data directory |
//! | [`limits`] | connection caps per IP and in total; streams and sources per publish token |
//! | [`error`] | [`ApiError`]: every HTTP error as `{"error":{"code","message"}}` |
//! | [`body`] | request bodies: the whole-body deadline and the JSON extractor |
//! | [`jpeg_http`] | single JPEG responses (snapshots, ring frames) and `?fps=`, shared by REST, aliases and MJPEG |
//! | [`streams`] | lookups shared by the audio edges: the source a request names, `backlogMs` |
//! | [`listeners`] | audio listeners by `listenerId` (a newer socket replaces an older one) |
//! | [`devkit_service`] | [`devkit_service::DevkitService`]: the one door from REST into the devkit edge (commands, sessions, ports) |
//! | [`host`] | the host's devices behind traits the binary wires (the server needs no capture library) |
//! | [`wire`] | hub values → the contract's wire types (`relaydeck-contract`) |
//! | [`http_log`] | a request ID on every request (`X-Request-Id`, a `request` span) and one log line per answer, credentials redacted |
//! | [`metrics`] | `GET /metrics`: Prometheus counters of cameras, audio, devkits, transports, HTTP routes and the process |
//! | [`state`] | [`AppState`] and its sub-states (`FromRef`): a handler names only what it uses |

pub mod aliases;
pub mod api;
pub mod auth;
pub mod body;
pub mod cluster;
pub mod config;
pub mod devkit_service;
pub mod edges;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod host;
pub mod http_log;
pub mod jpeg_http;
pub mod lan;
pub mod library;
pub mod limits;
pub mod listeners;
pub mod metrics;
pub mod phone_pairing;
pub mod router;
pub mod secrets;
pub mod server;
pub mod state;
pub mod store;
pub mod streams;
pub mod tls;
pub mod ui;
pub mod wire;
pub mod ws;

pub use config::ServerConfig;
pub use error::ApiError;
pub use server::{RunningServer, Server, ServerError};
pub use state::AppState;
