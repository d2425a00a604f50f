//! Pairing a board over Bluetooth LE from this process: the native path the
//! desktop app takes (its webview has no Web Bluetooth). The same steps,
//! messages and timeouts as the `/pair` page (`ui/src/pages/pair.ts`), over
//! the contract's Rust codec.
//!
//! The flow sees a board only through [`BoardLink`] (read and write a
//! characteristic): the desktop shell implements it with btleplug, the tests
//! with a simulated board. It reaches the relay only through [`Registrar`]
//! (register the board, revoke it if the pairing is abandoned, see whether it
//! came online), which the relay implements over its device registry.
//!
//! [`Pairing`] runs the steps; [`PairingSession`] holds one pairing between
//! the calls the desktop window makes (open the board, scan or identify,
//! provision, cancel). Every wait is cancellable, and a cancel or failure
//! after the board was registered revokes it again.

use std::{future::Future, time::Duration};

use relaydeck_contract::pairing::{
    improv::{self, Command, ErrorState, RpcResult, ScannedNetwork, State},
    provision::{self, ProvisionState, RelayConfig, Status},
    split_writes, CodecError,
};
use tokio_util::sync::CancellationToken;

mod session;
pub use session::PairingSession;

/// A board's GATT characteristics.
pub trait BoardLink: Send + Sync {
    fn read(
        &self,
        service: &str,
        characteristic: &str,
    ) -> impl Future<Output = Result<Vec<u8>, PairError>> + Send;
    /// One write with response.
    fn write(
        &self,
        service: &str,
        characteristic: &str,
        bytes: &[u8],
    ) -> impl Future<Output = Result<(), PairError>> + Send;
}

/// What the flow needs of the relay.
pub trait Registrar: Send + Sync {
    /// A device for `board_id` (re-paired when known): its relay settings.
    fn register(
        &self,
        board_id: &str,
        name: &str,
    ) -> impl Future<Output = Result<Registered, PairError>> + Send;
    /// Undoes [`Registrar::register`] for a pairing that did not finish.
    fn abandon(&self, registered: &Registered) -> impl Future<Output = ()> + Send;
    fn is_online(&self, device_id: &str) -> impl Future<Output = bool> + Send;
}

/// A registered board: what it is told, and whether it was known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registered {
    pub config: RelayConfig,
    pub repaired: bool,
}

/// The steps, as the UI lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    ReadBoard,
    Authorize,
    Register,
    SendWifi,
    SendRelaySettings,
    WaitForBoard,
    Online,
}

impl Step {
    /// The step's name, as the `/pair` page lists it.
    pub fn label(self) -> &'static str {
        match self {
            Self::ReadBoard => "Read the board",
            Self::Authorize => "Authorize",
            Self::Register => "Register the board",
            Self::SendWifi => "Send the Wi-Fi",
            Self::SendRelaySettings => "Send the relay settings",
            Self::WaitForBoard => "Wait for the board",
            Self::Online => "Online",
        }
    }
}

/// What the flow tells its caller as it goes.
#[derive(Debug, Clone, PartialEq)]
pub enum PairEvent {
    Started(Step),
    Done(Step, String),
    /// A step this board does not need.
    Skipped(Step, String),
    /// Something the user must do (press the board's button).
    Prompt(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PairError {
    #[error("Bluetooth: {0}")]
    Link(String),
    /// No Bluetooth to pair with, said as a person can act on it.
    #[error("{0}")]
    Unavailable(String),
    #[error("the board sent an invalid packet: {0}")]
    Codec(#[from] CodecError),
    #[error("{0}")]
    Board(String),
    #[error("{0}")]
    Timeout(String),
    #[error("the relay: {0}")]
    Relay(String),
    #[error("pairing was cancelled")]
    Cancelled,
}

/// How long each wait may take (the page's figures).
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub authorize: Duration,
    pub rpc: Duration,
    /// A Wi-Fi scan (a board may take several seconds).
    pub scan: Duration,
    pub wifi: Duration,
    pub relay_settings: Duration,
    pub online: Duration,
    pub poll: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            authorize: Duration::from_secs(60),
            rpc: Duration::from_secs(5),
            scan: Duration::from_secs(10),
            wifi: Duration::from_secs(30),
            relay_settings: Duration::from_secs(10),
            online: Duration::from_secs(30),
            poll: Duration::from_millis(250),
        }
    }
}

/// What the board said about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoardFacts {
    pub board_id: String,
    pub name: String,
    pub capabilities: improv::Capabilities,
    /// Firmware, version, chip, name (when the board offers device info).
    pub info: Vec<String>,
}

