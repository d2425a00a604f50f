//! JSON control messages on WebSockets: parsing with precise errors, and the
//! error message every socket edge sends back.

use serde::de::DeserializeOwned;
use serde_json::{json, Value};

/// Why a text message was not understood.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ControlError {
    #[error("message is not JSON: {0}")]
    NotJson(String),
    #[error("message has no string \"type\" field")]
    MissingType,
    #[error("unknown message type '{0}'")]
    UnknownType(String),
    #[error("invalid '{kind}' message: {message}")]
    Invalid { kind: String, message: String },
}

impl ControlError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotJson(_) => "bad_json",
            Self::MissingType => "missing_type",
            Self::UnknownType(_) => "unknown_type",
            Self::Invalid { .. } => "bad_message",
        }
    }

    pub fn to_message(&self) -> Value {
        error_message(self.code(), &self.to_string())
    }
}

/// `{"type":"error","code":…,"message":…}`.
pub fn error_message(code: &str, message: &str) -> Value {
    json!({ "type": "error", "code": code, "message": message })
}

/// Parses a `{"type": …}` message into `T` (an internally tagged enum),
/// telling apart bad JSON, a missing or unknown type, and bad fields.
pub fn parse<T: DeserializeOwned>(text: &str, known: &[&str]) -> Result<T, ControlError> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| ControlError::NotJson(e.to_string()))?;
    let kind = value
        .get("type")
        .and_then(Value::as_str)
        .ok_or(ControlError::MissingType)?
        .to_owned();
    if !known.contains(&kind.as_str()) {
        return Err(ControlError::UnknownType(kind));
    }
    serde_json::from_value(value).map_err(|e| ControlError::Invalid {
        kind,
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(tag = "type", rename_all = "kebab-case")]
    enum Msg {
        Hello { name: String },
    }

    #[test]
    fn tells_the_failures_apart() {
        assert_eq!(
            parse::<Msg>(r#"{"type":"hello","name":"x"}"#, &["hello"]),
            Ok(Msg::Hello { name: "x".into() })
        );
        assert!(matches!(
            parse::<Msg>("nope", &["hello"]),
            Err(ControlError::NotJson(_))
        ));
        assert_eq!(
            parse::<Msg>(r#"{"name":1}"#, &["hello"]),
            Err(ControlError::MissingType)
        );
        assert_eq!(
            parse::<Msg>(r#"{"type":"bye"}"#, &["hello"]),
            Err(ControlError::UnknownType("bye".into()))
        );
        assert!(matches!(
            parse::<Msg>(r#"{"type":"hello"}"#, &["hello"]),
            Err(ControlError::Invalid { .. })
        ));
    }
}
