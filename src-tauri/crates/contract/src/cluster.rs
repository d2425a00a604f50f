//! The cluster's wire: what Relay Deck nodes say to each other over NATS.
//!
//! Media travels on NATS core subjects, one per stream, as the bytes the
//! publisher sent (a JPEG, a PCM chunk) with a few headers: no base64, no
//! envelope. Presence, leases and credentials live in JetStream key-value
//! buckets. `docs/PROTOCOL.md` ("Between nodes") is the prose of this module.
//!
//! Names: a cluster and a node are `[A-Za-z0-9_-]{1,32}`, stream IDs are the
//! relay's usual `[A-Za-z0-9_-]{1,64}`: every one of them is a valid NATS
//! subject token and key-value key as it stands, so nothing is escaped.

use serde::{Deserialize, Serialize};

/// Version segment of every subject; a node of another version ignores them.
pub const VERSION: &str = "v1";

/// Header: the origin's sequence number of this frame or chunk (decimal).
pub const HDR_SEQ: &str = "Relaydeck-Seq";
/// Header: when the origin received it, µs since the Unix epoch (decimal).
pub const HDR_CAPTURED_US: &str = "Relaydeck-Captured-Us";
/// Header: the payload's format: `image/jpeg`, or
/// `audio/pcm;rate=R;channels=C;encoding=E` (E: `s16le`, `s24le`, `f32le`…).
pub const HDR_FORMAT: &str = "Relaydeck-Format";
/// Header: the node that published it.
pub const HDR_NODE: &str = "Relaydeck-Node";
/// Header, only on a frame split across messages: `INDEX/COUNT` (1-based)
/// and, on every part, the whole frame's length in [`HDR_TOTAL`].
pub const HDR_PART: &str = "Relaydeck-Part";
/// Header on split frames: the whole frame's length in bytes.
pub const HDR_TOTAL: &str = "Relaydeck-Total";
/// Header on a want: how long the interest holds without renewal (ms).
pub const HDR_TTL_MS: &str = "Relaydeck-Ttl-Ms";

/// What a subject carries: a camera's frames or an audio source's chunks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaKind {
    Video,
    Audio,
}

impl MediaKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Video => "video",
            Self::Audio => "audio",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "video" => Some(Self::Video),
            "audio" => Some(Self::Audio),
            _ => None,
        }
    }
}

/// The subjects of one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subjects {
    cluster: String,
}

impl Subjects {
    pub fn new(cluster: &str) -> Self {
        Self {
            cluster: cluster.to_owned(),
        }
    }

    fn root(&self) -> String {
        format!("relaydeck.{VERSION}.{}", self.cluster)
    }

    /// `relaydeck.v1.CLUSTER.video.ID` / `.audio.ID`: the stream's media,
    /// published by the node that holds it while anyone is interested.
    pub fn media(&self, kind: MediaKind, id: &str) -> String {
        format!("{}.{}.{id}", self.root(), kind.as_str())
    }

    /// `relaydeck.v1.CLUSTER.want.KIND.ID`: a node's interest in a stream,
    /// renewed every second while it has a local viewer or listener (the
    /// payload is the node's name).
    pub fn want(&self, kind: MediaKind, id: &str) -> String {
        format!("{}.want.{}.{id}", self.root(), kind.as_str())
    }

    /// Every want of the cluster (what a publishing node subscribes to).
    pub fn want_all(&self) -> String {
        format!("{}.want.>", self.root())
    }

    /// Parses a want subject back into its kind and stream ID.
    pub fn parse_want<'a>(&self, subject: &'a str) -> Option<(MediaKind, &'a str)> {
        let prefix = format!("{}.want.", self.root());
        let rest = subject.strip_prefix(prefix.as_str())?;
        let (kind, id) = rest.split_once('.')?;
        Some((MediaKind::parse(kind)?, id))
    }

    /// `relaydeck.v1.CLUSTER.devkit.ID.command`: a device command, answered
    /// by the node that holds the devkit's session (request/reply).
    pub fn devkit_command(&self, device: &str) -> String {
        format!("{}.devkit.{device}.command", self.root())
    }

    /// Every devkit command (what each node subscribes to, answering only
    /// for the sessions it holds).
    pub fn devkit_command_all(&self) -> String {
        format!("{}.devkit.*.command", self.root())
    }
}

/// The key-value buckets of one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buckets {
    /// `relaydeck_CLUSTER_presence`: `NODE.node`, `NODE.video.ID`,
    /// `NODE.audio.ID`, `NODE.devkit.ID` → [`PresenceEntry`]; entries expire
    /// unless renewed (heartbeat).
    pub presence: String,
    /// `relaydeck_CLUSTER_leases`: `video.ID`, `audio.ID`, `devkit.ID` →
    /// [`Lease`]: which node's publisher of an ID is the current one.
    pub leases: String,
    /// `relaydeck_CLUSTER_auth`: `admin.password`, `admin.cookieKey`,
    /// `token.ID` → the credential records (3 replicas).
    pub auth: String,
}