/// A pairing in progress with one board. Every wait ends at its timeout or
/// when `cancel` is cancelled, whichever comes first.
pub struct Pairing<'a, L: BoardLink, R: Registrar> {
    pub link: &'a L,
    pub relay: &'a R,
    pub timeouts: Timeouts,
    pub cancel: CancellationToken,
}

impl<'a, L: BoardLink, R: Registrar> Pairing<'a, L, R> {
    /// A pairing with the page's timeouts, cancelled by nothing but itself.
    pub fn new(link: &'a L, relay: &'a R) -> Self {
        Self {
            link,
            relay,
            timeouts: Timeouts::default(),
            cancel: CancellationToken::new(),
        }
    }

    /// `work`, unless the pairing is cancelled first.
    async fn guarded<T>(
        &self,
        work: impl Future<Output = Result<T, PairError>>,
    ) -> Result<T, PairError> {
        tokio::select! {
            biased;
            _ = self.cancel.cancelled() => Err(PairError::Cancelled),
            r = work => r,
        }
    }

    /// Polls `check` until it yields a value; `Timeout(message)` after `limit`.
    async fn until<T, F, Fut>(
        &self,
        limit: Duration,
        message: &str,
        mut check: F,
    ) -> Result<T, PairError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<Option<T>, PairError>>,
    {
        let end = tokio::time::Instant::now() + limit;
        self.guarded(async {
            loop {
                if let Some(v) = check().await? {
                    return Ok(v);
                }
                if tokio::time::Instant::now() >= end {
                    return Err(PairError::Timeout(message.to_owned()));
                }
                tokio::time::sleep(self.timeouts.poll).await;
            }
        })
        .await
    }

    async fn byte(&self, service: &str, characteristic: &str) -> Result<u8, PairError> {
        let b = self.link.read(service, characteristic).await?;
        b.first()
            .copied()
            .ok_or_else(|| PairError::Board(format!("characteristic {characteristic} is empty")))
    }

    async fn send(&self, command: &Command) -> Result<(), PairError> {
        for w in split_writes(&command.encode()?, 20) {
            self.guarded(self.link.write(improv::SERVICE, improv::RPC_COMMAND, &w))
                .await?;
        }
        Ok(())
    }

    /// One RPC: its writes, then its result within `limit`.
    pub async fn rpc(&self, command: &Command, limit: Duration) -> Result<RpcResult, PairError> {
        self.send(command).await?;
        let id = command.id();
        self.until(limit, "the board did not answer", || async {
            let bytes = self.link.read(improv::SERVICE, improv::RPC_RESULT).await?;
            if bytes.len() < 3 {
                return Ok(None);
            }
            let r = RpcResult::decode(&bytes)?;
            Ok((r.command == id).then_some(r))
        })
        .await
    }

    /// Capabilities, board ID, the provisioning version and device info.
    pub async fn read_board(&self, fallback_name: &str) -> Result<BoardFacts, PairError> {
        let capabilities =
            improv::Capabilities(self.byte(improv::SERVICE, improv::CAPABILITIES).await?);
        let id = self
            .link
            .read(provision::SERVICE, provision::BOARD_ID)
            .await?;
        let board_id = String::from_utf8(id)
            .map_err(|_| PairError::Board("the board ID is not UTF-8".into()))?;
        if board_id.is_empty() || board_id.len() > 64 {
            return Err(PairError::Board(
                "the board's ID is empty or longer than 64 bytes".into(),
            ));
        }
        if self.byte(provision::SERVICE, provision::VERSION).await? < provision::MESSAGE_VERSION {
            return Err(PairError::Board(
                "the board's provisioning service is too old".into(),
            ));
        }
        let info = match capabilities.device_info() {
            true => {
                self.rpc(&Command::DeviceInfo, self.timeouts.rpc)
                    .await?
                    .strings
            }
            false => Vec::new(),
        };
        let name = info
            .get(3)
            .filter(|n| !n.is_empty())
            .cloned()
            .unwrap_or_else(|| fallback_name.to_owned());
        Ok(BoardFacts {
            board_id,
            name,
            capabilities,
            info,
        })
    }

