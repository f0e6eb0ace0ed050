//! `ferry webhook create|list|delete|deliveries|delivery|redeliver`: event
//! subscriptions, delivered signed as CloudEvents, as Slack or Teams
//! messages, or by e-mail.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use ferry_api::{NewWebhook, WebhookDelivery};
use ferry_core::Name;

use crate::cli::{ClientArgs, OutputFormat};
use crate::output::{self, GOOD};
use crate::profile;

/// `ferry webhook`.
#[derive(Debug, Args)]
pub struct WebhookArgs {
    /// What to do with webhooks.
    #[command(subcommand)]
    pub command: WebhookCommand,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// The webhook commands.
#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Subscribe an address to events. Prints the signing secret once.
    Create {
        /// Where to post the events (https://, or http:// on a private
        /// network): a receiver of CloudEvents, or a Slack or Teams
        /// incoming webhook (with --format).
        #[arg(
            long,
            value_name = "URL",
            required_unless_present = "email",
            conflicts_with = "email"
        )]
        url: Option<String>,
        /// How to write the events posted to --url: signed CloudEvents, a
        /// Slack message (Block Kit; Mattermost and Rocket.Chat take it
        /// too) or a Teams message (an Adaptive Card).
        #[arg(long, value_enum, default_value_t = PostFormat::Cloudevents, conflicts_with = "email")]
        format: PostFormat,
        /// Send the events by e-mail to these addresses instead
        /// (comma-separated; the server needs --smtp-url).
        #[arg(long, value_name = "ADDRESS", value_delimiter = ',')]
        email: Vec<String>,
        /// The events, comma-separated: `*`, or kinds such as
        /// `deployment.succeeded,deployment.failed` (`ferry webhook events`
        /// lists them).
        #[arg(long, value_name = "EVENTS", value_delimiter = ',', required = true)]
        events: Vec<String>,
        /// Only events of this service.
        #[arg(long, value_name = "SERVICE")]
        service: Option<Name>,
        /// Only events of this environment.
        #[arg(long, value_name = "ENV")]
        env: Option<Name>,
        /// Read the signing secret (`whsec_…`) from this file instead of
        /// having the server make one.
        #[arg(long, value_name = "FILE")]
        secret_file: Option<PathBuf>,
    },
    /// List the subscriptions in force.
    List,
    /// Delete a subscription: nothing more is sent to it.
    Delete {
        /// The webhook's id.
        #[arg(value_name = "ID")]
        id: i64,
    },
    /// List a subscription's deliveries, newest first.
    Deliveries {
        /// The webhook's id.
        #[arg(value_name = "ID")]
        id: i64,
        /// At most this many.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
    },
    /// Show one delivery with each of its attempts.
    Delivery {
        /// The delivery's id.
        #[arg(value_name = "DELIVERY")]
        id: i64,
    },
    /// Send a delivery again now, whatever became of it.
    Redeliver {
        /// The delivery's id.
        #[arg(value_name = "DELIVERY")]
        id: i64,
    },
    /// List the events a webhook may name, with their CloudEvents types.
    Events,
}

/// How events posted to an address are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PostFormat {
    /// Signed CloudEvents (Standard Webhooks).
    Cloudevents,
    /// A Slack incoming-webhook message.
    Slack,
    /// A Microsoft Teams message with an Adaptive Card.
    Teams,
}

impl PostFormat {
    fn as_str(self) -> &'static str {
        match self {
            PostFormat::Cloudevents => "cloudevents",
            PostFormat::Slack => "slack",
            PostFormat::Teams => "teams",
        }
    }
}

