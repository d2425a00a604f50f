//! Access control: who may watch, listen, publish and administer.
//!
//! * [`store`]: the credentials on disk (admin password hash, cookie key, API tokens).
//! * [`cookie`]: signed session cookies.
//! * [`limiter`]: login attempts per IP.
//! * [`query`]: the one parse of a request's query string.
//! * [`policy`]: the one table that says what every route needs, and `permits`, the one function that decides.
//! * [`guard`]: the middleware that parses, reads the credential and applies the table.
//! * [`access`]: what the guard decided ([`Access`]: principal, target, parameters, end of the
//!   credential), and [`Revocations`], which ends what a revoked or expired token opened.
//! * [`password`]: Argon2 checks off the async workers, with a cache of recent Basic successes.
//! * [`cors`]: same-origin by default; `--cors-allow` origins get CORS headers.
//!
//! Principals: the **admin** (password, session cookie, or an `admin`
//! token) may do everything; a **view** token may watch and listen (its
//! cameras/sources only, when limited); a **publish** token may push under
//! the IDs it names and nothing else; a **pairing pass** (the phone
//! pairing's, [`pairing_pass`]) may register one device and follow it, on
//! the phone pairing's listener only. Devkits authenticate on their own
//! channel with device tokens (`store::devices`).

pub mod access;
pub mod cookie;
pub mod cors;
pub mod guard;
pub mod limiter;
pub mod pairing_pass;
pub mod password;
pub mod policy;
pub mod query;
pub mod store;

use std::{
    collections::{BTreeSet, HashMap},
    net::IpAddr,
    time::{Duration, Instant},
};

use parking_lot::Mutex;

pub use access::{Access, Revocations};
pub use store::{AuthStore, StoreError, TokenRecord};

pub(crate) use crate::secrets::{hex, now_ms, random_bytes, same};

/// What a token may do (a wire type: it is stored and shown as `view`, `publish`, `admin`).
pub use relaydeck_contract::api::Scope;

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Admin,
    Token {
        id: String,
        scope: Scope,
        ids: Option<BTreeSet<String>>,
    },
    /// The phone pairing's pass: `device` is the one it registered, if any.
    Pairing {
        pass: String,
        device: Option<String>,
    },
}

impl Principal {
    fn in_scope(ids: &Option<BTreeSet<String>>, id: &str) -> bool {
        ids.as_ref().is_none_or(|ids| ids.contains(id))
    }

    pub fn is_admin(&self) -> bool {
        matches!(
            self,
            Principal::Admin
                | Principal::Token {
                    scope: Scope::Admin,
                    ..
                }
        )
    }

    /// May watch camera / listen to source `id`.
    pub fn can_view(&self, id: &str) -> bool {
        match self {
            Principal::Admin => true,
            Principal::Token {
                scope: Scope::Admin | Scope::View,
                ids,
                ..
            } => Self::in_scope(ids, id),
            Principal::Token {
                scope: Scope::Publish | Scope::Metrics,
                ..
            }
            | Principal::Pairing { .. } => false,
        }
    }

    /// May read `/metrics`: the admin, or a token of scope `metrics`.
    pub fn can_read_metrics(&self) -> bool {
        self.is_admin()
            || matches!(
                self,
                Principal::Token {
                    scope: Scope::Metrics,
                    ..
                }
            )
    }

    /// A token that may view and whose list names `id` (not the admin, not
    /// an unlimited token): what an upload of the audio library asks for.
    pub fn granted(&self, id: &str) -> bool {
        matches!(
            self,
            Principal::Token {
                scope: Scope::Admin | Scope::View,
                ids: Some(ids),
                ..
            } if ids.contains(id)
        )
    }

    /// May view anything at all (lists are then filtered with `can_view`).
    pub fn can_view_some(&self) -> bool {
        !matches!(
            self,
            Principal::Token {
                scope: Scope::Publish | Scope::Metrics,
                ..
            } | Principal::Pairing { .. }
        )
    }

    /// May publish under `id`.
    pub fn can_publish(&self, id: &str) -> bool {
        match self {
            Principal::Admin => true,
            Principal::Token {
                scope: Scope::Admin | Scope::Publish,
                ids,
                ..
            } => Self::in_scope(ids, id),
            Principal::Token {
                scope: Scope::View | Scope::Metrics,
                ..
            }
            | Principal::Pairing { .. } => false,
        }
    }

