//! Reading release history from git repositories: the commits between two
//! releases, the version tags that mark releases, and the revisions a user
//! names. Pure Rust on top of [gix]; no `git` executable is needed at run time.
//!
//! The rules this crate keeps:
//!
//! - **Read-only.** Nothing here writes to a repository, its refs or its
//!   config.
//! - **One read per commit.** A [`Walk`] decodes every commit object once and
//!   reads no trees unless [`WalkOptions::paths`] asks for them, so a
//!   changelog over 100,000 commits costs about what `git log` costs.
//! - **Newest first, children before parents.** A walk is in topological
//!   order (ties broken by commit time, newest first), so commits can be
//!   grouped between release tags in a single pass.
//! - **Text is never an error.** Messages and names that are not valid UTF-8
//!   (or that declare another `encoding`) are decoded lossily as UTF-8.
//! - **Errors say where and what.** Every [`GitError`] names the repository
//!   and the revision, tag or object involved, and what was expected.
//!
//! ```no_run
//! use ferry_git::{Repository, WalkOptions};
//!
//! let repo = Repository::discover(std::path::Path::new("."))?;
//! let previous = repo.version_tags(None)?.into_iter().next();
//! let options = WalkOptions {
//!     hide: previous.map(|tag| tag.commit).into_iter().collect(),
//!     ..WalkOptions::default()
//! };
//! for commit in repo.walk("HEAD", &options)? {
//!     let commit = commit?;
//!     println!("{} {}", &commit.id[..7], commit.message.lines().next().unwrap_or(""));
//! }
//! # Ok::<(), ferry_git::GitError>(())
//! ```

mod error;
mod paths;
mod tags;
mod walk;

use std::path::{Path, PathBuf};

use gix::bstr::ByteSlice;
use gix::objs::Find;

pub use error::GitError;
pub use walk::Walk;

/// A git repository opened for reading history.
pub struct Repository {
    inner: gix::Repository,
    /// Where the repository is (its work tree, or its git dir when bare); used
    /// in error messages.
    location: PathBuf,
}

impl std::fmt::Debug for Repository {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Repository")
            .field("location", &self.location)
            .finish()
    }
}

/// A tag that marks a release: its name parses as a semantic version, with an
/// optional `v` and, for a service, the service's own prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionTag {
    /// The tag's name without `refs/tags/`, e.g. `v1.2.0` or `api@1.3.0`.
    pub name: String,
    /// The version the name carries.
    pub version: semver::Version,
    /// The 40-hex id of the commit the tag points to (annotated tags peeled).
    pub commit: String,
}

/// What a [`Repository::walk`] visits.
#[derive(Debug, Clone, Default)]
pub struct WalkOptions {
    /// Follow only first parents: the mainline, with each merge standing for
    /// the branch it brought in.
    pub first_parent: bool,
    /// Path globs relative to the repository root (`services/api/**`,
    /// `docs/*.md`). When not empty, only commits that change a matching path
    /// compared to their first parent are yielded (a root commit: any
    /// matching path in its tree). `*` and `?` stay within one path
    /// component, `**` spans any number; a glob that matches a directory
    /// matches everything below it, so `services/api` works too.
    pub paths: Vec<String>,
    /// Revisions (normally commit ids, e.g. the previous release's) that,
    /// with all their ancestors, are not walked.
    pub hide: Vec<String>,
}

/// A commit as a changelog needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitCommit {
    /// The 40-hex commit id.
    pub id: String,
    /// The full message as stored (subject, body, trailers, final newline),
    /// decoded lossily as UTF-8.
    pub message: String,
    /// The author's name.
    pub author_name: String,
    /// The author's email, without angle brackets.
    pub author_email: String,
    /// The author time, in seconds since the Unix epoch.
    pub time: i64,
    /// How many parents the commit has (2 or more for a merge).
    pub parents: usize,
}

impl Repository {
    /// Opens the repository that contains `path`: `path` itself or the
    /// nearest parent directory that is a work tree or a git dir.
    pub fn discover(path: &Path) -> Result<Self, GitError> {
        let inner = gix::discover(path).map_err(|source| {
            if source.is_not_found() {
                GitError::NotARepository {
                    path: path.to_path_buf(),
                }
            } else {
                GitError::Open {
                    path: path.to_path_buf(),
                    source,
                }
            }
        })?;
        let location = inner
            .workdir()
            .unwrap_or_else(|| inner.git_dir())
            .to_path_buf();
        Ok(Self { inner, location })
    }

    /// Where the repository is: its work tree, or its git dir when bare.
    pub fn location(&self) -> &Path {
        &self.location
    }

    /// Resolves `rev` to the 40-hex id of a commit. Takes `HEAD`, a branch, a
    /// tag (annotated tags are peeled), a full or abbreviated commit id, and
    /// the rest of git's revision syntax (`HEAD~3`, `v1.2.0^{commit}`).
    pub fn resolve(&self, rev: &str) -> Result<String, GitError> {
        self.resolve_id(rev).map(|id| id.to_string())
    }

