//! JSON control messages on sockets: parsing into an edge's typed message
//! with precise errors, mapped onto the documented `error` message.

use relaydeck_contract::socket::{code, SocketReply};
use serde::de::DeserializeOwned;
use serde_json::Value;

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
            Self::NotJson(_) => code::BAD_JSON,
            Self::MissingType => code::MISSING_TYPE,
            Self::UnknownType(_) => code::UNKNOWN_TYPE,
            Self::Invalid { .. } => code::BAD_MESSAGE,
        }
    }

    pub fn to_reply(&self) -> SocketReply {
        SocketReply::error(self.code(), self.to_string())
    }
}

/// Parses a `{"type": …}` message into `T` (an internally tagged enum),
/// telling apart bad JSON, a missing or unknown type, and bad fields. Which
/// types exist is `T`'s own business: serde's unknown-variant error says so.
pub fn parse<T: DeserializeOwned>(text: &str) -> Result<T, ControlError> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| ControlError::NotJson(e.to_string()))?;
    let kind = value
        .get("type")
        .and_then(Value::as_str)
        .ok_or(ControlError::MissingType)?
        .to_owned();
    serde_json::from_value(value).map_err(|e| {
        let message = e.to_string();
        if message.starts_with(&format!("unknown variant `{kind}`")) {
            ControlError::UnknownType(kind)
        } else {
            ControlError::Invalid { kind, message }
        }
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
            parse::<Msg>(r#"{"type":"hello","name":"x"}"#),
            Ok(Msg::Hello { name: "x".into() })
        );
        assert!(matches!(
            parse::<Msg>("nope"),
            Err(ControlError::NotJson(_))
        ));
        assert_eq!(
            parse::<Msg>(r#"{"name":1}"#),
            Err(ControlError::MissingType)
        );
        assert_eq!(
            parse::<Msg>(r#"{"type":7}"#),
            Err(ControlError::MissingType)
        );
        assert_eq!(
            parse::<Msg>(r#"{"type":"bye"}"#),
            Err(ControlError::UnknownType("bye".into()))
        );
        // A known type with bad fields is not an unknown type.
        assert!(matches!(
            parse::<Msg>(r#"{"type":"hello"}"#),
            Err(ControlError::Invalid { kind, .. }) if kind == "hello"
        ));
        assert!(matches!(
            parse::<Msg>(r#"{"type":"hello","name":"unknown variant"}"#),
            Ok(Msg::Hello { .. })
        ));
    }
}
