//! `ferry completions SHELL`: a completion script generated from the one clap
//! definition, so it never falls behind the commands.

use std::io::Write;

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};

/// Prints the completion script for the shell asked for.
pub fn run(args: &CompletionsArgs) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut Cli::command(), "ferry", &mut out);
    out.flush()
}
