//! The shared vectors (`tests/vectors/pairing.json`), every one of them:
//! what the TypeScript codec is held to as well.

use serde_json::Value;

use super::{
    improv::{Command, Reassembler as ImprovReassembler, RpcResult},
    provision::{ProvisionError, ProvisionState, Reassembler, RelayConfig, Status},
    split_writes, CodecError,
};

fn vectors() -> Value {
    serde_json::from_str(include_str!("../../../../../tests/vectors/pairing.json")).unwrap()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn command(v: &Value) -> Command {
    match v["type"].as_str().unwrap() {
        "wifiSettings" => Command::WifiSettings {
            ssid: v["ssid"].as_str().unwrap().into(),
            password: v["password"].as_str().unwrap().into(),
        },
        "identify" => Command::Identify,
        "deviceInfo" => Command::DeviceInfo,
        "scan" => Command::Scan,
        other => panic!("{other}"),
    }
}

fn config(v: &Value) -> RelayConfig {
    RelayConfig {
        hosts: v["hosts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap().to_owned())
            .collect(),
        tcp_port: v["tcpPort"].as_u64().unwrap() as u16,
        udp_port: v["udpPort"].as_u64().unwrap() as u16,
        device_id: v["deviceId"].as_str().unwrap().into(),
        token: v["token"].as_str().unwrap().into(),
        tls_fingerprint: v["tlsFingerprint"]
            .as_str()
            .map(|f| hex(f).try_into().unwrap()),
    }
}

fn name(v: &Value) -> &str {
    v["name"].as_str().unwrap()
}

#[test]
fn improv_commands_encode_and_decode_to_the_vectors() {
    let v = vectors();
    let mtu = v["improv"]["mtu"].as_u64().unwrap() as usize;
    for case in v["improv"]["commands"].as_array().unwrap() {
        let cmd = command(&case["command"]);
        let bytes = cmd.encode().unwrap();
        assert_eq!(to_hex(&bytes), case["hex"], "{}", name(case));
        assert_eq!(Command::decode(&bytes), Ok(cmd), "{}", name(case));
        let writes = split_writes(&bytes, mtu);
        assert!(writes.iter().all(|w| w.len() <= mtu));
        if let Some(want) = case["writes"].as_array() {
            let got: Vec<String> = writes.iter().map(|w| to_hex(w)).collect();
            assert_eq!(
                &got,
                &want
                    .iter()
                    .map(|w| w.as_str().unwrap().to_owned())
                    .collect::<Vec<_>>()
            );
        }
        // A board reassembles the writes into the packet.
        let mut r = ImprovReassembler::default();
        let mut whole = None;
        for w in &writes {
            whole = r.push(w).unwrap();
        }
        assert_eq!(whole.as_deref(), Some(&bytes[..]), "{}", name(case));
    }
    for case in v["improv"]["encodeRefused"].as_array().unwrap() {
        let err = command(&case["command"]).encode().unwrap_err();
        assert_eq!(err.code(), case["error"], "{}", name(case));
    }
}

#[test]
fn improv_results_encode_and_decode_to_the_vectors() {
    for case in vectors()["improv"]["results"].as_array().unwrap() {
        let result = RpcResult {
            command: case["command"].as_u64().unwrap() as u8,
            strings: case["strings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_owned())
                .collect(),
        };
        assert_eq!(
            to_hex(&result.encode().unwrap()),
            case["hex"],
            "{}",
            name(case)
        );
        assert_eq!(
            RpcResult::decode(&hex(case["hex"].as_str().unwrap())),
            Ok(result)
        );
    }
}

#[test]
fn malformed_improv_packets_are_refused_with_the_vectors_reason() {
    for case in vectors()["improv"]["malformed"].as_array().unwrap() {
        let bytes = hex(case["hex"].as_str().unwrap());
        let err = Command::decode(&bytes).unwrap_err();
        assert_eq!(err.code(), case["error"], "{}: {err}", name(case));
    }
}

#[test]
fn relay_configs_encode_chunk_and_reassemble_to_the_vectors() {
    let v = vectors();
    for case in v["provision"]["configs"].as_array().unwrap() {
        let cfg = config(&case["config"]);
        assert_eq!(
            to_hex(&cfg.encode().unwrap()),
            case["hex"],
            "{}",
            name(case)
        );
        let chunks: Vec<String> = cfg.chunks().unwrap().iter().map(|c| to_hex(c)).collect();
        let want: Vec<String> = case["chunks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_owned())
            .collect();
        assert_eq!(chunks, want, "{}", name(case));
        assert!(cfg.chunks().unwrap().iter().all(|c| c.len() <= 20));
        let mut r = Reassembler::default();
        let mut got = None;
        for c in &want {
            got = r.push(&hex(c)).unwrap();
        }
        assert_eq!(got, Some(cfg), "{}", name(case));
    }
    for case in v["provision"]["decodesTo"].as_array().unwrap() {
        let got = RelayConfig::decode(&hex(case["hex"].as_str().unwrap())).unwrap();
        assert_eq!(got, config(&case["config"]), "{}", name(case));
    }
}

#[test]
fn malformed_provisioning_is_refused_with_the_vectors_reason_and_starts_over() {
    for case in vectors()["provision"]["malformed"].as_array().unwrap() {
        let mut r = Reassembler::default();
        let mut outcome: Result<Option<RelayConfig>, CodecError> = Ok(None);
        for c in case["chunks"].as_array().unwrap() {
            outcome = r.push(&hex(c.as_str().unwrap()));
            if outcome.is_err() {
                break;
            }
        }
        let err = outcome.expect_err(name(case));
        assert_eq!(err.code(), case["error"], "{}: {err}", name(case));
        // The status a board would notify for it.
        assert_ne!(ProvisionError::of(&err), ProvisionError::None);
    }
    // After an error, chunk 0 of a good message is read afresh.
    let v = vectors();
    let good = &v["provision"]["configs"][1];
    let mut r = Reassembler::default();
    assert!(r.push(&hex("0201aa")).is_err());
    let mut got = None;
    for c in good["chunks"].as_array().unwrap() {
        got = r.push(&hex(c.as_str().unwrap())).unwrap();
    }
    assert_eq!(got, Some(config(&good["config"])));
}

#[test]
fn status_bytes_read_as_the_vectors_say() {
    for case in vectors()["provision"]["status"].as_array().unwrap() {
        let s = Status::decode(&hex(case["hex"].as_str().unwrap())).unwrap();
        let state = format!("{:?}", s.state);
        let error = format!("{:?}", s.error);
        let lower = |x: &str| x[..1].to_lowercase() + &x[1..];
        assert_eq!(lower(&state), case["state"]);
        assert_eq!(lower(&error), case["error"]);
        assert_eq!(to_hex(&s.encode()), case["hex"]);
    }
    assert_eq!(Status::decode(&[0]), Err(CodecError::Truncated));
    assert_eq!(
        Status {
            state: ProvisionState::Online,
            error: ProvisionError::None
        }
        .encode(),
        [4, 0]
    );
}
