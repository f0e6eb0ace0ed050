//! How results and errors are printed.
//!
//! `--output json` prints the API's types as received, pretty-printed and
//! never coloured: that is the format scripts rely on. Tables are plain
//! aligned columns without borders, so `grep` works on them; their times are
//! written for people, in UTC and saying so ([`time`]). Colour
//! goes through anstream, which drops it when the stream is not a terminal
//! or `NO_COLOR` is set.

use std::io::{self, Write};
use std::process::ExitCode;

use anstyle::{AnsiColor, Style};
use chrono::{DateTime, Utc};
use ferry_api::Problem;
use serde::Serialize;

/// Green, for what is created or fine.
pub const GOOD: Style = AnsiColor::Green.on_default();
/// Yellow, for what changes or is under way.
pub const CHANGE: Style = AnsiColor::Yellow.on_default();
/// Bold red, for what is broken.
pub const BAD: Style = AnsiColor::Red.on_default().bold();
/// Dim, for details.
pub const DIM: Style = Style::new().dimmed();

/// Standard output, colour-aware.
pub fn stdout() -> anstream::AutoStream<io::StdoutLock<'static>> {
    anstream::AutoStream::auto(io::stdout().lock())
}

/// Prints `value` as pretty JSON with a final newline.
pub fn json<T: Serialize>(value: &T) -> io::Result<()> {
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    out.flush()
}

/// Prints `value` as one line of JSON: a record of a JSON Lines stream (a
/// log, followed or not, that a script reads line by line).
pub fn json_line<T: Serialize>(value: &T) -> io::Result<()> {
    let mut out = io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    writeln!(out)?;
    out.flush()
}

/// Prints rows under upper-case headers, in columns two spaces apart.
pub fn table<R, C>(headers: &[&str], rows: R) -> io::Result<()>
where
    R: IntoIterator<Item = Vec<C>>,
    C: Into<comfy_table::Cell>,
{
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::NOTHING);
    table.set_header(headers.to_vec());
    for row in rows {
        table.add_row(row);
    }
    let columns = headers.len();
    for (index, column) in table.column_iter_mut().enumerate() {
        let right = if index + 1 < columns { 2 } else { 0 };
        column.set_padding((0, right));
    }
    let mut out = stdout();
    writeln!(out, "{}", table.trim_fmt())?;
    out.flush()
}

/// A time as people read it: UTC to the second, with its zone, such as
/// `2026-12-04 10:15:03 UTC`. JSON output keeps the API's RFC 3339.
pub fn time(time: &DateTime<Utc>) -> String {
    for_people(time, Precision::Second)
}

/// A time to the minute, for schedules (windows, freezes, changes), such as
/// `2026-12-01 09:00 UTC`.
pub fn minute(time: &DateTime<Utc>) -> String {
    for_people(time, Precision::Minute)
}

/// A time the API sends as text (RFC 3339), as [`time`] shows it; text
/// that is not a time is shown as it is.
pub fn time_text(text: &str) -> String {
    ferry_core::time::parse_time(text).map_or_else(|_| text.to_owned(), |at| time(&at))
}

/// How finely a time is shown.
#[derive(Debug, Clone, Copy)]
enum Precision {
    Second,
    Minute,
}

/// The one place that writes times for people: always in UTC, always
/// saying so, so that a time read in a table never depends on the reader's
/// machine.
fn for_people(time: &DateTime<Utc>, precision: Precision) -> String {
    let pattern = match precision {
        Precision::Second => "%Y-%m-%d %H:%M:%S UTC",
        Precision::Minute => "%Y-%m-%d %H:%M UTC",
    };
    time.format(pattern).to_string()
}

