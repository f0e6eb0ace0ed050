//! What a release created from git contains: the commits since the
//! service's previous release, and the version they call for.

use anyhow::{Context, Result, bail};
use ferry_client::{Client, all_pages};
use ferry_core::notes::NotesCommit;
use ferry_core::release::parse_version;
use ferry_core::versioning::{Bump, BumpRequest, check_new_version};
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
///
/// The version counts every commit since the service's last *final* release
/// (pre-releases since do not reset it) and must be greater than every
/// version the service has, on the server or tagged: the rules are
/// [`ferry_core::versioning`]'s, this only gathers the facts.
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
    let recorded: Vec<(semver::Version, String)> = released
        .iter()
        .filter_map(|r| Some((semver::Version::parse(&r.version).ok()?, r.commit.clone()?)))
        .collect();
    let tagged = || tags.iter().map(|t| (t.version.clone(), t.commit.clone()));
    // The server's record wins over tags, as for the previous release.
    let highest = |candidates: Vec<(semver::Version, String)>| {
        candidates.into_iter().max_by(|a, b| a.0.cmp(&b.0))
    };
    let previous = highest(recorded.clone()).or_else(|| highest(tagged().collect()));
    let is_final = |(version, _): &(semver::Version, String)| version.pre.is_empty();
    let last_final = highest(recorded.into_iter().filter(is_final).collect())
        .or_else(|| highest(tagged().filter(is_final).collect()));
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
    let version = match &args.version {
        Some(version) => {
            // A malformed version is left to the server, which says why.
            if let Ok(parsed) = parse_version(version) {
                check_new_version(&parsed, &known)
                    .with_context(|| format!("cannot release {service}@{version}"))?;
            }
            version.clone()
        }
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
            // The bump counts the commits since the last final release: those
            // since the previous release, and those of the pre-releases
            // between.
            let mut bump = read.iter().map(|c| c.bump).max().unwrap_or(Bump::None);
            if let Some((_, final_commit)) = &last_final
                && previous
                    .as_ref()
                    .is_some_and(|(_, commit)| commit != final_commit)
                && final_commit != &to
            {
                let since_final = WalkOptions {
                    hide: vec![final_commit.clone()],
                    ..options.clone()
                };
                bump = bump.max(history::bump(&repository, &to, &since_final)?);
            }
            request
                .next_version(&known, bump, args.pre.as_deref())
                .with_context(|| format!("cannot compute the next version of {service}"))?
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
