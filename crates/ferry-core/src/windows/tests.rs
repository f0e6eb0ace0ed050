//! The tests of `windows`.

use super::*;

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
}

fn window(rule: &str, duration: &str, zone: Option<&str>) -> Recurrence {
    Recurrence::new(rule, duration, zone).unwrap()
}

fn starts(recurrence: &Recurrence, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    recurrence
        .occurrences(from, to, 100)
        .into_iter()
        .map(|(start, _)| start)
        .collect()
}

#[test]
fn durations_parse_in_the_documented_form() {
    let minutes = Duration::minutes;
    let good = [
        ("8h", minutes(8 * 60)),
        ("90m", minutes(90)),
        ("1h30m", minutes(90)),
        ("2d", minutes(2 * 24 * 60)),
        ("45s", Duration::seconds(45)),
        ("1d12h", minutes(36 * 60)),
        ("66h", minutes(66 * 60)),
        ("1d2h3m4s", Duration::seconds(93_784)),
        (" 8h ", minutes(8 * 60)),
        ("0s", Duration::zero()),
    ];
    for (text, expected) in good {
        assert_eq!(parse_duration(text), Ok(expected), "{text:?}");
    }
    let bad = [
        "",
        "h",
        "8",
        "8x",
        "8H",
        "1m1h",
        "1h1h",
        "-1h",
        "1.5h",
        "8 h",
        "1h 30m",
        "PT8H",
        "99999999999999999999d",
        "9999999999999999d",
    ];
    for text in bad {
        let error = parse_duration(text).unwrap_err();
        assert!(
            error.contains(&format!("{text:?}")) && error.contains("1h30m"),
            "{text:?}: {error}"
        );
    }
}

#[test]
fn weekly_window_is_open_inside_and_closed_outside() {
    let windows = [window(
        "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH;BYHOUR=9",
        "8h",
        Some("Europe/Berlin"),
    )];
    // Monday 1 June 2026: 09:00-17:00 CEST is 07:00-15:00 UTC.
    let open = WindowCheck::Open {
        until: utc(2026, 6, 1, 15, 0, 0),
    };
    assert_eq!(check_windows(&windows, utc(2026, 6, 1, 7, 0, 0)), open);
    assert_eq!(check_windows(&windows, utc(2026, 6, 1, 14, 59, 59)), open);
    assert_eq!(
        check_windows(&windows, utc(2026, 6, 1, 6, 59, 59)),
        WindowCheck::Closed {
            next_open: Some(utc(2026, 6, 1, 7, 0, 0))
        }
    );
    assert_eq!(
        check_windows(&windows, utc(2026, 6, 1, 15, 0, 0)),
        WindowCheck::Closed {
            next_open: Some(utc(2026, 6, 2, 7, 0, 0))
        }
    );
    // Thursday evening and Friday wait for Monday.
    let monday = WindowCheck::Closed {
        next_open: Some(utc(2026, 6, 8, 7, 0, 0)),
    };
    assert_eq!(check_windows(&windows, utc(2026, 6, 4, 15, 0, 0)), monday);
    assert_eq!(check_windows(&windows, utc(2026, 6, 5, 10, 0, 0)), monday);
    // In winter the same local hours are an hour later in UTC.
    assert_eq!(
        check_windows(&windows, utc(2026, 12, 7, 8, 0, 0)),
        WindowCheck::Open {
            until: utc(2026, 12, 7, 16, 0, 0)
        }
    );
    assert_eq!(
        check_windows(&windows, utc(2026, 12, 7, 7, 59, 59)),
        WindowCheck::Closed {
            next_open: Some(utc(2026, 12, 7, 8, 0, 0))
        }
    );
    assert_eq!(
        check_windows(&[], utc(2026, 6, 1, 0, 0, 0)),
        WindowCheck::NoWindows
    );
}

