//! `ferry calendar [--days N] [--service S] [--env E] [--ics]`: the coming
//! deployment windows, freezes, scheduled changes and deployments, by start,
//! in UTC; with `--ics`, the whole calendar as iCalendar text, as a calendar
//! feed serves it.
//!
//! `ferry calendar feed create|list|revoke`: calendar feeds, the secret
//! URLs calendar programs (Outlook, Google Calendar, Thunderbird) subscribe
//! to. A feed's URL is shown once, when it is made; the server keeps only
//! its hash. A feed reads the calendar with its owner's rights, and nothing
//! else.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::error::ErrorKind;
use clap::{Args, CommandFactory, Subcommand};
use ferry_api::{CalendarEntry, CalendarFeed, CreateCalendarFeed, CreatedCalendarFeed, Page};
use ferry_client::CalendarQuery;
use ferry_core::Name;

use crate::cli::{Cli, ClientArgs, OutputFormat};
use crate::{output, profile};

/// `ferry calendar`.
#[derive(Debug, Args)]
pub struct CalendarArgs {
    /// Calendar feeds, for calendar programs [default: show the calendar].
    #[command(subcommand)]
    pub command: Option<CalendarCommand>,
    /// How many days ahead (1 to 366) [default: the server's, 14]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=366), conflicts_with = "ics")]
    pub days: Option<u32>,
    /// Print the whole calendar as iCalendar (RFC 5545) text, as a calendar
    /// feed serves it: recurring windows and freezes with their rules.
    #[arg(long)]
    pub ics: bool,
    /// Only what concerns this service: its changes and deployments, and
    /// the windows and freezes of the environments of its lifecycle.
    #[arg(long, value_name = "SERVICE")]
    pub service: Option<Name>,
    /// Only what concerns this environment.
    #[arg(long = "env", value_name = "ENV")]
    pub env: Option<Name>,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// The calendar's subcommands.
#[derive(Debug, Subcommand)]
pub enum CalendarCommand {
    /// Calendar feeds: secret URLs that calendar programs subscribe to.
    ///
    /// A feed reads the calendar with your rights and does nothing else.
    /// Anyone who has its URL can read your calendar: revoke a feed you no
    /// longer use, or one whose URL went where it should not.
    Feed {
        /// What to do with feeds.
        #[command(subcommand)]
        command: FeedCommand,
    },
}

/// The calendar feed commands.
#[derive(Debug, Subcommand)]
pub enum FeedCommand {
    /// Make a feed; its URL, secret included, is printed this once.
    ///
    /// Subscribe to the URL in your calendar program. Add &service=NAME or
    /// &env=NAME to it for one service or one environment.
    Create {
        /// What the feed is for, such as phone or team-calendar [default:
        /// calendar].
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
    },
    /// List your feeds (everyone's, for administrators).
    List,
    /// Revoke a feed: its URL is refused from now on.
    Revoke {
        /// The feed's id (see `ferry calendar feed list`).
        #[arg(value_name = "ID")]
        id: i64,
    },
}

/// Runs `ferry calendar`.
pub async fn run(args: CalendarArgs) -> Result<ExitCode> {
    // clap's own conflict of options and subcommands would take in the
    // global --server, --token and --output too.
    let shows = args.days.is_some() || args.ics || args.service.is_some() || args.env.is_some();
    if args.command.is_some() && shows {
        Cli::command()
            .error(
                ErrorKind::ArgumentConflict,
                "--days, --ics, --service and --env are for showing the calendar, not for `ferry calendar feed`",
            )
            .print()?;
        return Ok(ExitCode::from(2));
    }
    let client = profile::resolve(&args.client)?.client()?;
    let format = args.client.output;
    if let Some(CalendarCommand::Feed { command }) = args.command {
        return feed(&client, format, command).await;
    }
    let (service, env) = (
        args.service.as_ref().map(Name::as_str),
        args.env.as_ref().map(Name::as_str),
    );
    if args.ics {
        let text = client
            .calendar_ics(service, env)
            .await
            .context("cannot read the release calendar")?;
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let page = if service.is_none() && env.is_none() {
        client.calendar(args.days).await
    } else {
        client
            .calendar_entries(&CalendarQuery {
                days: args.days,
                service: service.map(str::to_owned),
                environment: env.map(str::to_owned),
                ..CalendarQuery::default()
            })
            .await
    }
    .context("cannot read the release calendar")?;
    match format {
        OutputFormat::Json => output::json(&page)?,
        OutputFormat::Table => print_entries(&page.items, args.days)?,
    }
    Ok(ExitCode::SUCCESS)
}

async fn feed(
    client: &ferry_client::Client,
    format: OutputFormat,
    command: FeedCommand,
) -> Result<ExitCode> {
    match command {
        FeedCommand::Create { name } => {
            let created = client
                .create_calendar_feed(&CreateCalendarFeed { name })
                .await
                .context("cannot make the calendar feed")?;
            let url = format!("{}{}", client.server(), created.path);
            match format {
                OutputFormat::Json => {
                    let mut value = serde_json::to_value(&created)?;
                    value["url"] = serde_json::Value::String(url);
                    output::json(&value)?;
                }
                OutputFormat::Table => print_feed_url(&created, &url)?,
            }
        }
        FeedCommand::List => {
            let feeds = client
                .calendar_feeds()
                .await
                .context("cannot list the calendar feeds")?;
            match format {
                OutputFormat::Json => output::json(&feeds)?,
                OutputFormat::Table => print_feeds(&feeds)?,
            }
        }
        FeedCommand::Revoke { id } => {
            let revoked = client
                .revoke_calendar_feed(id)
                .await
                .with_context(|| format!("cannot revoke calendar feed {id}"))?;
            match format {
                OutputFormat::Json => output::json(&revoked)?,
                OutputFormat::Table => writeln!(
                    output::stdout(),
                    "Revoked calendar feed {id}: its URL is refused from now on."
                )?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Says what was made and how to revoke it, then the URL alone on the last
/// line, so a script can take it with `tail -n 1`.
fn print_feed_url(created: &CreatedCalendarFeed, url: &str) -> std::io::Result<()> {
    let feed = &created.feed;
    let mut out = output::stdout();
    writeln!(
        out,
        "Made calendar feed {:?} (id {}) for {}. It reads the calendar with your rights and nothing else;",
        feed.name, feed.id, feed.user
    )?;
    writeln!(
        out,
        "anyone with its URL can read your calendar: revoke it with `ferry calendar feed revoke {}`.",
        feed.id
    )?;
    writeln!(
        out,
        "Subscribe to this URL in your calendar program (add &service=NAME or &env=NAME to narrow it). It is shown this once:"
    )?;
    writeln!(out, "{url}")?;
    out.flush()
}

fn print_feeds(feeds: &Page<CalendarFeed>) -> std::io::Result<()> {
    if feeds.items.is_empty() {
        return writeln!(
            output::stdout(),
            "No calendar feeds; make one with `ferry calendar feed create`."
        );
    }
    let dash = || "-".to_owned();
    let rows = feeds.items.iter().map(|feed| {
        vec![
            feed.id.to_string(),
            feed.name.clone(),
            feed.user.clone(),
            format!("{}…", feed.prefix),
            output::time(&feed.created_at),
            feed.last_used_at.as_ref().map_or_else(dash, output::time),
            feed.revoked_at.as_ref().map_or_else(dash, output::time),
        ]
    });
    output::table(
        &[
            "ID",
            "NAME",
            "USER",
            "PREFIX",
            "CREATED",
            "LAST USED",
            "REVOKED",
        ],
        rows,
    )
}

fn print_entries(entries: &[CalendarEntry], days: Option<u32>) -> std::io::Result<()> {
    if entries.is_empty() {
        let ahead = days.map_or_else(
            || "the coming days".to_owned(),
            |d| format!("the next {d} day(s)"),
        );
        return writeln!(
            output::stdout(),
            "Nothing on the calendar in {ahead}: no deployment windows, freezes or scheduled changes."
        );
    }
    let rows = entries.iter().map(|e| {
        vec![
            output::minute(&e.start),
            output::minute(&e.end),
            e.kind.clone(),
            e.environments.join(","),
            e.title.clone(),
        ]
    });
    output::table(&["START", "END", "KIND", "ENVIRONMENTS", "TITLE"], rows)
}
