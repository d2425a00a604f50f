//! State the relay keeps on disk, each file with exactly one writer.
//!
//! * [`devices`]: the device registry (`devices.json`).
//! * [`settings`]: the user's settings (`settings.json`; the desktop app writes it through
//!   `tauri-plugin-store`).
//!
//! Every file is written atomically ([`write_atomic`]): a crash leaves
//! either the old file or the new one, never half of one.

pub mod devices;
pub mod settings;

use std::{
    fs,
    io::{self, Write},
    path::Path,
};

/// Writes `data` to `path` via a temporary file, fsync and rename.
pub fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    // Make the rename itself durable.
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}
