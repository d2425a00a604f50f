//! HTTPS/WSS and the devkit channel's TLS, with rustls. Without a
//! certificate given, a self-signed one is created (rcgen) for `localhost`,
//! this host's name and its LAN addresses, kept in the data directory and
//! reused; its SHA-256 fingerprint is shown at start so a user can check what
//! the browser shows, and handed to devkits, which pin it.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use rustls::{
    pki_types::{CertificateDer, PrivateKeyDer},
    ServerConfig as TlsConfig,
};
use sha2::{Digest, Sha256};
use tokio_rustls::TlsAcceptor;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} holds no {what}")]
    Missing { path: PathBuf, what: &'static str },
    #[error("cannot write the generated certificate: {0}")]
    Write(std::io::Error),
    #[error("cannot generate a certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("the certificate and key do not work together: {0}")]
    Rustls(#[from] rustls::Error),
}

/// A ready acceptor and what to tell the user about it.
pub struct Tls {
    /// For HTTPS (ALPN `http/1.1`).
    pub acceptor: TlsAcceptor,
    /// For the devkit command channel (the same certificate, no ALPN).
    pub devkit: TlsAcceptor,
    /// SHA-256 of the leaf certificate, as `AB:CD:…`.
    pub fingerprint: String,
    pub cert_path: PathBuf,
    /// True when the certificate was generated (self-signed).
    pub self_signed: bool,
}

/// Names a generated certificate covers.
pub fn subject_names() -> Vec<String> {
    let mut names = vec![
        "localhost".to_owned(),
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
    ];
    if let Some(h) = hostname() {
        names.push(h.clone());
        if !h.contains('.') {
            names.push(format!("{h}.local"));
        }
    }
    for iface in if_addrs::get_if_addrs().unwrap_or_default() {
        if !iface.is_loopback() {
            names.push(iface.ip().to_string());
        }
    }
    names.sort();
    names.dedup();
    names
}

fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr() as *mut libc::c_char, buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..end]).trim().to_owned();
    (!name.is_empty()).then_some(name)
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Loads `cert`/`key` (PEM), or the generated pair in `dir/tls/`, creating it if needed.
pub fn load(dir: &Path, cert: Option<&Path>, key: Option<&Path>) -> Result<Tls, TlsError> {
    let (cert_path, key_path, self_signed) = match (cert, key) {
        (Some(c), Some(k)) => (c.to_owned(), k.to_owned(), false),
        _ => {
            let tls_dir = dir.join("tls");
            let (c, k) = (tls_dir.join("cert.pem"), tls_dir.join("key.pem"));
            if !(c.exists() && k.exists()) {
                generate(&c, &k)?;
            }
            (c, k, true)
        }
    };
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut &read(&cert_path)?[..])
        .collect::<Result<_, _>>()
        .map_err(|source| TlsError::Read {
            path: cert_path.clone(),
            source,
        })?;
    let leaf = certs.first().ok_or_else(|| TlsError::Missing {
        path: cert_path.clone(),
        what: "certificate",
    })?;
    let fingerprint = Sha256::digest(leaf.as_ref())
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":");
    let key: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut &read(&key_path)?[..])
        .map_err(|source| TlsError::Read {
            path: key_path.clone(),
            source,
        })?
        .ok_or_else(|| TlsError::Missing {
            path: key_path.clone(),
            what: "private key",
        })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let devkit = TlsConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs.clone(), key.clone_key())?;
    let mut config = TlsConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Tls {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        devkit: TlsAcceptor::from(Arc::new(devkit)),
        fingerprint,
        cert_path,
        self_signed,
    })
}

fn generate(cert: &Path, key: &Path) -> Result<(), TlsError> {
    let names = subject_names();
    let mut params = rcgen::CertificateParams::new(names.clone())?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Relay Deck (self-signed)");
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "Relay Deck");
    let now = std::time::SystemTime::now();
    params.not_before = now.into();
    params.not_after = (now + std::time::Duration::from_secs(825 * 24 * 3600)).into();
    let key_pair = rcgen::KeyPair::generate()?;
    let certificate = params.self_signed(&key_pair)?;
    let dir = cert.parent().expect("a file in a directory");
    // The key is 0600 from its first byte (`write_atomic`).
    crate::store::write_atomic(key, key_pair.serialize_pem().as_bytes())
        .map_err(TlsError::Write)?;
    crate::store::write_atomic(cert, certificate.pem().as_bytes()).map_err(TlsError::Write)?;
    tracing::info!(names = ?names, "generated a self-signed TLS certificate in {}", dir.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_certificate_is_kept_and_reused() {
        let dir = std::env::temp_dir().join(format!("relaydeck-tls-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let first = load(&dir, None, None).unwrap();
        let again = load(&dir, None, None).unwrap();
        assert_eq!(
            first.fingerprint, again.fingerprint,
            "reused, not regenerated"
        );
        assert_eq!(first.fingerprint.len(), 32 * 3 - 1);
        assert!(first.self_signed);
        assert!(subject_names().contains(&"localhost".to_string()));
    }
}
