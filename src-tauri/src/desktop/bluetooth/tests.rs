//! The native path as the app runs it — the pairing session over
//! [`BtleplugBoard`] — against a fake peripheral that implements btleplug's
//! own `Peripheral` trait, in front of the devkit simulator's board. There is
//! no radio here; everything above btleplug's trait is the shipped code.

use std::{
    collections::BTreeSet,
    pin::Pin,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
};

use btleplug::{
    api::{BDAddr, CharPropFlags, Descriptor, PeripheralProperties, Service, ValueNotification},
    platform::PeripheralId,
};
use futures_util::Stream;
use relaydeck_contract::pairing::provision::RelayConfig;
use relaydeck_devkit_sim::ble_board::{BoardOptions, SimulatedBoard, CHARACTERISTICS};
use relaydeck_server::edges::pairing::{
    PairEvent, PairingSession, Registered, Registrar, Step, Timeouts,
};

use super::*;

/// A board in range, as btleplug would hand it over.
#[derive(Clone, Debug)]
struct FakePeripheral {
    board: Arc<SimulatedBoard>,
    /// Which of the board's services it offers (a firmware may lack one).
    services: Vec<&'static str>,
    connected: Arc<AtomicBool>,
    discovered: Arc<AtomicBool>,
    refuses_connection: bool,
}

impl FakePeripheral {
    fn new(board: Arc<SimulatedBoard>) -> Self {
        Self {
            board,
            services: vec![improv::SERVICE, provision::SERVICE],
            connected: Arc::default(),
            discovered: Arc::default(),
            refuses_connection: false,
        }
    }

    fn check(&self, c: &Characteristic) -> btleplug::Result<String> {
        if !self.connected.load(Ordering::SeqCst) {
            return Err(btleplug::Error::NotConnected);
        }
        if !self.services.iter().any(|s| uuid(s) == c.service_uuid) {
            return Err(btleplug::Error::NoSuchCharacteristic);
        }
        Ok(c.uuid.to_string())
    }
}

fn gatt_error(e: impl std::fmt::Display) -> btleplug::Error {
    btleplug::Error::Other(e.to_string().into())
}

#[async_trait::async_trait]
impl Peripheral for FakePeripheral {
    fn id(&self) -> PeripheralId {
        serde_json::from_value(serde_json::json!({
            "object_path": "/org/bluez/hci0/dev_24_0A_C4_00_00_01"
        }))
        .expect("a BlueZ device path")
    }

    fn address(&self) -> BDAddr {
        BDAddr::from([0x24, 0x0a, 0xc4, 0, 0, 1])
    }

    async fn properties(&self) -> btleplug::Result<Option<PeripheralProperties>> {
        Ok(Some(PeripheralProperties {
            local_name: Some("Porch mic".into()),
            rssi: Some(-52),
            services: vec![uuid(improv::SERVICE)],
            ..Default::default()
        }))
    }

    fn services(&self) -> BTreeSet<Service> {
        if !self.discovered.load(Ordering::SeqCst) {
            return BTreeSet::new();
        }
        self.services
            .iter()
            .map(|&service| Service {
                uuid: uuid(service),
                primary: true,
                characteristics: CHARACTERISTICS
                    .iter()
                    .filter(|(s, _, _)| *s == service)
                    .map(|&(s, c, writable)| Characteristic {
                        uuid: uuid(c),
                        service_uuid: uuid(s),
                        properties: match writable {
                            true => CharPropFlags::WRITE,
                            false => CharPropFlags::READ | CharPropFlags::NOTIFY,
                        },
                        descriptors: BTreeSet::new(),
                    })
                    .collect(),
            })
            .collect()
    }

    async fn is_connected(&self) -> btleplug::Result<bool> {
        Ok(self.connected.load(Ordering::SeqCst))
    }

    async fn connect(&self) -> btleplug::Result<()> {
        if self.refuses_connection {
            return Err(btleplug::Error::Other(
                "le-connection-abort-by-local".into(),
            ));
        }
        self.connected.store(true, Ordering::SeqCst);
        Ok(())
    }

    async fn disconnect(&self) -> btleplug::Result<()> {
        self.connected.store(false, Ordering::SeqCst);
        Ok(())
    }

    async fn discover_services(&self) -> btleplug::Result<()> {
        self.discovered.store(true, Ordering::SeqCst);
        Ok(())
    }

    async fn write(
        &self,
        c: &Characteristic,
        data: &[u8],
        write_type: WriteType,
    ) -> btleplug::Result<()> {
        let id = self.check(c)?;
        assert_eq!(
            write_type,
            WriteType::WithResponse,
            "every write is acknowledged"
        );
        self.board.write(&id, data).map_err(gatt_error)
    }

    async fn read(&self, c: &Characteristic) -> btleplug::Result<Vec<u8>> {
        let id = self.check(c)?;
        self.board.read(&id).map_err(gatt_error)
    }

    async fn subscribe(&self, _: &Characteristic) -> btleplug::Result<()> {
        Ok(())
    }

    async fn unsubscribe(&self, _: &Characteristic) -> btleplug::Result<()> {
        Ok(())
    }

    async fn notifications(
        &self,
    ) -> btleplug::Result<Pin<Box<dyn Stream<Item = ValueNotification> + Send>>> {
        Ok(Box::pin(futures_util::stream::empty()))
    }