/// Runs `ferry webhook …`.
pub async fn webhook(args: WebhookArgs) -> Result<ExitCode> {
    if let WebhookCommand::Events = args.command {
        return events(args.client.output);
    }
    let client = profile::resolve(&args.client)?.client()?;
    let format = args.client.output;
    match args.command {
        WebhookCommand::Create {
            url,
            format: post_format,
            email,
            events,
            service,
            env,
            secret_file,
        } => {
            let secret = secret_file
                .map(|path| {
                    std::fs::read_to_string(&path)
                        .map(|text| text.trim().to_string())
                        .with_context(|| format!("cannot read {}", path.display()))
                })
                .transpose()?;
            let (url, written) = match url {
                Some(url) => (url, post_format.as_str()),
                None => (
                    format!(
                        "{}{}",
                        ferry_core::chat::MAILTO,
                        email.iter().map(|a| a.trim()).collect::<Vec<_>>().join(",")
                    ),
                    "email",
                ),
            };
            let created = client
                .create_webhook(&NewWebhook {
                    url,
                    format: Some(written.to_owned()),
                    events,
                    service,
                    environment: env,
                    secret,
                })
                .await
                .context("cannot create the webhook")?;
            match format {
                OutputFormat::Json => output::json(&created)?,
                OutputFormat::Table => {
                    let mut out = output::stdout();
                    let hook = &created.webhook;
                    let events = hook.events.join(", ");
                    match hook.format.as_str() {
                        "email" => writeln!(
                            out,
                            "{GOOD}Created{GOOD:#} webhook {}: e-mails {events} to {}",
                            hook.id,
                            hook.url.trim_start_matches(ferry_core::chat::MAILTO)
                        )?,
                        "cloudevents" => {
                            writeln!(
                                out,
                                "{GOOD}Created{GOOD:#} webhook {}: posts {events} to {}",
                                hook.id, hook.url
                            )?;
                            writeln!(
                                out,
                                "signing secret (shown once; give it to the receiver): {}",
                                created.secret
                            )?;
                        }
                        format => writeln!(
                            out,
                            "{GOOD}Created{GOOD:#} webhook {}: posts {events} as {format} messages to {}",
                            hook.id, hook.url
                        )?,
                    }
                }
            }
        }
        WebhookCommand::List => {
            let page = client.webhooks().await.context("cannot list webhooks")?;
            match format {
                OutputFormat::Json => output::json(&page.items)?,
                OutputFormat::Table => output::table(
                    &[
                        "ID", "NAME", "URL", "FORMAT", "EVENTS", "SERVICE", "ENV", "BY",
                    ],
                    page.items.iter().map(|hook| {
                        vec![
                            hook.id.to_string(),
                            hook.name.as_ref().map_or("—".into(), ToString::to_string),
                            hook.url.clone(),
                            hook.format.clone(),
                            hook.events.join(","),
                            hook.service
                                .as_ref()
                                .map_or("*".into(), ToString::to_string),
                            hook.environment
                                .as_ref()
                                .map_or("*".into(), ToString::to_string),
                            hook.created_by.clone(),
                        ]
                    }),
                )?,
            }
        }
        WebhookCommand::Delete { id } => {
            client
                .delete_webhook(id)
                .await
                .with_context(|| format!("cannot delete webhook {id}"))?;
            if format == OutputFormat::Table {
                writeln!(output::stdout(), "deleted webhook {id}")?;
            }
        }
        WebhookCommand::Deliveries { id, limit } => {
            let page = client
                .webhook_deliveries(id, limit)
                .await
                .with_context(|| format!("cannot list the deliveries of webhook {id}"))?;
            match format {
                OutputFormat::Json => output::json(&page.items)?,
                OutputFormat::Table => print_deliveries(&page.items)?,
            }
        }
        WebhookCommand::Delivery { id } => {
            let delivery = client
                .webhook_delivery(id)
                .await
                .with_context(|| format!("cannot read delivery {id}"))?;
            match format {
                OutputFormat::Json => output::json(&delivery)?,
                OutputFormat::Table => {
                    print_deliveries(std::slice::from_ref(&delivery))?;
                    output::table(
                        &["ATTEMPT AT", "STATUS", "TOOK", "ERROR"],
                        delivery.history.iter().map(|attempt| {
                            vec![
                                output::minute(&attempt.at),
                                attempt.status.map_or("—".into(), |s| s.to_string()),
                                format!("{} ms", attempt.duration_ms),
                                attempt.error.clone().unwrap_or_default(),
                            ]
                        }),
                    )?;
                }
            }
        }
        WebhookCommand::Redeliver { id } => {
            let delivery = client
                .redeliver(id)
                .await
                .with_context(|| format!("cannot send delivery {id} again"))?;
            match format {
                OutputFormat::Json => output::json(&delivery)?,
                OutputFormat::Table => writeln!(
                    output::stdout(),
                    "delivery {id} ({}) is sent again now",
                    delivery.event_id
                )?,
            }
        }
        WebhookCommand::Events => unreachable!("answered above"),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_deliveries(deliveries: &[WebhookDelivery]) -> Result<()> {
    output::table(
        &["ID", "EVENT", "TYPE", "STATE", "ATTEMPTS", "LAST", "NEXT"],
        deliveries.iter().map(|d| {
            vec![
                d.id.to_string(),
                d.event_id.clone(),
                d.event_type.clone(),
                d.state.clone(),
                d.attempts.to_string(),
                match (&d.last_status, &d.last_error) {
                    (_, Some(error)) => error.clone(),
                    (Some(status), None) => status.to_string(),
                    (None, None) => "—".into(),
                },
                d.next_attempt_at
                    .as_ref()
                    .map_or("—".into(), output::minute),
            ]
        }),
    )?;
    Ok(())
}

/// `ferry webhook events`: the kinds, from the same list the server uses.
fn events(format: OutputFormat) -> Result<ExitCode> {
    let kinds = ferry_core::event::EventKind::ALL;
    match format {
        OutputFormat::Json => output::json(
            &kinds
                .iter()
                .map(|k| serde_json::json!({ "event": k.as_str(), "type": k.cloudevents_type() }))
                .collect::<Vec<_>>(),
        )?,
        OutputFormat::Table => output::table(
            &["EVENT", "CLOUDEVENTS TYPE"],
            kinds
                .iter()
                .map(|k| vec![k.as_str().to_string(), k.cloudevents_type().to_string()]),
        )?,
    }
    Ok(ExitCode::SUCCESS)
}
