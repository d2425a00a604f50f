//! The one parse of a request's query string.
//!
//! The guard parses the query once, decides the policy on that parse, and
//! puts it in the request's extensions ([`Params`]); handlers read their
//! parameters from there and nowhere else (the server does not even build
//! axum's `Query` extractor). So the policy and the handler cannot read a
//! request differently: keys and values are percent-decoded the same way for
//! both, and a key given twice is refused instead of one side taking the
//! first value and the other the last.

use std::sync::Arc;

use crate::error::ApiError;

/// A query string, decoded: keys and values percent-decoded, `+` as a space
/// (the `application/x-www-form-urlencoded` rules browsers and players use).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

/// Why a query string or path segment was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the query parameter '{0}' is given more than once")]
    Duplicate(String),
    #[error("malformed percent-encoding in '{0}'")]
    BadEscape(String),
    #[error("'{0}' does not decode to UTF-8")]
    NotUtf8(String),
}

impl From<ParseError> for ApiError {
    fn from(e: ParseError) -> Self {
        match e {
            ParseError::Duplicate(key) => ApiError::DuplicateParameter(key),
            other => ApiError::BadRequest(other.to_string()),
        }
    }
}

impl Params {
    /// Parses `raw` (the part after `?`). Every key may appear once.
    pub fn parse(raw: Option<&str>) -> Result<Self, ParseError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for part in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            let key = decode(k, true)?;
            if pairs.iter().any(|(seen, _)| *seen == key) {
                return Err(ParseError::Duplicate(key));
            }
            pairs.push((key, decode(v, true)?));
        }
        Ok(Self { pairs })
    }

    /// The value of `key`, if given.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    pub fn shared(self) -> Arc<Self> {
        Arc::new(self)
    }
}

/// Percent-decodes `s`; with `plus_is_space` (query strings and forms) a `+`
/// is a space, in a path segment it stays a `+`. A `%` must be followed by
/// two hex digits and the result must be UTF-8: anything else is refused, so
/// no two parsers can disagree about what it meant.
pub fn decode(s: &str, plus_is_space: bool) -> Result<String, ParseError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        // On bytes, not `&str` slices: a `%` may be followed by a multi-byte
        // character (found by fuzzing: slicing there panicked).
        match bytes[i] {
            b'%' => {
                let hex = |j: usize| bytes.get(j).and_then(|b| (*b as char).to_digit(16));
                let (Some(h), Some(l)) = (hex(i + 1), hex(i + 2)) else {
                    return Err(ParseError::BadEscape(s.to_owned()));
                };
                out.push((h << 4 | l) as u8);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| ParseError::NotUtf8(s.to_owned()))
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Params {
    type Rejection = ApiError;

    /// The guard's parse; a request the guard did not see has no parameters to offer.
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Arc<Params>>()
            .map(|p| (**p).clone())
            .ok_or_else(|| ApiError::Internal("request not parsed by the guard".into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values_are_decoded_alike() {
        let p = Params::parse(Some("client%49d=cam%42&a+b=c+d&flag")).unwrap();
        assert_eq!(p.get("clientId"), Some("camB"));
        assert_eq!(p.get("a b"), Some("c d"));
        assert_eq!(p.get("flag"), Some(""));
        assert_eq!(p.get("client%49d"), None, "only the decoded key exists");
    }

    #[test]
    fn a_key_given_twice_in_any_spelling_is_refused() {
        for q in [
            "clientId=a&clientId=b",
            "clientId=a&client%49d=b",
            "token=x&token=x",
            "a=1&%61=1",
        ] {
            assert!(
                matches!(Params::parse(Some(q)), Err(ParseError::Duplicate(_))),
                "{q}"
            );
        }
    }

    #[test]
    fn malformed_escapes_and_non_utf8_are_refused() {
        for q in ["a=%", "a=%4", "a=%zz", "a=%Ϲ", "a=%ff", "%=1"] {
            assert!(Params::parse(Some(q)).is_err(), "{q}");
        }
        assert_eq!(
            decode("a+b%2B", false).unwrap(),
            "a+b+",
            "a path keeps its +"
        );
        assert_eq!(decode("caf%C3%A9", true).unwrap(), "café");
    }
}