#[test]
fn windows_that_touch_or_overlap_form_one_span() {
    let morning = window("FREQ=WEEKLY;BYDAY=MO;BYHOUR=9", "4h", None);
    let afternoon = window("FREQ=WEEKLY;BYDAY=MO;BYHOUR=13", "4h", None);
    let late = window("FREQ=WEEKLY;BYDAY=MO;BYHOUR=16", "3h", None);
    assert_eq!(
        check_windows(&[morning, afternoon, late], utc(2026, 6, 1, 10, 0, 0)),
        WindowCheck::Open {
            until: utc(2026, 6, 1, 19, 0, 0)
        }
    );
    // Every window open at `at` counts, however far past the 24-hour
    // look-ahead it ends: New York's Friday 15:00 (20:00 UTC) plus 66
    // hours, across the switch to EDT, outlasts Berlin's.
    let friday = |zone| window("FREQ=WEEKLY;BYDAY=FR;BYHOUR=15", "66h", Some(zone));
    assert_eq!(
        check_windows(
            &[friday("Europe/Berlin"), friday("America/New_York")],
            utc(2026, 3, 6, 20, 0, 0)
        ),
        WindowCheck::Open {
            until: utc(2026, 3, 9, 14, 0, 0)
        }
    );
    // Daily 36h windows overlap: the latest-starting one is reported.
    let long = window("FREQ=DAILY;BYHOUR=9", "36h", None);
    assert_eq!(
        long.occurrence_at(utc(2026, 6, 2, 10, 0, 0)),
        Some((utc(2026, 6, 2, 9, 0, 0), utc(2026, 6, 3, 21, 0, 0)))
    );
    assert_eq!(
        long.current_or_next(utc(2026, 6, 2, 10, 0, 0)),
        Some((utc(2026, 6, 1, 9, 0, 0), utc(2026, 6, 2, 21, 0, 0)))
    );
    // A window that never closes is followed 24 hours ahead: the one
    // open then closes on the 3rd.
    assert_eq!(
        check_windows(&[long], utc(2026, 6, 2, 10, 0, 0)),
        WindowCheck::Open {
            until: utc(2026, 6, 3, 21, 0, 0)
        }
    );
}

#[test]
fn daily_window_follows_berlin_local_time_across_the_2026_changes() {
    let daily = window("FREQ=DAILY;BYHOUR=9", "8h", Some("Europe/Berlin"));
    let spring = daily.occurrences(utc(2026, 3, 27, 0, 0, 0), utc(2026, 3, 31, 0, 0, 0), 10);
    assert_eq!(
        spring,
        [
            (utc(2026, 3, 27, 8, 0, 0), utc(2026, 3, 27, 16, 0, 0)),
            (utc(2026, 3, 28, 8, 0, 0), utc(2026, 3, 28, 16, 0, 0)),
            (utc(2026, 3, 29, 7, 0, 0), utc(2026, 3, 29, 15, 0, 0)),
            (utc(2026, 3, 30, 7, 0, 0), utc(2026, 3, 30, 15, 0, 0)),
        ]
    );
    let autumn = daily.occurrences(utc(2026, 10, 23, 0, 0, 0), utc(2026, 10, 27, 0, 0, 0), 10);
    assert_eq!(
        autumn,
        [
            (utc(2026, 10, 23, 7, 0, 0), utc(2026, 10, 23, 15, 0, 0)),
            (utc(2026, 10, 24, 7, 0, 0), utc(2026, 10, 24, 15, 0, 0)),
            (utc(2026, 10, 25, 8, 0, 0), utc(2026, 10, 25, 16, 0, 0)),
            (utc(2026, 10, 26, 8, 0, 0), utc(2026, 10, 26, 16, 0, 0)),
        ]
    );
    // A window spanning the change lasts 8 real hours: midnight to 09:00
    // CEST in spring, midnight to 07:00 CET in autumn.
    let night = window("FREQ=DAILY", "8h", Some("Europe/Berlin"));
    assert_eq!(
        night.occurrence_at(utc(2026, 3, 29, 1, 0, 0)),
        Some((utc(2026, 3, 28, 23, 0, 0), utc(2026, 3, 29, 7, 0, 0)))
    );
    assert_eq!(
        night.occurrence_at(utc(2026, 10, 25, 1, 0, 0)),
        Some((utc(2026, 10, 24, 22, 0, 0), utc(2026, 10, 25, 6, 0, 0)))
    );
}

