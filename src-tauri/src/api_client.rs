//! The CLI's HTTP client for a running server's API.

use anyhow::{bail, Context};
use serde_json::Value;

/// Where the running server is and how the CLI proves it is the admin
/// (flattened into every subcommand that calls the API).
#[derive(Debug, Clone, clap::Args)]
pub struct ServerArgs {
    /// The running server's base URL.
    #[arg(
        long,
        env = "RELAYDECK_SERVER",
        default_value = "http://127.0.0.1:3000",
        global = true
    )]
    pub server: String,

    /// An admin API token (create one with `relaydeck token add NAME --scope admin`).
    #[arg(long, env = "RELAYDECK_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,

    /// The admin password (instead of a token).
    #[arg(
        long,
        env = "RELAYDECK_ADMIN_PASSWORD",
        hide_env_values = true,
        global = true
    )]
    pub password: Option<String>,
}

impl ServerArgs {
    pub fn credential(&self) -> Credential {
        Credential::from_args(self.token.clone(), self.password.clone())
    }
}

/// How the CLI proves it is the admin.
#[derive(Debug, Clone)]
pub enum Credential {
    Token(String),
    Password(String),
    None,
}

impl Credential {
    pub fn from_args(token: Option<String>, password: Option<String>) -> Self {
        match (token, password) {
            (Some(t), _) => Credential::Token(t),
            (None, Some(p)) => Credential::Password(p),
            (None, None) => Credential::None,
        }
    }

    fn header(&self) -> Option<String> {
        use base64::Engine;
        match self {
            Credential::Token(t) => Some(format!("Bearer {t}")),
            Credential::Password(p) => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("admin:{p}"))
            )),
            Credential::None => None,
        }
    }
}

pub fn call(
    server: &str,
    cred: &Credential,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<Value> {
    let url = format!("{}{path}", server.trim_end_matches('/'));
    let mut req = ureq::request(method, &url).timeout(std::time::Duration::from_secs(15));
    if let Some(h) = cred.header() {
        req = req.set("Authorization", &h);
    }
    let res = match body {
        Some(b) => req.send_json(b),
        None => req.call(),
    };
    match res {
        Ok(resp) => Ok(resp
            .into_json()
            .context("the server's answer is not JSON")?),
        Err(ureq::Error::Status(status, resp)) => {
            let v: Value = resp.into_json().unwrap_or_default();
            let msg = v["error"]["message"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| v.to_string());
            if status == 401 {
                bail!("{msg} (HTTP 401): pass --password (or RELAYDECK_ADMIN_PASSWORD) or an admin --token (RELAYDECK_TOKEN)");
            }
            bail!("{msg} (HTTP {status})")
        }
        Err(ureq::Error::Transport(t)) => {
            bail!("no Relay Deck server is running at {server} ({t}); start one with `relaydeck serve`, or pass --server URL")
        }
    }
}
