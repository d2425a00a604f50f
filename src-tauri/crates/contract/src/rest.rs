//! The REST contract: every HTTP route the relay answers under `/api/` (and
//! `/metrics`), with who may call it, what it takes and what it answers, as
//! one table ([`endpoints`]). The OpenAPI 3.1 document the relay serves at
//! `GET /api/openapi.json` is made from this table and the body types'
//! `ToSchema` derives ([`openapi`]); nothing of it is written by hand. The
//! server's tests hold the table to its router and its access policy, so a
//! route cannot be added, moved or opened without the document following.
//!
//! WebSocket routes (`/ws`, `/stream/ws`, `/audio/ws`, `/audio/publish`), the
//! compatibility aliases and the pages are not REST: `docs/PROTOCOL.md`
//! describes them.

use std::borrow::Cow;

use serde_json::{json, Map, Value};
use utoipa::{
    openapi::{RefOr, Schema},
    ToSchema,
};

use crate::{api, settings};

/// An HTTP method of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }

    fn key(self) -> &'static str {
        match self {
            Self::Get => "get",
            Self::Post => "post",
            Self::Put => "put",
            Self::Patch => "patch",
            Self::Delete => "delete",
        }
    }
}

/// Who may call a route (docs/SECURITY.md, "Who may do what").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone.
    Public,
    /// Any valid credential.
    SignedIn,
    /// The admin, or a view token for the camera/source the route names
    /// (lists are filtered to what the caller may see).
    View,
    /// The admin or a `metrics` token.
    Metrics,
    /// The admin, or the phone pairing's pass for the device it registered.
    Pairing,
    Admin,
}

impl Access {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::SignedIn => "signed-in",
            Self::View => "view",
            Self::Metrics => "metrics",
            Self::Pairing => "pairing",
            Self::Admin => "admin",
        }
    }

    fn about(self) -> &'static str {
        match self {
            Self::Public => "Open to anyone.",
            Self::SignedIn => "Any valid credential.",
            Self::View => "The admin, or a view token granted the camera or source it names (lists show only what the caller may see).",
            Self::Metrics => "The admin or a `metrics` token.",
            Self::Pairing => "The admin, or a phone pairing's pass for the one device it registers.",
            Self::Admin => "The admin only.",
        }
    }
}

/// Collects a type's schema (and those it refers to) into the document's
/// components and answers a reference to it.
pub type SchemaFn = fn(&mut Vec<(String, RefOr<Schema>)>) -> RefOr<Schema>;

fn schema<T: ToSchema>(components: &mut Vec<(String, RefOr<Schema>)>) -> RefOr<Schema> {
    let name: Cow<'static, str> = T::name();
    components.push((name.to_string(), T::schema()));
    T::schemas(components);
    utoipa::openapi::Ref::from_schema_name(name).into()
}

/// A request or response body.
#[derive(Clone, Copy)]
pub enum Content {
    /// `application/json` of a contract type.
    Json(SchemaFn),
    /// `application/json`, any object (settings patches, device acks).
    AnyObject,
    /// Bytes of a media type (`image/jpeg`, `audio/wav`, `application/sdp`…).
    Raw(&'static str),
}

impl std::fmt::Debug for Content {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Json(_) => f.write_str("Json"),
            Self::AnyObject => f.write_str("AnyObject"),
            Self::Raw(mime) => write!(f, "Raw({mime})"),
        }
    }
}

/// The JSON body of type `T`.
pub fn json<T: ToSchema>() -> Content {
    Content::Json(schema::<T>)
}

/// Where a parameter is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum In {
    Path,
    Query,
    Header,
}

/// What a parameter holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A camera, source, device, token or file ID: `[A-Za-z0-9_-]`, 1–64.
    Id,
    Text,
    /// A whole number ≥ 0 (an unsigned 64-bit number).
    Count,
    /// A recording's ID: `source.kind.startms`.
    RecordingId,
    /// A motion event's ID: `source.startms`.
    EventId,
    /// `true` or `false`.
    Flag,
    /// One of the listed words.
    OneOf(&'static [&'static str]),
}

#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub place: In,
    pub required: bool,
    pub kind: Kind,
    pub about: &'static str,
}

/// A path parameter.
pub fn path(name: &'static str, kind: Kind, about: &'static str) -> Param {
    Param {
        name,
        place: In::Path,
        required: true,
        kind,
        about,
    }
}

