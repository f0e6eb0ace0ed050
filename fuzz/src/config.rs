//! `ferry.toml`: [`ferry_core::config::parse`], the error it reports, and the
//! configuration `ferry apply` sends on.

use ferry_core::config::{self, Config, ConfigError};

/// Reads `data` as a `ferry.toml` file (invalid UTF-8 replaced).
///
/// Promises checked: a file that parses is valid ([`Config::validate`]), and
/// survives the trip to the server (JSON, as `ferry apply` sends it) unchanged
/// and still valid; an error has a message, a place inside the file (1-based
/// line and column) and renders as `ferry.toml:LINE:COLUMN: message`.
pub fn config(data: &[u8]) {
    let source = String::from_utf8_lossy(data);
    match config::parse(&source) {
        Ok(parsed) => accepted(&parsed),
        Err(error) => refused(&error, &source),
    }
}

fn accepted(parsed: &Config) {
    if let Err(invalid) = parsed.validate() {
        panic!("a parsed configuration is invalid: {invalid}");
    }
    let json = serde_json::to_string(parsed).expect("a configuration serializes to JSON");
    let sent: Config = serde_json::from_str(&json)
        .unwrap_or_else(|error| panic!("the server cannot read {json}: {error}"));
    assert_eq!(
        &sent, parsed,
        "the configuration changed on its way: {json}"
    );
    if let Err(invalid) = sent.validate() {
        panic!("the server refuses what the CLI accepted: {invalid}");
    }
}

fn refused(error: &ConfigError, source: &str) {
    assert!(
        !error.message.trim().is_empty(),
        "an error without a message"
    );
    let rendered = error.render("ferry.toml", source);
    match error.line_column(source) {
        Some((line, column)) => {
            let lines = source.matches('\n').count() + 1;
            assert!(
                (1..=lines).contains(&line) && column >= 1,
                "{line}:{column} is outside the file ({lines} lines)"
            );
            let place = format!("ferry.toml:{line}:{column}: ");
            assert!(rendered.starts_with(&place), "{rendered}");
        }
        None => assert!(rendered.starts_with("ferry.toml: "), "{rendered}"),
    }
}
