//! This computer on the local network: its addresses, and which of them a
//! devkit or a phone can use.
//!
//! Interfaces are read when asked (a laptop changes networks), never cached.

use std::net::IpAddr;

use relaydeck_contract::api::DevkitHosts;

/// This machine's LAN addresses, best first: private IPv4 (what a board on
/// home Wi-Fi reaches), other IPv4, then global IPv6. Loopback and
/// link-local addresses are left out (a board cannot be told them usefully).
pub fn addresses() -> Vec<IpAddr> {
    let ips = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .map(|i| i.ip())
        .collect::<Vec<_>>();
    usable(ips)
}

/// This machine's LAN IPv4 addresses, best first (for the URLs people type).
pub fn ipv4_addresses() -> Vec<IpAddr> {
    addresses().into_iter().filter(IpAddr::is_ipv4).collect()
}

/// `ips` without loopback, link-local or unspecified addresses, sorted best first.
fn usable(ips: Vec<IpAddr>) -> Vec<IpAddr> {
    let mut ips: Vec<_> = ips
        .into_iter()
        .filter(|ip| !ip.is_loopback() && !ip.is_unspecified())
        .filter(|ip| match ip {
            IpAddr::V4(v4) => !v4.is_link_local(),
            IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) != 0xfe80,
        })
        .collect();
    ips.sort_by_key(|ip| {
        let rank = match ip {
            IpAddr::V4(v4) if v4.is_private() => 0,
            IpAddr::V4(_) => 1,
            IpAddr::V6(_) => 2,
        };
        (rank, *ip)
    });
    ips.dedup();
    ips
}

/// Where devkits reach ports listening on `listen`, given this computer's
/// LAN addresses (`lan`, from [`addresses`]).
pub fn devkit_hosts(listen: IpAddr, lan: &[IpAddr]) -> DevkitHosts {
    let text = |ip: &IpAddr| ip.to_string();
    if listen.is_unspecified() {
        DevkitHosts {
            local: "127.0.0.1".into(),
            lan_enabled: true,
            lan: lan
                .iter()
                .filter(|ip| ip.is_ipv4() || listen.is_ipv6())
                .map(text)
                .collect(),
        }
    } else if listen.is_loopback() {
        DevkitHosts {
            local: text(&listen),
            lan_enabled: false,
            lan: Vec::new(),
        }
    } else {
        // One interface's address: the only one that reaches the ports.
        DevkitHosts {
            local: text(&listen),
            lan_enabled: true,
            lan: vec![text(&listen)],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn private_ipv4_first_and_nothing_a_board_cannot_use() {
        let got = usable(
            [
                "fe80::1",
                "127.0.0.1",
                "2001:db8::5",
                "203.0.113.9",
                "192.168.1.20",
                "169.254.3.4",
                "::1",
                "10.0.0.7",
            ]
            .map(ip)
            .to_vec(),
        );
        assert_eq!(
            got,
            ["10.0.0.7", "192.168.1.20", "203.0.113.9", "2001:db8::5"].map(ip)
        );
    }

    #[test]
    fn every_interface_offers_the_lan_addresses_and_loopback_offers_none() {
        let lan = [ip("192.168.1.20"), ip("2001:db8::5")];
        let all = devkit_hosts(ip("0.0.0.0"), &lan);
        assert_eq!((all.local.as_str(), all.lan_enabled), ("127.0.0.1", true));
        assert_eq!(
            all.lan,
            ["192.168.1.20"],
            "an IPv4 listener is not reached over IPv6"
        );
        let local = devkit_hosts(ip("127.0.0.1"), &lan);
        assert!(!local.lan_enabled && local.lan.is_empty());
        let one = devkit_hosts(ip("192.168.1.20"), &lan);
        assert_eq!(
            (one.local.as_str(), one.lan.as_slice()),
            ("192.168.1.20", &["192.168.1.20".to_owned()][..])
        );
    }

    #[test]
    fn without_a_network_address_the_lan_list_is_empty() {
        let none = devkit_hosts(ip("0.0.0.0"), &[]);
        assert!(none.lan_enabled && none.lan.is_empty());
    }
}
