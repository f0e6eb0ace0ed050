//! `ferry completions SHELL`: a completion script generated from the one clap
//! definition, so it never falls behind the commands.

use std::io::Write;

use clap::Args;
use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

/// `ferry completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: Shell,
}

/// Prints the completion script for the shell asked for.
pub fn run(args: &CompletionsArgs) -> std::io::Result<()> {
    // Written to memory first: clap_complete panics when its writer fails,
    // as a closed standard output (`ferry completions bash | head`) does.
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "ferry", &mut script);
    let mut out = std::io::stdout().lock();
    out.write_all(&script)?;
    out.flush()
}
