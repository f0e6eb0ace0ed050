//! Deployment windows and recurring freezes:
//! [`ferry_core::windows::Recurrence`] and [`ferry_core::windows::parse_duration`].

use chrono::{DateTime, Duration, Utc};
use ferry_core::windows::{self, Recurrence, WindowCheck};

/// What separates the fields of an input: `RULE|DURATION|ZONE|INSTANT`.
pub const SEPARATOR: char = '|';

/// The range of [`Recurrence::occurrences`] asked for, from the instant.
const RANGE_DAYS: i64 = 31;

/// The most occurrences asked for in that range.
const LIMIT: usize = 200;

/// Instants every valid recurrence is asked about (besides the first and
/// last instants there are): a day the clocks go forward in Europe, one they
/// go back in America, and the ends of the years in which occurrences are
/// computed.
const INSTANTS: [&str; 4] = [
    "2026-03-29T01:30:00Z",
    "2026-11-01T05:30:00Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:00:00Z",
];

/// Reads `data` (invalid UTF-8 replaced) as `RULE|DURATION|ZONE|INSTANT`:
/// an RRULE text (`FREQ=...`, or `DTSTART...\nRRULE:...`), a duration such
/// as `8h`, an IANA time zone (empty for none) and an RFC 3339 instant to ask
/// about (else only fixed instants are asked about). Missing fields are
/// empty.
///
/// Promises checked: every query of a valid recurrence answers (no panic,
/// no endless search); the occurrence containing an instant contains it and
/// lasts the duration; the next occurrence ends after the instant; the
/// occurrences of a range are in order, inside it and at most as many as
/// asked; a gate sees a window open exactly when an occurrence contains the
/// instant, and closed until the next one otherwise.
pub fn rrule(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut fields = text.splitn(4, SEPARATOR);
    let rule = fields.next().unwrap_or_default();
    let duration = fields.next().unwrap_or_default();
    let zone = fields.next().filter(|zone| !zone.is_empty());
    let instant = fields.next().unwrap_or_default();

    if let Ok(parsed) = windows::parse_duration(duration) {
        assert!(parsed >= Duration::zero(), "{duration:?} is {parsed}");
    }
    let recurrence = match Recurrence::new(rule, duration, zone) {
        Ok(recurrence) => recurrence,
        Err(reason) => {
            assert!(!reason.is_empty(), "an error without a reason");
            return;
        }
    };
    assert!(recurrence.duration() > Duration::zero());
    let asked = DateTime::parse_from_rfc3339(instant.trim())
        .ok()
        .map(|at| at.with_timezone(&Utc));
    let fixed = INSTANTS.iter().filter_map(|at| at.parse().ok());
    let extremes = [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC];
    for at in asked.into_iter().chain(fixed).chain(extremes) {
        query(&recurrence, at);
    }
}

fn query(recurrence: &Recurrence, at: DateTime<Utc>) {
    let duration = recurrence.duration();
    let containing = recurrence.occurrence_at(at);
    if let Some((start, end)) = containing {
        assert!(start <= at && at < end, "{start}..{end} does not hold {at}");
        assert_eq!(end - start, duration, "{start}..{end}");
    }
    let next = recurrence.current_or_next(at);
    if let Some((start, end)) = next {
        assert!(
            end > at,
            "the next occurrence {start}..{end} is over at {at}"
        );
        assert_eq!(end - start, duration, "{start}..{end}");
    }
    if containing.is_some() {
        assert!(
            next.is_some_and(|(start, _)| start <= at),
            "{at} is inside an occurrence, but the next one is {next:?}"
        );
    }
    match windows::check_windows(std::slice::from_ref(recurrence), at) {
        WindowCheck::NoWindows => panic!("a window is no window"),
        WindowCheck::Open { until } => {
            assert!(
                containing.is_some(),
                "open at {at} outside every occurrence"
            );
            assert!(until > at, "open at {at} until {until}");
        }
        WindowCheck::Closed { next_open } => {
            assert!(containing.is_none(), "closed at {at} inside {containing:?}");
            assert_eq!(next_open, next.map(|(start, _)| start), "closed at {at}");
        }
    }

    let Some(to) = at.checked_add_signed(Duration::days(RANGE_DAYS)) else {
        return;
    };
    let listed = recurrence.occurrences(at, to, LIMIT);
    assert!(listed.len() <= LIMIT, "{} occurrences listed", listed.len());
    for pair in listed.windows(2) {
        assert!(pair[0].0 < pair[1].0, "out of order: {pair:?}");
    }
    for (start, end) in &listed {
        assert!(
            *start < to && *end > at,
            "{start}..{end} is outside {at}..{to}"
        );
    }
    assert_eq!(
        listed.first().copied(),
        next.filter(|(start, _)| *start < to),
        "the first occurrence from {at} is not the next one"
    );
}
