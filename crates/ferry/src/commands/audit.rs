//! `ferry audit list|verify|export`: reading the hash-chained audit trail and
//! proving nothing in it was altered or removed.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use ferry_api::{AuditEvent, AuditVerification, Page, PageQuery};
use ferry_client::Client;

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
    /// List audit events, oldest first.
    List {
        /// At most this many events [default: all]
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        limit: Option<u32>,
    },
    /// Check the hash chain: exit 0 when intact, 1 when an event was altered or removed.
    Verify,
    /// Print the whole trail as JSON Lines, one event per line.
    Export,
}

/// The most events one request asks for (the API's upper bound).
const MAX_PAGE: u32 = 1000;

/// Runs one audit command.
pub async fn run(args: AuditArgs) -> Result<ExitCode> {
    let client = profile::resolve(&args.client)?.client()?;
    let format = args.client.output;
    match args.command {
        AuditCommand::List { limit } => {
            let page = list(&client, limit).await?;
            match format {
                OutputFormat::Json => output::json(&page)?,
                OutputFormat::Table => print_events(&page.items)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Verify => {
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

/// Events oldest first, up to `limit` (all when none). The page printed keeps
/// the server's `next_cursor` when more events follow the last one shown.
async fn list(client: &Client, limit: Option<u32>) -> Result<Page<AuditEvent>> {
    let mut items = Vec::new();
    let mut cursor = None;
    loop {
        let wanted = limit.map_or(MAX_PAGE, |limit| (limit - items.len() as u32).min(MAX_PAGE));
        let page = client
            .audit(&PageQuery {
                limit: Some(wanted),
                cursor: cursor.clone(),
            })
            .await?;
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

fn print_events(events: &[AuditEvent]) -> std::io::Result<()> {
    if events.is_empty() {
        return writeln!(output::stdout(), "No audit events yet.");
    }
    let rows = events.iter().map(|event| {
        vec![
            event.seq.to_string(),
            event.time.clone(),
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
