//! The native pairing flow against a simulated board (the contract's codec
//! on the board's side, as a firmware would use one) and an in-memory relay.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};

use parking_lot::Mutex;
use relaydeck_contract::pairing::{
    improv::{self, Command, Reassembler as RpcReassembler, RpcResult},
    provision::{self, ProvisionError, ProvisionState, Reassembler, RelayConfig, Status},
};

use super::*;

/// A board: Improv plus the provisioning service, behind `BoardLink`.
#[derive(Default)]
struct SimulatedBoard {
    state: Mutex<u8>,
    error: Mutex<u8>,
    result: Mutex<Vec<u8>>,
    status: Mutex<[u8; 2]>,
    rpc: Mutex<RpcReassembler>,
    chunks: Mutex<Reassembler>,
    wifi: Mutex<Option<(String, String)>>,
    config: Mutex<Option<RelayConfig>>,
    /// Every write, as the flow sent it.
    writes: Mutex<Vec<(String, Vec<u8>)>>,
    wrong_password: bool,
}

impl SimulatedBoard {
    fn new(needs_button: bool) -> Arc<Self> {
        let b = Self::default();
        *b.state.lock() = if needs_button { 1 } else { 2 };
        Arc::new(b)
    }

    fn on_rpc(&self, packet: &[u8]) {
        let answer = |command: u8, strings: &[&str]| {
            let r = RpcResult {
                command,
                strings: strings.iter().map(|s| s.to_string()).collect(),
            };
            *self.result.lock() = r.encode().unwrap();
        };
        match Command::decode(packet) {
            Ok(Command::DeviceInfo) => {
                answer(3, &["RelayDeck-FW", "0.9.1", "ESP32-S3", "Porch mic"])
            }
            Ok(Command::WifiSettings { ssid, password }) => {
                if *self.state.lock() != 2 {
                    *self.error.lock() = 0x04;
                } else if self.wrong_password {
                    *self.error.lock() = 0x03;
                } else {
                    *self.wifi.lock() = Some((ssid, password));
                    *self.state.lock() = 4;
                    answer(1, &[]);
                }
            }
            Ok(_) => {}
            Err(_) => *self.error.lock() = 0x01,
        }
    }
}

impl BoardLink for Arc<SimulatedBoard> {
    async fn read(&self, _service: &str, c: &str) -> Result<Vec<u8>, PairError> {
        Ok(match c {
            improv::CURRENT_STATE => vec![*self.state.lock()],
            improv::ERROR_STATE => vec![*self.error.lock()],
            improv::RPC_RESULT => self.result.lock().clone(),
            improv::CAPABILITIES => vec![0b010],
            provision::VERSION => vec![1],
            provision::STATUS => self.status.lock().to_vec(),
            provision::BOARD_ID => b"rdk-board-0001".to_vec(),
            other => return Err(PairError::Link(format!("no characteristic {other}"))),
        })
    }

    async fn write(&self, _service: &str, c: &str, bytes: &[u8]) -> Result<(), PairError> {
        assert!(bytes.len() <= 20, "each write fits a 20-byte ATT payload");
        self.writes.lock().push((c.to_owned(), bytes.to_vec()));
        match c {
            improv::RPC_COMMAND => {
                let whole = self.rpc.lock().push(bytes);
                if let Ok(Some(packet)) = whole {
                    self.on_rpc(&packet);
                }
            }
            provision::CONFIG => {
                let status = match self.chunks.lock().push(bytes) {
                    Ok(None) => Status {
                        state: ProvisionState::Receiving,
                        error: ProvisionError::None,
                    },
                    Ok(Some(config)) => {
                        *self.config.lock() = Some(config);
                        Status {
                            state: ProvisionState::Stored,
                            error: ProvisionError::None,
                        }
                    }
                    Err(e) => Status {
                        state: ProvisionState::Failed,
                        error: ProvisionError::of(&e),
                    },
                };
                *self.status.lock() = status.encode();
            }
            other => return Err(PairError::Link(format!("{other} is not writable"))),
        }
        Ok(())
    }
}

/// The relay, in memory: the board comes online once it holds its config.
struct Relay {
    board: Arc<SimulatedBoard>,
    registered: Mutex<Vec<String>>,
    abandoned: Mutex<Vec<String>>,
    known: AtomicBool,
}

