//! Finding what a request names, shared by every edge that serves it: an
//! audio source (present, or a registered devkit not connected yet) and the
//! `backlogMs` a listener asks for.

use std::{sync::Arc, time::Duration};

use relaydeck_hub::{AudioSource, SourceKind, StreamId};

use crate::state::MediaState;

/// The source to listen to: a present source, or a registered device that
/// has not connected yet (the listener waits for it).
pub fn find_audio_source(state: &MediaState, id: &str) -> Result<Arc<AudioSource>, String> {
    let sid = StreamId::new(id).map_err(|e| format!("invalid source: {e}"))?;
    if let Some(s) = state.hub.audio_source(id) {
        return Ok(s);
    }
    if state.devices.contains(id) {
        return Ok(state.hub.audio_source_or_create(&sid, SourceKind::Remote));
    }
    Err(format!("unknown audio source '{id}'"))
}

/// `?backlogMs=`: 0 up to the ring's length.
pub fn parse_backlog(ring: Duration, raw: Option<&str>) -> Result<Duration, String> {
    let Some(raw) = raw else {
        return Ok(Duration::ZERO);
    };
    let max = ring.as_millis() as u64;
    match raw.parse::<u64>() {
        Ok(ms) if ms <= max => Ok(Duration::from_millis(ms)),
        _ => Err(format!(
            "backlogMs must be a whole number from 0 to {max}, not '{raw}'"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backlog_is_bounded_by_the_ring() {
        let ring = Duration::from_secs(5);
        assert_eq!(parse_backlog(ring, None), Ok(Duration::ZERO));
        assert_eq!(
            parse_backlog(ring, Some("5000")),
            Ok(Duration::from_secs(5))
        );
        for bad in ["5001", "-1", "1.5", "", "x"] {
            assert!(parse_backlog(ring, Some(bad)).is_err(), "{bad:?}");
        }
    }
}
