//! `ferry audit list|verify|export`: reading the hash-chained audit trail and
//! proving nothing in it was altered or removed.
//!
//! `list` shows the newest events first, filtered by the server; `export`
//! keeps the chain's order (oldest first), as `verify` reads it.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use ferry_api::{AuditEvent, AuditQuery, AuditVerification, Page, PageQuery};
use ferry_client::Client;
use ferry_core::audit_filter::{ActionMatch, Actor, AuditFilter, AuditOrder, ObjectMatch};

use crate::cli::{ClientArgs, OutputFormat};
use crate::output::{self, BAD, GOOD};
use crate::profile;

/// `ferry audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// What to do with the audit trail.
    #[command(subcommand)]
    pub command: AuditCommand,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// The audit commands.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List audit events, newest first.
    List(AuditListArgs),
    /// Check the hash chain: exit 0 when intact, 1 when an event was altered or removed.
    ///
    /// With --file, an export (`ferry audit export > trail.jsonl`) is
    /// checked offline, without a server.
    Verify {
        /// Check this export instead of the server's trail.
        #[arg(long, value_name = "FILE")]
        file: Option<std::path::PathBuf>,
        /// With --file: the head the trail must end at (the hash `ferry
        /// audit verify` prints), which also catches events removed from
        /// the end.
        #[arg(long, value_name = "HASH", requires = "file")]
        head: Option<String>,
    },
    /// Print the whole trail as JSON Lines, one event per line.
    Export,
}

/// `ferry audit list`: which events, and how many.
#[derive(Debug, Args)]
pub struct AuditListArgs {
    /// At most this many events, the newest [default: all]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,
    /// Only the events of this actor: a user (admin), recovery, or a CI
    /// workload (ci:…).
    #[arg(long, value_name = "NAME", value_parser = Actor::parse)]
    pub actor: Option<Actor>,
    /// Only this action (release.create), or with KIND.* every action on
    /// that kind of object (release.*).
    #[arg(long, value_name = "ACTION", value_parser = ActionMatch::parse)]
    pub action: Option<ActionMatch>,
    /// Only events about this object: as recorded (release:api@1.0.0,
    /// environment:prod) or by its name (api@1.0.0, prod).
    #[arg(long, value_name = "OBJECT", value_parser = ObjectMatch::parse)]
    pub object: Option<ObjectMatch>,
    /// Only events at or after this time: RFC 3339 (2026-12-04T10:15:00Z),
    /// or a time ago (30m, 24h, 7d, 2w).
    #[arg(long, value_name = "TIME", value_parser = Since::parse)]
    pub since: Option<Since>,
}

/// `--since`: an instant, or a time ago (from when the command runs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Since {
    /// This instant.
    At(DateTime<Utc>),
    /// This long before now.
    Ago(chrono::Duration),
}

impl Since {
    /// Reads an RFC 3339 time or a duration such as `24h`.
    fn parse(text: &str) -> Result<Self, String> {
        if text.trim().starts_with(|c: char| c.is_ascii_digit())
            && text.trim().ends_with(['m', 'h', 'd', 'w'])
        {
            return crate::args::parse_lifetime(text).map(Self::Ago);
        }
        crate::args::parse_time(text)
            .map(Self::At)
            .map_err(|error| format!("{error}, or a time ago such as 30m, 24h, 7d or 2w"))
    }

    /// The instant it stands for, seen at `now`.
    fn at(self, now: DateTime<Utc>) -> DateTime<Utc> {
        match self {
            Self::At(at) => at,
            Self::Ago(ago) => now
                .checked_sub_signed(ago)
                .unwrap_or(DateTime::<Utc>::MIN_UTC),
        }
    }
}

impl AuditListArgs {
    /// The filter these arguments ask the server for.
    fn filter(&self, now: DateTime<Utc>) -> AuditFilter {
        AuditFilter {
            actor: self.actor.clone(),
            action: self.action.clone(),
            object: self.object.clone(),
            since: self.since.map(|since| since.at(now)),
        }
    }
}

/// The most events one request asks for (the API's upper bound).
const MAX_PAGE: u32 = 1000;