impl Registrar for Relay {
    async fn register(&self, board_id: &str, _name: &str) -> Result<Registered, PairError> {
        self.registered.lock().push(board_id.to_owned());
        Ok(Registered {
            config: RelayConfig {
                hosts: vec!["192.168.1.20".into()],
                tcp_port: 5000,
                udp_port: 5001,
                device_id: "dk-porch".into(),
                token: "0123456789abcdef0123456789abcdef".into(),
                tls_fingerprint: Some([7; 32]),
            },
            repaired: self.known.load(Ordering::Relaxed),
        })
    }

    async fn abandon(&self, r: &Registered) {
        self.abandoned.lock().push(r.config.device_id.clone());
    }

    async fn is_online(&self, _device_id: &str) -> bool {
        self.board.config.lock().is_some()
    }
}

fn fast() -> Timeouts {
    Timeouts {
        authorize: Duration::from_secs(2),
        rpc: Duration::from_secs(1),
        wifi: Duration::from_secs(1),
        relay_settings: Duration::from_secs(1),
        online: Duration::from_secs(1),
        poll: Duration::from_millis(10),
    }
}

fn relay(board: &Arc<SimulatedBoard>) -> Relay {
    Relay {
        board: board.clone(),
        registered: Mutex::default(),
        abandoned: Mutex::default(),
        known: AtomicBool::new(false),
    }
}

#[tokio::test]
async fn a_board_that_asks_for_its_button_is_paired_with_the_wifi_and_the_relays_settings() {
    let board = SimulatedBoard::new(true);
    let relay = relay(&board);
    let pairing = Pairing {
        link: &board,
        relay: &relay,
        timeouts: fast(),
    };
    let events = Arc::new(Mutex::new(Vec::new()));
    let press = {
        let (board, events) = (board.clone(), events.clone());
        tokio::spawn(async move {
            // The user presses the button once the prompt is shown.
            while !events
                .lock()
                .iter()
                .any(|e| matches!(e, PairEvent::Prompt(_)))
            {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            *board.state.lock() = 2;
        })
    };
    let log = events.clone();
    let registered = pairing
        .run(
            "a board",
            "Porch Wi-Fi",
            "correct horse battery",
            move |e| log.lock().push(e),
        )
        .await
        .unwrap();
    press.await.unwrap();
    assert_eq!(
        *board.wifi.lock(),
        Some(("Porch Wi-Fi".into(), "correct horse battery".into()))
    );
    assert_eq!(
        board.config.lock().as_ref(),
        Some(&registered.config),
        "the board holds exactly what was registered"
    );
    assert_eq!(
        *relay.registered.lock(),
        ["rdk-board-0001"],
        "registered under the board's own ID"
    );
    assert!(relay.abandoned.lock().is_empty());
    let events = events.lock();
    assert!(
        events.contains(&PairEvent::Done(Step::ReadBoard, "Porch mic".into())),
        "{events:?}"
    );
    assert_eq!(
        events.last(),
        Some(&PairEvent::Done(Step::Online, "dk-porch".into()))
    );
    // The Wi-Fi packet went out in 20-byte writes that are exactly Improv's packet.
    let packet = Command::WifiSettings {
        ssid: "Porch Wi-Fi".into(),
        password: "correct horse battery".into(),
    }
    .encode()
    .unwrap();
    let rpc: Vec<u8> = board
        .writes
        .lock()
        .iter()
        .filter(|(c, _)| c == improv::RPC_COMMAND)
        .flat_map(|(_, b)| b.clone())
        .collect();
    assert!(rpc.ends_with(&packet));
}

#[tokio::test]
async fn a_wrong_wifi_password_is_said_plainly_and_the_registered_device_is_abandoned() {
    let board = Arc::new(SimulatedBoard {
        wrong_password: true,
        ..Default::default()
    });
    *board.state.lock() = 2;
    let relay = relay(&board);
    let pairing = Pairing {
        link: &board,
        relay: &relay,
        timeouts: fast(),
    };
    let err = pairing
        .run("a board", "Home", "wrong", |_| {})
        .await
        .unwrap_err();
    assert_eq!(
        err,
        PairError::Board("the board could not join Home: check the name and password".into())
    );
    assert_eq!(
        *relay.abandoned.lock(),
        ["dk-porch"],
        "its token is revoked"
    );
}

#[tokio::test]
async fn a_button_never_pressed_times_out_before_anything_is_registered() {
    let board = SimulatedBoard::new(true);
    let relay = relay(&board);
    let pairing = Pairing {
        link: &board,
        relay: &relay,
        timeouts: Timeouts {
            authorize: Duration::from_millis(50),
            ..fast()
        },
    };
    let err = pairing
        .run("a board", "Home", "pw", |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, PairError::Timeout(m) if m.contains("button")));
    assert!(relay.registered.lock().is_empty(), "nothing to undo");
}
