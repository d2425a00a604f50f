//! Stream IDs: the `clientId` a camera names itself with.

use std::{borrow::Borrow, fmt, sync::Arc};

/// Longest ID accepted, in bytes (all allowed characters are ASCII).
pub const MAX_ID_LEN: usize = 64;

/// A validated stream ID: 1 to 64 characters of `[A-Za-z0-9_-]`.
///
/// Cheap to clone (an `Arc<str>`), so it can be stored in every subscription
/// without allocating.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamId(Arc<str>);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdError {
    #[error("the ID is empty")]
    Empty,
    #[error("the ID is longer than {MAX_ID_LEN} characters")]
    TooLong,
    #[error("the ID may contain only A-Z, a-z, 0-9, '_' and '-'")]
    BadCharacter,
}

impl StreamId {
    pub fn new(raw: &str) -> Result<Self, IdError> {
        if raw.is_empty() {
            return Err(IdError::Empty);
        }
        if raw.len() > MAX_ID_LEN {
            return Err(IdError::TooLong);
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(IdError::BadCharacter);
        }
        Ok(Self(raw.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for StreamId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", &*self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_alphabet() {
        assert!(StreamId::new("cam_1-A").is_ok());
        assert!(StreamId::new(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn refuses_everything_else() {
        assert_eq!(StreamId::new(""), Err(IdError::Empty));
        assert_eq!(StreamId::new(&"a".repeat(65)), Err(IdError::TooLong));
        for bad in ["a b", "a/b", "ä", "a.b", "a\0", "../x"] {
            assert_eq!(StreamId::new(bad), Err(IdError::BadCharacter), "{bad:?}");
        }
    }
}