#[test]
fn missing_local_times_move_past_the_gap_and_repeated_ones_take_the_first() {
    let early = window(
        "FREQ=DAILY;BYHOUR=2;BYMINUTE=30",
        "1h",
        Some("Europe/Berlin"),
    );
    // 02:30 on 29 March does not exist: it is read as 03:30 CEST.
    assert_eq!(
        starts(&early, utc(2026, 3, 28, 0, 0, 0), utc(2026, 3, 31, 0, 0, 0)),
        [
            utc(2026, 3, 28, 1, 30, 0),
            utc(2026, 3, 29, 1, 30, 0),
            utc(2026, 3, 30, 0, 30, 0),
        ]
    );
    // 02:30 on 25 October happens twice: the first, in CEST.
    assert_eq!(
        starts(
            &early,
            utc(2026, 10, 24, 0, 0, 0),
            utc(2026, 10, 27, 0, 0, 0)
        ),
        [
            utc(2026, 10, 24, 0, 30, 0),
            utc(2026, 10, 25, 0, 30, 0),
            utc(2026, 10, 26, 1, 30, 0),
        ]
    );
    // Starts in the gap land on later ones: each instant once, in order.
    let half_hourly = window(
        "FREQ=DAILY;BYHOUR=2,3;BYMINUTE=0,30",
        "10m",
        Some("Europe/Berlin"),
    );
    assert_eq!(
        starts(
            &half_hourly,
            utc(2026, 3, 29, 0, 0, 0),
            utc(2026, 3, 29, 12, 0, 0)
        ),
        [utc(2026, 3, 29, 1, 0, 0), utc(2026, 3, 29, 1, 30, 0)]
    );
    assert_eq!(
        half_hourly.current_or_next(utc(2026, 3, 29, 0, 0, 0)),
        Some((utc(2026, 3, 29, 1, 0, 0), utc(2026, 3, 29, 1, 10, 0)))
    );
}

#[test]
fn defaults_without_dtstart_are_the_start_of_the_period() {
    // Mondays at midnight; the 1st at midnight; January 1st at midnight.
    let weekly = window("FREQ=WEEKLY", "1h", None);
    assert_eq!(
        weekly.current_or_next(utc(2026, 6, 3, 0, 0, 0)),
        Some((utc(2026, 6, 8, 0, 0, 0), utc(2026, 6, 8, 1, 0, 0)))
    );
    let monthly = window("RRULE:FREQ=MONTHLY", "1h", Some("UTC"));
    assert_eq!(
        monthly.current_or_next(utc(2026, 6, 3, 0, 0, 0)),
        Some((utc(2026, 7, 1, 0, 0, 0), utc(2026, 7, 1, 1, 0, 0)))
    );
    let yearly = window("rrule:FREQ=YEARLY;BYMINUTE=30", "1h", None);
    assert_eq!(
        yearly.current_or_next(utc(2026, 6, 3, 0, 0, 0)),
        Some((utc(2027, 1, 1, 0, 30, 0), utc(2027, 1, 1, 1, 30, 0)))
    );
    // Far back and far ahead work the same.
    assert_eq!(
        weekly.current_or_next(utc(1901, 1, 1, 0, 0, 0)),
        Some((utc(1901, 1, 7, 0, 0, 0), utc(1901, 1, 7, 1, 0, 0)))
    );
    assert_eq!(
        weekly.current_or_next(utc(2400, 1, 1, 0, 0, 0)),
        Some((utc(2400, 1, 3, 0, 0, 0), utc(2400, 1, 3, 1, 0, 0)))
    );
}

