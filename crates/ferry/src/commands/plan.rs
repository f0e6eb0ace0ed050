//! `ferry plan show|create|set|task …|milestone …`: a release's plan, its
//! milestones and its tasks.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use ferry_api::{NewPlan, NewPlanMilestone, NewPlanTask, Plan, PlanUpdate, Task, TaskMove};
use ferry_client::Client;
use ferry_core::{Name, ReleaseRef};

use crate::args::parse_date_or_time;
use crate::cli::{ClientArgs, OutputFormat};
use crate::output::{self, GOOD};
use crate::profile;

/// `ferry plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// What to do with plans.
    #[command(subcommand)]
    pub command: PlanCommand,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// Whose plan: a release's, or a train's.
#[derive(Debug, Args)]
pub struct Subject {
    /// The release, such as api@2.3.0.
    #[arg(value_name = "SERVICE@VERSION", required_unless_present = "train")]
    pub release: Option<ReleaseRef>,
    /// The train's plan instead.
    #[arg(long, value_name = "NAME", conflicts_with = "release")]
    pub train: Option<Name>,
}

impl std::fmt::Display for Subject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.release, &self.train) {
            (Some(release), _) => write!(f, "{release}"),
            (None, Some(train)) => write!(f, "train {train}"),
            (None, None) => f.write_str("?"),
        }
    }
}

/// The plan commands.
#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Show a release's plan: owner, go-live, milestones and tasks, with
    /// what is overdue.
    Show {
        /// Whose plan.
        #[command(flatten)]
        subject: Subject,
    },
    /// Make a release's plan: from its service's template (or --template),
    /// dated from --go-live.
    Create {
        /// The release, such as api@2.3.0.
        #[arg(value_name = "SERVICE@VERSION")]
        release: ReleaseRef,
        /// Who owns it [default: you]
        #[arg(long, value_name = "USER")]
        owner: Option<Name>,
        /// The go-live date (2027-03-01, or an RFC 3339 time).
        #[arg(long, value_name = "DATE", value_parser = parse_date_or_time)]
        go_live: Option<DateTime<Utc>>,
        /// The template [default: the service's]
        #[arg(long, value_name = "NAME")]
        template: Option<Name>,
    },
    /// Set a plan's go-live date (its template's dates follow) or owner.
    Set {
        /// The release, such as api@2.3.0.
        #[arg(value_name = "SERVICE@VERSION")]
        release: ReleaseRef,
        /// The go-live date (2027-03-01, or an RFC 3339 time).
        #[arg(long, value_name = "DATE", value_parser = parse_date_or_time)]
        go_live: Option<DateTime<Utc>>,
        /// The new owner.
        #[arg(long, value_name = "USER")]
        owner: Option<Name>,
    },
    /// Add, start, finish, skip or reopen tasks.
    #[command(subcommand)]
    Task(TaskCommand),
    /// Add milestones and record them reached.
    #[command(subcommand)]
    Milestone(MilestoneCommand),
}

/// The task commands.
#[derive(Debug, Subcommand)]
pub enum TaskCommand {
    /// Add a task to a release's plan (made if it has none) or a train's.
    Add {
        /// Whose plan.
        #[command(flatten)]
        subject: Subject,
        /// What is to be done.
        #[arg(long, value_name = "TEXT")]
        title: String,
        /// More about it.
        #[arg(long, value_name = "TEXT", default_value = "")]
        description: String,
        /// Who does it: a user name, or group:NAME.
        #[arg(long, value_name = "USER|group:NAME")]
        assignee: Option<String>,
        /// When it is due (2027-03-01, or an RFC 3339 time).
        #[arg(long, value_name = "DATE", value_parser = parse_date_or_time)]
        due: Option<DateTime<Utc>>,
        /// It must be done before the release enters this environment (a
        /// gate there).
        #[arg(long, value_name = "ENV")]
        required_before: Option<Name>,
        /// A link (a runbook, a ticket).
        #[arg(long, value_name = "URL")]
        link: Option<String>,
    },
    /// Start a task.
    Start {
        /// The task's id.
        #[arg(value_name = "ID")]
        id: i64,
    },
    /// Finish a task.
    Done {
        /// The task's id.
        #[arg(value_name = "ID")]
        id: i64,
    },
    /// Skip a task that is not needed, with why.
    Skip {
        /// The task's id.
        #[arg(value_name = "ID")]
        id: i64,
        /// Why it is not needed.
        #[arg(long, value_name = "TEXT")]
        reason: String,
    },
    /// Reopen a finished or skipped task, with why.
    Reopen {
        /// The task's id.
        #[arg(value_name = "ID")]
        id: i64,
        /// Why.
        #[arg(long, value_name = "TEXT")]
        reason: String,
    },
}

