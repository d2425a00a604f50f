//! `relaydeck devkit-sim …`: a simulated devkit streaming a tone, a WAV file or speech.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use anyhow::Context;
use relaydeck_devkit_sim::{
    stream_audio, CommandPolicy, Devkit, DevkitConfig, Encoding, Impairments, PcmSource,
};

#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// The server's devkit TCP address.
    #[arg(
        long,
        env = "RELAYDECK_DEVKIT_SERVER",
        default_value = "127.0.0.1:5000"
    )]
    pub server: String,
    /// The device ID (from `relaydeck device add`).
    #[arg(
        long,
        env = "RELAYDECK_DEVICE_ID",
        required_unless_present = "provision"
    )]
    pub device_id: Option<String>,
    /// The device's token (from `relaydeck device add`).
    #[arg(
        long,
        env = "RELAYDECK_DEVICE_TOKEN",
        required_unless_present = "provision"
    )]
    pub token: Option<String>,
    /// Join as a paired board does: the provisioning message a pairing wrote
    /// to the board (hex; docs/PROTOCOL.md "Pairing"), which names the relay's
    /// hosts (tried in order), ports, device ID, token and TLS fingerprint.
    #[arg(long, conflicts_with_all = ["device_id", "token", "tls_fingerprint"])]
    pub provision: Option<String>,
    /// Play a sine tone of this frequency in Hz (the default when no other source is given: 440).
    #[arg(long, conflicts_with_all = ["wav", "speech"])]
    pub tone: Option<f64>,
    /// Play a 16-bit PCM WAV file (converted to the stream's format).
    #[arg(long, conflicts_with = "speech")]
    pub wav: Option<PathBuf>,
    /// Speak this text (needs espeak-ng).
    #[arg(long)]
    pub speech: Option<String>,
    #[arg(long, default_value_t = 16_000)]
    pub rate: u32,
    #[arg(long, default_value_t = 1)]
    pub channels: u16,
    /// Sample encoding: s16le, s32le (32-bit integers, as I2S microphones deliver) or f32le.
    #[arg(long, default_value = "s16le")]
    pub encoding: Encoding,
    /// Audio per datagram, in ms.
    #[arg(long, default_value_t = 20)]
    pub frame_ms: u32,
    /// Connect over TLS, trusting only the relay certificate with this SHA-256
    /// (Devices shows it; e.g. AB:CD:…). Without it the channel is plain TCP.
    #[arg(long, env = "RELAYDECK_TLS_FINGERPRINT")]
    pub tls_fingerprint: Option<String>,
    /// Audio per datagram in sample frames instead of ms (e.g. 441 at 44100 Hz).
    #[arg(long)]
    pub frame_samples: Option<u32>,
    /// Probability (0-1) that a packet is lost.
    #[arg(long, default_value_t = 0.0)]
    pub loss: f64,
    /// Probability (0-1) that a packet is sent after the next one.
    #[arg(long, default_value_t = 0.0)]
    pub reorder: f64,
    /// Probability (0-1) that a packet is sent twice.
    #[arg(long, default_value_t = 0.0)]
    pub duplicate: f64,
    /// Seed for the simulated impairments.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Stop after this many seconds (default: when a file or speech ends; a tone plays until Ctrl-C).
    #[arg(long)]
    pub duration: Option<f64>,
    /// Refuse every command with this error instead of acknowledging.
    #[arg(long)]
    pub refuse_commands: Option<String>,
}

pub async fn run(args: SimArgs) -> anyhow::Result<()> {
    let candidates = match &args.provision {
        Some(hex) => provisioned(hex)?,
        None => {
            let server: SocketAddr = tokio::net::lookup_host(&args.server)
                .await
                .with_context(|| format!("cannot resolve {}", args.server))?
                .next()
                .context("no address")?;
            let (id, token) = (
                args.device_id.clone().unwrap_or_default(),
                args.token.clone().unwrap_or_default(),
            );
            let mut config = DevkitConfig::new(server, &id, &token);
            config.tls_fingerprint = args.tls_fingerprint.clone();
            vec![config]
        }
    };
    let mut source = match (&args.wav, &args.speech) {
        (Some(path), _) => PcmSource::wav_file(path, args.rate, args.channels)?,
        (_, Some(text)) => PcmSource::speech(text, args.rate, args.channels).await?,
        _ => PcmSource::tone(args.tone.unwrap_or(440.0), args.rate, args.channels, 0.3),
    }
    .encoded(args.encoding);
    let devkit = connect_first(candidates, &args).await?;
    println!(
        "connected as {} to {} over {} (session {}, audio to UDP port {})",
        devkit.config.device_id,
        devkit.config.server,
        if devkit.config.tls_fingerprint.is_some() {
            "TLS, certificate pinned"
        } else {
            "plain TCP"
        },
        devkit.session_id,
        devkit.udp_port
    );
    let impairments = Impairments {
        loss: args.loss,
        reorder: args.reorder,
        duplicate: args.duplicate,
        seed: args.seed,
    };
    let duration = args.duration.map(Duration::from_secs_f64);
    let report = tokio::select! {
        r = stream_audio(&devkit, &mut source, impairments, 1, duration) => r?,
        _ = tokio::signal::ctrl_c() => { println!("stopped"); return Ok(()) }
    };
    println!(
        "played {} packets: sent {}, dropped {}, reordered {}, duplicated {}",
        report.packets, report.sent, report.dropped, report.reordered, report.duplicated
    );
    Ok(())
}

/// The relay configs a provisioning message names, one per host, best first.
fn provisioned(hex: &str) -> anyhow::Result<Vec<DevkitConfig>> {
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .context("--provision is the message in hex")?;
    let relay = relaydeck_contract::pairing::provision::RelayConfig::decode(&bytes)
        .map_err(|e| anyhow::anyhow!("the provisioning message is not valid: {e}"))?;
    let fingerprint = relay.tls_fingerprint.map(|f| {
        f.iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":")
    });
    let mut out = Vec::new();
    for host in &relay.hosts {
        // A name resolves when connecting; an address is used as is.
        let Ok(ip) = host.parse::<std::net::IpAddr>() else {
            eprintln!("skipping relay host {host:?}: the simulator takes IP addresses");
            continue;
        };
        let mut c = DevkitConfig::new(
            SocketAddr::new(ip, relay.tcp_port),
            &relay.device_id,
            &relay.token,
        );
        c.tls_fingerprint = fingerprint.clone();
        out.push(c);
    }
    anyhow::ensure!(
        !out.is_empty(),
        "the provisioning message names no relay address"
    );
    Ok(out)
}

/// Tries each config in turn (a board tries the relay's hosts in order).
async fn connect_first(candidates: Vec<DevkitConfig>, args: &SimArgs) -> anyhow::Result<Devkit> {
    let mut last = None;
    for mut config in candidates {
        (
            config.sample_rate,
            config.channels,
            config.frame_ms,
            config.encoding,
        ) = (args.rate, args.channels, args.frame_ms, args.encoding);
        config.frame_samples = args.frame_samples;
        if let Some(e) = &args.refuse_commands {
            config.commands = CommandPolicy::RefuseAll(e.clone());
        }
        match Devkit::connect(config).await {
            Ok(d) => return Ok(d),
            Err(e @ relaydeck_devkit_sim::SimError::Connect(..)) => {
                eprintln!("{e}; trying the next relay address");
                last = Some(e);
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(last
        .map(Into::into)
        .unwrap_or_else(|| anyhow::anyhow!("no relay address")))
}
