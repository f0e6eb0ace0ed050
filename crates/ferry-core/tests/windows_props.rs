//! Properties of deployment windows and recurring freezes, over random
//! instants, a few rules and zones on both hemispheres and both sides of UTC.

use chrono::{DateTime, Duration, TimeZone, Timelike, Utc};
use ferry_core::windows::{Recurrence, WindowCheck, check_windows};
use proptest::prelude::*;

const ZONES: [&str; 4] = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "UTC",
];

/// Rules and durations chosen to hit the hard cases: starts in the DST gap
/// and the repeated hour, overlapping occurrences, a DTSTART with INTERVAL,
/// and a counted rule.
const RULES: [(&str, &str); 8] = [
    ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH;BYHOUR=9", "8h"),
    ("FREQ=WEEKLY;BYDAY=FR;BYHOUR=15", "66h"),
    ("FREQ=DAILY;BYHOUR=2;BYMINUTE=30", "1h"),
    ("FREQ=DAILY;BYHOUR=1,2,3;BYMINUTE=0,30", "45m"),
    ("FREQ=MONTHLY;BYDAY=1MO;BYHOUR=0", "36h"),
    ("FREQ=HOURLY;BYHOUR=8,12,16;BYMINUTE=15", "20m"),
    (
        "DTSTART:20240102T093000\nRRULE:FREQ=WEEKLY;INTERVAL=3;BYDAY=TU,TH",
        "90m",
    ),
    ("DTSTART:20300301T020000\nRRULE:FREQ=DAILY;COUNT=400", "1h"),
];

fn recurrence(rule: usize, zone: usize) -> Recurrence {
    let (rule, duration) = RULES[rule];
    Recurrence::new(rule, duration, Some(ZONES[zone])).unwrap()
}

