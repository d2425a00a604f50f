//! Bluetooth LE through btleplug (BlueZ on Linux, CoreBluetooth, WinRT): the
//! desktop app's own way to pair a board, since its webview has no Web
//! Bluetooth. This file only adapts btleplug to the flow's
//! [`BoardLink`]; the steps are `relaydeck_server::edges::pairing`, the same
//! as the `/pair` page's.

use std::time::Duration;

use btleplug::{
    api::{Central, Characteristic, Manager as _, Peripheral, ScanFilter, WriteType},
    platform::{self, Adapter, Manager},
};
use relaydeck_contract::pairing::{improv, provision};
use relaydeck_server::edges::pairing::{BoardLink, PairError};
use serde::Serialize;
use uuid::Uuid;

/// A board seen advertising the Improv service.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BoardSeen {
    /// btleplug's peripheral ID, as text (what `ble_pair` takes back).
    pub id: String,
    pub name: String,
    pub rssi: Option<i16>,
}

/// Where to pair instead, when this computer cannot.
const ELSEWHERE: &str = "Use \"Pair with your phone\" on this page instead (Chrome on Android, on this computer's Wi-Fi), or open this relay's /pair page in Chrome or Edge on a computer with Bluetooth.";

fn uuid(s: &str) -> Uuid {
    Uuid::parse_str(s).expect("the contract's UUIDs are valid")
}

fn link_error(e: impl std::fmt::Display) -> PairError {
    PairError::Link(e.to_string())
}

/// The first Bluetooth adapter, or a message a person can act on.
async fn adapter() -> Result<Adapter, PairError> {
    let manager = Manager::new().await.map_err(|e| {
        PairError::Unavailable(format!(
            "Bluetooth is not available on this computer ({e}). {ELSEWHERE}"
        ))
    })?;
    manager
        .adapters()
        .await
        .map_err(link_error)?
        .into_iter()
        .next()
        .ok_or_else(|| {
            PairError::Unavailable(format!(
                "This computer has no Bluetooth adapter. {ELSEWHERE}"
            ))
        })
}

/// Scans for `window` and lists the boards offering Improv Wi-Fi.
pub async fn scan(window: Duration) -> Result<Vec<BoardSeen>, PairError> {
    let adapter = adapter().await?;
    adapter
        .start_scan(ScanFilter {
            services: vec![uuid(improv::SERVICE)],
        })
        .await
        .map_err(link_error)?;
    tokio::time::sleep(window).await;
    let _ = adapter.stop_scan().await;
    let mut seen = Vec::new();
    for p in adapter.peripherals().await.map_err(link_error)? {
        let Ok(Some(props)) = p.properties().await else {
            continue;
        };
        if !props.services.contains(&uuid(improv::SERVICE)) {
            continue;
        }
        seen.push(BoardSeen {
            id: p.id().to_string(),
            name: props.local_name.unwrap_or_else(|| "a board".into()),
            rssi: props.rssi,
        });
    }
    seen.sort_by_key(|b| std::cmp::Reverse(b.rssi.unwrap_or(i16::MIN)));
    Ok(seen)
}

/// A connected board with its characteristics discovered: btleplug's
/// platform peripheral in the app, any other implementation of btleplug's
/// `Peripheral` trait in the tests.
pub struct BtleplugBoard<P: Peripheral = platform::Peripheral> {
    peripheral: P,
    characteristics: Vec<Characteristic>,
}

impl BtleplugBoard {
    /// Connects to the board `id` (from [`scan`]).
    pub async fn connect(id: &str) -> Result<Self, PairError> {
        let adapter = adapter().await?;
        let peripheral = adapter
            .peripherals()
            .await
            .map_err(link_error)?
            .into_iter()
            .find(|p| p.id().to_string() == id)
            .ok_or_else(|| PairError::Link("the board is no longer in range; scan again".into()))?;
        Self::attach(peripheral).await
    }
}

impl<P: Peripheral> BtleplugBoard<P> {
    /// Connects to `peripheral` and finds its pairing services.
    pub async fn attach(peripheral: P) -> Result<Self, PairError> {
        tokio::time::timeout(Duration::from_secs(15), peripheral.connect())
            .await
            .map_err(|_| {
                PairError::Timeout("the board did not accept a connection within 15 s".into())
            })?
            .map_err(link_error)?;
        peripheral.discover_services().await.map_err(link_error)?;
        let characteristics = peripheral.characteristics().into_iter().collect::<Vec<_>>();
        for (service, what) in [
            (improv::SERVICE, "no Improv Wi-Fi service"),
            (
                provision::SERVICE,
                "no Relay Deck provisioning service (its firmware is not a Relay Deck devkit)",
            ),
        ] {
            if !characteristics
                .iter()
                .any(|c| c.service_uuid == uuid(service))
            {
                let _ = peripheral.disconnect().await;
                return Err(PairError::Board(format!("the board has {what}")));
            }
        }
        Ok(Self {
            peripheral,
            characteristics,
        })
    }

    fn characteristic(
        &self,
        service: &str,
        characteristic: &str,
    ) -> Result<&Characteristic, PairError> {
        let (s, c) = (uuid(service), uuid(characteristic));
        self.characteristics
            .iter()
            .find(|x| x.service_uuid == s && x.uuid == c)
            .ok_or_else(|| {
                PairError::Board(format!("the board lacks characteristic {characteristic}"))
            })
    }

    pub async fn disconnect(&self) {
        let _ = self.peripheral.disconnect().await;
    }
}

impl<P: Peripheral> BoardLink for BtleplugBoard<P> {
    async fn read(&self, service: &str, characteristic: &str) -> Result<Vec<u8>, PairError> {
        let c = self.characteristic(service, characteristic)?;
        self.peripheral.read(c).await.map_err(link_error)
    }

    async fn write(
        &self,
        service: &str,
        characteristic: &str,
        bytes: &[u8],
    ) -> Result<(), PairError> {
        let c = self.characteristic(service, characteristic)?;
        self.peripheral
            .write(c, bytes, WriteType::WithResponse)
            .await
            .map_err(link_error)
    }
}

#[cfg(test)]
mod tests;