    pub fn can_publish_some(&self) -> bool {
        !matches!(
            self,
            Principal::Token {
                scope: Scope::View | Scope::Metrics,
                ..
            } | Principal::Pairing { .. }
        )
    }

    /// The device a pairing pass registered (`None` for every other principal).
    pub fn pairing_device(&self) -> Option<&str> {
        match self {
            Principal::Pairing { device, .. } => device.as_deref(),
            _ => None,
        }
    }
}

impl From<&TokenRecord> for Principal {
    fn from(t: &TokenRecord) -> Self {
        Principal::Token {
            id: t.id.clone(),
            scope: t.scope,
            ids: t.ids.clone(),
        }
    }
}

/// The longest lifetime a token may be given (ten years).
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// A one-time code that only the process running the server can mint
/// (the desktop shell), exchanged once for an admin session.
#[derive(Debug, Default)]
struct Bootstrap {
    codes: HashMap<String, Instant>,
}

pub const BOOTSTRAP_LIFETIME: Duration = Duration::from_secs(60);
pub const SESSION_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// Everything access control keeps at run time.
#[derive(Debug)]
pub struct Auth {
    pub store: AuthStore,
    pub cookies: cookie::CookieSigner,
    pub limiter: limiter::LoginLimiter,
    pub passwords: password::PasswordChecks,
    /// The phone pairing's pass, while one is open.
    pub passes: pairing_pass::PairingPasses,
    bootstrap: Mutex<Bootstrap>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a token may live at most {} days", MAX_TOKEN_LIFETIME.as_secs() / 86_400)]
    LifetimeTooLong,
}

impl Auth {
    /// Opens the credentials in `dir`. With `password`, the admin password is
    /// set to it; with none stored and none given, one is generated and
    /// returned so the caller can show it once.
    pub fn open(
        dir: &std::path::Path,
        password: Option<&str>,
    ) -> Result<(Self, Option<String>), AuthError> {
        let store = AuthStore::open(dir)?;
        let mut generated = None;
        match password {
            Some(p) => store.set_password(p)?,
            None if !store.has_password() => {
                let p = generate_password();
                store.set_password(&p)?;
                generated = Some(p);
            }
            None => {}
        }
        let cookies = cookie::CookieSigner::new(store.cookie_key()?);
        Ok((
            Self {
                store,
                cookies,
                limiter: limiter::LoginLimiter::default(),
                passwords: Default::default(),
                passes: Default::default(),
                bootstrap: Mutex::default(),
            },
            generated,
        ))
    }

    /// Mints a bootstrap code (in-process only; there is no route for this).
    pub fn mint_bootstrap_code(&self) -> String {
        let code = hex(&random_bytes(16));
        let mut b = self.bootstrap.lock();
        b.codes.retain(|_, at| at.elapsed() < BOOTSTRAP_LIFETIME);
        b.codes.insert(code.clone(), Instant::now());
        code
    }

    /// Makes every bootstrap code minted so far `age` older (tests of expiry).
    #[doc(hidden)]
    pub fn age_bootstrap_codes(&self, age: Duration) {
        for at in self.bootstrap.lock().codes.values_mut() {
            *at = at.checked_sub(age).unwrap_or(*at);
        }
    }

    /// Uses a bootstrap code: true once, within its lifetime.
    pub fn redeem_bootstrap_code(&self, code: &str) -> bool {
        let mut b = self.bootstrap.lock();
        let found = b
            .codes
            .keys()
            .find(|k| same(k.as_bytes(), code.as_bytes()))
            .cloned();
        match found.and_then(|k| b.codes.remove(&k)) {
            Some(at) => at.elapsed() < BOOTSTRAP_LIFETIME,
            None => false,
        }
    }

    /// Creates an API token; returns its record and the secret (shown once).
    /// A lifetime above [`MAX_TOKEN_LIFETIME`] is refused.
    pub fn create_token(
        &self,
        name: &str,
        scope: Scope,
        ids: Option<BTreeSet<String>>,
        ttl: Option<Duration>,
    ) -> Result<(TokenRecord, String), AuthError> {
        if ttl.is_some_and(|t| t > MAX_TOKEN_LIFETIME) {
            return Err(AuthError::LifetimeTooLong);
        }
        let secret = format!("rdk_{}", hex(&random_bytes(32)));
        let now = now_ms();
        let record = TokenRecord {
            id: format!("tok-{}", hex(&random_bytes(4))),
            name: name.to_owned(),
            scope,
            ids,
            created_ms: now,
            expires_ms: ttl.map(|t| now.saturating_add(t.as_millis() as u64)),
            sha256: crate::secrets::sha256_hex(&secret),
        };
        self.store.add_token(record.clone())?;
        Ok((record, secret))
    }

