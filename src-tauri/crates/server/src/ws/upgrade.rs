//! The WebSocket handshake as an axum extractor.

use std::future::Future;

use axum::{
    body::Body,
    extract::FromRequestParts,
    http::{header, request::Parts, HeaderValue},
    response::{IntoResponse, Response},
};
use fastwebsockets::upgrade::IncomingUpgrade;

use crate::{
    error::ApiError,
    state::MediaState,
    ws::conn::{WsConn, WsLimits},
};

/// A request to open a WebSocket.
pub struct WsUpgrade {
    inner: IncomingUpgrade,
    protocol: Option<HeaderValue>,
    /// The connection's place under the connection caps, kept while the socket lives.
    permit: Option<std::sync::Arc<crate::limits::ConnectionPermit>>,
}

impl<S: Send + Sync> FromRequestParts<S> for WsUpgrade {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let wants_ws = parts
            .headers
            .get(header::UPGRADE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
        if !wants_ws {
            return Err(ApiError::UpgradeRequired);
        }
        let protocol = first_protocol(parts.headers.get(header::SEC_WEBSOCKET_PROTOCOL));
        let inner = IncomingUpgrade::from_request_parts(parts, state).await.map_err(|_| {
            ApiError::BadRequest("invalid WebSocket handshake (needs Sec-WebSocket-Key and Sec-WebSocket-Version: 13)".into())
        })?;
        let permit = parts
            .extensions
            .get::<std::sync::Arc<crate::limits::ConnectionPermit>>()
            .cloned();
        Ok(Self {
            inner,
            protocol,
            permit,
        })
    }
}

/// The first token of `Sec-WebSocket-Protocol`. Answering with the client's
/// own first choice means a handshake never fails over a subprotocol.
fn first_protocol(value: Option<&HeaderValue>) -> Option<HeaderValue> {
    let first = value?
        .to_str()
        .ok()?
        .split(',')
        .map(str::trim)
        .find(|p| !p.is_empty())?;
    HeaderValue::from_str(first).ok()
}

impl WsUpgrade {
    /// Completes the handshake and runs `handler` on the socket, tracked by
    /// the server so shutdown can wait for it.
    pub fn on_upgrade<F, Fut>(self, state: &MediaState, limits: WsLimits, handler: F) -> Response
    where
        F: FnOnce(WsConn) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (response, upgraded) = match self.inner.upgrade() {
            Ok(pair) => pair,
            Err(e) => {
                return ApiError::BadRequest(format!("WebSocket upgrade failed: {e}"))
                    .into_response()
            }
        };
        let write_timeout = state.config.ws_timeout;
        let permit = self.permit;
        state.tasks.spawn(async move {
            let _permit = permit;
            match upgraded.await {
                Ok(ws) => handler(WsConn::new(ws, limits, write_timeout)).await,
                Err(e) => tracing::debug!("WebSocket upgrade did not complete: {e}"),
            }
        });
        let mut response = response.map(Body::new);
        if let Some(p) = self.protocol {
            response
                .headers_mut()
                .insert(header::SEC_WEBSOCKET_PROTOCOL, p);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_with_the_clients_first_subprotocol() {
        let v = HeaderValue::from_static("relaydeck.v1, binary");
        assert_eq!(first_protocol(Some(&v)).unwrap(), "relaydeck.v1");
        assert_eq!(
            first_protocol(Some(&HeaderValue::from_static(" , x"))).unwrap(),
            "x"
        );
        assert!(first_protocol(None).is_none());
    }
}