/// An optional query parameter.
pub fn query(name: &'static str, kind: Kind, about: &'static str) -> Param {
    Param {
        name,
        place: In::Query,
        required: false,
        kind,
        about,
    }
}

/// A query parameter that must be given.
pub fn required(name: &'static str, kind: Kind, about: &'static str) -> Param {
    Param {
        required: true,
        ..query(name, kind, about)
    }
}

/// One answer a route gives.
#[derive(Debug, Clone, Copy)]
pub struct Reply {
    pub status: u16,
    pub about: &'static str,
    pub body: Option<Content>,
}

/// One route.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub method: Method,
    /// OpenAPI's path template (`/api/clients/{id}`).
    pub path: &'static str,
    /// The area, as the API page groups routes.
    pub tag: &'static str,
    pub summary: &'static str,
    pub access: Access,
    pub params: Vec<Param>,
    pub body: Option<Content>,
    pub replies: Vec<Reply>,
    /// The error statuses it documents (each with the error body).
    pub errors: Vec<u16>,
    /// Its answer streams without end (MJPEG, live WAV): clients read it as it comes.
    pub streaming: bool,
}

impl Endpoint {
    fn new(method: Method, path: &'static str, tag: &'static str, summary: &'static str) -> Self {
        Self {
            method,
            path,
            tag,
            summary,
            access: Access::Admin,
            params: Vec::new(),
            body: None,
            replies: Vec::new(),
            errors: Vec::new(),
            streaming: false,
        }
    }

    fn access(mut self, access: Access) -> Self {
        self.access = access;
        self
    }

    fn params(mut self, params: impl IntoIterator<Item = Param>) -> Self {
        self.params.extend(params);
        self
    }

    fn body(mut self, body: Content) -> Self {
        self.body = Some(body);
        self
    }

    fn ok(mut self, status: u16, about: &'static str, body: Content) -> Self {
        self.replies.push(Reply {
            status,
            about,
            body: Some(body),
        });
        self
    }

    fn empty(mut self, status: u16, about: &'static str) -> Self {
        self.replies.push(Reply {
            status,
            about,
            body: None,
        });
        self
    }

    fn errors(mut self, codes: &[u16]) -> Self {
        self.errors.extend_from_slice(codes);
        self
    }

    fn streaming(mut self) -> Self {
        self.streaming = true;
        self
    }
}

fn get(path: &'static str, tag: &'static str, summary: &'static str) -> Endpoint {
    Endpoint::new(Method::Get, path, tag, summary)
}
fn post(path: &'static str, tag: &'static str, summary: &'static str) -> Endpoint {
    Endpoint::new(Method::Post, path, tag, summary)
}
fn put(path: &'static str, tag: &'static str, summary: &'static str) -> Endpoint {
    Endpoint::new(Method::Put, path, tag, summary)
}
fn patch(path: &'static str, tag: &'static str, summary: &'static str) -> Endpoint {
    Endpoint::new(Method::Patch, path, tag, summary)
}
fn delete(path: &'static str, tag: &'static str, summary: &'static str) -> Endpoint {
    Endpoint::new(Method::Delete, path, tag, summary)
}

const CAMERA: &str = "The camera's ID.";
const SOURCE: &str = "The audio source's ID.";

/// Every REST route, in the order the API page lists them.
pub fn endpoints() -> Vec<Endpoint> {
    let mut all = Vec::new();
    all.extend(session());
    all.extend(cameras());
    all.extend(audio());
    all.extend(files());
    all.extend(recording());
    all.extend(devices());
    all.extend(admin());
    all.extend(operations());
    all
}

