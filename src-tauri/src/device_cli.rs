//! `relaydeck device …`: manage devkits through a running server's REST API.

use anyhow::Context;
use relaydeck_contract::api::CreatedDevice;
use serde_json::{json, Value};

use crate::api_client::{call, ServerArgs};

#[derive(Debug, clap::Args)]
pub struct DeviceArgs {
    #[command(flatten)]
    pub api: ServerArgs,

    #[command(subcommand)]
    pub action: DeviceAction,
}

#[derive(Debug, clap::Subcommand)]
pub enum DeviceAction {
    /// Register a device; prints its token (shown only this once).
    Add {
        /// A name people recognise, e.g. "Kitchen mic".
        name: String,
        /// The device ID (generated when omitted): 1-64 of A-Z a-z 0-9 _ -.
        #[arg(long)]
        id: Option<String>,
    },
    /// List devices with their live state.
    List {
        /// Print the raw JSON.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a device: its token stops working and a live session is dropped.
    Revoke { id: String },
    /// Send a command and print the device's answer.
    Command {
        id: String,
        /// e.g. start_audio, stop_audio, set_gain, reboot.
        name: String,
        /// Arguments as a JSON object, e.g. '{"gain":12}'.
        #[arg(long, default_value = "{}")]
        args: String,
    },
}

pub fn run(args: DeviceArgs) -> anyhow::Result<()> {
    let cred = args.api.credential();
    let s = &args.api.server;
    let call = |method: &str, path: &str, body: Option<Value>| call(s, &cred, method, path, body);
    match args.action {
        DeviceAction::Add { name, id } => {
            let v = call(
                "POST",
                "/api/devices",
                Some(json!({ "deviceId": id, "name": name })),
            )?;
            let created: CreatedDevice =
                serde_json::from_value(v).context("the server's answer to `device add`")?;
            print!("{}", added_text(&created, &server_host(s)));
        }
        DeviceAction::List { json } => {
            let v = call("GET", "/api/devices", None)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&v)?);
                return Ok(());
            }
            let devices = v["devices"].as_array().cloned().unwrap_or_default();
            if devices.is_empty() {
                println!("no devices yet: add one with `relaydeck device add NAME`");
            }
            println!(
                "{:<20} {:<20} {:<8} {:<16} {:>8} {:>6} {:>6} {:>9}",
                "ID", "NAME", "STATE", "IP", "PACKETS", "LOST", "LATE", "JITTER ms"
            );
            for d in devices {
                println!(
                    "{:<20} {:<20} {:<8} {:<16} {:>8} {:>6} {:>6} {:>9}",
                    d["deviceId"].as_str().unwrap_or_default(),
                    d["name"].as_str().unwrap_or_default(),
                    if d["online"] == true {
                        "online"
                    } else {
                        "offline"
                    },
                    d["ip"].as_str().unwrap_or("-"),
                    d["packets"].as_u64().map_or("-".into(), |n| n.to_string()),
                    d["lost"].as_u64().map_or("-".into(), |n| n.to_string()),
                    d["late"].as_u64().map_or("-".into(), |n| n.to_string()),
                    d["jitterMs"]
                        .as_f64()
                        .map_or("-".into(), |n| format!("{n:.2}")),
                );
            }
        }
        DeviceAction::Revoke { id } => {
            call("DELETE", &format!("/api/devices/{id}"), None)?;
            println!("revoked {id}");
        }
        DeviceAction::Command { id, name, args } => {
            let args: Value = serde_json::from_str(&args)
                .context("--args must be a JSON object, e.g. '{\"gain\":12}'")?;
            let v = call(
                "POST",
                &format!("/api/devices/{id}/commands"),
                Some(json!({ "name": name, "args": args })),
            )?;
            println!("{id} acknowledged {name} (command {})", v["id"]);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api_client::Credential;

    #[test]
    fn says_clearly_when_no_server_is_running() {
        // Port 1 on loopback: nothing listens there.
        let err = call(
            "http://127.0.0.1:1",
            &Credential::None,
            "GET",
            "/api/devices",
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("no Relay Deck server is running at http://127.0.0.1:1"),
            "{err}"
        );
        assert!(err.contains("relaydeck serve"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn adds_lists_and_revokes_through_a_running_server() {
        let dir = std::env::temp_dir().join(format!("relaydeck-cli-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let config = relaydeck_server::ServerConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            devkit_tcp_port: 0,
            devkit_udp_port: 0,
            data_dir: Some(dir),
            admin_password: Some("cli test password".into()),
            ..relaydeck_server::ServerConfig::default()
        };
        let hub = relaydeck_hub::Hub::new(config.hub_config());
        let srv = relaydeck_server::Server::bind(config, hub)
            .await
            .unwrap()
            .spawn();
        let base = format!("http://{}", srv.addr);
        let result = tokio::task::spawn_blocking(move || {
            let err = call(&base, &Credential::None, "GET", "/api/devices", None)
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("HTTP 401") && err.contains("--password"),
                "{err}"
            );
            let cred = Credential::Password("cli test password".into());
            let call = |m: &str, p: &str, b: Option<Value>| call(&base, &cred, m, p, b);
            let added = call(
                "POST",
                "/api/devices",
                Some(json!({ "deviceId": "dk-cli", "name": "CLI" })),
            )?;
            assert_eq!(added["token"].as_str().map(str::len), Some(48));
            let listed = call("GET", "/api/devices", None)?;
            assert_eq!(listed["devices"][0]["deviceId"], "dk-cli");
            let err = call(
                "POST",
                "/api/devices/dk-cli/commands",
                Some(json!({ "name": "reboot" })),
            )
            .unwrap_err();
            assert_eq!(err.to_string(), "device 'dk-cli' is offline (HTTP 409)");
            call("DELETE", "/api/devices/dk-cli", None)?;
            let err = call("DELETE", "/api/devices/dk-cli", None).unwrap_err();
            assert_eq!(err.to_string(), "no device with the ID 'dk-cli' (HTTP 404)");
            anyhow::Ok(())
        })
        .await
        .unwrap();
        result.unwrap();
        srv.shutdown().await;
    }
}

/// The host part of the API server's URL (`http://host:3000/` → `host`), which
/// is where the server's devkit ports are too unless `--devkit-bind` moved them.
fn server_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    if let Some(v6) = authority.strip_prefix('[') {
        return format!("[{}]", v6.split(']').next().unwrap_or(v6));
    }
    authority.split(':').next().unwrap_or(authority).to_owned()
}

/// What `device add` prints: the device, its one-time token, the ports, and
/// the simulator command that reaches this server.
fn added_text(d: &CreatedDevice, host: &str) -> String {
    let mut out = format!(
        "device   {}\nname     {}\ntoken    {}\n",
        d.device_id, d.name, d.token
    );
    match (d.tcp_port, d.udp_port) {
        (Some(tcp), Some(udp)) => {
            out += &format!("ports    TCP {host}:{tcp} (commands), UDP {host}:{udp} (audio)\n");
            match (d.hosts.lan_enabled, d.hosts.lan.first()) {
                (false, _) => out += "boards   on this computer only: boards on the network cannot connect (serve --devkit-bind 0.0.0.0, or the devkitLan setting)\n",
                (true, None) => out += "boards   this computer has no network address right now\n",
                (true, Some(lan)) => out += &format!("boards   on the network: TCP {lan}:{tcp}, UDP {lan}:{udp}\n"),
            }
            out += "\nThe token is shown only now: store it on the device. To try it with the simulator:\n";
            out += &format!(
                "  relaydeck devkit-sim --server {host}:{tcp} --device-id {} --token {} --tone 440\n",
                d.device_id, d.token
            );
        }
        _ => {
            out += "ports    the devkit ports are not listening on this server\n";
            out += "\nThe token is shown only now: store it on the device.\n";
        }
    }
    out
}

#[cfg(test)]
mod add_tests {
    use super::*;

    #[test]
    fn the_devkit_host_is_the_api_servers_host() {
        assert_eq!(server_host("http://127.0.0.1:3000"), "127.0.0.1");
        assert_eq!(server_host("https://relay.local:8443/"), "relay.local");
        assert_eq!(server_host("http://admin:pw@10.0.0.5:3000/x"), "10.0.0.5");
        assert_eq!(server_host("http://[::1]:3000"), "[::1]");
        assert_eq!(server_host("box"), "box");
    }

    #[test]
    fn the_simulator_command_names_the_actual_devkit_address() {
        let d = CreatedDevice {
            device_id: "kitchen".into(),
            name: "Kitchen".into(),
            token: "dk_secret".into(),
            created_ms: 0,
            tcp_port: Some(41234),
            udp_port: Some(41235),
            hosts: relaydeck_contract::api::DevkitHosts {
                local: "127.0.0.1".into(),
                lan_enabled: true,
                lan: vec!["192.168.1.20".into()],
            },
            tls_fingerprint: None,
            repaired: false,
            note: String::new(),
        };
        let text = added_text(&d, "10.0.0.5");
        assert!(text.contains(
            "relaydeck devkit-sim --server 10.0.0.5:41234 --device-id kitchen --token dk_secret"
        ), "{text}");
        assert!(text.contains("UDP 10.0.0.5:41235"), "{text}");
        assert!(
            text.contains("on the network: TCP 192.168.1.20:41234"),
            "{text}"
        );
        let local = added_text(
            &CreatedDevice {
                hosts: relaydeck_contract::api::DevkitHosts {
                    local: "127.0.0.1".into(),
                    lan_enabled: false,
                    lan: vec![],
                },
                ..d.clone()
            },
            "127.0.0.1",
        );
        assert!(
            local.contains("boards on the network cannot connect"),
            "{local}"
        );
        let off = added_text(
            &CreatedDevice {
                tcp_port: None,
                ..d
            },
            "h",
        );
        assert!(!off.contains("devkit-sim"), "{off}");
    }
}
