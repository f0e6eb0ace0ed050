//! `ferry review DEPLOYMENT --outcome OUTCOME --notes TEXT [--action TEXT]...`:
//! completes a deployment's post-implementation review; `ferry review list
//! [--open] [--service S] [--env E]` lists the reviews, open ones first with
//! their due dates; `ferry review show DEPLOYMENT` prints a review's draft
//! and its completion.
//!
//! The outcomes: `resolved` (the cause is understood and fixed),
//! `follow-up` (understood; the follow-up actions remain to be done),
//! `accepted-risk` (understood, and knowingly left as it is).

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Subcommand};
use ferry_api::{CompleteReview, Review};
use ferry_core::Name;
use ferry_core::review::ReviewOutcome;

use crate::cli::{ClientArgs, OutputFormat};
use crate::output::{self, BAD, DIM, GOOD};
use crate::profile;

/// `ferry review`: complete a deployment's review, or list and show reviews.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ReviewArgs {
    /// List or show reviews instead of completing one.
    #[command(subcommand)]
    pub command: Option<ReviewCommand>,
    /// The deployment whose review to complete.
    #[arg(value_name = "DEPLOYMENT", required = true)]
    pub deployment: Option<i64>,
    /// How the review ends: resolved (the cause is fixed), follow-up
    /// (actions remain), accepted-risk (the cause is knowingly left).
    #[arg(long, value_name = "OUTCOME", required = true, value_parser = outcome_parser())]
    pub outcome: Option<ReviewOutcome>,
    /// What happened, why, and what was learnt.
    #[arg(long, value_name = "TEXT", required = true)]
    pub notes: Option<String>,
    /// A follow-up action, one line (repeatable).
    #[arg(long = "action", value_name = "TEXT")]
    pub actions: Vec<String>,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// The outcomes, by name, offered as the possible values.
fn outcome_parser() -> impl TypedValueParser<Value = ReviewOutcome> {
    PossibleValuesParser::new(ReviewOutcome::ALL.map(ReviewOutcome::as_str))
        .try_map(|text: String| ReviewOutcome::parse(&text))
}

/// The review commands besides completing one.
#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// List the reviews: open ones first, the soonest due first, then the
    /// completed ones.
    List {
        /// Only those still open.
        #[arg(long)]
        open: bool,
        /// Only this service's.
        #[arg(long, value_name = "SERVICE")]
        service: Option<Name>,
        /// Only in this environment.
        #[arg(long, value_name = "ENV")]
        env: Option<Name>,
    },
    /// Show a deployment's review: its draft and, once completed, its
    /// completion.
    Show {
        /// The deployment.
        #[arg(value_name = "DEPLOYMENT")]
        deployment: i64,
    },
}

