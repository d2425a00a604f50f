//! The audio library: files uploaded to the relay (and, with recording,
//! recordings of its sources), each kept as it came and as its decoded PCM.
//!
//! * [`decode`]: what a file is, and its PCM (symphonia; Ogg/Opus by libopus).
//! * [`name`]: the safe name and the ID a file gets from what it was uploaded as.
//! * [`recorded`]: finished audio recordings, listed and played as files of the library.
//!
//! On disk, in `<data>/library/` (0700, files 0600): `<id>.<ext>` (the
//! file byte for byte), `<id>.pcm` (s16le) and `<id>.json` (its
//! [`AudioFile`] entry, written last and atomically, so a file without one
//! was never finished and is not listed). [`FileLibrary`] is the only writer
//! of the directory. An upload is staged under a random `.part` name and
//! moved in only once it decoded, so a failed or interrupted upload never
//! replaces the file it was to replace.

pub mod decode;
pub mod name;
pub mod recorded;

use std::{
    collections::BTreeMap,
    fs, io,
    path::{Path, PathBuf},
};

use parking_lot::RwLock;
use relaydeck_contract::api::{AudioFile, FileOrigin};

use crate::{auth::Principal, store};

/// The library's files and the directory they live in.
#[derive(Debug)]
pub struct FileLibrary {
    dir: PathBuf,
    files: RwLock<BTreeMap<String, AudioFile>>,
}

/// A file's two copies on disk.
#[derive(Debug, Clone)]
pub struct FilePaths {
    /// As uploaded.
    pub original: PathBuf,
    /// Its decoded PCM.
    pub pcm: PathBuf,
}

/// Staging paths for one upload: the body, then its PCM.
#[derive(Debug, Clone)]
pub struct Staged {
    pub original: PathBuf,
    pub pcm: PathBuf,
}

impl Staged {
    /// Removes what was staged (a failed upload).
    pub fn discard(&self) {
        let _ = fs::remove_file(&self.original);
        let _ = fs::remove_file(&self.pcm);
    }
}

impl FileLibrary {
    /// Opens (creating) `dir` and lists what is finished in it; staging
    /// files an earlier run left are removed.
    pub fn open(dir: &Path) -> io::Result<Self> {
        store::private_dir(dir)?;
        let mut files = BTreeMap::new();
        for entry in fs::read_dir(dir)? {
            let path = entry?.path();
            let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if file_name.starts_with(".upload-") {
                let _ = fs::remove_file(&path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            match Self::load_entry(dir, &path) {
                Ok(file) => {
                    files.insert(file.id.clone(), file);
                }
                Err(why) => {
                    tracing::warn!(file = %path.display(), %why, "a library entry is skipped")
                }
            }
        }
        Ok(Self {
            dir: dir.to_owned(),
            files: RwLock::new(files),
        })
    }

    fn load_entry(dir: &Path, path: &Path) -> Result<AudioFile, String> {
        let text = fs::read(path).map_err(|e| e.to_string())?;
        let mut value: serde_json::Value =
            serde_json::from_slice(&text).map_err(|e| e.to_string())?;
        // Its version was dealt with at start-up (`store::schema::migrate`).
        if let Some(entry) = value.as_object_mut() {
            entry.remove(store::schema::KEY);
        }
        let file: AudioFile = serde_json::from_value(value).map_err(|e| e.to_string())?;
        if name::file_id(&file.name).as_deref() != Some(file.id.as_str())
            || path.file_stem().and_then(|s| s.to_str()) != Some(file.id.as_str())
        {
            return Err("its ID does not match its name".into());
        }
        let paths = paths_in(dir, &file);
        for (p, size) in [(&paths.original, file.size), (&paths.pcm, file.pcm_size)] {
            let on_disk = fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
            if on_disk.len() != size {
                return Err(format!("{} is not the size recorded", p.display()));
            }
        }
        Ok(file)
    }

    /// Every file, newest first.
    pub fn list(&self) -> Vec<AudioFile> {
        let mut files: Vec<AudioFile> = self.files.read().values().cloned().collect();
        files.sort_by(|a, b| b.added_ms.cmp(&a.added_ms).then(a.id.cmp(&b.id)));
        files
    }

    pub fn get(&self, id: &str) -> Option<AudioFile> {
        self.files.read().get(id).cloned()
    }

    pub fn paths(&self, file: &AudioFile) -> FilePaths {
        paths_in(&self.dir, file)
    }

    /// Two fresh private staging paths for an upload.
    pub fn stage(&self) -> Staged {
        let tag = crate::secrets::random_hex(12);
        Staged {
            original: self.dir.join(format!(".upload-{tag}.part")),
            pcm: self.dir.join(format!(".upload-{tag}.pcm.part")),
        }
    }

    /// Moves a decoded upload in as `file`, replacing one with its ID.
    /// Returns whether one was replaced.
    pub fn commit(&self, staged: &Staged, file: AudioFile) -> io::Result<bool> {
        let paths = self.paths(&file);
        let mut files = self.files.write();
        let old = files.get(&file.id).cloned();
        fs::rename(&staged.pcm, &paths.pcm)?;
        fs::rename(&staged.original, &paths.original)?;
        let entry = entry_json(&file);
        store::write_atomic(&self.dir.join(format!("{}.json", file.id)), &entry)?;
        // The old original under another extension is no longer the file.
        if let Some(old) = &old {
            let old_paths = self.paths(old);
            if old_paths.original != paths.original {
                let _ = fs::remove_file(old_paths.original);
            }
        }
        files.insert(file.id.clone(), file);
        Ok(old.is_some())
    }

    /// Forgets `id` and removes its files.
    pub fn remove(&self, id: &str) -> io::Result<Option<AudioFile>> {
        let mut files = self.files.write();
        let Some(file) = files.get(id).cloned() else {
            return Ok(None);
        };
        // The entry first: without it the rest is never listed again.
        fs::remove_file(self.dir.join(format!("{id}.json")))?;
        let paths = self.paths(&file);
        let _ = fs::remove_file(paths.original);
        let _ = fs::remove_file(paths.pcm);
        files.remove(id);
        Ok(Some(file))
    }
}

fn paths_in(dir: &Path, file: &AudioFile) -> FilePaths {
    let ext = match file.mime.as_str() {
        "audio/wav" => "wav",
        "audio/flac" => "flac",
        "audio/mpeg" => "mp3",
        _ => "ogg",
    };
    FilePaths {
        original: dir.join(format!("{}.{ext}", file.id)),
        pcm: dir.join(format!("{}.pcm", file.id)),
    }
}

/// May `p` see `file`? Uploads: the admin, and tokens that may view and
/// whose list names the file's ID (an unlimited view token is not enough:
/// uploads are private until granted). Recordings: whoever may listen to
/// their source.
pub fn visible(p: &Principal, file: &AudioFile) -> bool {
    if p.is_admin() {
        return true;
    }
    match (file.origin, &file.source) {
        (FileOrigin::Recording, Some(source)) => p.can_view(source),
        _ => p.granted(&file.id),
    }
}

#[cfg(test)]
mod tests;

/// A library entry as written: the file's description and its `schemaVersion`.
fn entry_json(file: &AudioFile) -> Vec<u8> {
    let mut value = serde_json::to_value(file).expect("an AudioFile serialises");
    if let Some(entry) = value.as_object_mut() {
        entry.insert(store::schema::KEY.to_owned(), store::schema::current());
    }
    serde_json::to_vec_pretty(&value).expect("JSON serialises")
}
