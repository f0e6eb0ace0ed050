//! `ferry deploy list|show|report`: deployments, and the reports of those
//! run by another tool (a CI job, another CD system) for services without
//! deployment steps.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use ferry_api::{Deployment, Page, ReportDeployment};
use ferry_client::{DeploymentQuery, all_pages};

use crate::cli::{DeployArgs, DeployCommand, OutputFormat};
use crate::{output, profile};

/// Runs one deployment command.
pub async fn run(args: DeployArgs) -> Result<ExitCode> {
    let client = profile::resolve(&args.client)?.client()?;
    let format = args.client.output;
    match args.command {
        DeployCommand::List { service, env } => {
            let service = service.map(|s| s.as_str().to_owned());
            let environment = env.map(|e| e.as_str().to_owned());
            let deployments = all_pages(|page| {
                let query = DeploymentQuery {
                    service: service.clone(),
                    environment: environment.clone(),
                    limit: page.limit,
                    cursor: page.cursor,
                };
                let client = &client;
                async move { client.deployments(&query).await }
            })
            .await?;
            match format {
                OutputFormat::Json => output::json(&Page {
                    items: deployments,
                    next_cursor: None,
                })?,
                OutputFormat::Table => print_list(&deployments)?,
            }
        }
        DeployCommand::Show { id } => {
            let deployment = client
                .deployment(id)
                .await
                .with_context(|| format!("cannot show deployment {id}"))?;
            match format {
                OutputFormat::Json => output::json(&deployment)?,
                OutputFormat::Table => print_deployment(&deployment)?,
            }
        }
        DeployCommand::Report { id, status, url } => {
            let body = ReportDeployment {
                status: status.into(),
                url,
            };
            let deployment = client.report_deployment(id, &body).await.with_context(|| {
                format!("cannot report deployment {id} {}", body.status.as_str())
            })?;
            match format {
                OutputFormat::Json => output::json(&deployment)?,
                OutputFormat::Table => writeln!(
                    output::stdout(),
                    "Deployment {} of {}@{} to {} is {}.",
                    deployment.id,
                    deployment.service,
                    deployment.version,
                    deployment.environment,
                    deployment.status.as_str()
                )?,
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_list(deployments: &[Deployment]) -> std::io::Result<()> {
    if deployments.is_empty() {
        return writeln!(
            output::stdout(),
            "No deployments yet: promote a release with `ferry promote SERVICE@VERSION --to ENV`."
        );
    }
    let rows = deployments.iter().map(|d| {
        vec![
            d.id.to_string(),
            format!("{}@{}", d.service, d.version),
            d.environment.clone(),
            d.status.as_str().to_owned(),
            output::time(&d.created_at),
            d.created_by.clone(),
        ]
    });
    output::table(
        &["ID", "RELEASE", "ENVIRONMENT", "STATUS", "CREATED", "BY"],
        rows,
    )
}

fn print_deployment(d: &Deployment) -> std::io::Result<()> {
    let mut out = output::stdout();
    writeln!(out, "deployment   {}", d.id)?;
    writeln!(out, "release      {}@{}", d.service, d.version)?;
    writeln!(out, "environment  {}", d.environment)?;
    writeln!(out, "status       {}", d.status.as_str())?;
    writeln!(
        out,
        "created      {} by {}",
        output::time(&d.created_at),
        d.created_by
    )?;
    writeln!(out, "updated      {}", output::time(&d.updated_at))?;
    if let Some(at) = &d.scheduled_at {
        writeln!(out, "not before   {}", output::time(at))?;
    }
    if let Some(reason) = &d.emergency_reason {
        writeln!(out, "emergency    {reason}")?;
    }
    if let Some(url) = &d.url {
        writeln!(out, "url          {url}")?;
    }
    out.flush()
}
