//! ferry-git against real repositories, built here with the `git` CLI in a
//! temporary directory. Ids are checked against what `git rev-parse` says.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use ferry_git::{GitCommit, GitError, Repository, VersionTag, WalkOptions};

/// A repository under construction, with fixed identities and dates so every
/// run makes the same objects.
struct TestRepo {
    dir: tempfile::TempDir,
    /// Seconds since the epoch of the next commit unless one is given.
    clock: i64,
    /// Commit ids by subject.
    ids: HashMap<String, String>,
}

impl TestRepo {
    fn new() -> Self {
        let repo = Self {
            dir: tempfile::tempdir().expect("temporary directory"),
            clock: 1_700_000_000,
            ids: HashMap::new(),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn command(&self, time: i64) -> Command {
        let date = format!("{time} +0000");
        let mut command = Command::new("git");
        command
            .current_dir(self.path())
            .args(["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"])
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_AUTHOR_NAME", "Ada Lovelace")
            .env("GIT_AUTHOR_EMAIL", "ada@example.com")
            .env("GIT_AUTHOR_DATE", &date)
            .env("GIT_COMMITTER_NAME", "Release Bot")
            .env("GIT_COMMITTER_EMAIL", "bot@example.com")
            .env("GIT_COMMITTER_DATE", &date);
        command
    }

    fn run(&self, mut command: Command) -> String {
        let output = command.output().expect("git runs");
        assert!(
            output.status.success(),
            "{command:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout)
            .expect("utf-8")
            .trim()
            .to_owned()
    }

    fn git(&self, args: &[&str]) -> String {
        let mut command = self.command(self.clock);
        command.args(args);
        self.run(command)
    }

    fn rev_parse(&self, rev: &str) -> String {
        self.git(&["rev-parse", "--verify", rev])
    }

    fn write(&self, path: &str, content: &str) {
        let path = self.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    /// Commits a change to `path` at the next tick of the clock.
    fn commit(&mut self, subject: &str, path: &str) -> String {
        self.clock += 60;
        let time = self.clock;
        self.commit_at(subject, path, time)
    }

    /// Commits a change to `path` dated `time`.
    fn commit_at(&mut self, subject: &str, path: &str, time: i64) -> String {
        self.write(path, &format!("{subject}\n"));
        let mut add = self.command(time);
        add.args(["add", "--", path]);
        self.run(add);
        let mut commit = self.command(time);
        commit.args(["commit", "-q", "-m", subject]);
        self.run(commit);
        let id = self.rev_parse("HEAD");
        self.ids.insert(subject.to_owned(), id.clone());
        id
    }

    /// Merges `branch` with a merge commit, even when it could fast-forward.
    fn merge(&mut self, branch: &str, subject: &str) -> String {
        self.clock += 60;
        self.git(&["merge", "-q", "--no-ff", "-m", subject, branch]);
        let id = self.rev_parse("HEAD");
        self.ids.insert(subject.to_owned(), id.clone());
        id
    }

    fn id(&self, subject: &str) -> &str {
        &self.ids[subject]
    }

    fn open(&self) -> Repository {
        Repository::discover(self.path()).expect("a repository")
    }
}

fn walk(repo: &Repository, from: &str, options: &WalkOptions) -> Vec<GitCommit> {
    repo.walk(from, options)
        .expect("walk starts")
        .collect::<Result<_, _>>()
        .expect("walk completes")
}

fn subjects(commits: &[GitCommit]) -> Vec<String> {
    commits
        .iter()
        .map(|c| c.message.lines().next().unwrap_or("").to_owned())
        .collect()
}

fn tags(repo: &Repository, service: Option<&str>) -> Vec<(String, String, String)> {
    repo.version_tags(service)
        .expect("tags")
        .into_iter()
        .map(
            |VersionTag {
                 name,
                 version,
                 commit,
             }| (name, version.to_string(), commit),
        )
        .collect()
}

#[test]
fn discover_finds_the_repository_from_a_subdirectory() {
    let mut t = TestRepo::new();
    t.commit("first", "src/lib.rs");
    let repo = Repository::discover(&t.path().join("src")).unwrap();
    assert_eq!(
        repo.location().canonicalize().unwrap(),
        t.path().canonicalize().unwrap()
    );
    assert_eq!(repo.resolve("HEAD").unwrap(), t.id("first"));
}

#[test]
fn a_directory_outside_any_repository_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = Repository::discover(dir.path()).unwrap_err();
    assert!(matches!(err, GitError::NotARepository { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("no git repository at or above {}", dir.path().display())
    );
}

#[test]
fn resolve_takes_head_branches_tags_and_ids() {
    let mut t = TestRepo::new();
    let first = t.commit("first", "a.txt");
    let second = t.commit("second", "a.txt");
    t.git(&["tag", "-a", "-m", "Release 1.0.0", "v1.0.0", &first]);
    t.git(&["tag", "v1.1.0", &second]);
    t.git(&["branch", "old", &first]);
    let repo = t.open();

    assert_eq!(repo.resolve("HEAD").unwrap(), second);
    assert_eq!(repo.resolve("main").unwrap(), second);
    assert_eq!(repo.resolve("old").unwrap(), first);
    // An annotated tag resolves to its commit, not to the tag object.
    assert_ne!(t.rev_parse("v1.0.0"), first);
    assert_eq!(repo.resolve("v1.0.0").unwrap(), first);
    assert_eq!(repo.resolve("v1.1.0").unwrap(), second);
    assert_eq!(repo.resolve(&first).unwrap(), first);
    assert_eq!(repo.resolve(&first[..10]).unwrap(), first);
    assert_eq!(repo.resolve("HEAD~1").unwrap(), first);
}

#[test]
fn an_unknown_revision_is_a_clear_error() {
    let mut t = TestRepo::new();
    t.commit("first", "a.txt");
    let repo = t.open();

    let err = repo.resolve("v9").unwrap_err();
    assert!(matches!(err, GitError::UnknownRevision { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "unknown revision 'v9' in {}",
            repo.location().display()
        )),
        "{message}"
    );

    let err = repo.walk("v9", &WalkOptions::default()).unwrap_err();
    assert!(matches!(err, GitError::UnknownRevision { ref rev, .. } if rev == "v9"));
    let hide = WalkOptions {
        hide: vec!["0000000000000000000000000000000000000001".into()],
        ..WalkOptions::default()
    };
    let err = repo.walk("HEAD", &hide).unwrap_err();
    assert!(matches!(err, GitError::UnknownRevision { .. }), "{err:?}");

    let err = repo.resolve("HEAD^{tree}").unwrap_err();
    assert!(matches!(err, GitError::NotACommit { .. }), "{err:?}");
    assert!(
        err.to_string().contains("is a tree, expected a commit"),
        "{err}"
    );
}

#[test]
fn an_ambiguous_abbreviated_id_says_so() {
    let mut t = TestRepo::new();
    t.commit("first", "a.txt");
    // Enough objects that two ids share their first four hex digits.
    let blobs = t.path().join("blobs");
    std::fs::create_dir(&blobs).unwrap();
    let paths: Vec<String> = (0..1000)
        .map(|i| {
            let path = blobs.join(i.to_string());
            std::fs::write(&path, format!("blob {i}\n")).unwrap();
            path.display().to_string()
        })
        .collect();
    let mut hash = t.command(t.clock);
    hash.args(["hash-object", "-w", "--"]).args(&paths);
    let ids = t.run(hash);
    let mut prefixes: Vec<&str> = ids.lines().map(|id| &id[..4]).collect();
    prefixes.sort_unstable();
    let prefix = prefixes
        .windows(2)
        .find(|pair| pair[0] == pair[1])
        .expect("two ids share a prefix")[0];
    let repo = t.open();
    let err = repo.resolve(prefix).unwrap_err();
    assert!(matches!(err, GitError::AmbiguousRevision { .. }), "{err:?}");
    assert!(err.to_string().contains("is ambiguous"), "{err}");
}

#[test]
fn version_tags_are_annotated_or_lightweight_peeled_and_sorted_highest_first() {
    let mut t = TestRepo::new();
    let c1 = t.commit("one", "a.txt");
    let c2 = t.commit("two", "a.txt");
    let c3 = t.commit("three", "a.txt");
    t.git(&["tag", "-a", "-m", "Release", "v1.0.0", &c1]);
    t.git(&["tag", "1.1.0", &c2]); // lightweight, no v
    t.git(&["tag", "-a", "-m", "Release", "v2.0.0-rc.1", &c3]);
    t.git(&["tag", "v1.10.0+build.7", &c3]);
    // Not versions, or not releases.
    t.git(&["tag", "latest", &c3]);
    t.git(&["tag", "v1.2", &c3]);
    t.git(&["tag", "release-3.0.0", &c3]);
    t.git(&["tag", "api-v5.0.0", &c3]);
    t.git(&["tag", "v9.0.0", &format!("{c3}^{{tree}}")]);
    let repo = t.open();

    assert_eq!(
        tags(&repo, None),
        vec![
            ("v2.0.0-rc.1".into(), "2.0.0-rc.1".into(), c3.clone()),
            (
                "v1.10.0+build.7".into(),
                "1.10.0+build.7".into(),
                c3.clone()
            ),
            ("1.1.0".into(), "1.1.0".into(), c2.clone()),
            ("v1.0.0".into(), "1.0.0".into(), c1.clone()),
        ]
    );
}

#[test]
fn service_tags_take_precedence_and_other_services_never_match() {
    let mut t = TestRepo::new();
    let c1 = t.commit("one", "services/api/main.rs");
    let c2 = t.commit("two", "services/api/main.rs");
    let c3 = t.commit("three", "services/api/main.rs");
    let c4 = t.commit("four", "services/web/main.rs");
    t.git(&["tag", "-a", "-m", "Release", "v1.0.0", &c1]);
    t.git(&["tag", "v1.2.0", &c1]); // the same version as api's own tag below
    t.git(&["tag", "-a", "-m", "api 1.2.0", "api-v1.2.0", &c2]);
    t.git(&["tag", "api@1.3.0", &c3]);
    t.git(&["tag", "api-1.4.0-beta.1", &c3]);
    t.git(&["tag", "web-v9.0.0", &c4]);
    t.git(&["tag", "api-gateway-v7.0.0", &c4]);
    let repo = t.open();

    assert_eq!(
        tags(&repo, Some("api")),
        vec![
            ("api-1.4.0-beta.1".into(), "1.4.0-beta.1".into(), c3.clone()),
            ("api@1.3.0".into(), "1.3.0".into(), c3.clone()),
            ("api-v1.2.0".into(), "1.2.0".into(), c2.clone()),
            ("v1.0.0".into(), "1.0.0".into(), c1.clone()),
        ]
    );
    assert_eq!(
        tags(&repo, Some("web")),
        vec![
            ("web-v9.0.0".into(), "9.0.0".into(), c4.clone()),
            ("v1.2.0".into(), "1.2.0".into(), c1.clone()),
            ("v1.0.0".into(), "1.0.0".into(), c1.clone()),
        ]
    );
    assert_eq!(
        tags(&repo, None),
        vec![
            ("v1.2.0".into(), "1.2.0".into(), c1.clone()),
            ("v1.0.0".into(), "1.0.0".into(), c1.clone()),
        ]
    );
}

#[test]
fn a_walk_gives_every_field_of_a_commit() {
    let mut t = TestRepo::new();
    t.commit("feat: first", "a.txt");
    let repo = t.open();
    let commits = walk(&repo, "HEAD", &WalkOptions::default());
    assert_eq!(
        commits,
        vec![GitCommit {
            id: t.id("feat: first").to_owned(),
            message: "feat: first\n".into(),
            author_name: "Ada Lovelace".into(),
            author_email: "ada@example.com".into(),
            time: 1_700_000_060,
            parents: 0,
        }]
    );
}

/// main: A - B ------- C - M
///            \           /
/// feature:    F1 - F2 --´
fn merged_history() -> TestRepo {
    let mut t = TestRepo::new();
    t.commit("A", "a.txt");
    t.commit("B", "a.txt");
    t.git(&["checkout", "-q", "-b", "feature"]);
    t.commit("F1", "f.txt");
    t.commit("F2", "f.txt");
    t.git(&["checkout", "-q", "main"]);
    t.commit("C", "c.txt");
    t.merge("feature", "M");
    t
}

#[test]
fn a_walk_shows_merged_branch_commits_newest_first() {
    let t = merged_history();
    let repo = t.open();
    let commits = walk(&repo, "HEAD", &WalkOptions::default());
    assert_eq!(subjects(&commits), ["M", "C", "F2", "F1", "B", "A"]);
    let ids: Vec<&str> = commits.iter().map(|c| c.id.as_str()).collect();
    let expected: Vec<&str> = ["M", "C", "F2", "F1", "B", "A"]
        .iter()
        .map(|s| t.id(s))
        .collect();
    assert_eq!(ids, expected);
    assert_eq!(commits[0].parents, 2);
    assert_eq!(commits[1].parents, 1);
}

#[test]
fn a_first_parent_walk_keeps_to_the_mainline() {
    let t = merged_history();
    let repo = t.open();
    let options = WalkOptions {
        first_parent: true,
        ..WalkOptions::default()
    };
    assert_eq!(
        subjects(&walk(&repo, "HEAD", &options)),
        ["M", "C", "B", "A"]
    );
}

#[test]
fn hide_stops_at_the_previous_release() {
    let mut t = TestRepo::new();
    t.commit("A", "a.txt");
    t.commit("B", "a.txt");
    t.git(&["tag", "-a", "-m", "Release", "v1.0.0"]);
    t.git(&["checkout", "-q", "-b", "feature", "HEAD~1"]); // forked before the release
    t.commit("F1", "f.txt");
    t.git(&["checkout", "-q", "main"]);
    t.commit("C", "c.txt");
    t.merge("feature", "M");
    t.commit("D", "d.txt");
    let repo = t.open();
    let previous = repo.version_tags(None).unwrap().remove(0);
    assert_eq!(previous.commit, t.id("B"));

    let options = WalkOptions {
        hide: vec![previous.commit.clone()],
        ..WalkOptions::default()
    };
    assert_eq!(
        subjects(&walk(&repo, "HEAD", &options)),
        ["D", "M", "C", "F1"]
    );
    let first_parent = WalkOptions {
        first_parent: true,
        ..options.clone()
    };
    assert_eq!(
        subjects(&walk(&repo, "HEAD", &first_parent)),
        ["D", "M", "C"]
    );
    // Hiding the tip leaves nothing; a tag name works as well as an id.
    let all_hidden = WalkOptions {
        hide: vec!["HEAD".into()],
        ..WalkOptions::default()
    };
    assert!(walk(&repo, "HEAD", &all_hidden).is_empty());
    let by_name = WalkOptions {
        hide: vec!["v1.0.0".into()],
        ..WalkOptions::default()
    };
    assert_eq!(
        subjects(&walk(&repo, "HEAD", &by_name)),
        ["D", "M", "C", "F1"]
    );
}

#[test]
fn children_come_before_parents_even_when_clocks_disagree() {
    // P is dated after its child X: a walk in commit-time order would show
    // P (reached through Y) before X.
    let mut t = TestRepo::new();
    let base = 1_600_000_000;
    t.commit_at("A", "a.txt", base + 1_000);
    t.commit_at("P", "a.txt", base + 5_000);
    t.git(&["checkout", "-q", "-b", "side"]);
    t.commit_at("X", "x.txt", base + 2_000);
    t.git(&["checkout", "-q", "main"]);
    t.commit_at("Y", "y.txt", base + 3_000);
    t.clock = base + 6_000;
    t.merge("side", "M");
    let repo = t.open();
    assert_eq!(
        subjects(&walk(&repo, "HEAD", &WalkOptions::default())),
        ["M", "Y", "X", "P", "A"]
    );
}

#[test]
fn paths_keep_only_commits_that_touch_them() {
    let mut t = TestRepo::new();
    t.commit("api: start", "services/api/main.rs");
    t.commit("web: start", "services/web/main.rs");
    t.commit("docs: readme", "README.md");
    t.commit("api: deep change", "services/api/src/handlers/users.rs");
    t.commit("apiv2: not api", "services/apiv2/main.rs");
    t.git(&["checkout", "-q", "-b", "feature"]);
    t.commit("api: on a branch", "services/api/main.rs");
    t.git(&["checkout", "-q", "main"]);
    t.commit("web: more", "services/web/main.rs");
    t.merge("feature", "Merge feature");
    let repo = t.open();

    let options = WalkOptions {
        paths: vec!["services/api/**".into()],
        ..WalkOptions::default()
    };
    assert_eq!(
        subjects(&walk(&repo, "HEAD", &options)),
        [
            "Merge feature",
            "api: on a branch",
            "api: deep change",
            "api: start"
        ]
    );
    // A directory works as well as a glob; several globs are a union.
    let options = WalkOptions {
        paths: vec!["services/web".into(), "*.md".into()],
        first_parent: true,
        ..WalkOptions::default()
    };
    assert_eq!(
        subjects(&walk(&repo, "HEAD", &options)),
        ["web: more", "docs: readme", "web: start"]
    );
    // A removal is a change too.
    t.git(&["rm", "-q", "-r", "services/api"]);
    t.git(&["commit", "-q", "-m", "api: remove"]);
    let options = WalkOptions {
        paths: vec!["services/api/**".into()],
        hide: vec![t.id("Merge feature").to_owned()],
        ..WalkOptions::default()
    };
    assert_eq!(
        subjects(&walk(&t.open(), "HEAD", &options)),
        ["api: remove"]
    );

    let err = repo
        .walk(
            "HEAD",
            &WalkOptions {
                paths: vec!["!services/api".into()],
                ..WalkOptions::default()
            },
        )
        .unwrap_err();
    assert!(matches!(err, GitError::InvalidPathGlob { .. }), "{err:?}");
}

#[test]
fn a_message_that_is_not_utf8_is_read_lossily() {
    let mut t = TestRepo::new();
    t.commit("first", "a.txt");
    t.write("a.txt", "changed\n");
    t.git(&["add", "a.txt"]);
    let message = t.path().join("message.txt");
    std::fs::write(&message, b"fix: caf\xe9 cr\xe8me\n\nna\xefve body\n").unwrap();
    t.git(&[
        "-c",
        "i18n.commitEncoding=ISO-8859-1",
        "commit",
        "-q",
        "-F",
        message.to_str().unwrap(),
    ]);
    let repo = t.open();
    let commits = walk(&repo, "HEAD", &WalkOptions::default());
    assert_eq!(
        commits[0].message,
        "fix: caf\u{FFFD} cr\u{FFFD}me\n\nna\u{FFFD}ve body\n"
    );
    assert_eq!(
        subjects(&commits),
        ["fix: caf\u{FFFD} cr\u{FFFD}me", "first"]
    );
}

#[test]
fn a_shallow_clone_ends_the_walk_at_its_boundary() {
    let mut t = TestRepo::new();
    t.commit("A", "a.txt");
    t.commit("B", "a.txt");
    t.commit("C", "a.txt");
    let clone = tempfile::tempdir().unwrap();
    let url = format!("file://{}", t.path().display());
    let target: PathBuf = clone.path().join("shallow");
    t.git(&[
        "clone",
        "-q",
        "--depth",
        "2",
        &url,
        target.to_str().unwrap(),
    ]);
    let repo = Repository::discover(&target).unwrap();
    let commits = walk(&repo, "HEAD", &WalkOptions::default());
    assert_eq!(subjects(&commits), ["C", "B"]);
    assert_eq!(commits[1].parents, 1, "the object still names its parent");
}