fn session() -> Vec<Endpoint> {
    use api::*;
    let tag = "session";
    vec![
        post(
            "/api/login",
            tag,
            "Sign in as the admin: sets the session cookie",
        )
        .access(Access::Public)
        .body(json::<Login>())
        .ok(200, "Signed in", json::<Ok>())
        .errors(&[400, 401, 415, 429]),
        post(
            "/api/logout",
            tag,
            "Sign out: ends the session cookie's session",
        )
        .access(Access::Public)
        .ok(
            200,
            "Signed out (also when nobody was signed in)",
            json::<Ok>(),
        ),
        post(
            "/api/bootstrap",
            tag,
            "Trade the desktop window's one-time code for a session",
        )
        .access(Access::Public)
        .body(json::<Bootstrap>())
        .ok(200, "Signed in", json::<Ok>())
        .errors(&[400, 403, 415, 429]),
        get("/api/session", tag, "Who the caller is and what it may do")
            .access(Access::SignedIn)
            .ok(200, "The caller", json::<Session>())
            .errors(&[400, 401]),
        get(
            "/api/health",
            tag,
            "Liveness: the relay answers, with a few counts",
        )
        .access(Access::Public)
        .ok(200, "Up", json::<Health>()),
        get("/api/openapi.json", tag, "This document")
            .access(Access::Public)
            .ok(200, "The OpenAPI 3.1 document", Content::AnyObject),
    ]
}

fn cameras() -> Vec<Endpoint> {
    use api::*;
    let tag = "cameras";
    let id = || path("id", Kind::Id, CAMERA);
    vec![
        get("/api/clients", tag, "The cameras the caller may watch")
            .access(Access::View)
            .ok(200, "Cameras", json::<CameraList>())
            .errors(&[400, 401]),
        get(
            "/api/streams",
            tag,
            "The cameras with a summary of each ring",
        )
        .access(Access::View)
        .ok(200, "Cameras and rings", json::<StreamList>())
        .errors(&[400, 401]),
        get("/api/clients/{id}", tag, "One camera")
            .access(Access::View)
            .params([id()])
            .ok(200, "The camera", json::<Camera>())
            .errors(&[400, 401, 403, 404]),
        patch(
            "/api/clients/{id}",
            tag,
            "Rename a camera (null or \"\" restores its publisher's name)",
        )
        .params([id()])
        .body(json::<CameraRename>())
        .ok(200, "The camera, renamed", json::<Camera>())
        .errors(&[400, 401, 403, 404, 413, 415]),
        delete(
            "/api/clients/{id}",
            tag,
            "Remove an offline camera and forget its name",
        )
        .params([id()])
        .ok(200, "Removed", json::<Ok>())
        .errors(&[400, 401, 403, 404, 409]),
        get(
            "/api/clients/{id}/stream",
            tag,
            "The frames in a camera's ring (metadata)",
        )
        .access(Access::View)
        .params([id()])
        .ok(200, "The ring", json::<Ring>())
        .errors(&[400, 401, 403, 404]),
        get(
            "/api/clients/{id}/latest",
            tag,
            "A camera's latest frame (a snapshot)",
        )
        .access(Access::View)
        .params([id()])
        .ok(
            200,
            "The JPEG as the camera sent it",
            Content::Raw("image/jpeg"),
        )
        .errors(&[400, 401, 403, 404, 503]),
        get(
            "/api/clients/{id}/frames/{seq}",
            tag,
            "One frame of a camera's ring by sequence number",
        )
        .access(Access::View)
        .params([
            id(),
            path("seq", Kind::Count, "The frame's sequence number."),
        ])
        .ok(200, "The JPEG", Content::Raw("image/jpeg"))
        .errors(&[400, 401, 403, 404]),
        get(
            "/api/clients/{id}/mjpeg",
            tag,
            "A camera as MJPEG (multipart/x-mixed-replace), latest-wins",
        )
        .access(Access::View)
        .params([
            id(),
            query(
                "fps",
                Kind::Count,
                "At most this many frames a second (1–120).",
            ),
        ])
        .ok(
            200,
            "Frames as they come",
            Content::Raw("multipart/x-mixed-replace"),
        )
        .errors(&[400, 401, 403, 404, 503])
        .streaming(),
    ]
}

