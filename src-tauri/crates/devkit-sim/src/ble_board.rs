//! A board's two pairing services, Improv Wi-Fi and Relay Deck provisioning,
//! as its firmware runs them (docs/PROTOCOL.md, "Pairing"), over the
//! contract's codec. There is no radio here: a test puts whatever link it
//! checks in front of it (the flow's own `BoardLink`, or btleplug's
//! `Peripheral` trait in the desktop shell), and that link reads and writes
//! characteristics through [`SimulatedBoard::read`] and
//! [`SimulatedBoard::write`].

use std::sync::{Mutex, MutexGuard};

use relaydeck_contract::pairing::{
    improv::{self, Command, ErrorState, Reassembler as RpcReassembler, RpcResult, State},
    provision::{self, ProvisionError, ProvisionState, Reassembler, RelayConfig, Status},
};

/// The largest write a board takes (the default ATT payload).
pub const ATT_PAYLOAD: usize = 20;

/// What a link asked of the board that a real one refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GattError {
    #[error("the board has no characteristic {0}")]
    Unknown(String),
    #[error("characteristic {0} cannot be written")]
    NotWritable(String),
    #[error("a write of {0} bytes exceeds the {ATT_PAYLOAD}-byte ATT payload")]
    TooLong(usize),
}

/// How the simulated board behaves.
#[derive(Debug, Clone)]
pub struct BoardOptions {
    /// It starts in "authorization required" until [`SimulatedBoard::press_button`].
    pub needs_button: bool,
    /// Improv's capability bits (identify, device info, scan).
    pub capabilities: u8,
    /// What a scan finds: SSID, RSSI, auth.
    pub networks: Vec<(String, i32, String)>,
    /// It fails to join every network (a wrong password).
    pub wrong_password: bool,
    pub board_id: String,
    /// Firmware, version, chip, device name.
    pub info: [String; 4],
}

impl Default for BoardOptions {
    fn default() -> Self {
        Self {
            needs_button: false,
            capabilities: 0b111,
            networks: vec![
                ("Porch Wi-Fi".into(), -48, "WPA2".into()),
                ("Guest".into(), -71, "NO".into()),
            ],
            wrong_password: false,
            board_id: "rdk-board-0001".into(),
            info: [
                "RelayDeck-FW".into(),
                "0.9.1".into(),
                "ESP32-S3".into(),
                "Porch mic".into(),
            ],
        }
    }
}

#[derive(Debug)]
struct Gatt {
    state: State,
    error: ErrorState,
    result: Vec<u8>,
    status: Status,
    rpc: RpcReassembler,
    chunks: Reassembler,
    wifi: Option<(String, String)>,
    config: Option<RelayConfig>,
    writes: Vec<(String, Vec<u8>)>,
    identified: u32,
}

/// One board in range, with both services.
#[derive(Debug)]
pub struct SimulatedBoard {
    options: BoardOptions,
    gatt: Mutex<Gatt>,
}

/// The board's characteristics: service, characteristic, and whether a
/// client may write it.
pub const CHARACTERISTICS: [(&str, &str, bool); 9] = [
    (improv::SERVICE, improv::CURRENT_STATE, false),
    (improv::SERVICE, improv::ERROR_STATE, false),
    (improv::SERVICE, improv::RPC_COMMAND, true),
    (improv::SERVICE, improv::RPC_RESULT, false),
    (improv::SERVICE, improv::CAPABILITIES, false),
    (provision::SERVICE, provision::VERSION, false),
    (provision::SERVICE, provision::CONFIG, true),
    (provision::SERVICE, provision::STATUS, false),
    (provision::SERVICE, provision::BOARD_ID, false),
];

impl SimulatedBoard {
    pub fn new(options: BoardOptions) -> Self {
        let state = match options.needs_button {
            true => State::AuthorizationRequired,
            false => State::Authorized,
        };
        Self {
            options,
            gatt: Mutex::new(Gatt {
                state,
                error: ErrorState::None,
                result: Vec::new(),
                status: Status {
                    state: ProvisionState::Idle,
                    error: ProvisionError::None,
                },
                rpc: RpcReassembler::default(),
                chunks: Reassembler::default(),
                wifi: None,
                config: None,
                writes: Vec::new(),
                identified: 0,
            }),
        }
    }

    fn gatt(&self) -> MutexGuard<'_, Gatt> {
        self.gatt.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A characteristic's value, as a read returns it.
    pub fn read(&self, characteristic: &str) -> Result<Vec<u8>, GattError> {
        let g = self.gatt();
        Ok(match characteristic {
            improv::CURRENT_STATE => vec![g.state.byte()],
            improv::ERROR_STATE => vec![g.error.byte()],
            improv::RPC_RESULT => g.result.clone(),
            improv::CAPABILITIES => vec![self.options.capabilities],
            provision::VERSION => vec![provision::MESSAGE_VERSION],
            provision::STATUS => g.status.encode().to_vec(),
            provision::BOARD_ID => self.options.board_id.as_bytes().to_vec(),
            other => return Err(GattError::Unknown(other.to_owned())),
        })
    }

