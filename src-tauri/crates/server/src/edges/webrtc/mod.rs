//! Live audio to a browser over WebRTC (webrtc-rs), with non-trickle HTTP
//! signalling: the offer in, the answer with every candidate gathered (at
//! most 3 s) out. Two doors to the same peers:
//!
//! * `POST /api/offer` (JSON, the app's own pages), and
//! * [`whep`]: `POST /api/whep/{source}` (`application/sdp`), so any WHEP
//!   player listens.
//!
//! What a peer plays depends on its offer. An audio section gets an Opus
//! track ([`opus_track`]) fed by the source's one shared encoder
//! ([`opus_feed`], [`opus_encode`]); a DataChannel named `audioStream`
//! gets the source's PCM exactly as `/audio/ws` sends it ([`audio_channel`]).
//! Both subscribe from the hub like any listener; the edge never talks to
//! another edge. An offer naming a `file` of the audio library instead gets
//! it on a DataChannel named `fileStream` ([`file_channel`]).
//!
//! A peer lives until its connection fails or closes, a newer offer takes
//! its `clientId`, its credential is revoked, the relay stops — or, if it
//! never reaches `connected`, `--webrtc-connect-timeout` (30 s) after the
//! answer. [`peers::PeerTable`] holds the limits (32 per IP, 256 in all).

pub mod audio_channel;
pub mod file_channel;
pub mod opus_encode;
pub mod opus_feed;
pub mod opus_track;
pub mod peers;
pub mod sdp;
pub mod whep;

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use axum::{
    extract::{ConnectInfo, FromRef, State},
    routing::{get, post},
    Json, Router,
};
use relaydeck_contract::{
    api::{SessionDescription, WebRtcAnswer, WebRtcConfig, WebRtcOffer},
    file_channel::FileMode,
    settings::IceServer,
};
use relaydeck_hub::{AudioSource, StreamId};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use webrtc::{
    data_channel::DataChannel,
    peer_connection::{
        PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCConfigurationBuilder,
        RTCIceGatheringState, RTCIceServer, RTCPeerConnectionState, SettingEngineBuilder,
    },
};

use crate::{
    auth::Access,
    body::JsonBody,
    error::ApiError,
    state::{AppState, MediaState},
    store::settings::SettingsHandle,
    streams::find_audio_source,
};
use file_channel::FilePlay;
use opus_feed::OpusFeeds;
use opus_track::OpusTrack;
use peers::{PeerSlot, PeerTable};

/// How long the answer waits for ICE gathering.
const GATHERING: Duration = Duration::from_secs(3);

/// What the edge keeps across requests.
#[derive(Default)]
pub struct WebRtcShared {
    /// Every peer, for the limits and `clientId`s.
    pub peers: Arc<PeerTable>,
    /// One Opus encoder per source with WebRTC listeners.
    pub opus: OpusFeeds,
    /// WHEP sessions by their resource URL's ID.
    pub whep: whep::WhepSessions,
}

/// What the WebRTC edge uses.
#[derive(Clone)]
pub struct WebRtcState {
    pub media: MediaState,
    pub shared: Arc<WebRtcShared>,
    /// For the `iceServers` setting, read for every new peer.
    pub settings: SettingsHandle,
    /// The files an offer may name.
    pub files: crate::state::FilesState,
}

impl FromRef<AppState> for WebRtcState {
    fn from_ref(s: &AppState) -> Self {
        Self {
            media: MediaState::from_ref(s),
            shared: s.webrtc.clone(),
            settings: s.settings.clone(),
            files: crate::state::FilesState::from_ref(s),
        }
    }
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/offer", post(offer))
        .route("/webrtc", get(page_config))
        .merge(whep::router())
}

/// `GET /api/webrtc`: the ICE servers a page gives its own peer.
async fn page_config(State(state): State<WebRtcState>) -> Json<WebRtcConfig> {
    Json(WebRtcConfig {
        ice_servers: state.settings.get().ice_servers,
    })
}

/// The `iceServers` setting as webrtc-rs takes it.
fn ice_servers(servers: &[IceServer]) -> Vec<RTCIceServer> {
    servers
        .iter()
        .map(|s| RTCIceServer {
            urls: s.urls.clone(),
            username: s.username.clone().unwrap_or_default(),
            credential: s.credential.clone().unwrap_or_default(),
        })
        .collect()
}

