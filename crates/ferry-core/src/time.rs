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

/// How far ahead a promotion or a change may be scheduled.
pub const SCHEDULE_HORIZON_DAYS: i64 = 366;

/// How far in the past a time "for now" may lie: clocks of clients and the
/// server differ a little.
pub const CLOCK_SKEW_MINUTES: i64 = 5;

/// Checks a time something is scheduled for, seen at `now`: not in the past
/// (beyond a little clock skew) and at most a year ahead. `what` names it
/// for the message.
pub fn check_schedule(what: &str, at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), String> {
    if at < now - chrono::Duration::minutes(CLOCK_SKEW_MINUTES) {
        return Err(format!(
            "{what} {} is in the past (now is {}); give a time to come, or none for now",
            format_time(at),
            format_time(now)
        ));
    }
    if at > now + chrono::Duration::days(SCHEDULE_HORIZON_DAYS) {
        return Err(format!(
            "{what} {} is more than {SCHEDULE_HORIZON_DAYS} days ahead; give a time within a year",
            format_time(at)
        ));
    }
    Ok(())
}

/// A span of time for people, to its two largest units: `45s`, `3m 20s`,
/// `2h 5m`, `3d 4h`.
pub fn span(duration: chrono::Duration) -> String {
    let seconds = duration.num_seconds().max(0);
    let (days, hours, minutes, rest) = (
        seconds / 86_400,
        seconds % 86_400 / 3_600,
        seconds % 3_600 / 60,
        seconds % 60,
    );
    if days > 0 {
        format!("{days}d {hours}h")
    } else if hours > 0 {
        format!("{hours}h {minutes}m")
    } else if minutes > 0 {
        format!("{minutes}m {rest}s")
    } else {
        format!("{rest}s")
    }
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

    #[test]
    fn schedules_lie_between_now_and_a_year_ahead() {
        let now = Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap();
        assert!(check_schedule("--at", now + chrono::Duration::days(30), now).is_ok());
        assert!(check_schedule("--at", now - chrono::Duration::minutes(1), now).is_ok());
        let epoch = Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap();
        let error = check_schedule("--at", epoch, now).unwrap_err();
        assert!(
            error.contains("1970-01-01") && error.contains("in the past"),
            "{error}"
        );
        let far = Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap();
        assert!(
            check_schedule("--at", far, now)
                .unwrap_err()
                .contains("366 days")
        );
    }
}