    /// One write with response.
    pub fn write(&self, characteristic: &str, bytes: &[u8]) -> Result<(), GattError> {
        if bytes.len() > ATT_PAYLOAD {
            return Err(GattError::TooLong(bytes.len()));
        }
        let mut g = self.gatt();
        g.writes.push((characteristic.to_owned(), bytes.to_vec()));
        match characteristic {
            improv::RPC_COMMAND => match g.rpc.push(bytes) {
                Ok(Some(packet)) => self.on_rpc(&mut g, &packet),
                Ok(None) => {}
                Err(_) => g.error = ErrorState::InvalidRpc,
            },
            provision::CONFIG => {
                g.status = match g.chunks.push(bytes) {
                    Ok(None) => status(ProvisionState::Receiving, ProvisionError::None),
                    Ok(Some(config)) => {
                        g.config = Some(config);
                        status(ProvisionState::Stored, ProvisionError::None)
                    }
                    Err(e) => status(ProvisionState::Failed, ProvisionError::of(&e)),
                }
            }
            c if CHARACTERISTICS.iter().any(|(_, x, _)| *x == c) => {
                return Err(GattError::NotWritable(c.to_owned()))
            }
            other => return Err(GattError::Unknown(other.to_owned())),
        }
        Ok(())
    }

    fn on_rpc(&self, g: &mut Gatt, packet: &[u8]) {
        let answer = |g: &mut Gatt, command: u8, strings: Vec<String>| {
            g.result = RpcResult { command, strings }
                .encode()
                .expect("the board's answers fit a packet");
        };
        g.error = ErrorState::None;
        match Command::decode(packet) {
            Ok(Command::DeviceInfo) => answer(g, 0x03, self.options.info.to_vec()),
            Ok(Command::Identify) => g.identified += 1,
            Ok(Command::Scan) => {
                let strings = self
                    .options
                    .networks
                    .iter()
                    .flat_map(|(s, r, a)| [s.clone(), r.to_string(), a.clone()])
                    .collect();
                answer(g, 0x04, strings)
            }
            Ok(Command::WifiSettings { ssid, password }) => {
                if g.state != State::Authorized {
                    g.error = ErrorState::NotAuthorized;
                } else if self.options.wrong_password {
                    g.error = ErrorState::UnableToConnect;
                } else {
                    g.wifi = Some((ssid, password));
                    g.state = State::Provisioned;
                    answer(g, 0x01, Vec::new());
                }
            }
            Err(_) => g.error = ErrorState::InvalidRpc,
        }
    }

    /// The user presses the board's button.
    pub fn press_button(&self) {
        let mut g = self.gatt();
        if g.state == State::AuthorizationRequired {
            g.state = State::Authorized;
        }
    }

    /// Whether it still waits for its button.
    pub fn waits_for_button(&self) -> bool {
        self.gatt().state == State::AuthorizationRequired
    }

    /// The Wi-Fi it was given.
    pub fn wifi(&self) -> Option<(String, String)> {
        self.gatt().wifi.clone()
    }

    /// The relay settings it holds.
    pub fn config(&self) -> Option<RelayConfig> {
        self.gatt().config.clone()
    }

    /// Every write, in order: characteristic and bytes.
    pub fn writes(&self) -> Vec<(String, Vec<u8>)> {
        self.gatt().writes.clone()
    }

    /// How often it was asked to identify itself.
    pub fn identified(&self) -> u32 {
        self.gatt().identified
    }
}

fn status(state: ProvisionState, error: ProvisionError) -> Status {
    Status { state, error }
}

#[cfg(test)]
mod tests {
    use relaydeck_contract::pairing::split_writes;

    use super::*;

    fn rpc(board: &SimulatedBoard, command: Command) {
        for w in split_writes(&command.encode().unwrap(), ATT_PAYLOAD) {
            board.write(improv::RPC_COMMAND, &w).unwrap();
        }
    }

    #[test]
    fn wifi_settings_need_the_button_when_the_board_asks_for_it() {
        let board = SimulatedBoard::new(BoardOptions {
            needs_button: true,
            ..Default::default()
        });
        let wifi = Command::WifiSettings {
            ssid: "Home".into(),
            password: "secret".into(),
        };
        rpc(&board, wifi.clone());
        assert_eq!(board.read(improv::ERROR_STATE).unwrap(), [0x04]);
        board.press_button();
        rpc(&board, wifi);
        assert_eq!(board.read(improv::ERROR_STATE).unwrap(), [0x00]);
        assert_eq!(board.read(improv::CURRENT_STATE).unwrap(), [0x04]);
        assert_eq!(board.wifi(), Some(("Home".into(), "secret".into())));
    }

    #[test]
    fn a_scan_answers_ssid_rssi_auth_triples() {
        let board = SimulatedBoard::new(BoardOptions::default());
        rpc(&board, Command::Scan);
        let r = RpcResult::decode(&board.read(improv::RPC_RESULT).unwrap()).unwrap();
        assert_eq!(r.command, 0x04);
        assert_eq!(r.strings[..3], ["Porch Wi-Fi", "-48", "WPA2"]);
    }

    #[test]
    fn a_board_refuses_what_a_real_one_refuses() {
        let board = SimulatedBoard::new(BoardOptions::default());
        assert_eq!(
            board.write(improv::RPC_COMMAND, &[0; 21]),
            Err(GattError::TooLong(21))
        );
        assert!(matches!(
            board.write(improv::CURRENT_STATE, &[1]),
            Err(GattError::NotWritable(_))
        ));
        assert!(matches!(board.read("nope"), Err(GattError::Unknown(_))));
        board.write(provision::CONFIG, &[3, 1, 0]).unwrap();
        assert_eq!(
            board.read(provision::STATUS).unwrap(),
            [
                ProvisionState::Failed as u8,
                ProvisionError::OutOfOrder as u8
            ]
        );
    }
}
