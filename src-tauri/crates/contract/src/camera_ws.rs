//! `GET /ws`: a camera publishing JPEG frames (binary messages) and the
//! text messages around them.

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use crate::socket::Ping;

/// What a camera sends as text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum CameraMessage {
    /// Names the camera (when the URL has no `?clientId=`).
    Register(Registration),
    /// SkySentry's capture clients register this way.
    ClientRegistration(Registration),
    Ping(Ping),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Registration {
    pub client_id: String,
    #[serde(default)]
    #[ts(optional = nullable)]
    pub name: Option<String>,
}

crate::socket_message!(CameraMessage);

/// The acknowledgement of a registration, in the camera's dialect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum CameraReply {
    #[serde(rename_all = "camelCase")]
    Registered { client_id: String },
    /// SkySentry's acknowledgement; `timestamp` in Unix milliseconds.
    #[serde(rename_all = "camelCase")]
    RegistrationSuccess {
        client_id: String,
        #[ts(type = "number")]
        timestamp: u64,
    },
}
