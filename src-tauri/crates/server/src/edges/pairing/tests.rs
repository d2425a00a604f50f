//! The native pairing flow against a simulated board (the devkit simulator's
//! GATT services, the contract's codec on the board's side as a firmware
//! would use it) and an in-memory relay.

use std::sync::{
    atomic::{AtomicBool, Ordering},
    Arc,
};

use parking_lot::Mutex;
use relaydeck_devkit_sim::ble_board::{BoardOptions, SimulatedBoard};

use super::*;

/// The flow's link straight to the simulated board.
struct Linked(Arc<SimulatedBoard>);

impl BoardLink for Linked {
    async fn read(&self, _service: &str, c: &str) -> Result<Vec<u8>, PairError> {
        self.0.read(c).map_err(|e| PairError::Link(e.to_string()))
    }

    async fn write(&self, _service: &str, c: &str, bytes: &[u8]) -> Result<(), PairError> {
        self.0
            .write(c, bytes)
            .map_err(|e| PairError::Link(e.to_string()))
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
        self.board.config().is_some()
    }
}

fn fast() -> Timeouts {
    Timeouts {
        authorize: Duration::from_secs(2),
        rpc: Duration::from_secs(1),
        scan: Duration::from_secs(1),
        wifi: Duration::from_secs(1),
        relay_settings: Duration::from_secs(1),
        online: Duration::from_secs(1),
        poll: Duration::from_millis(10),
    }
}

fn board(options: BoardOptions) -> (Linked, Relay) {
    let board = Arc::new(SimulatedBoard::new(options));
    let relay = Relay {
        board: board.clone(),
        registered: Mutex::default(),
        abandoned: Mutex::default(),
        known: AtomicBool::new(false),
    };
    (Linked(board), relay)
}

fn pairing<'a>(
    link: &'a Linked,
    relay: &'a Relay,
    timeouts: Timeouts,
) -> Pairing<'a, Linked, Relay> {
    Pairing {
        link,
        relay,
        timeouts,
        cancel: CancellationToken::new(),
    }
}

fn ready() -> BoardOptions {
    BoardOptions::default()
}