#[test]
fn dtstart_interval_count_and_until_are_honoured() {
    let fortnightly = window(
        "DTSTART;TZID=Europe/Berlin:20260105T090000\nRRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO",
        "8h",
        None,
    );
    assert_eq!(fortnightly.timezone(), Tz::Europe__Berlin);
    // Nothing before DTSTART.
    assert_eq!(
        fortnightly.current_or_next(utc(2025, 1, 1, 0, 0, 0)),
        Some((utc(2026, 1, 5, 8, 0, 0), utc(2026, 1, 5, 16, 0, 0)))
    );
    // 1 June 2026 is 21 weeks after 5 January: an off week.
    assert_eq!(fortnightly.occurrence_at(utc(2026, 6, 1, 10, 0, 0)), None);
    assert_eq!(
        fortnightly.current_or_next(utc(2026, 6, 1, 10, 0, 0)),
        Some((utc(2026, 6, 8, 7, 0, 0), utc(2026, 6, 8, 15, 0, 0)))
    );
    // Years later the parity still holds (2036-01-07 is 522 weeks on).
    assert_eq!(
        fortnightly.current_or_next(utc(2036, 1, 1, 0, 0, 0)),
        Some((utc(2036, 1, 7, 8, 0, 0), utc(2036, 1, 7, 16, 0, 0)))
    );

    let counted = window(
        "DTSTART:20260105T090000Z\nRRULE:FREQ=DAILY;COUNT=3",
        "1h",
        None,
    );
    assert_eq!(
        starts(&counted, utc(2026, 1, 1, 0, 0, 0), utc(2027, 1, 1, 0, 0, 0)),
        [
            utc(2026, 1, 5, 9, 0, 0),
            utc(2026, 1, 6, 9, 0, 0),
            utc(2026, 1, 7, 9, 0, 0),
        ]
    );
    assert_eq!(counted.current_or_next(utc(2026, 1, 7, 10, 0, 0)), None);
    assert_eq!(
        check_windows(&[counted], utc(2026, 1, 8, 0, 0, 0)),
        WindowCheck::Closed { next_open: None }
    );

    let until = window("FREQ=DAILY;BYHOUR=9;UNTIL=20260110T090000Z", "1h", None);
    assert_eq!(
        until.current_or_next(utc(2026, 1, 10, 9, 30, 0)),
        Some((utc(2026, 1, 10, 9, 0, 0), utc(2026, 1, 10, 10, 0, 0)))
    );
    assert_eq!(until.current_or_next(utc(2026, 1, 10, 10, 0, 0)), None);
    // A date UNTIL includes its whole local day.
    let until_date = window(
        "FREQ=DAILY;BYHOUR=9;UNTIL=20260110",
        "1h",
        Some("Europe/Berlin"),
    );
    assert_eq!(
        until_date.occurrences(utc(2026, 1, 9, 0, 0, 0), utc(2026, 2, 1, 0, 0, 0), 10),
        [
            (utc(2026, 1, 9, 8, 0, 0), utc(2026, 1, 9, 9, 0, 0)),
            (utc(2026, 1, 10, 8, 0, 0), utc(2026, 1, 10, 9, 0, 0)),
        ]
    );
    // A UTC DTSTART is read on the zone's clock: 08:00Z is 09:00 in Berlin
    // in January, so BYHOUR defaults to 9 all year.
    let from_utc = window(
        "DTSTART:20260105T080000Z\nRRULE:FREQ=WEEKLY",
        "1h",
        Some("Europe/Berlin"),
    );
    assert_eq!(
        from_utc.current_or_next(utc(2026, 6, 1, 0, 0, 0)),
        Some((utc(2026, 6, 1, 7, 0, 0), utc(2026, 6, 1, 8, 0, 0)))
    );
}