async fn offer(
    State(state): State<WebRtcState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    access: Access,
    JsonBody(req): JsonBody<WebRtcOffer>,
) -> Result<Json<WebRtcAnswer>, ApiError> {
    let (plays, client) = what_to_play(&state, &access, &req)?;
    let offer = sdp::check_offer(&req.offer.kind, &req.offer.sdp)?;
    if let Plays::File(_) = plays {
        check_file_offer(&offer)?;
    }
    let opened = open_peer(
        &state,
        PeerRequest {
            plays,
            client: client.to_string(),
            ip: peer.ip(),
            offer,
            ended: access.ended.clone(),
        },
    )
    .await?;
    Ok(Json(WebRtcAnswer {
        answer: opened.answer,
    }))
}

/// What a peer plays: a live source, or a file of the library.
#[derive(Clone)]
enum Plays {
    Live(Arc<AudioSource>),
    File(Box<FilePlay>),
}

impl Plays {
    fn name(&self) -> &str {
        match self {
            Plays::Live(source) => source.id().as_str(),
            Plays::File(play) => &play.file.id,
        }
    }
}

/// A new peer: what it plays, for whom, from where.
struct PeerRequest {
    plays: Plays,
    /// The listener ID its place in the [`PeerTable`] is held under.
    client: String,
    ip: IpAddr,
    offer: sdp::Offer,
    /// The caller's credential ending (revoked, expired, the relay stopping).
    ended: CancellationToken,
}

/// A peer that answered.
struct OpenedPeer {
    answer: SessionDescription,
    /// Ends the peer (WHEP's `DELETE`).
    hangup: CancellationToken,
}

/// Admits, builds and answers a peer, then leaves it to its own task.
async fn open_peer(state: &WebRtcState, req: PeerRequest) -> Result<OpenedPeer, ApiError> {
    let config = &state.media.config;
    let slot = state.shared.peers.admit(
        req.ip,
        &req.client,
        config.webrtc_max_peers,
        config.webrtc_max_peers_per_ip,
    )?;
    let (events, signals) = PeerEvents::new();
    let ice = state.settings.get().ice_servers;
    let pc = build_peer(config, &ice, req.offer.audio, events).await?;
    let (answer, opus) = match negotiate(&pc, &req, signals.gathered.clone()).await {
        Ok(done) => done,
        Err(e) => {
            let _ = pc.close().await;
            return Err(e);
        }
    };
    tracing::info!(
        plays = %req.plays.name(),
        client = %req.client,
        peer = %req.ip,
        opus = opus.is_some(),
        "WebRTC listener"
    );
    let hangup = CancellationToken::new();
    let life = PeerLife {
        pc,
        signals,
        slot,
        meter: state.media.meters.open(crate::metrics::Transport::WebRtc),
        feed: opus.map(|track| (track, state.shared.clone())),
        plays: req.plays,
        ended: req.ended,
        hangup: hangup.clone(),
        shutdown: state.media.shutdown.clone(),
        connect_timeout: config.webrtc_connect_timeout,
        stats_every: config.audio_stats_interval,
    };
    state.media.tasks.spawn(life.run());
    Ok(OpenedPeer { answer, hangup })
}

/// The Opus track (when the offer has audio), the offer applied, the answer.
async fn negotiate(
    pc: &impl PeerConnection,
    req: &PeerRequest,
    gathered: watch::Receiver<bool>,
) -> Result<(SessionDescription, Option<OpusTrack>), ApiError> {
    let opus = match (&req.plays, req.offer.audio) {
        (Plays::Live(source), true) => Some(
            OpusTrack::add_to(pc, source.id().as_str())
                .await
                .map_err(|e| ApiError::Internal(format!("WebRTC: no Opus track: {e}")))?,
        ),
        _ => None,
    };
    pc.set_remote_description(req.offer.description.clone())
        .await
        .map_err(|e| ApiError::BadSdp(format!("the offer cannot be answered: {e}")))?;
    Ok((answer(pc, gathered).await?, opus))
}

/// What the offer asks for, checked against the caller, and its `clientId`.
fn what_to_play(
    state: &WebRtcState,
    access: &Access,
    req: &WebRtcOffer,
) -> Result<(Plays, StreamId), ApiError> {
    let client = StreamId::new(&req.client_id).map_err(|e| ApiError::InvalidId {
        what: "clientId".into(),
        id: req.client_id.clone(),
        why: e.to_string(),
    })?;
    if req.mode.is_some() && req.file.is_none() {
        return Err(ApiError::BadRequest(
            "\"mode\" is for files; a live source plays as it is".into(),
        ));
    }
    let plays = match (req.source.as_deref(), req.file.as_deref()) {
        (Some(_), Some(_)) => {
            return Err(ApiError::BadRequest(
                "name a live source (\"source\") or a file (\"file\"), not both".into(),
            ))
        }
        (None, None) => {
            return Err(ApiError::BadRequest(
                "name the live source (\"source\") or the file (\"file\") to play".into(),
            ))
        }
        (Some(id), None) => {
            // The body's ID goes through the same policy as a path's.
            access.view(id)?;
            let source = find_audio_source(&state.media, id)
                .map_err(|_| ApiError::UnknownSource(id.into()))?;
            Plays::Live(source)
        }
        (None, Some(id)) => {
            // library::visible is the policy for files (uploads need a grant of
            // their ID, recordings a right to their source).
            let found = crate::api::files::find(&state.files, access, id)?;
            let mode = req.mode.unwrap_or_default();
            let (path, offset) = match mode {
                FileMode::Pcm => (found.pcm, found.pcm_offset),
                FileMode::Bytes => (found.original, 0),
            };
            Plays::File(Box::new(FilePlay {
                file: found.file,
                mode,
                path,
                offset,
                encoding: found.encoding,
            }))
        }
    };
    Ok((plays, client))
}

