//! `ferry changelog`: release notes for a repository's whole history, or
//! part of it, straight from git, with no server.
//!
//! One walk, newest first: tags cut it into releases ([`Grouper`]), and each
//! release is written as soon as the next older tag completes it, so memory
//! stays at one release however long the history.

use std::cell::OnceCell;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use ferry_core::changelog::{Group, Grouper};
use ferry_core::notes::{ReleaseNotes, RenderOptions, render_template, write_markdown};
use ferry_core::versioning::{Bump, next_version};
use ferry_git::WalkOptions;

use crate::history;

/// The arguments of `ferry changelog`: offline, no server.
#[derive(Debug, Args)]
pub struct ChangelogArgs {
    /// The git repository to read.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub git: PathBuf,
    /// The newest commit.
    #[arg(long, value_name = "REF", default_value = "HEAD")]
    pub to: String,
    /// Only commits after this one (a tag, a branch, a commit).
    #[arg(long, value_name = "REF", conflicts_with = "unreleased")]
    pub since: Option<String>,
    /// Only the commits after the last version tag.
    #[arg(long)]
    pub unreleased: bool,
    /// Print only the next version computed from the unreleased commits.
    #[arg(long, conflicts_with_all = ["format", "template", "output_file"])]
    pub next_version: bool,
    /// Leave the unreleased commits without a computed version (`null`).
    #[arg(long, conflicts_with = "next_version")]
    pub no_bump: bool,
    /// Compute a pre-release as the next version (1.4.0-rc.1…).
    #[arg(long, value_name = "LABEL")]
    pub pre: Option<String>,
    /// md or json.
    #[arg(long, value_enum, default_value_t = ChangelogFormat::Md)]
    pub format: ChangelogFormat,
    /// Render with this minijinja template instead (its context: `releases`,
    /// the JSON shape, newest first).
    #[arg(long, value_name = "FILE", conflicts_with = "format")]
    pub template: Option<PathBuf>,
    /// Write to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub output_file: Option<PathBuf>,
    /// Read this service's tags too (SERVICE-vX.Y.Z, SERVICE@X.Y.Z).
    #[arg(long, value_name = "NAME")]
    pub service: Option<String>,
    /// Keep only commits touching these paths (globs; repeatable).
    #[arg(long = "path", value_name = "GLOB")]
    pub paths: Vec<String>,
    /// Follow only the first parent of merges.
    #[arg(long)]
    pub first_parent: bool,
    /// Link issue references (#123) with this template, such as
    /// https://github.com/acme/api/issues/{}
    #[arg(long, value_name = "URL")]
    pub issue_url: Option<String>,
}

/// The formats of `ferry changelog`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChangelogFormat {
    /// Markdown.
    Md,
    /// JSON: an object per release (an array of them over several releases).
    Json,
}

/// Runs `ferry changelog`.
pub fn run(args: ChangelogArgs) -> Result<ExitCode> {
    let repository = history::open(&args.git)?;
    let tags = repository.version_tags(args.service.as_deref())?;
    let versions: Vec<semver::Version> = tags.iter().map(|t| t.version.clone()).collect();
    let latest_tag = tags.iter().max_by(|a, b| a.version.cmp(&b.version));
    let to = repository.resolve(&args.to)?;
    let mut hide = Vec::new();
    if let Some(since) = &args.since {
        hide.push(repository.resolve(since)?);
    }
    if args.unreleased {
        hide.extend(latest_tag.map(|t| t.commit.clone()));
    }
    let options = WalkOptions {
        first_parent: args.first_parent,
        paths: args.paths.clone(),
        hide,
    };
    // The next version counts every commit since the last final tag, as
    // `release create --bump auto` does: pre-release tags since do not reset
    // the bump, and neither does --since. When the newest tag is final (or
    // there is none) and nothing else is hidden, those are exactly the
    // unreleased commits of the walk below; otherwise a second walk, only
    // when a version is wanted, counts them.
    let last_final = history::last_final_tag(&tags);
    let unreleased_since_final =
        args.since.is_none() && latest_tag.is_none_or(|t| t.version.pre.is_empty());
    let since_final = OnceCell::new();
    let bump_since_final = || -> Result<Bump> {
        if let Some(bump) = since_final.get() {
            return Ok(*bump);
        }
        let options = WalkOptions {
            first_parent: args.first_parent,
            paths: args.paths.clone(),
            hide: last_final.map(|t| t.commit.clone()).into_iter().collect(),
        };
        let bump = history::bump(&repository, &to, &options)?;
        Ok(*since_final.get_or_init(|| bump))
    };
    let pre = args.pre.as_deref();
    let next = |unreleased: Bump| -> Result<Option<semver::Version>> {
        if args.no_bump {
            return Ok(None);
        }
        let bump = if unreleased_since_final {
            unreleased
        } else {
            unreleased.max(bump_since_final()?)
        };
        Ok(Some(next_version(&versions, bump, pre)?))
    };

    if args.next_version {
        let version = next(bump_since_final()?)?.expect("--next-version excludes --no-bump");
        println!("{version}");
        return Ok(ExitCode::SUCCESS);
    }

    let options_render = RenderOptions {
        issue_url: args.issue_url.clone(),
    };
    let mut sink = Sink::open(&args, &options_render)?;
    // With --unreleased the walk stops before the last tag: the one group is
    // the unreleased work, whose previous version is that tag's.
    let tags_in_walk = if args.unreleased {
        Default::default()
    } else {
        history::tags_by_commit(&tags)
    };
    let mut grouper = Grouper::new(tags_in_walk);
    for commit in repository.walk(&to, &options)? {
        let read = history::read(commit?);
        let id = read.commit.id.clone();
        if let Some(group) = grouper.push(&id, read.commit, read.bump) {
            sink.write(notes(group, &next, latest_tag.map(|t| &t.version))?)?;
        }
    }
    if let Some(group) = grouper.finish() {
        sink.write(notes(group, &next, latest_tag.map(|t| &t.version))?)?;
    }
    sink.finish(args.unreleased)?;
    Ok(ExitCode::SUCCESS)
}

