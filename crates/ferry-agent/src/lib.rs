//! The ferry agent: what runs on a target machine and carries out the
//! deployment steps of a release there.
//!
//! Rules it keeps:
//! - a step runs as `sh -c RUN` in the release's own working directory, with
//!   the environment it is given, in a process group of its own, so a timeout
//!   stops the step and everything it started;
//! - every line a step prints is handed on as it comes, with its time and
//!   stream, and with every secret value masked before it leaves the agent;
//! - an outcome is an exit code, or the fact that the step timed out or
//!   could not start: never a panic.

pub mod executor;
pub mod health;
pub mod mask;
pub mod pull;
pub mod ship;