#[test]
fn bad_input_is_an_error_that_says_what_is_wrong() {
    let error = |rule: &str, duration: &str, zone: Option<&str>| {
        Recurrence::new(rule, duration, zone).unwrap_err()
    };
    let cases = [
        (
            error("FREQ=DAILY", "8h", Some("Mars/Olympus")),
            "unknown time zone",
        ),
        (
            error("FREQ=FORTNIGHTLY", "8h", None),
            "invalid recurrence rule",
        ),
        (error("BYHOUR=9", "8h", None), "invalid recurrence rule"),
        (
            error("FREQ=DAILY;BYHOUR=25", "8h", None),
            "invalid recurrence rule",
        ),
        (error("FREQ=DAILY", "8 hours", None), "1h30m"),
        (error("FREQ=DAILY", "0s", None), "longer than zero"),
        (error("FREQ=DAILY", "400d", None), "at most 366 days"),
        (
            error("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO", "8h", None),
            "needs a DTSTART",
        ),
        (error("FREQ=DAILY;COUNT=3", "8h", None), "needs a DTSTART"),
        (
            error(
                "DTSTART:20260101T000000Z\nRRULE:FREQ=DAILY;COUNT=100000",
                "8h",
                None,
            ),
            "COUNT above",
        ),
        (
            error(
                "DTSTART:20260101T000000Z\nRRULE:FREQ=DAILY;COUNT=2;UNTIL=20270101T000000Z",
                "8h",
                None,
            ),
            "COUNT and UNTIL",
        ),
        (
            error(
                "DTSTART:20260101T000000Z\nRRULE:FREQ=DAILY;UNTIL=20250101T000000Z",
                "8h",
                None,
            ),
            "before DTSTART",
        ),
        (
            error("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "8h", None),
            "matches no date",
        ),
        (
            error(
                "DTSTART;TZID=America/New_York:20260105T090000\nRRULE:FREQ=DAILY",
                "8h",
                Some("Europe/Berlin"),
            ),
            "make them agree",
        ),
        (
            error("FREQ=MINUTELY;INTERVAL=30", "8h", None),
            "at most hourly",
        ),
        (
            error("FREQ=DAILY\nEXDATE:20260105T090000Z", "8h", None),
            "only DTSTART and RRULE",
        ),
        (
            error("DTSTART:2026-01-05\nRRULE:FREQ=DAILY", "8h", None),
            "DTSTART",
        ),
        (error("FREQ=DAILY;UNTIL=soon", "8h", None), "UNTIL=soon"),
        (error("FREQ=DAILY;BYDAY=Mé", "8h", None), "ASCII"),
        (error("", "8h", None), "no RRULE"),
    ];
    for (error, expected) in cases {
        assert!(
            error.contains(expected),
            "{error:?} should mention {expected:?}"
        );
    }
}

#[test]
fn evaluated_windows_can_be_shared_between_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<Recurrence>();
    shared::<Freeze>();
}

#[test]
fn queries_far_out_of_range_do_not_panic() {
    let weekly = window(
        "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9",
        "8h",
        Some("Pacific/Kiritimati"),
    );
    for at in [DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
        assert_eq!(weekly.occurrence_at(at), None);
        let _ = weekly.current_or_next(at);
        let _ = check_windows(std::slice::from_ref(&weekly), at);
    }
    assert_eq!(weekly.current_or_next(DateTime::<Utc>::MAX_UTC), None);
    assert_eq!(
        weekly
            .occurrences(DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC, 2)
            .len(),
        2
    );
}

fn name(text: &str) -> Name {
    Name::parse(text).unwrap()
}

fn spec(text: &str) -> crate::freeze::FreezeSpec {
    toml::from_str(text).unwrap()
}

#[test]
fn recurring_freeze_covers_friday_afternoon_to_monday_morning() {
    let weekend = Freeze::from_spec(&spec(
        r#"
        name = "weekend"
        reason = "nobody on call"
        rrule = "FREQ=WEEKLY;BYDAY=FR;BYHOUR=15"
        duration = "66h"
        timezone = "Europe/Berlin"
        environments = ["prod", "staging"]
        "#,
    ))
    .unwrap();
    // Friday 5 June 2026 15:00 CEST to Monday 8 June 09:00 CEST.
    let period = (utc(2026, 6, 5, 13, 0, 0), utc(2026, 6, 8, 7, 0, 0));
    assert_eq!(weekend.active_at(utc(2026, 6, 5, 12, 59, 59)), None);
    assert_eq!(weekend.active_at(utc(2026, 6, 5, 13, 0, 0)), Some(period));
    assert_eq!(weekend.active_at(utc(2026, 6, 7, 12, 0, 0)), Some(period));
    assert_eq!(weekend.active_at(utc(2026, 6, 8, 7, 0, 0)), None);
    // Across the October change it is still 66 hours: to 08:00 CET.
    assert_eq!(
        weekend.active_at(utc(2026, 10, 25, 12, 0, 0)),
        Some((utc(2026, 10, 23, 13, 0, 0), utc(2026, 10, 26, 7, 0, 0)))
    );
    assert_eq!(
        weekend.occurrences(utc(2026, 6, 1, 7, 0, 0), utc(2026, 6, 15, 0, 0, 0), 10),
        [
            period,
            (utc(2026, 6, 12, 13, 0, 0), utc(2026, 6, 15, 7, 0, 0))
        ]
    );
    assert_eq!(weekend.name, "weekend");
    assert_eq!(weekend.reason, "nobody on call");
}