    /// Waits for the user to press the board's button, when it asks for it;
    /// whether it asked.
    pub async fn authorize(&self, events: &mut impl FnMut(PairEvent)) -> Result<bool, PairError> {
        if State::from_byte(self.byte(improv::SERVICE, improv::CURRENT_STATE).await?)
            != Some(State::AuthorizationRequired)
        {
            return Ok(false);
        }
        events(PairEvent::Prompt(
            "Press the button on the board to allow pairing (within a minute).".into(),
        ));
        self.until(
            self.timeouts.authorize,
            "the board's button was not pressed within a minute",
            || async {
                let s = State::from_byte(self.byte(improv::SERVICE, improv::CURRENT_STATE).await?);
                Ok((s != Some(State::AuthorizationRequired)).then_some(()))
            },
        )
        .await?;
        Ok(true)
    }

    /// The networks the board sees, strongest first (when it can scan).
    pub async fn networks(&self, facts: &BoardFacts) -> Result<Vec<ScannedNetwork>, PairError> {
        if !facts.capabilities.scan() {
            return Err(PairError::Board(
                "this board cannot scan for networks: type the Wi-Fi's name".into(),
            ));
        }
        let result = self.rpc(&Command::Scan, self.timeouts.scan).await?;
        Ok(improv::scanned_networks(&result)?)
    }

    /// Asks the board to blink or beep (when it can); it answers nothing.
    pub async fn identify(&self, facts: &BoardFacts) -> Result<(), PairError> {
        if !facts.capabilities.identify() {
            return Err(PairError::Board("this board cannot identify itself".into()));
        }
        self.send(&Command::Identify).await
    }

    /// Improv's Wi-Fi settings, then "provisioned" (or the board's error).
    pub async fn send_wifi(&self, command: &Command, ssid: &str) -> Result<(), PairError> {
        self.send(command).await?;
        self.until(
            self.timeouts.wifi,
            "the board did not report joining the Wi-Fi within 30 s",
            || async {
                match ErrorState::from_byte(self.byte(improv::SERVICE, improv::ERROR_STATE).await?)
                {
                    ErrorState::UnableToConnect => {
                        return Err(PairError::Board(format!(
                            "the board could not join {ssid}: check the name and password"
                        )))
                    }
                    ErrorState::NotAuthorized => {
                        return Err(PairError::Board(
                            "the board is no longer authorized: press its button and start again"
                                .into(),
                        ))
                    }
                    _ => {}
                }
                let s = State::from_byte(self.byte(improv::SERVICE, improv::CURRENT_STATE).await?);
                Ok((s == Some(State::Provisioned)).then_some(()))
            },
        )
        .await
    }

    /// The provisioning message in chunks, then "stored".
    pub async fn send_relay_settings(&self, config: &RelayConfig) -> Result<(), PairError> {
        for c in config.chunks()? {
            self.guarded(self.link.write(provision::SERVICE, provision::CONFIG, &c))
                .await?;
        }
        self.until(
            self.timeouts.relay_settings,
            "the board did not confirm the relay settings within 10 s",
            || async {
                let s = Status::decode(
                    &self
                        .link
                        .read(provision::SERVICE, provision::STATUS)
                        .await?,
                )?;
                match s.state {
                    ProvisionState::Failed => Err(PairError::Board(format!(
                        "the board refused the relay settings ({:?})",
                        s.error
                    ))),
                    ProvisionState::Stored
                    | ProvisionState::Connecting
                    | ProvisionState::Online => Ok(Some(())),
                    _ => Ok(None),
                }
            },
        )
        .await
    }

    /// The steps before the Wi-Fi: read the board, and its button when it
    /// asks for one.
    pub async fn prepare(
        &self,
        fallback_name: &str,
        mut events: impl FnMut(PairEvent),
    ) -> Result<BoardFacts, PairError> {
        events(PairEvent::Started(Step::ReadBoard));
        let facts = self.guarded(self.read_board(fallback_name)).await?;
        let detail = match facts.info.as_slice() {
            [fw, version, chip, ..] => format!("{} ({fw} {version}, {chip})", facts.name),
            _ => facts.name.clone(),
        };
        events(PairEvent::Done(Step::ReadBoard, detail));
        events(PairEvent::Started(Step::Authorize));
        match self.authorize(&mut events).await? {
            true => events(PairEvent::Done(Step::Authorize, "authorized".into())),
            false => events(PairEvent::Skipped(Step::Authorize, "not needed".into())),
        }
        Ok(facts)
    }

