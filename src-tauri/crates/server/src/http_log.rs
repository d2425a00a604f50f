//! A request ID on every request, and one log line per answered request.
//!
//! The ID is the caller's `X-Request-Id` when it is a plain token (1–64 of
//! `[A-Za-z0-9._-]`, what proxies such as nginx and Envoy send), otherwise
//! 16 random hex digits. It goes back in the answer's `X-Request-Id` and
//! every log line written while the request is handled carries it (the
//! `request` span). The line itself: method, path, the query with every
//! credential's value replaced by `REDACTED`, status and time; at DEBUG for
//! answers below 400, INFO for refusals, WARN for server errors.

use std::time::Instant;

use axum::{
    extract::Request,
    http::{HeaderName, HeaderValue},
    middleware::Next,
    response::Response,
};
use tracing::Instrument;

pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Query keys whose values are secrets.
const SECRET_KEYS: [&str; 3] = ["token", "pass", "password"];

pub async fn log_request(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| plain_id(v))
        .map_or_else(|| crate::secrets::random_hex(8), str::to_owned);
    let value = HeaderValue::from_str(&id).expect("a plain token is a header value");
    req.headers_mut().insert(REQUEST_ID.clone(), value.clone());
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let query = req.uri().query().map(redact);
    let span = tracing::info_span!("request", request_id = %id);
    let started = Instant::now();
    let mut resp = next.run(req).instrument(span.clone()).await;
    resp.headers_mut().insert(REQUEST_ID.clone(), value);
    let status = resp.status().as_u16();
    let ms = (started.elapsed().as_secs_f64() * 1e6).round() / 1000.0;
    let _in = span.enter();
    let query = query.as_deref().unwrap_or("");
    match status {
        500.. => {
            tracing::warn!(%method, path = %path.escape_default(), query, status, ms, "request")
        }
        400.. => {
            tracing::info!(%method, path = %path.escape_default(), query, status, ms, "request")
        }
        _ => {
            tracing::debug!(%method, path = %path.escape_default(), query, status, ms, "request")
        }
    }
    resp
}

fn plain_id(v: &str) -> bool {
    (1..=64).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// `query` with the value of every secret key (however it is spelt:
/// percent-encoded, any case) replaced, and control characters escaped.
pub fn redact(query: &str) -> String {
    query
        .split('&')
        .map(|pair| {
            let (key, _) = pair.split_once('=').unwrap_or((pair, ""));
            let decoded = percent_decode(key).to_ascii_lowercase();
            if SECRET_KEYS.contains(&decoded.as_str()) {
                format!("{key}=REDACTED")
            } else {
                pair.escape_default().to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_a_query_never_reach_the_log() {
        assert_eq!(
            redact("clientId=cam&token=rdk_secret&%74oken=rdk_two&PASS=x&fps=5"),
            "clientId=cam&token=REDACTED&%74oken=REDACTED&PASS=REDACTED&fps=5"
        );
        assert_eq!(redact("token"), "token=REDACTED");
        assert_eq!(redact("a=\n"), "a=\\n");
    }

    #[test]
    fn only_plain_request_ids_are_taken_from_the_caller() {
        assert!(plain_id("abc-123_4.5"));
        assert!(!plain_id(""));
        assert!(!plain_id("a b"));
        assert!(!plain_id(&"x".repeat(65)));
        assert!(!plain_id("id\r\nSet-Cookie: x"));
    }
}
