//! Claiming the relay's port before the window opens: the window must never
//! show another program's page, and a busy port must not stop the app.

use relaydeck_server::{store::settings::SettingsHandle, Server, ServerError};

use crate::{cli::ServeArgs, relay};

/// How many ports after the configured one are tried.
const TRIES: u16 = 20;

/// Binds the relay on the configured port or the next free one; returns the
/// bound server and what the user should be told.
pub async fn bind_free(
    args: &mut ServeArgs,
    settings: SettingsHandle,
) -> anyhow::Result<(Server, Vec<String>)> {
    let mut notices = Vec::new();
    let wanted = args.server.bind;
    for attempt in 0..=TRIES {
        match relay::start(args, settings.clone()).await {
            Ok((server, _hub)) => {
                if attempt > 0 {
                    notices.push(format!("Port {} was in use by another program, so Relay Deck is on port {} this time.", wanted.port(), server.local_addr().port()));
                }
                return Ok((server, notices));
            }
            Err(e) => match e.downcast_ref::<ServerError>() {
                Some(ServerError::Bind { addr, source })
                    if source.kind() == std::io::ErrorKind::AddrInUse =>
                {
                    if *addr == args.server.bind && wanted.port() != 0 {
                        args.server
                            .bind
                            .set_port(args.server.bind.port().wrapping_add(1).max(1));
                    } else {
                        // A devkit port: let the system pick one rather than fail.
                        notices.push(format!("Devkit port {} was in use; devkits use another port this time (see Devices).", addr.port()));
                        if addr.port() == args.server.devkit_tcp_port {
                            args.server.devkit_tcp_port = 0;
                        } else {
                            args.server.devkit_udp_port = 0;
                        }
                    }
                }
                _ => return Err(e),
            },
        }
    }
    anyhow::bail!(
        "ports {} to {} are all in use; choose another port in the settings file",
        wanted.port(),
        wanted.port() + TRIES
    )
}
