//! Signing in and out, the bootstrap exchange, and API tokens.
//!
//! `GET /login` is a plain server-rendered page (no script) that posts a
//! form to `POST /api/login`, which also takes JSON.

use std::{net::SocketAddr, time::Duration};

use axum::{
    body::Body,
    extract::{ConnectInfo, State},
    http::{header, HeaderMap, HeaderValue, StatusCode},
    response::{Html, IntoResponse, Response},
    routing::{delete, get, post},
    Json, Router,
};

use crate::{
    auth::{
        cookie::CookieSigner, guard::cookie_value, query::Params, Access, AuthError, Scope,
        StoreError, MAX_TOKEN_LIFETIME,
    },
    body::{self, JsonBody},
    error::ApiError,
    state::{AccountState, AppState},
};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/bootstrap", post(bootstrap))
        .route("/tokens", get(list_tokens).post(create_token))
        .route("/tokens/{id}", delete(revoke_token))
}

/// `GET /login`, mounted at the root.
pub fn page_router() -> Router<AppState> {
    Router::new().route("/login", get(login_page))
}

/// Security headers for every page the server renders.
pub fn page_headers(h: &mut HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Where to go after signing in: only a path on this origin, of a strict
/// character set (RFC 3986's path, query and fragment characters, no
/// backslash, nothing below space), that does not start with `//` or `/\`
/// once percent-decoded (browsers read those as another host). Anything
/// else goes to `/`. `ui/src/login.ts` applies the same rule.
pub fn safe_next(next: Option<&str>) -> String {
    const ALLOWED: &[u8] = b"-._~!$&'()*+,;=:@/?#%";
    let ok = |n: &str| {
        let decoded = crate::auth::query::decode(n, false).unwrap_or_default();
        n.len() <= 2048
            && n.starts_with('/')
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || ALLOWED.contains(&b))
            && decoded.starts_with('/')
            && !decoded.starts_with("//")
            && !decoded.contains('\\')
            && !decoded.chars().any(char::is_control)
    };
    match next {
        Some(n) if ok(n) => n.to_owned(),
        _ => "/".to_owned(),
    }
}