    /// The principal a token secret stands for.
    pub fn token_principal(&self, secret: &str) -> Option<Principal> {
        self.token_record(secret).map(|t| Principal::from(&t))
    }

    /// The live token whose secret is `secret`.
    pub fn token_record(&self, secret: &str) -> Option<TokenRecord> {
        self.store.find_token(secret)
    }

    /// Sets the admin password; earlier successful checks no longer count.
    pub fn set_password(&self, password: &str) -> Result<(), StoreError> {
        self.store.set_password(password)?;
        self.passwords.forget();
        Ok(())
    }

    /// Checks the admin password under the per-IP login limit, on the
    /// blocking pool and at most [`password::CONCURRENT_CHECKS`] at a time.
    /// With `cached`, a success within [`password::CACHE_LIFETIME`] is
    /// trusted again without Argon2 (HTTP Basic sends the password with
    /// every request).
    pub async fn check_admin_password(
        self: &std::sync::Arc<Self>,
        ip: IpAddr,
        password: &str,
        cached: bool,
    ) -> Result<bool, Duration> {
        self.limiter.check(ip)?;
        if cached && self.passwords.recently_ok(password) {
            return Ok(true);
        }
        let Ok(_permit) = self.passwords.permits().acquire().await else {
            return Ok(false);
        };
        let auth = self.clone();
        let candidate = password.to_owned();
        let ok = tokio::task::spawn_blocking(move || auth.store.check_password(&candidate))
            .await
            .unwrap_or(false);
        if ok {
            self.limiter.success(ip);
            if cached {
                self.passwords.remember(password);
            }
        } else {
            self.limiter.failure(ip);
            tracing::warn!(%ip, "failed admin password check");
        }
        Ok(ok)
    }
}

/// A readable random password: 4 groups of 5 lowercase letters and digits (~103 bits).
fn generate_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let bytes = random_bytes(20);
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| ALPHABET[(*b as usize) % ALPHABET.len()] as char)
        .collect();
    chars
        .chunks(5)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_grant_what_they_say() {
        let view_a = Principal::Token {
            id: "t".into(),
            scope: Scope::View,
            ids: Some(["a".to_string()].into()),
        };
        assert!(
            view_a.can_view("a")
                && !view_a.can_view("b")
                && !view_a.can_publish("a")
                && !view_a.is_admin()
        );
        let publish = Principal::Token {
            id: "t".into(),
            scope: Scope::Publish,
            ids: None,
        };
        assert!(publish.can_publish("x") && !publish.can_view("x") && !publish.can_view_some());
        assert!(
            Principal::Admin.can_view("x")
                && Principal::Admin.can_publish("x")
                && Principal::Admin.is_admin()
        );
    }

    #[test]
    fn bootstrap_codes_work_once() {
        let dir = std::env::temp_dir().join(format!("relaydeck-auth-{}", hex(&random_bytes(4))));
        let (auth, generated) = Auth::open(&dir, None).unwrap();
        let password = generated.expect("a password is generated on first start");
        assert_eq!(password.len(), 23);
        assert!(auth.store.check_password(&password));
        let code = auth.mint_bootstrap_code();
        assert!(!auth.redeem_bootstrap_code("nope"));
        assert!(auth.redeem_bootstrap_code(&code));
        assert!(!auth.redeem_bootstrap_code(&code), "single use");
        let late = auth.mint_bootstrap_code();
        auth.age_bootstrap_codes(BOOTSTRAP_LIFETIME + Duration::from_secs(1));
        assert!(!auth.redeem_bootstrap_code(&late), "short-lived");
        let (again, generated) = Auth::open(&dir, None).unwrap();
        assert!(generated.is_none(), "the stored password is kept");
        assert!(again.store.check_password(&password));
        assert!(!again.store.check_password("wrong"));
    }
}

/// The caller of a guarded route, as the guard established it (the
/// principal of the request's [`Access`]).
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Caller {
    type Rejection = crate::error::ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        Access::from_request_parts(parts, state)
            .await
            .map(|a| Caller(a.principal))
    }
}