#[test]
fn one_off_freeze_starts_inclusive_and_ends_exclusive() {
    let year_end = Freeze::from_spec(&spec(
        r#"
        name = "year-end"
        start = "2026-12-20T00:00:00Z"
        end = "2027-01-04T00:00:00Z"
        environments = ["prod"]
        "#,
    ))
    .unwrap();
    let period = (utc(2026, 12, 20, 0, 0, 0), utc(2027, 1, 4, 0, 0, 0));
    assert_eq!(year_end.active_at(utc(2026, 12, 19, 23, 59, 59)), None);
    assert_eq!(year_end.active_at(period.0), Some(period));
    assert_eq!(
        year_end.active_at(utc(2027, 1, 3, 23, 59, 59)),
        Some(period)
    );
    assert_eq!(year_end.active_at(period.1), None);
    assert_eq!(
        year_end.occurrences(utc(2026, 12, 1, 0, 0, 0), period.0, 10),
        []
    );
    assert_eq!(
        year_end.occurrences(utc(2027, 1, 3, 0, 0, 0), utc(2027, 2, 1, 0, 0, 0), 10),
        [period]
    );
    assert_eq!(
        year_end.occurrences(period.1, utc(2027, 2, 1, 0, 0, 0), 10),
        []
    );
    assert_eq!(year_end.occurrences(period.0, period.1, 0), []);
}

#[test]
fn active_freeze_is_the_first_that_applies() {
    let freezes: Vec<Freeze> = [
        r#"
        name = "year-end"
        start = "2026-12-20T00:00:00Z"
        end = "2027-01-04T00:00:00Z"
        environments = ["prod"]
        "#,
        r#"
        name = "weekend"
        rrule = "FREQ=WEEKLY;BYDAY=FR;BYHOUR=15"
        duration = "66h"
        environments = ["prod", "staging"]
        "#,
    ]
    .into_iter()
    .map(|text| Freeze::from_spec(&spec(text)).unwrap())
    .collect();
    // Saturday 26 December 2026 is inside both; the list order decides.
    let saturday = utc(2026, 12, 26, 12, 0, 0);
    let (freeze, start, end) = active_freeze(&freezes, &name("prod"), saturday).unwrap();
    assert_eq!(
        (freeze.name.as_str(), start, end),
        (
            "year-end",
            utc(2026, 12, 20, 0, 0, 0),
            utc(2027, 1, 4, 0, 0, 0)
        )
    );
    let (freeze, start, end) = active_freeze(&freezes, &name("staging"), saturday).unwrap();
    assert_eq!(
        (freeze.name.as_str(), start, end),
        (
            "weekend",
            utc(2026, 12, 25, 15, 0, 0),
            utc(2026, 12, 28, 9, 0, 0)
        )
    );
    assert!(active_freeze(&freezes, &name("dev"), saturday).is_none());
    assert!(active_freeze(&freezes, &name("prod"), utc(2026, 12, 16, 12, 0, 0)).is_none());
}

#[test]
fn bad_freezes_are_errors() {
    let neither = spec(
        r#"
        name = "half"
        start = "2026-12-20T00:00:00Z"
        environments = ["prod"]
        "#,
    );
    assert!(Freeze::from_spec(&neither).unwrap_err().contains("either"));
    let bad_zone = spec(
        r#"
        name = "weekend"
        rrule = "FREQ=WEEKLY;BYDAY=FR;BYHOUR=15"
        duration = "66h"
        timezone = "Europe/Berlni"
        environments = ["prod"]
        "#,
    );
    let error = Freeze::from_spec(&bad_zone).unwrap_err();
    assert!(
        error.contains("\"weekend\"") && error.contains("unknown time zone"),
        "{error}"
    );
}

