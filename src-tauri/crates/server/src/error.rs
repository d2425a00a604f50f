//! HTTP errors: every one is `{"error":{"code","message"}}` with a fitting status.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("no camera with the ID '{0}'")]
    UnknownCamera(String),
    #[error("camera '{0}' has not sent a frame yet")]
    NoFrame(String),
    #[error("frame {seq} of camera '{id}' is no longer in its ring")]
    FrameGone { id: String, seq: u64 },
    #[error("camera '{id}' is unavailable: {why}")]
    CameraUnavailable { id: String, why: String },
    #[error("no camera is connected")]
    NoCameras,
    #[error("{0}")]
    BadRequest(String),
    #[error("this endpoint is a WebSocket: connect with a WebSocket client")]
    UpgradeRequired,
    #[error("no such resource: {0}")]
    NotFound(String),
    #[error("no audio source with the ID '{0}'")]
    UnknownSource(String),
    #[error("audio source '{0}' has not streamed yet, so its format is unknown; try again when it is online")]
    NoAudioYet(String),
    #[error("no device with the ID '{0}'")]
    UnknownDevice(String),
    #[error("{0}")]
    Conflict(String),
    #[error("device '{0}' is offline")]
    DeviceOffline(String),
    #[error("the device refused the command: {0}")]
    CommandRefused(String),
    #[error("the device did not acknowledge the command within {0:?}")]
    CommandTimeout(std::time::Duration),
    #[error("{0}")]
    Internal(String),
    #[error("sign in (POST /api/login), or pass a token: Authorization: Bearer, HTTP Basic with the token as the password, or ?token=")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("too many failed sign-ins from this address; try again in {} s", .0.as_secs().max(1))]
    TooManyAttempts(std::time::Duration),
    #[error("wrong password")]
    WrongPassword,
    #[error("the query parameter '{0}' is given more than once; give it once")]
    DuplicateParameter(String),
    #[error("invalid {what} '{id}': {why}")]
    InvalidId {
        what: String,
        id: String,
        why: String,
    },
    #[error("this request carries two different credentials ({0}); send one")]
    ConflictingCredentials(String),
    #[error("this endpoint takes application/json (or a +json type), not '{0}'")]
    UnsupportedMediaType(String),
    #[error("the request body is larger than {0} bytes")]
    BodyTooLarge(usize),
    #[error("the request body did not arrive within {0:?}")]
    BodyTimeout(std::time::Duration),
    #[error("method {0} is not allowed here")]
    MethodNotAllowed(String),
    /// A cap on what a credential may create (`code` names which).
    #[error("{message} ({code})")]
    Quota { code: &'static str, message: String },
    #[error("the credentials of this request were revoked or have expired")]
    Revoked,
    #[error("{0}")]
    NoLanAddress(String),
    /// An SDP offer the relay cannot take (unparsable, no media it serves).
    #[error("{0}")]
    BadSdp(String),
    #[error("the SDP is {0} bytes; at most 16384 are accepted")]
    SdpTooLarge(usize),
    #[error("the relay holds its limit of {0} WebRTC peers; try again later")]
    WebRtcFull(usize),
    #[error(
        "every UDP port of --webrtc-udp-ports {0} is in use; try again later, or widen the range"
    )]
    WebRtcNoPort(String),
    #[error("no audio file with the ID '{0}'")]
    UnknownFile(String),
    /// An upload that is not audio the library reads (the reason is decoding's).
    #[error("{0}")]
    NotAudio(String),
    /// An upload that would decode to more PCM than the library keeps.
    #[error("{0}")]
    TooMuchAudio(String),
    #[error("the disk is full: {0}")]
    DiskFull(String),
    #[error(
        "the cluster cannot be reached ({0}); nothing was changed: try again when NATS is back"
    )]
    ClusterUnreachable(String),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            Self::UnknownCamera(_) => (StatusCode::NOT_FOUND, "unknown_camera"),
            Self::NoFrame(_) => (StatusCode::NOT_FOUND, "no_frame"),
            Self::FrameGone { .. } => (StatusCode::NOT_FOUND, "frame_gone"),
            Self::NoCameras => (StatusCode::NOT_FOUND, "no_cameras"),
            Self::CameraUnavailable { .. } => {
                (StatusCode::SERVICE_UNAVAILABLE, "camera_unavailable")
            }
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::UpgradeRequired => (StatusCode::UPGRADE_REQUIRED, "upgrade_required"),
            Self::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            Self::UnknownSource(_) => (StatusCode::NOT_FOUND, "unknown_source"),
            Self::NoAudioYet(_) => (StatusCode::SERVICE_UNAVAILABLE, "no_audio_yet"),
            Self::UnknownDevice(_) => (StatusCode::NOT_FOUND, "unknown_device"),
            Self::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            Self::DeviceOffline(_) => (StatusCode::CONFLICT, "device_offline"),
            Self::CommandRefused(_) => (StatusCode::UNPROCESSABLE_ENTITY, "command_refused"),
            Self::CommandTimeout(_) => (StatusCode::GATEWAY_TIMEOUT, "command_timeout"),
            Self::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            Self::ClusterUnreachable(_) => (StatusCode::SERVICE_UNAVAILABLE, "cluster_unreachable"),
            Self::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            Self::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            Self::TooManyAttempts(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_attempts"),
            Self::WrongPassword => (StatusCode::UNAUTHORIZED, "wrong_password"),
            Self::DuplicateParameter(_) => (StatusCode::BAD_REQUEST, "duplicate_parameter"),
            Self::InvalidId { .. } => (StatusCode::BAD_REQUEST, "invalid_id"),
            Self::ConflictingCredentials(_) => (StatusCode::BAD_REQUEST, "conflicting_credentials"),
            Self::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            Self::BodyTooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"),
            Self::BodyTimeout(_) => (StatusCode::REQUEST_TIMEOUT, "body_timeout"),
            Self::MethodNotAllowed(_) => (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
            Self::Quota { code, .. } => (StatusCode::TOO_MANY_REQUESTS, code),
            Self::Revoked => (StatusCode::UNAUTHORIZED, "revoked"),
            Self::NoLanAddress(_) => (StatusCode::CONFLICT, "no_lan_address"),
            Self::BadSdp(_) => (StatusCode::BAD_REQUEST, "bad_sdp"),
            Self::SdpTooLarge(_) => (StatusCode::BAD_REQUEST, "sdp_too_large"),
            Self::WebRtcFull(_) => (StatusCode::SERVICE_UNAVAILABLE, "webrtc_full"),
            Self::WebRtcNoPort(_) => (StatusCode::SERVICE_UNAVAILABLE, "no_udp_port"),
            Self::UnknownFile(_) => (StatusCode::NOT_FOUND, "unknown_file"),
            Self::NotAudio(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "not_audio"),
            Self::TooMuchAudio(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_much_audio"),
            Self::DiskFull(_) => (StatusCode::INSUFFICIENT_STORAGE, "disk_full"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        let body = relaydeck_contract::api::ApiErrorBody::new(code, self.to_string());
        let mut resp = (status, Json(body)).into_response();
        if let Self::TooManyAttempts(wait) = &self {
            resp.headers_mut()
                .insert("retry-after", wait.as_secs().max(1).into());
        }
        if status == StatusCode::REQUEST_TIMEOUT || status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of a stalled body is not waited for.
            resp.headers_mut()
                .insert("connection", "close".parse().unwrap());
        }
        if status == StatusCode::UPGRADE_REQUIRED {
            resp.headers_mut()
                .insert("upgrade", "websocket".parse().unwrap());
        }
        resp
    }
}
