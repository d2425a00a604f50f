//! The name a file is kept under, and its ID, from the name it was uploaded
//! as (`PUT /api/files/{name}`, percent-decoded).
//!
//! The name is shown, never used as a path: control characters go, spaces
//! around it go, it may not be `.`/`..` or start with a dot, and it may not
//! hold `/` or `\` (an upload is one file, not a place). The ID is the name
//! in the ID alphabet (`[A-Za-z0-9_-]`, at most 64): every run of other
//! characters becomes one `-`. Two names with one ID are one file: the later
//! upload replaces the earlier.

use relaydeck_hub::MAX_ID_LEN;

/// The longest name kept, in bytes.
pub const MAX_NAME: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("name the file in the URL: PUT /api/files/{{name}}")]
    Empty,
    #[error("a file name cannot contain '/' or '\\'")]
    Separator,
    #[error("a file name cannot start with '.'")]
    Dot,
    #[error("a file name may be at most {MAX_NAME} bytes")]
    TooLong,
    #[error("the name '{0}' has no letter or digit to make an ID of")]
    NoId(String),
}

/// The safe name and the ID for an upload named `raw`.
pub fn sanitise(raw: &str) -> Result<(String, String), NameError> {
    if raw.contains(['/', '\\']) {
        return Err(NameError::Separator);
    }
    let name: String = raw.chars().filter(|c| !c.is_control()).collect();
    let name = name.trim();
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.starts_with('.') {
        return Err(NameError::Dot);
    }
    if name.len() > MAX_NAME {
        return Err(NameError::TooLong);
    }
    let id = file_id(name).ok_or_else(|| NameError::NoId(name.to_owned()))?;
    Ok((name.to_owned(), id))
}

/// The ID of a (safe) name; `None` when nothing of it is in the alphabet.
pub fn file_id(name: &str) -> Option<String> {
    let mut id = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            id.push(c);
        } else if !id.ends_with('-') {
            id.push('-');
        }
    }
    let id = id.trim_matches('-');
    let mut end = id.len().min(MAX_ID_LEN);
    while !id.is_char_boundary(end) {
        end -= 1;
    }
    let id = id[..end].trim_end_matches('-');
    (!id.is_empty()).then(|| id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_what_people_call_their_files() {
        assert_eq!(
            sanitise("Morning Birds (1).mp3").unwrap(),
            ("Morning Birds (1).mp3".into(), "Morning-Birds-1-mp3".into())
        );
        assert_eq!(
            sanitise("  tone\u{7}.wav \n").unwrap(),
            ("tone.wav".into(), "tone-wav".into())
        );
        assert_eq!(
            sanitise("Café—Paris.flac").unwrap().1,
            "Caf-Paris-flac",
            "non-ASCII is shown, not part of the ID"
        );
        let long = format!("{}.ogg", "a".repeat(100));
        assert_eq!(sanitise(&long).unwrap().1, "a".repeat(64));
        assert_eq!(
            file_id(&format!("{}-b", "a".repeat(63))).unwrap(),
            "a".repeat(63),
            "an ID cut at 64 does not end in '-'"
        );
    }

    #[test]
    fn paths_and_hidden_names_are_refused() {
        for (raw, why) in [
            ("../etc/passwd", NameError::Separator),
            ("a/b.wav", NameError::Separator),
            ("a\\b.wav", NameError::Separator),
            ("..", NameError::Dot),
            (".hidden.wav", NameError::Dot),
            ("", NameError::Empty),
            (" \t", NameError::Empty),
            ("日本語", NameError::NoId("日本語".into())),
        ] {
            assert_eq!(sanitise(raw), Err(why), "{raw:?}");
        }
        assert_eq!(sanitise(&"x".repeat(201)), Err(NameError::TooLong));
    }
}