#[test]
fn windows_are_read_from_configuration() {
    let configured = crate::environment::Window {
        rrule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH;BYHOUR=9".into(),
        duration: "8h".into(),
        timezone: Some("America/New_York".into()),
    };
    let window = Recurrence::from_window(&configured).unwrap();
    assert_eq!(window.duration(), Duration::hours(8));
    // 09:00 EDT is 13:00 UTC.
    assert_eq!(
        window.current_or_next(utc(2026, 6, 1, 0, 0, 0)),
        Some((utc(2026, 6, 1, 13, 0, 0), utc(2026, 6, 1, 21, 0, 0)))
    );
}

/// The RFC 5545 text of `rule`'s `to_ical`, read back by ferry itself.
fn read_back(ical: &IcalRule, duration: &str) -> Recurrence {
    let start = ical.first_start.format("%Y%m%dT%H%M%S");
    let text = if ical.timezone == Tz::UTC {
        format!("DTSTART:{start}Z\nRRULE:{}", ical.rrule)
    } else {
        format!(
            "DTSTART;TZID={}:{start}\nRRULE:{}",
            ical.timezone.name(),
            ical.rrule
        )
    };
    Recurrence::new(&text, duration, None)
        .unwrap_or_else(|error| panic!("{text:?} reads back: {error}"))
}

#[test]
fn rfc_5545_form_starts_at_the_first_start_and_keeps_the_rule() {
    let berlin = window(
        "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH;BYHOUR=9",
        "8h",
        Some("Europe/Berlin"),
    );
    let ical = berlin.to_ical().unwrap();
    assert_eq!(ical.timezone, Tz::Europe__Berlin);
    // 1 January 2024 is a Monday.
    assert_eq!(
        ical.first_start,
        NaiveDate::from_ymd_opt(2024, 1, 1)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap()
    );
    assert_eq!(ical.first_instant, utc(2024, 1, 1, 8, 0, 0));
    assert_eq!(ical.rrule, "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH;BYHOUR=9");
    assert_eq!(ical.duration, Duration::hours(8));

    // Lower case, a prefix and FREQ last are written the usual way.
    let messy = window("rrule:byday=-1fr;freq=monthly", "1h", None);
    assert_eq!(messy.to_ical().unwrap().rrule, "FREQ=MONTHLY;BYDAY=-1FR");

    // UNTIL becomes the UTC instant of the last start allowed: the
    // whole of 1 March in Berlin.
    let until = window(
        "DTSTART;TZID=Europe/Berlin:20260105T090000\nRRULE:FREQ=DAILY;UNTIL=20260301",
        "1h",
        None,
    );
    let ical = until.to_ical().unwrap();
    assert_eq!(ical.rrule, "FREQ=DAILY;UNTIL=20260301T225959Z");
    assert_eq!(ical.first_instant, utc(2026, 1, 5, 8, 0, 0));

    // A DTSTART the rule does not give is not written: the first start is.
    let unsynchronised = window(
        "DTSTART;TZID=Europe/Berlin:20260101T100000\nRRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;BYHOUR=9",
        "1h",
        None,
    );
    assert_eq!(
        unsynchronised.to_ical().unwrap().first_instant,
        utc(2026, 1, 12, 8, 0, 0)
    );

    // A rule whose UNTIL comes before its first start has none.
    let never = window(
        "DTSTART:20260105T090000Z\nRRULE:FREQ=WEEKLY;BYDAY=FR;UNTIL=20260106T000000Z",
        "1h",
        None,
    );
    assert_eq!(never.to_ical(), None);
}

