//! The one error type of this crate.

use std::path::PathBuf;

/// What went wrong while reading a repository. Every message names the
/// repository (or path) and the revision or object involved; the underlying
/// gix error, where there is one, is the [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// Neither the given path nor any of its parents is inside a git repository.
    #[error("no git repository at or above {}", path.display())]
    NotARepository {
        /// The path the search started from.
        path: PathBuf,
    },

    /// A repository was found but could not be opened (unreadable files,
    /// invalid configuration, an unsupported format).
    #[error("could not open the git repository at or above {}", path.display())]
    Open {
        /// The path the search started from.
        path: PathBuf,
        /// Why gix could not open it.
        #[source]
        source: gix::Error,
    },

    /// A revision names nothing in the repository.
    #[error(
        "unknown revision '{rev}' in {}: expected HEAD, a branch, a tag or a commit id (full or abbreviated)",
        repo.display()
    )]
    UnknownRevision {
        /// The revision as given.
        rev: String,
        /// The repository it was looked up in.
        repo: PathBuf,
        /// What gix reported.
        #[source]
        source: gix::Error,
    },

    /// An abbreviated id matches more than one object.
    #[error(
        "revision '{rev}' in {} is ambiguous: several objects have ids starting with it; give more hex digits",
        repo.display()
    )]
    AmbiguousRevision {
        /// The revision as given.
        rev: String,
        /// The repository it was looked up in.
        repo: PathBuf,
        /// What gix reported, with the candidates.
        #[source]
        source: gix::Error,
    },

    /// A revision names an object that is not a commit, not even after
    /// peeling annotated tags (a tree or a blob).
    #[error("revision '{rev}' in {} is a {kind}, expected a commit", repo.display())]
    NotACommit {
        /// The revision as given.
        rev: String,
        /// The repository it was looked up in.
        repo: PathBuf,
        /// The kind of object it names ("tree", "blob").
        kind: String,
    },

    /// The tag references could not be listed or one of them could not be
    /// peeled to the object it points to.
    #[error("could not read the tags of {}{}", repo.display(), tag.as_deref().map(|t| format!(" (tag '{t}')")).unwrap_or_default())]
    Tags {
        /// The repository.
        repo: PathBuf,
        /// The tag being read when it failed, if it got that far.
        tag: Option<String>,
        /// What gix reported.
        #[source]
        source: gix::Error,
    },

    /// An object the history needs is not in the object database: the clone is
    /// shallow or partial there, or the repository is damaged.
    #[error(
        "object {id} is missing from {} (a shallow or partial clone? fetch the history you need, e.g. `git fetch --unshallow`)",
        repo.display()
    )]
    MissingObject {
        /// The 40-hex id of the missing object.
        id: String,
        /// The repository.
        repo: PathBuf,
    },

    /// An object exists but could not be read or decoded (a damaged pack or
    /// loose object, or an object gix cannot parse).
    #[error("could not read object {id} from {}", repo.display())]
    ReadObject {
        /// The 40-hex id of the object.
        id: String,
        /// The repository.
        repo: PathBuf,
        /// What gix reported.
        #[source]
        source: gix::Error,
    },

    /// An object is of another kind than the history requires, e.g. a
    /// commit's parent that is not a commit.
    #[error("object {id} in {} is a {actual}, expected a {expected}", repo.display())]
    WrongKind {
        /// The 40-hex id of the object.
        id: String,
        /// The repository.
        repo: PathBuf,
        /// The kind that was needed.
        expected: &'static str,
        /// The kind found.
        actual: String,
    },

    /// A path glob given to [`WalkOptions::paths`](crate::WalkOptions::paths)
    /// cannot be used.
    #[error("invalid path glob '{glob}': {reason}")]
    InvalidPathGlob {
        /// The glob as given.
        glob: String,
        /// What is wrong with it and what is expected instead.
        reason: &'static str,
    },
}
