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
    /// The desktop app starts in the tray, its window hidden until opened
    /// (how it starts at login).
    #[arg(long)]
    pub hidden: bool,
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
    pub new_password: Option<NewPassword<'a>>,
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
        new_password.as_ref(),
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

/// Where a password generated on the first start goes: the terminal, or —
/// when nobody watches stdout (a systemd service, a container), so it would
/// land in a journal — a file only the relay's user may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NewPassword<'a> {
    Shown(&'a str),
    InFile(std::path::PathBuf),
}

/// The file a first-start password goes to without a terminal.
pub const PASSWORD_FILE: &str = "initial-admin-password";

impl<'a> NewPassword<'a> {
    pub fn deliver(
        password: &'a str,
        data_dir: &std::path::Path,
        terminal: bool,
    ) -> std::io::Result<Self> {
        if terminal {
            return Ok(Self::Shown(password));
        }
        let path = data_dir.join(PASSWORD_FILE);
        relaydeck_server::store::write_atomic(&path, format!("{password}\n").as_bytes())?;
        Ok(Self::InFile(path))
    }
}

/// The banner's admin-password lines: a password generated on this first
/// start (shown once, or the file it is in), one given with
/// `--admin-password`, or the stored one.
fn password_lines(generated: Option<&NewPassword<'_>>, given: bool) -> Vec<String> {
    match (generated, given) {
        (Some(NewPassword::Shown(p)), _) => vec![
            String::new(),
            format!("  ADMIN PASSWORD    {p}"),
            "  (generated on first start and shown only now; only its Argon2 hash is stored. Set another with --admin-password.)".into(),
        ],
        (Some(NewPassword::InFile(path)), _) => vec![
            String::new(),
            format!("  ADMIN PASSWORD    generated on first start, in {} (mode 0600)", path.display()),
            "  (no terminal: it is not printed. Read it, sign in, change it, then delete the file.)".into(),
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
    use super::{password_lines, NewPassword, PASSWORD_FILE};

    #[test]
    fn without_a_terminal_the_new_password_goes_to_a_private_file_not_the_banner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("relaydeck-pw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let shown = NewPassword::deliver("k3y", &dir, true).unwrap();
        assert_eq!(shown, NewPassword::Shown("k3y"));
        assert!(
            !dir.join(PASSWORD_FILE).exists(),
            "a terminal gets it, no file"
        );
        let filed = NewPassword::deliver("k3y", &dir, false).unwrap();
        let path = dir.join(PASSWORD_FILE);
        assert_eq!(filed, NewPassword::InFile(path.clone()));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "k3y\n");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let banner = password_lines(Some(&filed), false).join("\n");
        assert!(
            !banner.contains("k3y") && banner.contains(PASSWORD_FILE),
            "{banner}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_banner_says_where_the_admin_password_came_from() {
        let generated = password_lines(Some(&NewPassword::Shown("k3y")), false).join("\n");
        assert!(generated.contains("ADMIN PASSWORD    k3y"), "{generated}");
        let given = password_lines(None, true).join("\n");
        assert!(given.contains("as set by --admin-password"), "{given}");
        assert!(!given.contains("as stored"), "{given}");
        let stored = password_lines(None, false).join("\n");
        assert!(stored.contains("as stored"), "{stored}");
    }
}
