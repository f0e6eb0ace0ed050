//! Whether a commit changes a path that matches the walk's globs.
//!
//! The trees of a commit and of its first parent are compared top-down:
//! subtrees with equal ids are skipped, as are directories below which no
//! glob can match, and the comparison stops at the first matching change.

use std::cmp::Ordering;

use gix::bstr::{BStr, BString, ByteSlice};
use gix::glob::wildmatch;
use gix::objs::tree::EntryRef;

use crate::{GitError, Repository};

/// One glob, prepared.
#[derive(Debug)]
struct PathGlob {
    pattern: BString,
    /// The part before the first special character: only directories on
    /// the way to it (or below it) can hold a match.
    literal: BString,
}

/// The globs of [`WalkOptions::paths`](crate::WalkOptions::paths).
#[derive(Debug)]
pub(crate) struct PathFilter {
    globs: Vec<PathGlob>,
}

const MODE: wildmatch::Mode = wildmatch::Mode::NO_MATCH_SLASH_LITERAL;

impl PathFilter {
    /// Prepares `globs`; `None` when there are none (every commit passes).
    pub(crate) fn new(globs: &[String]) -> Result<Option<Self>, GitError> {
        if globs.is_empty() {
            return Ok(None);
        }
        let globs = globs
            .iter()
            .map(|glob| {
                let invalid = |reason| GitError::InvalidPathGlob {
                    glob: glob.clone(),
                    reason,
                };
                let pattern = ferry_core::service::check_path_glob(glob).map_err(invalid)?;
                let literal_len = pattern.find(['*', '?', '[', '\\']).unwrap_or(pattern.len());
                Ok(PathGlob {
                    pattern: pattern.into(),
                    literal: pattern[..literal_len].into(),
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Some(Self { globs }))
    }

    fn matches(&self, path: &[u8]) -> bool {
        self.globs
            .iter()
            .any(|glob| wildmatch(glob.pattern.as_bstr(), path.as_bstr(), MODE))
    }

    /// Whether anything below directory `dir` (no trailing slash) can match.
    fn may_match_below(&self, dir: &[u8]) -> bool {
        self.globs.iter().any(|glob| {
            let literal = glob.literal.as_slice();
            // On the way to the literal part, or already inside it.
            (literal.starts_with(dir) && literal.get(dir.len()) == Some(&b'/'))
                || dir.starts_with(literal)
        })
    }

    /// Whether the change from tree `old` to tree `new` (`None`: empty)
    /// touches a matching path.
    pub(crate) fn touches(
        &self,
        repo: &Repository,
        objects: &gix::OdbHandle,
        old: Option<gix::ObjectId>,
        new: Option<gix::ObjectId>,
    ) -> Result<bool, GitError> {
        let mut path = Vec::new();
        self.diff(repo, objects, old, new, &mut path)
    }

    fn diff(
        &self,
        repo: &Repository,
        objects: &gix::OdbHandle,
        old: Option<gix::ObjectId>,
        new: Option<gix::ObjectId>,
        path: &mut Vec<u8>,
    ) -> Result<bool, GitError> {
        if old == new {
            return Ok(false);
        }
        let (mut old_buf, mut new_buf) = (Vec::new(), Vec::new());
        let old_entries = read_tree(repo, objects, old, &mut old_buf)?;
        let new_entries = read_tree(repo, objects, new, &mut new_buf)?;
        let (mut o, mut n) = (0, 0);
        loop {
            let (before, after) = match (old_entries.get(o), new_entries.get(n)) {
                (None, None) => return Ok(false),
                (Some(before), None) => {
                    o += 1;
                    (Some(before), None)
                }
                (None, Some(after)) => {
                    n += 1;
                    (None, Some(after))
                }
                (Some(before), Some(after)) => match git_tree_order(before, after) {
                    Ordering::Less => {
                        o += 1;
                        (Some(before), None)
                    }
                    Ordering::Greater => {
                        n += 1;
                        (None, Some(after))
                    }
                    Ordering::Equal => {
                        o += 1;
                        n += 1;
                        if before.oid == after.oid && before.mode == after.mode {
                            continue;
                        }
                        (Some(before), Some(after))
                    }
                },
            };
            let name = before
                .or(after)
                .map_or(BStr::new(""), |entry| entry.filename);
            let parent_len = path.len();
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(name);
            if self.matches(path) {
                return Ok(true);
            }
            let subtree = |entry: Option<&EntryRef<'_>>| {
                entry
                    .filter(|entry| entry.mode.is_tree())
                    .map(|entry| entry.oid.to_owned())
            };
            let (old_tree, new_tree) = (subtree(before), subtree(after));
            if (old_tree.is_some() || new_tree.is_some())
                && self.may_match_below(path)
                && self.diff(repo, objects, old_tree, new_tree, path)?
            {
                return Ok(true);
            }
            path.truncate(parent_len);
        }
    }
}

fn read_tree<'b>(
    repo: &Repository,
    objects: &gix::OdbHandle,
    id: Option<gix::ObjectId>,
    buf: &'b mut Vec<u8>,
) -> Result<Vec<EntryRef<'b>>, GitError> {
    use gix::objs::Find;
    let Some(id) = id else {
        return Ok(Vec::new());
    };
    let data = match objects.try_find(&id, buf) {
        Ok(Some(data)) => data,
        Ok(None) => {
            return Err(GitError::MissingObject {
                id: id.to_string(),
                repo: repo.location.clone(),
            });
        }
        Err(source) => return Err(repo.read_error(&id, source)),
    };
    if data.kind != gix::objs::Kind::Tree {
        return Err(repo.wrong_kind(&id, "tree", data.kind));
    }
    gix::objs::TreeRefIter::from_bytes(data.data, id.kind())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| repo.read_error(&id, source))
}

