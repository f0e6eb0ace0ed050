//! Value parsers shared by the arguments of several commands.

use chrono::{DateTime, Utc};

/// Reads an RFC 3339 time, such as 2026-12-01T09:00:00Z.
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|time| time.with_timezone(&Utc))
        .map_err(|error| format!("{error}; expected an RFC 3339 time such as 2026-12-01T09:00:00Z"))
}

/// Reads a date (`2027-03-01`, midnight UTC) or an RFC 3339 time.
pub fn parse_date_or_time(text: &str) -> Result<DateTime<Utc>, String> {
    let text = text.trim();
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    DateTime::parse_from_rfc3339(text)
        .map(|time| time.with_timezone(&Utc))
        .map_err(|_| {
            format!("{text:?} is not a date or a time; expected a date such as 2027-03-01 or an RFC 3339 time such as 2027-03-01T09:00:00Z")
        })
}

/// The forms [`parse_lifetime`] accepts, for its error.
const LIFETIME_FORMS: &str = "expected a whole number followed by m (minutes), h (hours), \
     d (days) or w (weeks), such as 30m, 12h, 90d or 2w";

/// Reads how long something lasts: `30m`, `12h`, `90d`, `2w`.
pub fn parse_lifetime(text: &str) -> Result<chrono::Duration, String> {
    let text = text.trim();
    let invalid = || format!("{text:?} is not a duration; {LIFETIME_FORMS}");
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let number: i64 = number.parse().map_err(|_| invalid())?;
    if number == 0 {
        return Err(format!("{text:?} is no time at all; {LIFETIME_FORMS}"));
    }
    let lifetime = match unit {
        "m" => chrono::Duration::try_minutes(number),
        "h" => chrono::Duration::try_hours(number),
        "d" => chrono::Duration::try_days(number),
        "w" => chrono::Duration::try_weeks(number),
        _ => return Err(invalid()),
    };
    lifetime.ok_or_else(|| format!("{text:?} is too long; {LIFETIME_FORMS}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_are_a_number_and_a_unit() {
        assert_eq!(parse_lifetime("30m"), Ok(chrono::Duration::minutes(30)));
        assert_eq!(parse_lifetime("12h"), Ok(chrono::Duration::hours(12)));
        assert_eq!(parse_lifetime("90d"), Ok(chrono::Duration::days(90)));
        assert_eq!(parse_lifetime(" 2w "), Ok(chrono::Duration::weeks(2)));
        for bad in ["", "d", "90", "1.5d", "-1d", "1y", "1h30m", "90 d", "0d"] {
            let error = parse_lifetime(bad).unwrap_err();
            assert!(error.contains("30m, 12h, 90d or 2w"), "{bad:?}: {error}");
        }
        assert!(
            parse_lifetime("99999999999999w")
                .unwrap_err()
                .contains("too long")
        );
    }
}