fn audio() -> Vec<Endpoint> {
    use api::*;
    let tag = "audio";
    vec![
        get("/api/sources", tag, "The audio sources the caller may hear")
            .access(Access::View)
            .ok(200, "Sources", json::<SourceList>())
            .errors(&[400, 401]),
        get(
            "/api/audio/{id}/live.wav",
            tag,
            "A source live as WAV, in its own format",
        )
        .access(Access::View)
        .params([
            path("id", Kind::Id, SOURCE),
            query(
                "backlogMs",
                Kind::Count,
                "Start this much audio in the past (up to the ring).",
            ),
        ])
        .ok(200, "A WAV of unknown length", Content::Raw("audio/wav"))
        .errors(&[400, 401, 403, 404, 503])
        .streaming(),
        get(
            "/api/webrtc",
            tag,
            "The ICE servers a page's peer connection uses",
        )
        .access(Access::View)
        .ok(200, "ICE servers", json::<WebRtcConfig>())
        .errors(&[400, 401]),
        post(
            "/api/offer",
            tag,
            "A WebRTC offer for a source's Opus track, its audioStream channel, or a library file",
        )
        .access(Access::View)
        .body(json::<WebRtcOffer>())
        .ok(
            200,
            "The answer, with every candidate gathered",
            json::<WebRtcAnswer>(),
        )
        .errors(&[400, 401, 403, 404, 413, 415, 503]),
        post(
            "/api/whep/{id}",
            tag,
            "WHEP: an SDP offer to hear a live source",
        )
        .access(Access::View)
        .params([path("id", Kind::Id, SOURCE)])
        .body(Content::Raw("application/sdp"))
        .ok(
            201,
            "The SDP answer; Location names the session",
            Content::Raw("application/sdp"),
        )
        .errors(&[400, 401, 403, 404, 413, 415, 503]),
        delete("/api/whep/{id}/{session}", tag, "WHEP: end a session")
            .access(Access::View)
            .params([
                path("id", Kind::Id, SOURCE),
                path("session", Kind::Id, "The session, as Location named it."),
            ])
            .empty(200, "Ended")
            .errors(&[400, 401, 403, 404]),
        patch(
            "/api/whep/{id}/{session}",
            tag,
            "WHEP: trickle ICE is not offered (405)",
        )
        .access(Access::View)
        .params([
            path("id", Kind::Id, SOURCE),
            path("session", Kind::Id, "The session, as Location named it."),
        ])
        .errors(&[400, 401, 403, 405]),
    ]
}

fn files() -> Vec<Endpoint> {
    use api::*;
    let tag = "files";
    let id = || path("id", Kind::Id, "The file's ID.");
    vec![
        get(
            "/api/files",
            tag,
            "The audio library files the caller may see, newest first",
        )
        .access(Access::View)
        .ok(200, "Files", json::<FileList>())
        .errors(&[400, 401]),
        get("/api/files/{id}", tag, "One file of the library")
            .access(Access::View)
            .params([id()])
            .ok(200, "The file", json::<AudioFile>())
            .errors(&[400, 401, 404]),
        put(
            "/api/files/{id}",
            tag,
            "Upload a file (WAV, FLAC, MP3, Ogg); the path's last segment is its name",
        )
        .params([path(
            "id",
            Kind::Text,
            "The file's name (sanitised into its ID).",
        )])
        .body(Content::Raw("application/octet-stream"))
        .ok(201, "Added", json::<AudioFile>())
        .ok(200, "Replaced a file of the same name", json::<AudioFile>())
        .errors(&[400, 401, 403, 408, 413, 415, 507]),
        delete("/api/files/{id}", tag, "Delete a file")
            .params([id()])
            .ok(200, "Deleted", json::<AudioFile>())
            .errors(&[400, 401, 403, 404]),
    ]
}