/// Runs `ferry review`.
pub async fn run(args: ReviewArgs) -> Result<ExitCode> {
    let client = profile::resolve(&args.client)?.client()?;
    let format = args.client.output;
    match args.command {
        Some(ReviewCommand::List { open, service, env }) => {
            let page = client
                .reviews(
                    open,
                    service.as_ref().map(Name::as_str),
                    env.as_ref().map(Name::as_str),
                )
                .await
                .context("cannot list the reviews")?;
            match format {
                OutputFormat::Json => output::json(&page)?,
                OutputFormat::Table => print_list(&page.items)?,
            }
        }
        Some(ReviewCommand::Show { deployment }) => {
            let review = client
                .review(deployment)
                .await
                .with_context(|| format!("cannot read the review of deployment {deployment}"))?;
            match format {
                OutputFormat::Json => output::json(&review)?,
                OutputFormat::Table => print_review(&review)?,
            }
        }
        None => {
            // clap requires these without a subcommand.
            let (Some(deployment), Some(outcome), Some(notes)) =
                (args.deployment, args.outcome, args.notes)
            else {
                anyhow::bail!("give DEPLOYMENT, --outcome and --notes (see ferry review --help)");
            };
            let review = client
                .complete_review(
                    deployment,
                    &CompleteReview {
                        outcome,
                        notes,
                        actions: args.actions,
                    },
                )
                .await
                .with_context(|| {
                    format!("cannot complete the review of deployment {deployment}")
                })?;
            match format {
                OutputFormat::Json => output::json(&review)?,
                OutputFormat::Table => {
                    let actions = review
                        .completion
                        .as_ref()
                        .map_or(0, |completion| completion.actions.len());
                    writeln!(
                        output::stdout(),
                        "{GOOD}Completed the review of deployment {}{GOOD:#} ({}@{} to {}): {}{}.",
                        review.deployment,
                        review.service,
                        review.version,
                        review.environment,
                        outcome,
                        match actions {
                            0 => String::new(),
                            1 => ", 1 follow-up action".to_owned(),
                            n => format!(", {n} follow-up actions"),
                        }
                    )?
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Where a review stands, in a word or two.
fn standing(review: &Review) -> String {
    match &review.completion {
        Some(completion) => completion.outcome.to_string(),
        None if review.overdue => "open, overdue".to_owned(),
        None => "open".to_owned(),
    }
}

fn print_list(reviews: &[Review]) -> Result<()> {
    if reviews.is_empty() {
        writeln!(output::stdout(), "No reviews.")?;
        return Ok(());
    }
    output::table(
        &[
            "DEPLOYMENT",
            "RELEASE",
            "ENV",
            "WHY",
            "STATE",
            "DUE",
            "COMPLETED BY",
        ],
        reviews.iter().map(|review| {
            vec![
                review.deployment.to_string(),
                format!("{}@{}", review.service, review.version),
                review.environment.to_string(),
                review.reason.to_string(),
                standing(review),
                output::minute(&review.due_at),
                review
                    .completion
                    .as_ref()
                    .map(|completion| completion.by.clone())
                    .unwrap_or_default(),
            ]
        }),
    )?;
    Ok(())
}

fn print_review(review: &Review) -> Result<()> {
    let mut out = output::stdout();
    writeln!(out, "{}", review.draft.markdown.trim_end())?;
    writeln!(out)?;
    writeln!(
        out,
        "{DIM}Reviewed because {} · opened {}{DIM:#}",
        review.reason.describe(),
        output::time(&review.opened_at)
    )?;
    match &review.completion {
        Some(completion) => {
            writeln!(
                out,
                "{GOOD}Completed{GOOD:#} by {} at {}: {} ({}).",
                completion.by,
                output::time(&completion.at),
                completion.outcome,
                completion.outcome.describe()
            )?;
            writeln!(out, "Notes: {}", completion.notes)?;
            if !completion.actions.is_empty() {
                writeln!(out, "Follow-up actions:")?;
                for action in &completion.actions {
                    writeln!(out, "- {action}")?;
                }
            }
        }
        None if review.overdue => writeln!(
            out,
            "{BAD}Open, overdue{BAD:#}: it was due at {}. Complete it with `ferry review {} --outcome OUTCOME --notes TEXT`.",
            output::time(&review.due_at),
            review.deployment
        )?,
        None => writeln!(
            out,
            "Open, due at {}. Complete it with `ferry review {} --outcome OUTCOME --notes TEXT`.",
            output::time(&review.due_at),
            review.deployment
        )?,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn parse(args: &[&str]) -> Result<ReviewArgs, clap::Error> {
        let mut all = vec!["ferry", "review"];
        all.extend_from_slice(args);
        match Cli::try_parse_from(all)?.command {
            Command::Review(review) => Ok(review),
            other => panic!("not a review: {other:?}"),
        }
    }

    #[test]
    fn a_number_completes_and_the_subcommands_list_and_show() {
        let complete = parse(&[
            "42",
            "--outcome",
            "follow-up",
            "--notes",
            "the migration was not idempotent",
            "--action",
            "make it idempotent",
            "--action",
            "add a test",
        ])
        .unwrap();
        assert!(complete.command.is_none());
        assert_eq!(complete.deployment, Some(42));
        assert_eq!(complete.outcome, Some(ReviewOutcome::FollowUp));
        assert_eq!(complete.actions, ["make it idempotent", "add a test"]);

        let list = parse(&["list", "--open", "--env", "prod", "--output", "json"]).unwrap();
        let Some(ReviewCommand::List { open, env, service }) = list.command else {
            panic!("{list:?}");
        };
        assert!(open && service.is_none());
        assert_eq!(env.map(|e| e.to_string()).as_deref(), Some("prod"));
        assert_eq!(list.client.output, OutputFormat::Json);

        let show = parse(&["show", "42"]).unwrap();
        assert!(matches!(
            show.command,
            Some(ReviewCommand::Show { deployment: 42 })
        ));
    }

    #[test]
    fn completing_needs_an_outcome_and_notes() {
        let missing = parse(&["42", "--notes", "x"]).unwrap_err();
        assert!(missing.to_string().contains("--outcome"), "{missing}");
        let unknown = parse(&["42", "--outcome", "done", "--notes", "x"]).unwrap_err();
        assert!(unknown.to_string().contains("accepted-risk"), "{unknown}");
        assert!(parse(&["list", "42"]).is_err());
    }
}
