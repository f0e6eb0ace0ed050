//! One module per command group; each turns parsed arguments into API calls
//! and prints the answer as a table or as the API's JSON.

pub mod admin;
pub mod agent;
pub mod apply;
pub mod audit;
pub mod backup;
pub mod calendar;
pub mod change;
pub mod changelog;
pub mod check;
pub mod completions;
pub mod decide;
pub mod deploy;
pub mod diff;
pub mod evidence;
pub mod evidence_pack;
pub mod follow;
pub mod freeze;
pub mod group;
pub mod lock;
pub mod login;
pub mod metrics;
pub mod plan;
pub mod promote;
pub mod release;
pub mod review;
pub mod role;
pub mod rollback;
pub mod sample_app;
pub mod serve;
pub mod status;
pub mod token;
pub mod train;
pub mod user;
pub mod var;
pub mod webhook;

use std::process::ExitCode;

use anyhow::Result;

use crate::cli::Command;

/// Runs a command that talks to a server.
pub async fn run_client(command: Command) -> Result<ExitCode> {
    match command {
        Command::Login(args) => login::login(args).await,
        Command::Whoami(args) => login::whoami(args).await,
        Command::Apply(args) => apply::run(args).await,
        Command::Status(args) => status::run(args).await,
        Command::Release(args) => release::run(args).await,
        Command::Diff(args) => diff::run(args).await,
        Command::Audit(args) => audit::run(args).await,
        Command::EvidencePack(args) => evidence_pack::run(args).await,
        Command::Token(args) => token::run(args).await,
        Command::Agent(args) => agent::run(args).await,
        Command::User(args) => user::run(args).await,
        Command::Role(args) => role::run(args).await,
        Command::Group(args) => group::run(args).await,
        Command::Check(args) => check::run(args).await,
        Command::Promote(args) => promote::run(args).await,
        Command::Approve(args) => decide::run(args, true).await,
        Command::Reject(args) => decide::run(args, false).await,
        Command::Evidence(args) => evidence::run(args).await,
        Command::Deploy(args) => deploy::run(args).await,
        Command::Rollback(args) => rollback::run(args).await,
        Command::Change(args) => change::run(args).await,
        Command::Freeze(args) => freeze::run(args).await,
        Command::Plan(args) => plan::run(args).await,
        Command::Metrics(args) => metrics::metrics(args).await,
        Command::Incident(args) => metrics::incident(args).await,
        Command::Review(args) => review::run(args).await,
        Command::Train(args) => train::run(args).await,
        Command::Lock(args) => lock::lock(args).await,
        Command::Webhook(args) => webhook::webhook(args).await,
        Command::Unlock(args) => lock::unlock(args).await,
        Command::Calendar(args) => calendar::run(args).await,
        Command::Var(args) => var::run(args).await,
        Command::Serve(_)
        | Command::Admin(_)
        | Command::Completions(_)
        | Command::Changelog(_)
        | Command::SampleApp(_) => {
            unreachable!("main runs the commands that need no server itself")
        }
    }
}