impl Buckets {
    pub fn new(cluster: &str) -> Self {
        Self {
            presence: format!("relaydeck_{cluster}_presence"),
            leases: format!("relaydeck_{cluster}_leases"),
            auth: format!("relaydeck_{cluster}_auth"),
        }
    }
}

/// A presence key's parts: `NODE.KIND.ID` (KIND `node` has no ID).
pub fn presence_key(node: &str, kind: &str, id: Option<&str>) -> String {
    match id {
        Some(id) => format!("{node}.{kind}.{id}"),
        None => format!("{node}.{kind}"),
    }
}

/// One thing live on one node, as the presence bucket holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceEntry {
    /// The node that holds it.
    pub node: String,
    /// `node`, `video`, `audio` or `devkit`.
    pub kind: String,
    /// The stream or device ID (`None` for a node's own entry).
    pub id: Option<String>,
    /// The publisher's name for it.
    pub name: Option<String>,
    /// `image/jpeg`, or the PCM format as in [`HDR_FORMAT`].
    pub format: Option<String>,
    /// For a node: the URL its web UI and API answer on.
    pub url: Option<String>,
    /// When the node wrote this entry (Unix ms); a reader treats an entry not
    /// renewed for three heartbeats as gone.
    pub updated_ms: u64,
    /// The heartbeat period the writer keeps (ms).
    pub heartbeat_ms: u64,
    /// Frames or chunks published so far, and viewers/listeners on its node.
    pub frames: u64,
    pub bytes: u64,
    pub viewers: u32,
}

/// The current holder of an ID cluster-wide: the newest publisher wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Lease {
    pub node: String,
    /// When that node's publisher started (Unix ms).
    pub since_ms: u64,
}

/// Builds the audio format header: `audio/pcm;rate=R;channels=C;encoding=E`.
pub fn audio_format_header(rate: u32, channels: u16, encoding: &str) -> String {
    format!("audio/pcm;rate={rate};channels={channels};encoding={encoding}")
}

/// Parses [`audio_format_header`]'s form back; `None` if it is not one.
pub fn parse_audio_format_header(s: &str) -> Option<(u32, u16, String)> {
    let params = s.strip_prefix("audio/pcm;")?;
    let (mut rate, mut channels, mut encoding) = (None, None, None);
    for p in params.split(';') {
        match p.split_once('=')? {
            ("rate", v) => rate = v.parse().ok(),
            ("channels", v) => channels = v.parse().ok(),
            ("encoding", v) => encoding = Some(v.to_owned()),
            _ => {}
        }
    }
    Some((rate?, channels?, encoding?))
}

/// A cluster or node name: `[A-Za-z0-9_-]{1,32}`.
pub fn valid_name(s: &str) -> bool {
    (1..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_the_documented_ones() {
        let s = Subjects::new("home");
        assert_eq!(
            s.media(MediaKind::Video, "cam1"),
            "relaydeck.v1.home.video.cam1"
        );
        assert_eq!(
            s.media(MediaKind::Audio, "kit-7"),
            "relaydeck.v1.home.audio.kit-7"
        );
        assert_eq!(
            s.want(MediaKind::Video, "cam1"),
            "relaydeck.v1.home.want.video.cam1"
        );
        assert_eq!(s.want_all(), "relaydeck.v1.home.want.>");
        assert_eq!(
            s.parse_want("relaydeck.v1.home.want.audio.kit-7"),
            Some((MediaKind::Audio, "kit-7"))
        );
        assert_eq!(s.parse_want("relaydeck.v1.other.want.audio.kit-7"), None);
        assert_eq!(s.parse_want("relaydeck.v1.home.want.text.x"), None);
        assert_eq!(
            s.devkit_command("kit-7"),
            "relaydeck.v1.home.devkit.kit-7.command"
        );
        let b = Buckets::new("home");
        assert_eq!(b.presence, "relaydeck_home_presence");
        assert_eq!(presence_key("n1", "video", Some("cam1")), "n1.video.cam1");
        assert_eq!(presence_key("n1", "node", None), "n1.node");
    }

    #[test]
    fn audio_format_round_trips() {
        let h = audio_format_header(48000, 2, "s16le");
        assert_eq!(h, "audio/pcm;rate=48000;channels=2;encoding=s16le");
        assert_eq!(
            parse_audio_format_header(&h),
            Some((48000, 2, "s16le".to_owned()))
        );
        assert_eq!(parse_audio_format_header("image/jpeg"), None);
        assert_eq!(
            parse_audio_format_header("audio/pcm;rate=x;channels=1;encoding=a"),
            None
        );
    }

    #[test]
    fn names_are_subject_tokens() {
        assert!(valid_name("node-1_a"));
        for bad in ["", "a.b", "a b", "a*", "a>", &"x".repeat(33)] {
            assert!(!valid_name(bad), "{bad:?}");
        }
    }
}
