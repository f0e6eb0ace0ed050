//! What a release created from git contains: the commits since the
//! service's previous release, and the version they call for.

use anyhow::{Context, Result, bail};
use ferry_client::{Client, all_pages};
use ferry_core::notes::NotesCommit;
use ferry_core::versioning::{Bump, BumpRequest};
use ferry_git::WalkOptions;

use super::ReleaseCreateArgs;
use crate::history;

/// The git content of a new release.
pub struct Content {
    /// The version: given, or computed.
    pub version: String,
    /// The commit released.
    pub commit: String,
    /// The release this one follows.
    pub previous_version: Option<String>,
    /// The commits since then, newest first.
    pub commits: Vec<NotesCommit>,
    /// Their authors and co-authors, as `Name <mail>`, each once.
    pub authors: Vec<String>,
}

/// Reads the content of a release of `args.service` from git.
///
/// The previous release is the service's highest version on the server that
/// recorded a commit, else its highest version tag in the repository. Its
/// commit and everything before are not part of this release.
pub async fn from_git(client: &Client, args: &ReleaseCreateArgs) -> Result<Content> {
    let service = args.service.as_str();
    let spec = client
        .service(service)
        .await
        .with_context(|| format!("cannot read service {service}"))?;
    let released = all_pages(|page| async move { client.releases(service, &page).await }).await?;
    let dir = args.git.clone().unwrap_or_else(|| ".".into());
    let repository = history::open(&dir)?;
    let tags = repository.version_tags(Some(service))?;
    let to = repository.resolve(&args.to)?;

    let mut known: Vec<semver::Version> = tags.iter().map(|t| t.version.clone()).collect();
    known.extend(
        released
            .iter()
            .filter_map(|r| semver::Version::parse(&r.version).ok()),
    );
    let previous_release = released
        .iter()
        .filter_map(|r| Some((semver::Version::parse(&r.version).ok()?, r.commit.clone()?)))
        .max_by(|a, b| a.0.cmp(&b.0));
    let previous = previous_release.or_else(|| {
        tags.iter()
            .max_by(|a, b| a.version.cmp(&b.version))
            .map(|t| (t.version.clone(), t.commit.clone()))
    });
    let options = WalkOptions {
        first_parent: args.first_parent,
        paths: spec.spec.paths.clone(),
        hide: previous
            .iter()
            .map(|(_, commit)| commit.clone())
            .filter(|commit| commit != &to)
            .collect(),
    };
    if previous.as_ref().is_some_and(|(_, commit)| commit == &to) {
        bail!(
            "{} is already released as {service}@{}; commit something new or pass --to",
            args.to,
            previous
                .as_ref()
                .map(|(v, _)| v.to_string())
                .unwrap_or_default()
        );
    }
    let read = history::commits(&repository, &to, &options)?;
    let bump = read.iter().map(|c| c.bump).max().unwrap_or(Bump::None);
    let version = match &args.version {
        Some(version) => version.clone(),
        None => {
            let request: BumpRequest = args
                .bump
                .as_deref()
                .unwrap_or("auto")
                .parse()
                .map_err(anyhow::Error::msg)?;
            if read.is_empty() && request == BumpRequest::Auto {
                bail!("nothing to release: no commits of {service} since its previous release");
            }
            let latest_final = history::latest_final(&known);
            request
                .next_version(latest_final, bump, args.pre.as_deref(), &known)
                .map_err(anyhow::Error::msg)?
                .to_string()
        }
    };
    let mut authors: Vec<String> = read.iter().flat_map(|c| c.people()).collect();
    authors.sort();
    authors.dedup();
    Ok(Content {
        version,
        commit: to,
        previous_version: previous.map(|(version, _)| version.to_string()),
        commits: read.into_iter().map(|c| c.commit).collect(),
        authors,
    })
}