fn recording() -> Vec<Endpoint> {
    use api::*;
    let tag = "recording";
    let page = || {
        [
            query("from", Kind::Count, "From this time (Unix ms)."),
            query("to", Kind::Count, "Up to this time (Unix ms)."),
            query("offset", Kind::Count, "Skip this many."),
            query("limit", Kind::Count, "At most this many (1–1000; 100)."),
        ]
    };
    let seg = || {
        path(
            "id",
            Kind::RecordingId,
            "The recording's ID (source.kind.startms).",
        )
    };
    let event = || {
        path(
            "id",
            Kind::EventId,
            "The motion event's ID (source.startms).",
        )
    };
    vec![
        get(
            "/api/recorders",
            tag,
            "What records now, disk use per source and the free space",
        )
        .access(Access::View)
        .ok(200, "Recorders", json::<RecorderList>())
        .errors(&[400, 401]),
        post(
            "/api/recorders",
            tag,
            "Start recording a camera or an audio source",
        )
        .body(json::<NewRecorder>())
        .ok(201, "Started", json::<Ok>())
        .ok(200, "It was recording already, the same way", json::<Ok>())
        .errors(&[400, 401, 403, 404, 409, 413, 415, 507]),
        delete(
            "/api/recorders/{id}",
            tag,
            "Stop the recorders of a camera or source",
        )
        .params([path("id", Kind::Id, "The camera or audio source.")])
        .ok(200, "Stopped", json::<Ok>())
        .errors(&[400, 401, 403, 404]),
        get(
            "/api/recordings",
            tag,
            "A page of recorded segments, oldest first",
        )
        .access(Access::View)
        .params([
            query("source", Kind::Id, "Only this camera or source."),
            query(
                "motion",
                Kind::Flag,
                "Only segments with (true) or without (false) motion.",
            ),
        ])
        .params(page())
        .ok(200, "Segments", json::<RecordingList>())
        .errors(&[400, 401, 403]),
        get(
            "/api/recordings/clip",
            tag,
            "One file of any stretch of a source, across segments",
        )
        .access(Access::View)
        .params([
            required("source", Kind::Id, "The camera or audio source."),
            required(
                "kind",
                Kind::OneOf(&["camera", "audio"]),
                "Which recording of it.",
            ),
            required("from", Kind::Count, "From (Unix ms)."),
            required("to", Kind::Count, "To (Unix ms), at most a day after from."),
        ])
        .ok(
            200,
            "Matroska (camera) or WAV (audio)",
            Content::Raw("application/octet-stream"),
        )
        .errors(&[400, 401, 403, 404, 507]),
        get(
            "/api/recordings/{id}",
            tag,
            "Download a segment (Range supported), or ?from&to a stretch of it",
        )
        .access(Access::View)
        .params([
            seg(),
            query("from", Kind::Count, "Cut from (ms into the segment)."),
            query("to", Kind::Count, "Cut to (ms into the segment)."),
        ])
        .ok(200, "The segment", Content::Raw("application/octet-stream"))
        .ok(
            206,
            "The range asked for",
            Content::Raw("application/octet-stream"),
        )
        .errors(&[400, 401, 403, 404, 416]),
        get(
            "/api/recordings/{id}/frame",
            tag,
            "The camera frame recorded at a time",
        )
        .access(Access::View)
        .params([
            seg(),
            query("t", Kind::Count, "Milliseconds into the segment."),
        ])
        .ok(200, "The JPEG", Content::Raw("image/jpeg"))
        .errors(&[400, 401, 403, 404]),
        delete(
            "/api/recordings/{id}",
            tag,
            "Delete a segment (not one still being written)",
        )
        .params([seg()])
        .ok(200, "Deleted", json::<RecordingInfo>())
        .errors(&[400, 401, 403, 404, 409]),
        get("/api/motion", tag, "Motion events, oldest first")
            .access(Access::View)
            .params([query("source", Kind::Id, "Only this camera.")])
            .params(page())
            .ok(200, "Events", json::<MotionEventList>())
            .errors(&[400, 401, 403]),
        get("/api/motion/{id}", tag, "One motion event")
            .access(Access::View)
            .params([event()])
            .ok(200, "The event", json::<MotionEvent>())
            .errors(&[400, 401, 403, 404]),
        get(
            "/api/motion/{id}/thumbnail",
            tag,
            "A motion event's thumbnail",
        )
        .access(Access::View)
        .params([event()])
        .ok(200, "The JPEG", Content::Raw("image/jpeg"))
        .errors(&[400, 401, 403, 404]),
    ]
}

