//! `ferry change create|submit|assess|approve|reject|defer|schedule|implement|
//! review|close|list|show`: change requests (ITIL RFCs) and their moves.
//!
//! The state machine lives in the server (and `ferry_core::change`): a move
//! the change's state does not allow is refused there with a sentence naming
//! the moves that are, which is printed as it comes.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use ferry_api::{ChangeActionBody, ChangeRequest, CreateChange};
use ferry_client::ChangeQuery;
use ferry_core::Name;
use ferry_core::change::ChangeAction;
use ferry_core::change::{ChangeKind, ChangeState, ReviewOutcome};
use ferry_core::risk::RiskLevel;

use crate::cli::{ClientArgs, OutputFormat};
use crate::output::{self, BAD, CHANGE};
use crate::profile;

/// `ferry change`.
#[derive(Debug, Args)]
pub struct ChangeArgs {
    /// What to do with change requests.
    #[command(subcommand)]
    pub command: ChangeCommand,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// The change request commands. A change moves draft → submitted →
/// assessed → approved | rejected | deferred → scheduled → implemented →
/// reviewed → closed; a move its state does not allow is refused with the
/// moves that are.
#[derive(Debug, Subcommand)]
pub enum ChangeCommand {
    /// Raise a change request (in draft).
    Create(ChangeCreateArgs),
    /// Put a draft (or deferred) change before the change board; a
    /// standard change is approved by this.
    Submit {
        /// The change request's number.
        #[arg(value_name = "ID")]
        id: i64,
    },
    /// Record the assessment of a submitted change's risk and impact.
    Assess {
        /// The change request's number.
        #[arg(value_name = "ID")]
        id: i64,
        /// low, medium, high or critical.
        #[arg(long, value_name = "LEVEL", value_parser = RiskLevel::parse)]
        risk: RiskLevel,
        /// What the change affects.
        #[arg(long, value_name = "TEXT")]
        impact: Option<String>,
    },
    /// Approve a change (a normal change must be assessed first).
    Approve {
        /// The change request's number.
        #[arg(value_name = "ID")]
        id: i64,
    },
    /// Reject a change.
    Reject {
        /// The change request's number.
        #[arg(value_name = "ID")]
        id: i64,
        /// Why.
        #[arg(long, value_name = "TEXT")]
        reason: String,
    },
    /// Put a change off; it may be submitted again.
    Defer {
        /// The change request's number.
        #[arg(value_name = "ID")]
        id: i64,
        /// Why.
        #[arg(long, value_name = "TEXT")]
        reason: Option<String>,
    },
    /// Plan (or re-plan) an approved change's window.
    Schedule {
        /// The change request's number.
        #[arg(value_name = "ID")]
        id: i64,
        /// START..END, two RFC 3339 times, such as
        /// 2026-03-02T22:00:00Z..2026-03-03T02:00:00Z.
        #[arg(long, value_name = "START..END")]
        window: String,
    },
    /// Record that a change was carried out.
    Implement {
        /// The change request's number.
        #[arg(value_name = "ID")]
        id: i64,
    },
    /// Record the post-implementation review (required for an emergency change).
    Review {
        /// The change request's number.
        #[arg(value_name = "ID")]
        id: i64,
        /// successful, partially or failed.
        #[arg(long, value_name = "OUTCOME", value_parser = ReviewOutcome::parse)]
        outcome: ReviewOutcome,
        /// What was learnt.
        #[arg(long, value_name = "TEXT")]
        notes: Option<String>,
    },
    /// Finish with a change.
    Close {
        /// The change request's number.
        #[arg(value_name = "ID")]
        id: i64,
    },
    /// List change requests, newest first, with their conflicts.
    List {
        /// Only in this state (draft, submitted, assessed, approved, rejected,
        /// deferred, scheduled, implemented, reviewed, closed).
        #[arg(long, value_name = "STATE", value_parser = ChangeState::parse)]
        state: Option<ChangeState>,
        /// Only of this type (standard, normal, emergency).
        #[arg(long = "type", value_name = "TYPE", value_parser = ChangeKind::parse)]
        kind: Option<ChangeKind>,
        /// Only of this service.
        #[arg(long, value_name = "SERVICE")]
        service: Option<Name>,
        /// Only in this environment.
        #[arg(long, value_name = "ENV")]
        env: Option<Name>,
        /// Only emergency changes implemented and not yet reviewed.
        #[arg(long)]
        needs_review: bool,
    },
    /// Show one change request, with its conflicts.
    Show {
        /// The change request's number.
        #[arg(value_name = "ID")]
        id: i64,
    },
}

/// `ferry change create`.
#[derive(Debug, Args)]
pub struct ChangeCreateArgs {
    /// What it changes.
    #[arg(long, value_name = "TEXT")]
    pub title: String,
    /// standard (pre-approved), normal (assessed and approved by a change
    /// board) or emergency (expedited, reviewed afterwards).
    #[arg(long = "type", value_name = "TYPE", value_parser = ChangeKind::parse)]
    pub kind: ChangeKind,
    /// The service changed.
    #[arg(long, value_name = "SERVICE")]
    pub service: Name,
    /// The environment changed.
    #[arg(long, value_name = "ENV")]
    pub env: Name,
    /// The release it implements: SERVICE@VERSION or VERSION.
    #[arg(long, value_name = "RELEASE")]
    pub release: Option<String>,
    /// When it may be carried out: START..END, two RFC 3339 times.
    #[arg(long, value_name = "START..END")]
    pub window: Option<String>,
    /// More about it.
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub description: String,
}

/// Runs one change request command.
pub async fn run(args: ChangeArgs) -> Result<ExitCode> {
    let client = profile::resolve(&args.client)?.client()?;
    let format = args.client.output;
    let (id, action, body) = match args.command {
        ChangeCommand::Create(create) => {
            let body = CreateChange {
                title: create.title,
                description: create.description,
                kind: create.kind,
                service: create.service.clone(),
                environment: create.env.clone(),
                release: create.release,
                window: create.window,
            };
            let change = client
                .create_change(&body)
                .await
                .context("cannot create the change request")?;
            match format {
                OutputFormat::Json => output::json(&change)?,
                OutputFormat::Table => {
                    let mut out = output::stdout();
                    writeln!(
                        out,
                        "Created change {} ({}, {}): {}.",
                        change.id,
                        change.kind.as_str(),
                        change.state.as_str(),
                        change.title
                    )?;
                    writeln!(
                        out,
                        "Submit it when ready with `ferry change submit {}`.",
                        change.id
                    )?;
                    write_conflicts(&mut out, &change)?;
                }
            }
            return Ok(ExitCode::SUCCESS);
        }
        ChangeCommand::List {
            state,
            kind,
            service,
            env,
            needs_review,
        } => {
            let query = ChangeQuery {
                state: state.map(|s| s.as_str().to_owned()),
                kind: kind.map(|k| k.as_str().to_owned()),
                service: service.map(|s| s.as_str().to_owned()),
                environment: env.map(|e| e.as_str().to_owned()),
                needs_review,
            };
            let page = client
                .changes(&query)
                .await
                .context("cannot list change requests")?;
            match format {
                OutputFormat::Json => output::json(&page)?,
                OutputFormat::Table => print_list(&page.items)?,
            }
            return Ok(ExitCode::SUCCESS);
        }
        ChangeCommand::Show { id } => {
            let change = client
                .change(id)
                .await
                .with_context(|| format!("cannot show change {id}"))?;
            match format {
                OutputFormat::Json => output::json(&change)?,
                OutputFormat::Table => print_change(&change)?,
            }
            return Ok(ExitCode::SUCCESS);
        }
        ChangeCommand::Submit { id } => (id, ChangeAction::Submit, ChangeActionBody::default()),
        ChangeCommand::Assess { id, risk, impact } => (
            id,
            ChangeAction::Assess,
            ChangeActionBody {
                risk: Some(risk.as_str().to_owned()),
                impact,
                ..ChangeActionBody::default()
            },
        ),
        ChangeCommand::Approve { id } => (id, ChangeAction::Approve, ChangeActionBody::default()),
        ChangeCommand::Reject { id, reason } => (
            id,
            ChangeAction::Reject,
            ChangeActionBody {
                reason: Some(reason),
                ..ChangeActionBody::default()
            },
        ),
        ChangeCommand::Defer { id, reason } => (
            id,
            ChangeAction::Defer,
            ChangeActionBody {
                reason,
                ..ChangeActionBody::default()
            },
        ),
        ChangeCommand::Schedule { id, window } => (
            id,
            ChangeAction::Schedule,
            ChangeActionBody {
                window: Some(window),
                ..ChangeActionBody::default()
            },
        ),
        ChangeCommand::Implement { id } => {
            (id, ChangeAction::Implement, ChangeActionBody::default())
        }
        ChangeCommand::Review { id, outcome, notes } => (
            id,
            ChangeAction::Review,
            ChangeActionBody {
                outcome: Some(outcome.as_str().to_owned()),
                notes,
                ..ChangeActionBody::default()
            },
        ),
        ChangeCommand::Close { id } => (id, ChangeAction::Close, ChangeActionBody::default()),
    };
    let verb = action.as_str();
    let change = client
        .act_on_change(id, verb, &body)
        .await
        .with_context(|| format!("cannot {verb} change {id}"))?;
    match format {
        OutputFormat::Json => output::json(&change)?,
        OutputFormat::Table => {
            let mut out = output::stdout();
            writeln!(
                out,
                "Change {} is now {}: {}.",
                change.id,
                change.state.as_str(),
                change.title
            )?;
            if change.needs_review {
                writeln!(
                    out,
                    "{CHANGE}It needs its post-implementation review:{CHANGE:#} \
                     `ferry change review {} --outcome successful|partially|failed`.",
                    change.id
                )?;
            }
            write_conflicts(&mut out, &change)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `conflicts with change 7 (overlapping window)`, one line per conflict.
fn write_conflicts(out: &mut impl Write, change: &ChangeRequest) -> std::io::Result<()> {
    for other in &change.conflicts_with {
        writeln!(
            out,
            "{BAD}conflicts with change {other}{BAD:#} (overlapping window)"
        )?;
    }
    Ok(())
}

/// `2026-12-01 09:00 UTC..2026-12-01 11:00 UTC`, or `-`.
fn window(change: &ChangeRequest) -> String {
    match (&change.window_start, &change.window_end) {
        (Some(start), Some(end)) => format!("{}..{}", output::minute(start), output::minute(end)),
        _ => "-".to_owned(),
    }
}

fn print_list(changes: &[ChangeRequest]) -> std::io::Result<()> {
    if changes.is_empty() {
        return writeln!(output::stdout(), "No change requests.");
    }
    let rows = changes.iter().map(|c| {
        let conflicts = if c.conflicts_with.is_empty() {
            "-".to_owned()
        } else {
            c.conflicts_with
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        let state = if c.needs_review {
            format!("{} (needs review)", c.state.as_str())
        } else {
            c.state.as_str().to_owned()
        };
        vec![
            c.id.to_string(),
            c.kind.as_str().to_owned(),
            state,
            c.service.clone(),
            c.environment.clone(),
            window(c),
            conflicts,
            c.title.clone(),
        ]
    });
    output::table(
        &[
            "ID",
            "TYPE",
            "STATE",
            "SERVICE",
            "ENV",
            "WINDOW",
            "CONFLICTS",
            "TITLE",
        ],
        rows,
    )
}

fn print_change(c: &ChangeRequest) -> std::io::Result<()> {
    let mut out = output::stdout();
    writeln!(out, "change       {}: {}", c.id, c.title)?;
    writeln!(out, "type         {}", c.kind.as_str())?;
    writeln!(out, "state        {}", c.state.as_str())?;
    writeln!(out, "service      {}", c.service)?;
    writeln!(out, "environment  {}", c.environment)?;
    let release = c
        .release
        .as_deref()
        .map_or_else(|| "-".to_owned(), |v| format!("{}@{v}", c.service));
    writeln!(out, "release      {release}")?;
    writeln!(out, "window       {}", window(c))?;
    let optional = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".to_owned());
    writeln!(out, "risk         {}", optional(&c.risk))?;
    writeln!(out, "impact       {}", optional(&c.impact))?;
    if let Some(reason) = &c.reason {
        writeln!(out, "reason       {reason}")?;
    }
    if let Some(outcome) = &c.review_outcome {
        match &c.review_notes {
            Some(notes) => writeln!(out, "review       {outcome}: {notes}")?,
            None => writeln!(out, "review       {outcome}")?,
        }
    }
    writeln!(
        out,
        "created      {} by {}",
        output::time(&c.created_at),
        c.created_by
    )?;
    writeln!(out, "updated      {}", output::time(&c.updated_at))?;
    if !c.description.trim().is_empty() {
        writeln!(out, "description")?;
        for line in c.description.trim_end().lines() {
            writeln!(out, "  {line}")?;
        }
    }
    if c.needs_review {
        writeln!(
            out,
            "{CHANGE}needs review{CHANGE:#}: record it with `ferry change review {} --outcome \
             successful|partially|failed`",
            c.id
        )?;
    }
    write_conflicts(&mut out, c)?;
    out.flush()
}
