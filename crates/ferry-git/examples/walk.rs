//! Walks a repository's history and counts commits and message bytes, to
//! measure a walk against `git log --format=%H%x00%B`.
//!
//! ```text
//! cargo run --release -p ferry-git --example walk -- REPO [REV] [--first-parent] [--hide REV]... [--path GLOB]... [--tags]
//! ```

use std::time::Instant;

use ferry_git::{Repository, WalkOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut repo_path = None;
    let mut from = None;
    let mut options = WalkOptions::default();
    let mut tags = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--first-parent" => options.first_parent = true,
            "--hide" => options
                .hide
                .push(args.next().ok_or("--hide needs a revision")?),
            "--path" => options
                .paths
                .push(args.next().ok_or("--path needs a glob")?),
            "--tags" => tags = true,
            _ if repo_path.is_none() => repo_path = Some(arg),
            _ => from = Some(arg),
        }
    }
    let repo_path = repo_path.ok_or("usage: walk REPO [REV] [options]")?;
    let start = Instant::now();
    let repo = Repository::discover(repo_path.as_ref())?;
    if tags {
        let tags = repo.version_tags(None)?;
        eprintln!("{} version tags in {:?}", tags.len(), start.elapsed());
    }
    let (mut commits, mut bytes) = (0usize, 0usize);
    for commit in repo.walk(from.as_deref().unwrap_or("HEAD"), &options)? {
        let commit = commit?;
        commits += 1;
        bytes += commit.id.len() + 1 + commit.message.len();
    }
    eprintln!("{commits} commits, {bytes} bytes in {:?}", start.elapsed());
    Ok(())
}