fn devices() -> Vec<Endpoint> {
    use api::*;
    let tag = "devices";
    let id = || path("id", Kind::Id, "The device's ID.");
    vec![
        get(
            "/api/devices",
            tag,
            "Registered devkits, their sessions and where boards connect",
        )
        .access(Access::Pairing)
        .ok(200, "Devices", json::<DeviceList>())
        .errors(&[400, 401]),
        post(
            "/api/devices",
            tag,
            "Register a devkit (or re-pair a known board): its token, once",
        )
        .access(Access::Pairing)
        .body(json::<NewDevice>())
        .ok(201, "Registered", json::<CreatedDevice>())
        .ok(
            200,
            "A known board, paired again with a new token",
            json::<CreatedDevice>(),
        )
        .errors(&[400, 401, 403, 409, 413, 415, 429]),
        get("/api/devices/{id}", tag, "One devkit")
            .access(Access::Pairing)
            .params([id()])
            .ok(200, "The device", json::<Device>())
            .errors(&[400, 401, 403, 404]),
        delete(
            "/api/devices/{id}",
            tag,
            "Revoke a devkit: its token and session end",
        )
        .access(Access::Pairing)
        .params([id()])
        .ok(200, "Revoked", json::<RevokedDevice>())
        .errors(&[400, 401, 403, 404]),
        post(
            "/api/devices/{id}/commands",
            tag,
            "Send a devkit a command and wait for its ack",
        )
        .params([id()])
        .body(json::<NewCommand>())
        .ok(200, "The device's ack, with deviceId", Content::AnyObject)
        .errors(&[400, 401, 403, 404, 409, 413, 415, 422, 504]),
        post(
            "/api/pairing/phone",
            tag,
            "Open the phone pairing's HTTPS listener and its pass",
        )
        .ok(201, "Opened", json::<PhonePairing>())
        .errors(&[401, 403, 409, 503]),
        get(
            "/api/pairing/phone",
            tag,
            "The phone pairing's progress (long poll with since)",
        )
        .params([query(
            "since",
            Kind::Count,
            "Answer once the revision is past this (25 s at most).",
        )])
        .ok(200, "Where it stands", json::<PhonePairing>())
        .errors(&[400, 401, 403, 404]),
        delete("/api/pairing/phone", tag, "Close the phone pairing")
            .empty(204, "Closed (or none was open)")
            .errors(&[401, 403]),
        put(
            "/api/pairing/phone/progress",
            tag,
            "The phone's pairing page reports its steps",
        )
        .access(Access::Pairing)
        .body(json::<PhoneProgress>())
        .empty(204, "Noted")
        .errors(&[400, 401, 403, 404, 409, 413, 415]),
    ]
}

fn admin() -> Vec<Endpoint> {
    use api::*;
    let tag = "admin";
    vec![
        get("/api/tokens", tag, "Every API token (never its secret)")
            .ok(200, "Tokens", json::<TokenList>())
            .errors(&[401, 403]),
        post("/api/tokens", tag, "Make a token: its secret, once")
            .body(json::<NewToken>())
            .ok(201, "Made", json::<CreatedToken>())
            .errors(&[400, 401, 403, 413, 415]),
        delete(
            "/api/tokens/{id}",
            tag,
            "Revoke a token: what it has open closes (in a cluster, on every node; 503 while NATS cannot acknowledge it)",
        )
        .params([path("id", Kind::Text, "The token's ID.")])
        .ok(200, "Revoked", json::<RevokedToken>())
        .errors(&[400, 401, 403, 404, 503]),
        get(
            "/api/settings",
            tag,
            "The settings, what the relay runs with, and what waits for a restart",
        )
        .ok(200, "Settings", json::<settings::SettingsView>())
        .errors(&[401, 403]),
        put(
            "/api/settings",
            tag,
            "Change settings: any subset of Settings' keys",
        )
        .body(Content::AnyObject)
        .ok(200, "Settings, changed", json::<settings::SettingsView>())
        .errors(&[400, 401, 403, 413, 415]),
        post(
            "/api/password",
            tag,
            "Change the admin password (the current one is asked again)",
        )
        .body(json::<settings::PasswordChange>())
        .ok(200, "Changed", json::<Ok>())
        .errors(&[400, 401, 403, 413, 415, 429]),
        get(
            "/api/capture/devices",
            tag,
            "This computer's cameras and microphones",
        )
        .ok(
            200,
            "Devices, or why there are none",
            json::<CaptureDevices>(),
        )
        .errors(&[401, 403]),
    ]
}

fn operations() -> Vec<Endpoint> {
    use api::*;
    let tag = "operations";
    vec![
        get("/metrics", tag, "Prometheus metrics (text format 0.0.4)")
            .access(Access::Metrics)
            .ok(200, "The scrape", Content::Raw("text/plain"))
            .errors(&[401, 403]),
        get(
            "/api/status/history",
            tag,
            "The last 15 minutes of the counters, for the Status page",
        )
        .access(Access::Metrics)
        .params([query(
            "since",
            Kind::Count,
            "Only samples after this time (Unix ms).",
        )])
        .ok(200, "Samples", json::<StatusHistory>())
        .errors(&[400, 401, 403]),
    ]
}