/// The milestone commands.
#[derive(Debug, Subcommand)]
pub enum MilestoneCommand {
    /// Add a milestone to a release's plan (made if it has none) or a
    /// train's.
    Add {
        /// Whose plan.
        #[command(flatten)]
        subject: Subject,
        /// Its name, such as "code freeze".
        #[arg(long, value_name = "TEXT")]
        name: String,
        /// Its date (2027-03-01, or an RFC 3339 time).
        #[arg(long, value_name = "DATE", value_parser = parse_date_or_time)]
        due: Option<DateTime<Utc>>,
    },
    /// Record a milestone reached.
    Done {
        /// The milestone's id.
        #[arg(value_name = "ID")]
        id: i64,
    },
}

/// Runs one plan command.
pub async fn run(args: PlanArgs) -> Result<ExitCode> {
    let client = profile::resolve(&args.client)?.client()?;
    let format = args.client.output;
    match args.command {
        PlanCommand::Show { subject } => {
            let plan = fetch_subject(&client, &subject).await?;
            match format {
                OutputFormat::Json => output::json(&plan)?,
                OutputFormat::Table => print_plan(&plan)?,
            }
        }
        PlanCommand::Create {
            release,
            owner,
            go_live,
            template,
        } => {
            let plan = client
                .create_plan(
                    release.service.as_str(),
                    &release.version.to_string(),
                    &NewPlan {
                        owner,
                        go_live,
                        template,
                    },
                )
                .await
                .with_context(|| format!("cannot make the plan of {release}"))?;
            match format {
                OutputFormat::Json => output::json(&plan)?,
                OutputFormat::Table => {
                    writeln!(
                        output::stdout(),
                        "{GOOD}Made the plan of {release}{GOOD:#}."
                    )?;
                    print_plan(&plan)?;
                }
            }
        }
        PlanCommand::Set {
            release,
            go_live,
            owner,
        } => {
            let plan = fetch(&client, &release).await?;
            let plan = client
                .update_plan(plan.id, &PlanUpdate { owner, go_live })
                .await
                .with_context(|| format!("cannot change the plan of {release}"))?;
            match format {
                OutputFormat::Json => output::json(&plan)?,
                OutputFormat::Table => print_plan(&plan)?,
            }
        }
        PlanCommand::Task(TaskCommand::Add {
            subject,
            title,
            description,
            assignee,
            due,
            required_before,
            link,
        }) => {
            let plan = fetch_or_create(&client, &subject).await?;
            let task = client
                .add_task(
                    plan.id,
                    &NewPlanTask {
                        title,
                        description,
                        assignee,
                        due,
                        required_before,
                        link,
                    },
                )
                .await
                .with_context(|| format!("cannot add a task to the plan of {subject}"))?;
            print_task(format, "Added", &task)?;
        }
        PlanCommand::Task(command) => {
            let (id, action, reason, verb) = match command {
                TaskCommand::Start { id } => (id, "start", None, "Started"),
                TaskCommand::Done { id } => (id, "done", None, "Finished"),
                TaskCommand::Skip { id, reason } => (id, "skip", Some(reason), "Skipped"),
                TaskCommand::Reopen { id, reason } => (id, "reopen", Some(reason), "Reopened"),
                TaskCommand::Add { .. } => unreachable!("handled above"),
            };
            let task = client
                .move_task(id, action, &TaskMove { reason })
                .await
                .with_context(|| format!("cannot {action} task {id}"))?;
            print_task(format, verb, &task)?;
        }
        PlanCommand::Milestone(MilestoneCommand::Add { subject, name, due }) => {
            let plan = fetch_or_create(&client, &subject).await?;
            let milestone = client
                .add_milestone(plan.id, &NewPlanMilestone { name, due })
                .await
                .with_context(|| format!("cannot add a milestone to the plan of {subject}"))?;
            match format {
                OutputFormat::Json => output::json(&milestone)?,
                OutputFormat::Table => writeln!(
                    output::stdout(),
                    "{GOOD}Added milestone {}{GOOD:#}: {}{}.",
                    milestone.id,
                    milestone.name,
                    milestone
                        .due
                        .map(|due| format!(", {}", output::minute(&due)))
                        .unwrap_or_default()
                )?,
            }
        }
        PlanCommand::Milestone(MilestoneCommand::Done { id }) => {
            let milestone = client
                .complete_milestone(id)
                .await
                .with_context(|| format!("cannot record milestone {id} reached"))?;
            match format {
                OutputFormat::Json => output::json(&milestone)?,
                OutputFormat::Table => writeln!(
                    output::stdout(),
                    "{GOOD}Reached milestone {}{GOOD:#}: {}.",
                    milestone.id,
                    milestone.name
                )?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn fetch(client: &Client, release: &ReleaseRef) -> Result<Plan> {
    client
        .release_plan(release.service.as_str(), &release.version.to_string())
        .await
        .with_context(|| format!("cannot read the plan of {release}"))
}

async fn fetch_subject(client: &Client, subject: &Subject) -> Result<Plan> {
    match (&subject.release, &subject.train) {
        (Some(release), _) => fetch(client, release).await,
        (None, Some(train)) => client
            .train_plan(train.as_str())
            .await
            .with_context(|| format!("cannot read the plan of train {train}")),
        (None, None) => anyhow::bail!("name the release (SERVICE@VERSION) or --train NAME"),
    }
}

/// The plan of `subject`; for a release without one, an empty one made
/// first.
async fn fetch_or_create(client: &Client, subject: &Subject) -> Result<Plan> {
    let Some(release) = &subject.release else {
        return fetch_subject(client, subject).await;
    };
    let service = release.service.as_str();
    let version = release.version.to_string();
    match client.release_plan(service, &version).await {
        Ok(plan) => Ok(plan),
        Err(error) if error.problem().is_some_and(|p| p.status == 404) => client
            .create_plan(service, &version, &NewPlan::default())
            .await
            .with_context(|| format!("cannot make the plan of {release}")),
        Err(error) => Err(error).with_context(|| format!("cannot read the plan of {release}")),
    }
}

fn print_task(format: OutputFormat, verb: &str, task: &Task) -> Result<()> {
    match format {
        OutputFormat::Json => output::json(task)?,
        OutputFormat::Table => writeln!(
            output::stdout(),
            "{GOOD}{verb} task {}{GOOD:#}: {} (now {}).",
            task.id,
            task.title,
            task.state
        )?,
    }
    Ok(())
}

fn print_plan(plan: &Plan) -> Result<()> {
    let mut out = output::stdout();
    let of = plan
        .release
        .clone()
        .or_else(|| plan.train.as_ref().map(|train| format!("train {train}")))
        .unwrap_or_default();
    writeln!(out, "plan       {} of {of}", plan.id)?;
    writeln!(out, "owner      {}", plan.owner)?;
    writeln!(
        out,
        "go-live    {}",
        plan.go_live.map_or_else(
            || "not set (ferry plan set … --go-live DATE)".to_owned(),
            |d| output::minute(&d)
        )
    )?;
    if let Some(template) = &plan.template {
        writeln!(out, "template   {template}")?;
    }
    if plan.overdue > 0 {
        writeln!(out, "overdue    {}", plan.overdue)?;
    }
    drop(out);
    let when = |due: Option<DateTime<Utc>>, overdue: bool| -> String {
        let date = due.map_or_else(|| "—".to_owned(), |d| output::minute(&d));
        if overdue {
            format!("{date} OVERDUE")
        } else {
            date
        }
    };
    if !plan.milestones.is_empty() {
        writeln!(output::stdout(), "\nMilestones")?;
        output::table(
            &["ID", "MILESTONE", "DUE", "REACHED"],
            plan.milestones.iter().map(|m| {
                vec![
                    m.id.to_string(),
                    m.name.clone(),
                    when(m.due, m.overdue),
                    match (&m.done_at, &m.done_by) {
                        (Some(at), Some(by)) => format!("{} by {by}", output::minute(at)),
                        _ => "no".to_owned(),
                    },
                ]
            }),
        )?;
    }
    if !plan.tasks.is_empty() {
        writeln!(output::stdout(), "\nTasks")?;
        output::table(
            &["ID", "TASK", "ASSIGNEE", "DUE", "STATE", "BEFORE"],
            plan.tasks.iter().map(|t| {
                vec![
                    t.id.to_string(),
                    t.title.clone(),
                    t.assignee.clone().unwrap_or_default(),
                    when(t.due, t.overdue),
                    match &t.reason {
                        Some(reason) => format!("{} ({reason})", t.state),
                        None => t.state.to_string(),
                    },
                    t.required_before
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                ]
            }),
        )?;
    }
    Ok(())
}