#[test]
fn rfc_5545_form_reads_back_as_the_same_starts() {
    let cases = [
        (
            "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH;BYHOUR=9",
            "8h",
            Some("Europe/Berlin"),
        ),
        ("FREQ=WEEKLY", "1h", None),
        ("RRULE:FREQ=MONTHLY", "1h", Some("UTC")),
        ("rrule:FREQ=YEARLY;BYMINUTE=30", "1h", None),
        (
            "freq=monthly;byday=-1fr;byhour=15",
            "2h",
            Some("America/New_York"),
        ),
        (
            "FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=18",
            "3h",
            Some("Europe/Berlin"),
        ),
        (
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;BYHOUR=17",
            "1h",
            Some("Asia/Tokyo"),
        ),
        (
            "FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=24",
            "2d",
            Some("Australia/Sydney"),
        ),
        (
            "FREQ=DAILY;BYHOUR=2;BYMINUTE=30",
            "1h",
            Some("Europe/Berlin"),
        ),
        (
            "FREQ=WEEKLY;BYDAY=FR;BYHOUR=15",
            "66h",
            Some("Europe/Berlin"),
        ),
        ("FREQ=HOURLY;BYMINUTE=15", "10m", None),
        (
            "DTSTART;TZID=Europe/Berlin:20260105T090000\nRRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO",
            "8h",
            None,
        ),
        (
            "DTSTART;TZID=Europe/Berlin:20260101T100000\nRRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO;BYHOUR=9",
            "1h",
            None,
        ),
        (
            "DTSTART:20260105T090000Z\nRRULE:FREQ=DAILY;COUNT=3",
            "1h",
            None,
        ),
        (
            "DTSTART;TZID=America/New_York:20260301T013000\nRRULE:FREQ=WEEKLY;BYDAY=SU;COUNT=10",
            "1h",
            None,
        ),
        (
            "DTSTART;TZID=Europe/Berlin:20260105T090000\nRRULE:FREQ=DAILY;UNTIL=20260301",
            "1h",
            None,
        ),
    ];
    for (rule, duration, zone) in cases {
        let original = window(rule, duration, zone);
        let ical = original.to_ical().unwrap();
        let again = read_back(&ical, duration);
        // Hourly rules make many starts: a shorter span for them.
        let to = if rule.contains("HOURLY") {
            utc(2026, 4, 1, 0, 0, 0)
        } else {
            utc(2028, 1, 1, 0, 0, 0)
        };
        let from = utc(2026, 1, 1, 0, 0, 0);
        let expected = original.occurrences(from, to, 100_000);
        assert!(!expected.is_empty(), "{rule}");
        assert_eq!(again.occurrences(from, to, 100_000), expected, "{rule}");
        assert_eq!(
            again.occurrences(ical.first_instant, to, 1),
            original.occurrences(ical.first_instant, to, 1),
            "{rule}"
        );
    }
}

#[test]
fn freezes_say_whether_they_are_one_off_or_recurring() {
    let once = Freeze::from_spec(&crate::freeze::FreezeSpec {
        name: Name::parse("launch").unwrap(),
        reason: String::new(),
        start: Some("2026-12-20T00:00:00Z".into()),
        end: Some("2027-01-04T00:00:00Z".into()),
        rrule: None,
        duration: None,
        timezone: None,
        environments: vec![Name::parse("prod").unwrap()],
    })
    .unwrap();
    assert_eq!(
        once.once(),
        Some((utc(2026, 12, 20, 0, 0, 0), utc(2027, 1, 4, 0, 0, 0)))
    );
    assert!(once.recurrence().is_none());
    let weekly = Freeze::from_spec(&crate::freeze::FreezeSpec {
        name: Name::parse("fridays").unwrap(),
        reason: String::new(),
        start: None,
        end: None,
        rrule: Some("FREQ=WEEKLY;BYDAY=FR;BYHOUR=15".into()),
        duration: Some("66h".into()),
        timezone: Some("Europe/Berlin".into()),
        environments: vec![Name::parse("prod").unwrap()],
    })
    .unwrap();
    assert!(weekly.once().is_none());
    assert_eq!(
        weekly.recurrence().map(Recurrence::duration),
        Some(Duration::hours(66))
    );
}