fn param_schema(kind: Kind) -> Value {
    match kind {
        Kind::Id => json!({"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"}),
        Kind::Text => json!({"type": "string", "minLength": 1}),
        Kind::Count => json!({"type": "integer", "minimum": 0, "maximum": u64::MAX}),
        Kind::RecordingId => {
            json!({"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}\\.(camera|audio)\\.[0-9]{1,20}$"})
        }
        Kind::EventId => {
            json!({"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}\\.[0-9]{1,20}$"})
        }
        Kind::Flag => json!({"type": "boolean"}),
        Kind::OneOf(words) => json!({"type": "string", "enum": words}),
    }
}

fn content(body: Content, components: &mut Vec<(String, RefOr<Schema>)>) -> Value {
    match body {
        Content::Json(f) => json!({"application/json": {"schema": f(components)}}),
        Content::AnyObject => json!({"application/json": {"schema": {"type": "object"}}}),
        Content::Raw(mime) => {
            json!({ mime: {"schema": {"type": "string", "contentMediaType": mime, "minLength": 1}} })
        }
    }
}

fn status_text(code: u16) -> &'static str {
    match code {
        400 => {
            "Bad request: a parameter, ID or body the relay cannot take (the message says which)"
        }
        401 => "No valid credential, or a wrong password",
        403 => "The credential may not do this, or not for this ID",
        404 => "No such camera, source, device, file or recording",
        405 => "Not offered here",
        408 => "The body stopped arriving",
        409 => "In a state that does not allow it",
        413 => "The body is too large",
        415 => "The body's media type is not the one this route takes",
        416 => "The range is outside the file",
        422 => "The device refused the command",
        429 => "Too many attempts, or a credential's quota is used up",
        503 => "Not available now (no frame or audio yet, WebRTC full)",
        504 => "The device did not answer in time",
        507 => "The disk is full",
        _ => "An error",
    }
}

fn operation(e: &Endpoint, components: &mut Vec<(String, RefOr<Schema>)>) -> Value {
    let mut responses = Map::new();
    for r in &e.replies {
        let mut reply = json!({"description": r.about});
        if let Some(body) = r.body {
            reply["content"] = content(body, components);
        }
        responses.insert(r.status.to_string(), reply);
    }
    let error = content(json::<api::ApiErrorBody>(), components);
    // Any request can be malformed (a parameter given twice, a bad percent-encoding,
    // two credentials at once), and any credential can be missing or short of rights.
    let mut codes = vec![400];
    if e.access != Access::Public {
        codes.extend([401, 403]);
    }
    codes.extend(e.errors.iter().copied());
    codes.sort_unstable();
    codes.dedup();
    for code in &codes {
        responses.insert(
            code.to_string(),
            json!({"description": status_text(*code), "content": error}),
        );
    }
    let params: Vec<Value> = e
        .params
        .iter()
        .map(|p| {
            json!({
                "name": p.name,
                "in": match p.place { In::Path => "path", In::Query => "query", In::Header => "header" },
                "required": p.required,
                "description": p.about,
                "schema": param_schema(p.kind),
            })
        })
        .collect();
    let mut op = json!({
        "tags": [e.tag],
        "summary": e.summary,
        "description": e.access.about(),
        "operationId": operation_id(e),
        "x-relaydeck-access": e.access.as_str(),
        "responses": responses,
    });
    if !params.is_empty() {
        op["parameters"] = Value::Array(params);
    }
    if let Some(body) = e.body {
        op["requestBody"] = json!({"required": true, "content": content(body, components)});
    }
    if e.streaming {
        op["x-relaydeck-streaming"] = json!(true);
    }
    // The token as a Bearer token is the API's way; Basic, `?token=` and the
    // session cookie work on every route too (they are described with the
    // schemes), but a request carries exactly one of them.
    op["security"] = match e.access {
        Access::Public => json!([]),
        _ => json!([{"bearer": []}]),
    };
    op
}

/// `getApiClientsId`-style IDs: unique per method and path.
fn operation_id(e: &Endpoint) -> String {
    let mut id = e.method.key().to_owned();
    for part in e.path.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut chars = part.chars();
        if let Some(first) = chars.next() {
            id.push(first.to_ascii_uppercase());
            id.extend(chars);
        }
    }
    id
}

