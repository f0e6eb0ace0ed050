//! Names of services, environments, lifecycles and users.
//!
//! Names appear in URLs, file paths, shell variables and CLI arguments, so they
//! are kept to a small alphabet: lower-case ASCII letters, digits, `-`, `_` and
//! `.`, starting with a letter or digit, at most 63 characters.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The longest name accepted, in bytes.
pub const MAX_NAME_LEN: usize = 63;

/// The form of a name as a regular expression (ECMA 262, for the OpenAPI
/// document); [`Name::parse`] is the rule, this its description.
pub const NAME_PATTERN: &str = "^[a-z0-9][a-z0-9._-]*$";

/// A validated name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Name(String);

/// Why a string is not a valid name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// The string is empty.
    #[error("a name cannot be empty")]
    Empty,
    /// The string is longer than [`MAX_NAME_LEN`].
    #[error("name {0:?} is longer than {MAX_NAME_LEN} characters")]
    TooLong(String),
    /// The string holds a character outside the allowed alphabet.
    #[error(
        "name {name:?} has {found:?} at position {position}; expected lower-case letters, digits, '-', '_' or '.', starting with a letter or digit"
    )]
    BadCharacter {
        /// The rejected name.
        name: String,
        /// The first character not allowed there.
        found: char,
        /// Its position (1-based, in characters).
        position: usize,
    },
}

impl Name {
    /// Checks `s` and wraps it.
    pub fn parse(s: &str) -> Result<Self, NameError> {
        if s.is_empty() {
            return Err(NameError::Empty);
        }
        if s.len() > MAX_NAME_LEN {
            return Err(NameError::TooLong(s.to_owned()));
        }
        for (index, c) in s.chars().enumerate() {
            let allowed = c.is_ascii_lowercase()
                || c.is_ascii_digit()
                || (index > 0 && matches!(c, '-' | '_' | '.'));
            if !allowed {
                return Err(NameError::BadCharacter {
                    name: s.to_owned(),
                    found: c,
                    position: index + 1,
                });
            }
        }
        Ok(Self(s.to_owned()))
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Name {
    type Error = NameError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Name> for String {
    fn from(name: Name) -> Self {
        name.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Name {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Name {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .min_length(Some(1))
            .max_length(Some(MAX_NAME_LEN))
            .pattern(Some(NAME_PATTERN))
            .description(Some(
                "A name: lower-case letters, digits, '-', '_' and '.', starting with a letter or digit",
            ))
            .examples(["api"])
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Name {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_usual_names() {
        for ok in ["api", "prod", "web-frontend", "svc_2", "a", "v1.2", "0day"] {
            assert_eq!(Name::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn rejects_with_the_reason() {
        assert_eq!(Name::parse(""), Err(NameError::Empty));
        assert!(matches!(
            Name::parse(&"a".repeat(64)),
            Err(NameError::TooLong(_))
        ));
        assert_eq!(
            Name::parse("Prod"),
            Err(NameError::BadCharacter {
                name: "Prod".into(),
                found: 'P',
                position: 1
            })
        );
        assert!(matches!(
            Name::parse("-api"),
            Err(NameError::BadCharacter {
                found: '-',
                position: 1,
                ..
            })
        ));
        assert!(matches!(
            Name::parse("my api"),
            Err(NameError::BadCharacter {
                found: ' ',
                position: 3,
                ..
            })
        ));
        let message = Name::parse("a/b").unwrap_err().to_string();
        assert!(message.contains("expected lower-case letters"), "{message}");
    }
}
