//! `ferry status`: the environment × service matrix, one row per service and
//! one column per environment, in the order the server gives them.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use ferry_api::{Cell, DeploymentStatus, Status};

use crate::cli::{ClientArgs, OutputFormat};
use crate::{output, profile};

/// Prints the status matrix.
pub async fn run(args: ClientArgs) -> Result<ExitCode> {
    let client = profile::resolve(&args)?.client()?;
    let status = client.status().await?;
    match args.output {
        OutputFormat::Json => output::json(&status)?,
        OutputFormat::Table => {
            print_matrix(&status)?;
            print_trains(&client).await?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Each train with its members together, and where its latest run went.
async fn print_trains(client: &ferry_client::Client) -> Result<()> {
    let trains = client.trains().await?;
    if trains.items.is_empty() {
        return Ok(());
    }
    writeln!(output::stdout(), "\nTrains")?;
    let mut rows = Vec::with_capacity(trains.items.len());
    for train in &trains.items {
        let shown = client.train(train.name.as_str()).await?;
        let latest = shown.runs.first().map_or_else(
            || "not promoted yet".to_owned(),
            |run| format!("{}: {}", run.environment, run.status.as_str()),
        );
        rows.push(vec![
            train.name.to_string(),
            train.members.join(" → "),
            latest,
        ]);
    }
    output::table(&["TRAIN", "MEMBERS", "LATEST RUN"], rows)?;
    Ok(())
}

fn print_matrix(status: &Status) -> std::io::Result<()> {
    if status.services.is_empty() {
        let mut out = output::stdout();
        writeln!(
            out,
            "No services yet: describe them in ferry.toml and run `ferry apply`."
        )?;
        return Ok(());
    }
    let mut headers = vec!["SERVICE"];
    headers.extend(status.environments.iter().map(|e| e.name.as_str()));
    let rows = status.services.iter().map(|service| {
        let mut row = vec![service.clone()];
        row.extend(status.environments.iter().map(|environment| {
            status
                .cells
                .iter()
                .find(|c| {
                    c.service.as_str() == service && c.environment.as_str() == environment.name
                })
                .map_or_else(|| "-".to_owned(), cell_text)
        }));
        row
    });
    output::table(&headers, rows)
}

/// `1.2.0`; `1.2.0 (→1.3.0 running)` while another is under way;
/// `1.2.0 (1.3.0 failed)` when the newest did not succeed; `-` for nothing.
fn cell_text(cell: &Cell) -> String {
    let current = cell.current.as_ref().map(|c| c.version.as_str());
    let latest = cell.latest.as_ref().map(|latest| {
        if in_progress(latest.status) {
            format!("(→{} {})", latest.version, latest.status)
        } else {
            format!("({} {})", latest.version, latest.status)
        }
    });
    match (current, latest) {
        (None, None) => "-".to_owned(),
        (Some(current), None) => current.to_owned(),
        (None, Some(latest)) => format!("- {latest}"),
        (Some(current), Some(latest)) => format!("{current} {latest}"),
    }
}

fn in_progress(status: DeploymentStatus) -> bool {
    !status.is_finished()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::Name;
    use ferry_core::status::CellDeployment;

    fn deployment(version: &str, status: DeploymentStatus) -> Option<CellDeployment> {
        Some(CellDeployment {
            version: version.into(),
            status,
            deployment_id: 1,
            at: String::new(),
        })
    }

    fn cell(current: Option<CellDeployment>, latest: Option<CellDeployment>) -> Cell {
        let name = |s| Name::parse(s).unwrap();
        Cell {
            service: name("api"),
            environment: name("prod"),
            current,
            latest,
        }
    }

    #[test]
    fn cells_show_the_current_version_and_what_followed() {
        use DeploymentStatus::*;
        assert_eq!(cell_text(&cell(None, None)), "-");
        assert_eq!(
            cell_text(&cell(deployment("1.2.0", Succeeded), None)),
            "1.2.0"
        );
        assert_eq!(
            cell_text(&cell(
                deployment("1.2.0", Succeeded),
                deployment("1.3.0", Running)
            )),
            "1.2.0 (→1.3.0 running)"
        );
        assert_eq!(
            cell_text(&cell(
                deployment("1.2.0", Succeeded),
                deployment("1.3.0", Failed)
            )),
            "1.2.0 (1.3.0 failed)"
        );
        assert_eq!(
            cell_text(&cell(None, deployment("1.0.0", Queued))),
            "- (→1.0.0 queued)"
        );
    }
}
