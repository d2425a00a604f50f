//! `POST /api/offer` as the contract says: every refusal clear and with its
//! code, an answer for a browser's DataChannel offer, the peer limits, the
//! `clientId` that replaces an older peer, and peers that never connect
//! being closed. (The media itself is proven against Chromium, in a network
//! namespace: tests/e2e/webrtc.e2e.mjs.) Offers here carry no candidates,
//! so the relay's peers never send a packet.

use std::time::Duration;

use relaydeck_server::auth::Scope;
use relaydeck_server::RunningServer;
use relaydeck_tests::*;
use serde_json::{json, Value};

const OFFER: &str = DATACHANNEL_OFFER;

fn offer(client: &str, source: &str) -> Value {
    json!({"offer": {"type": "offer", "sdp": OFFER}, "clientId": client, "source": source})
}

async fn post(
    addr: std::net::SocketAddr,
    path: &str,
    body: Value,
    bearer: Option<&str>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("http://{addr}{path}"))
        .header("content-type", "application/json")
        .body(body.to_string());
    req = match bearer {
        Some(t) => req.bearer_auth(t),
        None => req.bearer_auth(admin_token(addr)),
    };
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (
        status,
        serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap_or(Value::Null),
    )
}

/// The status of an admin's offer for `dk-a` under `client`.
async fn status_of(addr: std::net::SocketAddr, client: &str) -> u16 {
    post(addr, "/api/offer", offer(client, "dk-a"), None)
        .await
        .0
}

/// A server with the devkit `dk-a` registered (an audio source with no audio yet).
async fn server(configure: impl FnOnce(&mut relaydeck_server::ServerConfig)) -> RunningServer {
    let srv = start_server(configure).await;
    create_device(srv.addr, "dk-a").await;
    create_device(srv.addr, "dk-b").await;
    srv
}

#[tokio::test]
async fn a_browsers_datachannel_offer_is_answered_with_the_relays_candidates_and_no_mdns() {
    let srv = server(|_| {}).await;
    let (status, body) = post(srv.addr, "/api/offer", offer("kitchen", "dk-a"), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["answer"]["type"], "answer");
    let sdp = body["answer"]["sdp"].as_str().unwrap();
    assert!(sdp.contains("m=application"), "{sdp}");
    assert!(sdp.contains("a=fingerprint:sha-256"), "{sdp}");
    assert!(
        sdp.contains("a=candidate:"),
        "non-trickle: the candidates are in the answer\n{sdp}"
    );
    assert!(!sdp.contains(".local"), "no mDNS candidates\n{sdp}");
    assert_eq!(srv.state.webrtc.peers.count(), 1);
}

#[tokio::test]
async fn bad_offers_are_refused_with_a_reason_and_nothing_is_kept() {
    let srv = server(|_| {}).await;
    let a = srv.addr;
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            json!({"offer": {"type": "offer", "sdp": format!("{OFFER}{}", "a=x\r\n".repeat(4000))}, "clientId": "c", "source": "dk-a"}),
            400,
            "sdp_too_large",
            "16384",
        ),
        (
            json!({"offer": {"type": "offer", "sdp": "hello"}, "clientId": "c", "source": "dk-a"}),
            400,
            "bad_sdp",
            "v=0",
        ),
        (
            json!({"offer": {"type": "offer", "sdp": OFFER.replace("m=application 9 UDP/DTLS/SCTP webrtc-datachannel", "m=video 9 UDP/TLS/RTP/SAVPF 96")}, "clientId": "c", "source": "dk-a"}),
            400,
            "bad_sdp",
            "neither an audio section nor a DataChannel",
        ),
        (
            json!({"offer": {"type": "answer", "sdp": OFFER}, "clientId": "c", "source": "dk-a"}),
            400,
            "bad_sdp",
            "send an offer",
        ),
        (
            json!({"offer": {"type": "offer", "sdp": OFFER}, "clientId": "c"}),
            400,
            "bad_request",
            "source",
        ),
        (
            json!({"offer": {"type": "offer", "sdp": OFFER}, "clientId": "c", "source": "nope"}),
            404,
            "unknown_source",
            "nope",
        ),
        (
            json!({"offer": {"type": "offer", "sdp": OFFER}, "clientId": "c", "file": "song"}),
            404,
            "unknown_file",
            "song",
        ),
        (
            json!({"offer": {"type": "offer", "sdp": OFFER}, "clientId": "c", "file": "song", "source": "dk-a"}),
            400,
            "bad_request",
            "not both",
        ),
        (
            json!({"offer": {"type": "offer", "sdp": OFFER}, "clientId": "c", "source": "dk-a", "mode": "pcm"}),
            400,
            "bad_request",
            "for files",
        ),
        (
            json!({"offer": {"type": "offer", "sdp": OFFER}, "clientId": "no spaces", "source": "dk-a"}),
            400,
            "invalid_id",
            "clientId",
        ),
        (
            json!({"offer": {"type": "offer", "sdp": OFFER}, "clientId": "c", "source": "dk-a", "extra": 1}),
            400,
            "",
            "extra",
        ),
        (json!("not an object"), 400, "", ""),
    ];
    for (body, status, code, words) in cases {
        let (got, reply) = post(a, "/api/offer", body.clone(), None).await;
        assert_eq!(got, status, "{body} → {reply}");
        if !code.is_empty() {
            assert_eq!(reply["error"]["code"], code, "{reply}");
        }
        assert!(
            reply.to_string().contains(words),
            "{reply} should say {words}"
        );
    }
    assert_eq!(
        srv.state.webrtc.peers.count(),
        0,
        "no peer was kept for a refusal"
    );
}