/// A file plays on its DataChannel only.
fn check_file_offer(offer: &sdp::Offer) -> Result<(), ApiError> {
    match (offer.audio, offer.data) {
        (_, false) => Err(ApiError::BadSdp(
            "a file plays on a DataChannel (fileStream); the offer has none".into(),
        )),
        (true, _) => Err(ApiError::BadSdp(
            "a file plays on its DataChannel, not an audio track; offer the DataChannel alone"
                .into(),
        )),
        (false, true) => Ok(()),
    }
}

/// The peer: the `iceServers` setting, mDNS candidates off (the relay
/// answers with its addresses), its UDP socket on `--webrtc-bind`, in
/// `--webrtc-udp-ports` when set.
async fn build_peer(
    config: &crate::ServerConfig,
    servers: &[IceServer],
    audio: bool,
    events: Arc<PeerEvents>,
) -> Result<impl PeerConnection, ApiError> {
    let configuration = RTCConfigurationBuilder::new()
        .with_ice_servers(ice_servers(servers))
        .build();
    let settings = SettingEngineBuilder::new()
        .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
        .build();
    let ports: Vec<u16> = match config.webrtc_udp_ports {
        Some((first, last)) => (first..=last).collect(),
        None => vec![0],
    };
    let mut last_error = None;
    for port in ports {
        let mut builder = PeerConnectionBuilder::new()
            .with_configuration(configuration.clone())
            .with_setting_engine(settings.clone())
            .with_handler(events.clone())
            .with_udp_addrs(vec![SocketAddr::new(config.webrtc_bind, port).to_string()])
            .with_data_channel_send_buffer_limit(audio_channel::SEND_BUFFER);
        if audio {
            let (engine, interceptors) = opus_track::media_engine()
                .map_err(|e| ApiError::Internal(format!("WebRTC: {e}")))?;
            builder = builder
                .with_media_engine(engine)
                .with_interceptor_registry(interceptors);
        }
        match builder.build().await {
            Ok(pc) => return Ok(pc),
            Err(e) => last_error = Some(e),
        }
    }
    let why = last_error.map_or_else(String::new, |e| e.to_string());
    tracing::warn!(error = %why, "no UDP socket for a WebRTC peer");
    Err(match config.webrtc_udp_ports {
        Some((first, last)) => ApiError::WebRtcNoPort(format!("{first}-{last}")),
        None => ApiError::Internal(format!("no UDP port for a WebRTC peer ({why})")),
    })
}

/// The local answer once gathering completed (or [`GATHERING`] passed).
async fn answer(
    pc: &impl PeerConnection,
    mut gathered: watch::Receiver<bool>,
) -> Result<SessionDescription, ApiError> {
    let internal = |e: webrtc::error::Error| ApiError::Internal(format!("WebRTC: {e}"));
    let answer = pc.create_answer(None).await.map_err(internal)?;
    pc.set_local_description(answer).await.map_err(internal)?;
    let _ = tokio::time::timeout(GATHERING, gathered.wait_for(|done| *done)).await;
    let local = pc
        .local_description()
        .await
        .ok_or_else(|| ApiError::Internal("WebRTC: no local description".into()))?;
    Ok(SessionDescription {
        kind: "answer".into(),
        sdp: local.sdp,
    })
}

/// What webrtc-rs reports about one peer, as channels its task can await.
struct PeerEvents {
    gathered: watch::Sender<bool>,
    state: watch::Sender<RTCPeerConnectionState>,
    channels: mpsc::Sender<Arc<dyn DataChannel>>,
}

struct PeerSignals {
    gathered: watch::Receiver<bool>,
    state: watch::Receiver<RTCPeerConnectionState>,
    channels: mpsc::Receiver<Arc<dyn DataChannel>>,
}