/// The OpenAPI 3.1 document of [`endpoints`].
pub fn openapi(version: &str) -> Value {
    let mut components = Vec::new();
    let mut paths = Map::new();
    for e in endpoints() {
        let op = operation(&e, &mut components);
        let item = paths.entry(e.path).or_insert_with(|| json!({}));
        item[e.method.key()] = op;
    }
    let mut schemas = Map::new();
    for (name, schema) in components {
        schemas
            .entry(name)
            .or_insert_with(|| serde_json::to_value(schema).expect("a schema serialises"));
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Relay Deck",
            "version": version,
            "description": "The relay's REST API. Errors are always {\"error\":{\"code\",\"message\"}}. Operations name the Bearer token; every route also takes the other schemes described in components (HTTP Basic with the token as the password, ?token=TOKEN, the admin's session cookie), but a request carries exactly one credential (two are 400 conflicting_credentials). WebSocket routes and wire formats: docs/PROTOCOL.md.",
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "tags": [
            {"name": "session", "description": "Signing in, who am I, health"},
            {"name": "cameras", "description": "Cameras, their rings, snapshots and MJPEG"},
            {"name": "audio", "description": "Audio sources, live WAV, WebRTC and WHEP"},
            {"name": "files", "description": "The audio library"},
            {"name": "recording", "description": "Recorders, recordings and motion events"},
            {"name": "devices", "description": "Devkits and pairing"},
            {"name": "admin", "description": "Tokens, settings, the password, this computer's devices"},
            {"name": "operations", "description": "Metrics and the Status page's history"},
        ],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "An API token."},
                "basic": {"type": "http", "scheme": "basic", "description": "Any user name, the token as the password (as VLC and µStreamer clients send)."},
                "token": {"type": "apiKey", "in": "query", "name": "token", "description": "The token as ?token= (share links)."},
                "session": {"type": "apiKey", "in": "cookie", "name": "relaydeck_session", "description": "The admin's session, from POST /api/login."},
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_is_one_operation_with_its_own_id() {
        let all = endpoints();
        let mut seen = std::collections::BTreeSet::new();
        for e in &all {
            assert!(
                seen.insert((e.method.as_str(), e.path)),
                "{} {} twice",
                e.method.as_str(),
                e.path
            );
        }
        let ids: std::collections::BTreeSet<_> = all.iter().map(operation_id).collect();
        assert_eq!(ids.len(), all.len(), "operation IDs are unique");
    }

    #[test]
    fn every_path_parameter_is_declared_and_every_declared_one_is_in_the_path() {
        for e in endpoints() {
            let in_path: Vec<&str> = e
                .path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            let declared: Vec<&str> = e
                .params
                .iter()
                .filter(|p| p.place == In::Path)
                .map(|p| p.name)
                .collect();
            assert_eq!(in_path, declared, "{} {}", e.method.as_str(), e.path);
        }
    }

    #[test]
    fn every_reference_in_the_document_resolves() {
        let doc = openapi("0.0.0");
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let mut refs = 0;
        for part in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = &part[..part.find('"').unwrap()];
            assert!(
                schemas.contains_key(name),
                "{name} is referenced but not defined"
            );
            refs += 1;
        }
        assert!(refs > 40, "the bodies are references ({refs})");
        assert_eq!(doc["openapi"], "3.1.0");
        assert!(schemas.contains_key("ApiErrorBody"));
        assert!(schemas.contains_key("Settings"), "nested types come along");
    }

    #[test]
    fn public_routes_need_no_credential_and_the_rest_take_a_bearer_token() {
        let doc = openapi("0.0.0");
        assert_eq!(doc["paths"]["/api/health"]["get"]["security"], json!([]));
        assert_eq!(
            doc["paths"]["/api/tokens"]["get"]["security"],
            json!([{"bearer": []}])
        );
        let schemes = doc["components"]["securitySchemes"].as_object().unwrap();
        assert_eq!(
            schemes.len(),
            4,
            "every way a credential travels is described"
        );
        let replies = doc["paths"]["/api/tokens"]["get"]["responses"]
            .as_object()
            .unwrap();
        for code in ["400", "401", "403"] {
            assert!(replies.contains_key(code), "{code} on every guarded route");
        }
        assert_eq!(
            doc["paths"]["/api/tokens"]["get"]["x-relaydeck-access"],
            "admin"
        );
    }
}
