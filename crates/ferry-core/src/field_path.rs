//! A place inside an entry of `ferry.toml`: the keys and list positions that
//! lead to one value, such as `deploy.steps[1].timeout`.
//!
//! The rules that check an entry name the value at fault with a
//! [`FieldPath`]; [`crate::config::parse`] turns it into the place in the file
//! (line and column), so an error points at the offending key rather than at
//! the entry it is in.

use std::fmt;

/// One step of a [`FieldPath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    /// A key of a table.
    Key(String),
    /// A position in a list, from 0.
    Index(usize),
}

/// The keys and list positions that lead to a value, from the entry's top.
/// Empty for the entry itself. Shown as `deploy.steps[1].timeout`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FieldPath(Vec<Segment>);

impl FieldPath {
    /// The entry itself.
    pub fn root() -> Self {
        Self::default()
    }

    /// The top-level field `key` of the entry.
    pub fn field(key: &str) -> Self {
        Self::root().key(key)
    }

    /// The value under `key` of the table at this path.
    pub fn key(&self, key: &str) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.to_owned()));
        Self(segments)
    }

    /// The item at `index` of the list at this path.
    pub fn index(&self, index: usize) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Index(index));
        Self(segments)
    }

    /// The steps, from the entry's top.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// Whether this is the entry itself.
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) if position == 0 => write!(f, "{key}")?,
                Segment::Key(key) => write!(f, ".{key}")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// A value that breaks a rule, with where it is: shown as
/// `deploy.steps[1].timeout: what is wrong and what is expected`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct FieldError {
    /// The value the message is about.
    pub field: FieldPath,
    /// What is wrong with it and what is expected.
    pub reason: String,
    /// Where in the file to point: `field`, or a key inside it (an unknown
    /// key of the table `field`).
    pub place: FieldPath,
}

impl FieldError {
    /// The value at `field` breaks a rule: `reason` says which.
    pub fn new(field: FieldPath, reason: impl Into<String>) -> Self {
        Self {
            place: field.clone(),
            field,
            reason: reason.into(),
        }
    }

    /// The table at `table` has a key it must not have: the message is
    /// about the table, the place is the key.
    pub fn unknown_key(table: FieldPath, key: &str, reason: impl Into<String>) -> Self {
        Self {
            place: table.key(key),
            field: table,
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_written_as_in_the_file() {
        let path = FieldPath::field("deploy")
            .key("steps")
            .index(1)
            .key("timeout");
        assert_eq!(path.to_string(), "deploy.steps[1].timeout");
        assert_eq!(
            FieldPath::field("windows").index(0).to_string(),
            "windows[0]"
        );
        assert_eq!(FieldPath::root().to_string(), "");
        assert!(FieldPath::root().is_root());
        assert_eq!(
            FieldError::new(
                FieldPath::field("deploy").key("rollback"),
                "expected \"auto\""
            )
            .to_string(),
            "deploy.rollback: expected \"auto\""
        );
        let unknown = FieldError::unknown_key(FieldPath::field("deploy"), "stratgy", "unknown");
        assert_eq!(unknown.to_string(), "deploy: unknown");
        assert_eq!(unknown.place.to_string(), "deploy.stratgy");
    }
}