#[tokio::test]
async fn a_board_that_asks_for_its_button_is_paired_with_the_wifi_and_the_relays_settings() {
    let (link, relay) = board(BoardOptions {
        needs_button: true,
        ..ready()
    });
    let pairing = pairing(&link, &relay, fast());
    let events = Arc::new(Mutex::new(Vec::new()));
    let press = {
        let (board, events) = (link.0.clone(), events.clone());
        tokio::spawn(async move {
            // The user presses the button once the prompt is shown.
            while !events
                .lock()
                .iter()
                .any(|e| matches!(e, PairEvent::Prompt(_)))
            {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            board.press_button();
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
    let board = &link.0;
    assert_eq!(
        board.wifi(),
        Some(("Porch Wi-Fi".into(), "correct horse battery".into()))
    );
    assert_eq!(
        board.config().as_ref(),
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
        events.contains(&PairEvent::Done(
            Step::ReadBoard,
            "Porch mic (RelayDeck-FW 0.9.1, ESP32-S3)".into()
        )),
        "{events:?}"
    );
    assert!(events.contains(&PairEvent::Done(Step::Authorize, "authorized".into())));
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
        .writes()
        .iter()
        .filter(|(c, _)| c == improv::RPC_COMMAND)
        .flat_map(|(_, b)| b.clone())
        .collect();
    assert!(rpc.ends_with(&packet));
}

#[tokio::test]
async fn a_board_that_needs_no_button_skips_that_step() {
    let (link, relay) = board(ready());
    let mut events = Vec::new();
    pairing(&link, &relay, fast())
        .prepare("a board", |e| events.push(e))
        .await
        .unwrap();
    assert!(events.contains(&PairEvent::Skipped(Step::Authorize, "not needed".into())));
    assert!(!events.iter().any(|e| matches!(e, PairEvent::Prompt(_))));
}

#[tokio::test]
async fn a_wrong_wifi_password_is_said_plainly_and_the_registered_device_is_abandoned() {
    let (link, relay) = board(BoardOptions {
        wrong_password: true,
        ..ready()
    });
    let err = pairing(&link, &relay, fast())
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
    let (link, relay) = board(BoardOptions {
        needs_button: true,
        ..ready()
    });
    let timeouts = Timeouts {
        authorize: Duration::from_millis(50),
        ..fast()
    };
    let err = pairing(&link, &relay, timeouts)
        .run("a board", "Home", "pw", |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, PairError::Timeout(m) if m.contains("button")));
    assert!(relay.registered.lock().is_empty(), "nothing to undo");
}

#[tokio::test]
async fn a_wifi_the_board_cannot_take_is_refused_before_anything_is_registered() {
    let (link, relay) = board(ready());
    let p = pairing(&link, &relay, fast());
    let facts = p.prepare("a board", |_| {}).await.unwrap();
    for (ssid, password) in [
        ("", "pw"),
        (&*"n".repeat(33), "pw"),
        ("Home", &*"p".repeat(65)),
    ] {
        let err = p
            .provision(&facts, ssid, password, |_| {})
            .await
            .unwrap_err();
        assert!(matches!(err, PairError::Board(m) if m.contains("1 to 32")));
    }
    assert!(relay.registered.lock().is_empty());
    let rpc: Vec<u8> = link
        .0
        .writes()
        .into_iter()
        .filter(|(c, _)| c == improv::RPC_COMMAND)
        .flat_map(|(_, b)| b)
        .collect();
    assert_eq!(
        rpc,
        Command::DeviceInfo.encode().unwrap(),
        "only the device info went out"
    );
}

#[tokio::test]
async fn a_session_scans_identifies_and_then_provisions_the_open_board() {
    let (link, relay) = board(ready());
    let board = link.0.clone();
    let session = PairingSession::new(link, relay, fast());
    assert!(
        matches!(session.networks().await, Err(PairError::Board(m)) if m.contains("find a board")),
        "nothing before a board is open"
    );
    let facts = session.open("a board").await.unwrap();
    assert_eq!(facts.name, "Porch mic");
    let nets = session.networks().await.unwrap();
    assert_eq!(
        nets.iter().map(|n| (&*n.ssid, n.rssi)).collect::<Vec<_>>(),
        [("Porch Wi-Fi", -48), ("Guest", -71)],
        "strongest first"
    );
    session.identify().await.unwrap();
    assert_eq!(board.identified(), 1);
    let registered = session.provision("Guest", "").await.unwrap();
    assert_eq!(board.wifi(), Some(("Guest".into(), String::new())));
    assert_eq!(board.config(), Some(registered.config));
    let labels: Vec<_> = session
        .events()
        .iter()
        .filter_map(|e| match e {
            PairEvent::Done(s, _) | PairEvent::Skipped(s, _) => Some(s.label()),
            _ => None,
        })
        .collect();
    assert_eq!(
        labels,
        [
            "Read the board",
            "Authorize",
            "Register the board",
            "Send the Wi-Fi",
            "Send the relay settings",
            "Wait for the board",
            "Online"
        ]
    );
    assert!(
        matches!(
            session.provision("Guest", "").await,
            Err(PairError::Board(_))
        ),
        "a session provisions its board once"
    );
}

#[tokio::test]
async fn a_board_without_scan_or_identify_says_so() {
    let (link, relay) = board(BoardOptions {
        capabilities: 0b010,
        ..ready()
    });
    let session = PairingSession::new(link, relay, fast());
    session.open("a board").await.unwrap();
    assert!(
        matches!(session.networks().await, Err(PairError::Board(m)) if m.contains("type the Wi-Fi"))
    );
    assert!(
        matches!(session.identify().await, Err(PairError::Board(m)) if m.contains("cannot identify"))
    );
}

#[tokio::test]
async fn cancelling_while_waiting_for_the_button_registers_nothing() {
    let (link, relay) = board(BoardOptions {
        needs_button: true,
        ..ready()
    });
    let session = Arc::new(PairingSession::new(link, relay, Timeouts::default()));
    let open = tokio::spawn({
        let s = session.clone();
        async move { s.open("a board").await }
    });
    while !session
        .events()
        .iter()
        .any(|e| matches!(e, PairEvent::Prompt(_)))
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    session.cancel();
    // Well before the minute the button may take.
    let r = tokio::time::timeout(Duration::from_secs(2), open).await;
    assert_eq!(r.unwrap().unwrap().unwrap_err(), PairError::Cancelled);
    assert!(matches!(
        session.provision("Home", "pw").await,
        Err(PairError::Cancelled)
    ));
}

#[tokio::test]
async fn cancelling_while_waiting_for_the_boards_hello_revokes_its_device() {
    /// A relay the board never reaches (its firewall, say).
    struct Unreachable(Relay);
    impl Registrar for Unreachable {
        async fn register(&self, b: &str, n: &str) -> Result<Registered, PairError> {
            self.0.register(b, n).await
        }
        async fn abandon(&self, r: &Registered) {
            self.0.abandon(r).await
        }
        async fn is_online(&self, _: &str) -> bool {
            false
        }
    }
    let (link, relay) = board(ready());
    let session = Arc::new(PairingSession::new(
        link,
        Unreachable(relay),
        Timeouts::default(),
    ));
    session.open("a board").await.unwrap();
    let provision = tokio::spawn({
        let s = session.clone();
        async move { s.provision("Home", "pw").await }
    });
    while !session
        .events()
        .contains(&PairEvent::Started(Step::WaitForBoard))
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    session.cancel();
    let r = tokio::time::timeout(Duration::from_secs(2), provision).await;
    assert_eq!(r.unwrap().unwrap().unwrap_err(), PairError::Cancelled);
    // Well before the 30 s the hello may take, and its token is revoked.
    let relay = &session.relay().0;
    assert_eq!(*relay.abandoned.lock(), ["dk-porch"]);
}