/// Runs one audit command.
pub async fn run(args: AuditArgs) -> Result<ExitCode> {
    let client = profile::resolve(&args.client)?.client()?;
    let format = args.client.output;
    match args.command {
        AuditCommand::List(list_args) => {
            let filter = list_args.filter(Utc::now());
            let page = list(&client, &filter, list_args.limit).await?;
            match format {
                OutputFormat::Json => output::json(&page)?,
                OutputFormat::Table => print_events(&page.items, !filter.is_empty())?,
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify {
            file: Some(file),
            head,
        } => verify_file(&file, head.as_deref(), format),
        AuditCommand::Verify { file: None, .. } => {
            let verification = client.verify_audit().await?;
            match format {
                OutputFormat::Json => output::json(&verification)?,
                OutputFormat::Table => writeln!(output::stdout(), "{}", verdict(&verification))?,
            }
            // A broken chain is the answer to the question asked, but scripts
            // and CI must be able to stop on it: exit 1.
            Ok(if verification.intact {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        AuditCommand::Export => {
            export(&client).await?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The events `filter` lets through, newest first, up to `limit` (all when
/// none). The page printed keeps the server's `next_cursor` when more events
/// follow the last one shown.
async fn list(
    client: &Client,
    filter: &AuditFilter,
    limit: Option<u32>,
) -> Result<Page<AuditEvent>> {
    let mut items = Vec::new();
    let mut cursor = None;
    loop {
        let wanted = limit.map_or(MAX_PAGE, |limit| (limit - items.len() as u32).min(MAX_PAGE));
        let page = PageQuery {
            limit: Some(wanted),
            cursor: cursor.clone(),
        };
        let page = client
            .audit(&AuditQuery::new(filter, AuditOrder::NewestFirst, page))
            .await
            .context("cannot list the audit trail")?;
        items.extend(page.items);
        let done = limit.is_some_and(|limit| items.len() as u32 >= limit);
        match page.next_cursor {
            Some(next) if !done && Some(&next) != cursor.as_ref() => cursor = Some(next),
            next => {
                return Ok(Page {
                    items,
                    next_cursor: next,
                });
            }
        }
    }
}

/// Checks an export offline: every line an event, each linked to the one
/// before it and matching its hash; with `head`, ending at that hash.
fn verify_file(
    path: &std::path::Path,
    head: Option<&str>,
    format: OutputFormat,
) -> Result<ExitCode> {
    use std::io::BufRead;
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot read the export {}", path.display()))?;
    let mut verifier = ferry_core::audit::ChainVerifier::default();
    let mut last: Option<(i64, String)> = None;
    let mut broken: Option<ferry_core::audit::ChainBreak> = None;
    for (index, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        if line.trim().is_empty() {
            continue;
        }
        let event: AuditEvent = serde_json::from_str(&line).with_context(|| {
            format!(
                "{}:{}: not an audit event as `ferry audit export` writes them",
                path.display(),
                index + 1
            )
        })?;
        if let Err(error) = verifier.push(&event.record()) {
            broken = Some(error);
            break;
        }
        last = Some((event.seq, event.hash));
    }
    let (count, last_hash) = last.unwrap_or((0, ferry_core::audit::GENESIS_HASH.to_owned()));
    if broken.is_none()
        && let Some(head) = head
        && head != last_hash
    {
        broken = Some(ferry_core::audit::ChainBreak {
            seq: count + 1,
            reason: format!(
                "the trail should end at head {head}, but ends at event {count} ({last_hash}): events were removed from the end, or this is another trail"
            ),
        });
    }
    drop(verifier);
    let verification = AuditVerification {
        intact: broken.is_none(),
        events: broken.as_ref().map_or(count, |b| b.seq - 1),
        first_bad_seq: broken.as_ref().map(|b| b.seq),
        reason: broken.as_ref().map(|b| b.reason.clone()),
        head_hash: broken.is_none().then_some(last_hash),
    };
    match format {
        OutputFormat::Json => output::json(&verification)?,
        OutputFormat::Table => writeln!(output::stdout(), "{}", verdict(&verification))?,
    }
    Ok(if verification.intact {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Copies the JSON Lines export to stdout as it arrives.
async fn export(client: &Client) -> Result<()> {
    let mut export = client.export_audit().await?;
    let mut out = std::io::stdout().lock();
    while let Some(chunk) = export.chunk().await? {
        out.write_all(chunk.as_ref())
            .context("cannot write the export")?;
    }
    out.flush().context("cannot write the export")
}

/// `audit trail intact: N events, head <hash>` or
/// `audit trail BROKEN at event <seq>: <reason>`.
fn verdict(verification: &AuditVerification) -> String {
    if verification.intact {
        let head = verification
            .head_hash
            .as_deref()
            .map(|h| format!(", head {h}"))
            .unwrap_or_default();
        format!(
            "{GOOD}audit trail intact{GOOD:#}: {} events{head}",
            verification.events
        )
    } else {
        let at = verification
            .first_bad_seq
            .map(|seq| format!(" at event {seq}"))
            .unwrap_or_default();
        let reason = verification.reason.as_deref().unwrap_or("no reason given");
        format!("{BAD}audit trail BROKEN{BAD:#}{at}: {reason}")
    }
}

fn print_events(events: &[AuditEvent], filtered: bool) -> std::io::Result<()> {
    if events.is_empty() {
        let none = if filtered {
            "No audit events match these filters."
        } else {
            "No audit events yet."
        };
        return writeln!(output::stdout(), "{none}");
    }
    let rows = events.iter().map(|event| {
        vec![
            event.seq.to_string(),
            output::time_text(&event.time),
            event.actor.clone(),
            event.action.clone(),
            event.object.clone(),
        ]
    });
    output::table(&["SEQ", "TIME", "ACTOR", "ACTION", "OBJECT"], rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_is_a_time_or_a_time_ago() {
        let now = crate::args::parse_time("2026-12-04T10:15:00Z").unwrap();
        let at = |text: &str| Since::parse(text).map(|since| since.at(now));
        assert_eq!(at("24h"), crate::args::parse_time("2026-12-03T10:15:00Z"));
        assert_eq!(at("7d"), crate::args::parse_time("2026-11-27T10:15:00Z"));
        assert_eq!(
            at("2026-12-01T09:00:00+01:00"),
            crate::args::parse_time("2026-12-01T08:00:00Z")
        );
        for bad in ["yesterday", "24", "1y", "2026-12-01"] {
            let error = Since::parse(bad).unwrap_err();
            assert!(
                error.contains("RFC 3339") || error.contains("24h"),
                "{bad:?}: {error}"
            );
        }
    }

    #[test]
    fn verdicts_name_the_broken_event() {
        let broken = AuditVerification {
            intact: false,
            events: 1,
            first_bad_seq: Some(2),
            reason: Some("hash mismatch".into()),
            head_hash: None,
        };
        let text = verdict(&broken);
        assert_eq!(
            anstream::adapter::strip_str(&text).to_string(),
            "audit trail BROKEN at event 2: hash mismatch"
        );
        let intact = AuditVerification {
            intact: true,
            events: 3,
            first_bad_seq: None,
            reason: None,
            head_hash: Some("ab12".into()),
        };
        assert_eq!(
            anstream::adapter::strip_str(&verdict(&intact)).to_string(),
            "audit trail intact: 3 events, head ab12"
        );
    }
}