/// Instants from 2000 to 2040, to the second.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (946_684_800i64..2_208_988_800)
        .prop_map(|seconds| DateTime::from_timestamp(seconds, 0).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn occurrence_at_agrees_with_current_or_next(
        rule in 0..RULES.len(), zone in 0..ZONES.len(), at in instant()
    ) {
        let recurrence = recurrence(rule, zone);
        let containing = recurrence
            .current_or_next(at)
            .is_some_and(|(start, end)| start <= at && at < end);
        let found = recurrence.occurrence_at(at);
        prop_assert_eq!(found.is_some(), containing);
        if let Some((start, end)) = found {
            prop_assert!(start <= at && at < end);
            prop_assert_eq!(end - start, recurrence.duration());
        }
    }

    #[test]
    fn current_or_next_is_never_after_the_next_listed_occurrence(
        rule in 0..RULES.len(), zone in 0..ZONES.len(), at in instant()
    ) {
        let recurrence = recurrence(rule, zone);
        let listed = recurrence.occurrences(at, at + Duration::days(365), 1);
        match (recurrence.current_or_next(at), listed.first()) {
            (Some(current), Some(first)) => {
                prop_assert!(current.0 <= first.0);
                // They are the same occurrence: the first one ending after `at`.
                prop_assert_eq!(current, *first);
            }
            (Some((start, _)), None) => prop_assert!(start >= at + Duration::days(365)),
            (None, listed) => prop_assert!(listed.is_none()),
        }
    }

    #[test]
    fn listed_occurrences_are_ordered_distinct_and_independent_of_where_the_search_starts(
        rule in 0..RULES.len(), zone in 0..ZONES.len(), at in instant(), back in 1i64..400
    ) {
        let recurrence = recurrence(rule, zone);
        let to = at + Duration::days(60);
        let near = recurrence.occurrences(at, to, 10_000);
        for pair in near.windows(2) {
            prop_assert!(pair[0].0 < pair[1].0, "{:?}", pair);
        }
        for (start, end) in &near {
            prop_assert!(*start < to && *end > at);
        }
        // Asked from further back (so expanded from another period), the
        // same occurrences come out.
        let far: Vec<_> = recurrence
            .occurrences(at - Duration::days(back), to, 100_000)
            .into_iter()
            .filter(|(_, end)| *end > at)
            .collect();
        prop_assert_eq!(near, far);
    }

    #[test]
    fn local_start_hour_is_byhour_all_year(zone in 0..ZONES.len(), at in instant()) {
        let tz: chrono_tz::Tz = ZONES[zone].parse().unwrap();
        for (rule, hour) in [
            ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH;BYHOUR=9", 9),
            ("FREQ=DAILY;BYHOUR=17;BYMINUTE=45", 17),
        ] {
            let recurrence = Recurrence::new(rule, "8h", Some(ZONES[zone])).unwrap();
            let year = recurrence.occurrences(at, at + Duration::days(366), 1000);
            prop_assert!(year.len() >= 200);
            for (start, _) in year {
                let local = tz.from_utc_datetime(&start.naive_utc());
                prop_assert_eq!(local.hour(), hour, "{} in {}", start, ZONES[zone]);
            }
        }
    }

    #[test]
    fn check_windows_matches_the_windows_one_by_one(
        rules in proptest::collection::vec((0..RULES.len(), 0..ZONES.len()), 1..5),
        at in instant()
    ) {
        let windows: Vec<Recurrence> =
            rules.iter().map(|(rule, zone)| recurrence(*rule, *zone)).collect();
        let open: Vec<_> = windows.iter().filter_map(|w| w.occurrence_at(at)).collect();
        match check_windows(&windows, at) {
            WindowCheck::Open { until } => {
                prop_assert!(!open.is_empty());
                prop_assert!(until > at);
                prop_assert!(open.iter().all(|(_, end)| *end <= until));
                // Just before `until` some window is still open.
                let last = until - Duration::seconds(1);
                prop_assert!(windows.iter().any(|w| w.occurrence_at(last).is_some()));
            }
            WindowCheck::Closed { next_open } => {
                prop_assert!(open.is_empty());
                let next = windows.iter().filter_map(|w| w.current_or_next(at)).map(|o| o.0).min();
                prop_assert_eq!(next_open, next);
                if let Some(next) = next_open {
                    prop_assert!(next > at);
                }
            }
            WindowCheck::NoWindows => prop_assert!(false, "there are windows"),
        }
    }

    #[test]
    fn starts_agree_with_the_rrule_crate_expanding_from_dtstart(
        case in 0..3usize, zone in 0..ZONES.len(), at in instant()
    ) {
        // Rules whose starts never fall in a DST gap, where the rrule crate's
        // own time-zone handling and this module's must agree. The reference
        // expands every occurrence from DTSTART, in the real zone.
        let (dtstart, rule) = [
            ("19990104T000000", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH;BYHOUR=9"),
            ("20240102T093000", "FREQ=WEEKLY;INTERVAL=3;BYDAY=TU,TH"),
            ("19990101T000000", "FREQ=MONTHLY;BYDAY=-1FR;BYHOUR=17;BYMINUTE=15"),
        ][case];
        let text = format!("DTSTART;TZID={}:{dtstart}\nRRULE:{rule}", ZONES[zone]);
        let ours = Recurrence::new(&text, "1h", None).unwrap();
        let to = at + Duration::days(90);
        let expected: Vec<DateTime<Utc>> = text
            .parse::<rrule::RRuleSet>()
            .unwrap()
            .into_iter()
            .map(|start| start.with_timezone(&Utc))
            .skip_while(|start| *start + Duration::hours(1) <= at)
            .take_while(|start| *start < to)
            .collect();
        let found: Vec<DateTime<Utc>> =
            ours.occurrences(at, to, 1000).into_iter().map(|(start, _)| start).collect();
        prop_assert!(case == 1 || !expected.is_empty());
        prop_assert_eq!(found, expected);
    }

    #[test]
    fn any_text_is_a_recurrence_or_an_error_never_a_panic(
        rule in "(DTSTART(;TZID=Europe/Berlin)?:2026010[1-9]T0[0-9]0000Z?\n)?(RRULE:)?FREQ=(YEARLY|MONTHLY|WEEKLY|DAILY|HOURLY|MINUTELY|SECONDLY|X)(;(INTERVAL|COUNT|BYHOUR|BYMINUTE|BYSECOND|BYMONTHDAY|BYYEARDAY|BYWEEKNO|BYMONTH|BYSETPOS)=-?[0-9]{1,3}|;BYDAY=(-?[0-9])?(MO|TU|WE|TH|FR|SA|SU|XX)|;UNTIL=20[0-9]{6}(T[0-9]{6}Z?)?|;WKST=(MO|SU)){0,4}",
        duration in "[0-9]{1,3}[dhms]",
        zone in 0..ZONES.len(),
        at in instant()
    ) {
        if let Ok(recurrence) = Recurrence::new(&rule, &duration, Some(ZONES[zone])) {
            let _ = recurrence.occurrence_at(at);
            let _ = recurrence.current_or_next(at);
            let _ = recurrence.occurrences(at, at + Duration::days(30), 5);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(rule in "\\PC{0,60}", duration in "\\PC{0,8}") {
        let _ = Recurrence::new(&rule, &duration, None);
        let _ = ferry_core::windows::parse_duration(&duration);
    }
}
