//! Grouping a history into releases in one pass, for changelogs.
//!
//! Commits arrive newest first in topological order (a commit before its
//! parents). A commit that carries a version tag starts that version's
//! release; the commits before any tag form the unreleased group. A group is
//! handed out when the next older tag is met, because only then is its
//! `previous_version` known: the caller can write each release as soon as it
//! is complete, and never holds more than one release in memory.

use std::collections::HashMap;

use crate::notes::NotesCommit;
use crate::versioning::Bump;

/// The commits of one release (or of the unreleased work).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The release's version; `None` for commits after the last tag.
    pub version: Option<semver::Version>,
    /// The time of the tagged commit (RFC 3339), for a tagged release.
    pub date: Option<String>,
    /// The version of the next older tag met, if any.
    pub previous_version: Option<semver::Version>,
    /// The commits, newest first.
    pub commits: Vec<NotesCommit>,
    /// The largest bump among the commits.
    pub bump: Bump,
}

/// Cuts a stream of commits into [`Group`]s at version tags.
#[derive(Debug)]
pub struct Grouper {
    tags: HashMap<String, semver::Version>,
    current: Group,
}

impl Grouper {
    /// `tags` maps a commit id to the version tagged on it (the highest, when
    /// a commit has several).
    pub fn new(tags: HashMap<String, semver::Version>) -> Self {
        Self {
            tags,
            current: Group {
                version: None,
                date: None,
                previous_version: None,
                commits: Vec::new(),
                bump: Bump::None,
            },
        }
    }

    /// Adds the next (older) commit. Returns the group it completes, if the
    /// commit is tagged and a group was under way.
    pub fn push(&mut self, id: &str, commit: NotesCommit, bump: Bump) -> Option<Group> {
        let mut finished = None;
        if let Some(version) = self.tags.remove(id) {
            let next = Group {
                version: Some(version.clone()),
                date: Some(commit.time.clone()),
                previous_version: None,
                commits: Vec::new(),
                bump: Bump::None,
            };
            let mut done = std::mem::replace(&mut self.current, next);
            done.previous_version = Some(version);
            if done.version.is_some() || !done.commits.is_empty() {
                finished = Some(done);
            }
        }
        self.current.bump = self.current.bump.max(bump);
        self.current.commits.push(commit);
        finished
    }

    /// Ends the history: the last group under way, if it has anything.
    pub fn finish(self) -> Option<Group> {
        let current = self.current;
        (current.version.is_some() || !current.commits.is_empty()).then_some(current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(id: &str) -> NotesCommit {
        NotesCommit {
            id: id.into(),
            kind: Some("fix".into()),
            scope: None,
            breaking: false,
            subject: format!("commit {id}"),
            body: None,
            footers: Vec::new(),
            authors: vec!["Ada".into()],
            time: format!("t-{id}"),
        }
    }

    fn version(s: &str) -> semver::Version {
        semver::Version::parse(s).unwrap()
    }

    fn ids(group: &Group) -> Vec<&str> {
        group.commits.iter().map(|c| c.id.as_str()).collect()
    }

    #[test]
    fn cuts_at_tags_and_knows_each_previous_version() {
        // Newest first: e d [c=v1.1.0] b [a=v1.0.0]
        let tags = HashMap::from([
            ("c".to_owned(), version("1.1.0")),
            ("a".to_owned(), version("1.0.0")),
        ]);
        let mut grouper = Grouper::new(tags);
        let mut groups = Vec::new();
        for (id, bump) in [
            ("e", Bump::Minor),
            ("d", Bump::Patch),
            ("c", Bump::Patch),
            ("b", Bump::Major),
            ("a", Bump::None),
        ] {
            groups.extend(grouper.push(id, commit(id), bump));
        }
        groups.extend(grouper.finish());
        assert_eq!(groups.len(), 3);
        assert_eq!(
            (groups[0].version.clone(), ids(&groups[0]), groups[0].bump),
            (None, vec!["e", "d"], Bump::Minor)
        );
        assert_eq!(groups[0].previous_version, Some(version("1.1.0")));
        assert_eq!(
            (groups[1].version.clone(), ids(&groups[1])),
            (Some(version("1.1.0")), vec!["c", "b"])
        );
        assert_eq!(groups[1].previous_version, Some(version("1.0.0")));
        assert_eq!(groups[1].date.as_deref(), Some("t-c"));
        assert_eq!(groups[1].bump, Bump::Major);
        assert_eq!(
            (
                groups[2].version.clone(),
                ids(&groups[2]),
                groups[2].previous_version.clone()
            ),
            (Some(version("1.0.0")), vec!["a"], None)
        );
    }

    #[test]
    fn a_tag_on_the_newest_commit_leaves_no_unreleased_group() {
        let mut grouper = Grouper::new(HashMap::from([("b".to_owned(), version("2.0.0"))]));
        assert_eq!(grouper.push("b", commit("b"), Bump::None), None);
        assert_eq!(grouper.push("a", commit("a"), Bump::None), None);
        let last = grouper.finish().unwrap();
        assert_eq!(
            (last.version, ids_of(&last.commits)),
            (Some(version("2.0.0")), vec!["b".to_owned(), "a".to_owned()])
        );
    }

    #[test]
    fn no_tags_is_one_unreleased_group_and_no_commits_is_none() {
        let mut grouper = Grouper::new(HashMap::new());
        grouper.push("a", commit("a"), Bump::Patch);
        let group = grouper.finish().unwrap();
        assert_eq!((group.version, group.previous_version), (None, None));
        assert_eq!(Grouper::new(HashMap::new()).finish(), None);
    }

    fn ids_of(commits: &[NotesCommit]) -> Vec<String> {
        commits.iter().map(|c| c.id.clone()).collect()
    }
}