/// The order of entries in a git tree: by name, a directory's name compared
/// as if it ended in `/`.
fn git_tree_order(a: &EntryRef<'_>, b: &EntryRef<'_>) -> Ordering {
    let common = a.filename.len().min(b.filename.len());
    a.filename[..common]
        .cmp(&b.filename[..common])
        .then_with(|| {
            let next = |entry: &EntryRef<'_>| {
                entry
                    .filename
                    .get(common)
                    .copied()
                    .or(entry.mode.is_tree().then_some(b'/'))
            };
            next(a).cmp(&next(b))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(globs: &[&str]) -> PathFilter {
        let globs: Vec<String> = globs.iter().map(|g| g.to_string()).collect();
        PathFilter::new(&globs).unwrap().unwrap()
    }

    #[test]
    fn globs_match_like_git_pathspec_globs() {
        let f = filter(&["services/api/**", "docs/*.md"]);
        assert!(f.matches(b"services/api/main.rs"));
        assert!(f.matches(b"services/api/src/deep/lib.rs"));
        assert!(!f.matches(b"services/apiv2/main.rs"));
        assert!(!f.matches(b"services/web/main.rs"));
        assert!(f.matches(b"docs/intro.md"));
        assert!(
            !f.matches(b"docs/guide/intro.md"),
            "* stays within one component"
        );
    }

    #[test]
    fn directories_are_pruned_only_when_nothing_below_can_match() {
        let f = filter(&["services/api/**"]);
        assert!(f.may_match_below(b"services"));
        assert!(f.may_match_below(b"services/api"));
        assert!(f.may_match_below(b"services/api/src"));
        assert!(!f.may_match_below(b"services/web"));
        assert!(!f.may_match_below(b"src"));
        assert!(!f.may_match_below(b"serv"));
        let any = filter(&["**/*.md"]);
        assert!(any.may_match_below(b"src/deep"));
        let partial = filter(&["services/ap*/x"]);
        assert!(partial.may_match_below(b"services/api"));
        assert!(!partial.may_match_below(b"services/web"));
    }

    #[test]
    fn a_glob_that_names_a_directory_matches_it() {
        let f = filter(&["./services/api/"]);
        assert!(f.matches(b"services/api"));
    }

    #[test]
    fn unusable_globs_are_errors() {
        for glob in ["", "/", "!services/api", "../elsewhere/**"] {
            let err = PathFilter::new(&[glob.to_string()]).unwrap_err();
            assert!(
                matches!(err, GitError::InvalidPathGlob { .. }),
                "{glob}: {err}"
            );
        }
    }
}
