//! Relay Deck's wire contract: every socket message and REST body the relay
//! speaks, as plain serde types, one module per area.
//!
//! | module | wire |
//! |--------|------|
//! | [`socket`] | what every socket shares: `ping`, `pong`, `error` |
//! | [`camera_ws`] | `GET /ws`: cameras registering and publishing |
//! | [`viewer_ws`] | `GET /stream/ws`: viewers' subscriptions and camera events |
//! | [`audio_ws`] | `GET /audio/ws` listeners and `GET /audio/publish` publishers |
//! | [`file_channel`] | the `fileStream` DataChannel: library files to a browser |
//! | [`api`] | REST bodies under `/api/` and the error body |
//! | [`settings`] | `GET/PUT /api/settings` and `settings.json` |
//! | [`pairing`] | Bluetooth LE pairing: Improv Wi-Fi and the provisioning service, as bytes |
//! | [`cluster`] | between nodes over NATS: subjects, media headers, key-value buckets, presence and lease records |
//! | [`rest`] | every REST route: access, parameters, bodies, answers; the OpenAPI document |
//!
//! The server builds these types (never ad-hoc JSON), the UI's TypeScript
//! types are generated from them ([`typescript`], written to
//! `ui/src/generated/contract.ts` by `cargo run -p relaydeck-contract`), and
//! each derives `utoipa::ToSchema`: [`rest::openapi`] makes the OpenAPI 3.1
//! document the relay serves from them and the route table. `docs/PROTOCOL.md` describes each message; a new
//! message or body is a type here first.
//!
//! This crate depends on nothing of the relay: the hub keeps no wire
//! naming, and the server converts its values into these types at the edge.

pub mod api;
pub mod audio_ws;
pub mod camera_ws;
pub mod cluster;
pub mod file_channel;
pub mod pairing;
pub mod rest;
pub mod settings;
pub mod socket;
pub mod viewer_ws;

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

/// Who publishes a stream: a remote client, or one of the app's own sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    Remote,
    Local,
}

/// Whether a source is delivering: `{"state":"live"}`, `{"state":"standby"}`
/// (opened only on demand) or `{"state":"unavailable","message":…}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS, ToSchema)]
#[serde(tag = "state", content = "message", rename_all = "lowercase")]
pub enum Availability {
    #[default]
    Live,
    Standby,
    Unavailable(String),
}

/// The TypeScript declarations of every wire type, as one module.
pub fn typescript() -> String {
    let cfg = ts_rs::Config::new().with_large_int("number");
    let mut out = String::from(
        "// Generated from the Rust types of relaydeck-contract; do not edit.\n\
         // Regenerate: cargo run -p relaydeck-contract -- --write ui/src/generated/contract.ts\n\n",
    );
    macro_rules! decl {
        ($($t:ty),* $(,)?) => {$(
            out.push_str("export ");
            out.push_str(&<$t as TS>::decl(&cfg));
            out.push_str("\n\n");
        )*};
    }
    decl!(
        serde_json::Value,
        SourceKind,
        Availability,
        socket::Ping,
        socket::SocketReply,
        socket::SocketError,
        camera_ws::CameraMessage,
        camera_ws::Registration,
        camera_ws::CameraReply,
        viewer_ws::ViewerMessage,
        viewer_ws::ViewerEvent,
        viewer_ws::ViewerCameraStats,
        audio_ws::ListenerMessage,
        audio_ws::ListenerEvent,
        audio_ws::PublisherMessage,
        audio_ws::PublisherReply,
        file_channel::FileMode,
        file_channel::FileEvent,
        file_channel::PcmFormat,
        file_channel::FileMessage,
        api::ApiErrorBody,
        api::ApiErrorDetail,
        api::Ok,
        api::Health,
        api::ClusterHealth,
        api::ClusterNode,
        api::StatusHistory,
        api::StatusSample,
        api::CameraSample,
        api::SourceSample,
        api::Camera,
        api::CameraList,
        api::CameraRename,
        api::StreamInfo,
        api::RingSummary,
        api::StreamList,
        api::RingFrame,
        api::Ring,
        api::AudioFormat,
        api::AudioSourceInfo,
        api::SourceList,
        api::DeviceAudio,
        api::Device,
        api::DeviceSessionStats,
        api::UdpDropCounts,
        api::DeviceList,
        api::DevkitHosts,
        api::NewDevice,
        api::CreatedDevice,
        api::RevokedDevice,
        api::PairingStep,
        api::PairingStepState,
        api::PhoneProgress,
        api::PhonePairingState,
        api::PhonePairing,
        api::NewCommand,
        api::SessionDescription,
        api::WebRtcOffer,
        api::WebRtcAnswer,
        api::WebRtcConfig,
        api::FileOrigin,
        api::AudioFile,
        api::FileList,
        api::NewRecorder,
        api::RecorderInfo,
        api::RecorderList,
        api::SourceUse,
        api::RecordingInfo,
        api::RecordingList,
        api::MotionEvent,
        api::MotionEventList,
        api::Scope,
        api::TokenInfo,
        api::TokenList,
        api::NewToken,
        api::CreatedToken,
        api::RevokedToken,
        api::Login,
        api::Bootstrap,
        api::Role,
        api::Session,
        api::CameraMode,
        api::CameraDevice,
        api::MicDevice,
        api::CaptureDevices,
        settings::Theme,
        settings::MicFormat,
        settings::IceServer,
        settings::RecordRule,
        settings::RecordMode,
        settings::MotionSettings,
        settings::MotionZone,
        settings::WeeklySpan,
        settings::Settings,
        settings::SettingsView,
        settings::PasswordChange,
    );
    out.push_str(
        &<api::DeviceChoice<api::CameraDevice> as TS>::decl(&cfg).replace("type ", "export type "),
    );
    out.push('\n');
    out.trim_end().to_owned() + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checked_in_typescript_is_current() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../ui/src/generated/contract.ts"
        );
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            on_disk == typescript(),
            "ui/src/generated/contract.ts is stale: run `cargo run -p relaydeck-contract -- --write ui/src/generated/contract.ts`"
        );
    }

    #[test]
    fn ping_and_pong_keep_their_shape() {
        let ping: viewer_ws::ViewerMessage =
            serde_json::from_str(r#"{"type":"ping","t":5}"#).unwrap();
        assert_eq!(
            ping,
            viewer_ws::ViewerMessage::Ping(socket::Ping { t: Some(5.into()) })
        );
        let pong = socket::SocketReply::pong(socket::Ping::default());
        assert_eq!(
            serde_json::to_string(&pong).unwrap(),
            r#"{"type":"pong","t":null}"#
        );
        let err = socket::SocketReply::error("bad_json", "x");
        assert_eq!(
            serde_json::to_string(&err).unwrap(),
            r#"{"type":"error","code":"bad_json","message":"x"}"#
        );
    }

    #[test]
    fn availability_is_tagged_by_state() {
        assert_eq!(
            serde_json::to_string(&Availability::Live).unwrap(),
            r#"{"state":"live"}"#
        );
        assert_eq!(
            serde_json::to_string(&Availability::Unavailable("busy".into())).unwrap(),
            r#"{"state":"unavailable","message":"busy"}"#
        );
    }
}
