//! State the relay keeps on disk, each file with exactly one writer.
//!
//! * [`devices`]: the device registry (`devices.json`).
//! * [`camera_names`]: the names an admin gave cameras (`camera-names.json`).
//! * [`settings`]: the user's settings (`settings.json`; the desktop app reads it through
//!   `tauri-plugin-store`).
//! * [`schema`]: every file's `schemaVersion`, and the migrations run at start-up (with a
//!   backup first).
//!
//! Every file is written atomically ([`write_atomic`]): a crash leaves
//! either the old file or the new one, never half of one.

pub mod camera_names;
pub mod devices;
pub mod schema;
pub mod settings;

use std::{
    fs,
    io::{self, Write},
    path::Path,
};

/// Writes `data` to `path` via a temporary file, fsync and rename. The
/// temporary file is created with mode 0600 (before its first byte, so a
/// secret is never readable by others, not even for a moment) and the
/// directory made 0700 if this call creates it; a crash leaves the old file
/// or the new one, never a torn one.
pub fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    private_dir(dir)?;
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let written = (|| {
        let mut f = private_file(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written?;
    // Make the rename itself durable.
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// A new file only its owner may read or write.
pub fn private_file(path: &Path) -> io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Creates `dir` (and its parents) if needed; the data directory itself is
/// made 0700, since it holds the credentials and the TLS key.
pub fn private_dir(dir: &Path) -> io::Result<()> {
    if !dir.exists() {
        fs::create_dir_all(dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
}

/// The data directory: created 0700, or made 0700 if others could read or
/// enter it (it holds the credentials and the TLS key).
pub fn private_data_dir(dir: &Path) -> io::Result<()> {
    private_dir(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(dir)?.permissions().mode();
        if mode & 0o077 != 0 {
            fs::set_permissions(dir, fs::Permissions::from_mode(mode & 0o700 | 0o700))?;
            tracing::info!(dir = %dir.display(), "the data directory was readable by others; it is now 0700");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn files_are_private_from_their_first_byte_and_replaced_whole() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir()
            .join(format!("relaydeck-atomic-{}", std::process::id()))
            .join("data");
        let _ = fs::remove_dir_all(dir.parent().unwrap());
        let path = dir.join("secret.json");
        write_atomic(&path, b"{\"a\":1}").unwrap();
        assert_eq!(
            fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // The temporary file is private too: created 0600 before anything is written.
        let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
        let f = private_file(&tmp).unwrap();
        assert_eq!(f.metadata().unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(f.metadata().unwrap().len(), 0);
        drop(f);
        // A stale temporary file (an earlier crash) does not stop the next write.
        write_atomic(&path, b"{\"a\":2}").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"{\"a\":2}");
        assert!(!tmp.exists());
        fs::remove_dir_all(dir.parent().unwrap()).unwrap();
    }
}