/// The notes of one group; the unreleased group gets the computed version.
fn notes(
    group: Group,
    next: &dyn Fn(Bump) -> Result<Option<semver::Version>>,
    latest_tag: Option<&semver::Version>,
) -> Result<ReleaseNotes> {
    let (version, previous) = match group.version {
        Some(version) => (Some(version), group.previous_version),
        None => (
            next(group.bump)?,
            group.previous_version.or_else(|| latest_tag.cloned()),
        ),
    };
    let date = group.date.map(|time| time.chars().take(10).collect());
    Ok(ReleaseNotes::new(
        version.map(|v| v.to_string()),
        previous.map(|v| v.to_string()),
        date,
        group.commits,
    ))
}

/// Where the changelog goes, in which format.
struct Sink<'a> {
    out: Box<dyn Write>,
    format: Format<'a>,
    written: usize,
    buffer: String,
}

enum Format<'a> {
    Markdown(&'a RenderOptions),
    Json {
        single: bool,
    },
    Template {
        source: String,
        options: &'a RenderOptions,
        releases: Vec<ReleaseNotes>,
    },
}

impl<'a> Sink<'a> {
    fn open(args: &ChangelogArgs, options: &'a RenderOptions) -> Result<Self> {
        let out: Box<dyn Write> = match &args.output_file {
            Some(path) => Box::new(BufWriter::new(
                File::create(path).with_context(|| format!("cannot write {}", path.display()))?,
            )),
            None => Box::new(BufWriter::with_capacity(1 << 16, std::io::stdout().lock())),
        };
        let format = match (&args.template, args.format) {
            (Some(path), _) => Format::Template {
                source: std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the template {}", path.display()))?,
                options,
                releases: Vec::new(),
            },
            (None, ChangelogFormat::Md) => Format::Markdown(options),
            (None, ChangelogFormat::Json) => Format::Json {
                single: args.unreleased,
            },
        };
        Ok(Self {
            out,
            format,
            written: 0,
            buffer: String::new(),
        })
    }

    fn write(&mut self, notes: ReleaseNotes) -> Result<()> {
        match &mut self.format {
            Format::Markdown(options) => {
                if self.written == 0 {
                    self.out.write_all(b"# Changelog\n\n")?;
                } else {
                    self.out.write_all(b"\n")?;
                }
                self.buffer.clear();
                write_markdown(&mut self.buffer, &notes, options)?;
                self.out.write_all(self.buffer.as_bytes())?;
            }
            Format::Json { single: true } => {
                serde_json::to_writer_pretty(&mut self.out, &notes)?;
                self.out.write_all(b"\n")?;
            }
            Format::Json { single: false } => {
                self.out
                    .write_all(if self.written == 0 { b"[\n" } else { b",\n" })?;
                serde_json::to_writer(&mut self.out, &notes)?;
            }
            Format::Template { releases, .. } => releases.push(notes),
        }
        self.written += 1;
        Ok(())
    }

    /// Closes the output; a single release (`--unreleased`) in JSON is one
    /// object, not an array.
    fn finish(mut self, single: bool) -> Result<()> {
        match self.format {
            Format::Markdown(_) => {
                if self.written == 0 {
                    self.out.write_all(b"# Changelog\n\nNo commits.\n")?;
                }
            }
            Format::Json { single: true } => {
                if self.written == 0 {
                    self.out.write_all(b"null\n")?;
                }
            }
            Format::Json { single: false } => {
                self.out
                    .write_all(if self.written == 0 { b"[]\n" } else { b"\n]\n" })?;
            }
            Format::Template {
                source,
                options,
                releases,
            } => {
                let rendered = render_template(&source, &releases, options)
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                self.out.write_all(rendered.as_bytes())?;
            }
        }
        self.out.flush().context("cannot write the changelog")?;
        if single && self.written > 1 {
            bail!(
                "expected one release of unreleased commits, found {}",
                self.written
            );
        }
        Ok(())
    }
}