    pub(crate) fn resolve_id(&self, rev: &str) -> Result<gix::ObjectId, GitError> {
        let id = self
            .inner
            .rev_parse_single(rev.as_bytes().as_bstr())
            .map_err(|source| {
                use gix::revision::spec::parse::Error as ParseError;
                let (rev, repo) = (rev.to_owned(), self.location.clone());
                match source.downcast_any_ref::<ParseError>() {
                    Some(ParseError::AmbiguousPrefix { .. }) => {
                        GitError::AmbiguousRevision { rev, repo, source }
                    }
                    _ => GitError::UnknownRevision { rev, repo, source },
                }
            })?
            .detach();
        let mut buf = Vec::new();
        let (mut id, mut kind) = (id, self.read(&id, &mut buf)?.kind);
        // Peel annotated tags (which may point to further tags) by hand: it
        // needs only the tag object's first header line.
        while kind == gix::objs::Kind::Tag {
            let target = gix::objs::TagRefIter::from_bytes(&buf, id.kind())
                .target_id()
                .map_err(|source| self.read_error(&id, source))?;
            id = target;
            kind = self.read(&id, &mut buf)?.kind;
        }
        if kind != gix::objs::Kind::Commit {
            return Err(GitError::NotACommit {
                rev: rev.to_owned(),
                repo: self.location.clone(),
                kind: kind.to_string(),
            });
        }
        Ok(id)
    }

    /// Lists the tags that mark releases, highest version first.
    ///
    /// Without a service: tags named `vX.Y.Z` or `X.Y.Z`. With a service
    /// (`api`), also `api-vX.Y.Z`, `api-X.Y.Z` and `api@X.Y.Z`; when a
    /// version is tagged both ways, the service's own tag wins. Tags of other
    /// services (`web-v1.0.0`) never match. What follows the prefix must be a
    /// whole semantic version; pre-releases (`-rc.1`) and build metadata
    /// (`+build.5`) are allowed. Tags that point (after peeling) to something
    /// other than a commit are left out.
    pub fn version_tags(&self, service: Option<&str>) -> Result<Vec<VersionTag>, GitError> {
        tags::version_tags(self, service)
    }

    /// Walks the history reachable from `from` (any revision [`resolve`]
    /// takes), newest first, children always before their parents.
    ///
    /// The revisions in `options.hide` are resolved here, so an unknown one is
    /// an error now; errors while reading the history are yielded by the
    /// iterator, which then ends.
    ///
    /// Hidden ancestry is found the way `git log A..B` finds it, by walking
    /// both sides in commit-time order and stopping when only hidden commits
    /// remain; like git, it can be fooled by commit times that are badly
    /// skewed (a commit dated days before its parent).
    ///
    /// [`resolve`]: Repository::resolve
    pub fn walk(&self, from: &str, options: &WalkOptions) -> Result<Walk<'_>, GitError> {
        let tip = self.resolve_id(from)?;
        let hide = options
            .hide
            .iter()
            .map(|rev| self.resolve_id(rev))
            .collect::<Result<Vec<_>, _>>()?;
        let paths = paths::PathFilter::new(&options.paths)?;
        Ok(Walk::new(self, tip, hide, options.first_parent, paths))
    }

    /// Reads an object into `buf`, mapping "missing" to its own error.
    pub(crate) fn read<'b>(
        &self,
        id: &gix::oid,
        buf: &'b mut Vec<u8>,
    ) -> Result<gix::objs::Data<'b>, GitError> {
        match self.inner.objects.try_find(id, buf) {
            Ok(Some(data)) => Ok(data),
            Ok(None) => Err(GitError::MissingObject {
                id: id.to_string(),
                repo: self.location.clone(),
            }),
            Err(source) => Err(self.read_error(id, source)),
        }
    }

    /// The kind of an object, read from its header only.
    pub(crate) fn kind(&self, id: &gix::oid) -> Result<gix::objs::Kind, GitError> {
        use gix::objs::FindHeader;
        match self.inner.objects.try_header(id) {
            Ok(Some(header)) => Ok(header.kind),
            Ok(None) => Err(GitError::MissingObject {
                id: id.to_string(),
                repo: self.location.clone(),
            }),
            Err(source) => Err(self.read_error(id, source)),
        }
    }

    pub(crate) fn read_error(&self, id: &gix::oid, source: gix::Error) -> GitError {
        GitError::ReadObject {
            id: id.to_string(),
            repo: self.location.clone(),
            source,
        }
    }

    pub(crate) fn wrong_kind(
        &self,
        id: &gix::oid,
        expected: &'static str,
        actual: gix::objs::Kind,
    ) -> GitError {
        GitError::WrongKind {
            id: id.to_string(),
            repo: self.location.clone(),
            expected,
            actual: actual.to_string(),
        }
    }
}
