//! One native pairing as the desktop window drives it, a call at a time:
//! open the board (read it, wait for its button), then — while the user
//! types the Wi-Fi or picks it from the board's scan — scan or identify,
//! then provision it. Cancel works at any point, and undoes what was made.
//!
//! The session keeps the steps so far, so the window can show them while a
//! call is still running.

use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use relaydeck_contract::pairing::improv::ScannedNetwork;
use tokio_util::sync::CancellationToken;

use super::{
    BoardFacts, BoardLink, PairError, PairEvent, Pairing, Registered, Registrar, Timeouts,
};

pub struct PairingSession<L: BoardLink, R: Registrar> {
    link: L,
    relay: R,
    timeouts: Timeouts,
    cancel: CancellationToken,
    facts: Mutex<Option<BoardFacts>>,
    events: Mutex<Vec<PairEvent>>,
    /// A provisioning is running or succeeded (a failed one may be retried,
    /// with another Wi-Fi, say).
    provisioning: AtomicBool,
}

impl<L: BoardLink, R: Registrar> PairingSession<L, R> {
    pub fn new(link: L, relay: R, timeouts: Timeouts) -> Self {
        Self {
            link,
            relay,
            timeouts,
            cancel: CancellationToken::new(),
            facts: Mutex::new(None),
            events: Mutex::new(Vec::new()),
            provisioning: AtomicBool::new(false),
        }
    }

    fn pairing(&self) -> Pairing<'_, L, R> {
        Pairing {
            link: &self.link,
            relay: &self.relay,
            timeouts: self.timeouts,
            cancel: self.cancel.clone(),
        }
    }

    fn log(&self) -> impl FnMut(PairEvent) + '_ {
        |e| self.events.lock().push(e)
    }

    fn opened(&self) -> Result<BoardFacts, PairError> {
        if self.cancel.is_cancelled() {
            return Err(PairError::Cancelled);
        }
        self.facts
            .lock()
            .clone()
            .ok_or_else(|| PairError::Board("no board is open: find a board first".into()))
    }

    /// Reads the board and waits for its button (when it asks for one).
    pub async fn open(&self, fallback_name: &str) -> Result<BoardFacts, PairError> {
        let facts = self.pairing().prepare(fallback_name, self.log()).await?;
        *self.facts.lock() = Some(facts.clone());
        Ok(facts)
    }

    /// The networks the open board sees.
    pub async fn networks(&self) -> Result<Vec<ScannedNetwork>, PairError> {
        let facts = self.opened()?;
        self.pairing().networks(&facts).await
    }

    /// Makes the open board blink or beep.
    pub async fn identify(&self) -> Result<(), PairError> {
        let facts = self.opened()?;
        self.pairing().identify(&facts).await
    }

    /// Registers the open board and gives it the Wi-Fi and the relay's
    /// settings; done once it said hello to the relay.
    pub async fn provision(&self, ssid: &str, password: &str) -> Result<Registered, PairError> {
        let facts = self.opened()?;
        if self.provisioning.swap(true, Ordering::SeqCst) {
            return Err(PairError::Board(
                "this board is being sent its settings already".into(),
            ));
        }
        let result = self
            .pairing()
            .provision(&facts, ssid, password, self.log())
            .await;
        if result.is_err() {
            self.provisioning.store(false, Ordering::SeqCst);
        }
        result
    }

    /// Ends whatever the session is doing; a device registered for it that
    /// has not come online is revoked (by the call that was running).
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// The steps so far.
    pub fn events(&self) -> Vec<PairEvent> {
        self.events.lock().clone()
    }

    /// The board's link (to disconnect it when the session ends).
    pub fn link(&self) -> &L {
        &self.link
    }

    pub fn relay(&self) -> &R {
        &self.relay
    }
}