fn render_login(next: &str, error: Option<&str>) -> Response {
    let error = error
        .map(|e| format!(r#"<p class="error" role="alert">{}</p>"#, escape(e)))
        .unwrap_or_default();
    let html = format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Relay Deck</title><style>
body{{margin:0;min-height:100vh;display:grid;place-items:center;background:#0f141b;color:#e6edf3;font:16px system-ui,sans-serif}}
form{{background:#182029;padding:2rem;border-radius:12px;width:min(22rem,90vw);box-shadow:0 8px 30px #0006}}
h1{{margin:0 0 1.25rem;font-size:1.3rem}} label{{display:block;margin-bottom:.4rem;color:#9fb0c0}}
input{{box-sizing:border-box;width:100%;padding:.7rem;border-radius:8px;border:1px solid #314050;background:#0f141b;color:inherit;font-size:1rem}}
button{{margin-top:1rem;width:100%;padding:.75rem;border:0;border-radius:8px;background:#2f81f7;color:#fff;font-size:1rem;cursor:pointer}}
.error{{background:#4a1d24;color:#ffb4b4;padding:.6rem .8rem;border-radius:8px}} .hint{{color:#7d8b99;font-size:.85rem;margin-top:1rem}}
</style></head><body><form method="post" action="/api/login">
<h1>Relay Deck</h1>{error}
<label for="password">Admin password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required autofocus>
<input type="hidden" name="next" value="{next}">
<button type="submit">Sign in</button>
<p class="hint">The password was printed when the server first started (or set with --admin-password).</p>
</form></body></html>"#,
        next = escape(next)
    );
    let mut resp = Html(html).into_response();
    page_headers(resp.headers_mut());
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// The UI's sign-in page when the UI is built (it also signs the desktop
/// window in with its bootstrap code); else a plain form that needs no script.
async fn login_page(params: Params) -> Response {
    if let Some(page) = crate::ui::login_page() {
        return page;
    }
    render_login(&safe_next(params.get("next")), params.get("error"))
}

use relaydeck_contract::api::{
    Bootstrap, CreatedToken, Login as LoginForm, NewToken, Ok as OkBody, RevokedToken, TokenInfo,
    TokenList,
};

fn session_response(state: &AccountState, mut resp: Response) -> Response {
    let cookie = state.auth.cookies.issue();
    let set = CookieSigner::set_cookie(&cookie, state.config.tls_enabled());
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&set).expect("ASCII cookie"),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// The sign-in form, as JSON or (the page without script) form-encoded.
async fn login_form(
    state: &AccountState,
    headers: &HeaderMap,
    body: Body,
) -> Result<(LoginForm, bool), ApiError> {
    let media = body::media_type(headers).unwrap_or_default();
    let is_form = media == "application/x-www-form-urlencoded";
    if !is_form && !body::is_json_media_type(&media) {
        return Err(ApiError::UnsupportedMediaType(if media.is_empty() {
            "no Content-Type".into()
        } else {
            media
        }));
    }
    let bytes = body::read(body, state.config.max_body_bytes).await?;
    let form = if is_form {
        urlencoded(&bytes)?
    } else {
        body::parse(&bytes)?
    };
    Ok((form, is_form))
}

async fn login(
    State(state): State<AccountState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (form, is_form) = match login_form(&state, &headers, body).await {
        Ok(f) => f,
        Err(e) => return e.into_response(),
    };
    let next = safe_next(form.next.as_deref());
    let outcome = match state
        .auth
        .check_admin_password(peer.ip(), &form.password, false)
        .await
    {
        Ok(true) => Ok(()),
        Ok(false) => Err(ApiError::WrongPassword),
        Err(wait) => Err(ApiError::TooManyAttempts(wait)),
    };
    match (outcome, is_form) {
        (Ok(()), false) => session_response(&state, Json(OkBody::YES).into_response()),
        (Ok(()), true) => {
            let mut resp = StatusCode::SEE_OTHER.into_response();
            resp.headers_mut().insert(
                header::LOCATION,
                HeaderValue::from_str(&next).unwrap_or(HeaderValue::from_static("/")),
            );
            session_response(&state, resp)
        }
        (Err(e), false) => e.into_response(),
        (Err(e), true) => {
            let status = e.into_response().status();
            let mut resp = render_login(
                &next,
                Some(&match status {
                    StatusCode::TOO_MANY_REQUESTS => {
                        "Too many attempts from this address; wait a minute and try again."
                            .to_owned()
                    }
                    _ => "Wrong password.".to_owned(),
                }),
            );
            *resp.status_mut() = status;
            resp
        }
    }
}

/// `password=…&next=…` into a [`LoginForm`] (the same decoding as every query string).
fn urlencoded(body: &[u8]) -> Result<LoginForm, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::BadRequest("the form is not UTF-8".into()))?;
    let fields = Params::parse(Some(text))?;
    let password = fields
        .get("password")
        .ok_or_else(|| ApiError::BadRequest("expected password=…".into()))?;
    Ok(LoginForm {
        password: password.to_owned(),
        next: fields.get("next").map(str::to_owned),
    })
}

async fn logout(State(state): State<AccountState>, headers: HeaderMap) -> Response {
    if let Some(c) = cookie_value(&headers, crate::auth::cookie::COOKIE_NAME) {
        state.auth.cookies.revoke(c);
    }
    let mut resp = Json(OkBody::YES).into_response();
    resp.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&CookieSigner::clear_cookie(state.config.tls_enabled()))
            .expect("ASCII"),
    );
    resp
}

async fn bootstrap(
    State(state): State<AccountState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    JsonBody(b): JsonBody<Bootstrap>,
) -> Response {
    if let Err(wait) = state.auth.limiter.check(peer.ip()) {
        return ApiError::TooManyAttempts(wait).into_response();
    }
    if !state.auth.redeem_bootstrap_code(&b.code) {
        state.auth.limiter.failure(peer.ip());
        return ApiError::Forbidden("unknown, used or expired bootstrap code".into())
            .into_response();
    }
    session_response(&state, Json(OkBody::YES).into_response())
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Store(s) => s.into(),
            e @ AuthError::LifetimeTooLong => ApiError::BadRequest(e.to_string()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(id) => ApiError::NotFound(format!("token {id}")),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

async fn list_tokens(State(state): State<AccountState>) -> Json<TokenList> {
    let now = crate::auth::now_ms();
    let tokens = state
        .auth
        .store
        .tokens()
        .iter()
        .map(|t| TokenInfo {
            id: t.id.clone(),
            name: t.name.clone(),
            scope: t.scope,
            ids: t.ids.clone(),
            created_ms: t.created_ms,
            expires_ms: t.expires_ms,
            expired: t.expired(now),
        })
        .collect();
    Json(TokenList { tokens })
}

async fn create_token(
    State(state): State<AccountState>,
    headers: HeaderMap,
    JsonBody(t): JsonBody<NewToken>,
) -> Result<impl IntoResponse, ApiError> {
    if t.name.trim().is_empty() || t.name.len() > 100 {
        return Err(ApiError::BadRequest(
            "a token name must be 1 to 100 characters".into(),
        ));
    }
    if let Some(bad) = t
        .ids
        .iter()
        .flatten()
        .find(|id| relaydeck_hub::StreamId::new(id).is_err())
    {
        return Err(ApiError::BadRequest(format!(
            "invalid camera/source ID '{bad}'"
        )));
    }
    if t.scope == Scope::Metrics && t.ids.is_some() {
        return Err(ApiError::BadRequest(
            "a metrics token reads /metrics only: it names no cameras or sources (leave ids out)"
                .into(),
        ));
    }
    let most = MAX_TOKEN_LIFETIME.as_secs();
    if t.expires_in_sec.is_some_and(|s| s == 0 || s > most) {
        return Err(ApiError::BadRequest(format!(
            "expiresInSec must be from 1 to {most} (ten years)"
        )));
    }
    let (record, secret) = state.auth.create_token(
        t.name.trim(),
        t.scope,
        t.ids,
        t.expires_in_sec.map(Duration::from_secs),
    )?;
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:3000");
    let scheme = if state.config.tls_enabled() {
        "https"
    } else {
        "http"
    };
    let link = match record.scope {
        Scope::View => Some(format!("{scheme}://{host}/?token={secret}")),
        Scope::Publish => Some(format!("{scheme}://{host}/capture?token={secret}")),
        Scope::Admin | Scope::Metrics => None,
    };
    tracing::info!(token = %record.id, scope = ?record.scope, "API token created");
    Ok((
        StatusCode::CREATED,
        Json(CreatedToken {
            id: record.id,
            name: record.name,
            scope: record.scope,
            ids: record.ids,
            created_ms: record.created_ms,
            expires_ms: record.expires_ms,
            token: secret,
            link,
        }),
    ))
}

async fn revoke_token(
    State(state): State<AccountState>,
    access: Access,
) -> Result<Json<RevokedToken>, ApiError> {
    let id = access.id()?.to_string();
    // In a cluster the revocation is NATS's first: acknowledged there, it
    // reaches every node; refused there, nothing changes anywhere.
    if let Some(link) = state.cluster.link() {
        if !state.auth.store.tokens().iter().any(|t| t.id == id) {
            return Err(ApiError::NotFound(format!("token {id}")));
        }
        crate::cluster::credentials::revoke(link, &id)
            .await
            .map_err(ApiError::ClusterUnreachable)?;
        // This node's replica may have applied the delete already.
        match state.revoke_token(&id) {
            Ok(_) | Err(crate::auth::StoreError::NotFound(_)) => state.revocations.revoke(&id),
            Err(e) => return Err(e.into()),
        }
        tracing::info!(token = %id, "API token revoked in the cluster");
        return Ok(Json(RevokedToken { id, revoked: true }));
    }
    state.revoke_token(&id)?;
    tracing::info!(token = %id, "API token revoked");
    Ok(Json(RevokedToken { id, revoked: true }))
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn sign_in_returns_only_to_paths_on_this_origin() {
        for ok in [
            "/",
            "/#/cameras",
            "/?token=abc#/listen",
            "/capture?x=1&y=2",
            "/a%20b",
        ] {
            assert_eq!(safe_next(Some(ok)), ok);
        }
        let long = format!("/{}", "a".repeat(2048));
        let bad = [
            "",
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "/%2F%2Fevil.example",
            "%2F%2Fevil.example",
            "/%5Cevil.example",
            "/a%0d%0aSet-Cookie:x",
            "/a\nb",
            "/a b",
            "/%zz",
            "/%E0%A4%A",
            "javascript:alert(1)",
            &long,
        ];
        for n in bad {
            assert_eq!(safe_next(Some(n)), "/", "{n:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