    async fn write_descriptor(&self, _: &Descriptor, _: &[u8]) -> btleplug::Result<()> {
        Err(btleplug::Error::NotSupported("descriptors".into()))
    }

    async fn read_descriptor(&self, _: &Descriptor) -> btleplug::Result<Vec<u8>> {
        Err(btleplug::Error::NotSupported("descriptors".into()))
    }
}

/// The relay, in memory: the board is online once it holds its settings.
struct Relay {
    board: Arc<SimulatedBoard>,
    abandoned: Mutex<Vec<String>>,
    reachable: bool,
}

impl Registrar for Relay {
    async fn register(&self, _board_id: &str, _name: &str) -> Result<Registered, PairError> {
        Ok(Registered {
            config: RelayConfig {
                hosts: vec!["192.168.7.2".into()],
                tcp_port: 7000,
                udp_port: 7001,
                device_id: "dk-porch".into(),
                token: "a-token".into(),
                tls_fingerprint: None,
            },
            repaired: false,
        })
    }

    async fn abandon(&self, r: &Registered) {
        self.abandoned
            .lock()
            .unwrap()
            .push(r.config.device_id.clone());
    }

    async fn is_online(&self, _: &str) -> bool {
        self.reachable && self.board.config().is_some()
    }
}

fn timeouts() -> Timeouts {
    Timeouts {
        poll: Duration::from_millis(5),
        ..Timeouts::default()
    }
}

fn relay(board: &Arc<SimulatedBoard>) -> Relay {
    Relay {
        board: board.clone(),
        abandoned: Mutex::default(),
        reachable: true,
    }
}

#[tokio::test]
async fn the_app_pairs_a_board_through_btleplugs_peripheral_trait() {
    let board = Arc::new(SimulatedBoard::new(BoardOptions {
        needs_button: true,
        ..Default::default()
    }));
    let peripheral = FakePeripheral::new(board.clone());
    let link = BtleplugBoard::attach(peripheral.clone()).await.unwrap();
    let session = Arc::new(PairingSession::new(link, relay(&board), timeouts()));
    let open = tokio::spawn({
        let s = session.clone();
        async move { s.open("a board").await }
    });
    while !board.waits_for_button()
        || !session
            .events()
            .iter()
            .any(|e| matches!(e, PairEvent::Prompt(_)))
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    board.press_button();
    let facts = open.await.unwrap().unwrap();
    assert_eq!(facts.board_id, "rdk-board-0001");
    let nets = session.networks().await.unwrap();
    assert_eq!(nets[0].ssid, "Porch Wi-Fi");
    session.identify().await.unwrap();
    assert_eq!(board.identified(), 1);
    let registered = session.provision("Porch Wi-Fi", "hunter22").await.unwrap();
    assert_eq!(
        board.wifi(),
        Some(("Porch Wi-Fi".into(), "hunter22".into()))
    );
    assert_eq!(board.config(), Some(registered.config));
    assert_eq!(
        session.events().last(),
        Some(&PairEvent::Done(Step::Online, "dk-porch".into()))
    );
    session.link().disconnect().await;
    assert!(!peripheral.connected.load(Ordering::SeqCst));
}

#[tokio::test]
async fn cancel_revokes_the_device_of_a_board_that_never_said_hello() {
    let board = Arc::new(SimulatedBoard::new(BoardOptions::default()));
    let link = BtleplugBoard::attach(FakePeripheral::new(board.clone()))
        .await
        .unwrap();
    let relay = Relay {
        reachable: false,
        ..relay(&board)
    };
    let session = Arc::new(PairingSession::new(link, relay, timeouts()));
    session.open("a board").await.unwrap();
    let provision = tokio::spawn({
        let s = session.clone();
        async move { s.provision("Porch Wi-Fi", "hunter22").await }
    });
    while !session
        .events()
        .contains(&PairEvent::Started(Step::WaitForBoard))
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    session.cancel();
    let err = tokio::time::timeout(Duration::from_secs(2), provision)
        .await
        .expect("cancel ends the wait at once")
        .unwrap()
        .unwrap_err();
    assert_eq!(err.to_string(), "pairing was cancelled");
    assert_eq!(*session.relay().abandoned.lock().unwrap(), ["dk-porch"]);
}

#[tokio::test]
async fn a_board_that_is_not_a_relay_deck_devkit_is_named_as_such() {
    let board = Arc::new(SimulatedBoard::new(BoardOptions::default()));
    let peripheral = FakePeripheral {
        services: vec![improv::SERVICE],
        ..FakePeripheral::new(board)
    };
    let err = BtleplugBoard::attach(peripheral.clone())
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("not a Relay Deck devkit"), "{err}");
    assert!(
        !peripheral.connected.load(Ordering::SeqCst),
        "and it is let go"
    );
}

#[tokio::test]
async fn a_board_that_refuses_the_connection_gives_the_link_error() {
    let board = Arc::new(SimulatedBoard::new(BoardOptions::default()));
    let peripheral = FakePeripheral {
        refuses_connection: true,
        ..FakePeripheral::new(board)
    };
    let err = BtleplugBoard::attach(peripheral).await.err().unwrap();
    assert!(
        matches!(&err, PairError::Link(m) if m.contains("le-connection-abort")),
        "{err}"
    );
}
