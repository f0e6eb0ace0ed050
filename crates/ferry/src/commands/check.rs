//! `ferry check SERVICE@VERSION --to ENV`: every gate of a promotion, each
//! blocker with why and what would clear it, the warnings, and the risk
//! factor by factor.
//!
//! A blocked promotion is the answer to the question asked, printed to
//! stdout, but scripts must be able to stop on it: the exit code is 3 (also
//! with `--output json`), as for a promotion a gate refuses.

use std::io::{self, Write};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use ferry_api::{Finding, RiskAssessment, RiskLevel};
use ferry_core::{Name, ReleaseRef};

use crate::cli::{ClientArgs, OutputFormat};
use crate::output::{self, BAD, CHANGE, DIM, GOOD};
use crate::profile;

/// `ferry check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The release, such as api@1.4.0.
    #[arg(value_name = "SERVICE@VERSION", required_unless_present = "train")]
    pub release: Option<ReleaseRef>,
    /// Check every member of this train instead, and list each member's
    /// blockers.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["release", "emergency"])]
    pub train: Option<Name>,
    /// The environment it would enter.
    #[arg(long, value_name = "ENV")]
    pub to: Name,
    /// Judge it as an emergency promotion (windows and freezes do not block
    /// it); needs --reason.
    #[arg(long, requires = "reason")]
    pub emergency: bool,
    /// The written justification of the emergency.
    #[arg(long, value_name = "TEXT", requires = "emergency")]
    pub reason: Option<String>,
    /// Server, token, output.
    #[command(flatten)]
    pub client: ClientArgs,
}

/// The exit code of a promotion a gate refuses (the README's exit codes).
pub const BLOCKED: u8 = 3;

/// Runs `ferry check`.
pub async fn run(args: CheckArgs) -> Result<ExitCode> {
    let client = profile::resolve(&args.client)?.client()?;
    if let Some(train) = &args.train {
        return check_train(&client, train, &args).await;
    }
    let Some(release) = &args.release else {
        anyhow::bail!("name the release to check (SERVICE@VERSION), or --train NAME");
    };
    let reason = if args.emergency {
        args.reason.as_deref()
    } else {
        None
    };
    let check = client
        .check(
            release.service.as_str(),
            &release.version.to_string(),
            args.to.as_str(),
            reason,
        )
        .await
        .with_context(|| format!("cannot check {release} for {}", args.to))?;
    match args.client.output {
        OutputFormat::Json => output::json(&check)?,
        OutputFormat::Table => {
            let mut out = output::stdout();
            let subject = format!("{}@{}", check.service, check.version);
            if check.verdict.allowed {
                writeln!(
                    out,
                    "{GOOD}{subject} may enter {}.{GOOD:#}",
                    check.environment
                )?;
            } else {
                writeln!(
                    out,
                    "{BAD}{subject} may not enter {}:{BAD:#}",
                    check.environment
                )?;
            }
            write_findings(&mut out, &check.verdict.blockers, &check.verdict.warnings)?;
            write_risk(&mut out, &check.verdict.risk)?;
            out.flush()?;
        }
    }
    Ok(if check.verdict.allowed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(BLOCKED)
    })
}

/// `ferry check --train NAME --to ENV`: every member's verdict.
async fn check_train(
    client: &ferry_client::Client,
    train: &Name,
    args: &CheckArgs,
) -> Result<ExitCode> {
    let check = client
        .check_train(train.as_str(), args.to.as_str())
        .await
        .with_context(|| format!("cannot check train {train} for {}", args.to))?;
    match args.client.output {
        OutputFormat::Json => output::json(&check)?,
        OutputFormat::Table => {
            let mut out = output::stdout();
            if check.allowed {
                writeln!(
                    out,
                    "{GOOD}Train {train} may enter {}.{GOOD:#}",
                    check.environment
                )?;
            } else {
                writeln!(
                    out,
                    "{BAD}Train {train} may not enter {}:{BAD:#}",
                    check.environment
                )?;
            }
            for member in &check.members {
                let verdict = if member.verdict.allowed {
                    format!("{GOOD}may enter{GOOD:#}")
                } else {
                    format!("{BAD}blocked{BAD:#}")
                };
                writeln!(out, "{}: {verdict}", member.release)?;
                write_findings(&mut out, &member.verdict.blockers, &member.verdict.warnings)?;
            }
            out.flush()?;
        }
    }
    Ok(if check.allowed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(BLOCKED)
    })
}

/// Each blocker as `✗ code: message` with `→ clear` under it, then each
/// warning as `! code: message`. `ferry promote` prints a refusal the same way.
pub fn write_findings(
    out: &mut impl Write,
    blockers: &[Finding],
    warnings: &[Finding],
) -> io::Result<()> {
    for blocker in blockers {
        writeln!(out, "  {BAD}✗{BAD:#} {}: {}", blocker.code, blocker.message)?;
        if !blocker.clear.is_empty() {
            writeln!(out, "    {DIM}→{DIM:#} {}", blocker.clear)?;
        }
    }
    for warning in warnings {
        writeln!(
            out,
            "  {CHANGE}!{CHANGE:#} {}: {}",
            warning.code, warning.message
        )?;
    }
    Ok(())
}

/// `risk: 42 (medium)` and one line per factor, `+15 change-size: …`.
fn write_risk(out: &mut impl Write, risk: &RiskAssessment) -> io::Result<()> {
    let style = match risk.level {
        RiskLevel::Low => GOOD,
        RiskLevel::Medium => CHANGE,
        RiskLevel::High | RiskLevel::Critical => BAD,
    };
    writeln!(
        out,
        "risk: {} ({style}{}{style:#})",
        risk.score,
        risk.level.as_str()
    )?;
    for factor in &risk.factors {
        writeln!(
            out,
            "  +{} {}: {}",
            factor.points, factor.code, factor.description
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_api::RiskFactor;

    fn finding(code: &str, message: &str, clear: &str) -> Finding {
        Finding {
            code: code.into(),
            message: message.into(),
            clear: clear.into(),
        }
    }

    #[test]
    fn blockers_say_how_to_clear_them_and_the_risk_its_factors() {
        let mut text = Vec::new();
        write_findings(
            &mut text,
            &[finding(
                "approvals-missing",
                "1 of 2 approvals",
                "ferry approve api@1.0.0 --env prod",
            )],
            &[finding("high-risk", "the risk is high", "")],
        )
        .unwrap();
        write_risk(
            &mut text,
            &RiskAssessment {
                score: 42,
                level: RiskLevel::Medium,
                factors: vec![RiskFactor {
                    code: "change-size".into(),
                    description: "12 commits in the change".into(),
                    points: 15,
                }],
            },
        )
        .unwrap();
        let text = anstream::adapter::strip_str(&String::from_utf8(text).unwrap()).to_string();
        assert_eq!(
            text,
            "  ✗ approvals-missing: 1 of 2 approvals\n    → ferry approve api@1.0.0 --env prod\n  \
             ! high-risk: the risk is high\nrisk: 42 (medium)\n  +15 change-size: 12 commits in the change\n"
        );
    }
}
