//! How ferry writes instants: RFC 3339 in UTC with microseconds and a `Z`.
//!
//! One fixed width means stored times sort as text the way they sort in time,
//! on every backend, and the audit chain hashes exactly the stored bytes.

use chrono::{DateTime, SecondsFormat, Utc};

/// Writes `instant` in ferry's one format, such as `2026-11-22T04:08:53.123456Z`.
pub fn format_time(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Reads an instant written by [`format_time`] (or any RFC 3339 time).
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|error| format!("{text:?} is not an RFC 3339 time ({error})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn fixed_width_and_round_trip() {
        let instant = Utc.with_ymd_and_hms(2026, 11, 22, 4, 8, 53).unwrap();
        let text = format_time(instant);
        assert_eq!(text, "2026-11-22T04:08:53.000000Z");
        assert_eq!(parse_time(&text), Ok(instant));
        assert!(parse_time("yesterday").unwrap_err().contains("RFC 3339"));
    }
}
