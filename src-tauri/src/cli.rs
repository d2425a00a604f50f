//! Command line: subcommands, the serve flags and the start-up banner.

use std::net::SocketAddr;

use clap::{Parser, Subcommand};
use relaydeck_capture::TestPatternConfig;
use relaydeck_server::ServerConfig;

#[derive(Debug, Parser)]
#[command(
    name = "relaydeck",
    version,
    about = "Relay Deck: a private live-streaming hub for your cameras and audio"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Log lines as text (for a terminal) or JSON objects, one per line (for
    /// journald, Loki, Elasticsearch); `RUST_LOG` sets the levels.
    #[arg(long, global = true, env = "RELAYDECK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

// `ServeArgs` is large, but there is one `Command`, parsed once at start-up.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the relay server without a window.
    Serve(ServeArgs),
    /// Manage devkits on a running server (add, list, revoke, command).
    Device(crate::device_cli::DeviceArgs),
    /// Manage API tokens and share links on a running server (add, list, revoke).
    Token(crate::token_cli::TokenArgs),
    /// Simulate a devkit: connect, authenticate and stream a tone, a WAV file or speech.
    DevkitSim(crate::sim_cli::SimArgs),
}

#[derive(Debug, Clone, clap::Args, serde::Serialize)]
pub struct ServeArgs {
    #[command(flatten)]
    #[serde(flatten)]
    pub server: ServerConfig,

    /// Publish the built-in `test-pattern` camera.
    #[arg(long, env = "RELAYDECK_TEST_PATTERN")]
    pub test_pattern: bool,

    /// Size of the test pattern, WIDTHxHEIGHT.
    #[arg(long, env = "RELAYDECK_TEST_PATTERN_SIZE", default_value = "640x480", value_parser = parse_size)]
    pub test_pattern_size: (usize, usize),

    /// Frames per second of the test pattern.
    #[arg(long, env = "RELAYDECK_TEST_PATTERN_FPS", default_value_t = 15, value_parser = clap::value_parser!(u32).range(1..=120))]
    pub test_pattern_fps: u32,

    /// JPEG quality of the test pattern (1-100).
    #[arg(long, env = "RELAYDECK_TEST_PATTERN_QUALITY", default_value_t = 80, value_parser = clap::value_parser!(i32).range(1..=100))]
    pub test_pattern_quality: i32,

    /// Publish this computer's camera as `host-camera`: its index (0, 1, …)
    /// or (part of) its name. Overrides the settings file.
    #[arg(long, env = "RELAYDECK_CAMERA", value_name = "INDEX|NAME")]
    pub camera: Option<String>,

    /// Publish this computer's microphone as the audio source `mic`: a device
    /// name, or `default`. Overrides the settings file.
    #[arg(long, env = "RELAYDECK_MIC", value_name = "NAME|default")]
    pub mic: Option<String>,
}

impl ServeArgs {
    /// What bare `relaydeck` runs: `serve` with the environment's settings
    /// (and the test pattern, unless the settings file says otherwise), plus
    /// which options the environment set explicitly.
    pub fn parse_defaults_with_test_pattern() -> (Self, crate::relay::Explicit) {
        use clap::{CommandFactory, FromArgMatches};
        let matches = Cli::command().get_matches_from(["relaydeck", "serve"]);
        let Ok(Cli {
            command: Some(Command::Serve(mut args)),
            ..
        }) = Cli::from_arg_matches(&matches)
        else {
            unreachable!("`serve` parses to the serve command")
        };
        let explicit = matches
            .subcommand_matches("serve")
            .map(crate::relay::explicit_args)
            .unwrap_or_default();
        args.test_pattern = true;
        (args, explicit)
    }

    pub fn test_pattern_config(&self) -> TestPatternConfig {
        TestPatternConfig {
            width: self.test_pattern_size.0,
            height: self.test_pattern_size.1,
            fps: self.test_pattern_fps,
            quality: self.test_pattern_quality,
        }
    }
}

fn parse_size(s: &str) -> Result<(usize, usize), String> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| format!("'{s}' is not WIDTHxHEIGHT (e.g. 640x480)"))?;
    let parse = |v: &str| {
        v.trim()
            .parse::<usize>()
            .map_err(|_| format!("'{s}' is not WIDTHxHEIGHT (e.g. 640x480)"))
    };
    Ok((parse(w)?, parse(h)?))
}

/// Prints the effective configuration and the URLs to open.
pub struct BannerFacts<'a> {
    pub addr: SocketAddr,
    /// The devkit listeners' address, TCP port and UDP port.
    pub devkit: Option<(std::net::IpAddr, u16, u16)>,
    pub data_dir: &'a std::path::Path,
    pub new_password: Option<&'a str>,
    /// Certificate path, SHA-256 fingerprint, self-signed.
    pub tls: Option<(&'a std::path::Path, &'a str, bool)>,
}

