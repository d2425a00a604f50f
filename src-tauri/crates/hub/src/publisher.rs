//! The right to publish into one stream.

use std::sync::Arc;

use tokio::sync::watch;

use crate::{error::HubError, frame::VideoFrame, stream::VideoStream};

/// Held by whoever publishes a stream (a camera's socket, the test pattern).
///
/// A newer publisher for the same ID takes the stream over: this lease then
/// refuses to publish and [`PublisherLease::superseded`] resolves, so the
/// edge can close its connection with a reason. Dropping the lease marks the
/// stream offline; its last frame stays available until the idle sweep.
#[derive(Debug)]
pub struct PublisherLease {
    stream: Arc<VideoStream>,
    lease: u64,
    superseded: watch::Receiver<bool>,
}

impl PublisherLease {
    pub(crate) fn new(
        stream: Arc<VideoStream>,
        lease: u64,
        superseded: watch::Receiver<bool>,
    ) -> Self {
        Self {
            stream,
            lease,
            superseded,
        }
    }

    pub fn stream(&self) -> &Arc<VideoStream> {
        &self.stream
    }

    /// Validates the JPEG, stores it in the ring and offers it to every viewer.
    pub fn publish(&self, jpeg: &[u8]) -> Result<VideoFrame, HubError> {
        self.stream.publish(self.lease, jpeg)
    }

    pub fn is_superseded(&self) -> bool {
        *self.superseded.borrow()
    }

    /// Resolves once another publisher has taken this stream over.
    /// An owned signal that turns `true` once another publisher has taken
    /// over (for a select loop that cannot borrow the lease).
    pub fn superseded_signal(&self) -> watch::Receiver<bool> {
        self.superseded.clone()
    }

    pub async fn superseded(&self) {
        let mut rx = self.superseded.clone();
        // An error means the stream is gone, which also ends this lease.
        let _ = rx.wait_for(|s| *s).await;
    }
}

impl Drop for PublisherLease {
    fn drop(&mut self) {
        self.stream.detach_publisher(self.lease);
    }
}