impl PeerEvents {
    fn new() -> (Arc<Self>, PeerSignals) {
        let (gathered, gathered_rx) = watch::channel(false);
        let (state, state_rx) = watch::channel(RTCPeerConnectionState::New);
        let (channels, channels_rx) = mpsc::channel(4);
        (
            Arc::new(Self {
                gathered,
                state,
                channels,
            }),
            PeerSignals {
                gathered: gathered_rx,
                state: state_rx,
                channels: channels_rx,
            },
        )
    }
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for PeerEvents {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.gathered.send(true);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.state.send(state);
    }

    async fn on_data_channel(&self, dc: Arc<dyn DataChannel>) {
        // More than a handful of channels from one peer is not a listener.
        let _ = self.channels.try_send(dc);
    }
}

/// One peer, from its answer to its end.
struct PeerLife<P: PeerConnection> {
    pc: P,
    signals: PeerSignals,
    slot: PeerSlot,
    /// Counts the peer in `relaydeck_webrtc_peers` while it lives, and the
    /// media bytes its track and channels send.
    meter: crate::metrics::ConnMeter,
    /// Its Opus track, and where the source's shared encoder is found.
    feed: Option<(OpusTrack, Arc<WebRtcShared>)>,
    plays: Plays,
    ended: CancellationToken,
    hangup: CancellationToken,
    shutdown: CancellationToken,
    connect_timeout: Duration,
    stats_every: Duration,
}

impl<P: PeerConnection + 'static> PeerLife<P> {
    async fn run(mut self) {
        let why = self.live().await;
        tracing::debug!(plays = %self.plays.name(), why, "WebRTC peer ended");
        self.hangup.cancel(); // a WHEP session of it is gone too
        let _ = self.pc.close().await;
        drop(self.slot);
        drop(self.meter);
    }

    async fn live(&mut self) -> &'static str {
        let connect_by = tokio::time::Instant::now() + self.connect_timeout;
        let mut connected = false;
        let audio = CancellationToken::new();
        let _stop_audio = audio.clone().drop_guard();
        loop {
            tokio::select! {
                _ = self.shutdown.cancelled() => return "the relay stopped",
                _ = self.ended.cancelled() => return "its credential was revoked",
                _ = self.slot.replaced.cancelled() => return "a newer offer took its clientId",
                _ = self.hangup.cancelled() => return "its WHEP session was deleted",
                _ = tokio::time::sleep_until(connect_by), if !connected => return "it never connected",
                changed = self.signals.state.changed() => {
                    if changed.is_err() {
                        return "the connection went";
                    }
                    let now = *self.signals.state.borrow_and_update();
                    match now {
                        RTCPeerConnectionState::Connected if !connected => {
                            connected = true;
                            self.play_opus(&audio);
                        }
                        RTCPeerConnectionState::Failed => return "the connection failed",
                        RTCPeerConnectionState::Closed => return "the connection closed",
                        _ => {}
                    }
                }
                Some(dc) = self.signals.channels.recv() => self.serve(dc, &audio).await,
            }
        }
    }

    /// Once connected, the Opus track (if the offer asked for one) plays the
    /// source's shared feed.
    fn play_opus(&mut self, audio: &CancellationToken) {
        let (Some((track, shared)), Plays::Live(source)) = (self.feed.take(), &self.plays) else {
            return;
        };
        let feed = shared.opus.feed(source);
        let stop = audio.clone();
        let sent = self.meter.bytes();
        tokio::spawn(async move {
            tokio::select! {
                _ = stop.cancelled() => {}
                _ = track.play(feed, sent) => {}
            }
        });
    }

    /// `audioStream` plays a live source, `fileStream` a file; any other
    /// channel (or the other of the two) is closed.
    async fn serve(&self, dc: Arc<dyn DataChannel>, audio: &CancellationToken) {
        let label = dc.label().await.unwrap_or_default();
        let stop = audio.clone();
        let sent = self.meter.bytes();
        let run = match (&self.plays, label.as_str()) {
            (Plays::Live(source), audio_channel::LABEL) => {
                let (source, every) = (source.clone(), self.stats_every);
                let dc = dc.clone();
                futures_util::future::Either::Left(async move {
                    audio_channel::run(dc, source, every, sent).await
                })
            }
            (Plays::File(play), file_channel::LABEL) => {
                let (play, dc) = ((**play).clone(), dc.clone());
                futures_util::future::Either::Right(async move {
                    file_channel::run(dc, play, sent).await
                })
            }
            _ => {
                tracing::debug!(%label, plays = %self.plays.name(), "a DataChannel this peer is not served; closed");
                let _ = dc.close().await;
                return;
            }
        };
        tokio::spawn(async move {
            tokio::select! {
                _ = stop.cancelled() => {}
                end = run => tracing::debug!(%label, ?end, "DataChannel ended"),
            }
            let _ = dc.close().await;
        });
    }
}
