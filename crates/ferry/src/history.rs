//! Reading a service's commits from git for releases and changelogs: the
//! walk ([`ferry_git`]), Conventional Commits parsing and bumps
//! ([`ferry_core`]), put together once for `release create` and `changelog`.

use std::collections::HashMap;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use ferry_core::conventional;
use ferry_core::notes::NotesCommit;
use ferry_core::versioning::{Bump, bump_of};
use ferry_git::{GitCommit, Repository, VersionTag, WalkOptions};

/// One commit made ready for notes, with the bump it asks for.
pub struct ReadCommit {
    /// The commit as release notes show it.
    pub commit: NotesCommit,
    /// What it asks of the next version.
    pub bump: Bump,
    /// Its author's e-mail (the name is in `commit.authors`).
    pub author_email: String,
}

impl ReadCommit {
    /// Its author and co-authors, as `Name <mail>`: what separation of
    /// duties matches users against.
    pub fn people(&self) -> impl Iterator<Item = String> + '_ {
        let name = self.commit.authors.first().map_or("", String::as_str);
        let author = if self.author_email.is_empty() {
            name.to_owned()
        } else {
            format!("{name} <{}>", self.author_email)
        };
        let co_authors = self
            .commit
            .footers
            .iter()
            .filter(|footer| footer.token.eq_ignore_ascii_case("Co-authored-by"))
            .map(|footer| footer.value.trim().to_owned());
        std::iter::once(author).chain(co_authors)
    }
}

/// Turns a commit read from git into a notes commit.
pub fn read(commit: GitCommit) -> ReadCommit {
    let message = conventional::parse(&commit.message);
    let bump = bump_of(&message);
    let time = DateTime::<Utc>::from_timestamp(commit.time, 0)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default();
    let author_email = commit.author_email;
    let commit = NotesCommit::new(commit.id, message, commit.author_name, time);
    ReadCommit {
        commit,
        bump,
        author_email,
    }
}

/// The commits from `to` back to (not including) `hide`, newest first.
pub fn commits(
    repository: &Repository,
    to: &str,
    options: &WalkOptions,
) -> Result<Vec<ReadCommit>> {
    let mut read_commits = Vec::new();
    for commit in repository.walk(to, options)? {
        read_commits.push(read(commit?));
    }
    Ok(read_commits)
}

/// The highest version tagged on each commit.
pub fn tags_by_commit(tags: &[VersionTag]) -> HashMap<String, semver::Version> {
    let mut by_commit: HashMap<String, semver::Version> = HashMap::new();
    for tag in tags {
        let entry = by_commit
            .entry(tag.commit.clone())
            .or_insert_with(|| tag.version.clone());
        if tag.version > *entry {
            *entry = tag.version.clone();
        }
    }
    by_commit
}

/// The largest bump among the commits from `to` that `options` walk (none
/// when there are none): reads the messages, keeps nothing.
pub fn bump(repository: &Repository, to: &str, options: &WalkOptions) -> Result<Bump> {
    let mut bump = Bump::None;
    for commit in repository.walk(to, options)? {
        bump = bump.max(read(commit?).bump);
    }
    Ok(bump)
}

/// The tag of the last final release: the highest version tag that is not a
/// pre-release. The commits after its commit make the next bump.
pub fn last_final_tag(tags: &[VersionTag]) -> Option<&VersionTag> {
    tags.iter()
        .filter(|t| t.version.pre.is_empty())
        .max_by(|a, b| a.version.cmp(&b.version))
}

/// Opens the repository at or above `dir`, saying so when there is none.
pub fn open(dir: &std::path::Path) -> Result<Repository> {
    Repository::discover(dir)
        .with_context(|| format!("cannot read git history at {}", dir.display()))
}
