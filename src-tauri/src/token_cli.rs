//! `relaydeck token …`: scoped API tokens and share links, through a running server's API.

use serde_json::{json, Value};

use crate::api_client::{call, ServerArgs};

#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    #[command(flatten)]
    pub api: ServerArgs,

    #[command(subcommand)]
    pub action: TokenAction,
}

#[derive(Debug, clap::Subcommand)]
pub enum TokenAction {
    /// Create a token (printed once) and, for view/publish, its share link.
    Add {
        /// What it is for, e.g. "Grandma's tablet".
        name: String,
        /// view, publish, admin or metrics (reads /metrics only).
        #[arg(long, default_value = "view")]
        scope: String,
        /// Limit it to these cameras/sources (comma-separated; default: all).
        #[arg(long, value_delimiter = ',')]
        ids: Vec<String>,
        /// Expire after this many hours.
        #[arg(long)]
        hours: Option<u64>,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by its ID (tok-…).
    Revoke { id: String },
}

pub fn run(args: TokenArgs) -> anyhow::Result<()> {
    let cred = args.api.credential();
    let s = &args.api.server;
    match args.action {
        TokenAction::Add {
            name,
            scope,
            ids,
            hours,
        } => {
            let ids: Value = if ids.is_empty() {
                Value::Null
            } else {
                json!(ids)
            };
            let body = json!({ "name": name, "scope": scope, "ids": ids, "expiresInSec": hours.map(|h| h * 3600) });
            let v = call(s, &cred, "POST", "/api/tokens", Some(body))?;
            println!("id       {}", v["id"].as_str().unwrap_or_default());
            println!("scope    {}", v["scope"].as_str().unwrap_or_default());
            println!("token    {}", v["token"].as_str().unwrap_or_default());
            if let Some(link) = v["link"].as_str() {
                println!("link     {link}");
            }
            println!("\nThe token is shown only now. Media players take it as the password: http://x:TOKEN@HOST:3000/stream");
        }
        TokenAction::List => {
            let v = call(s, &cred, "GET", "/api/tokens", None)?;
            println!(
                "{:<14} {:<24} {:<8} {:<20} EXPIRES",
                "ID", "NAME", "SCOPE", "LIMITED TO"
            );
            for t in v["tokens"].as_array().cloned().unwrap_or_default() {
                let ids = t["ids"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .unwrap_or_else(|| "all".into());
                let expires = if t["expired"] == true {
                    "expired".to_string()
                } else {
                    t["expiresMs"]
                        .as_u64()
                        .map_or("never".into(), |ms| format!("{ms} (unix ms)"))
                };
                println!(
                    "{:<14} {:<24} {:<8} {:<20} {expires}",
                    t["id"].as_str().unwrap_or_default(),
                    t["name"].as_str().unwrap_or_default(),
                    t["scope"].as_str().unwrap_or_default(),
                    ids
                );
            }
        }
        TokenAction::Revoke { id } => {
            call(s, &cred, "DELETE", &format!("/api/tokens/{id}"), None)?;
            println!("revoked {id}");
        }
    }
    Ok(())
}