    /// The steps after the Wi-Fi was chosen: register the board, send it the
    /// Wi-Fi and the relay settings, wait for its hello. The device
    /// registered for it is abandoned again when a later step fails or the
    /// pairing is cancelled.
    pub async fn provision(
        &self,
        facts: &BoardFacts,
        ssid: &str,
        password: &str,
        mut events: impl FnMut(PairEvent),
    ) -> Result<Registered, PairError> {
        // A Wi-Fi the board cannot take is refused before anything is made.
        let wifi = Command::WifiSettings {
            ssid: ssid.into(),
            password: password.into(),
        };
        if ssid.is_empty() || wifi.encode().is_err() {
            return Err(PairError::Board(format!(
                "a Wi-Fi name is 1 to {} bytes and a password at most {}",
                improv::MAX_SSID,
                improv::MAX_PASSWORD
            )));
        }
        events(PairEvent::Started(Step::Register));
        let registered = self
            .guarded(self.relay.register(&facts.board_id, &facts.name))
            .await?;
        let detail = match registered.repaired {
            true => format!(
                "known as {}: paired again with a new token",
                registered.config.device_id
            ),
            false => format!("added as {}", registered.config.device_id),
        };
        events(PairEvent::Done(Step::Register, detail));
        let rest = async {
            events(PairEvent::Started(Step::SendWifi));
            self.send_wifi(&wifi, ssid).await?;
            events(PairEvent::Done(Step::SendWifi, format!("joined {ssid}")));
            events(PairEvent::Started(Step::SendRelaySettings));
            self.send_relay_settings(&registered.config).await?;
            events(PairEvent::Done(Step::SendRelaySettings, String::new()));
            events(PairEvent::Started(Step::WaitForBoard));
            let id = &registered.config.device_id;
            self.until(
                self.timeouts.online,
                "the board did not connect to the relay within 30 s",
                || async { Ok(self.relay.is_online(id).await.then_some(())) },
            )
            .await?;
            events(PairEvent::Done(Step::WaitForBoard, String::new()));
            events(PairEvent::Done(Step::Online, id.clone()));
            Ok::<_, PairError>(())
        };
        if let Err(e) = rest.await {
            self.relay.abandon(&registered).await;
            return Err(e);
        }
        Ok(registered)
    }

    /// The whole flow for a board whose Wi-Fi is known beforehand.
    pub async fn run(
        &self,
        fallback_name: &str,
        ssid: &str,
        password: &str,
        mut events: impl FnMut(PairEvent),
    ) -> Result<Registered, PairError> {
        let facts = self.prepare(fallback_name, &mut events).await?;
        self.provision(&facts, ssid, password, events).await
    }
}

/// The relay as the native path's [`Registrar`]: its device registry and
/// devkit ports, the same as `POST /api/devices` with a `boardId`.
pub struct RelayRegistrar(pub crate::state::DeviceState);

impl Registrar for RelayRegistrar {
    async fn register(&self, board_id: &str, name: &str) -> Result<Registered, PairError> {
        let s = &self.0;
        let hub = s.hub.clone();
        let (record, token, repaired) = s
            .devices
            .pair(board_id, None, name, |id| hub.is_reserved(id))
            .map_err(|e| PairError::Relay(e.to_string()))?;
        if repaired {
            s.devkits.disconnect(
                &record.device_id,
                "revoked",
                "the board was paired again with a new token",
            );
        }
        let hosts = crate::api::devices::devkit_hosts(s).lan;
        let (Some(tcp), Some(udp)) = (s.devkits.tcp_addr(), s.devkits.udp_addr()) else {
            return Err(PairError::Relay("the devkit ports are off".into()));
        };
        if hosts.is_empty() {
            return Err(PairError::Relay("boards on the network cannot reach this relay (devkitLan is off, or this computer has no network address)".into()));
        }
        let tls_fingerprint = s.devkits.tls_fingerprint().map(|f| {
            let bytes: Vec<u8> = f
                .split(':')
                .filter_map(|b| u8::from_str_radix(b, 16).ok())
                .collect();
            <[u8; 32]>::try_from(bytes).expect("a SHA-256 fingerprint")
        });
        Ok(Registered {
            config: RelayConfig {
                hosts: hosts.into_iter().take(4).collect(),
                tcp_port: tcp.port(),
                udp_port: udp.port(),
                device_id: record.device_id,
                token,
                tls_fingerprint,
            },
            repaired,
        })
    }

    async fn abandon(&self, r: &Registered) {
        // A re-paired board keeps its record (its old token is gone either way).
        if !r.repaired && self.0.devices.revoke(&r.config.device_id).is_ok() {
            self.0.hub.remove_audio_source(&r.config.device_id);
        }
    }

    async fn is_online(&self, device_id: &str) -> bool {
        self.0.devkits.session_info(device_id).is_some()
    }
}

#[cfg(test)]
mod tests;
