//! WHEP (draft-ietf-wish-whep) against a plain WHEP player: webrtc-rs as the
//! remote peer, libopus decoding what it hears. Everything stays on
//! loopback: the relay's peers bind `--webrtc-bind 127.0.0.1`, the player's
//! too, so the only candidates either side has are 127.0.0.1.

use std::{sync::Arc, time::Duration};

use relaydeck_devkit_sim::{stream_audio, Impairments, PcmSource};
use relaydeck_server::{auth::Scope, RunningServer};
use relaydeck_tests::*;
use rtc::{
    peer_connection::{
        configuration::setting_engine::SettingEngineBuilder, sdp::RTCSessionDescription,
    },
    rtp_transceiver::{
        rtp_sender::RtpCodecKind, RTCRtpTransceiverDirection, RTCRtpTransceiverInit,
    },
};
use tokio::sync::{mpsc, watch};
use webrtc::{
    media_stream::track_remote::{TrackRemote, TrackRemoteEvent},
    peer_connection::{
        PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCIceGatheringState,
        RTCPeerConnectionState,
    },
};

/// One RTP packet as the player got it.
struct Heard {
    seq: u16,
    timestamp: u32,
    payload: bytes::Bytes,
}

struct Events {
    gathered: watch::Sender<bool>,
    state: watch::Sender<RTCPeerConnectionState>,
    packets: mpsc::UnboundedSender<Heard>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Events {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.gathered.send(true);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.state.send(state);
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let packets = self.packets.clone();
        tokio::spawn(async move {
            while let Some(event) = track.poll().await {
                if let TrackRemoteEvent::OnRtpPacket(p) = event {
                    let heard = Heard {
                        seq: p.header.sequence_number,
                        timestamp: p.header.timestamp,
                        payload: p.payload.clone(),
                    };
                    if packets.send(heard).is_err() {
                        return;
                    }
                }
            }
        });
    }
}

/// A WHEP player: a recvonly Opus transceiver, its complete offer made.
struct Player {
    pc: Box<dyn PeerConnection>,
    offer: String,
    state: watch::Receiver<RTCPeerConnectionState>,
    packets: mpsc::UnboundedReceiver<Heard>,
}

async fn player() -> Player {
    // Opus only, with the default interceptors: what any WHEP player offers.
    let (engine, registry) = relaydeck_server::edges::webrtc::opus_track::media_engine().unwrap();
    let (gathered, mut gathered_rx) = watch::channel(false);
    let (state, state_rx) = watch::channel(RTCPeerConnectionState::New);
    let (packets, packets_rx) = mpsc::unbounded_channel();
    let pc = PeerConnectionBuilder::new()
        .with_setting_engine(
            SettingEngineBuilder::new()
                .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
                .build(),
        )
        .with_media_engine(engine)
        .with_interceptor_registry(registry)
        .with_handler(Arc::new(Events {
            gathered,
            state,
            packets,
        }))
        .with_udp_addrs(vec!["127.0.0.1:0".to_owned()])
        .build()
        .await
        .unwrap();
    pc.add_transceiver_from_kind(
        RtpCodecKind::Audio,
        Some(RTCRtpTransceiverInit {
            direction: RTCRtpTransceiverDirection::Recvonly,
            ..Default::default()
        }),
    )
    .await
    .unwrap();
    let offer = pc.create_offer(None).await.unwrap();
    pc.set_local_description(offer).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), gathered_rx.wait_for(|d| *d))
        .await
        .expect("the player gathers")
        .unwrap();
    let offer = pc.local_description().await.unwrap().sdp;
    Player {
        pc: Box::new(pc),
        offer,
        state: state_rx,
        packets: packets_rx,
    }
}