#[tokio::test]
async fn the_source_in_the_body_goes_through_the_same_policy_as_a_paths() {
    let srv = server(|_| {}).await;
    let (_, only_a) = srv
        .state
        .auth
        .create_token(
            "a's listener",
            Scope::View,
            Some(["dk-a".to_string()].into()),
            None,
        )
        .unwrap();
    let (status, body) = post(srv.addr, "/api/offer", offer("x", "dk-b"), Some(&only_a)).await;
    assert_eq!(status, 403, "{body}");
    let (status, _) = post(srv.addr, "/api/offer", offer("x", "dk-a"), Some(&only_a)).await;
    assert_eq!(status, 200);
    let resp = reqwest::Client::new()
        .post(format!("http://{}/api/offer", srv.addr))
        .header("content-type", "application/json")
        .body(offer("y", "dk-a").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401, "no credentials");
}

#[tokio::test]
async fn peers_are_limited_per_ip_and_in_total_and_a_client_id_replaces_its_older_peer() {
    let srv = server(|c| {
        c.webrtc_max_peers = 3;
        c.webrtc_max_peers_per_ip = 2;
    })
    .await;
    let a = srv.addr;
    assert_eq!(
        post(a, "/api/offer", offer("one", "dk-a"), None).await.0,
        200
    );
    assert_eq!(
        post(a, "/api/offer", offer("two", "dk-a"), None).await.0,
        200
    );
    let (status, body) = post(a, "/api/offer", offer("three", "dk-a"), None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("too_many_peers")),
        "{body}"
    );
    // The same listener offering again replaces its peer: the place frees.
    for _ in 0..3 {
        let (status, body) = post(a, "/api/offer", offer("two", "dk-a"), None).await;
        if status == 200 {
            break;
        }
        // The older peer is closing; its place frees a moment later.
        assert_eq!(status, 429, "{body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eventually(|| (srv.state.webrtc.peers.count() == 2).then_some(())).await;
}

#[tokio::test]
async fn the_relay_holds_at_most_its_total_of_peers() {
    let srv = server(|c| {
        c.webrtc_max_peers = 1;
    })
    .await;
    assert_eq!(status_of(srv.addr, "one").await, 200);
    let (status, body) = post(srv.addr, "/api/offer", offer("two", "dk-a"), None).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("webrtc_full")),
        "{body}"
    );
}

#[tokio::test]
async fn a_peer_that_never_connects_is_closed_and_its_place_freed() {
    let srv = server(|c| {
        c.webrtc_connect_timeout = Duration::from_millis(400);
        c.webrtc_max_peers = 1;
    })
    .await;
    assert_eq!(status_of(srv.addr, "one").await, 200);
    assert_eq!(srv.state.webrtc.peers.count(), 1);
    eventually(|| (srv.state.webrtc.peers.count() == 0).then_some(())).await;
    assert_eq!(status_of(srv.addr, "two").await, 200);
}

#[tokio::test]
async fn revoking_the_token_ends_its_peers() {
    let srv = server(|_| {}).await;
    let (record, token) = srv
        .state
        .auth
        .create_token("listener", Scope::View, None, None)
        .unwrap();
    assert_eq!(
        post(srv.addr, "/api/offer", offer("l", "dk-a"), Some(&token))
            .await
            .0,
        200
    );
    assert_eq!(srv.state.webrtc.peers.count(), 1);
    srv.state.revoke_token(&record.id).unwrap();
    eventually(|| (srv.state.webrtc.peers.count() == 0).then_some(())).await;
}

#[tokio::test]
async fn the_ice_servers_setting_is_what_the_relays_peers_use_and_what_pages_get() {
    let srv = server(|_| {}).await;
    // A STUN server of the test's own, on loopback: it records what arrives.
    let stun = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let url = format!("stun:127.0.0.1:{}", stun.local_addr().unwrap().port());
    let put = |body: Value| {
        reqwest::Client::new()
            .put(format!("http://{}/api/settings", srv.addr))
            .bearer_auth(admin_token(srv.addr))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
    };
    let bad = put(json!({"iceServers": [{"urls": ["turn:127.0.0.1:3478"]}]}))
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400, "TURN without credentials");
    assert!(bad
        .text()
        .await
        .unwrap()
        .contains("username and a credential"));
    let ok = put(json!({"iceServers": [{"urls": [url]}]})).await.unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    let (status, config) = get_json(srv.addr, "/api/webrtc").await;
    assert_eq!(status, 200);
    assert_eq!(config, json!({"iceServers": [{"urls": [url]}]}));

    assert_eq!(status_of(srv.addr, "s").await, 200);
    let mut buf = [0u8; 1500];
    let (n, _) = tokio::time::timeout(Duration::from_secs(5), stun.recv_from(&mut buf))
        .await
        .expect("the relay's peer asked the configured STUN server")
        .unwrap();
    // RFC 5389: a Binding Request (0x0001) with the magic cookie.
    assert!(n >= 20);
    assert_eq!(&buf[0..2], &[0x00, 0x01]);
    assert_eq!(&buf[4..8], &[0x21, 0x12, 0xA4, 0x42]);
}

#[tokio::test]
async fn with_every_port_of_its_udp_range_taken_an_offer_gets_503_and_the_next_one_a_port() {
    let squatter = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    let port = squatter.local_addr().unwrap().port();
    let srv = server(|c| c.webrtc_udp_ports = Some((port, port))).await;
    let (status, body) = post(srv.addr, "/api/offer", offer("k1", "dk-a"), None).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["code"], "no_udp_port");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("{port}-{port}")),
        "{body}"
    );
    assert_eq!(
        srv.state.webrtc.peers.count(),
        0,
        "the refused peer's place is free"
    );
    drop(squatter);
    let (status, body) = post(srv.addr, "/api/offer", offer("k2", "dk-a"), None).await;
    assert_eq!(status, 200, "{body}");
}