pub fn print_banner(args: &ServeArgs, facts: BannerFacts<'_>) {
    let BannerFacts {
        addr,
        devkit,
        data_dir,
        new_password,
        tls,
    } = facts;
    let (http, ws) = if tls.is_some() {
        ("https", "wss")
    } else {
        ("http", "ws")
    };
    let config = serde_json::to_value(args).unwrap_or_default();
    let mut lines = vec![format!(
        "Relay Deck {} — effective configuration:",
        env!("CARGO_PKG_VERSION")
    )];
    flatten("", &config, &mut lines);
    let host = if addr.ip().is_unspecified() {
        format!("127.0.0.1:{}", addr.port())
    } else {
        addr.to_string()
    };
    lines.push(String::new());
    lines.push(format!("  web UI            {http}://{host}/"));
    lines.push(format!("  cameras publish   {ws}://{host}/ws?clientId=ID"));
    lines.push(format!("  viewers           {ws}://{host}/stream/ws"));
    lines.push(format!("  MJPEG (first cam) {http}://{host}/stream"));
    lines.push(format!("  snapshot          {http}://{host}/snapshot"));
    lines.push(format!("  camera list       {http}://{host}/api/clients"));
    lines.push(format!("  audio sources     {http}://{host}/api/sources"));
    lines.push(format!("  audio listeners   {ws}://{host}/audio/ws?source=ID   {http}://{host}/api/audio/ID/live.wav"));
    lines.push(format!(
        "  devices           {http}://{host}/api/devices   (add one: relaydeck device add NAME)"
    ));
    if let Some((ip, tcp, udp)) = devkit {
        let reach = if ip.is_unspecified() {
            "every interface: boards on the LAN can connect".to_owned()
        } else if ip.is_loopback() {
            format!("{ip}: this computer only (--devkit-bind 0.0.0.0 for boards on the LAN)")
        } else {
            ip.to_string()
        };
        lines.push(format!(
            "  devkits           TCP {tcp} (commands), UDP {udp} (audio), on {reach}"
        ));
    }
    lines.push(format!("  data directory    {}", data_dir.display()));
    lines.push(format!("  sign in           {http}://{host}/login"));
    lines.extend(password_lines(
        new_password,
        args.server.admin_password.is_some(),
    ));
    if let Some((path, fingerprint, self_signed)) = tls {
        lines.push(format!(
            "  TLS certificate   {}{}",
            path.display(),
            if self_signed {
                " (self-signed: browsers ask you to accept it once)"
            } else {
                ""
            }
        ));
        lines.push(format!("  SHA-256           {fingerprint}"));
    }
    if addr.ip().is_unspecified() {
        lines.push(format!(
            "  listening on every interface, port {}; on the LAN:",
            addr.port()
        ));
        for ip in relaydeck_server::lan::ipv4_addresses() {
            lines.push(format!("    {http}://{ip}:{}/", addr.port()));
        }
        if tls.is_none() {
            lines.push("  phones and laptops on the LAN need --tls for camera, microphone and Bluetooth access".into());
        }
    } else if addr.ip().is_loopback() {
        lines
            .push("  only this machine can connect; use --bind 0.0.0.0:PORT for LAN access".into());
    }
    println!("{}", lines.join("\n"));
}

fn flatten(prefix: &str, v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.replace('_', "-")
                } else {
                    format!("{prefix}.{}", k.replace('_', "-"))
                };
                flatten(&key, v, out);
            }
        }
        other => out.push(format!("  {prefix:<26} {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("640x480"), Ok((640, 480)));
        assert!(parse_size("640").is_err());
        assert!(parse_size("axb").is_err());
    }

    #[test]
    fn bare_relaydeck_runs_the_test_pattern() {
        let (args, explicit) = ServeArgs::parse_defaults_with_test_pattern();
        assert!(explicit.is_empty() || std::env::vars().any(|(k, _)| k.starts_with("RELAYDECK_")));
        assert!(args.test_pattern);
        assert_eq!(args.test_pattern_size, (640, 480));
        assert_eq!(args.test_pattern_fps, 15);
    }
}

/// The banner's admin-password lines: a password generated on this first
/// start (shown once), one given with `--admin-password`, or the stored one.
fn password_lines(generated: Option<&str>, given: bool) -> Vec<String> {
    match (generated, given) {
        (Some(p), _) => vec![
            String::new(),
            format!("  ADMIN PASSWORD    {p}"),
            "  (generated on first start and shown only now; only its Argon2 hash is stored. Set another with --admin-password.)".into(),
        ],
        (None, true) => vec![
            "  admin password    as set by --admin-password (or RELAYDECK_ADMIN_PASSWORD)".into(),
        ],
        (None, false) => {
            vec!["  admin password    as stored (set another with --admin-password)".into()]
        }
    }
}

#[cfg(test)]
mod banner_tests {
    use super::password_lines;

    #[test]
    fn the_banner_says_where_the_admin_password_came_from() {
        let generated = password_lines(Some("k3y"), false).join("\n");
        assert!(generated.contains("ADMIN PASSWORD    k3y"), "{generated}");
        let given = password_lines(None, true).join("\n");
        assert!(given.contains("as set by --admin-password"), "{given}");
        assert!(!given.contains("as stored"), "{given}");
        let stored = password_lines(None, false).join("\n");
        assert!(stored.contains("as stored"), "{stored}");
    }
}