/// `POST /api/whep/{source}` with `sdp` as `content_type`.
async fn whep_post(
    srv: &RunningServer,
    source: &str,
    content_type: &str,
    sdp: String,
    bearer: Option<&str>,
) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(format!("http://{}/api/whep/{source}", srv.addr))
        .header("content-type", content_type)
        .body(sdp);
    if let Some(t) = bearer {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

async fn send(srv: &RunningServer, method: reqwest::Method, path: &str, bearer: &str) -> u16 {
    reqwest::Client::new()
        .request(method, format!("http://{}{path}", srv.addr))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn view_token(srv: &RunningServer, sources: &[&str]) -> String {
    let only = sources.iter().map(|s| s.to_string()).collect();
    srv.state
        .auth
        .create_token("player", Scope::View, Some(only), None)
        .unwrap()
        .1
}

/// The player's session: the answer applied, the session's URL.
async fn start_session(srv: &RunningServer, p: &Player, token: &str) -> String {
    let resp = whep_post(
        srv,
        "dk-01",
        "application/sdp",
        p.offer.clone(),
        Some(token),
    )
    .await;
    assert_eq!(resp.status().as_u16(), 201);
    let header = |n: &str| {
        resp.headers()
            .get(n)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    assert_eq!(header("content-type").as_deref(), Some("application/sdp"));
    let location = header("location").expect("a Location");
    assert!(location.starts_with("/api/whep/dk-01/"), "{location}");
    let etag = header("etag").expect("an ETag");
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    let answer = resp.text().await.unwrap();
    assert!(
        answer.contains("a=candidate:") && answer.contains("127.0.0.1"),
        "{answer}"
    );
    assert!(
        answer.to_ascii_lowercase().contains("opus/48000/2"),
        "{answer}"
    );
    p.pc.set_remote_description(RTCSessionDescription::answer(answer).unwrap())
        .await
        .unwrap();
    location
}

async fn next_packets(p: &mut Player, n: usize) -> Vec<Heard> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let heard = tokio::time::timeout(Duration::from_secs(10), p.packets.recv())
            .await
            .expect("RTP packets keep coming")
            .expect("the track is open");
        out.push(heard);
    }
    out
}

/// The tone's frequency in decoded Opus, by zero crossings.
fn frequency(packets: &[Heard]) -> f32 {
    let mut dec = opus::Decoder::new(48_000, opus::Channels::Mono).unwrap();
    let mut pcm = Vec::new();
    let mut buf = vec![0f32; 5760];
    for p in packets {
        let n = dec.decode_float(&p.payload, &mut buf, false).unwrap();
        assert_eq!(n, 960, "20 ms packets");
        pcm.extend_from_slice(&buf[..n]);
    }
    let settled = &pcm[pcm.len() / 4..];
    let crossings = settled
        .windows(2)
        .filter(|w| w[0] < 0.0 && w[1] >= 0.0)
        .count();
    crossings as f32 * 48_000.0 / settled.len() as f32
}

async fn relay() -> RunningServer {
    start_server(|c| c.webrtc_bind = std::net::Ipv4Addr::LOCALHOST.into()).await
}

#[tokio::test]
async fn two_whep_players_hear_a_devkits_tone_from_one_shared_encoder_and_delete_ends_a_session() {
    let srv = relay().await;
    let dk = devkit(&srv, "dk-01").await;
    let tone = tokio::spawn(async move {
        let mut src = PcmSource::tone(440.0, 16_000, 1, 0.5);
        let _ = stream_audio(
            &dk,
            &mut src,
            Impairments::default(),
            0,
            Some(Duration::from_secs(30)),
        )
        .await;
    });
    let token = view_token(&srv, &["dk-01"]);
    let (mut a, mut b) = (player().await, player().await);
    let location_a = start_session(&srv, &a, &token).await;
    let location_b = start_session(&srv, &b, &token).await;

    let heard_a = next_packets(&mut a, 100).await;
    let heard_b = next_packets(&mut b, 50).await;
    let hz = frequency(&heard_a);
    assert!((hz - 440.0).abs() < 10.0, "the player hears {hz} Hz");
    for w in heard_a.windows(2) {
        assert_eq!(w[1].seq, w[0].seq.wrapping_add(1), "no gaps on loopback");
        assert_eq!(
            w[1].timestamp.wrapping_sub(w[0].timestamp),
            960,
            "20 ms at 48 kHz"
        );
    }
    // One encoder for both: B's packets are byte for byte packets A heard.
    assert_eq!(srv.state.webrtc.opus.running(), 1);
    let more_a = next_packets(&mut a, 100).await;
    let a_payloads: Vec<_> = heard_a.iter().chain(&more_a).map(|h| &h.payload).collect();
    let shared = heard_b
        .iter()
        .filter(|h| a_payloads.contains(&&h.payload))
        .count();
    assert!(shared >= 40, "{shared} of B's 50 packets are A's too");
    // Every Opus payload a player heard was counted as sent over WebRTC.
    let heard: usize = heard_a
        .iter()
        .chain(&more_a)
        .chain(&heard_b)
        .map(|h| h.payload.len())
        .sum();
    let sent = srv
        .state
        .meters
        .transports()
        .into_iter()
        .find(|t| t.transport == relaydeck_server::metrics::Transport::WebRtc)
        .unwrap()
        .sent_bytes;
    assert!(
        sent as usize >= heard,
        "relaydeck_sent_bytes_total{{transport=\"webrtc\"}} {sent} ≥ the {heard} bytes heard"
    );

    // Trickle ICE is not offered: PATCH is refused, as the draft says.
    let patch = reqwest::Client::new()
        .patch(format!("http://{}{location_a}", srv.addr))
        .bearer_auth(&token)
        .header("content-type", "application/trickle-ice-sdpfrag")
        .body("a=end-of-candidates\r\n")
        .send()
        .await
        .unwrap();
    assert_eq!(patch.status().as_u16(), 405);
    assert_eq!(patch.headers()["allow"], "DELETE");

    // DELETE ends A's session (and only A's); a second DELETE finds nothing.
    assert_eq!(srv.state.webrtc.peers.count(), 2);
    let other = view_token(&srv, &["dk-02"]);
    assert_eq!(
        send(&srv, reqwest::Method::DELETE, &location_a, &other).await,
        403
    );
    assert_eq!(
        send(&srv, reqwest::Method::DELETE, &location_a, &token).await,
        200
    );
    eventually(|| (srv.state.webrtc.peers.count() == 1).then_some(())).await;
    let mut state = a.state.clone();
    tokio::time::timeout(
        Duration::from_secs(30),
        state.wait_for(|s| {
            matches!(
                s,
                RTCPeerConnectionState::Closed
                    | RTCPeerConnectionState::Failed
                    | RTCPeerConnectionState::Disconnected
            )
        }),
    )
    .await
    .expect("the player sees its session end")
    .unwrap();
    assert_eq!(
        send(&srv, reqwest::Method::DELETE, &location_a, &token).await,
        404
    );
    next_packets(&mut b, 10).await; // B plays on
    assert_eq!(srv.state.webrtc.opus.running(), 1);
    // The last listener gone, the source's encoder stops.
    assert_eq!(
        send(&srv, reqwest::Method::DELETE, &location_b, &token).await,
        200
    );
    eventually(|| (srv.state.webrtc.opus.running() == 0).then_some(())).await;
    assert_eq!(srv.state.webrtc.peers.count(), 0);
    tone.abort();
}

#[tokio::test]
async fn whep_refusals_are_clear_and_keep_nothing() {
    let srv = relay().await;
    create_device(srv.addr, "dk-01").await;
    create_device(srv.addr, "dk-02").await;
    let p = player().await;
    let token = view_token(&srv, &["dk-01"]);
    let admin = admin_token(srv.addr);
    let json = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        let body: serde_json::Value = r.json().await.unwrap_or_default();
        (
            status,
            body["error"]["code"].as_str().unwrap_or("").to_owned(),
        )
    };
    let cases = [
        (
            whep_post(
                &srv,
                "dk-01",
                "application/json",
                p.offer.clone(),
                Some(&token),
            )
            .await,
            415,
            "unsupported_media_type",
        ),
        (
            whep_post(
                &srv,
                "dk-01",
                "application/sdp",
                format!("{}{}", p.offer, "a=x\r\n".repeat(4000)),
                Some(&token),
            )
            .await,
            400,
            "sdp_too_large",
        ),
        (
            whep_post(
                &srv,
                "dk-01",
                "application/sdp",
                "garbage".into(),
                Some(&token),
            )
            .await,
            400,
            "bad_sdp",
        ),
        (
            whep_post(
                &srv,
                "dk-01",
                "application/sdp",
                DATACHANNEL_OFFER.into(),
                Some(&token),
            )
            .await,
            400,
            "bad_sdp",
        ),
        (
            whep_post(&srv, "dk-01", "application/sdp", p.offer.clone(), None).await,
            401,
            "unauthorized",
        ),
        (
            whep_post(
                &srv,
                "dk-02",
                "application/sdp",
                p.offer.clone(),
                Some(&token),
            )
            .await,
            403,
            "forbidden",
        ),
        (
            whep_post(
                &srv,
                "nobody",
                "application/sdp",
                p.offer.clone(),
                Some(&admin),
            )
            .await,
            404,
            "unknown_source",
        ),
    ];
    for (i, (resp, status, code)) in cases.into_iter().enumerate() {
        let (got, got_code) = json(resp).await;
        assert_eq!((got, got_code.as_str()), (status, code), "case {i}");
    }
    assert_eq!(
        send(
            &srv,
            reqwest::Method::DELETE,
            "/api/whep/dk-01/0123456789abcdef0123456789abcdef",
            &token
        )
        .await,
        404
    );
    assert_eq!(
        srv.state.webrtc.peers.count(),
        0,
        "no peer was kept for a refusal"
    );
    assert_eq!(srv.state.webrtc.whep.live(), 0);
}
