//! Property tests for every parser that reads from the network: the devkit
//! frame codec, the UDP header, WebSocket control JSON, query parsing, and
//! the reorder stage fed arbitrary sequences.

use std::time::{Duration, Instant};

use bytes::Bytes;
use proptest::prelude::*;
use relaydeck_server::{
    auth::query::{decode, Params},
    edges::{
        control::{self, ControlError},
        devkit::{
            framing::{encode, FrameReader},
            reorder::{Output, Packet, Reorderer},
            udp,
        },
    },
};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]

    /// Frames survive any split of the byte stream into reads.
    #[test]
    fn frames_round_trip_across_any_split(msgs in proptest::collection::vec("\\PC{1,40}", 1..6), cut in 1usize..7) {
        let bytes: Vec<u8> = msgs.iter().flat_map(|m| encode(m)).collect();
        let got = rt().block_on(async {
            let (mut tx, rx) = tokio::io::duplex(cut);
            tokio::spawn(async move { tokio::io::AsyncWriteExt::write_all(&mut tx, &bytes).await });
            let mut r = FrameReader::new(rx);
            let mut got = Vec::new();
            while let Ok(m) = r.next().await { got.push(m); }
            got
        });
        prop_assert_eq!(got, msgs);
    }

    /// Arbitrary bytes: frames or a clean error, never a panic or a hang.
    #[test]
    fn the_frame_reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        rt().block_on(async {
            let mut r = FrameReader::new(&bytes[..]);
            for _ in 0..400 {
                if r.next().await.is_err() { break; }
            }
        });
    }

    #[test]
    fn datagram_parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..1600)) {
        match udp::parse(&bytes) {
            Ok(d) => prop_assert!(bytes.len() > 12 && bytes.len() <= 1472 && d.pcm.len() == bytes.len() - 12),
            Err(_) => prop_assert!(bytes.len() <= 12 || bytes.len() > 1472),
        }
    }

    /// Any text is classified as the protocol says: not JSON, no string
    /// `type`, a type the socket does not know, or a known type with bad
    /// fields; never a panic, never the wrong class.
    #[test]
    fn control_parsing_classifies_every_text(
        text in prop_oneof![
            "\\PC{0,200}",
            ("[a-z]{0,6}", "\\PC{0,12}").prop_map(|(t, v)| format!(r#"{{"type":"{t}","t":"{v}"}}"#)),
            Just(r#"{"type":"ping","t":{"x":1}}"#.to_owned()),
            Just(r#"{"type":7}"#.to_owned()),
        ]
    ) {
        #[derive(Debug, serde::Deserialize)]
        #[serde(tag = "type")]
        #[allow(dead_code)]
        enum M { #[serde(rename = "ping")] Ping { t: Option<String> } }
        let json: Option<serde_json::Value> = serde_json::from_str(&text).ok();
        let kind = json.as_ref().and_then(|v| v.get("type")).and_then(|t| t.as_str()).map(str::to_owned);
        match control::parse::<M>(&text) {
            Ok(M::Ping { .. }) => prop_assert_eq!(kind.as_deref(), Some("ping")),
            Err(ControlError::NotJson(_)) => prop_assert!(json.is_none()),
            Err(ControlError::MissingType) => prop_assert!(json.is_some() && kind.is_none()),
            Err(ControlError::UnknownType(k)) => {
                prop_assert_ne!(k.as_str(), "ping");
                prop_assert_eq!(Some(k), kind);
            }
            Err(ControlError::Invalid { kind: k, .. }) => prop_assert_eq!(k.as_str(), "ping"),
        }
    }

    #[test]
    fn query_parsing_never_panics(q in "\\PC{0,120}", name in "[a-z]{1,8}") {
        if let Ok(p) = Params::parse(Some(&q)) {
            let _ = p.get(&name);
        }
    }

    /// Whatever the key and value, encoding every byte of them gives back
    /// exactly the pair: the guard and the handlers see one parse.
    #[test]
    fn any_encoding_of_a_pair_decodes_to_the_pair(key in "[a-zA-Z]{1,10}", value in "\\PC{0,30}") {
        let enc = |s: &str| s.bytes().map(|b| format!("%{b:02X}")).collect::<String>();
        let p = Params::parse(Some(&format!("{}={}", enc(&key), enc(&value)))).unwrap();
        prop_assert_eq!(p.get(&key), Some(value.as_str()));
        prop_assert_eq!(decode(&enc(&value), false).unwrap(), value);
    }

    /// Whatever order a burst of packets arrives in, what comes out is in
    /// order, without duplicates, and exactly as long as the burst.
    #[test]
    fn reordering_puts_any_permutation_back_in_order(start in any::<u32>(), n in 1u32..40, swaps in proptest::collection::vec((0usize..40, 0usize..40), 0..30), dups in proptest::collection::vec(0usize..40, 0..5)) {
        let mut order: Vec<u32> = (0..n).collect();
        for (a, b) in swaps {
            let (a, b) = (a % n as usize, b % n as usize);
            order.swap(a, b);
        }
        // The first packet fixes the start of the stream: send it first.
        let first = order.iter().position(|&i| i == 0).unwrap();
        order.swap(0, first);
        for d in dups { let i = order[d % order.len()]; order.push(i); }
        let mut r = Reorderer::new(Duration::from_millis(40), 2, 1000);
        let t = Instant::now();
        let mut out = Vec::new();
        for i in &order {
            let seq = start.wrapping_add(*i);
            r.push(Packet { seq, ts: seq.wrapping_mul(160), pcm: Bytes::from(vec![1u8; 320]) }, t, &mut out);
        }
        r.flush_due(t + Duration::from_secs(1), &mut out);
        let seqs: Vec<u32> = out.iter().map(|o| match o { Output::Audio { seq, .. } => *seq, Output::Silence { .. } => panic!("nothing was lost") }).collect();
        let want: Vec<u32> = (0..n).map(|i| start.wrapping_add(i)).collect();
        prop_assert_eq!(seqs, want);
        prop_assert_eq!(r.stats().lost, 0);
    }
}
