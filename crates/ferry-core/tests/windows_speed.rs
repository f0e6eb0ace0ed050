//! How fast a gate answers "is a window open?": `check_windows` over 100
//! windows must take well under a millisecond in a release build (a gate check
//! has 5 ms in all). Run with
//! `cargo test --release -p ferry-core --test windows_speed -- --nocapture`
//! to see the figures; the bound is asserted in release builds only.

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ferry_core::environment::Window;
use ferry_core::windows::{Recurrence, WindowCheck, check_windows};

/// Rules an operator might write, one with a DTSTART years back, one counted,
/// one with UNTIL, one with starts in the DST gap.
const MIXED_RULES: [(&str, &str); 10] = [
    ("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH;BYHOUR=9", "8h"),
    ("FREQ=DAILY;BYHOUR=22", "6h"),
    ("FREQ=WEEKLY;BYDAY=TU,TH;BYHOUR=14;BYMINUTE=30", "90m"),
    ("FREQ=MONTHLY;BYDAY=1SA;BYHOUR=6", "12h"),
    (
        "DTSTART:20200106T090000\nRRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO",
        "4h",
    ),
    ("FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=24", "24h"),
    ("FREQ=HOURLY;BYHOUR=8,12,16;BYMINUTE=0", "30m"),
    ("DTSTART:20260101T090000\nRRULE:FREQ=DAILY;COUNT=1000", "1h"),
    (
        "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=9;UNTIL=20301231T000000Z",
        "8h",
    ),
    ("FREQ=DAILY;BYHOUR=2;BYMINUTE=30", "1h"),
];

const ZONES: [&str; 10] = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",
    "UTC",
    "Asia/Kolkata",
    "America/Los_Angeles",
    "Europe/London",
    "Asia/Tokyo",
    "America/Sao_Paulo",
    "Pacific/Auckland",
];

fn read(windows: &[Window]) -> (Vec<Recurrence>, Duration) {
    let started = Instant::now();
    let read = windows
        .iter()
        .map(|window| Recurrence::from_window(window).unwrap())
        .collect();
    (read, started.elapsed())
}

/// The ten rules in ten zones: together they leave almost no time closed, so
/// every check also follows a span of overlapping windows a day ahead.
fn mixed() -> Vec<Window> {
    ZONES
        .iter()
        .flat_map(|zone| {
            MIXED_RULES.iter().map(|(rule, duration)| Window {
                rrule: (*rule).to_owned(),
                duration: (*duration).to_owned(),
                timezone: Some((*zone).to_owned()),
            })
        })
        .collect()
}

/// A hundred office-hours windows of one team, two hours each.
fn office_hours() -> Vec<Window> {
    (0..100)
        .map(|index| Window {
            rrule: format!(
                "FREQ=WEEKLY;BYDAY={};BYHOUR={};BYMINUTE={}",
                ["MO", "TU", "WE", "TH", "FR"][index % 5],
                8 + index % 9,
                (index / 9) * 5 % 60
            ),
            duration: "2h".to_owned(),
            timezone: Some("Europe/Berlin".to_owned()),
        })
        .collect()
}

/// Instants spread over 2026-2031, from a fixed linear congruential sequence.
fn instants() -> Vec<DateTime<Utc>> {
    let mut state: u64 = 0x5eed;
    (0..500)
        .map(|_| {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let seconds = 1_767_225_600 + (state >> 33) as i64 % (5 * 365 * 86_400);
            DateTime::from_timestamp(seconds, 0).unwrap()
        })
        .collect()
}

fn measure(name: &str, configured: &[Window]) -> Duration {
    let (windows, reading) = read(configured);
    assert_eq!(windows.len(), 100);
    let instants = instants();
    // Once to warm caches, then timed.
    for at in &instants {
        black_box(check_windows(&windows, *at));
    }
    let mut open = 0;
    let mut times = Vec::with_capacity(instants.len());
    for at in &instants {
        let started = Instant::now();
        let check = black_box(check_windows(black_box(&windows), *at));
        times.push(started.elapsed());
        open += usize::from(matches!(check, WindowCheck::Open { .. }));
    }
    times.sort_unstable();
    let mean = times.iter().sum::<Duration>() / times.len() as u32;
    eprintln!(
        "{name}: check_windows over 100 windows: mean {mean:?}, median {:?}, 99th percentile {:?} \
         ({open} of {} instants open); reading the 100 windows: {reading:?}",
        times[times.len() / 2],
        times[times.len() * 99 / 100],
        times.len(),
    );
    mean
}

#[test]
fn check_windows_over_100_windows_is_fast() {
    let mixed = measure("mixed rules in ten zones", &mixed());
    let office = measure("office hours", &office_hours());
    if !cfg!(debug_assertions) {
        assert!(mixed < Duration::from_micros(1_000), "mean {mixed:?}");
        assert!(office < Duration::from_micros(1_000), "mean {office:?}");
    }
}
