//! `GET /stream/ws`: viewers. Binary messages are JPEGs (one camera) or
//! multi-camera packets (docs/PROTOCOL.md); these are the text messages.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use ts_rs::TS;
use utoipa::ToSchema;

use crate::{socket::Ping, Availability};

/// What a viewer sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ViewerMessage {
    /// Chooses cameras: a list, or `null`/absent for all.
    #[serde(rename_all = "camelCase")]
    Subscribe {
        #[serde(default)]
        #[ts(optional = nullable)]
        client_ids: Option<Vec<String>>,
    },
    Ping(Ping),
}

crate::socket_message!(ViewerMessage);

/// What a viewer is told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, ToSchema)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ViewerEvent {
    /// A camera the viewer now receives.
    #[serde(rename_all = "camelCase")]
    Joined {
        client_id: String,
        name: Option<String>,
        online: bool,
        width: Option<u16>,
        height: Option<u16>,
        availability: Availability,
    },
    /// A camera the viewer no longer receives.
    #[serde(rename_all = "camelCase")]
    Left { client_id: String },
    /// A camera went on- or offline, or its availability changed.
    #[serde(rename_all = "camelCase")]
    Status {
        client_id: String,
        online: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        name: Option<Option<String>>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[ts(optional)]
        availability: Option<Availability>,
    },
    /// The answer to `subscribe`: the cameras now received.
    #[serde(rename_all = "camelCase")]
    Subscribed { client_ids: Vec<String> },
    /// Every second: delivery counters per camera.
    Stats {
        cameras: BTreeMap<String, ViewerCameraStats>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ViewerCameraStats {
    #[ts(type = "number")]
    pub delivered: u64,
    #[ts(type = "number")]
    pub skipped: u64,
    #[ts(type = "number")]
    pub last_seq: u64,
}
