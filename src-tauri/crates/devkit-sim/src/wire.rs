//! The devkit command channel as the device sees it.

use std::sync::{
    atomic::{AtomicU64, Ordering},
    Arc,
};

use serde_json::{json, Value};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt},
    sync::{mpsc, Mutex},
};

/// The command channel's halves, plain TCP or TLS alike.
pub type ChannelRead = Box<dyn AsyncRead + Send + Unpin>;
pub type ChannelWrite = Box<dyn AsyncWrite + Send + Unpin>;

use crate::{CommandPolicy, DevkitConfig};

/// 4-byte big-endian length, then the JSON.
pub fn encode_frame(json: &str) -> Vec<u8> {
    let mut out = (json.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(json.as_bytes());
    out
}

pub async fn read_frame<R: AsyncRead + Unpin>(read: &mut R) -> std::io::Result<String> {
    let mut len = [0u8; 4];
    read.read_exact(&mut len).await?;
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    read.read_exact(&mut body).await?;
    String::from_utf8(body).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

pub async fn write_json(writer: &Mutex<ChannelWrite>, msg: &Value) -> std::io::Result<()> {
    writer
        .lock()
        .await
        .write_all(&encode_frame(&msg.to_string()))
        .await
}

fn answer_command(policy: &CommandPolicy, msg: &Value) -> Option<Value> {
    let id = msg["id"].clone();
    let name = msg["name"].as_str().unwrap_or("");
    match policy {
        CommandPolicy::Ignore => None,
        CommandPolicy::RefuseAll(e) => {
            Some(json!({ "type": "ack", "id": id, "ok": false, "error": e }))
        }
        CommandPolicy::Standard => Some(match name {
            "set_gain" if !msg["args"]["gain"].is_number() => {
                json!({ "type": "ack", "id": id, "ok": false, "error": "set_gain needs a numeric args.gain" })
            }
            "set_gain" | "start_audio" | "stop_audio" | "reboot" | "ping_led" => {
                json!({ "type": "ack", "id": id, "ok": true })
            }
            other => {
                json!({ "type": "ack", "id": id, "ok": false, "error": format!("unknown command '{other}'") })
            }
        }),
    }
}

/// Reads the server's messages, answering pings and commands. Returns the
/// last error message the server sent, once the connection ends.
pub async fn reader_loop(
    mut read: ChannelRead,
    writer: Arc<Mutex<ChannelWrite>>,
    inbox: mpsc::UnboundedSender<Value>,
    config: DevkitConfig,
    commands_seen: Arc<AtomicU64>,
) -> Option<String> {
    let mut last_error = None;
    while let Ok(text) = read_frame(&mut read).await {
        let Ok(msg) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        let reply = match msg["type"].as_str() {
            Some("ping") if config.answer_pings => Some(json!({ "type": "pong", "t": msg["t"] })),
            Some("command") => {
                commands_seen.fetch_add(1, Ordering::Relaxed);
                answer_command(&config.commands, &msg)
            }
            Some("error") => {
                last_error = Some(format!(
                    "{}: {}",
                    msg["code"].as_str().unwrap_or(""),
                    msg["message"].as_str().unwrap_or("")
                ));
                None
            }
            _ => None,
        };
        if let Some(reply) = reply {
            let _ = write_json(&writer, &reply).await;
        }
        let _ = inbox.send(msg);
    }
    last_error
}

pub async fn ping_loop(writer: Arc<Mutex<ChannelWrite>>, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        if write_json(&writer, &json!({ "type": "ping", "t": t }))
            .await
            .is_err()
        {
            return;
        }
    }
}