/// Prints an error to stderr and chooses the exit code: 3 when a gate
/// refused, 1 otherwise. A closed standard output (`ferry ... | head`) is
/// the reader's choice, not an error: nothing is printed and the exit is 0.
/// A connection to the server that broke is an error like any other.
pub fn report(error: &anyhow::Error) -> ExitCode {
    if closed_stdout(error) {
        return ExitCode::SUCCESS;
    }
    let mut err = anstream::stderr();
    let _ = writeln!(err, "{BAD}error:{BAD:#} {}", message(error));
    let problem = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<ferry_client::Error>())
        .and_then(ferry_client::Error::problem);
    let Some(problem) = problem else {
        return ExitCode::FAILURE;
    };
    let mut about = format!("problem: {} (HTTP {}", problem.slug(), problem.status);
    if let Some(request_id) = &problem.request_id {
        about.push_str(&format!(", request {request_id}"));
    }
    about.push(')');
    let _ = writeln!(err, "  {DIM}{about}{DIM:#}");
    if problem.status == 401 {
        let _ = writeln!(
            err,
            "hint: this needs authentication: pass --token TOKEN, set FERRY_TOKEN, \
             or save a profile with `ferry login --server URL --token TOKEN`"
        );
    }
    ExitCode::from(exit_code(problem))
}

/// Whether `error` is a write to a closed standard output: a broken pipe
/// that did not come from the connection to the server.
fn closed_stdout(error: &anyhow::Error) -> bool {
    let from_server = error
        .chain()
        .any(|cause| cause.downcast_ref::<ferry_client::Error>().is_some());
    !from_server
        && error
            .chain()
            .filter_map(|cause| cause.downcast_ref::<io::Error>())
            .any(|io| io.kind() == io::ErrorKind::BrokenPipe)
}

/// 3 for a promotion refused by a gate (the README's exit codes), 1 otherwise.
pub fn exit_code(problem: &Problem) -> u8 {
    if problem.slug() == "gate-blocked" {
        3
    } else {
        1
    }
}

/// The error's message: each context layer, down to and including the client
/// error, whose message already holds its root cause (the layers under it
/// would repeat it in other words).
fn message(error: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in error.chain() {
        parts.push(cause.to_string());
        if cause.downcast_ref::<ferry_client::Error>().is_some() {
            break;
        }
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(slug: &str, status: u16) -> Problem {
        Problem {
            kind: format!("{}{slug}", ferry_api::PROBLEM_TYPE_PREFIX),
            title: slug.into(),
            status,
            detail: "refused".into(),
            request_id: None,
            blockers: Vec::new(),
        }
    }

    #[test]
    fn gate_refusals_exit_3_and_other_problems_1() {
        assert_eq!(exit_code(&problem("gate-blocked", 409)), 3);
        assert_eq!(exit_code(&problem("gate-blocked", 403)), 3);
        assert_eq!(exit_code(&problem("conflict", 409)), 1);
        assert_eq!(exit_code(&problem("unauthorized", 401)), 1);
    }

    #[test]
    fn times_for_people_say_their_zone() {
        let at = DateTime::parse_from_rfc3339("2026-12-04T11:15:03.250+01:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(time(&at), "2026-12-04 10:15:03 UTC");
        assert_eq!(minute(&at), "2026-12-04 10:15 UTC");
        assert_eq!(
            time_text("2026-12-04T10:15:03.123456Z"),
            "2026-12-04 10:15:03 UTC"
        );
        assert_eq!(time_text("not a time"), "not a time");
    }

    #[test]
    fn only_a_closed_standard_output_is_quiet() {
        let closed = anyhow::Error::from(io::Error::from(io::ErrorKind::BrokenPipe))
            .context("cannot print the releases");
        assert!(closed_stdout(&closed));
        let refused = anyhow::Error::from(ferry_client::Error::Api(Box::new(problem(
            "insufficient-storage",
            507,
        ))));
        assert!(!closed_stdout(&refused));
        assert_eq!(report(&refused), ExitCode::FAILURE);
    }

    #[test]
    fn messages_stop_at_the_client_error() {
        let error =
            anyhow::Error::from(ferry_client::Error::Api(Box::new(problem("conflict", 409))))
                .context("cannot create api@1.0.0");
        assert_eq!(message(&error), "cannot create api@1.0.0: refused");
    }
}
